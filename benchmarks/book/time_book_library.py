"""Time the book's own library (the ``d2l`` package, 1.0.3) training the GRU of 10.2 with
its own Trainer, for a reference row beside ``d2lrnn bench --cell gru``.

The model is what a reader of 10.2 trains: the library's ``GRU`` (10.3's multilayer GRU,
one layer here: ``nn.GRU`` in PyTorch) in its ``RNNLM``, 10.2's settings (batch 1024, 32
steps, 32 hidden units, lr 4, clipping at 1) on The Time Machine, fitted by the book's
``Trainer``. Its progress board is told not to draw (``display=False``), as ``d2lrnn
bench`` draws nothing while it times. The seconds are those of ``Trainer.fit``, as bench
times ``fit``; PyTorch keeps its default threads (what a reader's notebook gets).

The library's module imports packages its RNN sections never touch (torchvision, pandas,
scipy, IPython's display, matplotlib_inline); where one is not installed it is replaced by
an empty stand-in, so the library loads beside this project's pinned environment. The code
that trains is the book's, unchanged. Nothing of the book is kept in this repository: the
wheel is fetched when this runs.

    pip download --no-deps d2l==1.0.3 -d /tmp/book-library
    python benchmarks/book/time_book_library.py \\
        --wheel /tmp/book-library/d2l-1.0.3-py3-none-any.whl \\
        --epochs 10 --out benchmarks/results/book-library

``--model seq2seq`` times 10.7 instead: the library's ``Seq2SeqEncoder``, ``Seq2SeqDecoder``
and ``Seq2Seq`` (the masked loss that 10.7 adds to the class, in our words), 10.7's settings
(embed 256, 256 hidden units, 2 layers, dropout 0.2, batch 128, 9 steps, lr 0.005, Adam,
clipping at 1), beside this project's (``from d2lrnn import torch as d2l``, the same calls) in
one process, the two runs interleaved and repeated (their order alternating), with the same
intra-op threads (``--threads``). The pairs are the project's stand-in corpus
(``tests/_corpora.py``, ``--pairs`` of them, the book's 512 training and 128 validation pairs
by default): the real ``fra-eng.zip`` cannot be fetched here, so the library's ``_download``
is handed that text (the rest of its ``MTFraEng`` is unchanged) and ours gets it by
``corpus=``. Each run records seconds and the validation loss after every epoch; the table
gives medians over the repeats with their spread, and the seconds each took to first reach
the loss that both reach (the larger of their two final losses' medians).

    python benchmarks/book/time_book_library.py --model seq2seq \\
        --wheel /tmp/book-library/d2l-1.0.3-py3-none-any.whl \\
        --epochs 30 --repeats 5 --out benchmarks/results/book-library-seq2seq

JAX: the book's JAX GRU builds its carry with ``nn.GRUCell.initialize_carry`` as a class
method, which Flax changed in 0.7.1; it does not run with any Flax that today's JAX installs
(README, "Cells that need a way out"), so there is no JAX row.
"""
import argparse
import importlib.machinery
import importlib.util
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import types
from pathlib import Path

# What the library's torch module imports at its top but the RNN sections never use.
UNUSED_IMPORTS = ("torchvision", "torchvision.transforms", "pandas", "scipy",
                  "scipy.spatial", "IPython", "IPython.display", "matplotlib_inline",
                  "matplotlib_inline.backend_inline")
BOOK_SETTINGS = {"batch_size": 1024, "num_steps": 32, "num_hiddens": 32, "lr": 4,
                 "gradient_clip_val": 1}
SEQ2SEQ_SETTINGS = {"batch_size": 128, "num_steps": 9, "embed_size": 256, "num_hiddens": 256,
                    "num_layers": 2, "dropout": 0.2, "lr": 0.005, "gradient_clip_val": 1}
TESTS = Path(__file__).resolve().parents[2] / "tests"  # the stand-in corpus (_corpora.py)


class _StandIn(types.ModuleType):
    """An empty module: any attribute is another stand-in (never called while training)."""

    def __init__(self, name):
        super().__init__(name)
        self.__spec__ = importlib.machinery.ModuleSpec(name, None)

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _StandIn(f"{self.__name__}.{name}")


def load_book_library(wheel):
    """``d2l.torch`` of the book's wheel, imported from the wheel itself."""
    stood_in = []
    for name in UNUSED_IMPORTS:
        root = name.split(".")[0]
        if root in stood_in or importlib.util.find_spec(root) is None:
            sys.modules[name] = _StandIn(name)
            stood_in.append(root)
    sys.path.insert(0, str(wheel))
    from d2l import torch as book
    return book, sorted(set(stood_in))


