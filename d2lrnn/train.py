"""Training the language model: minibatch SGD with gradient clipping, written once.

Every backend runs this same loop on its own arrays and autograd, so with the same initial
weights and the same batches they take the same steps (d2l.ai sections 9.5 and 3.4).
"""
import math
import time

import numpy as np

from .rnn import lm_loss_fast


def clip_gradients(ops, grads, theta):
    """g <- g θ/‖g‖ where the norm ‖g‖ over all parameters exceeds θ (θ = 0: no clipping).

    Returns the (possibly scaled) gradients and the norm before clipping.
    """
    norm = math.sqrt(sum(ops.sum_squares(g) for g in grads.values()))
    if theta and norm > theta:
        grads = {name: g * (theta / norm) for name, g in grads.items()}
    return grads, norm


def sgd_step(model, params, X, Y, lr, clip):
    """One minibatch step from ``params``; returns (loss, new params)."""
    loss, grads = model.loss_and_grads_fn(params, X, Y)
    grads, _ = clip_gradients(model.ops, grads, clip)
    return loss, {name: model.ops.update(value, grads[name], lr)
                  for name, value in params.items()}


def fast_sgd_step(model, lr, clip):
    """:func:`sgd_step` built for speed, with the same numbers: the loss by
    :func:`~d2lrnn.rnn.lm_loss_fast`, the clipping and the update done on the framework's
    arrays (nothing goes back to Python mid-step), and the whole step compiled where the
    framework compiles (jax.jit, tf.function). Returns ``step(params, X, Y, weights=None)
    -> (loss, new params)``; ``weights`` as in :func:`~d2lrnn.rnn.lm_loss_fast`."""
    ops, recurrence, by = model.ops, model.fast_recurrence(), model.rnn.fast_grads

    def step(params, X, Y, weights=None):
        loss, grads = ops.fast_loss_and_grads(params, X, Y, recurrence, by, weights)
        with ops.no_grad():
            norm = sum(ops.sum(g * g) for g in grads.values()) ** 0.5
            rate = lr * clip / ops.maximum(norm, clip) if clip else lr  # clip_gradients
            return loss, {name: value - rate * grads[name] for name, value in params.items()}
    return ops.cached(("sgd", recurrence.__func__, by, lr, clip), lambda: step)


def fast_gradients(model):
    """``(params, X, Y) -> (loss, grads)`` of the fast path, compiled where possible."""
    ops, recurrence, by = model.ops, model.fast_recurrence(), model.rnn.fast_grads
    return ops.cached(("grads", recurrence.__func__, by), lambda: lambda params, X, Y:
                      ops.fast_loss_and_grads(params, X, Y, recurrence, by))


def fast_loss(model):
    """``loss(params, X, Y, weights=None)`` by :func:`~d2lrnn.rnn.lm_loss_fast`, compiled
    where possible."""
    ops, recurrence = model.ops, model.fast_recurrence()
    return ops.cached(("loss", recurrence.__func__), lambda: lambda params, X, Y, weights=None:
                      lm_loss_fast(ops, params, X, Y, recurrence, weights))


def batch_arrays(model, X, Y, batch_size, fast):
    """A batch as the framework's arrays: (X, Y) and, where the fast path compiles for
    shapes, the weights of a batch padded to ``batch_size`` (see lm_loss_fast)."""
    ops = model.ops
    if not (fast and model.rnn.fast_grads in ops.pad_last_batch):
        return ops.asarray(X, "int64"), ops.asarray(Y, "int64")
    n = len(X)
    weights = np.zeros(max(batch_size, n))
    weights[:n] = 1.0
    pad = ((0, len(weights) - n), (0, 0))
    return (ops.asarray(np.pad(X, pad), "int64"), ops.asarray(np.pad(Y, pad), "int64"),
            ops.asarray(weights, model.dtype))


def evaluate(model, batches, params=None, fast=False, batch_size=0):
    """Perplexity over ``batches``: exp of the mean cross-entropy over all their tokens."""
    ops, params = model.ops, params or model.book_params
    if fast:
        params = {name: ops.plain(value) for name, value in params.items()}
    loss_fn = fast_loss(model) if fast else (
        lambda p, X, Y: ops.lm_loss(p, X, Y, model.rnn.recurrence))
    total, count = 0.0, 0
    with ops.no_grad():  # nothing to differentiate: autograd would only record
        for X, Y in batches:
            loss = loss_fn(params, *batch_arrays(model, X, Y, batch_size, fast))
            total += float(ops.to_numpy(loss)) * Y.size
            count += Y.size
    return math.exp(total / count) if count else float("nan")


def fit(model, data, epochs, lr=None, clip=1.0, max_steps=None, on_step=None, on_epoch=None,
        fast=False):
    """Train ``model`` on ``data`` (a :class:`~d2lrnn.data.TimeMachine`) for ``epochs``.

    ``lr`` defaults to ``model.lr``. ``on_step(step, loss)`` and ``on_epoch(record)`` are
    called as training goes (progress bars, plots: training itself draws nothing).
    ``fast=True`` takes the fast path (:func:`fast_sgd_step`): the same numbers, sooner.
    Returns the history: per-epoch ``train_ppl`` and ``val_ppl`` (exp of the token-mean
    cross-entropy over the epoch), every step's ``step_loss``, ``train_seconds`` and
    ``tokens``.
    """
    ops = model.ops
    lr = model.lr if lr is None else lr
    params = model.book_params
    if fast:
        params = {name: ops.plain(value) for name, value in params.items()}
    step_fn = (fast_sgd_step(model, lr, clip) if fast else
               lambda p, X, Y: sgd_step(model, p, X, Y, lr, clip))
    history = {"epoch": [], "train_ppl": [], "val_ppl": [], "step_loss": [],
               "epoch_seconds": [], "train_seconds": 0.0, "tokens": 0}
    step = 0
    for epoch in range(epochs):
        start, total, count = time.perf_counter(), 0.0, 0
        for X, Y in data.train_batches(epoch):
            loss, params = step_fn(params, *batch_arrays(model, X, Y, data.batch_size, fast))
            loss = float(ops.to_numpy(loss))
            history["step_loss"].append(loss)
            total, count, step = total + loss * Y.size, count + Y.size, step + 1
            if on_step:
                on_step(step, loss)
            if max_steps is not None and step >= max_steps:
                break
        history["epoch_seconds"].append(time.perf_counter() - start)
        history["train_seconds"] += history["epoch_seconds"][-1]
        history["tokens"] += count
        model.assign(params)
        record = {"epoch": epoch + 1, "train_ppl": math.exp(total / count),
                  "val_ppl": evaluate(model, data.val_batches(), fast=fast,
                                             batch_size=data.batch_size)}
        for key, value in record.items():
            history[key].append(value)
        if on_epoch:
            on_epoch(record)
        if max_steps is not None and step >= max_steps:
            break
    return history

