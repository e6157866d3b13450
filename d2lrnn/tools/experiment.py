"""One training run of the character-level language model, as the CLI and benchmarks run it."""
import time
from pathlib import Path

from ..base.backend import MODEL_KINDS, enable_float64, load_backend
from ..base.errors import BadArgument, BadType
from ..book.data import MAX_CORPUS_MB, TimeMachine
from ..cells import CELLS
from ..training.train import fit

# The book's settings (d2l.ai section 9.5) and the prefixes it continues.
BOOK = {"batch_size": 1024, "num_steps": 32, "num_hiddens": 32, "lr": 1.0, "clip": 1.0,
        "epochs": 100, "num_train": 10000, "num_val": 5000}
SAMPLE_PREFIXES = ("it has", "time traveller")
MODELS = MODEL_KINDS


def build_lm(d2l, model, vocab_size, num_hiddens, dtype="float32", seed=0, lr=1.0,
             cell="rnn", reset=None, layers=1):
    """The scratch or concise language model of backend ``d2l`` on ``cell``, ``layers``
    deep (the book's StackedRNNScratch, or the concise GRU/LSTM(num_layers=...)). A GRU's
    ``reset`` defaults to the book's "before" (scratch) or the frameworks' "after"
    (concise)."""
    if model not in MODELS:
        raise BadArgument(f"model must be one of {MODELS}, got {model!r}")
    if cell not in CELLS:
        raise BadArgument(f"cell must be one of {', '.join(CELLS)}, got {cell!r}")
    name = CELLS[cell].scratch_name if model == "scratch" else CELLS[cell].concise_name
    if name is None:
        raise BadType(f"the {d2l.ops.name} backend has no layer of its own for the {cell} "
                        f"cell (no framework here has one): use the scratch model")
    options = {}
    if cell == "gru":
        options["reset"] = reset or ("before" if model == "scratch" else "after")
    if layers > 1 and model == "scratch":
        rnn = d2l.StackedRNNScratch(vocab_size, num_hiddens, layers, cell=cell, dtype=dtype,
                                    seed=seed, **options)
    elif layers > 1:
        if cell == "rnn":
            raise BadArgument("the book's concise RNN is one layer: for layers > 1 use the "
                             "scratch model (StackedRNNScratch) or a concise GRU or LSTM")
        rnn = getattr(d2l, name)(num_inputs=vocab_size, num_hiddens=num_hiddens,
                                 num_layers=layers, dtype=dtype, seed=seed, **options)
    else:
        rnn = getattr(d2l, name)(num_inputs=vocab_size, num_hiddens=num_hiddens, dtype=dtype,
                                 seed=seed, **options)
    return d2l.RNNLMScratch(rnn, vocab_size, lr=lr, seed=seed + 1)


def train_run(backend="numpy", model="scratch", epochs=BOOK["epochs"],
              batch_size=BOOK["batch_size"], num_steps=BOOK["num_steps"],
              num_hiddens=BOOK["num_hiddens"], lr=BOOK["lr"], clip=BOOK["clip"], seed=0,
              corpus=None, dtype="float32", whole_book=False, num_train=BOOK["num_train"],
              num_val=BOOK["num_val"], max_steps=None, num_preds=50, on_step=None,
              on_epoch=None, fast=False, resume=None, on_saved_epoch=None, cell="rnn",
              layers=1, device="auto", on_start=None, max_corpus_mb=MAX_CORPUS_MB,
              extra_hparams=None):
    """Train and sample; returns (summary, model, data, history, hparams).

    ``on_saved_epoch(model, data, hparams, state)`` is called after every epoch (to write a
    checkpoint); ``resume=(params, state)`` continues a run from such a checkpoint. The
    model is made and trains on ``device`` (see ``Ops.find_device``), with float32 products
    at full precision; ``on_start(hparams)`` is called before the first step."""
    if dtype == "float64":
        enable_float64(backend)
    d2l = load_backend(backend)
    where = d2l.ops.find_device(device)
    d2l.ops.full_precision()
    data = TimeMachine(batch_size, num_steps, num_train, num_val, corpus=corpus,
                       whole_book=whole_book, seed=seed, max_corpus_mb=max_corpus_mb)
    with d2l.ops.on(where):  # the parameters are made there; fit and predict follow them
        lm = build_lm(d2l, model, len(data.vocab), num_hiddens, dtype, seed, lr, cell,
                      layers=layers)
    hparams = {"model": model, "cell": cell, "layers": layers,
               "cell_key": lm.rnn.network.layers[0].cell.key,
               "reset": getattr(lm.rnn.network.layers[0].cell, "reset", None),
               "backend": backend,
               "dtype": dtype, "num_hiddens": num_hiddens, "vocab_size": len(data.vocab),
               "batch_size": batch_size, "num_steps": num_steps, "lr": lr, "clip": clip,
               "epochs": epochs, "seed": seed, "fast": fast,
               "corpus": None if corpus is None else str(Path(corpus).resolve()),
               "corpus_sha1": data.sha1, "whole_book": whole_book, "num_train": num_train,
               "num_val": num_val, "device": d2l.ops.device_name(where),
               "strategy": lm.rnn.fast_grads if fast else "plain"}
    state = None
    if resume is not None:
        params, state = resume
        lm.set_params(params)
    saver = (None if on_saved_epoch is None else
             lambda epoch_state: on_saved_epoch(lm, data, hparams, epoch_state))
    d2l.ops.choose_threads(hparams["strategy"])
    hparams["threads"] = d2l.ops.threads()
    hparams["versions"] = versions(backend)
    hparams.update(extra_hparams or {})
    if on_start:
        on_start(hparams)
    start = time.perf_counter()
    history = fit(lm, data, epochs, lr=lr, clip=clip, max_steps=max_steps, on_step=on_step,
                  on_epoch=on_epoch, fast=fast, resume=state, on_saved_epoch=saver)
    wall = time.perf_counter() - start
    summary = {
        "backend": backend, "model": model, "cell": cell, "layers": layers, "fast": fast,
        "device": hparams["device"], "epochs": len(history["epoch"]),
        "dtype": dtype, "train_ppl": history["train_ppl"][-1],
        "val_ppl": history["val_ppl"][-1], "seconds": history["train_seconds"],
        "wall_seconds": wall, "tokens_per_s": history["tokens"] / history["train_seconds"],
        "samples": {p: lm.predict(p, num_preds, data.vocab) for p in SAMPLE_PREFIXES},
    }
    return summary, lm, data, history, hparams


def versions(backend):
    """{package: version} of what computes a run: d2lrnn, the framework, Numba where loaded."""
    import sys

    from .._version import __version__
    from ..base.backend import DECLARED

    found = {"d2lrnn": __version__}
    for module in (DECLARED[backend].framework, "numba"):
        version = getattr(sys.modules.get(module), "__version__", None)
        if version:
            found[module] = str(version)
    return found


def generation_speed(lm, vocab, num_preds=1000, prefix=SAMPLE_PREFIXES[1]):
    """Greedy characters per second of ``lm.predict``, after one warm-up call (compiling)."""
    lm.predict(prefix, 10, vocab)
    start = time.perf_counter()
    lm.predict(prefix, num_preds, vocab)
    return num_preds / (time.perf_counter() - start)
