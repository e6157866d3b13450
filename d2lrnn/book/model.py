"""The ground floor of the book's models, written once for every backend: what a model checks
in what its users pass in, whether a model is the package's own or a reader's (the package's
extras need its equations), :class:`Model` (parameters by the book's names) and
:class:`Recurrent` (what every recurrent network here shares). The models are
:mod:`d2lrnn.book.rnn` and :mod:`d2lrnn.book.modern`.
"""
import collections.abc
import functools

import numpy as np

from .. import cells
from ..base import checks
from ..base.backend import check_float_dtype
from ..base.errors import BadArgument, BadKey, BadType, NotAvailable

# -- checking what users pass in ---------------------------------------------------------


def _describe(expected):
    return "(" + ", ".join(n if v is None else f"{n}={v}" for n, v in expected) + ")"


def as_input(ops, x, where, expected, dtype=None):
    """Check ``x`` against ``expected`` [(axis name, size or None), ...] and convert it.

    ``dtype`` is the model's float dtype for real-valued inputs, or None for token ids
    (which must be integers). NumPy arrays and lists are converted to ``dtype``; another
    framework's arrays must already have it (they are checked, never silently cast).
    """
    strict = ops.is_tensor(x) and not isinstance(x, np.ndarray)
    if strict:
        got_dtype, shape = ops.dtype_name(x), ops.shape(x)
    else:
        try:
            x = np.asarray(x)
        except (TypeError, ValueError) as err:
            raise BadType(f"{where}: expected an array, got {type(x).__name__}") from err
        got_dtype, shape = x.dtype.name, x.shape
    want = _describe(expected)
    if len(shape) != len(expected) or any(v is not None and v != s
                                          for (_, v), s in zip(expected, shape)):
        raise BadArgument(f"{where}: expected shape {want}, got {tuple(shape)}")
    if 0 in tuple(shape):
        empty = [n for (n, _), size in zip(expected, shape) if size == 0]
        raise BadArgument(f"{where}: got an empty array of shape {tuple(shape)} (no "
                         f"{', no '.join(empty)}); expected at least one of each")
    kind = np.dtype(got_dtype).kind
    if dtype is None:
        if kind not in "iu":
            raise BadType(f"{where}: token ids must be integers, got dtype {got_dtype}")
        return x if strict else ops.asarray(x, "int64")
    if strict:
        if got_dtype != dtype:
            raise BadType(f"{where}: expected {dtype} values, got {got_dtype}; convert the "
                            f"input, or build the model with dtype={got_dtype!r}")
        return x
    if kind not in "fiu":
        raise BadType(f"{where}: expected real numbers, got dtype {got_dtype}")
    return ops.asarray(x, dtype)


def check_token_range(ops, ids, vocab_size, where):
    """Token ids must index the vocabulary; some frameworks would silently give zeros.
    (Values being traced for compilation cannot be read: those are not checked.)"""
    if not ops.is_concrete(ids):
        return
    values = ops.to_numpy(ids)
    if values.size and (values.min() < 0 or values.max() >= vocab_size):
        raise BadArgument(f"{where}: token ids must lie in [0, {vocab_size}) (the vocabulary "
                         f"size), got values from {values.min()} to {values.max()}")


# -- which models are the package's own ----------------------------------------------------


def is_ours(method):
    """Whether a method is written in this package (a reader's subclass, or add_to_class, may
    replace it); a method the class does not have is nobody's."""
    return method is None or getattr(method, "__module__", "").startswith("d2lrnn.")


def computes_package_maths(cls):
    """Whether every computing method of class ``cls`` is the package's own."""
    return all(is_ours(getattr(cls, name, None)) for name in cls.computing)


def made_by_package(model):
    """Whether the package's constructor made ``model``'s parameters (a reader's subclass
    may bypass it, as the book's ``class LSTM(d2l.RNN)`` does)."""
    return isinstance(model, Model) and bool(vars(model).get("_made"))


