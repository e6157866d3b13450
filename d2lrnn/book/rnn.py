"""The section's models, written once for every backend (d2l.ai 9.4-9.6, and the gated cells
of 10.1-10.2): generic over an :class:`~d2lrnn.base.adapter.Ops` adapter, with the maths of
:mod:`d2lrnn.maths.equations`; :func:`bind` makes the classes and functions a backend exports.
"""
import collections.abc
import functools
import warnings

import numpy as np

from .. import cells
from ..base import checks
from ..base.adapter import DeviceWarning
from ..base.backend import ACTIVATIONS, check_float_dtype
from ..base.errors import BadArgument, BadKey, BadType, NotAvailable
from ..maths.equations import (
    cross_entropy,
    embed,
    mlp_forward,
    output_layer,
    rnn_forward,
    zero_state,
)
from ..training import generation, gradients

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


# -- the models ----------------------------------------------------------------------------


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


class Model:
    """Parameters held as named attributes (as in the book), viewed as a dict by name.

    :func:`bind` puts each backend's book ``Module`` (an ``nn.Module``, a Gluon ``Block``, ...)
    behind these classes, and each parameter is that framework's kind (``ops.parameter``).
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


class MLP(Model):
    """The network without hidden state: H = φ(X W_xh + b_h), O = H W_hq + b_q (9.4.3-4)."""

    param_names = ("W_xh", "b_h", "W_hq", "b_q")

    def __init__(self, num_inputs, num_hiddens, num_outputs, sigma=0.01, *, phi="tanh",
                 dtype="float32", seed=None):
        super().__init__()
        self.num_inputs, self.num_hiddens, self.num_outputs = num_inputs, num_hiddens, num_outputs
        self.phi, self.dtype, self.sigma, self.seed = phi, dtype, sigma, seed
        self.made()

    def validate(self):
        self._set_field("dtype", check_float_dtype(self.dtype))
        for name in ("num_inputs", "num_hiddens", "num_outputs"):
            checks.whole(getattr(self, name), name, "MLP")
        check_common(self, "MLP")
        if self.phi not in ACTIVATIONS:
            raise BadArgument(f"MLP: phi must be one of {ACTIVATIONS}, got {self.phi!r}")

    def draw_params(self):
        self._init_params()

    def shapes(self):
        return {"W_xh": (self.num_inputs, self.num_hiddens), "b_h": (self.num_hiddens,),
                "W_hq": (self.num_hiddens, self.num_outputs), "b_q": (self.num_outputs,)}

    def hidden(self, X):
        """H = φ(X W_xh + b_h) for X of shape (batch_size, num_inputs)."""
        return self(X)[0]

    def forward(self, X):
        """Return (H, O) for X of shape (batch_size, num_inputs)."""
        X = as_input(self.ops, X, "MLP", [("batch_size", None),
                                          ("num_inputs", self.num_inputs)], self.dtype)
        return mlp_forward(self.ops, self.book_params, X, self.phi)


class RNNScratch(Model):
    """The RNN with hidden state, from scratch: H_t = tanh(X_t W_xh + H_{t-1} W_hh + b_h)."""

    param_names = ("W_xh", "W_hh", "b_h")
    cell = cells.CELLS["rnn"]  # its step is written out here, as the section writes it
    has_fast_path = True  # d2lrnn.training.train's fast path computes this model
    computing = (*Model.computing, "recurrence", "fast_recurrence")

    @property
    def network(self):
        """The cells this model runs (:class:`~d2lrnn.cells.Network`): one tanh layer."""
        return cells.Network.single(self.cell)

    @property
    def num_outputs(self):
        """The width of each step's output: num_hiddens."""
        return self.num_hiddens

    def __init__(self, num_inputs, num_hiddens, sigma=0.01, *, dtype="float32", seed=None):
        super().__init__()
        self.num_inputs, self.num_hiddens, self.sigma, self.seed = (num_inputs, num_hiddens,
                                                                    sigma, seed)
        self.dtype = dtype
        self.made()

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
        return {"W_xh": (self.num_inputs, self.num_hiddens),
                "W_hh": (self.num_hiddens, self.num_hiddens), "b_h": (self.num_hiddens,)}

    def require_built(self):
        if not self.built:
            raise NotAvailable(f"{type(self).__name__}(num_hiddens={self.num_hiddens}) has no "
                               f"parameters yet: its input size is learnt at the first call "
                               f"(or from the language model's vocab_size); call it once, or "
                               f"pass num_inputs=")

    def forward(self, inputs, state=None, training=None):
        """inputs (num_steps, batch_size, num_inputs) -> ([H_1, ..., H_T], H_T).

        ``state`` is H_0 of shape (batch_size, num_hiddens), alone or in a one-element
        tuple ``(H_0,)`` as the book passes it; zeros when not given. ``training`` is
        accepted for the book's JAX cells, which pass it; this RNN has no dropout, so it
        changes nothing.
        """
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

    state_names = ("H",)

    def initial_state(self, state, batch_size):
        """The state as the recurrence takes it (H; a tuple for cells), checked: zeros where
        ``state`` is None; an array, or the book's tuple of arrays."""
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
        """The list of state arrays as :meth:`recurrence` takes it: H alone here."""
        return state[0]

    def recurrence(self, params, inputs, state):
        """The time loop on given parameters: ([H_1 .. H_T], H_T)."""
        return rnn_forward(self.ops, params, inputs, state)

    @property
    def fast_grads(self):
        """How the fast path differentiates this RNN (the backend's ``Ops.fast_grads``)."""
        return self.ops.fast_grads

    def fast_recurrence(self, params, X_tm, state):
        """The fast path's time loop, from token ids (T, n) and H_0 (None: zeros): the
        input term looked up for every step at once, then the loop (lax.scan in JAX)."""
        state = zero_state(self.ops, params, X_tm) if state is None else state
        return self.ops.scan_tanh(embed(self.ops, params, X_tm), state, params["W_hh"])


