"""The prepared GPU check: every device path of d2lrnn in one call (issue 17).

A GPU machine is lent to some tasks only, by chance, for 15 minutes of device time in all.
This script runs everything that needs one, from the repository root, with nothing but what
travels with the working tree, and ends with a summary of what passed and failed. Each step
has its own time limit and the whole fits in 8 minutes; all output is teed into ``--out``.

1. Here, on a machine with the package registries (once per checkout; nothing is committed):

       python3 benchmarks/gpu/check.py --prepare

   fetches the pure-Python wheels the GPU machine lacks (pooch and platformdirs, for Python
   3.12) into ``benchmarks/gpu/carry/wheels`` and copies the book's corpus from
   ``$D2LRNN_DATA`` into ``benchmarks/gpu/carry/data`` (the folder is git-ignored: the book's
   text is never committed).

2. Checked here, with the device forced to the CPU, so that a lent GPU is not spent on a
   typo (in an env holding PyTorch and JAX, e.g. tox's ``modern``):

       .tox/modern/bin/python benchmarks/gpu/check.py --device cpu --out /tmp/gpu-check

3. On a lent GPU, one call of the device tool:

       run(command="python3 benchmarks/gpu/check.py --out $OUT",
           carry=["benchmarks/gpu/carry"], timeout_s=540)

   It comes back with ``$OUT/summary.md`` (the table of steps), ``$OUT/log.txt`` (every
   step's output) and ``$OUT/results.tar.gz`` (the bench and compare tables and figures);
   commit the tables under ``benchmarks/results/gpu-<device>/`` and say in the README which
   device paths ran.

The steps: install d2lrnn from the tree (no network: ``--no-index``); ``d2lrnn doctor``; the
parity and training-parity tests on the device for PyTorch and JAX (float32 with TF32 off,
and float64: the tests' ``device`` parameter, ``-k gpu``); a training run per backend on the
device whose checkpoint then generates the same greedy text on the CPU and in NumPy; the
book's GPU calls in a short reader-style script (``try_gpu``, ``Trainer(num_gpus=1)``,
``predict(..., device)``); ``d2lrnn bench`` (RNN, GRU, LSTM at the book's settings, and a
larger model where a GPU should shine: 256 hidden units, batch 4096); ``d2lrnn compare``.
"""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CARRY = Path(__file__).resolve().parent / "carry"
WHEELS = CARRY / "wheels"
DATA = CARRY / "data"
# What the lent GPU machine lacks (it has PyTorch, JAX, Flax, numpy, numba, pytest, tqdm,
# safetensors, filelock, psutil, matplotlib, requests); all pure Python.
MISSING_WHEELS = ("pooch>=1.6", "platformdirs>=2.5")
BACKENDS = ("torch", "jax")     # the frameworks with CUDA builds on the GPU machine
BUDGET_S = 480                  # the whole script: one call of at most 8 minutes
TIMEOUT, SKIPPED = "TIMEOUT", "SKIPPED"
BENCH_EPOCHS = 10               # bench and compare: enough for steady epochs, within budget


def prepare():
    """Fetch the wheels and copy the corpus into the carried folder (run here, not there)."""
    WHEELS.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                    "--only-binary=:all:", "--python-version", "3.12", "--implementation",
                    "cp", "-d", str(WHEELS), *MISSING_WHEELS], check=True)
    folder = os.environ.get("D2LRNN_DATA")
    source = Path(folder) / "timemachine.txt" if folder else None
    if source is None or not source.is_file():
        sys.exit("check.py --prepare: set D2LRNN_DATA to a folder holding timemachine.txt")
    DATA.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, DATA / "timemachine.txt")
    print(f"ready to carry: {', '.join(p.name for p in sorted(WHEELS.iterdir()))}, "
          f"{DATA / 'timemachine.txt'}")


