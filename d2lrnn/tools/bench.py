"""``d2lrnn bench`` and ``d2lrnn compare``: every backend on the same task, side by side.

Each run is one ``d2lrnn train --record FILE`` in a fresh Python process (the timings do
not share warm caches, peak memory is the run's own, and frameworks that cannot share a
process, TensorFlow then MXNet, never meet). A record is that run's JSON: its summary
(:func:`d2lrnn.tools.experiment.train_run`), history, peak memory and generation speed.
"""
import csv
import io
import json
import math
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from ..base import checks
from ..base.backend import (
    BACKENDS,
    DECLARED,
    FLOAT_DTYPES,
    MODEL_KINDS,
    available_backends,
    install_hint,
    is_installed,
)
from ..base.errors import BadArgument, MissingFramework
from ..base.files import atomic_write
from ..base.plot import save_figure
from ..cells import CHOICES
from . import machine
from .parity import TOLERANCE

MAX_RECORDS_MB = 256  # a compare.json of every backend is a few MB
# The records file's nesting: its list, a record, its settings or history, their values, and
# a level or two below (the versions, a resumed run's segments).
MAX_RECORDS_DEPTH = 8
REFERENCE = ("numpy", "scratch")  # the run every loss curve is measured against
QUALITY_BAR = 7.3                 # validation perplexity the book's settings should reach


def model_kinds(backend):
    """Model kinds a backend has: concise ones where its framework has layers of its own."""
    return ("scratch", "concise") if DECLARED[backend].own_layers else ("scratch",)


def run_record(backend, model, train_args):
    """Train once in a child process; returns its record, or {'error': ...} if it failed."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "record.json"
        cmd = [sys.executable, "-m", "d2lrnn", "train", "--backend", backend, "--model",
               model, "--quiet", "--record", str(path), *train_args]
        result = subprocess.run(cmd, capture_output=True, text=True)
        if result.returncode != 0 or not path.exists():
            tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
            return {"backend": backend, "model": model,
                    "error": checks.printable(" / ".join(tail))}
        return json.loads(path.read_text())


def check_backends(backends):
    """The backends asked for (default: every one installed here), each importable."""
    if not backends:
        return available_backends()
    missing = [b for b in backends if not is_installed(b)]
    if missing:
        raise MissingFramework(f"not installed here: {', '.join(missing)}; install the extra "
                          f"({install_hint(missing[0])}) or leave it out")
    return list(backends)


# -- bench -----------------------------------------------------------------------------------

BENCH_COLUMNS = ("backend", "model", "path", "runs", "seconds", "x fused", "s/epoch",
                 "tokens/s", "peak MB", "chars/s", "val ppl", "how", "threads")
# With --busy N: the same runs again beside N processes that each keep a core busy.
BUSY_COLUMNS = ("busy s", "x idle")


def model_label(record):
    """'scratch', 'concise', or with the cell where it is not the RNN ('scratch GRU') and
    the layers where there are several ('scratch GRU x2')."""
    cell, layers = record.get("cell", "rnn"), record.get("layers", 1)
    name = record["model"] if cell == "rnn" else f"{record['model']} {cell.upper()}"
    return name if layers == 1 else f"{name} x{layers}"


def bench_rows(records):
    """One row per (backend, model, path): medians over its runs."""
    groups, busy = {}, {}
    for r in records:
        key = (r["backend"], model_label(r), r.get("fast", False))
        (busy if r.get("busy") else groups).setdefault(key, []).append(r)
    rows = []
    for (backend, model, fast), runs in groups.items():
        ok = [r for r in runs if "error" not in r]
        loaded = [r for r in busy.get((backend, model, fast), []) if "error" not in r]
        row = {"backend": backend, "model": model, "path": "fast" if fast else "plain",
               "runs": len(ok)}
        if ok:
            settings = ok[0].get("settings", {})
            row.update({"how": settings.get("strategy", ""),
                        "threads": settings.get("threads", "")})
        if ok:
            def median(key):
                return statistics.median(r[key] for r in ok)
            row.update({"seconds": median("wall_seconds"),
                        "s/epoch": statistics.median(steady_epoch_seconds(r) for r in ok),
                        "tokens/s": median("tokens_per_s"), "peak MB": median("peak_mb"),
                        "chars/s": median("generate_chars_per_s"),
                        "val ppl": median("val_ppl")})
            if loaded:
                row["busy s"] = statistics.median(r["wall_seconds"] for r in loaded)
                row["x idle"] = row["busy s"] / row["seconds"]
        else:
            row["error"] = runs[0]["error"]
        rows.append(row)
    fused = [r for r in rows if r.get("how") == "fused" and r["backend"] == "numpy"
             and "seconds" in r]
    for row in rows:  # the fused kernel's time in the same run: this machine's limit for
        # the section's model, which the scratch and concise RNNs both compute
        if fused and "seconds" in row and row["model"] in ("scratch", "concise"):
            row["x fused"] = row["seconds"] / fused[0]["seconds"]
    return rows


def steady_epoch_seconds(record):
    """Median training seconds per epoch after the first (which compiles, where any)."""
    seconds = record["history"]["epoch_seconds"]
    return statistics.median(seconds[1:] or seconds)


def _cell(value):
    """A table cell's text: a number to its useful digits; text (which may come from a file)
    with its control characters escaped and its bars kept out of the table's."""
    if isinstance(value, float):
        return f"{value:,.0f}" if value >= 1000 else f"{value:.3g}" if value < 1 else \
            f"{value:.2f}" if value < 100 else f"{value:.1f}"
    return checks.printable(value).replace("|", "\\|")