class RNN(RNNScratch):
    """The concise RNN: the framework's own recurrent layer (torch.nn.RNN, Keras SimpleRNN,
    a Flax SimpleCell, MXNet's fused RNN operator) with the same W_xh, W_hh, b_h.

    ``forward`` returns the stacked hidden states (num_steps, batch_size, num_hiddens) and
    the final state.
    """

    def __init__(self, num_inputs, num_hiddens, sigma=0.01, *, dtype="float32", seed=None):
        if not self.ops.has_cell_layer(self.cell):
            raise BadType(f"the {self.ops.name} backend has no recurrent layer of its own; "
                          f"use RNNScratch (or the torch, jax, tensorflow or mxnet backend)")
        super().__init__(num_inputs, num_hiddens, sigma, dtype=dtype, seed=seed)

    def build(self, num_inputs):
        super().build(num_inputs)
        self.ops.prepare_cell_layer(self.cell, num_inputs, self.num_hiddens, self.dtype)

    def forward(self, inputs, H=None, training=None):
        """inputs (num_steps, batch_size, num_inputs) -> (stacked H (num_steps, batch_size,
        num_hiddens), H_T); ``H`` is H_0 (zeros when not given), as the book names it.

        A reader's subclass built as the book builds its GRU (10.2: ``d2l.Module.__init__``,
        the framework's layer in ``self.rnn``, no forward of its own) runs that layer as the
        book's ``RNN.forward`` does in its framework."""
        if not is_package_model(self):
            return self.layer_forward(inputs, H)
        return super().forward(inputs, H, training)

    def recurrence(self, params, inputs, state):
        state = zero_state(self.ops, params, inputs) if state is None else state
        outputs, (H,) = self.ops.cell_layer(self.cell, params, inputs, (state,))
        return outputs, H

    fast_grads = "autograd"  # the framework's layer, differentiated by the framework

    def fast_recurrence(self, params, X_tm, state):
        """The framework's layer on one-hot inputs: it projects all steps in one product."""
        vocab_size = self.ops.shape(params["W_xh"])[0]
        inputs = self.ops.one_hot(X_tm, vocab_size, self.ops.dtype_name(params["W_xh"]))
        state = zero_state(self.ops, params, X_tm) if state is None else state
        outputs, (H,) = self.ops.cell_layer(self.cell, params, inputs, (state,))
        return outputs, H


class LazyRNN(RNN):
    """The concise RNN as the book builds it where the framework's layer learns its input
    size at the first call (Gluon, Keras, Flax): ``RNN(num_hiddens)``."""

    def __init__(self, num_hiddens, *, num_inputs=None, sigma=0.01, dtype="float32",
                 seed=None):
        super().__init__(num_inputs, num_hiddens, sigma, dtype=dtype, seed=seed)


