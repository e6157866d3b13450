"""Training the language model: minibatch SGD with gradient clipping, written once.

Every backend runs this same loop on its own arrays and autograd, so with the same initial
weights and the same batches they take the same steps (d2l.ai sections 9.5 and 3.4).
"""
import math
import time

import numpy as np

from ..base import checks
from ..base.adapter.devices import ThreadGovernor
from ..base.errors import BadArgument, UserError
from . import fast as fast_path
from . import gradients


# The largest gradient-clipping threshold θ: float32's largest number. A larger θ cannot be
# compared with a float32 gradient norm (PyTorch refuses to convert it, mid-step); a θ above
# every norm clips nothing, which 0 says too.
MAX_CLIP = float(np.finfo(np.float32).max)


class TrainingDiverged(UserError, ArithmeticError):
    """A step gave a non-finite loss or gradient norm (or non-finite parameters), or a loss
    far above the first step's, or an epoch ended worse than guessing: training stopped
    there. ``history`` holds what was recorded before; ``epoch`` and ``step`` (from 1)
    say where; ``last_finite_loss`` is the last step loss that was finite (None if none)."""

    def __init__(self, message, history, epoch, step, last_finite_loss):
        super().__init__(message)
        self.history, self.epoch, self.step = history, epoch, step
        self.last_finite_loss = last_finite_loss


def perplexity(loss):
    """exp(loss), infinite rather than an OverflowError for a huge loss."""
    return math.exp(loss) if loss < 709.0 else math.inf


def clip_gradients(ops, grads, theta):
    """g <- g θ/‖g‖ where the norm ‖g‖ over all parameters exceeds θ (0: no clipping).

    Returns the (possibly scaled) gradients and the norm before clipping.
    """
    norm = math.sqrt(sum(ops.sum_squares(g) for g in grads.values()))
    if theta and norm > theta:
        grads = {name: g * (theta / norm) for name, g in grads.items()}
    return grads, norm


def sgd_step(model, params, X, Y, lr, clip):
    """One minibatch step from ``params``; returns ((loss, gradient norm), new params)."""
    loss, grads = model.loss_and_grads_fn(params, X, Y)
    grads, norm = clip_gradients(model.ops, grads, clip)
    return np.array([float(model.ops.to_numpy(loss)), norm]), {
        name: model.ops.update(value, grads[name], lr) for name, value in params.items()}


def batch_arrays(model, X, Y, batch_size, path=None):
    """A batch as the framework's arrays: (X, Y) and, where the fast ``path`` compiles for
    shapes, the weights of a batch padded to ``batch_size`` (see lm_loss_fast)."""
    ops = model.ops
    if path is None or not path.pads_last_batch:
        return ops.asarray(X, "int64"), ops.asarray(Y, "int64")
    n = len(X)
    weights = np.zeros(max(batch_size, n))
    weights[:n] = 1.0
    pad = ((0, len(weights) - n), (0, 0))
    return (ops.asarray(np.pad(X, pad), "int64"), ops.asarray(np.pad(Y, pad), "int64"),
            ops.asarray(weights, model.dtype))


def evaluate(model, batches, params=None, path=None, batch_size=0):
    """Perplexity over ``batches``: exp of the mean cross-entropy over all their tokens, on
    the fast ``path`` where one is given."""
    ops, params = model.ops, params or model.book_params
    if path is not None:
        params = {name: ops.plain(value) for name, value in params.items()}
    loss_fn = path.compiled_loss() if path is not None else (
        lambda p, X, Y: gradients.lm_loss(ops, p, X, Y, model.rnn.recurrence))
    total, count = 0.0, 0
    with ops.no_grad():  # nothing to differentiate: autograd would only record
        for X, Y in batches:
            loss = loss_fn(params, *batch_arrays(model, X, Y, batch_size, path))
            total += float(ops.to_numpy(loss)) * Y.size
            count += Y.size
    return perplexity(total / count) if count else float("nan")


