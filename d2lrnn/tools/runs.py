"""A training run that writes into a folder: checked before any work, locked against a second
run, checkpointed after every epoch, resumable exactly, and never overwriting a run silently.

``d2lrnn train --out DIR`` and ``--resume DIR`` are :func:`train` with those arguments::

    from d2lrnn.tools.runs import train
    train("runs/torch", backend="torch", epochs=100)   # checkpoint after every epoch
    train("runs/torch", resume=True)                    # continue where it stopped

``d2lrnn translate train`` is :func:`train_translator`, in the same kind of folder.
"""
import math
import os
import warnings
from pathlib import Path

from ..base import checks
from ..base.errors import BadArgument, UserError
from ..base.files import is_disk_full, remove_temporaries
from ..book.data import BOOK_BYTES, MAX_CORPUS_MB, CorpusError, read_corpus
from ..training import checkpoint
from ..training.settings import (
    FIELDS,
    TRANSLATION_FIELDS,
    Settings,
    TranslationSettings,
    check,
    option,
)
from .experiment import train_run, translation_run

CHECKPOINT = f"checkpoint{checkpoint.EXTENSION}"
FIGURE = "perplexity.png"
LOCK = ".d2lrnn.lock"


def check_memory(s, max_corpus_mb=MAX_CORPUS_MB):
    """Refuse settings ``s`` that cannot fit in the memory available, before any work: the
    corpus counted by its real size (a file given is checked first: a regular file within
    the size limit)."""
    if s.corpus is None:
        corpus_bytes = BOOK_BYTES
    else:
        corpus_bytes = checks.regular_file(s.corpus, "corpus file", max_corpus_mb * 2**20,
                                           "--max-corpus-mb", CorpusError)
    vocab_size = 28  # letters, the space and <unk>: what the book's preprocessing leaves
    batch = min(s.batch_size, max(corpus_bytes, 1))
    need = checks.training_memory(batch, s.num_steps, s.num_hiddens, vocab_size,
                                  corpus_bytes, s.dtype, layers=s.layers)
    checks.fits_in_memory(need, f"training with --batch-size {s.batch_size}, --num-steps "
                                f"{s.num_steps}, --hiddens {s.num_hiddens}"
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
    being made again beside whatever now writes there. Taking the lock removes what writes
    killed midway left (temporary checkpoints); a run that saves nothing (refused, failed or
    stopped before its first epoch ended) removes what it made: the lock file, the folders."""

    def __init__(self, path, need_bytes=0):
        self.made = _missing_folders(Path(checks.path_text(path, "--out")))
        try:
            self.path = checks.writable_folder(path, "--out", need_bytes)
        except BaseException:
            _remove_empty(self.made)
            raise
        self.checkpoint = self.path / CHECKPOINT
        self.saved = False

    def __enter__(self):
        from filelock import FileLock, Timeout

        lock = self.path / LOCK
        self._made_lock = not lock.exists()
        self._lock = FileLock(str(lock))
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            _remove_empty(self.made)
            raise BadArgument(
                f"another d2lrnn train is writing into {self.path} now (it holds "
                f"{lock}); wait for it to end, or choose another --out") from None
        self._identity = self._where()
        for target in (CHECKPOINT, FIGURE):  # no other process writes them while we hold it
            remove_temporaries(self.path / target)
        return self

    def __exit__(self, *exc):
        if not self.saved and self._made_lock and self._where() == self._identity:
            (self.path / LOCK).unlink(missing_ok=True)  # before the release: no one waits
        self._lock.release()
        if not self.saved:
            _remove_empty(self.made)
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
        history = state["history"]
        self.write(state["epoch"], lambda: checkpoint.save(
            self.checkpoint, model.get_params(), data.vocab,
            {**hparams, "train_ppl": history["train_ppl"][-1],
             "val_ppl": history["val_ppl"][-1]}, training=state, make_folder=False))

    def write(self, epoch, save, command="d2lrnn train", describe=lambda path: describe(path)):
        """The checkpoint of epoch ``epoch``, written by ``save()`` into this folder while it
        is still this run's; a full disk keeps the one before (a :class:`DiskFull` naming
        ``command``'s way to continue, and what the kept file holds by ``describe``)."""
        if self._where() != self._identity:
            raise RunFolderLost(
                f"{self.path} was removed or replaced while this run trained (another run "
                f"may write there now): stopped after epoch {epoch} without writing "
                f"its checkpoint anywhere")
        try:
            save()
            self.saved = True
        except OSError as err:
            if not is_disk_full(err):
                raise
            kept = (f"{self.checkpoint} still holds {describe(self.checkpoint)}"
                    if self.checkpoint.exists() else "nothing was saved")
            raise DiskFull(f"the disk holding {self.path} is full ({err.strerror}): the "
                           f"checkpoint of epoch {epoch} could not be written; "
                           f"{kept}. Free some space, then continue with: {command} "
                           f"--resume {self.path}", epoch) from None


def _missing_folders(path):
    """The folders that making ``path`` would create, deepest first."""
    missing = []
    for folder in (path, *path.parents):
        if os.path.lexists(folder):
            break
        missing.append(folder)
    return missing


def _remove_empty(folders):
    """Remove the folders (deepest first) that are still empty: never one that holds anything."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:  # not empty (or gone already): it is not ours to remove
            return


def space_needed(s):
    """Bytes a run's folder needs for settings ``s``: its checkpoint twice (the new one is
    written beside the old before it replaces it) with the history it grows, the figure, a
    margin."""
    item = 8 if s.dtype == "float64" else 4
    shapes = checkpoint.expected_shapes(s.as_dict(), 28)  # the book's vocabulary
    params = sum(math.prod(shape) for shape in shapes.values())
    steps = s.epochs * -(-s.num_train // s.batch_size)
    return 2 * (params * item + 64 * 2**10 + 32 * steps) + 2**20


def describe(path):
    """A line about the checkpoint at ``path``: its epochs and perplexity."""
    try:
        found = checkpoint.read(path)
    except checkpoint.CheckpointError as err:
        return f"an unreadable checkpoint ({err})"
    return (f"{describe_settings(found.hparams)}, {epochs_trained(found)}, validation "
            f"perplexity {found.hparams.get('val_ppl', float('nan')):.2f}")


def epochs_trained(found):
    """'3 of 100 epochs' from a checkpoint's training state; where it has none, or a damaged
    one, how far the run trained is unknown (never guessed from the epochs it planned)."""
    planned = found.hparams.get("epochs")
    of = f" of {planned}" if planned else ""
    if found.training is not None:
        return f"{found.training['epoch']}{of} epochs"
    why = (f"its training state {found.training_problem}" if found.training_problem
           else "it records no training state")
    return f"an unknown number{of} epochs ({why})"


def is_finished(found):
    """Whether the checkpoint's training state says that every planned epoch was trained."""
    return found.training is not None and found.training["epoch"] == found.hparams.get("epochs")


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
    saved = Settings.of(found.hparams)
    if epochs is not None:
        saved = saved.replace(epochs=epochs)
    if found.training["epoch"] >= saved.epochs:
        raise BadArgument(f"the run in {folder} has trained all {saved.epochs} of its "
                          f"epochs; give a larger --epochs to train further, or see its "
                          f"summary and figure with: d2lrnn report {folder}")
    return saved, (found.params, found.training), found.hparams


