"""The book's library surface in JAX: Flax modules, a Trainer with a Flax TrainState, and the
helpers the RNN sections call (d2l.ai 3.2, 4.3, 9.5, 9.6).

In JAX the book's models are Flax ``linen`` modules: dataclasses whose parameters live
outside them (``model.init``, ``trainer.state.params``). The section's models here are such
modules too, and they also keep a copy of their parameters, drawn by NumPy from ``seed`` as
in every backend, so that ``model(X)``, ``get_params`` and ``set_params`` work without
``apply`` like the other backends.
"""
import dataclasses
import inspect
from typing import Any

import numpy as np

from ..base.backend import import_framework
from ..base.errors import BadType
from ..book import rnn as shared
from ..book.library import (
    HyperParameters,
    ModuleMixin,
    TrainerBase,
    accuracy,
    device_helpers,
    method_helper,
)
from ..training.train import clip_gradients as clip_by_global_norm
from .ops import jax, jnp, ops

nn = import_framework("flax.linen", "jax")


class Module(nn.Module, ModuleMixin, HyperParameters):
    """The base of models: a Flax module. Called before it is bound (outside ``apply``),
    a module of this package runs on its own copy of its parameters."""

    ops = ops

    @classmethod
    def framework_class(cls, shared_class, name, module, ops):
        """A Flax module: the constructor's parameters of the class written once are its
        fields (in order; keyword-only ones by keyword), and it keeps a copy of its
        parameters (:class:`OwnParams`)."""
        return framework_class(cls, shared_class, name, module, ops)

    def __call__(self, *args, **kwargs):
        if self.scope is None and shared.made_by_package(self):
            return self.apply({"params": self.own_params()}, *args, **kwargs)
        return self.forward(*args, **kwargs)

    def forward(self, X, *args, **kwargs):
        return self.net(X, *args, **kwargs)

    def apply_init(self, dummy_input, key):
        return self.init(key, *dummy_input)

    def configure_optimizers(self):
        return SGD(self.lr)

    def training_step(self, params, batch, state):
        """The loss ``loss(params, X, y, state)`` and its gradients at ``params``."""
        loss, grads = jax.value_and_grad(self.loss)(params, batch[:-1], batch[-1], state)
        self.plot("loss", loss, train=True)
        return loss, grads

    def validation_step(self, params, batch, state):
        self.plot("loss", self.loss(params, batch[:-1], batch[-1], state), train=False)


class Classifier(Module):
    """A model whose loss is the mean cross-entropy of its logits: ``loss(params, X, Y,
    state)`` returns ``(loss, {})`` as the book's JAX classifier (the dict: updated state)."""

    def training_step(self, params, batch, state):
        (loss, aux), grads = jax.value_and_grad(self.loss, has_aux=True)(
            params, batch[:-1], batch[-1], state)
        self.plot("loss", loss, train=True)
        return (loss, aux), grads

    def validation_step(self, params, batch, state):
        loss, _ = self.loss(params, batch[:-1], batch[-1], state)
        self.plot("loss", loss, train=False)

    def loss(self, params, X, Y, state, averaged=True):
        Y_hat = state.apply_fn({"params": params}, *X)
        return shared.cross_entropy(ops, Y_hat, Y), {}

    def accuracy(self, params, X, Y, state, averaged=True):
        """The fraction of predictions (argmax of the logits) equal to the labels ``Y``."""
        return accuracy(ops, state.apply_fn({"params": params}, *X), Y, averaged)


class LinearRegression(Module):
    """Linear regression on Flax's layer (d2l.ai 3.5), as section 9.1 trains it: one output of
    a ``Dense`` layer (its input size taken at ``init``), weights from N(0, 0.01²), half the
    squared error averaged (optax's ``l2_loss``); the parameters live in
    ``trainer.state.params``."""

    lr: float

    def setup(self):
        self.net = nn.Dense(1, kernel_init=nn.initializers.normal(0.01))

    def forward(self, X):
        return self.net(X)

    def loss(self, params, X, y, state):
        y_hat = state.apply_fn({"params": params}, *X)
        return jnp.mean(0.5 * (y_hat - y) ** 2)

    def get_w_b(self, state):
        net = state.params["net"]
        return net["kernel"], net["bias"]


