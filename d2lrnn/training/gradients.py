"""How the language model's loss and gradients are computed, in one place: by the framework's
autograd or by the backward pass written by hand (where the framework has none, or where it
measured faster), compiled once per model kind where the framework traces Python at every
eager call. The models (:mod:`d2lrnn.book.rnn`) and the training loop
(:mod:`d2lrnn.training.train`) ask here; the array adapters
(:class:`~d2lrnn.base.backend.Ops`) only declare what they offer.
"""
from .. import cells
from ..maths import bptt
from ..maths.equations import lm_loss as lm_loss_of
from ..maths.equations import lm_loss_fast


def fast_loss(ops, params, X, Y, fast_recurrence, by="autograd", weights=None):
    """The fast path's loss alone (validation): :func:`~d2lrnn.maths.equations.lm_loss_fast`, or the
    backend's fused kernel where it differentiates with one."""
    if by == "fused":
        return ops.fused_loss(params, X, Y)
    return lm_loss_fast(ops, params, X, Y, fast_recurrence, weights)


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


def fast_loss_and_grads(ops, params, X, Y, fast_recurrence, by="autograd", weights=None,
                        network=None):
    """Loss and gradients of :func:`~d2lrnn.maths.equations.lm_loss_fast`, ``by`` autograd, by the
    hand-written backward pass ("bptt": the RNN's; "cells": the step backward of the cells
    of ``network``) or by the backend's fused kernel ("fused"): the fast path's, compiled
    with its step."""
    if by == "cells":
        return cells.lm_loss_and_grads(network, ops, params, X, Y)
    if by == "fused":
        return ops.fused_loss_and_grads(params, X, Y)
    if by == "bptt":
        return bptt.lm_loss_and_grads(ops, params, X, Y, weights)
    return ops.value_and_grad(
        lambda p: lm_loss_fast(ops, p, X, Y, fast_recurrence, weights), params)