# A step loss this many times the first step's (or 1, if larger) means training diverged:
# a healthy run's loss falls from about log(vocab_size); a diverging one grows without bound
# (SGD with a huge learning rate) long before it overflows.
DIVERGED = 10.0
# An epoch whose train perplexity is above both the vocabulary's size (guessing every token
# uniformly) and the first step's perplexity (the untrained model), by more than this factor,
# means training diverged too: it ends worse than where it began. Measured on the book (the
# RNN, clip 1): lr 7 had no step over DIVERGED, was at 114 in its second epoch (the
# vocabulary: 28) and ended 100 epochs at 25,155; lr 10 at 5.4e7. (The margin: an untrained
# model's perplexity is the vocabulary's size give or take 0.01%.)
WORSE_THAN_GUESSING = 1.01
# The advice after a divergence: a tenth of the learning rate, at most the section's own (lr
# 1, d2l.ai 9.5: a tenth of 1e6 diverges again). Measured on the book (the RNN, clip 1, 100
# epochs): lr 2, 3 and 5 ended at train perplexity 5.4 to 5.5, lr 7 and more diverged; a run
# of lr 10 (7) that diverged in its second epoch, resumed from the first with lr 1 (0.7),
# ended at 6.15 (6.68).
RATE_CUT, MOST_ADVISED_RATE = 10.0, 1.0

HISTORY_KEYS = ("epoch", "train_ppl", "val_ppl", "step_loss", "epoch_seconds")


def package_threads(ops, strategy, on_step=None):
    """Set the framework's CPU threads as ``d2lrnn train`` does for ``strategy`` (a fast
    path's way, or "plain"; ``Ops.choose_threads``: for the rest of the process) and, where
    the framework can change them while it runs, return ``on_step`` wrapped so that a
    :class:`~d2lrnn.base.adapter.devices.ThreadGovernor` keeps them to the free cores."""
    ops.choose_threads(strategy)
    if not ops.adapts_threads:
        return on_step
    governor = ThreadGovernor(ops)

    def step(*args):
        governor.poll()
        if on_step is not None:
            on_step(*args)
    return step


def fit(model, data, epochs, lr=None, clip=1.0, max_steps=None, on_step=None, on_epoch=None,
        fast=False, resume=None, on_saved_epoch=None, threads="framework"):
    """Train ``model`` on ``data`` (a :class:`~d2lrnn.book.data.TimeMachine`) for ``epochs``.

    ``lr`` defaults to ``model.lr``. ``on_step(step, loss)`` and ``on_epoch(record)`` are
    called as training goes (progress bars, plots: training itself draws nothing).
    ``fast=True`` takes the fast path (:mod:`d2lrnn.training.fast`, chosen here, once), or
    ``fast=`` the :class:`~d2lrnn.training.fast.FastPath` the caller chose for this model
    (``fast.choose(model)``: ``d2lrnn train`` records it too): the same numbers, sooner.
    Returns the history: per-epoch ``train_ppl`` and ``val_ppl`` (exp of the token-mean
    cross-entropy over the epoch), every step's ``step_loss``, ``train_seconds`` and
    ``tokens``.

    Resuming: ``on_saved_epoch(state)`` is called after every completed epoch, with the
    model holding that epoch's parameters and ``state`` = {"epoch", "step", "history"}
    (what a checkpoint must keep); ``resume=state`` continues from such a state, to the
    same numbers as a run that never stopped (the batch order depends only on the data's
    seed and the epoch). A non-finite loss, gradient norm or parameter, a step loss over
    :data:`DIVERGED` times the first, or an epoch worse than guessing (:func:`epoch_divergence`)
    raises :class:`TrainingDiverged`, the model keeping its last good parameters.

    ``threads="framework"`` leaves the framework's CPU threads as they are; ``"package"``
    sets them as ``d2lrnn train`` does (:func:`package_threads`, for the rest of the process):
    on a machine where another program holds a core, a framework's default threads can make
    training many times slower (PyTorch's fused path: 15 s idle, 328 s beside one busy core).
    """
    if threads not in ("framework", "package"):
        raise BadArgument(f"fit: threads must be 'framework' or 'package', got {threads!r}")
    with model.ops.on(model.device):  # batches and states are made where the model is
        loop = TrainingLoop(model, data, epochs, lr, clip, max_steps, fast)
        if threads == "package":
            on_step = package_threads(model.ops, loop.path.by if loop.path else "plain",
                                      on_step)
        for event, callback in (("step", on_step), ("epoch", on_epoch),
                                ("saved_epoch", on_saved_epoch)):
            loop.add_callback(event, callback)
        return loop.run(resume)


