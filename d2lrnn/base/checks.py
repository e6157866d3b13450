"""Checking what users pass in, before any work is done: one wording for every backend.

Each check names the argument (or the command-line option), says what was expected and what
came, and returns the value in a plain Python type. Nothing here imports a framework.
"""
import math
import numbers
import os

import numpy as np

from .errors import BadArgument


def _named(name, where):
    return f"{where}: {name}" if where else name


def whole(value, name, where=None, least=1):
    """``value`` as an int >= ``least`` (bools and non-integral numbers are refused)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise BadArgument(f"{_named(name, where)} must be a whole number >= {least}, got "
                          f"{value!r} ({type(value).__name__})")
    if value < least:
        raise BadArgument(f"{_named(name, where)} must be a whole number >= {least}, got "
                          f"{value}")
    return int(value)


def real(value, name, where=None, least=None, above=None, most=None):
    """``value`` as a finite float, >= ``least`` or > ``above``, and <= ``most``, where
    given."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise BadArgument(f"{_named(name, where)} must be a number, got {value!r} "
                          f"({type(value).__name__})")
    value = float(value)
    bound = (f" >= {least:g}" if least is not None else "") + \
        (f" > {above:g}" if above is not None else "") + \
        (f" and <= {most:g}" if most is not None else "")
    if not math.isfinite(value) or (least is not None and value < least) or (
            above is not None and value <= above) or (most is not None and value > most):
        raise BadArgument(f"{_named(name, where)} must be a finite number{bound}, got {value}")
    return value


def finite_arrays(arrays, where):
    """Raise unless every array of the mapping ``arrays`` (NumPy) holds finite values only."""
    bad = sorted(name for name, value in arrays.items()
                 if np.asarray(value).dtype.kind in "fc" and not np.isfinite(value).all())
    if bad:
        raise BadArgument(f"{where}: {', '.join(bad)} hold{'s' if len(bad) == 1 else ''} "
                          f"NaN or infinite values; parameters must be finite")


def path_text(text, option):
    """A path given as text: refused when empty or blank (an unset shell variable), which
    would otherwise mean the current folder."""
    if not str(text).strip():
        raise BadArgument(f"{option} got an empty path ({str(text)!r}); give a file or folder "
                          f"(an unset shell variable?)")
    return text


_KINDS = (("S_ISDIR", "a folder"), ("S_ISCHR", "a character device"),
          ("S_ISBLK", "a block device"), ("S_ISFIFO", "a named pipe (FIFO)"),
          ("S_ISSOCK", "a socket"))


def regular_file(path, what, limit_bytes=None, raise_limit="", error=BadArgument, advice=""):
    """The size of ``path`` in bytes, after making sure it is a regular file (not a folder,
    a device such as /dev/zero, or a pipe, which would be read without end or block) of at
    most ``limit_bytes``; ``raise_limit`` names the option that raises the limit. Raises
    ``error`` with a message naming ``what`` (and ending with ``advice``, where the fix is
    not to give another path: "move it away", say). Every file the package reads or hashes
    is checked here first."""
    import stat

    try:
        status = os.stat(path)
    except FileNotFoundError:
        raise error(f"no {what} at {path}") from None
    except OSError as err:
        raise error(f"the {what} {path} cannot be read ({err.strerror or err})") from None
    for test, kind in _KINDS:
        if getattr(stat, test)(status.st_mode):
            raise error(f"the {what} {path} is {kind}, not a regular file; expected a file"
                        + (f": {advice}" if advice else ""))
    if limit_bytes is not None and status.st_size > limit_bytes:
        raise error(f"the {what} {path} holds {status.st_size / 2**20:,.1f} MB, more than the "
                    f"{limit_bytes / 2**20:,.0f} MB read at most"
                    + (f"; raise the limit with {raise_limit}" if raise_limit else ""))
    return status.st_size


def writable_folder(path, option="--out", need_bytes=0):
    """Make sure ``path`` is (or can be made) a folder this process can write to, with
    ``need_bytes`` free on its disk, by writing and removing a probe file of a few KB (a
    full disk fails it); return it as a Path."""
    from pathlib import Path

    path = Path(path_text(path, option))
    if path.exists() and not path.is_dir():
        raise BadArgument(f"{option} {path}: is a file, not a folder; give a folder for the "
                          f"run's files")
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".d2lrnn-probe-{os.getpid()}"
        try:
            with open(probe, "wb") as f:
                f.write(bytes(4096))
                f.flush()
                os.fsync(f.fileno())
        finally:
            probe.unlink(missing_ok=True)
    except OSError as err:
        raise BadArgument(f"{option} {path}: cannot write there ({err.strerror or err}); give "
                          f"a folder you can write to, on a disk with free space") from None
    import shutil

    free = shutil.disk_usage(path).free
    if free < need_bytes:
        raise BadArgument(f"{option} {path}: {free / 2**20:,.1f} MB are free on its disk, and "
                          f"the run needs about {need_bytes / 2**20:,.1f} MB; free some space "
                          f"or choose a folder on another disk")
    return path


def available_memory():
    """Bytes of memory available to a new allocation now, or None where unknown."""
    try:
        import psutil
    except ImportError:
        return None
    return int(psutil.virtual_memory().available)


def address_space_left():
    """Bytes this process may still map under its address-space limit (``ulimit -v``, a
    container's RLIMIT_AS), or None where it has none (or this system cannot say)."""
    try:
        import resource

        import psutil
    except ImportError:
        return None
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return None
    return max(soft - psutil.Process().memory_info().vms, 0)


def training_memory(batch_size, num_steps, num_hiddens, vocab_size, corpus_bytes, dtype,
                    layers=1):
    """An estimate in bytes of what training a configuration needs at its peak: reading the
    corpus (its text, preprocessed, and its token ids: about 24 bytes per byte of the file;
    the windows are views of the ids), the parameters with their gradients, and the
    activations of one minibatch (one-hot inputs, hidden states, logits and their gradients,
    a few copies of each as autograd keeps them); an LSTM's four gates are within the
    factors, ``layers`` multiplies what each layer adds."""
    item = np.dtype(dtype).itemsize
    corpus = 24 * corpus_bytes
    params = 3 * (vocab_size * num_hiddens + layers * (2 * num_hiddens * num_hiddens
                                                        + num_hiddens)
                  + num_hiddens * vocab_size + vocab_size) * 4 * item
    activations = 6 * batch_size * num_steps * (2 * vocab_size + 2 * layers * num_hiddens
                                                ) * 4 * item
    return corpus + params + activations


def fits_in_memory(need, what, options):
    """Refuse a configuration whose estimated ``need`` (bytes) exceeds the memory available."""
    have = available_memory()
    if have is not None and need > have:
        raise BadArgument(f"{what} needs about {need / 2**30:.1f} GiB of memory, and "
                          f"{have / 2**30:.1f} GiB are available: lower {options}")


def printable(text, most=None):
    """``text`` safe to print into a terminal or a table: every character that is not
    printable (an escape sequence's ESC, a newline, a bell) written as its escape (``\\x1b``),
    so that text read from a file cannot move the cursor, recolour or clear the screen;
    cut to ``most`` characters (with "...") where given."""
    text = "".join(c if c.isprintable() else ascii(c)[1:-1] for c in str(text))
    return text if most is None or len(text) <= most else text[:most] + "..."