def markdown_table(rows, columns):
    lines = ["| " + " | ".join(columns) + " |",
             "|" + "|".join("---" if c in ("backend", "model", "path") else "---:"
                            for c in columns) + "|"]
    for row in rows:
        if "error" in row:
            lines.append(f"| {_cell(row['backend'])} | {_cell(row['model'])} | failed: "
                         f"{_cell(row['error'])} |")
            continue
        lines.append("| " + " | ".join(_cell(row.get(c, "")) for c in columns) + " |")
    return "\n".join(lines)


def csv_table(rows, columns):
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=[*columns, "error"], extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def bench_figure(rows, xlabel="seconds to train (median of runs, validation included)"):
    """Seconds for the whole run per backend × model × path, as a bar chart."""
    from matplotlib.figure import Figure

    rows = [r for r in rows if "error" not in r]
    fig = Figure(figsize=(7, 0.45 * len(rows) + 1.2), layout="constrained")
    ax = fig.add_subplot()
    labels = [f"{r['backend']} {r['model']} ({r['path']})" for r in rows]
    bars = ax.barh(labels, [r["seconds"] for r in rows],
                   color=["C0" if r["path"] == "fast" else "C7" for r in rows])
    ax.bar_label(bars, fmt="%.1f s", padding=3)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.grid(axis="x", alpha=0.3)
    return fig


def write_outputs(out, stem, rows, columns, records, figure, note=""):
    out = Path(out)
    atomic_write(out / f"{stem}.md", (f"Measured on {machine.line()}.\n\n"
                                      + markdown_table(rows, columns) + "\n"
                                      + (f"\n{note}\n" if note else "")).encode())
    atomic_write(out / f"{stem}.csv", csv_table(rows, columns).encode())
    atomic_write(out / f"{stem}.json", json.dumps(records, indent=1).encode())
    save_figure(figure, out / f"{stem}.png")
    return [out / f"{stem}.{ext}" for ext in ("md", "csv", "json", "png")]


def bench(backends, models, paths, repeats, train_args, seed=0, on_record=None, busy=0):
    """Records of ``repeats`` runs of each backend × model kind × path ('fast', 'plain');
    with ``busy``, each again beside that many processes spinning (:class:`Spinners`),
    marked ``"busy": busy``.

    Run i uses seed ``seed + i``: the work is the same, and the median perplexity over
    seeds says more than one run's, whose last digits float32 rounding decides."""
    records = []
    for backend in backends:
        for model in models:
            if model not in model_kinds(backend):
                continue
            for path in paths:
                for load in (0, busy) if busy else (0,):
                    with Spinners(load):
                        for i in range(repeats):
                            record = run_record(backend, model,
                                                [*train_args, "--seed", str(seed + i),
                                                 "--fast" if path == "fast" else "--plain"])
                            record["busy"] = load
                            records.append(record)
                            if on_record:
                                on_record(record)
    return records


# -- the encoder-decoder's training step (10.7) ----------------------------------------------

