"""The book's library surface in JAX: Flax modules, a Trainer with a Flax TrainState, and the
helpers the RNN sections call (d2l.ai 3.2, 4.3, 9.5, 9.6).

In JAX the book's models are Flax ``linen`` modules: dataclasses whose parameters live
outside them (``model.init``, ``trainer.state.params``). The section's models here are such
modules too (:mod:`d2lrnn.jax.flax_modules` makes them), each with a copy of its parameters
of its own, so that ``model(X)``, ``get_params`` and ``set_params`` work without ``apply``
like the other backends.
"""
from typing import Any

import numpy as np

from ..base.backend import import_framework
from ..base.errors import NotAvailable
from ..book.library import (
    HyperParameters,
    ModuleMixin,
    TrainerBase,
    accuracy,
    device_helpers,
    method_helper,
)
from ..book.model import made_by_package
from ..training.gradients import clipped
from ..training.train import clip_gradients as clip_by_global_norm
from .flax_modules import LanguageModel, classifier_loss, framework_class
from .ops import jax, jnp, ops

# What this framework adds to the book's library surface (d2lrnn.book.surface lists what
# every framework must): the bases, the device functions, the tensor helpers.
__all__ = ["Module", "Classifier", "Trainer", "LinearRegression", "cpu", "gpu", "num_gpus",
           "try_gpu", "try_all_gpus", "abs", "arange", "argmax", "astype", "batch_matmul",
           "concat", "cos", "cosh", "exp", "expand_dims", "eye", "float32", "float64", "get_key",
           "int32", "int64", "linspace", "log", "matmul", "meshgrid", "normal", "numpy", "ones",
           "ones_like", "rand", "randn", "reduce_mean", "reduce_sum", "repeat", "reshape",
           "sigmoid", "sin", "sinh", "size", "stack", "swapaxes", "tanh", "tensor", "to",
           "transpose", "zeros", "zeros_like"]

nn = import_framework("flax.linen", "jax")


class Module(nn.Module, ModuleMixin, HyperParameters):
    """The base of models: a Flax module. Called before it is bound (outside ``apply``),
    a module of this package runs on its own copy of its parameters."""

    ops = ops

    @classmethod
    def framework_class(cls, shared_class, name, module, ops):
        """A Flax module (:func:`d2lrnn.jax.flax_modules.framework_class`)."""
        return framework_class(cls, shared_class, name, module, ops)

    def __call__(self, *args, **kwargs):
        if self.scope is None and made_by_package(self):
            return self.apply({"params": self.own_params()}, *args, **kwargs)
        return self.forward(*args, **kwargs)

    def forward(self, X, *args, **kwargs):
        return self.net(X, *args, **kwargs)

    @nn.nowrap
    def is_training(self):
        return bool(self.__dict__.get("training_call"))  # the call's training=, as the book's

    @nn.nowrap
    def drop(self, x, rate):
        """Dropout with the apply's ``"dropout"`` key (the book's ``rngs={'dropout': ...}``),
        else a fresh one (outside ``apply``)."""
        key = self.make_rng("dropout") if self.scope is not None and self.has_rng(
            "dropout") else get_key()
        keep = jax.random.bernoulli(key, 1 - rate, x.shape)
        return jnp.where(keep, x / (1 - rate), jnp.zeros_like(x))

    @nn.nowrap  # a plain call: Flax's wrapping would run setup (mid-construction)
    def make_part(self, cls, *args, **kwargs):
        """A part (the encoder's GRU): a module of its own where made outside Flax's
        ``setup`` (the copy used outside ``apply``), a submodule inside it."""
        if not self._state.in_setup:
            kwargs["parent"] = None
        return cls(*args, **kwargs)

    def apply_init(self, dummy_input, key):
        return self.init(key, *dummy_input)

    def configure_optimizers(self):
        return SGD(self.lr)

    def adam(self, lr):
        try:
            optax = import_framework("optax", "jax")
        except ImportError as err:  # optax 0.2 and numpy 1.23 (the legacy set) do not meet
            raise NotAvailable(f"Adam in JAX is optax's, which does not import here ({err})") \
                from err
        return optax.adam(learning_rate=lr)

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
        return classifier_loss(params, X, Y, state, averaged)

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
            if made_by_package(model):  # training starts where the model is, as elsewhere
                own = jax.tree_util.tree_map(jnp.asarray, model.own_params())
                if jax.tree_util.tree_structure(own) == jax.tree_util.tree_structure(params):
                    params = own
            self.state = TrainState.create(model.apply, params, self.optim, get_key())
            self.epoch = self.train_batch_idx = self.val_batch_idx = 0
            for self.epoch in range(self.max_epochs):
                self.fit_epoch()
        if made_by_package(model):  # its own copy follows the trained state
            model.load_tree(self.state.params)

    def prepare_batch(self, batch):
        """The batch as JAX arrays (of the batch's own dtype), put on the trainer's GPU (the
        book's ``d2l.to``)."""
        batch = [jnp.asarray(a) for a in batch]
        return [jax.device_put(a, self.device) for a in batch] if self.gpus else batch

    def train_batch(self, batch):
        if self.model_compiles_step():
            return self.compiled_train_batch(batch)
        loss, grads = self.model.training_step(self.state.params, batch, self.state)
        if self.gradient_clip_val > 0:
            grads = self.clip_gradients(self.gradient_clip_val, grads)
        self.state = self.state.apply_gradients(grads=grads)
        # a fresh key for the next step's dropout, as the book's
        self.state = self.state.replace(dropout_rng=jax.random.split(self.state.dropout_rng)[0])
        return loss  # checked by TrainerBase.check_step

    def validation_batch(self, batch):
        self.model.validation_step(self.state.params, batch, self.state)

    def compiled_train_batch(self, batch):
        """The step of :meth:`train_batch` compiled whole (``jax.jit``, once per model,
        clipping and batch shape: a shorter last batch compiles once more): the model's loss
        and its gradients, clipping, the optimizer's update and the next dropout key, the
        state in and out. The loss is plotted here, as the model's ``training_step`` does."""
        model, clip = self.model, self.gradient_clip_val
        model.check_step_batch(batch)

        def step(state, batch):
            (loss, aux), grads = jax.value_and_grad(model.loss, has_aux=True)(
                state.params, batch[:-1], batch[-1], state)
            if clip > 0:
                grads = by_leaves(lambda leaves: clipped(ops, leaves, clip), grads)
            state = state.apply_gradients(grads=grads)
            return state.replace(dropout_rng=jax.random.split(state.dropout_rng)[0]), (loss, aux)

        self.state, loss = LanguageModel._compiled(model, ("train_step", clip), step)(
            self.state, batch)
        model.plot("loss", loss[0], train=True)
        return loss

    def clip_gradients(self, grad_clip_val, grads):
        """The gradients scaled by θ/‖g‖ where their global norm exceeds θ."""
        return by_leaves(lambda leaves: clip_by_global_norm(ops, leaves, grad_clip_val)[0],
                         grads)