class Trainer(TrainerBase):
    """Flax training: parameters in ``self.state`` (a TrainState), SGD, clipping."""

    ops = ops

    def fit(self, model, data, key=None):
        self.prepare_data(data)
        self.prepare_model(model)
        self.optim = model.configure_optimizers()
        with ops.on(self.device):  # num_gpus=1: the parameters are made on the GPU too
            dummy = self.prepare_batch(next(iter(self.train_dataloader)))[:-1]
            params = model.apply_init(dummy, key=key if key is not None else get_key())[
                "params"]
            self.state = TrainState(step=0, apply_fn=model.apply, params=params,
                                    tx=self.optim)
            self.epoch = self.train_batch_idx = self.val_batch_idx = 0
            for self.epoch in range(self.max_epochs):
                self.fit_epoch()
        if shared.made_by_package(model):  # its own copy follows the trained state
            model.load_tree(self.state.params)

    def prepare_batch(self, batch):
        """The batch as JAX arrays (of the batch's own dtype), put on the trainer's GPU (the
        book's ``d2l.to``)."""
        batch = [jnp.asarray(a) for a in batch]
        return [jax.device_put(a, self.device) for a in batch] if self.gpus else batch

    def train_batch(self, batch):
        loss, grads = self.model.training_step(self.state.params, batch, self.state)
        if self.gradient_clip_val > 0:
            grads = self.clip_gradients(self.gradient_clip_val, grads)
        self.state = self.state.apply_gradients(grads=grads)
        return loss  # checked by TrainerBase.check_step

    def validation_batch(self, batch):
        self.model.validation_step(self.state.params, batch, self.state)

    def clip_gradients(self, grad_clip_val, grads):
        """The gradients scaled by θ/‖g‖ where their global norm exceeds θ."""
        leaves, tree = jax.tree_util.tree_flatten(grads)
        clipped, _ = clip_by_global_norm(ops, dict(enumerate(leaves)), grad_clip_val)
        return jax.tree_util.tree_unflatten(tree, [clipped[i] for i in range(len(leaves))])


class SGD:
    """Plain SGD (what ``optax.sgd`` does; optax cannot load beside numpy 1.23 and JAX 0.4)."""

    def __init__(self, lr):
        self.lr = lr

    def update(self, params, grads):
        return jax.tree_util.tree_map(lambda p, g: p - self.lr * g, params, grads)


struct = import_framework("flax.struct", "jax")


class TrainState(struct.PyTreeNode):
    """The book's ``trainer.state``: the step, the parameters, the model's ``apply``."""

    step: int
    params: Any
    apply_fn: Any = struct.field(pytree_node=False)
    tx: Any = struct.field(pytree_node=False)

    def apply_gradients(self, *, grads):
        return self.replace(step=self.step + 1, params=self.tx.update(self.params, grads))


# -- the models written once (d2lrnn.book.rnn, d2lrnn.book.modern), as Flax modules -----