# 10.7's settings; random sentences stand in for the corpus (its vocabularies hold a few
# hundred words where min_freq=2 keeps them). NumPy's reference has no dropout.
SEQ2SEQ = {"vocab_size": 200, "embed_size": 256, "num_hiddens": 256, "num_layers": 2,
           "dropout": 0.2, "batch_size": 128, "num_steps": 9, "lr": 0.005, "clip": 1,
           "pairs": 512}
SEQ2SEQ_MODEL = "seq2seq GRU x2"
SEQ2SEQ_COLUMNS = ("backend", "model", "path", "runs", "seconds", "ms/step", "spread",
                   "pairs/s", "peak MB", "how", "threads")
PAD, BOS, EOS = 0, 1, 2  # the token ids of the random sentences
SEQ2SEQ_NOTE = ("A step: forward, the masked loss, backward, clipping and Adam on 128 pairs of "
                "10.7's model (embedding 256, 256 hidden units, 2 GRU layers, dropout 0.2; "
                "NumPy: dropout 0), vocabularies of 200; ms/step: the median over runs of "
                "each run's median epoch after the first, spread: the runs' range.")


def seq2seq_pairs(seed, settings=SEQ2SEQ):
    """``settings['pairs']`` random sentences as ``(src, tgt_in, src_valid_len, label)``: ids
    of words from 3 up, 2 to ``num_steps - 1`` of them and ``<eos>``, padded; the target is
    another random sentence."""
    import numpy as np

    rng = np.random.default_rng(seed)
    rows, steps, vocab = settings["pairs"], settings["num_steps"], settings["vocab_size"]

    def sentences():
        ids = np.full((rows, steps + 1), PAD, dtype="int64")
        lengths = rng.integers(2, steps, rows)
        for row, length in enumerate(lengths):
            ids[row, :length] = rng.integers(3, vocab, length)
            ids[row, length] = EOS
        return ids, lengths + 1

    (src, src_len), (tgt, _) = sentences(), sentences()
    tgt_in = np.concatenate([np.full((rows, 1), BOS), tgt[:, :steps - 1]], 1)
    return src[:, :steps], tgt_in, src_len, tgt[:, :steps]


def seq2seq_epochs(backend, epochs, seed, settings=SEQ2SEQ):
    """Seconds of each of ``epochs`` passes of training steps (no validation) over
    :func:`seq2seq_pairs`: the backend's package ``Seq2Seq`` with its Trainer (the framework's
    Adam, clipping), NumPy's the reference's hand-written backward with :mod:`Adam
    <d2lrnn.training.adam>`. Returns (the seconds, how it was differentiated, the path: "fast"
    where the model took :mod:`the fast path <d2lrnn.book.seq2seq_fast>`, "compiled" where
    the Trainer compiled the whole step (JAX, TensorFlow), else "plain")."""
    import importlib
    import time

    from ..book import seq2seq_fast
    from ..training.train import package_threads

    d2l = importlib.import_module(f"d2lrnn.{backend}")
    arrays, s = seq2seq_pairs(seed, settings), settings
    if backend == "numpy":
        return (_reference_epochs(d2l.ops, arrays, epochs, seed, s), "hand-written backward",
                "plain")
    coders = [kind(s["vocab_size"], s["embed_size"], s["num_hiddens"], s["num_layers"],
                   s["dropout"], seed=seed + i)
              for i, kind in enumerate((d2l.Seq2SeqEncoder, d2l.Seq2SeqDecoder))]
    model = d2l.Seq2Seq(*coders, tgt_pad=PAD, lr=s["lr"])
    model.board.display = False

    class Pairs(d2l.DataModule):
        def __init__(self):
            super().__init__()
            self.batch_size = s["batch_size"]

        def get_dataloader(self, train):
            return self.get_tensorloader(arrays, train) if train else None

    trainer = d2l.Trainer(max_epochs=epochs, gradient_clip_val=s["clip"])
    ends, fit_epoch, train_batch = [time.perf_counter()], trainer.fit_epoch, trainer.train_batch
    on_step = package_threads(d2l.ops, "plain", lambda: None)  # as d2lrnn train sets them

    def timed_epoch():
        fit_epoch()
        ends.append(time.perf_counter())

    def governed_batch(batch):
        on_step()
        return train_batch(batch)

    trainer.fit_epoch, trainer.train_batch = timed_epoch, governed_batch
    trainer.fit(model, Pairs())
    fast = seq2seq_fast.applies(model.encoder)
    compiled = getattr(trainer, "model_compiles_step", lambda: False)()
    return ([b - a for a, b in zip(ends, ends[1:])],
            "autograd, the GRU's backward by hand" if fast else "autograd",
            "fast" if fast else "compiled" if compiled else "plain")


