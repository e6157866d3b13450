"""TensorFlow's start-up notices, dropped: from our commands' output, and from a reader's
``from d2lrnn import tensorflow`` (:func:`d2lrnn.base.backend.import_framework`), unless the
user set ``TF_CPP_MIN_LOG_LEVEL`` (their setting shows what it asks).

``TF_CPP_MIN_LOG_LEVEL=2`` silences TensorFlow's INFO and WARNING logs once its logging has
started, but ``import tensorflow`` writes a block before that, twice (two of its libraries
load, each printing it), whatever the variable says: absl's "All log messages before
absl::InitializeLog()" header, the oneDNN notice and, in the full ``tensorflow`` build, "Could
not find cuda drivers". That build also logs an error, "failed call to cuInit", when it first
looks for devices on a machine with no NVIDIA driver at all. Those lines are written by C++
straight to file descriptor 2, out of Python's reach, so while the framework imports (and,
where no NVIDIA driver is loaded, first lists its devices), descriptor 2 is a pipe, and a
small process of its own forwards every line but those to the real stderr as it comes.

A process, not a thread: a thread of ours needs the GIL, which the import holds while its C++
writes, so a pipe that filled up blocked the writer and the whole process (seen with more than
the pipe held); and a process outlives the one that dies, so what an import wrote before it
aborted (TensorFlow's "the TensorFlow library was compiled to use AVX..." on a CPU it was not
built for) still reaches stderr. Starting it (FORWARDER below) took 65 ms on a busy 2-core
machine, beside the 3 s TensorFlow takes to import.
"""
import contextlib
import importlib.abc
import os
import re
import subprocess
import sys

# What TF_CPP_MIN_LOG_LEVEL=2 would have hidden had logging started: absl's INFO and WARNING
# lines (I or W, then the date as MMDD), and the header absl writes before them.
NOTICE = re.compile(rb"^(?:[IW]\d{4} |WARNING: All log messages before absl::InitializeLog\(\))")
# An error only where there is no driver to fail: on a machine with a GPU it is kept.
NO_DRIVER = re.compile(rb"^E\d{4} .*failed call to cuInit")
NVIDIA_DRIVER = "/proc/driver/nvidia"  # Linux; elsewhere the error is left as it is
FORWARD_WAIT_S = 5  # for the last lines to pass; a child holding the pipe cannot hang us
# The user's own setting of TensorFlow's C++ log level: where it is set, nothing is dropped.
LOG_LEVEL = "TF_CPP_MIN_LOG_LEVEL"
QUIET_LEVEL = "2"  # INFO and WARNING silenced, errors shown

# The forwarder: lines from its stdin (the pipe) to its stdout (the real stderr), those
# matching the pattern (argv[1]) dropped; until every writer has closed the pipe, the process
# it serves dead or not. Ctrl-C is for the process it serves: ignored here.
FORWARDER = """\
import os, re, signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
notice, out = re.compile(os.fsencode(sys.argv[1])), sys.stdout.buffer
for line in sys.stdin.buffer:
    if not notice.match(line):
        out.write(line)
        out.flush()
"""


@contextlib.contextmanager
def notices_dropped(notice=NOTICE):
    """Drop the lines matching ``notice`` written to descriptor 2 inside the block; forward
    the rest (as they come, by a process of their own: see the module's docstring)."""
    try:
        sys.stderr.flush()
        real_stderr = os.dup(2)
    except (AttributeError, OSError, ValueError):  # no stderr (pythonw, a closed descriptor)
        yield
        return
    read_end, write_end = os.pipe()
    try:
        forwarder = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", FORWARDER, os.fsdecode(notice.pattern)],
            stdin=read_end, stdout=real_stderr, stderr=real_stderr,
            start_new_session=hasattr(os, "setsid"))  # Ctrl-C at the terminal: not for it
    except (OSError, ValueError):  # no interpreter to start (an embedded Python)
        forwarder = None
    os.close(read_end)
    if forwarder is None:
        os.close(write_end)
        os.close(real_stderr)
        yield
        return
    os.dup2(write_end, 2)
    os.close(write_end)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(real_stderr, 2)  # the pipe's last writer closes: the forwarder ends
        with contextlib.suppress(subprocess.TimeoutExpired):
            forwarder.wait(FORWARD_WAIT_S)
        os.close(real_stderr)


class QuietImport(importlib.abc.MetaPathFinder):
    """Runs the first import of each module of ``after`` (its name: what to do next, or None)
    inside :func:`notices_dropped` (installed on ``sys.meta_path``; it finds nothing itself,
    it wraps what the other finders find). A look that imports nothing
    (``importlib.util.find_spec``, as ``is_installed`` and other libraries ask) leaves it in
    place for the import that follows."""

    def __init__(self, after):
        self.after = dict(after)

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in self.after:
            return None
        for finder in [finder for finder in sys.meta_path if finder is not self]:
            spec = finder.find_spec(fullname, path, target) if hasattr(finder, "find_spec") \
                else None
            if spec is not None and spec.loader is not None:
                spec.loader = QuietLoader(spec.loader, self)
                return spec
        return None

    def imported(self, fullname):
        """What follows ``fullname``'s import (None: nothing), now that it runs; this finder
        leaves ``sys.meta_path`` once its modules are all imported."""
        after = self.after.pop(fullname, None)
        if not self.after and self in sys.meta_path:
            sys.meta_path.remove(self)
        return after


class QuietLoader(importlib.abc.Loader):
    """A module's own loader, its ``exec_module`` run with the notices dropped, then what
    ``finder`` says follows."""

    def __init__(self, loader, finder):
        self.loader, self.finder = loader, finder

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        # the module keeps its own loader (importlib.resources and others ask it)
        module.__loader__ = module.__spec__.loader = self.loader
        after = self.finder.imported(module.__name__)
        with notices_dropped():
            self.loader.exec_module(module)
        if after is not None:
            after(module)


def tensorflow_devices_listed(tensorflow):
    """TensorFlow's first look for devices, now rather than at the first op, with the cuInit
    error dropped where no NVIDIA driver exists to fail (Linux; kept elsewhere). It leaves the
    threads settable (d2lrnn.base.adapter.devices sets them later)."""
    if sys.platform == "linux" and not os.path.exists(NVIDIA_DRIVER):
        with notices_dropped(NO_DRIVER):
            tensorflow.config.list_physical_devices()


# The frameworks whose start-up notices are dropped, and what follows their import.
FRAMEWORKS = {"tensorflow": tensorflow_devices_listed}


def quiet_unless_asked(module):
    """Before ``module`` is imported: where it is a framework of :data:`FRAMEWORKS` and the user
    has not set ``TF_CPP_MIN_LOG_LEVEL``, its start-up notices dropped (:func:`quiet_imports`)
    and its INFO and WARNING logs silenced (the variable set to 2, as our commands set it)."""
    if module in FRAMEWORKS and LOG_LEVEL not in os.environ:
        quiet_imports({module: FRAMEWORKS[module]})
        os.environ[LOG_LEVEL] = QUIET_LEVEL


def quiet_imports(after=FRAMEWORKS):
    """Drop the start-up notices of the modules of ``after`` (name: what to do once it is
    imported, or None) when they are first imported in this process (a no-op for those
    already imported)."""
    pending = {name: then for name, then in after.items() if name not in sys.modules}
    if pending:
        sys.meta_path.insert(0, QuietImport(pending))