class RNNLMScratch(Model):
    """The character-level language model: one-hot tokens -> RNN -> O_t = H_t W_hq + b_q.

    The RNN is one of the package's models, or a reader's own (a ``d2l.Module`` with
    ``num_hiddens``, as the book's chapter 10 passes its GRUs and LSTMs): the model then runs
    it as it is, with W_hq drawn from the RNN's ``sigma`` (0.01 where it has none), as the
    book's, and the package's extras that need its equations say so."""

    computing = (*Model.computing, "one_hot", "output_layer", "init_params")
    # With a reader's RNN, whether the output layer is the framework's own dense layer (the
    # book's concise RNNLM) rather than W_hq, b_q.
    framework_output_layer = False

    def __init__(self, rnn, vocab_size, lr=0.01, *, seed=None):
        super().__init__()
        self.rnn, self.vocab_size, self.lr, self.seed = rnn, vocab_size, lr, seed
        self.made()

    def validate(self):
        where = type(self).__name__
        checks.whole(self.vocab_size, "vocab_size", where)
        checks.real(self.lr, "lr", where, above=0)
        if self.seed is not None:
            checks.whole(self.seed, "seed", where, least=0)
        self._check_rnn(self.rnn, self.vocab_size)

    def draw_params(self):
        self.init_params()

    @property
    def dtype(self):
        return getattr(self.rnn, "dtype", "float32")  # a reader's RNN may not say

    @property
    def runs_readers_rnn(self):
        """Whether the RNN is a reader's own (see :func:`is_package_model`)."""
        return not is_package_model(self.rnn)

    @property
    def uses_framework_output(self):
        """Whether the output layer is the framework's dense layer ``self.linear``."""
        return self.framework_output_layer and self.runs_readers_rnn

    def _check_rnn(self, rnn, vocab_size):
        where = type(self).__name__
        theirs = getattr(rnn, "ops", None)
        if not callable(rnn) or (theirs is not None and theirs is not self.ops):
            raise BadType(f"{where}: rnn must be a model of the {self.ops.name} backend "
                            f"(RNNScratch, RNN or your own d2l.Module), got "
                            f"{type(rnn).__module__}.{type(rnn).__name__}")
        if not is_package_model(rnn):
            if not self.uses_framework_output and getattr(rnn, "num_hiddens", None) is None:
                raise BadType(f"{where}: your {type(rnn).__name__} has no num_hiddens, the "
                                f"width of W_hq: save it in its __init__ "
                                f"(self.save_hyperparameters())")
            return
        if isinstance(rnn, RNNScratch) and not rnn.built:
            rnn.build(vocab_size)  # one-hot tokens: the RNN's input size is vocab_size
        if isinstance(rnn, RNNScratch) and rnn.num_inputs != vocab_size:
            raise BadArgument(f"{where}: the RNN takes one-hot tokens, so its "
                             f"num_inputs ({rnn.num_inputs}) must equal vocab_size "
                             f"({vocab_size})")

    def output_shapes(self):
        """W_hq takes the RNN's outputs: num_hiddens wide, twice that for a bidirectional
        RNN (its ``num_outputs``); nothing where the framework's layer is the output."""
        if self.uses_framework_output:
            return {}
        width = getattr(self.rnn, "num_outputs", None) or self.rnn.num_hiddens
        return {"W_hq": (width, self.vocab_size), "b_q": (self.vocab_size,)}

    def init_params(self):
        """The output layer W_hq (h×V) and b_q (V), as the RNN's σ and dtype (the book's
        hook: a reader's model makes its own output layer here); with a reader's RNN in the
        concise model, the framework's dense layer as the book's."""
        if self.uses_framework_output:
            self.make_linear(self.vocab_size)
        else:
            self._init_params()

    def initial_arrays(self):
        return draw(self.output_shapes(), getattr(self.rnn, "sigma", 0.01), self.dtype,
                    self.seed)

    @property
    def param_names(self):
        """The RNN's parameters (those of its cells), then the output layer's."""
        rnn = self.rnn.param_names if not self.runs_readers_rnn else ()
        return (*rnn, *self.output_shapes())

    def submodels(self):
        return (("", self.rnn),) if not self.runs_readers_rnn else ()

    def require_package_maths(self, what):
        """Raise a clear error where ``what`` needs the package's equations and this model
        (or its RNN) runs code of a reader's."""
        if is_package_model(self) and not self.runs_readers_rnn:
            return
        mine = self if not is_package_model(self) else self.rnn
        if what in ("get_params", "set_params"):
            advice = "its parameters are its framework's (model.parameters() in PyTorch, " \
                     "trainer.state.params in JAX, ...)"
        elif self.ops.has_autograd:
            advice = "train it with d2l.Trainer, as the book does, which runs your code"
        else:
            advice = (f"the {self.ops.name} backend has no autograd to differentiate your "
                      f"code: use torch, jax, tensorflow or mxnet")
        raise BadType(f"{what} computes the package's own equations (RNNScratch, RNN, "
                        f"GRUScratch, ...); this {type(self).__name__} runs your own "
                        f"{type(mine).__name__}: {advice}")

    def get_params(self):
        self.require_package_maths("get_params")
        return super().get_params()

    def set_params(self, params):
        self.require_package_maths("set_params")
        return super().set_params(params)

    def tokens(self, X, where):
        """Check token ids (batch_size, num_steps) and convert them."""
        X = as_input(self.ops, X, where, [("batch_size", None), ("num_steps", None)])
        check_token_range(self.ops, X, self.vocab_size, where)
        return X

    def one_hot(self, X):
        """Token ids (batch_size, num_steps) -> (num_steps, batch_size, vocab_size)."""
        X = self.tokens(X, "RNNLMScratch.one_hot")
        return self.ops.one_hot(self.ops.transpose(X, (1, 0)), self.vocab_size, self.dtype)

    def output_layer(self, rnn_outputs):
        """[H_1 .. H_T] -> logits (batch_size, num_steps, vocab_size), by (9.4.6)."""
        return output_layer(self.ops, self.book_params, rnn_outputs)

    def forward(self, X, state=None):
        """Token ids (batch_size, num_steps) -> logits (batch_size, num_steps, vocab_size)."""
        rnn_outputs, _ = self.rnn(self.one_hot(X), state)
        return self.output_layer(rnn_outputs)

    def training_step(self, batch):
        loss = self.loss(self(*batch[:-1]), batch[-1])
        self.plot("ppl", self.ops.exp(loss), train=True)
        return loss

    def validation_step(self, batch):
        loss = self.loss(self(*batch[:-1]), batch[-1])
        self.plot("ppl", self.ops.exp(loss), train=False)

    @on_model_device
    def loss(self, Y_hat, Y):
        """Mean cross-entropy of logits ``Y_hat`` against target ids ``Y``."""
        Y = self.tokens(Y, "RNNLMScratch.loss targets")
        if self.ops.shape(Y) != self.ops.shape(Y_hat)[:2]:
            raise BadArgument(f"RNNLMScratch.loss: targets of shape {self.ops.shape(Y)} do not "
                             f"match logits of shape {self.ops.shape(Y_hat)}")
        return cross_entropy(self.ops, Y_hat, Y)

    def perplexity(self, X, Y):
        """exp(mean cross-entropy) of predicting ``Y`` from ``X``, as a Python float."""
        return float(np.exp(float(self.ops.to_numpy(self.loss(self(X), Y)))))

    def loss_and_grads_fn(self, params, X, Y):
        """Loss and gradients at ``params`` (framework arrays; X, Y already converted): the
        framework's autograd, or where it has none (NumPy) the backward pass by hand."""
        self.require_package_maths("loss_and_grads")
        return gradients.lm_loss_and_grads(self.ops, params, X, Y, self.rnn.recurrence,
                                           getattr(self.rnn, "network", None))

    def assign(self, params):
        """Set parameters from framework arrays of the right dtype (no checks, no copies)."""
        for name, value in params.items():
            self._set_param(name, value)

    def predict(self, prefix, num_preds, vocab, device=None, *, temperature=0.0, top_k=None,
                top_p=None, seed=None):
        """Continue ``prefix`` by ``num_preds`` characters (d2l.ai section 9.5): greedy by
        default, as the book, or sampled (:func:`d2lrnn.training.generation.predict` does it).
        The model computes on the device its parameters are on; ``device`` is the book's
        argument, where the book's model should be (a warning says so if it is not)."""
        if device is not None and self.ops.device_name(device) != self.ops.device_name(
                self.device):  # the book's device where the model is: quiet
            warnings.warn(f"predict: the model's parameters are on "
                          f"{self.ops.device_name(self.device)}, not on "
                          f"{self.ops.device_name(device)}: computing where they are (move "
                          f"the model first to compute on {self.ops.device_name(device)})",
                          DeviceWarning, stacklevel=2)
        with self.ops.on(self.device):
            return generation.predict(self, prefix, num_preds, vocab, temperature=temperature,
                                      top_k=top_k, top_p=top_p, seed=seed)