# What a run records of how it computes: a resumed run that differs in these continues with a
# note, not byte-identically.
ENVIRONMENT = ("strategy", "threads", "versions", "device")


def resumed(out, given, max_corpus_mb):
    """(settings, start, extra hyperparameters, on_start check) to continue the run in
    ``out``, after checking what ``given`` ({setting: value}) asks against what the run was:
    --epochs raises its target; the settings marked resumable (--lr, --clip: a diverged run
    continues from its last checkpoint with a smaller step) change, recorded; no other."""
    given = {k: check(FIELDS[k], v) for k, v in given.items() if k in FIELDS}
    if given.get("corpus") is not None:
        given["corpus"] = str(Path(given["corpus"]).resolve())
    saved, start, before = resume_settings(out, given.get("epochs"))
    changed = sorted(option(k) for k, v in given.items() if k != "epochs"
                     and not FIELDS[k].metadata["resumable"] and getattr(saved, k) != v)
    if changed:
        raise BadArgument(f"--resume continues the run with its own settings; drop "
                          f"{', '.join(changed)} (only --epochs, --lr and --clip may change)")
    sha1 = before.get("corpus_sha1")
    if sha1 is not None and corpus_sha1(saved.corpus, max_corpus_mb) != sha1:
        raise BadArgument(f"the corpus of the run in {out} has changed since it started; "
                          f"resuming would train on other text")
    epoch = start[1]["epoch"]
    rates = {k: v for k, v in given.items()
             if FIELDS[k].metadata["resumable"] and getattr(saved, k) != v}
    changes = list(before.get("changes", []))
    if rates:
        changes.append({"epoch": epoch, **rates})
        warnings.warn(f"resuming at epoch {epoch + 1} with "
                      f"{', '.join(f'{option(k)} {v:g}' for k, v in rates.items())} (was "
                      f"{', '.join(f'{getattr(saved, k):g}' for k in rates)}): recorded in "
                      f"the run's checkpoint", ResumeNote, stacklevel=3)
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

    return saved.replace(**rates), start, {"changes": changes, "segments": segments}, \
        check_environment


class ResumeNote(UserWarning):
    """A resumed run differs from how it began: a changed rate, threads, versions."""


def check_start(out, overwrite, resume):
    """Refuse a run both started again and continued, or continued without its folder."""
    if overwrite and resume:
        raise BadArgument("--overwrite starts the run again and --resume continues it: give "
                          "one of them")
    if resume and out is None:
        raise BadArgument("--resume needs the run's folder")