class TrainingLoop:
    """One run of :func:`fit`, as minGPT's Trainer is: minibatch SGD with gradient clipping
    over the epochs of ``data`` on the plain path or the fast one (``fast`` as :func:`fit`
    takes it: the loop's ``path``, None for the plain one), callbacks told of its
    events ("step": ``(step, loss)``, "epoch": the epoch's record, "saved_epoch": the state a
    checkpoint keeps). :meth:`run` goes through the epochs, :meth:`step` takes one minibatch
    and :meth:`end_epoch` closes an epoch; each stops the run where its numbers say that
    training diverged (:func:`step_divergence`, :func:`params_divergence`,
    :func:`epoch_divergence`)."""

    def __init__(self, model, data, epochs, lr=None, clip=1.0, max_steps=None, fast=False):
        self.model, self.data, self.ops = model, data, model.ops
        self.lr = checks.real(model.lr if lr is None else lr, "lr", "fit", above=0)
        self.clip = checks.real(clip, "clip", "fit", least=0, most=MAX_CLIP)
        self.epochs = checks.whole(epochs, "epochs", "fit")
        self.max_steps = None if max_steps is None else checks.whole(max_steps, "max_steps",
                                                                     "fit")
        self.callbacks = {"step": [], "epoch": [], "saved_epoch": []}
        self.history = {**{key: [] for key in HISTORY_KEYS}, "train_seconds": 0.0, "tokens": 0}
        self.epoch = self.steps = 0
        self.last_finite = None  # the last step loss that was finite
        # the epoch's clock, summed loss and tokens (run starts them again at every epoch)
        self.start, self.total, self.count = time.perf_counter(), 0.0, 0
        self.path = path = fast_path.requested(model, fast, "fit")
        params = model.book_params
        if path is None:
            self.params = params
            self.sgd_step = lambda p, X, Y: sgd_step(model, p, X, Y, self.lr, self.clip)
        else:
            self.params = {name: self.ops.plain(value) for name, value in params.items()}
            self.sgd_step = path.sgd_step(self.lr, self.clip)

    def add_callback(self, event, callback):
        """Call ``callback`` at every ``event`` ("step", "epoch", "saved_epoch"); None: none."""
        if callback is not None:
            self.callbacks[event].append(callback)

    def trigger(self, event, *args):
        for callback in self.callbacks[event]:
            callback(*args)

    @property
    def finished(self):
        """Whether the run took the steps it was allowed (``max_steps``)."""
        return self.max_steps is not None and self.steps >= self.max_steps

    def resume(self, state):
        """Continue from the state an earlier run's "saved_epoch" gave (see :func:`fit`)."""
        self.epoch, self.steps = state["epoch"], state["step"]
        self.history = {key: (list(value) if isinstance(value, list) else value)
                        for key, value in state["history"].items()}
        self.last_finite = self.history["step_loss"][-1] if self.history["step_loss"] else None

    def run(self, resume=None):
        """Train from the first epoch (or from the state ``resume``) to the last, or to
        ``max_steps``; the history."""
        if resume is not None:
            self.resume(resume)
        for self.epoch in range(self.epoch, self.epochs):
            self.start, self.total, self.count = time.perf_counter(), 0.0, 0
            for X, Y in self.data.train_batches(self.epoch):
                self.step(X, Y)
                if self.finished:
                    break
            self.end_epoch()
            if self.finished:
                break
        return self.history

    def step(self, X, Y):
        """One minibatch (token ids X, Y): the SGD step, its loss checked and recorded."""
        batch = batch_arrays(self.model, X, Y, self.data.batch_size, self.path)
        stats, self.params = self.sgd_step(self.params, *batch)
        loss, norm = (float(v) for v in (stats if isinstance(stats, np.ndarray)
                                         else self.ops.to_numpy(stats)))
        self.steps += 1
        losses = self.history["step_loss"]
        self.stop_if(step_divergence(loss, norm, losses[0] if losses else loss))
        self.last_finite = loss
        losses.append(loss)
        self.total, self.count = self.total + loss * Y.size, self.count + Y.size
        self.trigger("step", self.steps, loss)

    def end_epoch(self):
        """The epoch's time and tokens recorded, its parameters checked and given to the
        model, its perplexities recorded, the callbacks told."""
        history = self.history
        history["epoch_seconds"].append(time.perf_counter() - self.start)
        history["train_seconds"] += history["epoch_seconds"][-1]
        history["tokens"] += self.count
        self.stop_if(params_divergence(self.ops, self.params))
        train_ppl = perplexity(self.total / self.count)
        # the model keeps the last epoch's parameters, as after a step's divergence
        self.stop_if(epoch_divergence(train_ppl, self.model.vocab_size, history["step_loss"][0]))
        self.model.assign(self.params)
        record = {"epoch": self.epoch + 1, "train_ppl": train_ppl,
                  "val_ppl": evaluate(self.model, self.data.val_batches(), path=self.path,
                                      batch_size=self.data.batch_size)}
        for key, value in record.items():
            history[key].append(value)
        self.trigger("saved_epoch", {"epoch": self.epoch + 1, "step": self.steps,
                                     "history": history})
        self.trigger("epoch", record)

    def stop_if(self, what):
        """Raise :class:`TrainingDiverged` where ``what`` (a predicate's phrase) says why."""
        if what:
            raise diverged(what, self.history, self.epoch + 1, self.steps, self.last_finite,
                           self.lr, self.clip)


