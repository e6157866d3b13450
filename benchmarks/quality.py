"""The quality bar: the book's settings (batch 1024, 32 steps, 32 hidden units, lr 1, clip 1,
100 epochs) for every backend and model kind this environment holds, one `d2lrnn train`
run each. Prints a Markdown table; with --out, also writes the JSON records.

    python benchmarks/quality.py [--epochs 100] [--out results.json]

Needs the book: set D2LRNN_DATA to a folder holding timemachine.txt, or let it download.
"""
import argparse
import json
import subprocess
import sys

from d2lrnn.backend import BACKENDS, available_backends

BAR = 7.3  # validation perplexity the run must reach


def run(backend, model, epochs):
    cmd = [sys.executable, "-m", "d2lrnn", "train", "--backend", backend, "--model", model,
           "--epochs", str(epochs), "--json", "--quiet"]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        return {"backend": backend, "model": model, "error": result.stderr.strip()[-500:]}
    return json.loads(result.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--backends", nargs="+", choices=BACKENDS)
    parser.add_argument("--out")
    args = parser.parse_args()
    records = []
    print("| backend | model | epochs | seconds | tokens/s | train ppl | val ppl | ≤ 7.3 |")
    print("|---|---|---:|---:|---:|---:|---:|---|")
    for backend in args.backends or available_backends():
        for model in ("scratch", "concise"):
            if backend == "numpy" and model == "concise":
                continue  # NumPy has no recurrent layer of its own
            r = run(backend, model, args.epochs)
            records.append(r)
            if "error" in r:
                print(f"| {backend} | {model} | failed: {r['error']} |||||")
                continue
            print(f"| {backend} | {model} | {r['epochs']} | {r['seconds']:.1f} | "
                  f"{r['tokens_per_s']:,.0f} | {r['train_ppl']:.2f} | {r['val_ppl']:.2f} | "
                  f"{'yes' if r['val_ppl'] <= BAR else 'NO'} |", flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(records, f, indent=1)
    return 0 if all("error" not in r and r["val_ppl"] <= BAR for r in records) else 1


if __name__ == "__main__":
    sys.exit(main())
