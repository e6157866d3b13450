"""The fast path, as one object chosen once per model: how a language model trains (and
speaks) sooner, to the same numbers as its plain path.

:func:`choose` asks the model once which way it goes fast — the recurrence from token ids
(its input terms looked up), and how the loss is differentiated: ``"fused"`` (the backend's
own kernel), ``"bptt"`` (the RNN's backward written by hand, :mod:`d2lrnn.maths.bptt`),
``"cells"`` (NumPy: the cells' step backward) or ``"autograd"`` (the framework's) — or says
in one line why it cannot. The training loop, validation and generation then go from the
:class:`FastPath` to the adapter and its kernels, without coming back to the model.
"""
import dataclasses

from .. import cells
from ..base.errors import BadArgument, BadType
from ..maths import bptt
from ..maths.equations import lm_loss_fast

WAYS = ("fused", "bptt", "cells", "autograd")


@dataclasses.dataclass(frozen=True)
class FastPath:
    """How one kind of model trains fast: its adapter, its recurrence from token ids
    ``(params, ids (T, n), H_0) -> (states (T, n, h), H_T)``, the way it is differentiated
    (``by``, one of :data:`WAYS`) and its network of cells. What it computes depends on the
    model's class alone, so the code compiled around it serves every instance."""

    ops: object
    recurrence: object
    by: str
    network: object

    @property
    def key(self):
        """What compiled code built around this path depends on."""
        return self.ops.kind(self.recurrence), self.by

    @property
    def cell(self):
        """The cell of its one recurrent layer."""
        return self.network.layers[0].cell

    @property
    def pads_last_batch(self):
        """Whether the last, shorter batch is padded to the compiled shape (weights 0)."""
        return self.by in self.ops.pad_last_batch

    def loss_and_grads(self, params, X, Y, weights=None):
        """Loss and gradients of :func:`~d2lrnn.maths.equations.lm_loss_fast` at ``params``,
        by this path's way (framework arrays)."""
        ops = self.ops
        if self.by == "cells":
            return cells.lm_loss_and_grads(self.network, ops, params, X, Y)
        if self.by == "fused":
            return ops.fused_loss_and_grads(params, X, Y, self.cell)
        if self.by == "bptt":
            return bptt.lm_loss_and_grads(ops, params, X, Y, weights)
        return ops.value_and_grad(
            lambda p: lm_loss_fast(ops, p, X, Y, self.recurrence, weights), params)

    def loss(self, params, X, Y, weights=None):
        """The loss alone (validation): the fused kernel's where this path has one."""
        if self.by == "fused":
            return self.ops.fused_loss(params, X, Y, self.cell)
        return lm_loss_fast(self.ops, params, X, Y, self.recurrence, weights)

    def compiled_gradients(self):
        """``(params, X, Y) -> (loss, grads)``, compiled where the framework compiles."""
        return self.ops.cached(("grads", *self.key),
                               lambda: lambda params, X, Y: self.loss_and_grads(params, X, Y))

    def compiled_loss(self):
        """``loss(params, X, Y, weights=None)``, compiled where the framework compiles."""
        def loss(params, X, Y, weights=None):  # a plain function: tf.function traces it
            return self.loss(params, X, Y, weights)
        return self.ops.cached(("loss", *self.key), lambda: loss)

    def sgd_step(self, lr, clip):
        """One SGD step with the clipping of :func:`~d2lrnn.training.train.clip_gradients`,
        done on the framework's arrays (nothing goes back to Python mid-step) and compiled
        whole where the framework compiles (jax.jit, tf.function): ``step(params, X, Y,
        weights=None) -> ([loss, gradient norm], new params)``, the two numbers in one
        array, read back with one transfer."""
        ops = self.ops

        def step(params, X, Y, weights=None):
            loss, grads = self.loss_and_grads(params, X, Y, weights)
            with ops.no_grad():
                norm = sum(ops.sum(g * g) for g in grads.values()) ** 0.5
                rate = lr * clip / ops.maximum(norm, clip) if clip else lr
                return ops.stack([loss, norm], 0), {name: value - rate * grads[name]
                                                    for name, value in params.items()}
        return ops.cached(("sgd", *self.key, lr, clip), lambda: step)


def choose(model):
    """The :class:`FastPath` of language model ``model``, or a :class:`BadType` that says
    why it has none: it (or its RNN) runs code of a reader's, or its RNN has none."""
    model.require_package_maths("the fast path")
    rnn = model.rnn
    if not rnn.has_fast_path:
        raise BadType(f"a {type(rnn).__name__} has no fast path: it trains on the plain path "
                      f"(fast=False)")
    return FastPath(model.ops, rnn.fast_recurrence, rnn.fast_grads, rnn.network)


def available(model):
    """Whether ``model`` has a fast path (see :func:`choose`), without raising."""
    try:
        choose(model)
    except BadType:
        return False
    return True


def requested(model, fast, where):
    """The fast path that ``fast=`` asks of ``model`` in ``where`` ("fit", "predict"): None
    for False (the plain path), the model's own for True (chosen here), or the
    :class:`FastPath` given, which must be this model's (another model's recurrence would
    compute that model's network)."""
    if not isinstance(fast, FastPath):
        return choose(model) if fast else None
    if getattr(fast.recurrence, "__self__", None) is not getattr(model, "rnn", None):
        raise BadArgument(f"{where}: fast= is True, False or the fast path chosen for this "
                          f"model (fast.choose(model)); the path given was chosen for another "
                          f"model")
    return fast
