"""The backends, declared once (:data:`DECLARATIONS`: each one's framework, pip extra and
capabilities), and loading one, or its framework, by name.

A backend is a subpackage ``d2lrnn.<name>`` with the same files as the others (ARCHITECTURE.md,
"Adding a backend"): ``ops.py``, its array adapter (:class:`~d2lrnn.base.adapter.Ops`: the
few array operations the models need, einops-style, and the framework's autograd);
``book.py``, the book's library surface in the framework's idiom; ``__init__.py``, made by
:func:`d2lrnn.book.bind.facade` from the lists of :mod:`d2lrnn.book.surface`.

Nothing here imports a framework until a backend asks for it.
"""
import dataclasses
import importlib
import importlib.util

import numpy as np

from . import legacy, quiet
from .errors import BadArgument, MissingFramework, did_you_mean, not_one_of
from .install import pip_install


@dataclasses.dataclass(frozen=True)
class Declaration:
    """A backend, declared once and without importing its framework: everything else that
    names backends (the command line's choices, the benchmarks' model kinds, the tests'
    lists) derives from these, and the tests check the rest (setup.py's extras, tox.ini's
    environments, the versions page's table (docs/environments.md), each backend's Ops)
    against them."""

    name: str           # d2lrnn.<name>
    framework: str      # the module it imports
    extra: str          # the pip extra that installs the framework ("" for none)
    autograd: bool      # differentiates by itself (NumPy's gradients are written by hand)
    compiles: bool      # compiles whole steps (jax.jit, tf.function with XLA)
    # The cells (their keys, see d2lrnn.cells) whose function the framework's own recurrent
    # layers compute, run on the book's parameters by its adapter's cell_layer(): the concise
    # models; a GRU layer resets "before" the recurrent product (the book's) or "after".
    layers: tuple = ()
    # The book has a tab for this framework: its cells are written for it, and the backend
    # exports the book library's tensor helpers and classes of that tab (d2lrnn.book.surface's
    # BOOK_TENSOR_API, BOOK_FRAMEWORK_API) beside the common surface.
    book_tab: bool = True
    # The framework's configuration flag that float64 needs, set before any array exists
    # (JAX's 64-bit mode); "" where float64 needs nothing.
    float64_flag: str = ""

    @property
    def own_layers(self):
        """Whether the framework has recurrent layers of its own (the concise models)."""
        return bool(self.layers)


DECLARATIONS = (
    Declaration("numpy", "numpy", "", autograd=False, compiles=False, book_tab=False),
    Declaration("torch", "torch", "torch", autograd=True, compiles=False,
                layers=("rnn", "gru-after", "lstm")),
    Declaration("jax", "jax", "jax", autograd=True, compiles=True,
                layers=("rnn", "gru-after", "lstm"), float64_flag="jax_enable_x64"),
    # Keras' GRU computes either function (reset_after=True is its default)
    Declaration("tensorflow", "tensorflow", "tensorflow", autograd=True, compiles=True,
                layers=("rnn", "gru-before", "gru-after", "lstm")),
    Declaration("mxnet", "mxnet", "mxnet", autograd=True, compiles=False,
                layers=("rnn", "gru-after", "lstm")),
)
DECLARED = {d.name: d for d in DECLARATIONS}
BACKENDS = tuple(DECLARED)

FLOAT_DTYPES = ("float32", "float64")

# The language models the command line trains: from scratch, or on the framework's layers.
MODEL_KINDS = ("scratch", "concise")

# What --device and find_device() take: "gpu" is any accelerator, "auto" the first one.
DEVICE_KINDS = ("auto", "cpu", "cuda", "mps", "gpu")


ACTIVATIONS = ("tanh", "relu", "sigmoid")


def _check_name(name):
    if name not in BACKENDS:
        raise BadArgument(f"unknown backend {name!r}{did_you_mean(name, BACKENDS)}; the known "
                          f"backends are {', '.join(BACKENDS)}")


def load_backend(name):
    """Return the backend module ``d2lrnn.<name>``; same as ``from d2lrnn import <name>``."""
    _check_name(name)
    return importlib.import_module(f"d2lrnn.{name}")


def is_installed(name):
    """Whether the framework behind backend ``name`` can be found, without importing it."""
    _check_name(name)
    return importlib.util.find_spec(DECLARED[name].framework) is not None


