"""A training run that writes into a folder: checked before any work, locked against a second
run, checkpointed after every epoch, resumable exactly, and never overwriting a run silently.

``d2lrnn train --out DIR`` and ``--resume DIR`` are :func:`train` with those arguments::

    from d2lrnn.runs import train
    train("runs/torch", backend="torch", epochs=100)   # checkpoint after every epoch
    train("runs/torch", resume=True)                    # continue where it stopped
"""
from pathlib import Path

from . import checkpoint, checks
from .backend import BACKENDS, check_float_dtype
from .cells import CELLS
from .data import BOOK_BYTES, MAX_CORPUS_MB, CorpusError, read_corpus
from .experiment import BOOK, MODELS, train_run

CHECKPOINT = f"checkpoint{checkpoint.EXTENSION}"
LOCK = ".d2lrnn.lock"

# What defines a run, with the book's defaults; a checkpoint keeps them all.
DEFAULTS = {"backend": "numpy", "model": "scratch", "cell": "rnn", "layers": 1,
            "epochs": BOOK["epochs"],
            "batch_size": BOOK["batch_size"], "num_steps": BOOK["num_steps"],
            "num_hiddens": BOOK["num_hiddens"], "lr": BOOK["lr"], "clip": BOOK["clip"],
            "seed": 0, "corpus": None, "dtype": "float32", "whole_book": False,
            "num_train": BOOK["num_train"], "num_val": BOOK["num_val"], "fast": True}
# The command-line option of each setting, for messages.
OPTION = {"num_hiddens": "--hiddens", "model": "--model", "fast": "--plain / --fast"}


def option(name):
    return OPTION.get(name, "--" + name.replace("_", "-"))


def check_settings(settings):
    """The settings of a run, complete and checked; the messages name the options."""
    unknown = sorted(set(settings) - set(DEFAULTS))
    if unknown:
        raise checks.BadArgument(f"unknown training settings {unknown}; the settings are "
                                 f"{sorted(DEFAULTS)}")
    s = {**DEFAULTS, **settings}
    if s["backend"] not in BACKENDS:
        raise checks.BadArgument(f"--backend must be one of {', '.join(BACKENDS)}, got "
                                 f"{s['backend']!r}")
    if s["model"] not in MODELS:
        raise checks.BadArgument(f"--model must be one of {', '.join(MODELS)}, got "
                                 f"{s['model']!r}")
    if s["cell"] not in CELLS:
        raise checks.BadArgument(f"--cell must be one of {', '.join(CELLS)}, got "
                                 f"{s['cell']!r}")
    s["layers"] = checks.whole(s["layers"], "--layers")
    if s["layers"] > 1 and s["cell"] == "rnn" and s["model"] == "concise":
        raise checks.BadArgument("--layers > 1 needs --model scratch (the book's "
                                 "StackedRNNScratch) or a concise --cell gru / lstm (the book "
                                 "library's GRU(num_layers=...)): the book's concise RNN is "
                                 "one layer")
    if s["layers"] > 1:
        s["fast"] = False  # the fast path covers one layer; deeper models run the plain one
    for name in ("epochs", "batch_size", "num_steps", "num_hiddens", "num_train"):
        s[name] = checks.whole(s[name], option(name))
    s["num_val"] = checks.whole(s["num_val"], option("num_val"), least=0)
    s["seed"] = checks.whole(s["seed"], "--seed", least=0)
    s["lr"] = checks.real(s["lr"], "--lr", above=0)
    s["clip"] = checks.real(s["clip"], "--clip", least=0)
    s["dtype"] = check_float_dtype(s["dtype"])
    return s


def check_memory(s, max_corpus_mb=MAX_CORPUS_MB):
    """Refuse a configuration that cannot fit in the memory available, before any work: the
    corpus counted by its real size (a file given is checked first: a regular file within
    the size limit)."""
    if s["corpus"] is None:
        corpus_bytes = BOOK_BYTES
    else:
        corpus_bytes = checks.regular_file(s["corpus"], "corpus file", max_corpus_mb * 2**20,
                                           "--max-corpus-mb", CorpusError)
    vocab_size = 28  # letters, the space and <unk>: what the book's preprocessing leaves
    batch = min(s["batch_size"], max(corpus_bytes, 1))
    need = checks.training_memory(batch, s["num_steps"], s["num_hiddens"], vocab_size,
                                  corpus_bytes, s["dtype"], layers=s["layers"])
    checks.fits_in_memory(need, f"training with --batch-size {s['batch_size']}, --num-steps "
                                f"{s['num_steps']}, --hiddens {s['num_hiddens']}"
                                + (f" on a {corpus_bytes / 2**20:,.0f} MB corpus"
                                   if corpus_bytes > 2**26 else ""),
                          "--batch-size, --num-steps, --hiddens, or the corpus")