class OwnParams:
    """What makes a model written once a Flax module here (see :meth:`Module.framework_class`):
    its constructor's arguments become the dataclass's fields, and it keeps a copy of its
    parameters by the book's names, drawn by NumPy from ``seed`` as in every backend, so that
    ``model(X)``, ``get_params`` and ``set_params`` work without ``apply``. Inside ``apply``
    (the book's Trainer) its parameters are Flax's."""

    ops = ops  # ahead of the shared classes' placeholder in the method order
    layers_as_parts = False  # a deep RNN holds its layers' parameters by prefixed names

    def __post_init__(self):
        if isinstance(self.parent, (int, float)):  # e.g. RNN(28, 32): 32 lands on Flax's parent
            fields = [f.name for f in dataclasses.fields(self) if f.init and not f.kw_only
                      and f.name not in ("parent", "name")]
            raise BadType(f"{type(self).__name__} takes {len(fields)} positional "
                            f"argument(s) ({', '.join(fields)}), as the book's; pass the "
                            f"others by keyword")
        super().__post_init__()
        self.made()
        if isinstance(getattr(self, "dtype", None), str):
            ops.asarray(np.zeros(0), self.dtype)  # float64 needs x64 mode: say so now

    def setup(self):
        if not (shared.made_by_package(self) and shared.is_ours(type(self).__call__)):
            return  # a reader's Flax subclass with a __call__ of its own makes its own
        for name, value in self.initial_arrays().items():
            setattr(self, name, self.param(name, lambda key, v=value: jnp.asarray(v)))

    def own_params(self):
        """The parameter tree used outside ``apply`` (drawn on first use)."""
        if "_own" not in self.__dict__:
            object.__setattr__(self, "_own", {k: ops.asarray(v, self.dtype)
                                              for k, v in self.initial_arrays().items()})
        return self.__dict__["_own"]

    def load_tree(self, tree):
        own = self.own_params()
        own.update({k: tree[k] for k in self.param_names if k in tree and k in own})

    def _set_field(self, name, value):  # a Flax module's fields are frozen after __init__
        object.__setattr__(self, name, value)

    def _init_params(self):
        self.__dict__.pop("_own", None)  # drawn from the fields at first use

    @property
    def book_params(self):
        self.require_built()
        found = {}
        for prefix, model in self.submodels():
            found.update({prefix + k: v for k, v in getattr(model, "book_params", {}).items()})
        own = self.own_params() if self.scope is None else None
        return {name: found[name] if name in found else own[name] if own is not None
                else getattr(self, name) for name in self.param_names}

    def _set_own_param(self, name, value):
        self.own_params()[name] = value

    _replace_param = _set_own_param  # moving to a device: JAX arrays carry theirs


class LanguageModel:
    """The language models' Flax side: their RNN is a submodule (its parameters under
    ``"rnn"``), and the book's JAX training steps call ``loss(params, X, Y, state)``."""

    def setup(self):
        if self.uses_framework_output:  # a reader's RNN: the book's concise output layer
            self.linear = nn.Dense(self.vocab_size)
        else:
            OwnParams.setup(self)

    def make_linear(self, units):
        """Made in :meth:`setup`, where Flax makes submodules."""

    def own_params(self):
        tree = OwnParams.own_params(self)
        if not self.runs_readers_rnn:
            tree["rnn"] = self.rnn.own_params()
        return tree

    def load_tree(self, tree):
        OwnParams.load_tree(self, tree)
        if not self.runs_readers_rnn and "rnn" in tree:
            self.rnn.load_tree(tree["rnn"])

    def loss(self, *args, **kwargs):
        """``loss(Y_hat, Y)`` as in every backend, or the Flax form ``loss(params, X, Y,
        state)`` -> (loss, {}) that the book's JAX training steps call."""
        if len(args) + len(kwargs) >= 4:
            return Classifier.loss(self, *args, **kwargs)
        return shared.RNNLMScratch.loss(self, *args, **kwargs)

    def training_step(self, params, batch, state):
        (loss, aux), grads = self._compiled("grad", jax.value_and_grad(self.loss, has_aux=True))(
            params, batch[:-1], batch[-1], state)
        self.plot("ppl", jnp.exp(loss), train=True)
        return (loss, aux), grads

    def validation_step(self, params, batch, state):
        loss, _ = self._compiled("loss", self.loss)(params, batch[:-1], batch[-1], state)
        self.plot("ppl", jnp.exp(loss), train=False)

    def _compiled(self, name, fn):
        """``fn`` compiled once per model (the plotting stays outside, in Python)."""
        cache = self.__dict__.setdefault("_compiled_fns", {})
        if name not in cache:
            cache[name] = jax.jit(fn)
        return cache[name]

    def predict(self, prefix, num_preds, vocab, params=None, **kwargs):
        """As every backend's; ``params`` (e.g. ``trainer.state.params``) as the book passes
        them in JAX, else the model's own copy (a device there, as the other frameworks'
        books pass, is taken as the device)."""
        if isinstance(params, jax.Device):
            return shared.RNNLMScratch.predict(self, prefix, num_preds, vocab, params, **kwargs)
        if params is not None and self.scope is None:
            return self.bind({"params": params}).predict(prefix, num_preds, vocab, **kwargs)
        return shared.RNNLMScratch.predict(self, prefix, num_preds, vocab, **kwargs)


# Fields the book's JAX classes have beyond the constructor written once: {class: {field:
# default}} (RNNLM's ``training``, passed on to its RNN; these have no dropout).
BOOK_FIELDS = {"RNNLM": {"training": True}}


