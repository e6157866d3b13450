"""Checking what users pass in, before any work is done: one wording for every backend.

Each check names the argument (or the command-line option), says what was expected and what
came, and returns the value in a plain Python type. Nothing here imports a framework.
"""
import math
import numbers
import os

import numpy as np


class BadArgument(ValueError):
    """An argument outside what a function or command accepts."""


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


def real(value, name, where=None, least=None, above=None):
    """``value`` as a finite float, >= ``least`` or > ``above`` where given."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise BadArgument(f"{_named(name, where)} must be a number, got {value!r} "
                          f"({type(value).__name__})")
    value = float(value)
    bound = (f" >= {least:g}" if least is not None else "") + \
        (f" > {above:g}" if above is not None else "")
    if not math.isfinite(value) or (least is not None and value < least) or (
            above is not None and value <= above):
        raise BadArgument(f"{_named(name, where)} must be a finite number{bound}, got {value}")
    return value


def finite_arrays(arrays, where):
    """Raise unless every array of the mapping ``arrays`` (NumPy) holds finite values only."""
    bad = sorted(name for name, value in arrays.items()
                 if np.asarray(value).dtype.kind in "fc" and not np.isfinite(value).all())
    if bad:
        raise BadArgument(f"{where}: {', '.join(bad)} hold{'s' if len(bad) == 1 else ''} "
                          f"NaN or infinite values; parameters must be finite")


def writable_folder(path, option="--out"):
    """Make sure ``path`` is (or can be made) a folder this process can write to, by writing
    and removing a probe file; return it as a Path."""
    from pathlib import Path

    path = Path(path)
    if path.exists() and not path.is_dir():
        raise BadArgument(f"{option} {path}: is a file, not a folder; give a folder for the "
                          f"run's files")
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".d2lrnn-probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise BadArgument(f"{option} {path}: cannot write there ({err.strerror or err}); give "
                          f"a folder you can write to") from None
    return path


def available_memory():
    """Bytes of memory available to a new allocation now, or None where unknown."""
    try:
        import psutil
    except ImportError:
        return None
    return int(psutil.virtual_memory().available)


def training_memory(batch_size, num_steps, num_hiddens, vocab_size, num_windows, dtype,
                    layers=1):
    """An estimate in bytes of what training a configuration needs at its peak: the corpus
    windows (int64 inputs and targets), the parameters with their gradients, and the
    activations of one minibatch (one-hot inputs, hidden states, logits and their
    gradients, a few copies of each as autograd keeps them); an LSTM's four gates are
    within the factors, ``layers`` multiplies what each layer adds."""
    item = np.dtype(dtype).itemsize
    windows = 2 * num_windows * num_steps * 8
    params = 3 * (vocab_size * num_hiddens + layers * (2 * num_hiddens * num_hiddens
                                                        + num_hiddens)
                  + num_hiddens * vocab_size + vocab_size) * 4 * item
    activations = 6 * batch_size * num_steps * (2 * vocab_size + 2 * layers * num_hiddens
                                                ) * 4 * item
    return windows + params + activations


def fits_in_memory(need, what, options):
    """Refuse a configuration whose estimated ``need`` (bytes) exceeds the memory available."""
    have = available_memory()
    if have is not None and need > have:
        raise BadArgument(f"{what} needs about {need / 2**30:.1f} GiB of memory, and "
                          f"{have / 2**30:.1f} GiB are available: lower {options}")