def by_leaves(transform, tree):
    """``tree`` (Flax's nested parameters) with its leaves replaced by ``transform({index:
    leaf}) -> {index: new leaf}`` (a function of the arrays by name, as the clippings are)."""
    leaves, structure = jax.tree_util.tree_flatten(tree)
    done = transform(dict(enumerate(leaves)))
    return jax.tree_util.tree_unflatten(structure, [done[i] for i in range(len(leaves))])


class SGD:
    """Plain SGD (what ``optax.sgd`` does; optax cannot load beside numpy 1.23 and JAX 0.4)."""

    def __init__(self, lr):
        self.lr = lr

    def update(self, params, grads):
        return jax.tree_util.tree_map(lambda p, g: p - self.lr * g, params, grads)


struct = import_framework("flax.struct", "jax")


class TrainState(struct.PyTreeNode):
    """The book's ``trainer.state``: the step, the parameters, the model's ``apply``, the
    optimizer (ours, or an optax transformation such as ``optax.adam``, and its state), the
    key of the step's dropout."""

    step: int
    params: Any
    apply_fn: Any = struct.field(pytree_node=False)
    tx: Any = struct.field(pytree_node=False)
    opt_state: Any = None
    dropout_rng: Any = None

    @classmethod
    def create(cls, apply_fn, params, tx, dropout_rng):
        opt_state = tx.init(params) if hasattr(tx, "init") else None
        # the step an array, as a compiled step returns it (an int would be compiled apart)
        return cls(step=jnp.asarray(0), apply_fn=apply_fn, params=params, tx=tx,
                   opt_state=opt_state, dropout_rng=dropout_rng)

    def apply_gradients(self, *, grads):
        if self.opt_state is None:
            return self.replace(step=self.step + 1, params=self.tx.update(self.params, grads))
        updates, opt_state = self.tx.update(grads, self.opt_state, self.params)
        params = jax.tree_util.tree_map(lambda p, u: p + u, self.params, updates)
        return self.replace(step=self.step + 1, params=params, opt_state=opt_state)


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