def _fields(shared_class, name):
    """A Flax dataclass's annotations and defaults from the constructor of the class written
    once: its parameters in order, keyword-only ones as keyword-only fields."""
    annotations, defaults, kinds = {}, {}, inspect.Parameter
    parameters = list(inspect.signature(shared_class.__init__).parameters.values())[1:]
    extra = [inspect.Parameter(n, kinds.POSITIONAL_OR_KEYWORD, default=d)
             for n, d in BOOK_FIELDS.get(name, {}).items()]
    positional = [p for p in parameters if p.kind is kinds.POSITIONAL_OR_KEYWORD]
    for p in positional + extra + [p for p in parameters if p.kind is kinds.KEYWORD_ONLY]:
        annotations[p.name] = Any
        if p.kind is kinds.KEYWORD_ONLY:
            defaults[p.name] = dataclasses.field(default=p.default, kw_only=True)
        elif p.default is not p.empty:
            defaults[p.name] = p.default
    return annotations, defaults


def framework_class(base, shared_class, name, module, ops):
    """The Flax module this backend exports as ``name`` (see :meth:`Module.framework_class`)."""
    annotations, defaults = _fields(shared_class, name)
    mixins = (LanguageModel, OwnParams) if issubclass(shared_class, shared.RNNLMScratch) \
        else (OwnParams,)
    # __call__ and setup in the class's own namespace, where Flax wraps them: they then run
    # as the bound module, so that the submodules setup makes (the output layer after a
    # reader's RNN) are its children
    return type(name, (*mixins, shared_class, base),
                {"__annotations__": annotations, **defaults, "ops": ops, "__module__": module,
                 "__qualname__": name, "__doc__": shared_class.__doc__,
                 "__call__": shared_class.__call__, "setup": mixins[0].setup})


_root_key = [jax.random.PRNGKey(0)]


def get_key():
    """A fresh PRNG key each call, split from one root key (the book's ``d2l.get_key``)."""
    _root_key[0], key = jax.random.split(_root_key[0])
    return key


def _gpus():
    try:
        return jax.devices("gpu")
    except RuntimeError:  # no GPU backend in this jaxlib
        return []


def num_gpus():
    return len(_gpus())


def gpu(i=0):
    return _gpus()[i]


def cpu():
    return jax.devices("cpu")[0]


try_gpu, try_all_gpus = device_helpers(gpu, cpu, num_gpus)

# The array helpers the book calls as d2l.<name>: jax.numpy's functions, or (as the book's)
# helpers that call the array's method with the arguments as given.
ones, ones_like, zeros, zeros_like, tensor, arange = jnp.ones, jnp.ones_like, jnp.zeros, \
    jnp.zeros_like, jnp.array, jnp.arange
sin, sinh, cos, cosh, tanh, exp, log, abs = jnp.sin, jnp.sinh, jnp.cos, jnp.cosh, jnp.tanh, \
    jnp.exp, jnp.log, jnp.abs
meshgrid, linspace, eye, expand_dims, sigmoid = jnp.meshgrid, jnp.linspace, jnp.eye, \
    jnp.expand_dims, jax.nn.sigmoid
matmul, batch_matmul, concat, stack = jnp.matmul, jnp.matmul, jnp.concatenate, jnp.stack
int32, int64, float32, float64 = jnp.int32, jnp.int64, jnp.float32, jnp.float64
reshape, argmax, astype, swapaxes, repeat = map(method_helper, ("reshape", "argmax", "astype",
                                                                "swapaxes", "repeat"))
reduce_sum, reduce_mean = method_helper("sum", "reduce_sum"), method_helper("mean", "reduce_mean")
to, numpy = jax.device_put, np.asarray


def transpose(a):
    return a.T


def size(a):
    return a.size


def normal(shape, key=None):
    """N(0, 1) samples, drawn with ``key`` (a fresh one from :func:`get_key` if none)."""
    return jax.random.normal(key if key is not None else get_key(), shape)


def rand(*shape):
    """U[0, 1) samples of ``shape``, drawn with a fresh key."""
    return jax.random.uniform(get_key(), shape)


def randn(*shape):
    """N(0, 1) samples of ``shape``, drawn with a fresh key."""
    return jax.random.normal(get_key(), shape)
