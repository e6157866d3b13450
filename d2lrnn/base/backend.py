"""The common interface every backend implements.

A backend is a subpackage ``d2lrnn.<name>`` with the same files as the others:

* ``ops.py`` -- an adapter from the few array operations the section needs to the
  framework (einops-style: ``asarray`` from NumPy, the op, ``to_numpy`` back), plus the
  framework's autograd behind :meth:`Ops.value_and_grad`;
* ``__init__.py`` -- binds the models written once (:mod:`d2lrnn.book.bind`) to that adapter and
  lists what it exports in ``__all__`` (the names in :data:`d2lrnn.book.bind.BACKEND_API`).

Nothing here imports a framework.
"""
import abc
import collections
import contextlib
import dataclasses
import importlib
import importlib.util
import threading
import warnings

import numpy as np

from .errors import BadArgument, BadType, MissingFramework


@dataclasses.dataclass(frozen=True)
class Declaration:
    """A backend, declared once and without importing its framework: everything else that
    names backends (the command line's choices, the benchmarks' model kinds, the tests'
    lists) derives from these, and the tests check the rest (setup.py's extras, tox.ini's
    environments, the README's tables, each backend's Ops) against them."""

    name: str           # d2lrnn.<name>
    framework: str      # the module it imports
    extra: str          # the pip extra that installs the framework ("" for none)
    autograd: bool      # differentiates by itself (NumPy's gradients are written by hand)
    own_layers: bool    # the framework has recurrent layers of its own (concise models)
    compiles: bool      # compiles whole steps (jax.jit, tf.function with XLA)
    # The framework's configuration flag that float64 needs, set before any array exists
    # (JAX's 64-bit mode); "" where float64 needs nothing.
    float64_flag: str = ""


DECLARATIONS = (
    Declaration("numpy", "numpy", "", autograd=False, own_layers=False, compiles=False),
    Declaration("torch", "torch", "torch", autograd=True, own_layers=True, compiles=False),
    Declaration("jax", "jax", "jax", autograd=True, own_layers=True, compiles=True,
                float64_flag="jax_enable_x64"),
    Declaration("tensorflow", "tensorflow", "tensorflow", autograd=True, own_layers=True,
                compiles=True),
    Declaration("mxnet", "mxnet", "mxnet", autograd=True, own_layers=True, compiles=False),
)
DECLARED = {d.name: d for d in DECLARATIONS}
BACKENDS = tuple(DECLARED)

# The book's library surface, in every backend as well (d2lrnn.book.library and <backend>/book.py).
BOOK_API = ("Module", "Classifier", "Trainer", "DataModule", "HyperParameters",
            "ProgressBoard", "add_to_class", "check_shape", "check_len", "TimeMachine", "Vocab",
            # the book's general helpers the RNN chapters call: figures (2.4), files (5.7)
            "plot", "set_figsize", "set_axes", "use_svg_display", "plt", "download", "extract",
            "DATA_URL", "DATA_HUB")

# What the RNN chapters take from the book's earlier ones beyond that, in each framework that
# has autograd (9.1 trains a linear regression of section 3.5).
BOOK_FRAMEWORK_API = ("LinearRegression",)

# The tensor helpers and device functions the book's library defines as d2l.<name> (d2l 1.0.3,
# the union over its four frameworks), in each of the four frameworks here; a few add their
# own (get_key in JAX, to where the framework moves arrays between devices).
BOOK_TENSOR_API = ("abs", "arange", "argmax", "astype", "batch_matmul", "concat", "cos", "cosh",
                   "exp", "expand_dims", "eye", "float32", "float64", "int32", "int64",
                   "linspace", "log", "matmul", "meshgrid", "normal", "numpy", "ones",
                   "ones_like", "rand", "randn", "reduce_mean", "reduce_sum", "repeat", "reshape",
                   "sigmoid", "sin", "sinh", "size", "stack", "swapaxes", "tanh", "tensor",
                   "transpose", "zeros", "zeros_like", "cpu", "gpu", "num_gpus", "try_gpu",
                   "try_all_gpus")

FLOAT_DTYPES = ("float32", "float64")