def is_package_model(model):
    """Whether ``model`` computes this package's equations on the parameters its constructor
    made: one of the package's models, not a reader's class built on one the book's way (the
    book's ``class LSTM(d2l.RNN)`` calls ``d2l.Module.__init__`` and keeps a framework layer
    in ``self.rnn``; a Flax subclass brings its own ``__call__``) nor one whose computing
    methods a reader replaced. Only such models have the package's extras: parameters by the
    book's names (get_params, checkpoints), its gradients and its fast path."""
    return made_by_package(model) and computes_package_maths(type(model))


# -- the models' ground floor --------------------------------------------------------------


def draw(shapes, sigma, dtype, seed):
    """Weights from N(0, σ²) drawn by NumPy (so every backend can start identically for the
    same seed), biases (1-D shapes) zero: {name: NumPy array of ``dtype``}."""
    rng = np.random.default_rng(seed)
    return {name: (rng.normal(0.0, sigma, shape) if len(shape) == 2
                   else np.zeros(shape)).astype(dtype) for name, shape in shapes.items()}


def check_common(model, where):
    """The arguments every model has: σ (finite, >= 0) and the seed (None or >= 0)."""
    checks.real(model.sigma, "sigma", where, least=0)
    if model.seed is not None:
        checks.whole(model.seed, "seed", where, least=0)


def on_model_device(method):
    """Run a model's method on the device its parameters are on: the arrays it makes (inputs
    converted from NumPy, zero states, one-hot vectors) are made there."""
    @functools.wraps(method)
    def on_device(self, *args, **kwargs):
        with self.ops.on(self.device):
            return method(self, *args, **kwargs)
    return on_device