def time_fit(book, corpus, epochs, seed):
    """Train 10.2's GRU with the book's Trainer for ``epochs``: (seconds of fit, the last
    validation perplexity, the number of training tokens per epoch)."""
    import torch

    workdir = Path(tempfile.mkdtemp())
    try:  # the book's TimeMachine reads ../data/timemachine.txt (verified by its SHA-1)
        (workdir / "data").mkdir()
        shutil.copy(corpus, workdir / "data" / "timemachine.txt")
        (workdir / "run").mkdir()
        here = os.getcwd()
        os.chdir(workdir / "run")
        try:
            torch.manual_seed(seed)
            data = book.TimeMachine(batch_size=BOOK_SETTINGS["batch_size"],
                                    num_steps=BOOK_SETTINGS["num_steps"])
            gru = book.GRU(num_inputs=len(data.vocab),
                           num_hiddens=BOOK_SETTINGS["num_hiddens"], num_layers=1)
            model = book.RNNLM(gru, vocab_size=len(data.vocab), lr=BOOK_SETTINGS["lr"])
            model.board.display = False
            trainer = book.Trainer(max_epochs=epochs,
                                   gradient_clip_val=BOOK_SETTINGS["gradient_clip_val"])
            start = time.perf_counter()
            trainer.fit(model, data)
            seconds = time.perf_counter() - start
        finally:
            os.chdir(here)
        val = [point.y for point in model.board.data["val_ppl"]]
        return seconds, float(val[-1]), data.num_train * BOOK_SETTINGS["num_steps"]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def masked_loss(book):
    """10.7's loss, which the section adds to the library's ``Seq2Seq`` (the library itself
    has none): the unreduced cross-entropy of the library's ``Classifier``, averaged over the
    labels that are not ``<pad>``."""
    import torch

    def loss(self, Y_hat, Y):
        each = book.Classifier.loss(self, Y_hat, Y, averaged=False)
        kept = (Y.reshape(-1) != self.tgt_pad).to(torch.float32)
        return (each * kept).sum() / kept.sum()

    return loss


def book_decoder(book):
    """10.7's decoder, which the section defines in a cell (the library has none), in our
    words: the library's embedding and GRU, the encoder's top layer's final state beside
    every target token's embedding, an output layer sized at its first call; initialised by
    the library's ``init_seq2seq``."""
    import torch
    from torch import nn

    class Seq2SeqDecoder(book.Decoder):
        def __init__(self, vocab_size, embed_size, num_hiddens, num_layers, dropout=0):
            super().__init__()
            self.embedding = nn.Embedding(vocab_size, embed_size)
            self.rnn = book.GRU(embed_size + num_hiddens, num_hiddens, num_layers, dropout)
            self.dense = nn.LazyLinear(vocab_size)
            self.apply(book.init_seq2seq)

        def init_state(self, enc_all_outputs, *args):
            return enc_all_outputs

        def forward(self, X, state):
            enc_output, hidden = state
            tokens = self.embedding(X.T.to(torch.int32))  # (num_steps, batch, embed)
            context = enc_output[-1].repeat(tokens.shape[0], 1, 1)  # the same copy
            outputs, hidden = self.rnn(torch.cat([tokens, context], -1), hidden)
            return self.dense(outputs).transpose(0, 1), [enc_output, hidden]

    return Seq2SeqDecoder


def train_seq2seq(d2l, make_data, epochs, seed):
    """Train 10.7's model of library ``d2l`` (the book's or ours) with its Trainer: (seconds
    of fit, seconds at the end of every epoch, validation loss after every epoch, the last
    training loss)."""
    import torch

    settings = SEQ2SEQ_SETTINGS
    torch.manual_seed(seed)
    data = make_data(settings["batch_size"])
    coders = [kind(len(vocab), settings["embed_size"], settings["num_hiddens"],
                   settings["num_layers"], settings["dropout"])
              for kind, vocab in ((d2l.Seq2SeqEncoder, data.src_vocab),
                                  (d2l.Seq2SeqDecoder, data.tgt_vocab))]
    model = d2l.Seq2Seq(*coders, tgt_pad=data.tgt_vocab["<pad>"], lr=settings["lr"])
    model.board.display = False
    trainer = d2l.Trainer(max_epochs=epochs, gradient_clip_val=settings["gradient_clip_val"],
                          num_gpus=1)
    ends, fit_epoch = [], trainer.fit_epoch

    def timed_epoch():
        fit_epoch()
        ends.append(time.perf_counter())

    trainer.fit_epoch = timed_epoch
    start = time.perf_counter()
    trainer.fit(model, data)
    seconds = time.perf_counter() - start
    val = [float(point.y) for point in model.board.data["val_loss"]]
    train = [float(point.y) for point in model.board.data["train_loss"]]
    return seconds, [end - start for end in ends], val, train[-1]


