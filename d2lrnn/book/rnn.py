"""The section's models, written once for every backend (d2l.ai 9.4-9.6): the RNN from scratch
and on each framework's own layer, the network without hidden state, and the character-level
language models. Generic over an :class:`~d2lrnn.base.adapter.Ops` adapter, with the maths of
:mod:`d2lrnn.maths.equations`; what every model shares is :mod:`d2lrnn.book.model`.
"""
import warnings

import numpy as np

from ..base.adapter import DeviceWarning
from ..base import checks
from ..base.backend import ACTIVATIONS, check_float_dtype
from ..base.errors import BadArgument, BadType
from ..cells import CELLS
from ..maths.equations import (
    cross_entropy,
    embed,
    mlp_forward,
    output_layer,
    rnn_forward,
    zero_state,
)
from ..training import generation, gradients
from .model import (
    Model,
    Recurrent,
    as_input,
    check_common,
    check_token_range,
    draw,
    is_package_model,
    on_model_device,
)
from .readers import ReadersRNN


class RNNScratch(Recurrent):
    """The RNN with hidden state, from scratch: H_t = tanh(X_t W_xh + H_{t-1} W_hh + b_h)."""

    cell = CELLS["rnn"]  # its step is written out here (rnn_forward), as the section writes it
    param_names = ("W_xh", "W_hh", "b_h")

    def shapes(self):
        return {"W_xh": (self.num_inputs, self.num_hiddens),
                "W_hh": (self.num_hiddens, self.num_hiddens), "b_h": (self.num_hiddens,)}

    def forward(self, inputs, state=None, training=None):
        """inputs (num_steps, batch_size, num_inputs) -> ([H_1, ..., H_T], H_T).

        ``state`` is H_0 of shape (batch_size, num_hiddens), alone or in a one-element
        tuple ``(H_0,)`` as the book passes it; zeros when not given. ``training`` is
        accepted for the book's JAX cells, which pass it; this RNN has no dropout, so it
        changes nothing.
        """
        return super().forward(inputs, state, training)

    def packed_state(self, state):
        """The list of state arrays as :meth:`recurrence` takes it: H alone."""
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


class RNNLMScratch(ReadersRNN, Model):
    """The character-level language model: one-hot tokens -> RNN -> O_t = H_t W_hq + b_q.

    The RNN is one of the package's models, or a reader's own (a ``d2l.Module`` with
    ``num_hiddens``, as the book's chapter 10 passes its GRUs and LSTMs): the model then runs
    it as it is, with W_hq drawn from the RNN's ``sigma`` (0.01 where it has none), as the
    book's, and the package's extras that need its equations say so
    (:class:`~d2lrnn.book.readers.ReadersRNN`)."""

    computing = (*Model.computing, "one_hot", "output_layer", "init_params")

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
        if self.check_any_rnn(self.rnn):
            self.check_rnn(self.rnn, self.vocab_size)

    def check_rnn(self, rnn, vocab_size):
        """The package's RNN takes one-hot tokens: its input size is ``vocab_size`` (learnt
        here where it was left to learn)."""
        if not isinstance(rnn, Recurrent):
            return
        if not rnn.built:
            rnn.build(vocab_size)
        if rnn.num_inputs != vocab_size:
            raise BadArgument(f"{type(self).__name__}: the RNN takes one-hot tokens, so its "
                              f"num_inputs ({rnn.num_inputs}) must equal vocab_size "
                              f"({vocab_size})")

    def draw_params(self):
        self.init_params()

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
        return draw(self.output_shapes(), self.output_sigma, self.dtype, self.seed)

    @property
    def param_names(self):
        """The RNN's parameters (those of its cells), then the output layer's."""
        rnn = self.rnn.param_names if not self.runs_readers_rnn else ()
        return (*rnn, *self.output_shapes())

    def submodels(self):
        return (("", self.rnn),) if not self.runs_readers_rnn else ()

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
                top_p=None, seed=None, fast=True):
        """Continue ``prefix`` by ``num_preds`` characters (d2l.ai section 9.5): greedy by
        default, as the book, or sampled, on the fast path where the model has one (or the
        one ``fast=`` gives: :func:`d2lrnn.training.generation.predict` does it). The model
        computes on the device its parameters are on; ``device`` is the book's argument,
        where the book's model should be (a warning says so if it is not)."""
        if device is not None and self.ops.device_name(device) != self.ops.device_name(
                self.device):  # the book's device where the model is: quiet
            warnings.warn(f"predict: the model's parameters are on "
                          f"{self.ops.device_name(self.device)}, not on "
                          f"{self.ops.device_name(device)}: computing where they are (move "
                          f"the model first to compute on {self.ops.device_name(device)})",
                          DeviceWarning, stacklevel=2)
        with self.ops.on(self.device):
            return generation.predict(self, prefix, num_preds, vocab, temperature=temperature,
                                      top_k=top_k, top_p=top_p, seed=seed, fast=fast)


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