class Checker:
    """Runs the steps, each in a process group of its own with its own time limit, tees
    their output into log.txt and keeps one summary row per step."""

    def __init__(self, out, device, dry_run=False):
        self.out, self.device, self.dry_run = out, device, dry_run
        self.commands = []  # every command run (or, in a dry run, that would run)
        self.work = Path(tempfile.mkdtemp(prefix="d2lrnn-gpu-"))
        self.results = self.work / "results"
        self.log = open(out / "log.txt", "w", encoding="utf-8")
        self.rows = []
        self.start = time.monotonic()
        self.env = dict(os.environ, PYTHONUNBUFFERED="1", TF_CPP_MIN_LOG_LEVEL="2",
                        XLA_PYTHON_CLIENT_PREALLOCATE="false",  # processes share the GPU
                        D2LRNN_DATA=str(DATA), MPLBACKEND="Agg")

    def say(self, text):
        print(text, flush=True)
        self.log.write(text + "\n")
        self.log.flush()

    def left(self):
        return BUDGET_S - (time.monotonic() - self.start)

    def run(self, name, command, limit, cwd=None, env=None):
        """Run ``command`` (a list); returns (exit code, or TIMEOUT or SKIPPED, output)."""
        limit = min(limit, self.left())
        if limit < 5:
            self.say(f"\n=== {name}: skipped (no time left in the budget)")
            return SKIPPED, ""
        self.say(f"\n=== {name} (limit {limit:.0f} s): {' '.join(map(str, command))}")
        self.commands.append([str(c) for c in command])
        if self.dry_run:
            return 0, ""
        began = time.monotonic()
        proc = subprocess.Popen([str(c) for c in command], cwd=cwd or self.work,
                                env=env or self.env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, start_new_session=True)
        lines, timed_out = [], False
        deadline = began + limit
        os.set_blocking(proc.stdout.fileno(), False)
        while True:
            chunk = proc.stdout.readline()
            if chunk:
                lines.append(chunk)
                self.log.write(chunk)
                sys.stdout.write(chunk)
                continue
            if proc.poll() is not None:
                rest = proc.stdout.read() or ""
                lines.append(rest)
                self.log.write(rest)
                sys.stdout.write(rest)
                break
            if time.monotonic() > deadline:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                timed_out = True
                break
            time.sleep(0.05)
        self.log.flush()
        return (TIMEOUT if timed_out else proc.returncode), "".join(lines)

    def step(self, name, command, limit, check=None, **kwargs):
        """A step that passes when its command exits 0 and ``check(output)`` (if given)
        returns a true note (a string: the finding) or None for no note."""
        began = time.monotonic()
        code, output = self.run(name, command, limit, **kwargs)
        seconds = time.monotonic() - began
        note = ""
        if self.dry_run:
            status = "planned"
        elif code in (TIMEOUT, SKIPPED):
            status = code
            note = "stopped at its time limit" if code == TIMEOUT else "no time left"
        elif code != 0:
            status = "FAILED"
            note = f"exit {code}: " + " / ".join(output.strip().splitlines()[-2:])[:200]
        else:
            status = "ok"
            if check is not None:
                verdict = check(output)
                if verdict is False or (isinstance(verdict, str) and verdict.startswith(
                        "FAILED")):
                    status = "FAILED"
                note = verdict if isinstance(verdict, str) else ""
        self.rows.append((name, status, seconds, note))
        self.say(f"--- {name}: {status} in {seconds:.1f} s {note}")
        return status in ("ok", "planned")

    def python(self, code, name, limit):
        """A step running ``code`` (a Python script) in a fresh process."""
        script = self.work / f"{name}.py"
        script.write_text(textwrap.dedent(code))
        return self.step(name, [sys.executable, script], limit)

    def summary(self):
        lines = [f"# d2lrnn GPU check on {self.machine}", "",
                 f"device asked: `{self.device}`; "
                 f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
                 f"{time.monotonic() - self.start:.0f} s in all", "",
                 "| step | result | seconds | note |", "|---|---|---:|---|"]
        for name, status, seconds, note in self.rows:
            lines.append(f"| {name} | {status} | {seconds:.1f} | {note.replace('|', '/')} |")
        failed = [r[0] for r in self.rows if r[1] != "ok"]
        lines += ["", f"**a dry run: {len(self.rows)} steps planned, none run**" if self.dry_run
                  else f"**{len(self.rows) - len(failed)} of {len(self.rows)} steps passed**"
                  + (f"; not passed: {', '.join(failed)}" if failed else "")]
        text = "\n".join(lines) + "\n"
        (self.out / "summary.md").write_text(text)
        self.say("\n" + text)
        return self.dry_run or not failed


def machine_line():
    try:
        gpu = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total,driver_version",
                              "--format=csv,noheader"], capture_output=True, text=True,
                             timeout=20).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        gpu = ""
    return gpu or "no NVIDIA GPU seen (nvidia-smi)"


