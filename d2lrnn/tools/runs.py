"""A training run that writes into a folder: checked before any work, locked against a second
run, checkpointed after every epoch, resumable exactly, and never overwriting a run silently.

``d2lrnn train --out DIR`` and ``--resume DIR`` are :func:`train` with those arguments::

    from d2lrnn.tools.runs import train
    train("runs/torch", backend="torch", epochs=100)   # checkpoint after every epoch
    train("runs/torch", resume=True)                    # continue where it stopped
"""
import errno
import os
import warnings
from pathlib import Path

from ..base import checks
from ..base.backend import BACKENDS, check_float_dtype
from ..base.errors import UserError
from ..book.data import BOOK_BYTES, MAX_CORPUS_MB, CorpusError, read_corpus
from ..cells import CELLS
from ..training import checkpoint
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


class RunFolderLost(UserError, RuntimeError):
    """The run's folder was removed or replaced while the run trained."""


class DiskFull(UserError, RuntimeError):
    """A checkpoint could not be written for want of space; the previous one is kept."""

    def __init__(self, message, epoch):
        super().__init__(message)
        self.epoch = epoch  # the epoch whose checkpoint could not be written


class RunFolder:
    """The folder of a run, held under a lock for the run's whole life: a second run into
    the same folder is refused at once instead of corrupting the first, and a folder that
    disappears (or is replaced by another, with a lock of its own) stops the run instead of
    being made again beside whatever now writes there."""

    def __init__(self, path, need_bytes=0):
        self.path = checks.writable_folder(path, "--out", need_bytes)
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
        self._identity = self._where()
        return self

    def __exit__(self, *exc):
        self._lock.release()
        return False

    def _where(self):
        """(folder, lock file) as the file system knows them now, or None if gone."""
        try:
            folder, lock = os.stat(self.path), os.stat(self.path / LOCK)
        except OSError:
            return None
        return folder.st_dev, folder.st_ino, lock.st_ino

    def save(self, model, data, hparams, state):
        """The checkpoint of a completed epoch: parameters, vocabulary, settings, state."""
        if self._where() != self._identity:
            raise RunFolderLost(
                f"{self.path} was removed or replaced while this run trained (another run "
                f"may write there now): stopped after epoch {state['epoch']} without writing "
                f"its checkpoint anywhere")
        history = state["history"]
        try:
            checkpoint.save(self.checkpoint, model.get_params(), data.vocab,
                            {**hparams, "train_ppl": history["train_ppl"][-1],
                             "val_ppl": history["val_ppl"][-1]}, training=state,
                            make_folder=False)
        except OSError as err:
            if err.errno not in (errno.ENOSPC, errno.EDQUOT):
                raise
            kept = (f"{self.checkpoint} still holds {describe(self.checkpoint)}"
                    if self.checkpoint.exists() else "nothing was saved")
            raise DiskFull(f"the disk holding {self.path} is full ({err.strerror}): the "
                           f"checkpoint of epoch {state['epoch']} could not be written; "
                           f"{kept}. Free some space, then continue with: d2lrnn train "
                           f"--resume {self.path}", state["epoch"]) from None


