"""Keeping MXNet 1.9.1 alive beside today's numpy and TensorFlow: it needs numpy < 1.24,
and loaded after TensorFlow in one process it crashes (their C++ runtimes clash)."""
import ctypes
import importlib.util
import sys

from .errors import MissingFramework

# True once the system C++ runtime has been loaded with global symbols.
_cxx_runtime_global = False


def share_cxx_runtime():
    """Load the system libstdc++ with global symbols before TensorFlow is imported.

    Otherwise, when MXNet is imported after TensorFlow in the same process, libmxnet binds
    ``std::random_device`` to the copy TensorFlow's library exports and the process dies.
    Only done where MXNet is installed and TensorFlow is not imported yet.
    """
    global _cxx_runtime_global
    if _cxx_runtime_global or "tensorflow" in sys.modules or not sys.platform.startswith("linux"):
        return
    if importlib.util.find_spec("mxnet") is None:
        return
    try:
        ctypes.CDLL("libstdc++.so.6", mode=ctypes.RTLD_GLOBAL)
    except OSError:
        return
    _cxx_runtime_global = True


def check_mxnet_importable():
    """Fail with a clear message where importing MXNet 1.9.1 would break or crash."""
    import numpy as np  # here, not at the top: `import d2lrnn` stays light

    if sys.version_info >= (3, 12):
        raise MissingFramework(
            f"MXNet 1.9.1 (its last release) has no build for Python "
            f"{sys.version_info[0]}.{sys.version_info[1]}, so the mxnet extra installs "
            "nothing here. Use Python <= 3.11 for MXNet: python3.11 -m venv mx && "
            "mx/bin/pip install \"d2lrnn[mxnet]\" (in this repository: tox -e mxnet)")
    if tuple(int(p) for p in np.__version__.split(".")[:2]) >= (1, 24):
        raise MissingFramework(
            f"MXNet 1.9.1 (its last release) needs numpy < 1.24, but numpy {np.__version__} "
            "is installed. Use a separate environment with Python <= 3.11 for MXNet: "
            "python3.11 -m venv mx && mx/bin/pip install \"d2lrnn[mxnet]\" "
            "(in this repository: tox -e mxnet)")
    if _tensorflow_loaded_first() and not _cxx_runtime_global:
        raise MissingFramework(
            "importing MXNet after TensorFlow crashes this process (the two share a C++ "
            "runtime badly). Import d2lrnn (or mxnet, or torch) before tensorflow")


def _tensorflow_loaded_first():
    """Whether TensorFlow is loaded in a way that makes importing MXNet crash.

    Seen here: TensorFlow alone, then MXNet, crashes; torch (or our early load of the
    C++ runtime) before TensorFlow avoids it. Import order cannot be read back reliably, so
    this flags TensorFlow loaded without torch and without that early load.
    """
    return ("tensorflow" in sys.modules and "mxnet" not in sys.modules
            and "torch" not in sys.modules)


def before_import(module):
    """What a framework needs before its import: MXNet a check that it can load, TensorFlow
    the shared C++ runtime (so that MXNet may load after it)."""
    if module == "mxnet":
        check_mxnet_importable()
    elif module == "tensorflow":
        share_cxx_runtime()


def after_import(module, framework):
    """What a framework needs after its import: MXNet its NumPy-style API, as the book
    uses it."""
    if module == "mxnet":
        framework.npx.set_np()