class Model:
    """Parameters held as named attributes (as in the book), viewed as a dict by name.

    :func:`~d2lrnn.book.bind.bind` puts each backend's book ``Module`` (an ``nn.Module``, a
    Gluon ``Block``, ...) behind these classes, and each parameter is that framework's kind
    (``ops.parameter``).
    """

    ops = None  # the backend's adapter, set by bind()
    family = None  # {name: class} of the models bound to the same backend, set by bind()
    param_names = ()  # every parameter, by the book's names (a part's behind its prefix)
    # The methods by which a model computes (see is_package_model).
    computing = ("__call__", "forward", "setup")

    @on_model_device
    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    @property
    def device(self):
        """The device this model's parameters are on (where the adapter makes arrays now,
        before it has any)."""
        first = None
        if is_package_model(self):
            try:
                first = next(iter(self.book_params.values()), None)
            except RuntimeError:  # not built yet (its input size is learnt at the first call)
                first = None
        if first is not None:
            return self.ops.device_of(first)
        found = self.framework_device()  # a reader's model: its framework's parameters
        return found if found is not None else self.ops.device or self.ops.cpu_device()

    def place(self, device):
        """Move every parameter to ``device`` (a device of the framework, as ``d2l.gpu()``
        or ``d2l.cpu()`` give): PyTorch's ``model.to(device)``, in every backend."""
        for _, model in self.submodels():
            if isinstance(model, Model):
                model.place(device)
        inherited = {prefix + name for prefix, model in self.submodels()
                     for name in getattr(model, "param_names", ())}
        with self.ops.on(device):
            for name, value in self.book_params.items():
                if name not in inherited:
                    self._replace_param(name, self.ops.to_device(value, device))
        return self

    def _replace_param(self, name, value):
        """Put a new parameter holding ``value`` in place of ``name`` (on value's device)."""
        setattr(self, name, self.ops.parameter(value))

    def submodels(self):
        """(prefix, model) pairs: the models whose parameters this one holds too, named
        behind the prefix (a language model's RNN: none; a deep RNN's layers: ``rnns.0.``)."""
        return ()

    def made(self):
        """What follows setting the constructor's arguments as attributes, in every backend
        (a Flax module's ``__post_init__`` runs it too): check them, draw the parameters."""
        self.validate()
        self.draw_params()
        self._set_field("_made", True)  # the package's constructor ran (is_package_model)

    def validate(self):
        """Refuse arguments that are not what the model takes, naming them."""

    def draw_params(self):
        """Make the parameters, where their shapes are known."""

    def initial_arrays(self):
        """The parameters' first values as NumPy arrays: N(0, σ²) weights, zero biases."""
        return draw(self.shapes(), self.sigma, self.dtype, self.seed)

    def _init_params(self):
        for name, value in self.initial_arrays().items():
            setattr(self, name, self.ops.parameter(self.ops.asarray(value, self.dtype)))

    @property
    def book_params(self):
        """The framework arrays, by the book's names (not `params`: Gluon has that)."""
        self.require_built()
        found = {}
        for prefix, model in self.submodels():
            found.update({prefix + name: value for name, value in
                          getattr(model, "book_params", {}).items()})
        return {name: found[name] if name in found else getattr(self, name)
                for name in self.param_names}

    def require_built(self):
        """Raise a clear error where the parameters do not exist yet."""

    def get_params(self):
        """Every parameter as a NumPy array, by the book's names."""
        return {name: self.ops.to_numpy(value) for name, value in self.book_params.items()}

    def set_params(self, params):
        """Load parameters by name, e.g. from another backend's :meth:`get_params`.

        The names must be exactly :attr:`param_names` and the shapes must match; values are
        converted to this model's dtype.
        """
        if not isinstance(params, collections.abc.Mapping):
            raise BadType(f"{type(self).__name__}.set_params: expected a mapping of "
                            f"parameter names to arrays (as get_params() returns), got "
                            f"{type(params).__name__}")
        names = set(params)
        if names != set(self.param_names):
            raise BadKey(f"{type(self).__name__}.set_params: expected exactly the "
                           f"parameters {sorted(self.param_names)}; missing "
                           f"{sorted(set(self.param_names) - names)}, unexpected "
                           f"{sorted(names - set(self.param_names))}")
        current = self.book_params
        for name, value in params.items():
            value = np.asarray(value if not self.ops.is_tensor(value)
                               else self.ops.to_numpy(value))
            want = self.ops.shape(current[name])
            if value.shape != want:
                raise BadArgument(f"{type(self).__name__}.set_params: {name} must have shape "
                                 f"{want}, got {value.shape}")
        values = {name: np.asarray(value if not self.ops.is_tensor(value)
                                    else self.ops.to_numpy(value))
                  for name, value in params.items()}
        odd = sorted(f"{name} ({value.dtype})" for name, value in values.items()
                     if value.dtype.kind not in "iuf")
        if odd:
            raise BadType(f"{type(self).__name__}.set_params: parameters are numbers; "
                            f"{', '.join(odd)} {'is' if len(odd) == 1 else 'are'} not")
        checks.finite_arrays(values, f"{type(self).__name__}.set_params")
        for name, value in values.items():
            self._set_param(name, self.ops.asarray(value, self.dtype))

    def _set_param(self, name, value):
        for prefix, model in self.submodels():
            if name.startswith(prefix) and name[len(prefix):] in model.param_names:
                return model._set_param(name[len(prefix):], value)
        return self._set_own_param(name, value)

    def _set_own_param(self, name, value):
        self.ops.assign(self, name, value)

    def _set_field(self, name, value):
        """Set an attribute that the constructor set (a Flax module's fields are frozen)."""
        setattr(self, name, value)


