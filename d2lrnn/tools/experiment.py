"""One training run of the character-level language model, as the CLI and benchmarks run it."""
import dataclasses
import json
import sys
import time
from pathlib import Path

from ..base.backend import MODEL_KINDS, enable_float64, load_backend
from ..base.errors import BadArgument, BadType, not_one_of
from ..base.files import atomic_write
from ..book.data import MAX_CORPUS_MB, TimeMachine
from ..cells import KEYWORDS, cell_named
from ..training import fast
from ..training.train import fit, package_threads
from . import machine

# The prefixes the book continues.
SAMPLE_PREFIXES = ("it has", "time traveller")
MODELS = MODEL_KINDS


def build_lm(d2l, model, vocab_size, num_hiddens, dtype="float32", seed=0, lr=1.0,
             cell="rnn", layers=1, **options):
    """The scratch or concise language model of backend ``d2l`` on ``cell``, ``layers``
    deep (the book's StackedRNNScratch, or the concise GRU/LSTM(num_layers=...)). ``cell``
    is a cell's name or a variant's key, ``options`` its variant's keyword (a GRU's
    ``reset``): see :func:`d2lrnn.cells.cell_named` (a GRU's defaults to the book's "before"
    from scratch, the frameworks' "after" concise)."""
    if model not in MODELS:
        raise BadArgument(not_one_of("model", model, MODELS))
    variant = cell_named(cell, model, **options)
    name = variant.scratch_name if model == "scratch" else variant.concise_name
    if name is None:
        raise BadType(f"the {d2l.ops.name} backend has no layer of its own for the {cell} "
                        f"cell (no framework here has one): use the scratch model")
    options = variant.options()
    if layers > 1 and model == "scratch":
        rnn = d2l.StackedRNNScratch(vocab_size, num_hiddens, layers, cell=variant.key,
                                    dtype=dtype, seed=seed)
    elif layers > 1:
        if variant.name == "rnn":
            raise BadArgument("the book's concise RNN is one layer: for layers > 1 use the "
                             "scratch model (StackedRNNScratch) or a concise GRU or LSTM")
        rnn = getattr(d2l, name)(num_inputs=vocab_size, num_hiddens=num_hiddens,
                                 num_layers=layers, dtype=dtype, seed=seed, **options)
    else:
        rnn = getattr(d2l, name)(num_inputs=vocab_size, num_hiddens=num_hiddens, dtype=dtype,
                                 seed=seed, **options)
    return d2l.RNNLMScratch(rnn, vocab_size, lr=lr, seed=seed + 1)


@dataclasses.dataclass
class RunResult:
    """What a training run gives back: the summary the command prints (and ``--json``
    writes), the trained model, its data, the history and the hyperparameters recorded."""

    summary: dict
    model: object
    data: object
    history: dict
    hparams: dict
    fast_path: object = None  # what generates its samples (chosen once, with its training's)


def train_run(settings, *, device="auto", max_corpus_mb=MAX_CORPUS_MB, num_preds=50,
              max_steps=None, on_step=None, on_epoch=None, on_start=None, resume=None,
              on_saved_epoch=None, extra_hparams=None):
    """Train with ``settings`` (:class:`~d2lrnn.training.settings.Settings`) and sample; a
    :class:`RunResult`.

    ``on_saved_epoch(model, data, hparams, state)`` is called after every epoch (to write a
    checkpoint); ``resume=(params, state)`` continues a run from such a checkpoint. The
    model is made and trains on ``device`` (see ``Ops.find_device``), with float32 products
    at full precision; ``on_start(hparams, first_epoch)`` is called before the first step."""
    s = settings
    if s.dtype == "float64":
        enable_float64(s.backend)
    d2l = load_backend(s.backend)
    where = d2l.ops.find_device(device)
    d2l.ops.full_precision()
    data = TimeMachine(s.batch_size, s.num_steps, s.num_train, s.num_val, corpus=s.corpus,
                       whole_book=s.whole_book, seed=s.seed, max_corpus_mb=max_corpus_mb)
    with d2l.ops.on(where):  # the parameters are made there; fit and predict follow them
        lm = build_lm(d2l, s.model, len(data.vocab), s.num_hiddens, s.dtype, s.seed, s.lr,
                      s.cell, layers=s.layers)
    cell = lm.rnn.network.layers[0].cell
    # chosen once: recorded, trained on (unless --plain) and generating the samples
    chosen = fast.choose(lm)
    path = chosen if s.fast else None
    hparams = {**s.as_dict(), "cell_key": cell.key,
               **{keyword: cell.options().get(keyword) for keyword in KEYWORDS},
               "vocab_size": len(data.vocab),
               "corpus": None if s.corpus is None else str(Path(s.corpus).resolve()),
               "corpus_sha1": data.sha1, "device": d2l.ops.device_name(where),
               "strategy": path.by if path else "plain"}
    state = None
    if resume is not None:
        params, state = resume
        lm.set_params(params)
    saver = (None if on_saved_epoch is None else
             lambda epoch_state: on_saved_epoch(lm, data, hparams, epoch_state))
    on_step = package_threads(d2l.ops, hparams["strategy"], on_step)
    hparams["threads"] = d2l.ops.threads()
    hparams["versions"] = versions(s.backend)
    hparams.update(extra_hparams or {})
    if on_start:
        on_start(hparams, state["epoch"] if state else 0)
    start = time.perf_counter()
    history = fit(lm, data, s.epochs, lr=s.lr, clip=s.clip, max_steps=max_steps,
                  on_step=on_step, on_epoch=on_epoch, fast=path, resume=state,
                  on_saved_epoch=saver)
    wall = time.perf_counter() - start
    summary = {
        "backend": s.backend, "model": s.model, "cell": s.cell, "layers": s.layers,
        "fast": s.fast, "device": hparams["device"], "epochs": len(history["epoch"]),
        "dtype": s.dtype, "train_ppl": history["train_ppl"][-1],
        "val_ppl": history["val_ppl"][-1], "seconds": history["train_seconds"],
        "wall_seconds": wall, "tokens_per_s": history["tokens"] / history["train_seconds"],
        "samples": {p: lm.predict(p, num_preds, data.vocab, fast=chosen)
                    for p in SAMPLE_PREFIXES},
    }
    return RunResult(summary, lm, data, history, hparams, chosen)


def write_record(path, result):
    """The run's JSON record, as bench and compare read it (see d2lrnn.tools.bench): its
    summary, peak memory, machine, generation speed, settings and history."""
    import resource

    # ru_maxrss: the process's peak resident memory, in KiB on Linux (bytes on macOS)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak_mb = peak / 2**20 if sys.platform == "darwin" else peak / 2**10
    record = {**result.summary, "peak_mb": peak_mb, "machine": machine.describe(),
              "generate_chars_per_s": generation_speed(result.model, result.data.vocab,
                                                       result.fast_path),
              "settings": {**result.hparams, "corpus_sha1": result.data.sha1},
              "history": result.history}
    atomic_write(path, json.dumps(record).encode())


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


def generation_speed(lm, vocab, path=True, num_preds=1000, prefix=SAMPLE_PREFIXES[1]):
    """Greedy characters per second of ``lm.predict`` on the fast ``path`` (True: its own),
    after one warm-up call (compiling)."""
    lm.predict(prefix, 10, vocab, fast=path)
    start = time.perf_counter()
    lm.predict(prefix, num_preds, vocab, fast=path)
    return num_preds / (time.perf_counter() - start)
