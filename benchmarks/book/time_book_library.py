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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, required=True,
                        help="d2l-1.0.3-py3-none-any.whl (pip download --no-deps d2l==1.0.3)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--corpus", type=Path, default=Path(
        os.environ.get("D2LRNN_DATA", "data")) / "timemachine.txt")
    parser.add_argument("--out", type=Path, help="folder for book-library.json and .md")
    args = parser.parse_args(argv)
    if not args.wheel.is_file():
        parser.error(f"--wheel: no file at {args.wheel}")
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
