"""Writing files so that an interrupted write never leaves a broken one, and what a write that
was killed midway leaves behind found again."""
import errno
import os
import re
import tempfile
from pathlib import Path

# The errors that mean the disk (or a quota, or a limit on a file's size) is full.
NO_SPACE = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def is_disk_full(err):
    """Whether the OSError ``err`` says there is no room to write."""
    return isinstance(err, OSError) and err.errno in NO_SPACE


def _temporary_prefix(path):
    return f".{Path(path).name}."


def atomic_write(path, data, make_folder=True):
    """Write bytes to a temporary file beside ``path``, then rename it over ``path``; the
    folder is made first unless ``make_folder`` is false (then it must exist)."""
    path = Path(path)
    if make_folder:
        path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=_temporary_prefix(path), dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def remove_temporaries(path):
    """Remove the temporary files that writes of ``path`` by :func:`atomic_write` left beside
    it when their process was killed (SIGKILL, a power cut); the names of their mkstemp only,
    never another file. Call it only where no other process writes ``path`` now (a run's
    lock held). Returns the names removed."""
    path = Path(path)
    # mkstemp's names: the prefix, then 8 characters of a-z, 0-9 and _
    ours = re.compile(re.escape(_temporary_prefix(path)) + "[a-z0-9_]{8}")
    removed = []
    for leftover in path.parent.iterdir():
        if ours.fullmatch(leftover.name) and leftover.is_file() and not leftover.is_symlink():
            leftover.unlink(missing_ok=True)
            removed.append(leftover.name)
    return removed