def greedy_text(output):
    """The generated text: the last line ``d2lrnn generate`` prints."""
    lines = output.strip().splitlines()
    return lines[-1] if lines else ""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prepare", action="store_true",
                        help="fetch the wheels and copy the corpus to carry (here, not there)")
    parser.add_argument("--device", default="cuda",
                        help="where to compute (cpu: check this script on a machine "
                             "without a GPU)")
    parser.add_argument("--out", default=os.environ.get("OUT") or "gpu-check",
                        help="folder for summary.md, log.txt and results.tar.gz")
    parser.add_argument("--dry-run", action="store_true",
                        help="print every step's command without running it (the tests "
                             "parse them)")
    args = parser.parse_args(argv)
    if args.prepare:
        return prepare()
    if not args.dry_run and not (DATA / "timemachine.txt").is_file():
        sys.exit(f"check.py: {DATA / 'timemachine.txt'} is missing: run "
                 f"`python3 benchmarks/gpu/check.py --prepare` here first, then carry "
                 f"benchmarks/gpu/carry")
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    c = Checker(out, args.device, args.dry_run)
    c.machine = machine_line()
    run_steps(c)
    if c.results.exists():
        with tarfile.open(out / "results.tar.gz", "w:gz") as tar:
            tar.add(c.results, arcname="results")
    ok = c.summary()
    c.log.close()
    shutil.rmtree(c.work, ignore_errors=True)
    return 0 if ok else 1


def run_steps(c):
    """Every step, in order of what matters most (a step past the budget is skipped)."""
    dev = c.device
    py = sys.executable
    site = c.work / "site"

    # 1. install d2lrnn from the tree, and the wheels carried, without the network
    wheels = sorted(str(p) for p in WHEELS.glob("*.whl"))
    installed = c.step("install", [py, "-m", "pip", "install", "--quiet", "--no-index",
                                   "--no-deps", "--no-build-isolation", "--target", site,
                                   *wheels, ROOT], 90)
    if installed:
        c.env["PYTHONPATH"] = str(site)
        c.env["PATH"] = f"{site / 'bin'}{os.pathsep}{c.env['PATH']}"
    d2lrnn = [py, "-m", "d2lrnn"]  # from the install (the work folder is the cwd)
    c.step("versions", [py, "-c", "import importlib, d2lrnn, numpy; "
                        "print('d2lrnn', d2lrnn.__version__, 'from', d2lrnn.__file__); "
                        "print('numpy', numpy.__version__); "
                        "[print(m, getattr(importlib.import_module(m), '__version__', '?')) "
                        "for m in ('torch', 'jax', 'flax', 'numba')]"], 60)

    # 2. what the package sees
    c.step("doctor", [*d2lrnn, "doctor", "--backends", "numpy", *BACKENDS], 120,
           check=lambda o: "; ".join(line.strip() for line in o.splitlines()
                                     if line.strip().startswith(("cuda", "gpu")))[:180])

    # 3. the parity and training-parity tests on the device (in the tree: the tests' files)
    selector = "gpu" if dev != "cpu" else "cpu"
    xdist = ["-n", "4"] if _has("xdist") and dev != "cpu" else []
    test_env = dict(c.env, D2LRNN_REQUIRE=",".join(BACKENDS))
    test_env.pop("PYTHONPATH", None)  # the tree's package, beside its tests
    c.step("tests", [py, "-m", "pytest", "-q", "-p", "no:cacheprovider", *xdist, "-k",
                     f"{selector} and ({' or '.join(BACKENDS)})", "tests/test_parity.py",
                     "tests/test_training.py", "tests/test_gated_cells.py",
                     "tests/test_deep_and_bidirectional.py"],
           200, cwd=ROOT, env=test_env,
           check=lambda o: o.strip().splitlines()[-1] if o.strip() else "")

    # 4. train on the device; its checkpoint gives the same greedy text on the CPU
    prefix = ["--prefix", "time traveller", "--num-preds", "60"]
    for backend in BACKENDS:
        run_dir = c.work / f"train-{backend}"
        trained = c.step(f"train {backend}", [*d2lrnn, "train", "--backend", backend,
                                              "--device", dev, "--out", run_dir, "--quiet"],
                         90, check=lambda o: " ".join(o.strip().splitlines()[:1])[:180])
        if not trained:
            continue
        texts = {}
        for where, flags in ((f"{backend} {dev}", ["--backend", backend, "--device", dev]),
                             (f"{backend} cpu", ["--backend", backend, "--device", "cpu"]),
                             ("numpy cpu", ["--backend", "numpy"])):
            code, output = c.run(f"generate {where}", [
                *d2lrnn, "generate", "--checkpoint", run_dir / "checkpoint.safetensors",
                *flags, *prefix], 45)
            texts[where] = greedy_text(output) if code == 0 else f"(exit {code})"
        same = len(set(texts.values())) == 1
        c.rows.append((f"generate from the {backend} checkpoint",
                       "planned" if c.dry_run else "ok" if same else "FAILED",
                       0.0, "the same greedy text on " + ", ".join(texts) if same else
                       "; ".join(f"{k}: {v!r}" for k, v in texts.items())))
        c.say(f"--- generate: {texts}")

    # 5. the book's GPU calls, as a reader writes them
    for backend in BACKENDS:
        c.python(READER[backend].replace("DEVICE", repr(dev)), f"reader {backend}", 90)

    # 6. bench: book settings (RNN, GRU, LSTM)
    common = ["--device", dev, "--repeats", "1", "--epochs", str(BENCH_EPOCHS)]
    for cell in ("rnn", "gru", "lstm"):
        backends = ["numpy", *BACKENDS] if cell == "rnn" else list(BACKENDS)
        c.step(f"bench {cell} book", [*d2lrnn, "bench", "--backends", *backends, "--cell",
                                      cell, *common, "--out", c.results / f"bench-{cell}"],
               100)
    # 7. compare: the same weights and batches on the device, against the NumPy reference
    c.step("compare", [*d2lrnn, "compare", "--backends", "numpy", *BACKENDS, "--device", dev,
                       "--epochs", "5", "--out", c.results / "compare"], 120)

    # 8. a larger model, where a GPU should shine (on the CPU, one short epoch: the check of
    # the script, not a measurement)
    size = ["--hiddens", "256", "--batch-size", "4096"] + (
        ["--epochs", str(BENCH_EPOCHS)] if dev != "cpu" else ["--epochs", "1",
                                                              "--num-train", "4096"])
    for cell in ("rnn", "gru", "lstm"):
        c.step(f"bench {cell} 256x4096", [
            *d2lrnn, "bench", "--backends", *BACKENDS, "--cell", cell, *size, "--device", dev,
            "--repeats", "1", "--out", c.results / f"bench-{cell}-large"], 100)