def space_needed(settings):
    """Bytes a run's folder needs: its checkpoint twice (the new one is written beside the
    old before it replaces it) with the history it grows, the figure, a margin."""
    item = 8 if settings["dtype"] == "float64" else 4
    h, layers, vocab = settings["num_hiddens"], settings["layers"], 28
    gates = 4 if settings["cell"] == "lstm" else 3 if settings["cell"] == "gru" else 1
    params = gates * (vocab * h + layers * 2 * h * h) + h * vocab + vocab
    steps = settings["epochs"] * -(-settings["num_train"] // settings["batch_size"])
    return 2 * (params * item + 64 * 2**10 + 32 * steps) + 2**20

def describe(path):
    """A line about the checkpoint at ``path``: its epochs and perplexity."""
    try:
        found = checkpoint.read(path)
    except checkpoint.CheckpointError as err:
        return f"an unreadable checkpoint ({err})"
    hparams, state = found.hparams, found.training or {}
    done = state.get("epoch", hparams.get("epochs"))
    return (f"{describe_settings(hparams)}, {done} of {hparams.get('epochs')} epochs, "
            f"validation perplexity {hparams.get('val_ppl', float('nan')):.2f}")


def describe_settings(hparams):
    """'a torch scratch GRU run (32 hidden units x 2 layers, float32)' from a checkpoint's
    hyperparameters (validated: no text of a file's own reaches the terminal)."""
    layers = hparams.get("layers", 1)
    return (f"a {hparams.get('backend', 'numpy')} {hparams.get('model', 'scratch')} "
            f"{hparams.get('cell', 'rnn').upper()} run ({hparams['num_hiddens']} hidden units"
            f"{f' x {layers} layers' if layers > 1 else ''}, {hparams.get('dtype', 'float32')})")


def resume_settings(folder, epochs=None):
    """The settings, (parameters, training state) and saved hyperparameters to continue the
    run in ``folder`` (its checkpoint read once); ``epochs`` raises its target."""
    path = Path(folder) / CHECKPOINT
    found = checkpoint.read(path, resuming=True)
    if found.training is None:
        raise checkpoint.CheckpointError(f"{path} holds no training state to resume from")
    settings = {name: found.hparams[name] for name in DEFAULTS if name in found.hparams}
    if epochs is not None:
        settings["epochs"] = epochs
    if found.training["epoch"] >= settings["epochs"]:
        raise checks.BadArgument(f"the run in {folder} has trained all {settings['epochs']} "
                                 f"of its epochs; give a larger --epochs to train further, or "
                                 f"see its summary and figure with: d2lrnn report {folder}")
    return settings, (found.params, found.training), found.hparams


# Settings --resume may change besides --epochs: the step size (a diverged run continues from
# its last checkpoint with a lower --lr). The change is recorded in the run's hyperparameters.
RESUMABLE = ("lr", "clip")
# What a run records of how it computes: a resumed run that differs in these continues with a
# note, not byte-identically.
ENVIRONMENT = ("strategy", "threads", "versions", "device")


def resumed(out, settings, max_corpus_mb):
    """(settings, start, extra hyperparameters, on_start check) to continue the run in
    ``out``, after checking what ``settings`` asks against what the run was."""
    given = {k: v for k, v in settings.items() if k != "epochs"}
    if given.get("corpus") is not None:
        given["corpus"] = str(Path(given["corpus"]).resolve())
    saved, start, before = resume_settings(out, settings.get("epochs"))
    changed = sorted(option(k) for k, v in given.items()
                     if k not in RESUMABLE and saved.get(k, DEFAULTS[k]) != v)
    if changed:
        raise checks.BadArgument(f"--resume continues the run with its own settings; drop "
                                 f"{', '.join(changed)} (only --epochs, --lr and --clip may "
                                 f"change)")
    sha1 = before.get("corpus_sha1")
    if sha1 is not None and corpus_sha1(saved.get("corpus"), max_corpus_mb) != sha1:
        raise checks.BadArgument(f"the corpus of the run in {out} has changed since it "
                                 f"started; resuming would train on other text")
    epoch = start[1]["epoch"]
    rates = {k: given[k] for k in RESUMABLE if k in given
             and given[k] != saved.get(k, DEFAULTS[k])}
    changes = list(before.get("changes", []))
    if rates:
        changes.append({"epoch": epoch, **rates})
        warnings.warn(f"resuming at epoch {epoch + 1} with "
                      f"{', '.join(f'{option(k)} {v:g}' for k, v in rates.items())} (was "
                      f"{', '.join(f'{saved.get(k, DEFAULTS[k]):g}' for k in rates)}): "
                      f"recorded in the run's checkpoint", ResumeNote, stacklevel=3)
    segments = list(before.get("segments") or [
        {"epoch": 0, **{k: before[k] for k in ENVIRONMENT if k in before}}])

    def check_environment(hparams):
        now = {k: hparams[k] for k in ENVIRONMENT if k in hparams}
        differ = [f"{k} {segments[-1].get(k)!r} -> {now[k]!r}" for k in now
                  if k in segments[-1] and segments[-1][k] != now[k]]
        if differ:
            warnings.warn(f"resuming with another {'; '.join(differ)}: the run continues, "
                          f"but not to the bit of one that never stopped (both recorded)",
                          ResumeNote, stacklevel=2)
        segments.append({"epoch": epoch, **now})

    return {**saved, **rates}, start, {"changes": changes, "segments": segments}, \
        check_environment


class ResumeNote(UserWarning):
    """A resumed run differs from how it began: a changed rate, threads, versions."""


def train(out=None, *, overwrite=False, resume=False, on_step=None, on_epoch=None,
          num_preds=50, device="auto", on_start=None, max_corpus_mb=MAX_CORPUS_MB,
          **settings):
    """Train with ``settings`` (see :data:`DEFAULTS`) on ``device``, writing a checkpoint
    into ``out`` after every epoch. An ``out`` that holds a checkpoint is refused unless
    ``overwrite`` (start again) or ``resume`` (continue it; then the run's own settings are
    used, and only ``epochs`` may be given, to train further; the device may be another).
    Returns what :func:`~d2lrnn.tools.experiment.train_run` returns."""
    if overwrite and resume:
        raise checks.BadArgument("--overwrite starts the run again and --resume continues "
                                 "it: give one of them")
    if resume and out is None:
        raise checks.BadArgument("--resume needs the run's folder")
    start, extra = None, {}
    if resume:
        settings, start, extra, check_environment = resumed(out, settings, max_corpus_mb)
        given_start = on_start

        def on_start(hparams):
            check_environment(hparams)
            if given_start:
                given_start(hparams)
    settings = check_settings(settings)
    check_memory(settings, max_corpus_mb)
    if out is None:
        return train_run(**settings, on_step=on_step, on_epoch=on_epoch, num_preds=num_preds,
                         device=device, on_start=on_start, max_corpus_mb=max_corpus_mb)
    folder = RunFolder(out, space_needed(settings))
    with folder:
        if folder.checkpoint.exists() and not (overwrite or resume):
            raise checks.BadArgument(
                f"{folder.path} holds {describe(folder.checkpoint)} already; nothing was "
                f"changed. Continue it with --resume {folder.path}, replace it with "
                f"--overwrite, or choose another --out folder")
        return train_run(**settings, on_step=on_step, on_epoch=on_epoch, resume=start,
                         on_saved_epoch=folder.save, num_preds=num_preds, device=device,
                         on_start=on_start, max_corpus_mb=max_corpus_mb, extra_hparams=extra)


def corpus_sha1(corpus, max_corpus_mb=MAX_CORPUS_MB):
    """The SHA-1 of the text a run trains on (as TimeMachine records it)."""
    import hashlib

    return hashlib.sha1(read_corpus(corpus, max_corpus_mb).encode("utf-8")).hexdigest()