def train(out=None, *, overwrite=False, resume=False, on_step=None, on_epoch=None,
          num_preds=50, device="auto", on_start=None, max_corpus_mb=MAX_CORPUS_MB,
          **settings):
    """Train with ``settings`` (names and defaults: :class:`~d2lrnn.training.settings.Settings`)
    on ``device``, writing a checkpoint into ``out`` after every epoch. An ``out`` that holds
    a checkpoint is refused unless ``overwrite`` (start again) or ``resume`` (continue it;
    then the run's own settings are used: ``epochs`` may raise its target, ``lr`` and
    ``clip`` may change; the device may be another). Returns a
    :class:`~d2lrnn.tools.experiment.RunResult`."""
    check_start(out, overwrite, resume)
    start, extra = None, {}
    if resume:
        s, start, extra, check_environment = resumed(out, settings, max_corpus_mb)
        given_start = on_start

        def on_start(hparams, first_epoch):
            check_environment(hparams)
            if given_start:
                given_start(hparams, first_epoch)
    else:
        s = Settings().replace(**settings)
    check_memory(s, max_corpus_mb)
    run = dict(device=device, max_corpus_mb=max_corpus_mb, num_preds=num_preds,
               on_step=on_step, on_epoch=on_epoch, on_start=on_start)
    if out is None:
        return train_run(s, **run)
    folder = RunFolder(out, space_needed(s))
    with folder:
        if folder.checkpoint.exists() and not (overwrite or resume):
            raise BadArgument(f"{folder.path} holds {describe(folder.checkpoint)} already; "
                              f"nothing was changed. Continue it with --resume {folder.path}, "
                              f"replace it with --overwrite, or choose another --out folder")
        return train_run(s, **run, resume=start, on_saved_epoch=folder.save,
                         extra_hparams=extra)


def corpus_sha1(corpus, max_corpus_mb=MAX_CORPUS_MB):
    """The SHA-1 of the text a run trains on (as TimeMachine records it)."""
    import hashlib

    return hashlib.sha1(read_corpus(corpus, max_corpus_mb).encode("utf-8")).hexdigest()


# -- the translator's run (d2lrnn translate train) ------------------------------------------

TRANSLATE_FIGURE = "loss.png"


def train_translator(out=None, *, overwrite=False, resume=False, beam=3, device="auto",
                     on_start=None, on_step=None, on_epoch=None, max_corpus_mb=MAX_CORPUS_MB,
                     **settings):
    """Train a translator with ``settings`` (names and defaults:
    :class:`~d2lrnn.training.settings.TranslationSettings`), its checkpoint written into
    ``out`` after every epoch, as :func:`train` does for the language model: the same run
    folder (locked, never overwritten unless ``overwrite``), ``resume`` continuing the run
    with its own settings (``epochs`` may rise, ``lr`` and ``clip`` change). A
    :class:`~d2lrnn.tools.experiment.RunResult`."""
    check_start(out, overwrite, resume)
    start, changes = None, []
    if resume:
        start = checkpoint.read_translator(Path(out) / CHECKPOINT)
        s = TranslationSettings.of(start.hparams)
        given = {k: check(TRANSLATION_FIELDS[k], v) for k, v in settings.items()}
        changed = sorted(option(k, TRANSLATION_FIELDS) for k, v in given.items()
                         if k != "epochs" and not TRANSLATION_FIELDS[k].metadata["resumable"]
                         and getattr(s, k) != v)
        if changed:
            raise BadArgument(f"--resume continues the run with its own settings; drop "
                              f"{', '.join(changed)} (only --epochs, --lr and --clip may "
                              f"change)")
        s = s.replace(**{k: v for k, v in given.items() if k not in ("backend",)})
        if start.training["epoch"] >= s.epochs:
            raise BadArgument(f"the run in {out} has trained all {s.epochs} of its epochs; "
                              f"give a larger --epochs to train further")
        changes = list(start.hparams.get("changes", [])) + [
            {"epoch": start.training["epoch"], **{k: v for k, v in given.items()
                                                   if v != start.hparams.get(k)}}]
    else:
        s = TranslationSettings().replace(**settings)
        if s.corpus is not None:  # by its absolute path: a resumed run may start elsewhere
            s = s.replace(corpus=str(Path(s.corpus).resolve()))
    run = dict(beam=beam, device=device, max_corpus_mb=max_corpus_mb, on_step=on_step,
               on_epoch=on_epoch, on_start=on_start, resume=start)
    if out is None:
        return translation_run(s, **run)
    folder = RunFolder(out)
    with folder:
        if folder.checkpoint.exists() and not (overwrite or resume):
            raise BadArgument(f"{folder.path} holds a run already; nothing was changed. "
                              f"Continue it with --resume {folder.path}, replace it with "
                              f"--overwrite, or choose another --out folder")

        def save(params, adam, training, tokens, hparams):
            folder.write(training["epoch"], lambda: checkpoint.save_translator(
                folder.checkpoint, params, *tokens, hparams, adam, training,
                make_folder=False), "d2lrnn translate train",
                lambda path: "the run's previous epoch")

        return translation_run(s, **run, on_saved_epoch=save,
                               extra_hparams={"changes": changes} if changes else None)