class Recurrent(Model):
    """What every recurrent network here shares (:class:`~d2lrnn.book.rnn.RNNScratch`, the
    gated cells, deep and bidirectional networks): its arguments, checked; its parameters,
    drawn once its input size is known; its inputs and state, checked before its time loop
    (:meth:`recurrence`, each model's own) runs on them."""

    cell = None  # the d2lrnn.cells.Cell it runs
    has_fast_path = True  # d2lrnn.training.fast computes every recurrent network here
    computing = (*Model.computing, "recurrence", "fast_recurrence")

    def __init__(self, num_inputs, num_hiddens, sigma=0.01, *, dtype="float32", seed=None):
        super().__init__()
        self.num_inputs, self.num_hiddens, self.sigma, self.seed = (num_inputs, num_hiddens,
                                                                    sigma, seed)
        self.dtype = dtype
        self.made()

    @property
    def network(self):
        """The cells this model runs (:class:`~d2lrnn.cells.Network`): one layer here."""
        return cells.Network.single(self.cell)

    @property
    def param_names(self):
        return tuple(self.network.shapes(1, 1))

    @property
    def state_names(self):
        return self.network.layers[0].cell.state_names

    @property
    def num_outputs(self):
        """The width of each step's output: num_hiddens (twice that, bidirectional)."""
        return self.network.num_outputs(self.num_hiddens)

    def validate(self):
        where = type(self).__name__
        self._set_field("dtype", check_float_dtype(self.dtype))
        if self.num_inputs is not None:
            checks.whole(self.num_inputs, "num_inputs", where)
        checks.whole(self.num_hiddens, "num_hiddens", where)
        check_common(self, where)

    def draw_params(self):
        if self.num_inputs is not None:
            self.build(self.num_inputs)

    def build(self, num_inputs):
        """Draw the parameters for inputs of ``num_inputs`` features. Done at construction
        when the size is given; else (the book's ``RNN(num_hiddens)`` in MXNet, TensorFlow
        and JAX) by the language model, which knows its vocabulary, or at the first call."""
        self._set_field("num_inputs", num_inputs)
        self._init_params()

    @property
    def built(self):
        return self.num_inputs is not None

    def shapes(self):
        return self.network.shapes(self.num_inputs, self.num_hiddens)

    def require_built(self):
        if not self.built:
            raise NotAvailable(f"{type(self).__name__}(num_hiddens={self.num_hiddens}) has no "
                               f"parameters yet: its input size is learnt at the first call "
                               f"(or from the language model's vocab_size); call it once, or "
                               f"pass num_inputs=")

    def forward(self, inputs, state=None, training=None):
        """inputs (num_steps, batch_size, num_inputs) -> (outputs, final state), the state
        checked (zeros when not given) and the time loop run on this model's parameters.
        ``training`` is accepted for the book's JAX cells, which pass it; these networks
        have no dropout, so it changes nothing."""
        if not self.built and not isinstance(inputs, (list, tuple)):
            shape = (self.ops.shape(inputs) if self.ops.is_tensor(inputs)
                     else np.shape(inputs))
            if len(shape) == 3:
                self.build(int(shape[-1]))
        inputs = as_input(self.ops, inputs, f"{type(self).__name__}.forward inputs",
                          [("num_steps", None), ("batch_size", None),
                           ("num_inputs", self.num_inputs)], self.dtype)
        state = self.initial_state(state, self.ops.shape(inputs)[1])
        return self.recurrence(self.book_params, inputs, state)

    def initial_state(self, state, batch_size):
        """The state as the recurrence takes it, checked: zeros where ``state`` is None; an
        array, or the book's tuple of arrays."""
        return self.packed_state(self.checked_state(self.state_names, state, batch_size))

    def checked_state(self, names, state, batch_size, where=""):
        """A state of the arrays ``names`` (each (batch_size, num_hiddens)) as a list,
        checked and converted; zeros where ``state`` is None."""
        if state is not None and not isinstance(state, (tuple, list)):
            state = (state,)
        where = f"{type(self).__name__}.forward{where}"
        if state is not None and len(state) != len(names):
            raise BadArgument(f"{where}: the state is ({', '.join(names)}): "
                             f"{len(names)} array(s), got {len(state)}")
        return [self.ops.zeros((batch_size, self.num_hiddens), self.dtype)
                if state is None else as_input(
                    self.ops, value, f"{where} state {name}",
                    [("batch_size", batch_size), ("num_hiddens", self.num_hiddens)],
                    self.dtype) for name, value in zip(names, state or names)]

    def packed_state(self, state):
        """The list of state arrays as :meth:`recurrence` takes it: a cell's state tuple."""
        return tuple(state)

    def recurrence(self, params, inputs, state):
        """The time loop on given parameters: (outputs, final state)."""
        raise NotImplementedError(f"{type(self).__name__} must define recurrence()")
