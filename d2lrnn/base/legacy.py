"""Frameworks' native libraries beside each other in one process: MXNet 1.9.1 beside today's
numpy and TensorFlow (it needs numpy < 1.24, and loaded after TensorFlow it crashes: their C++
runtimes clash), and Triton (PyTorch's compiler) loaded after TensorFlow, which crashes too."""
import importlib.util
import sys
from pathlib import Path

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
    import ctypes  # here, where MXNet is installed: `import d2lrnn` stays light elsewhere

    try:
        ctypes.CDLL("libstdc++.so.6", mode=ctypes.RTLD_GLOBAL)
    except OSError:
        return
    _cxx_runtime_global = True


# MXNet 1.9.1 (its last release) has builds up to Python 3.11 and uses np.bool, removed in
# numpy 1.24; the frameworks of today need numpy 2 (TensorFlow >= 2.18, JAX >= 0.5), so an
# environment holding them is no place to install it (pip would take numpy back to 1.23).
MXNET_PYTHON_BELOW = (3, 12)
MXNET_NUMPY_BELOW = (1, 24)
NUMPY_2_FRAMEWORKS = ("tensorflow", "jax")


def mxnet_env_problem(others=True):
    """Why MXNet 1.9.1 cannot live in this environment, as a sentence ("" where it can):
    this Python, this numpy, and (``others``) TensorFlow or JAX installed beside it."""
    import numpy as np  # here, not at the top: `import d2lrnn` stays light

    if sys.version_info[:2] >= MXNET_PYTHON_BELOW:
        return (f"MXNet 1.9.1 (its last release) has no build for Python "
                f"{sys.version_info[0]}.{sys.version_info[1]}, so the mxnet extra installs "
                f"nothing here")
    if tuple(int(p) for p in np.__version__.split(".")[:2]) >= MXNET_NUMPY_BELOW:
        return (f"MXNet 1.9.1 (its last release) needs numpy < 1.24, but numpy "
                f"{np.__version__} is installed")
    beside = [name for name in NUMPY_2_FRAMEWORKS if others and importlib.util.find_spec(name)]
    if beside:
        return (f"MXNet 1.9.1 needs numpy < 1.24, which today's {' and '.join(beside)} "
                f"(installed here) do not take")
    return ""


def own_mxnet_env():
    """The commands that give MXNet an environment of its own, in words."""
    from . import install  # here: `import d2lrnn` (the command's start) stays light

    return (f"Give MXNet its own environment with Python 3.11: "
            f"{install.venv_install('mxnet')} (or, in a clone of d2lrnn, tox -e mxnet)")


def check_mxnet_importable():
    """Fail with a clear message where importing MXNet 1.9.1 would break or crash."""
    problem = mxnet_env_problem(others=False)
    if problem:
        raise MissingFramework(f"{problem}. {own_mxnet_env()}")
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


# The library of Triton, once loaded before TensorFlow (None: not yet, or not installed).
_triton_library = None


def load_triton_first():
    """Load Triton's native library before TensorFlow is imported, where Triton is installed
    (it comes with PyTorch's CUDA build, the one pip gives on Linux).

    TensorFlow >= 2.20 loads its library with global symbols, its own LLVM among them;
    Triton's library, loaded after it, binds to that LLVM and the process dies (SIGSEGV,
    tensorflow/tensorflow#124205). PyTorch imports Triton late (``torch._dynamo``: the meta
    device, ``torch.compile``), so a torch model used after ``from d2lrnn import tensorflow``
    crashed. Loaded first (60 ms here, where ``import triton`` takes 370), both work.
    """
    global _triton_library
    if _triton_library is not None or "tensorflow" in sys.modules \
            or not sys.platform.startswith("linux"):
        return
    import ctypes

    spec = importlib.util.find_spec("triton")  # found, not imported
    for folder in (spec.submodule_search_locations or []) if spec else []:
        for library in sorted(Path(folder, "_C").glob("libtriton*.so")):
            try:
                _triton_library = ctypes.CDLL(str(library))
            except OSError:  # a broken install: left to fail where it is used
                continue
            return


def before_import(module):
    """What a framework needs before its import: MXNet a check that it can load, TensorFlow
    the shared C++ runtime (so that MXNet may load after it) and Triton's library loaded
    first (so that PyTorch may load it after)."""
    if module == "mxnet":
        check_mxnet_importable()
    elif module == "tensorflow":
        share_cxx_runtime()
        load_triton_first()


def after_import(module, framework):
    """What a framework needs after its import: MXNet its NumPy-style API, as the book
    uses it."""
    if module == "mxnet":
        framework.npx.set_np()