class RNNLM(RNNLMScratch):
    """The concise language model (the book's name): give it an :class:`RNN`, or a reader's
    RNN on the framework's layers (chapter 10's ``GRU``, ``LSTM``), which then gets the
    framework's dense layer as its output layer, as the book's."""

    framework_output_layer = True

    def output_layer(self, hiddens):
        """Stacked hidden states (T, n, h) -> logits (n, T, V), by (9.4.6)."""
        if self.uses_framework_output:
            if isinstance(hiddens, (list, tuple)):
                hiddens = self.ops.stack(hiddens, 0)
            return self.ops.transpose(self.linear(hiddens), (1, 0, 2))
        return output_layer(self.ops, self.book_params, hiddens)


# -- functions every backend exports -------------------------------------------------------


def concat_demo(ops, X=None, W_xh=None, H=None, W_hh=None, *, seed=0, dtype="float32"):
    """``X W_xh + H W_hh`` equals ``[X, H] [W_xh; W_hh]``: both computed, and their largest
    difference.

    Arguments left out are drawn from N(0, 1) with the book's shapes X (3, 1), W_xh (1, 4),
    H (3, 4), W_hh (4, 4). Returns a dict with 'separate', 'concatenated' (framework
    arrays) and 'max_difference' (a float).
    """
    dtype = check_float_dtype(dtype)
    rng = np.random.default_rng(seed)
    given = {"X": X, "W_xh": W_xh, "H": H, "W_hh": W_hh}
    default_shapes = {"X": (3, 1), "W_xh": (1, 4), "H": (3, 4), "W_hh": (4, 4)}
    arrays = {k: rng.normal(size=default_shapes[k]).astype(dtype) if v is None else v
              for k, v in given.items()}
    n, d = np.shape(arrays["X"]) if not ops.is_tensor(arrays["X"]) else ops.shape(arrays["X"])
    h = (np.shape(arrays["W_xh"]) if not ops.is_tensor(arrays["W_xh"])
         else ops.shape(arrays["W_xh"]))[-1]
    expected = {"X": [("n", n), ("d", d)], "W_xh": [("d", d), ("h", h)],
                "H": [("n", n), ("h", h)], "W_hh": [("h", h), ("h", h)]}
    a = {k: as_input(ops, v, f"concat_demo {k}", expected[k], dtype) for k, v in arrays.items()}
    separate = ops.matmul(a["X"], a["W_xh"]) + ops.matmul(a["H"], a["W_hh"])
    concatenated = ops.matmul(ops.concat([a["X"], a["H"]], 1),
                              ops.concat([a["W_xh"], a["W_hh"]], 0))
    return {"separate": separate, "concatenated": concatenated,
            "max_difference": ops.max_abs(separate - concatenated)}


def loss_and_grads(ops, model, X, Y):
    """The language model's loss on (X, Y) and its gradient for every parameter.

    Returns ``(loss, grads)``: a float and a dict of NumPy arrays keyed by the book's
    parameter names, computed by the framework's own autograd (by hand in NumPy).
    """
    with ops.on(model.device):
        X = model.tokens(X, "loss_and_grads inputs")
        Y = model.tokens(Y, "loss_and_grads targets")
        if ops.shape(X) != ops.shape(Y):
            raise BadArgument(f"loss_and_grads: inputs {ops.shape(X)} and targets "
                             f"{ops.shape(Y)} must have the same shape (batch_size, "
                             f"num_steps)")
        value, grads = model.loss_and_grads_fn(model.book_params, X, Y)
    return float(ops.to_numpy(value)), {k: ops.to_numpy(g) for k, g in grads.items()}


def bind_functions(ops):
    """``concat_demo`` and ``loss_and_grads`` for one backend."""
    def partial(fn):
        bound = functools.partial(fn, ops)
        functools.update_wrapper(bound, fn)
        return bound

    return partial(concat_demo), partial(loss_and_grads)
