"""TensorFlow's start-up notices, dropped from our commands' output.

``TF_CPP_MIN_LOG_LEVEL=2`` (set by :mod:`d2lrnn.tools.entry` unless the user sets it) silences
TensorFlow's INFO and WARNING logs once its logging has started, but ``import tensorflow``
writes a block before that, twice (two of its libraries load, each printing it), whatever the
variable says: absl's "All log messages before absl::InitializeLog()" header, the oneDNN
notice and, in the full ``tensorflow`` build, "Could not find cuda drivers". That build also
logs an error, "failed call to cuInit", when it first looks for devices on a machine with no
NVIDIA driver at all. Those lines are written by C++ straight to file descriptor 2, out of
Python's reach, so while the framework imports (and, where no NVIDIA driver is loaded, first
lists its devices), descriptor 2 is a pipe and a thread forwards every line but those to the
real stderr as it comes (an import that crashes still shows what it wrote). A reader's own
``import tensorflow``, outside our commands, is left as it is.
"""
import contextlib
import importlib.abc
import os
import re
import sys
import threading

try:
    import fcntl
except ImportError:  # Windows: the pipe keeps its size
    fcntl = None

# What TF_CPP_MIN_LOG_LEVEL=2 would have hidden had logging started: absl's INFO and WARNING
# lines (I or W, then the date as MMDD), and the header absl writes before them.
NOTICE = re.compile(rb"^(?:[IW]\d{4} |WARNING: All log messages before absl::InitializeLog\(\))")
# An error only where there is no driver to fail: on a machine with a GPU it is kept.
NO_DRIVER = re.compile(rb"^E\d{4} .*failed call to cuInit")
NVIDIA_DRIVER = "/proc/driver/nvidia"  # Linux; elsewhere the error is left as it is
FORWARD_WAIT_S = 5  # for the last lines to pass; a child holding the pipe cannot hang us
PIPE_BYTES = 1 << 20


@contextlib.contextmanager
def notices_dropped(notice=NOTICE):
    """Drop the lines matching ``notice`` written to descriptor 2 inside the block; forward
    the rest."""
    try:
        sys.stderr.flush()
        real_stderr = os.dup(2)
    except (AttributeError, OSError, ValueError):  # no stderr (pythonw, a closed descriptor)
        yield
        return
    read_end, write_end = os.pipe()
    # The forwarder needs the GIL, which an import holds while its C++ writes: a pipe that
    # fills up would block the writer, and so the process. 1 MiB, not Linux's 64 KiB.
    with contextlib.suppress(AttributeError, OSError):
        fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    os.dup2(write_end, 2)
    os.close(write_end)

    def forward():
        with os.fdopen(read_end, "rb", buffering=0) as pipe:
            for line in iter(pipe.readline, b""):
                if not notice.match(line):
                    os.write(real_stderr, line)

    forwarder = threading.Thread(target=forward, name="d2lrnn-stderr", daemon=True)
    forwarder.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(real_stderr, 2)  # the pipe's last writer closes: the forwarder reads its end
        forwarder.join(FORWARD_WAIT_S)
        os.close(real_stderr)


class QuietImport(importlib.abc.MetaPathFinder):
    """Runs the first import of each module of ``after`` (its name: what to do next, or None)
    inside :func:`notices_dropped` (installed on ``sys.meta_path``; it finds nothing itself,
    it wraps what the other finders find)."""

    def __init__(self, after):
        self.after = dict(after)

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in self.after:
            return None
        after = self.after.pop(fullname)  # once: the finders below give the real spec
        for finder in [finder for finder in sys.meta_path if finder is not self]:
            spec = finder.find_spec(fullname, path, target) if hasattr(finder, "find_spec") \
                else None
            if spec is not None and spec.loader is not None:
                spec.loader = QuietLoader(spec.loader, after)
                if not self.after and self in sys.meta_path:  # its work done (the import
                    sys.meta_path.remove(self)                # stops at the spec returned)
                return spec
        return None


class QuietLoader(importlib.abc.Loader):
    """A module's own loader, its ``exec_module`` run with the notices dropped, then
    ``after(module)`` where given."""

    def __init__(self, loader, after=None):
        self.loader, self.after = loader, after

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        # the module keeps its own loader (importlib.resources and others ask it)
        module.__loader__ = module.__spec__.loader = self.loader
        with notices_dropped():
            self.loader.exec_module(module)
        if self.after is not None:
            self.after(module)


def tensorflow_devices_listed(tensorflow):
    """TensorFlow's first look for devices, now rather than at the first op, with the cuInit
    error dropped where no NVIDIA driver exists to fail (Linux; kept elsewhere). It leaves the
    threads settable (d2lrnn.base.adapter.devices sets them later)."""
    if sys.platform == "linux" and not os.path.exists(NVIDIA_DRIVER):
        with notices_dropped(NO_DRIVER):
            tensorflow.config.list_physical_devices()


# The frameworks whose start-up notices our commands drop, and what follows their import.
FRAMEWORKS = {"tensorflow": tensorflow_devices_listed}


def quiet_imports(after=FRAMEWORKS):
    """Drop the start-up notices of the modules of ``after`` (name: what to do once it is
    imported, or None) when they are first imported in this process (a no-op for those
    already imported)."""
    pending = {name: then for name, then in after.items() if name not in sys.modules}
    if pending:
        sys.meta_path.insert(0, QuietImport(pending))