def _has(module):
    import importlib.util

    return importlib.util.find_spec(module) is not None


# The book's calls (d2l.ai 9.5) as a reader writes them, two epochs; the model must end on the
# device the Trainer chose. BOOK_CALLS is what both frameworks run; each adds its own checks.
BOOK_CALLS = """
        print("try_gpu:", d2l.try_gpu(), "num_gpus:", d2l.num_gpus())
        data = d2l.TimeMachine(batch_size=1024, num_steps=32)
        rnn = d2l.RNNScratch(num_inputs=len(data.vocab), num_hiddens=32)
        model = d2l.RNNLMScratch(rnn, vocab_size=len(data.vocab), lr=1)
        gpus = 1 if DEVICE != "cpu" else 0
        trainer = d2l.Trainer(max_epochs=2, gradient_clip_val=1, num_gpus=gpus)
        trainer.fit(model, data)
"""
READER = {
    "torch": """
        from d2lrnn import torch as d2l
""" + BOOK_CALLS + """
        device = d2l.try_gpu() if DEVICE != "cpu" else d2l.cpu()
        print(model.predict("it has", 20, data.vocab, device))
        where = next(model.parameters()).device
        print("parameters on", where)
        assert where.type == device.type, (where, device)
        concise = d2l.RNNLM(d2l.RNN(num_inputs=len(data.vocab), num_hiddens=32),
                            vocab_size=len(data.vocab), lr=1)
        d2l.Trainer(max_epochs=2, gradient_clip_val=1, num_gpus=gpus).fit(concise, data)
        print(concise.predict("it has", 20, data.vocab, device))
        assert next(concise.parameters()).device.type == device.type
    """,
    "jax": """
        import jax
        from d2lrnn import jax as d2l
""" + BOOK_CALLS + """
        print(model.predict("it has", 20, data.vocab, trainer.state.params))
        where = {d.platform for leaf in jax.tree_util.tree_leaves(trainer.state.params)
                 for d in leaf.devices()}
        print("parameters on", where)
        assert where == {"gpu" if DEVICE != "cpu" else "cpu"}, where
    """,
}


if __name__ == "__main__":
    sys.exit(main())
