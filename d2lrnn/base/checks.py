"""Checking what users pass in, before any work is done: one wording for every backend.

Each rule (:class:`Rule`: a whole number, a real, a choice, a device, a path) is written once
here; a check names the argument (or the command-line option), says what was expected and
what came, and returns the value in a plain Python type. Nothing here imports a framework.
"""
import math
import numbers
import os

import numpy as np

from .backend import DEVICE_KINDS
from .errors import BadArgument, did_you_mean, not_one_of


def _named(name, where):
    return f"{where}: {name}" if where else name


class Rule:
    """What a value must be, written once: whether a value keeps it (:meth:`holds`), the
    rule in words (``words``: "a whole number >= 1"), the value as the rule takes it
    (:meth:`take`: a plain Python type), and the text of a command-line option read as such
    a value (:meth:`parse`). :meth:`check` names what breaks it in one sentence. The Python
    API, the settings of a run, the command line's options and the checks of a file read
    (a checkpoint, run records) all ask these rules."""

    words = "a value"
    kind = "value"  # what argparse calls it

    def __init__(self, words=None):
        if words is not None:
            self.words = words

    def holds(self, value):
        return True

    def take(self, value):
        return value

    def parse(self, text):
        """A command-line option's ``text`` as the value to check (the text itself where it
        is not one: the check then refuses it, in the rule's words)."""
        return text

    def refusal(self, value):
        """Why ``value`` breaks the rule, as a phrase: "must be ..., got ..."."""
        return f"must be {self.words}, got {_shown(value)}"

    def check(self, value, name, where=None):
        """``value`` as the rule takes it, or a :class:`BadArgument` naming ``name`` (and
        ``where``: the function or file it belongs to)."""
        if not self.holds(value):
            raise BadArgument(f"{_named(name, where)} {self.refusal(value)}")
        return self.take(value)


def _shown(value):
    """A refused value in a message, with its type where the type is what is wrong."""
    if isinstance(value, (int, float, str)) and not isinstance(value, bool):
        return repr(value)
    return f"{value!r} ({type(value).__name__})"


class _Number(Rule):
    """A number of the abstract type ``accepts`` (bools refused), taken as ``python``'s."""

    accepts, python = numbers.Number, float

    def holds(self, value):
        return isinstance(value, self.accepts) and not isinstance(value, (bool, np.bool_))

    def take(self, value):
        return self.python(value)

    def parse(self, text):
        try:
            return self.python(text)
        except ValueError:
            return text


class Whole(_Number):
    """A whole number >= ``least`` (and <= ``most``, where given); bools and non-integral
    numbers are refused."""

    kind, accepts, python = "whole number", numbers.Integral, int

    def __init__(self, least=1, most=None, words=None):
        self.least, self.most = least, most
        super().__init__(words or "a whole number " + (
            f">= {least}" if most is None else f"from {least} to {most}"))

    def holds(self, value):
        return super().holds(value) and self.least <= value and (
            self.most is None or value <= self.most)


class Real(_Number):
    """A finite number, >= ``least`` or > ``above``, and <= ``most``, where given."""

    kind, accepts, python = "number", numbers.Real, float

    def __init__(self, least=None, above=None, most=None, words=None):
        self.least, self.above, self.most = least, above, most
        bounds = [f">= {least:g}" if least is not None else "",
                  f"> {above:g}" if above is not None else "",
                  f"<= {most:g}" if most is not None else ""]
        super().__init__(words or " ".join(["a finite number", " and ".join(
            b for b in bounds if b)]).strip())

    def holds(self, value):
        return super().holds(value) and math.isfinite(value) and (
            self.least is None or value >= self.least) and (
            self.above is None or value > self.above) and (
            self.most is None or value <= self.most)


class OneOf(Rule):
    """One of ``choices`` (a near miss is named: did you mean 'torch'?)."""

    def __init__(self, choices):
        self.choices = tuple(choices)
        super().__init__(f"one of {', '.join(map(str, self.choices))}")

    def holds(self, value):
        return value in self.choices

    def refusal(self, value):
        return not_one_of("", value, self.choices).lstrip()


