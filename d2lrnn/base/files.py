"""Writing files so that an interrupted write never leaves a broken one."""
import os
import tempfile
from pathlib import Path


def atomic_write(path, data, make_folder=True):
    """Write bytes to a temporary file beside ``path``, then rename it over ``path``; the
    folder is made first unless ``make_folder`` is false (then it must exist)."""
    path = Path(path)
    if make_folder:
        path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
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