def step_divergence(loss, norm=0.0, first=None):
    """Why a training step's numbers say training diverged (a phrase), or None: a loss or
    gradient norm that is not finite, or, given the ``first`` step's loss, a loss over
    :data:`DIVERGED` times it (or 1)."""
    if not (math.isfinite(loss) and math.isfinite(norm)):
        return f"the loss is {loss:g}" + (f" and the gradient norm {norm:g}" if norm else "")
    if first is not None and loss > DIVERGED * max(first, 1.0):
        return f"the loss grew to {loss:.4g}, over {DIVERGED:g} times the first step's " \
               f"({first:.4g})"
    return None


def params_divergence(ops, params):
    """Why an epoch's parameters say training diverged (a phrase), or None: NaN or infinite
    values (a step can overflow them while its loss is still finite)."""
    if all(np.isfinite(ops.to_numpy(value)).all() for value in params.values()):
        return None
    return "the parameters hold NaN or infinite values"


def epoch_divergence(train_ppl, vocab_size, first_loss):
    """Why an epoch's train perplexity says training diverged (a phrase), or None: worse than
    guessing among the vocabulary's tokens, and than the untrained model (the ``first`` step's
    loss), by more than :data:`WORSE_THAN_GUESSING`."""
    if train_ppl > WORSE_THAN_GUESSING * max(vocab_size, perplexity(first_loss)):
        return (f"its train perplexity is {train_ppl:,.4g}, worse than guessing among the "
                f"vocabulary's {vocab_size} tokens (perplexity {vocab_size})")
    return None


def lower_rate(lr):
    """The learning rate the advice after a divergence proposes (see :data:`RATE_CUT`)."""
    return min(lr / RATE_CUT, MOST_ADVISED_RATE)


def advice(lr, clip, flags=True, clip_name="clip"):
    """What to change after training diverged with ``lr`` and ``clip``: a sentence naming
    the arguments (the clip's ``clip_name``), and the command line's options with ``flags``."""
    if lr is None:  # a reader's model, which may keep its rate elsewhere
        return "Likely cause: the learning rate is too large: lower it."
    new = lower_rate(lr)
    return (f"Likely cause: the learning rate is too large (lr={lr:g}): try lr={new:g}"
            + (f" (--lr {new:g})" if flags else "") + (
                "." if clip else f", and clip the gradients ({clip_name}=1"
                                 + (", --clip 1" if flags else "") + ": the book's θ)."))


def diverged(what, history, epoch, step, last_finite, lr, clip, **wording):
    """The :class:`TrainingDiverged` for epoch ``epoch`` (from 1), whose step ``step`` (or
    whose end) showed ``what`` (:func:`step_divergence`, :func:`params_divergence`,
    :func:`epoch_divergence`); the ``wording`` of :func:`advice`."""
    last = (f"the last finite loss was {last_finite:.4g}" if last_finite is not None
            else "no step had a finite loss")
    return TrainingDiverged(f"training diverged in epoch {epoch}, step {step}: {what}; {last}. "
                            f"{advice(lr, clip, **wording)}", history, epoch, step, last_finite)