def install_hint(name):
    """The command that installs backend ``name``'s framework, from where this d2lrnn came
    from (:mod:`d2lrnn.base.install`); for MXNet, an environment of its own wherever it cannot
    live beside what is here."""
    _check_name(name)
    if name == "mxnet" and legacy.mxnet_env_problem():
        return legacy.own_mxnet_env()
    return pip_install(DECLARED[name].extra)


def available_backends():
    """Backends whose framework is installed (found, not imported)."""
    return [name for name in BACKENDS if is_installed(name)]


def ops_of(array):
    """The adapter of the backend whose framework made ``array`` (NumPy's for NumPy arrays
    and anything else). Imports nothing new: the framework is loaded if the array exists."""
    root = type(array).__module__.partition(".")[0]
    for declared in DECLARATIONS:
        if root == declared.framework or (declared.name == "jax" and root == "jaxlib"):
            return load_backend(declared.name).ops
    return load_backend("numpy").ops


def enable_float64(name):
    """Make backend ``name`` able to compute in float64: its framework's flag set (JAX's
    64-bit mode must be on before any array exists; it makes float64 the default for the
    whole process). Nothing for the backends that need nothing."""
    _check_name(name)
    flag = DECLARED[name].float64_flag
    if flag:
        importlib.import_module(DECLARED[name].framework).config.update(flag, True)


# The thread counts a framework's import reads from the environment, where a value below 1
# fails the import with a message that does not name the variable (Numba: "Number of threads
# specified must be > 0.").
THREAD_VARIABLES = {"numba": "NUMBA_NUM_THREADS"}


def import_framework(module, extra):
    """Import a framework for a backend, or say how to install it; with what some
    frameworks need around their import (:mod:`d2lrnn.base.legacy`; TensorFlow's start-up
    notices dropped, :mod:`d2lrnn.base.quiet`), so that every module of a backend imports its
    framework by this one line. An import that fails in another way than a missing module (a
    broken install, a bad setting in the environment) is one :class:`MissingFramework` too,
    naming the framework and what it raised."""
    check_thread_variable(module)
    legacy.before_import(module)
    quiet.quiet_unless_asked(module)
    try:
        framework = importlib.import_module(module)
    except ImportError as err:
        needed = (f"the d2lrnn.{extra} backend needs {module}, which" if extra in DECLARED
                  else module)
        raise MissingFramework(
            f"{needed} could not be imported "
            f"({err}). Install it with: {_extra_hint(extra)}") from err
    except Exception as err:  # noqa: BLE001 - installed, and its import fails: the install's
        raise MissingFramework(
            f"{module} is installed but its import failed with {type(err).__name__}: "
            f"{str(err).strip().splitlines()[0] if str(err).strip() else '(no message)'}; "
            f"a broken or mismatched install: reinstall it with: {reinstall_hint(extra)}"
        ) from err
    legacy.after_import(module, framework)
    return framework


def _extra_hint(extra):
    """The install hint for d2lrnn's ``extra``: a backend's (MXNet's own environment where it
    needs one), or another extra such as ``numba``."""
    return install_hint(extra) if extra in DECLARED else pip_install(extra)


def reinstall_hint(extra):
    """The command that installs d2lrnn's ``extra`` again over a broken install."""
    return _extra_hint(extra).replace(" install ", " install --force-reinstall ", 1)


def check_thread_variable(module):
    """Refuse a thread count below 1 in the variable :data:`THREAD_VARIABLES` names for
    ``module``, naming the variable and a value that works."""
    import os

    name = THREAD_VARIABLES.get(module)
    value = os.environ.get(name or "", "").strip()
    try:
        threads = int(value)
    except ValueError:  # unset, or text: the framework warns and takes its default
        return
    if threads < 1:
        cores = os.cpu_count() or 1
        raise BadArgument(f"the environment sets {name}={value}: {module} needs a whole "
                          f"number of threads >= 1 (e.g. {name}={cores}, the cores here), or "
                          f"leave it unset")


def check_float_dtype(dtype):
    """Normalise a float dtype given as a string or NumPy dtype to 'float32' or 'float64'."""
    try:
        name = np.dtype(dtype).name
    except TypeError:
        name = str(dtype)
    if name not in FLOAT_DTYPES:
        raise BadArgument(not_one_of("dtype", dtype, FLOAT_DTYPES))
    return name