# The language models the command line trains: from scratch, or on the framework's layers.
MODEL_KINDS = ("scratch", "concise")

# What --device and find_device() take: "gpu" is any accelerator, "auto" the first one.
DEVICE_KINDS = ("auto", "cpu", "cuda", "mps", "gpu")


class DeviceWarning(UserWarning):
    """A device was asked for that this framework does not have here: computing on the CPU."""

ACTIVATIONS = ("tanh", "relu", "sigmoid")


def _check_name(name):
    if name not in BACKENDS:
        raise BadArgument(f"unknown backend {name!r}; the known backends are "
                         f"{', '.join(BACKENDS)}")


def load_backend(name):
    """Return the backend module ``d2lrnn.<name>``; same as ``from d2lrnn import <name>``."""
    _check_name(name)
    return importlib.import_module(f"d2lrnn.{name}")


def is_installed(name):
    """Whether the framework behind backend ``name`` can be found, without importing it."""
    _check_name(name)
    return importlib.util.find_spec(DECLARED[name].framework) is not None


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


def import_framework(module, extra):
    """Import a framework for a backend, or say how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise MissingFramework(
            f"the d2lrnn.{extra} backend needs {module}, which could not be imported "
            f"({err}). Install it with: pip install \"d2lrnn[{extra}]\"") from err


def check_float_dtype(dtype):
    """Normalise a float dtype given as a string or NumPy dtype to 'float32' or 'float64'."""
    try:
        name = np.dtype(dtype).name
    except TypeError:
        name = str(dtype)
    if name not in FLOAT_DTYPES:
        raise BadArgument(f"dtype must be one of {FLOAT_DTYPES}, got {dtype!r}")
    return name


class Ops(abc.ABC):
    """The array operations the section needs, in one framework.

    Every method takes and returns the framework's own arrays, except :meth:`asarray`
    (from NumPy) and :meth:`to_numpy` (to NumPy).
    """

    name = None  # the backend's name, one of BACKENDS

    # -- devices ------------------------------------------------------------------------
    @property
    def device(self):
        """Where the arrays this adapter makes are made, in this thread: a device of the
        framework, or None for the framework's own default (the CPU for PyTorch and MXNet;
        the first GPU for JAX and TensorFlow where they have one). Models compute inside
        ``on(their device)``; each thread has its own (two threads training on two devices
        do not see each other's)."""
        return getattr(self._thread_scope(), "device", None)

    @device.setter
    def device(self, value):
        self._thread_scope().device = value

    def _thread_scope(self):
        scope = self.__dict__.get("_scope")
        if scope is None:
            scope = self.__dict__.setdefault("_scope", threading.local())
        return scope

    def accelerators(self):
        """The accelerators this framework can compute on here: [(kind, device)], kind
        "cuda" or "mps" (what PyTorch calls them; the others' GPUs are "cuda")."""
        return []

    def cpu_device(self):
        """The framework's CPU device."""
        return "cpu"

    def device_of(self, x):
        """The device an array lives on."""
        return self.cpu_device()

    def to_device(self, x, device):
        """A copy of ``x`` on ``device`` (``x`` itself if it is there already)."""
        return x

    def device_name(self, device):
        """A short name: "cpu", "cuda:0", "mps"."""
        return "cpu"

    def device_scope(self, device):
        """The framework's own context placing new arrays on ``device``."""
        return contextlib.nullcontext()

    @contextlib.contextmanager
    def on(self, device):
        """Make arrays on ``device`` inside the block (None: leave the placement as it is)."""
        if device is None:
            yield
            return
        previous, self.device = self.device, device
        try:
            with self.device_scope(device):
                yield
        finally:
            self.device = previous

    def has_float64(self, device):
        """Whether ``device`` computes in float64 (Apple's MPS does not)."""
        return True

    def find_device(self, spec="auto"):
        """The device ``spec`` names: "auto" (the first accelerator, else the CPU), "cpu",
        "cuda", "cuda:1", "mps" or "gpu" (any accelerator). Where this framework has no such
        device here, the CPU, with a warning that names what was asked and what there is."""
        kind, colon, index = str(spec).partition(":")
        if kind not in DEVICE_KINDS or (colon and not (index.isdigit()
                                                       and kind in ("cuda", "gpu"))):
            raise BadArgument(f"device must be one of {', '.join(DEVICE_KINDS)} (cuda and gpu "
                             f"may name an index: cuda:1), got {spec!r}")
        if kind == "cpu":
            return self.cpu_device()
        found = [device for k, device in self.accelerators() if kind in ("auto", "gpu", k)]
        number = int(index or 0)
        if number < len(found):
            return found[number]
        if kind != "auto":
            seen = ", ".join(self.device_name(d) for _, d in self.accelerators()) or "none"
            warnings.warn(f"{self.name}: no {spec} device here (accelerators seen: {seen}"
                          f"{self.missing_accelerator_hint()}); computing on the CPU",
                          DeviceWarning, stacklevel=2)
        return self.cpu_device()

    def missing_accelerator_hint(self):
        """Why this framework may see no accelerator here (a CPU-only build, ...)."""
        return ""

    def choose_threads(self, strategy):
        """Set the framework's CPU threads for training by ``strategy`` (a model's
        ``fast_grads``, or "plain"), where that choice is the package's to make: ``d2lrnn
        train`` calls it, owning its process (a reader's ``fit`` leaves the framework's
        settings alone). The frameworks' own choice (every core) unless a backend says."""

    def threads(self):
        """How this framework uses the CPU's cores now, in a few words (for d2lrnn bench)."""
        return ""

    def full_precision(self):
        """Make float32 matrix products exact on accelerators (no TF32, which JAX,
        TensorFlow and PyTorch's cuDNN use by default on NVIDIA GPUs) and prefer the
        framework's deterministic kernels: what the parity bounds need. Global for the
        framework; the package calls it for parity, compare and training."""

    # -- conversion ---------------------------------------------------------------------
    @abc.abstractmethod
    def asarray(self, array, dtype):
        """A framework array holding ``array`` (NumPy or nested lists) as ``dtype``, on
        :attr:`device` (the framework's default where None)."""

    @abc.abstractmethod
    def to_numpy(self, x):
        """A NumPy copy of a framework array."""

    @abc.abstractmethod
    def is_tensor(self, x):
        """Whether ``x`` is this framework's array type."""

    def is_concrete(self, x):
        """Whether ``x`` holds values now (not a placeholder traced for compilation)."""
        return True

    def dtype_name(self, x):
        """'float32', 'float64', 'int64', ... for a framework array."""
        return np.dtype(str(x.dtype).rsplit(".", 1)[-1]).name

    def shape(self, x):
        return tuple(int(s) for s in x.shape)

    def take_rows(self, x, rows):
        """``x[rows]`` for a 1-D NumPy array of row numbers (a minibatch of a data set)."""
        return x[rows]

    # -- maths --------------------------------------------------------------------------
    @abc.abstractmethod
    def matmul(self, a, b): ...

    @abc.abstractmethod
    def concat(self, xs, axis): ...

    @abc.abstractmethod
    def stack(self, xs, axis): ...

    @abc.abstractmethod
    def zeros(self, shape, dtype): ...

    @abc.abstractmethod
    def one_hot(self, ids, depth, dtype):
        """(..., ) integer ids -> (..., depth) one-hot vectors of ``dtype``."""

    @abc.abstractmethod
    def pick(self, logits, ids):
        """``logits[i, ids[i]]`` for a 2-D ``logits`` and 1-D integer ``ids``."""

    @abc.abstractmethod
    def logsumexp(self, x, axis): ...

    @abc.abstractmethod
    def activation(self, name):
        """The elementwise function φ called ``name``: 'tanh', 'relu' or 'sigmoid'."""

    def parameter(self, x):
        """``x`` as a trainable parameter of a model (an nn.Parameter, a tf.Variable, ...)."""
        return x

    def plain(self, x):
        """A parameter's value as a plain array (compiled code is traced once for those)."""
        return x

    def assign(self, owner, name, value):
        """Set the parameter ``owner.<name>`` to ``value`` (in place where the framework
        keeps parameters as objects)."""
        setattr(owner, name, value)

    def update(self, value, grad, lr):
        """One plain SGD update, recorded by no autograd: value - lr * grad."""
        return value - lr * grad

    def no_grad(self):
        """A context in which the framework records nothing for autograd."""
        return contextlib.nullcontext()

    def transpose(self, x, axes):
        return x.transpose(axes)

    def reshape(self, x, shape):
        return x.reshape(shape)

    def mean(self, x):
        return x.mean()

    def sum(self, x, axis=None):
        return x.sum() if axis is None else x.sum(axis)

    def exp(self, x):
        return x.exp()

    def max_abs(self, x):
        """max |x| as a Python float."""
        return float(np.max(np.abs(self.to_numpy(x))))

    def rnn_layer(self, params, inputs, state):
        """The framework's own recurrent layer, run on the book's ``W_xh, W_hh, b_h``.

        inputs (T, n, d) and state (n, h) -> (outputs (T, n, h), final state (n, h)).
        """
        raise BadType(f"{self.name} has no recurrent layer of its own: use RNNScratch")

    def prepare_rnn_layer(self, num_inputs, num_hiddens, dtype):
        """Make whatever the framework's layer needs before any code is compiled."""

    # Whether the framework's recurrent layer learns its input size at the first call (Gluon,
    # Keras, Flax): the book's concise RNN there is RNN(num_hiddens); else (PyTorch)
    # RNN(num_inputs, num_hiddens).
    layer_learns_input_size = False

    @property
    def has_autograd(self):
        return type(self).value_and_grad is not Ops.value_and_grad

    # The cells (by their key, see d2lrnn.cells) whose function the framework's own layers
    # compute, with cell_layer() running them on the book's parameters.
    cell_layers = ()

    def has_cell_layer(self, cell):
        return cell.key in self.cell_layers

    def cell_layer(self, cell, params, inputs, state):
        """The framework's own layer for ``cell`` on the book's parameters: inputs (T, n, d),
        state tuple -> (outputs (T, n, h), final state tuple)."""
        raise BadType(f"{self.name} has no layer of its own for the {cell.key} cell")

    def prepare_cell_layer(self, cell, num_inputs, num_hiddens, dtype):
        """Make whatever the framework's layer needs before any code is compiled."""

    def cell_layer_stack(self, cell, layers, inputs, states):
        """The framework's own layers for ``cell``, one per level of a deep network, each
        level's outputs the next one's inputs (what a framework's multi-layer RNN computes):
        ``layers`` a list of each level's parameters, ``states`` one state tuple per level
        -> (outputs (T, n, h), [final state tuple of each level])."""
        finals = []
        for params, state in zip(layers, states):
            inputs, final = self.cell_layer(cell, params, inputs, state)
            finals.append(final)
        return inputs, finals

    @property
    def has_rnn_layer(self):
        return type(self).rnn_layer is not Ops.rnn_layer

    def sum_squares(self, x):
        """sum(x²) as a Python float."""
        return float((self.to_numpy(x).astype(np.float64) ** 2).sum())

    # -- the fast path (d2lrnn.maths.equations.lm_loss_fast) -------------------------------
    def embedding(self, table, ids):
        """Rows ``table[ids]``, which is ``one_hot(ids) @ table`` without the product."""
        return table[ids]

    def scan_tanh(self, P, state, W_hh):
        """H_t = tanh(P_t + H_{t-1} W_hh) over the steps of ``P`` (T, n, h): (9.4.5) with
        the input term P_t = X_t W_xh + b_h already computed for every step. Returns the
        stacked states (T, n, h) and H_T: the plain loop unless the framework has a faster
        one (a fused kernel)."""
        outputs = []
        for t in range(self.shape(P)[0]):
            state = self.activation("tanh")(self.affine(state, W_hh, P[t]))
            outputs.append(state)
        return self.stack(outputs, 0), state

    def scan(self, body, carry, xs):
        """``body(carry, x_t) -> (carry, y_t)`` over the leading axis of the arrays of the
        dict ``xs``: (final carry, the y_t stacked). A loop here; lax.scan in JAX."""
        ys = []
        for t in range(self.shape(next(iter(xs.values())))[0]):
            carry, y = body(carry, {k: v[t] for k, v in xs.items()})
            ys.append(y)
        return carry, self.stack(ys, 0)

    def affine(self, x, W, b):
        """x W + b over the last axis of ``x`` (``b``: a bias, or an array shaped as x W)."""
        return self.matmul(x, W) + b

    def log_softmax(self, x):
        """log softmax over the last axis: x - logsumexp(x)."""
        return x - self.reshape(self.logsumexp(x, -1), (*self.shape(x)[:-1], 1))

    def softmax(self, x, log_p=None):
        """softmax over the last axis; ``log_p``, if given, is log_softmax(x) already."""
        return self.exp(self.log_softmax(x) if log_p is None else log_p)

    def embedding_grad(self, ids, grad, num_rows):
        """The gradient of the lookup ``table[ids]`` for the rows' gradient ``grad`` (m, h):
        ``one_hot(ids)^T grad``, which frameworks can do as a scatter-add."""
        return self.matmul(self.transpose(self.one_hot(ids, num_rows, self.dtype_name(grad)),
                                          (1, 0)), grad)

    def argmax(self, x, axis):
        return x.argmax(axis)

    def maximum(self, x, y):
        """Elementwise max of an array and a number."""
        return np.maximum(x, y)

    # Where compile() specialises to array shapes, the fast path can pad the last, shorter
    # batch instead of compiling a second time for it: for these ways of differentiating
    # ("bptt", "autograd"), whichever measured faster padded.
    pad_last_batch = ()

    def compile(self, fn):
        """``fn`` (a function of arrays that touches nothing else) compiled by the framework
        (jax.jit, tf.function); frameworks without a compiler run it as it is."""
        return fn

    @staticmethod
    def kind(recurrence):
        """What a compiled function built around ``recurrence`` depends on: the class of the
        model it is a method of and the network of cells it runs (the parameters come as
        arguments, and the sizes from them), not the instance."""
        owner = getattr(recurrence, "__self__", None)
        if owner is None:
            return recurrence
        return type(owner), recurrence.__func__, getattr(owner, "network", None)

    # Compiled functions kept (least recently used out first): a sweep over learning rates
    # compiles one step per rate, which must not pile up for ever.
    cache_size = 32

    def cached(self, key, build):
        """``self.compile(build())``, built once per ``key``: compiling costs seconds."""
        cache = self.__dict__.setdefault("_cache", collections.OrderedDict())
        if key in cache:
            cache.move_to_end(key)
        else:
            cache[key] = self.compile(build())
            while len(cache) > self.cache_size:
                cache.popitem(last=False)
        return cache[key]

    # How the fast path differentiates the scratch RNN (d2lrnn.training.gradients): "autograd" (the
    # framework's), "bptt" (the hand-written backward pass of d2lrnn.maths.bptt, in its arrays) or
    # "fused" (a kernel of the backend's own: fused_loss_and_grads), whichever measured
    # faster; all give the reference's numbers (tests/test_parity.py). The concise RNN is
    # always differentiated by its framework.
    fast_grads = "autograd"

    def fused_loss_and_grads(self, params, X, Y):
        """The section's language model's loss and gradients in one fused kernel (where
        ``fast_grads`` is "fused")."""
        raise BadType(f"the {self.name} backend has no fused kernel")

    def fused_loss(self, params, X, Y):
        """Its loss alone, fused likewise."""
        raise BadType(f"the {self.name} backend has no fused kernel")

    # -- autograd -----------------------------------------------------------------------
    def value_and_grad(self, fn, params):
        """``fn(params)`` and its gradient with respect to each entry of the dict ``params``.

        Returns ``(value, grads)``: the scalar value as a framework array and a dict with the
        same keys as ``params``, computed by the framework's own automatic differentiation.
        """
        raise BadType(f"the {self.name} backend has no automatic differentiation; the "
                        f"language model's gradients are written by hand there "
                        f"(d2lrnn.training.gradients)")

    def value_and_grad_fn(self, fn):
        """``params -> (fn(params), gradients)`` as one function (which can be compiled)."""
        return lambda params: self.value_and_grad(fn, params)

    # Whether the framework traces Python on every eager call (JAX): code that runs at every
    # step is then compiled once per model kind (d2lrnn.training.gradients), or each step re-traces.
    traces_eagerly = False