def _reference_epochs(ops, arrays, epochs, seed, s):
    """NumPy's epochs: :func:`d2lrnn.maths.seq2seq.loss_and_grads` and Adam, float32."""
    import time

    import numpy as np

    from ..maths import seq2seq
    from ..training.adam import Adam

    ops.choose_threads("plain")
    params = seq2seq.draw_params(seq2seq.param_shapes(
        s["vocab_size"], s["vocab_size"], s["embed_size"], s["num_hiddens"], s["num_layers"]),
        np.random.default_rng(seed), "float32", scale=0.1)
    adam = Adam(s["lr"], clip=s["clip"])
    state, seconds = adam.init(ops, params), []
    for _ in range(epochs):
        start = time.perf_counter()
        for first in range(0, s["pairs"], s["batch_size"]):
            batch = [a[first:first + s["batch_size"]] for a in arrays]
            _, grads = seq2seq.loss_and_grads(ops, params, batch, reset="after", pad=PAD)
            params, state, _ = adam.step(ops, params, grads, state)
        seconds.append(time.perf_counter() - start)
    return seconds


def seq2seq_child(backend, epochs, seed, path, settings):
    """What one seq2seq run does in its own process: its record, written to ``path``
    (``settings``: JSON, as :data:`SEQ2SEQ`)."""
    import importlib
    import resource

    settings = json.loads(settings)
    seconds, how, taken = seq2seq_epochs(backend, int(epochs), int(seed), settings)
    ops = importlib.import_module(f"d2lrnn.{backend}").ops
    record = {"backend": backend, "model": SEQ2SEQ_MODEL, "path": taken, "how": how,
              "settings": settings, "epoch_seconds": seconds,
              "steps_per_epoch": -(-settings["pairs"] // settings["batch_size"]),
              "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10,
              "threads": ops.threads(), "machine": machine.describe()}
    atomic_write(Path(path), json.dumps(record).encode())


def seq2seq_record(backend, epochs, seed, settings=SEQ2SEQ):
    """One seq2seq run in a fresh process: its record, or {'error': ...}."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "record.json"
        code = ("import sys\nfrom d2lrnn.tools.bench import seq2seq_child\n"
                "seq2seq_child(*sys.argv[1:])")
        result = subprocess.run([sys.executable, "-c", code, backend, str(epochs), str(seed),
                                 str(path), json.dumps(settings)], capture_output=True,
                                text=True)
        if result.returncode != 0 or not path.exists():
            tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
            return {"backend": backend, "model": SEQ2SEQ_MODEL,
                    "error": checks.printable(" / ".join(tail))}
        return json.loads(path.read_text())


def bench_seq2seq(backends, repeats, epochs, seed=0, on_record=None, settings=SEQ2SEQ):
    """Records of ``repeats`` seq2seq runs of each backend (seeds ``seed``, ``seed + 1``...),
    the backends taken in turn."""
    records = []
    for i in range(repeats):
        for backend in backends:
            record = seq2seq_record(backend, epochs, seed + i, settings)
            records.append(record)
            if on_record:
                on_record(record)
    return records


def seq2seq_rows(records):
    """One row per backend: the median milliseconds of a training step (its epochs after
    the first, which compiles where any) over the runs, and their spread."""
    rows = []
    for backend in dict.fromkeys(r["backend"] for r in records):
        runs = [r for r in records if r["backend"] == backend]
        ok = [r for r in runs if "error" not in r]
        row = {"backend": backend, "model": SEQ2SEQ_MODEL,
               "path": ok[0]["path"] if ok else "", "runs": len(ok)}
        if not ok:
            rows.append({**row, "error": runs[0]["error"]})
            continue
        step_ms = [1000 * statistics.median(r["epoch_seconds"][1:] or r["epoch_seconds"])
                   / r["steps_per_epoch"] for r in ok]
        ms = statistics.median(step_ms)
        rows.append({**row, "seconds": statistics.median(sum(r["epoch_seconds"]) for r in ok),
                     "ms/step": ms, "spread": f"{min(step_ms):.0f}-{max(step_ms):.0f}",
                     "pairs/s": 1000 * ok[0]["settings"]["batch_size"] / ms,
                     "peak MB": statistics.median(r["peak_mb"] for r in ok),
                     "how": ok[0]["how"], "threads": ok[0]["threads"]})
    return rows


class Spinners:
    """A competing load: ``n`` processes that each keep one core busy while the block runs
    (another program on a reader's laptop)."""

    def __init__(self, n):
        self.n, self.processes = n, []

    def __enter__(self):
        self.processes = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                          for _ in range(self.n)]
        return self

    def __exit__(self, *exc):
        for process in self.processes:
            process.kill()
            process.wait()


# -- compare ---------------------------------------------------------------------------------

COMPARE_COLUMNS = ("backend", "model", "path", "train ppl", "val ppl", "seconds",
                   "max loss divergence", "steps within bound")


def compare_rows(records):
    """Final perplexities, seconds, the largest relative difference of each step's loss
    from the reference run's (NumPy scratch) over the steps both took, and how many steps
    stay within the parity bound of the run's dtype before rounding makes them drift."""
    reference = next((r for r in records if "error" not in r
                      and (r["backend"], r["model"]) == REFERENCE), None)
    rows = []
    for r in records:
        row = {"backend": r["backend"], "model": model_label(r),
               "path": "fast" if r.get("fast") else "plain"}
        if "error" in r:
            rows.append({**row, "error": r["error"]})
            continue
        row.update({"train ppl": r["train_ppl"], "val ppl": r["val_ppl"],
                    "seconds": r["wall_seconds"], "max loss divergence": "no reference"})
        if reference is not None:
            if not same_run(reference, r):
                row["max loss divergence"] = "other settings"
            else:
                ref_losses, losses = reference["history"]["step_loss"], r["history"]["step_loss"]
                row["max loss divergence"] = max_divergence(ref_losses, losses)
                row["bound"] = TOLERANCE.get(r["settings"].get("dtype"), 0.0)
                row["steps within bound"] = steps_within(ref_losses, losses, row["bound"])
        rows.append(row)
    return rows


def compare_note(rows):
    """What compare's last two columns mean, under its table (where they hold numbers)."""
    bounds = sorted({row["bound"] for row in rows if "bound" in row})
    if not bounds:
        return ""
    return (f"max loss divergence: the largest relative difference of a step's loss from "
            f"{' '.join(REFERENCE)}'s. steps within bound: k / n, the first k of the n steps "
            f"both runs took are within {' or '.join(f'{b:g}' for b in bounds)} of it (the "
            f"dtype's parity bound); after them, rounding that SGD amplifies lets the runs "
            f"drift apart as runs on different seeds do (a few percent in float32), not a "
            f"fault.")


# What must agree for two runs to start from the same weights and see the same batches.
SAME_RUN = ("epochs", "batch_size", "num_steps", "num_hiddens", "lr", "clip", "seed", "dtype",
            "corpus_sha1")


def same_run(a, b):
    return all(a["settings"].get(k) == b["settings"].get(k) for k in SAME_RUN)


def steps_within(reference, losses, bound):
    """'k / n': the first k of the n common steps differ from the reference by <= bound."""
    n = min(len(reference), len(losses))
    k = next((i for i, (x, y) in enumerate(zip(losses[:n], reference[:n]))
              if abs(x - y) > bound * abs(y)), n)
    return f"{k} / {n}"


def max_divergence(reference, losses):
    n = min(len(reference), len(losses))
    return max(abs(x - y) / abs(y) for x, y in zip(losses[:n], reference[:n])) if n else math.nan


def compare_figure(records):
    """Every run's train (solid) and validation (dashed) perplexity per epoch, overlaid."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.add_subplot()
    for i, r in enumerate(x for x in records if "error" not in x):
        h, label = r["history"], f"{r['backend']} {model_label(r)}"
        ax.plot(h["epoch"], h["train_ppl"], color=f"C{i}", label=f"{label} train")
        ax.plot(h["epoch"], h["val_ppl"], color=f"C{i}", linestyle="--",
                label=f"{label} validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel("perplexity")
    ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", ncol=2)
    return fig


def compare(backends, models, fast, train_args, merge=(), on_record=None):
    """One run per backend × model kind, the same settings; plus the records in ``merge``
    (files written by compare --out in other environments, e.g. MXNet's)."""
    records = []
    for path in merge:
        records.extend(load_records(path))
    for backend in backends:
        for model in models:
            if model in model_kinds(backend):
                record = run_record(backend, model,
                                    [*train_args, "--fast" if fast else "--plain"])
                records.append(record)
                if on_record:
                    on_record(record)
    order = {name: i for i, name in enumerate(("numpy", "torch", "jax", "tensorflow",
                                                "mxnet"))}
    return sorted(records, key=lambda r: (order.get(r["backend"], 9), r["model"]))


def load_records(path):
    """Records from a file that bench or compare wrote (its .json), each checked against
    :data:`RECORD_FIELDS` before anything is computed or printed from it."""
    what = ("give the .json file that 'd2lrnn compare --out' or 'd2lrnn bench --out' "
            "wrote")
    try:
        checks.regular_file(path, "records file", MAX_RECORDS_MB * 2**20, error=ValueError)
        records = json.loads(Path(path).read_text(encoding="utf-8"))
    except RecursionError:  # the parser's own limit, far beyond MAX_RECORDS_DEPTH
        raise BadArgument(f"{path} is nested deeper than run records are (at most "
                          f"{MAX_RECORDS_DEPTH} levels); {what}") from None
    except (OSError, ValueError) as err:
        raise BadArgument(f"cannot read records from {path}: {err}; {what}") from err
    if not isinstance(records, list) or not all(
            isinstance(r, dict) and "backend" in r for r in records):
        raise BadArgument(f"{path} holds no d2lrnn run records; {what}")
    if depth(records) > MAX_RECORDS_DEPTH:
        raise BadArgument(f"{path} is nested deeper than run records are (at most "
                          f"{MAX_RECORDS_DEPTH} levels); {what}")
    for number, record in enumerate(records, 1):
        problem = record_problem(record)
        if problem:
            raise BadArgument(f"{path}, record {number}: {problem}; {what}")
    return records


def depth(value):
    """How deeply lists and mappings nest in ``value`` (a scalar: 0), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        value, level = stack.pop()
        if isinstance(value, (list, dict)):
            deepest = max(deepest, level)
            stack.extend((v, level + 1) for v in (value.values() if isinstance(value, dict)
                                                  else value))
    return deepest


def _history(v):
    finite = checks.Each(checks.Real())
    return isinstance(v, dict) and all(finite.holds(v.get(k)) for k in HISTORY_LISTS)


HISTORY_LISTS = ("epoch", "train_ppl", "val_ppl", "step_loss", "epoch_seconds")
# What a record's fields must be, for those that bench and compare read (others are kept as
# they are); a failed run's record needs only backend, model and error, a finished run's the
# fields COMPLETE names.
RECORD_FIELDS = {
    "backend": checks.OneOf(BACKENDS), "model": checks.OneOf(MODEL_KINDS),
    "cell": checks.OneOf(CHOICES), "dtype": checks.OneOf(FLOAT_DTYPES),
    "layers": checks.Whole(1), "epochs": checks.Whole(1), "busy": checks.Whole(0),
    "fast": checks.Flag(), "error": checks.Text(), "device": checks.Text(),
    "train_ppl": checks.Real(least=1), "val_ppl": checks.Real(least=1),
    **{name: checks.Real(least=0) for name in ("seconds", "wall_seconds", "tokens_per_s",
                                                "peak_mb", "generate_chars_per_s")},
    "settings": checks.Satisfies(
        lambda v: isinstance(v, dict) and v.get("dtype", "float32") in FLOAT_DTYPES
        and all(isinstance(v.get(k, ""), str) for k in ("strategy", "threads")),
        f"a mapping (its dtype one of {', '.join(FLOAT_DTYPES)}; its strategy and threads "
        f"text)"),
    "history": checks.Satisfies(_history, f"a mapping of lists of finite numbers "
                                          f"({', '.join(HISTORY_LISTS)})"),
}
COMPLETE = ("train_ppl", "val_ppl", "wall_seconds", "settings", "history")


def record_problem(record):
    """What is wrong with a run ``record`` (a phrase), or None."""
    needed = ("backend", "model") + (("error",) if "error" in record else COMPLETE)
    missing = [name for name in needed if name not in record]
    if missing:
        return f"it lacks {', '.join(missing)}"
    for name, value in record.items():
        if name in RECORD_FIELDS and not RECORD_FIELDS[name].holds(value):
            return (f"{name} is {checks.printable(json.dumps(value)[:60])}; it must be "
                    f"{RECORD_FIELDS[name].words}")
    return None