def seconds_to(run, loss):
    """Seconds of ``run`` at the end of its first epoch whose validation loss is at most
    ``loss`` (None if none is)."""
    return next((at for at, val in zip(run["epoch_seconds"], run["val_loss"]) if val <= loss),
                None)


def spread(values):
    """'median (min-max)' of ``values``."""
    return f"{statistics.median(values):.3g} ({min(values):.3g}-{max(values):.3g})"


def compare_seq2seq(wheel, epochs, repeats, pairs, seed, threads, parts=None):
    """10.7's model, the book's library's and ours, trained in turn ``repeats`` times (the
    order alternating): the runs and the summary rows. ``threads``: PyTorch's intra-op
    threads for both (0: PyTorch's default, what a reader's notebook gets); ``parts``: how
    many parts ours forks its batch's recurrence into (None: its own choice,
    ``torch/fused.py``'s ``parts()``, which forks only where one intra-op thread runs)."""
    import torch

    sys.path.insert(0, str(TESTS))
    from _corpora import parallel_pairs

    if threads:
        torch.set_num_threads(threads)
    if parts is not None:
        from d2lrnn.torch import fused

        fused.parts = lambda: parts
    text = parallel_pairs(pairs, seed)
    book, stood_in = load_book_library(wheel)
    book.Seq2Seq.loss = masked_loss(book)  # what 10.7's cells add to the library
    book.Seq2SeqDecoder = book_decoder(book)
    book.MTFraEng._download = lambda self: text  # the stand-in pairs, not the real archive
    from d2lrnn import torch as ours

    workdir = Path(tempfile.mkdtemp())
    try:
        corpus = workdir / "fra.txt"
        corpus.write_text(text, encoding="utf-8")
        libraries = {"d2l 1.0.3": (book, lambda batch_size: book.MTFraEng(batch_size)),
                     "d2lrnn": (ours, lambda batch_size: ours.MTFraEng(batch_size,
                                                                        corpus=corpus))}
        runs = []
        for repeat in range(repeats):
            order = list(libraries) if repeat % 2 == 0 else list(libraries)[::-1]
            for name in order:
                library, make_data = libraries[name]
                seconds, ends, val, train = train_seq2seq(library, make_data, epochs,
                                                          seed + repeat)
                runs.append({"library": name, "repeat": repeat, "seconds": seconds,
                             "epoch_seconds": ends, "val_loss": val, "train_loss": train})
                print(f"{name} repeat {repeat}: {seconds:.2f} s, val loss {val[-1]:.4f}",
                      flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    final = {name: statistics.median(run["val_loss"][-1] for run in runs
                                     if run["library"] == name) for name in libraries}
    target = max(final.values())  # a loss both reach, as a median
    rows = []
    for name in libraries:
        mine = [run for run in runs if run["library"] == name]
        reached = [seconds_to(run, target) for run in mine]
        rows.append({"library": name, "runs": len(mine),
                     "s/epoch": spread([run["seconds"] / epochs for run in mine]),
                     "seconds": spread([run["seconds"] for run in mine]),
                     "val loss": spread([run["val_loss"][-1] for run in mine]),
                     "train loss": spread([run["train_loss"] for run in mine]),
                     f"s to val loss {target:.3f}": (
                         spread([r for r in reached if r is not None])
                         + (f", {reached.count(None)} never" if None in reached else "")
                         if any(r is not None for r in reached) else "never")})
    # each repeat's two runs side by side (the machine's load moves between repeats)
    by_repeat = {(run["library"], run["repeat"]): run["seconds"] for run in runs}
    ratios = [by_repeat["d2l 1.0.3", i] / by_repeat["d2lrnn", i] for i in range(repeats)]
    return runs, rows, ratios, stood_in


def write_table(path, rows, notes=()):
    """``rows`` (dicts of the same keys) as a Markdown table, with lines of ``notes`` after."""
    columns = list(rows[0])
    path.write_text("| " + " | ".join(columns) + " |\n|" + "---|" * len(columns) + "\n"
                    + "".join("| " + " | ".join(str(row[c]) for c in columns) + " |\n"
                              for row in rows)
                    + "".join(f"\n{note}\n" for note in notes))


def main_seq2seq(args):
    import torch

    from d2lrnn.tools.machine import describe, line

    from d2lrnn.torch import fused

    load_before = os.getloadavg()
    runs, rows, ratios, stood_in = compare_seq2seq(args.wheel, args.epochs, args.repeats,
                                                    args.pairs, args.seed, args.threads,
                                                    args.parts)
    load = f"load average {load_before[0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"
    forked = f"d2lrnn's recurrence in {fused.parts()} forked part(s)"
    summary = {"what": "10.7's Seq2Seq, d2l 1.0.3 against d2lrnn (PyTorch), the Trainer of "
                       "each", "settings": SEQ2SEQ_SETTINGS, "epochs": args.epochs,
               "pairs": args.pairs, "torch": torch.__version__,
               "threads": torch.get_num_threads(), "d2lrnn parts": fused.parts(),
               "load": load, "rows": rows,
               "d2l seconds / d2lrnn seconds, each repeat": [round(r, 3) for r in ratios],
               "stood in": stood_in,
               "machine": describe(), "runs": runs}
    faster = f"d2lrnn {spread(ratios)}x faster (each repeat's pair of fits: median (min-max))"
    print(json.dumps(rows, indent=1), f"\n{faster}")
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / f"{args.name}.json").write_text(json.dumps(summary, indent=1) + "\n")
        write_table(args.out / f"{args.name}.md", rows, (
            f"{faster}; medians (min-max) of "
            f"{args.repeats} runs each, interleaved, {args.epochs} epochs, torch "
            f"{torch.__version__}, {torch.get_num_threads()} intra-op thread(s), {forked}; "
            f"stand-in corpus of {args.pairs} pairs.",
            f"Measured on {line(describe())}; {load}."))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, required=True,
                        help="d2l-1.0.3-py3-none-any.whl (pip download --no-deps d2l==1.0.3)")
    parser.add_argument("--model", choices=("gru", "seq2seq"), default="gru",
                        help="gru: 10.2's language model; seq2seq: 10.7's, beside d2lrnn's")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3, help="seq2seq: runs of each")
    parser.add_argument("--pairs", type=int, default=800,
                        help="seq2seq: stand-in pairs written (the book reads 641)")
    parser.add_argument("--threads", type=int, default=1,
                        help="seq2seq: intra-op threads (0: PyTorch's default)")
    parser.add_argument("--parts", type=int,
                        help="seq2seq: d2lrnn's forked parts (default: its own choice)")
    parser.add_argument("--name", default="seq2seq",
                        help="seq2seq: the result files' name in --out (NAME.json, NAME.md)")
    parser.add_argument("--corpus", type=Path, default=Path(
        os.environ.get("D2LRNN_DATA", "data")) / "timemachine.txt")
    parser.add_argument("--out", type=Path, help="folder for book-library.json and .md")
    args = parser.parse_args(argv)
    if not args.wheel.is_file():
        parser.error(f"--wheel: no file at {args.wheel}")
    if args.model == "seq2seq":
        return main_seq2seq(args)
    if not args.corpus.is_file():
        parser.error(f"--corpus: no file at {args.corpus} (set D2LRNN_DATA)")
    import torch

    from d2lrnn.tools.machine import describe

    book, stood_in = load_book_library(args.wheel)
    seconds, val_ppl, tokens = time_fit(book, args.corpus, args.epochs, args.seed)
    row = {"what": "d2l 1.0.3 GRU + RNNLM, the book's Trainer (10.2's settings)",
           "torch": torch.__version__, "threads": torch.get_num_threads(),
           "epochs": args.epochs, "seconds": round(seconds, 2),
           "seconds / epochs": round(seconds / args.epochs, 3),
           "tokens/s": round(tokens * args.epochs / seconds), "val ppl": round(val_ppl, 2),
           "stood in": stood_in, "machine": describe()}
    print(json.dumps(row, indent=1))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "book-library.json").write_text(json.dumps(row, indent=1) + "\n")
        columns = ("what", "torch", "threads", "epochs", "seconds", "seconds / epochs", "tokens/s",
                   "val ppl")
        (args.out / "book-library.md").write_text(
            "| " + " | ".join(columns) + " |\n|" + "---|" * len(columns) + "\n| "
            + " | ".join(str(row[c]) for c in columns) + " |\n")


if __name__ == "__main__":
    main()
