"""How the language model's loss and gradients are computed on the plain path: by the
framework's autograd or by the backward pass written by hand (where the framework has none),
compiled once per model kind where the framework traces Python at every eager call (the
fast path's are :mod:`d2lrnn.training.fast`). The models (:mod:`d2lrnn.book.rnn`) and the
training loop (:mod:`d2lrnn.training.train`) ask here; the array adapters
(:class:`~d2lrnn.base.adapter.Ops`) only declare what they offer.
"""
from .. import cells
from ..maths import bptt
from ..maths.equations import lm_loss as lm_loss_of


def lm_loss(ops, params, X, Y, recurrence):
    """The language model's loss at ``params`` (no gradients); ``recurrence(params, inputs,
    state)`` runs the RNN."""
    def loss(params, X, Y):
        return lm_loss_of(ops, params, X, Y, recurrence)

    if ops.traces_eagerly:
        loss = ops.cached(("lm_loss", ops.kind(recurrence)), lambda: loss)
    return loss(params, X, Y)


def lm_loss_and_grads(ops, params, X, Y, recurrence, network=None):
    """The loss and its gradient for every parameter, as framework arrays: autograd, or the
    backward pass by hand where the framework has no autograd (the step backward of the
    cells of ``network``; the section's one-layer RNN has its own, :mod:`d2lrnn.maths.bptt`)."""
    if not ops.has_autograd:
        if network is None or network == cells.Network.single(cells.CELLS["rnn"]):
            return bptt.lm_loss_and_grads(ops, params, X, Y)
        return cells.lm_loss_and_grads(network, ops, params, X, Y)

    def value_and_grad(params, X, Y):
        return ops.value_and_grad_fn(lambda p: lm_loss_of(ops, p, X, Y, recurrence))(params)

    if ops.traces_eagerly:
        value_and_grad = ops.cached(("lm_loss_and_grads", ops.kind(recurrence)),
                                    lambda: value_and_grad)
    return value_and_grad(params, X, Y)


def clipped(ops, grads, theta):
    """The gradients (framework arrays by name) scaled by θ / max(‖g‖, θ): what
    :func:`~d2lrnn.training.train.clip_gradients` gives (a factor of exactly 1 where the norm
    is at most θ), computed on the framework's arrays, so that a compiled step can trace it."""
    norm = sum(ops.sum(g * g) for g in grads.values()) ** 0.5
    scale = theta / ops.maximum(norm, theta)
    return {name: g * scale for name, g in grads.items()}