class RunFolder:
    """The folder of a run, held under a lock while training writes into it: a second run
    into the same folder is refused at once instead of corrupting the first."""

    def __init__(self, path):
        self.path = checks.writable_folder(path, "--out")
        self.checkpoint = self.path / CHECKPOINT

    def __enter__(self):
        from filelock import FileLock, Timeout

        self._lock = FileLock(str(self.path / LOCK))
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            raise checks.BadArgument(
                f"another d2lrnn train is writing into {self.path} now (it holds "
                f"{self.path / LOCK}); wait for it to end, or choose another --out") from None
        return self

    def __exit__(self, *exc):
        self._lock.release()
        return False

    def save(self, model, data, hparams, state):
        """The checkpoint of a completed epoch: parameters, vocabulary, settings, state."""
        history = state["history"]
        checkpoint.save(self.checkpoint, model.get_params(), data.vocab,
                        {**hparams, "train_ppl": history["train_ppl"][-1],
                         "val_ppl": history["val_ppl"][-1]}, training=state)


def describe(path):
    """A line about the checkpoint at ``path``: its epochs and perplexity."""
    try:
        _, _, hparams = checkpoint.load(path)
        state = checkpoint.load_training(path) or {}
    except checkpoint.CheckpointError as err:
        return f"an unreadable checkpoint ({err})"
    done = state.get("epoch", hparams.get("epochs"))
    return (f"a {hparams.get('backend')} {hparams.get('model')} run, {done} of "
            f"{hparams.get('epochs')} epochs, validation perplexity "
            f"{hparams.get('val_ppl', float('nan')):.2f}")


def resume_settings(folder, epochs=None):
    """The settings, parameters and training state to continue the run in ``folder``;
    ``epochs`` raises its target number of epochs."""
    path = Path(folder) / CHECKPOINT
    params, _, hparams = checkpoint.load(path)
    state = checkpoint.load_training(path)
    if state is None:
        raise checkpoint.CheckpointError(f"{path} holds no training state to resume from")
    settings = {name: hparams[name] for name in DEFAULTS if name in hparams}
    if epochs is not None:
        settings["epochs"] = epochs
    if state["epoch"] >= settings["epochs"]:
        raise checks.BadArgument(f"the run in {folder} has trained all {settings['epochs']} "
                                 f"of its epochs; give a larger --epochs to train further")
    return settings, (params, state), hparams.get("corpus_sha1")


def train(out=None, *, overwrite=False, resume=False, on_step=None, on_epoch=None,
          num_preds=50, device="auto", on_start=None, max_corpus_mb=MAX_CORPUS_MB,
          **settings):
    """Train with ``settings`` (see :data:`DEFAULTS`) on ``device``, writing a checkpoint
    into ``out`` after every epoch. An ``out`` that holds a checkpoint is refused unless
    ``overwrite`` (start again) or ``resume`` (continue it; then the run's own settings are
    used, and only ``epochs`` may be given, to train further; the device may be another).
    Returns what :func:`~d2lrnn.experiment.train_run` returns."""
    if overwrite and resume:
        raise checks.BadArgument("--overwrite starts the run again and --resume continues "
                                 "it: give one of them")
    if resume and out is None:
        raise checks.BadArgument("--resume needs the run's folder")
    start, sha1 = None, None
    if resume:
        given = {k: v for k, v in settings.items() if k != "epochs"}
        saved, start, sha1 = resume_settings(out, settings.get("epochs"))
        changed = sorted(option(k) for k, v in given.items() if saved.get(k, DEFAULTS[k]) != v)
        if changed:
            raise checks.BadArgument(f"--resume continues the run with its own settings; "
                                     f"drop {', '.join(changed)} (only --epochs may change)")
        settings = saved
        if sha1 is not None and corpus_sha1(settings.get("corpus"), max_corpus_mb) != sha1:
            raise checks.BadArgument(f"the corpus of the run in {out} has changed since it "
                                     f"started; resuming would train on other text")
    settings = check_settings(settings)
    check_memory(settings, max_corpus_mb)
    if out is None:
        return train_run(**settings, on_step=on_step, on_epoch=on_epoch, num_preds=num_preds,
                         device=device, on_start=on_start, max_corpus_mb=max_corpus_mb)
    folder = RunFolder(out)
    with folder:
        if folder.checkpoint.exists() and not (overwrite or resume):
            raise checks.BadArgument(
                f"{folder.path} holds {describe(folder.checkpoint)} already; nothing was "
                f"changed. Continue it with --resume {folder.path}, replace it with "
                f"--overwrite, or choose another --out folder")
        return train_run(**settings, on_step=on_step, on_epoch=on_epoch, resume=start,
                         on_saved_epoch=folder.save, num_preds=num_preds, device=device,
                         on_start=on_start, max_corpus_mb=max_corpus_mb)


def corpus_sha1(corpus, max_corpus_mb=MAX_CORPUS_MB):
    """The SHA-1 of the text a run trains on (as TimeMachine records it)."""
    import hashlib

    return hashlib.sha1(read_corpus(corpus, max_corpus_mb).encode("utf-8")).hexdigest()