class Flag(Rule):
    """True or false (and nothing else that Python would take for one)."""

    words = "true or false"

    def holds(self, value):
        return isinstance(value, bool)


class Text(Rule):
    """Text (``printable``: without control characters, a terminal's escapes among them),
    which ``words`` says what it is."""

    def __init__(self, words="text", printable=False):
        self.printable = printable
        super().__init__(words)

    def holds(self, value):
        return isinstance(value, str) and (not self.printable or value.isprintable())


class PathText(Rule):
    """A path given as text: refused when empty or blank (an unset shell variable), which
    would otherwise mean the current folder."""

    words, kind = "a path", "path"

    def holds(self, value):
        return isinstance(value, (str, os.PathLike)) and bool(str(value).strip())

    def take(self, value):
        return str(value)

    def refusal(self, value):
        if not isinstance(value, (str, os.PathLike)):
            return super().refusal(value)
        return (f"got an empty path ({str(value)!r}); give a file or folder (an unset shell "
                f"variable?)")


class OrNone(Rule):
    """None, or what ``rule`` takes."""

    def __init__(self, rule):
        self.rule, self.kind = rule, rule.kind
        super().__init__(f"null or {rule.words}")

    def holds(self, value):
        return value is None or self.rule.holds(value)

    def take(self, value):
        return None if value is None else self.rule.take(value)

    def parse(self, text):
        return self.rule.parse(text)

    def refusal(self, value):
        return self.rule.refusal(value)


class Satisfies(Rule):
    """A rule of one's own: ``test(value)``, in ``words``."""

    def __init__(self, test, words):
        self.test = test
        super().__init__(words)

    def holds(self, value):
        return bool(self.test(value))


class Each(Rule):
    """A list whose every entry keeps ``rule``."""

    def __init__(self, rule):
        self.rule = rule
        super().__init__(f"a list, each entry {rule.words}")

    def holds(self, value):
        return isinstance(value, list) and all(self.rule.holds(v) for v in value)


class Device(Rule):
    """A device's spec: one of :data:`~d2lrnn.base.backend.DEVICE_KINDS`, cuda and gpu
    with an index where given (cuda:1)."""

    words = f"one of {', '.join(DEVICE_KINDS)} (cuda and gpu may take an index: cuda:1)"
    kind = "device"
    INDEXED = ("cuda", "gpu")

    def holds(self, value):
        kind, colon, index = str(value).partition(":")
        return isinstance(value, str) and kind in DEVICE_KINDS and (
            not colon or (index.isdigit() and kind in self.INDEXED))

    def refusal(self, value):
        return super().refusal(value) + did_you_mean(str(value).partition(":")[0],
                                                     DEVICE_KINDS)


def whole(value, name, where=None, least=1, most=None):
    """``value`` as an int >= ``least`` (and <= ``most``; bools and non-integral numbers are
    refused)."""
    return Whole(least, most).check(value, name, where)


def real(value, name, where=None, least=None, above=None, most=None):
    """``value`` as a finite float, >= ``least`` or > ``above``, and <= ``most``, where
    given."""
    return Real(least, above, most).check(value, name, where)


def device_spec(spec, name="device", where=None):
    """(kind, index or None) of a device's spec: "auto", "cpu", "cuda", "cuda:1", "mps",
    "gpu" (any accelerator)."""
    kind, _, index = Device().check(spec, name, where).partition(":")
    return kind, int(index) if index else None


def finite_arrays(arrays, where):
    """Raise unless every array of the mapping ``arrays`` (NumPy) holds finite values only."""
    bad = sorted(name for name, value in arrays.items()
                 if np.asarray(value).dtype.kind in "fc" and not np.isfinite(value).all())
    if bad:
        raise BadArgument(f"{where}: {', '.join(bad)} hold{'s' if len(bad) == 1 else ''} "
                          f"NaN or infinite values; parameters must be finite")


def path_text(text, option):
    """A path given as text (:class:`PathText`), as it came."""
    PathText().check(text, option)
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
