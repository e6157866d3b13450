"""The encoder-decoder (d2l.ai 10.6) and the RNN encoder-decoder for machine translation
(10.7), written once for every backend, generic over an :class:`~d2lrnn.base.adapter.Ops`
adapter as the models of :mod:`d2lrnn.book.rnn` and :mod:`d2lrnn.book.modern` are.

``Encoder``, ``Decoder`` and ``EncoderDecoder`` are the book's interfaces, on which a reader's
classes build with the framework's own layers. ``Seq2SeqEncoder``, ``Seq2SeqDecoder`` and
``Seq2Seq`` are the package's: an embedding, the GRU of the frameworks' layers (reset after
the product; NumPy's scratch network of the same cell), the decoder's output layer, and the
book's masked loss. Their parameters are one flat dict by name (``get_params``)::

    encoder.embedding                  (source vocabulary, embed_size)
    encoder.rnn.rnns.<i>.<GRU's names> (layer 0 takes embed_size inputs)
    decoder.embedding                  (target vocabulary, embed_size)
    decoder.rnn.rnns.<i>.<GRU's names> (layer 0: embed_size + num_hiddens, the token first)
    decoder.dense.W, decoder.dense.b   (num_hiddens, target vocabulary), (target vocabulary,)

the GRU's names as :class:`~d2lrnn.book.modern.GRU` gives them (``W_xz`` ... ``b_hh``), behind
``rnns.<i>.`` even where there is one layer.
"""
import math
import warnings

import numpy as np

from ..base import checks
from ..base.adapter import DeviceWarning
from ..base.backend import check_float_dtype
from ..base.errors import BadArgument, NotAvailable
from ..cells import CELLS, VARIANTS
from ..maths import seq2seq as reference
from ..maths.equations import token_cross_entropy
from ..training import decoding
from .model import (
    Model,
    as_input,
    check_token_range,
    computes_package_maths,
    is_ours,
    is_package_model,
    made_by_package,
    on_model_device,
)
from . import seq2seq_fast
from .modern import part_seed

# The GRU of the frameworks' layers (torch.nn.GRU, Gluon, Keras' default, Flax): the reset
# gate applied after the recurrent product, as the book's 10.7 trains it. The package's
# encoder and decoder compute it unless told (``reset="before"``: the book's scratch GRU,
# on Keras' layer or, elsewhere, the scratch network of that cell).
CELL = VARIANTS["gru-after"]


class Encoder(Model):
    """The encoder's interface (10.6): ``forward(X, *args)`` turns a source sequence into what
    the decoder's ``init_state`` takes. A reader's encoder derives from it."""

    def __init__(self):
        super().__init__()

    def forward(self, X, *args, **kwargs):
        return self.readers_forward(X, *args, **kwargs)


class Decoder(Model):
    """The decoder's interface (10.6): ``init_state(enc_all_outputs, *args)`` makes its first
    state from the encoder's outputs, ``forward(X, state)`` returns (outputs, next state)."""

    def __init__(self):
        super().__init__()

    def init_state(self, enc_all_outputs, *args):
        raise NotImplementedError(f"{type(self).__name__} must define init_state(self, "
                                  f"enc_all_outputs, *args)")

    def forward(self, X, state, **kwargs):
        return self.readers_forward(X, state, **kwargs)


class Parts:
    """What a model made of named parts has: its own parameters (``own_names``), then each
    part's behind its prefix (:meth:`~d2lrnn.book.model.Model.submodels`)."""

    own_names = ()

    @property
    def param_names(self):
        return (*self.own_names, *(prefix + name for prefix, part in self.submodels()
                                   for name in part.param_names))


class EncoderDecoder(Parts, Model):
    """The encoder-decoder (10.6): the encoder's outputs make the decoder's first state, and
    ``forward(enc_X, dec_X, *args)`` returns the decoder's outputs."""

    def __init__(self, encoder, decoder):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder
        self.made()

    def made(self):
        """Checked; the package's own (its parameters by name, :meth:`get_params`) where its
        encoder and decoder are."""
        self.validate()
        if all(is_package_model(part) for part in (self.encoder, self.decoder)):
            self._set_field("_made", True)

    def submodels(self):
        return (("encoder.", self.encoder), ("decoder.", self.decoder))

    @property
    def dtype(self):
        """The parameters' dtype: the encoder's."""
        return self.encoder.dtype

    def initial_arrays(self):
        return {}  # every parameter is the encoder's or the decoder's

    def require_built(self):
        if not made_by_package(self):
            raise NotAvailable(f"{type(self).__name__}: parameters by name come from the "
                               f"package's Seq2SeqEncoder and Seq2SeqDecoder; this model holds "
                               f"a reader's ({type(self.encoder).__name__}, "
                               f"{type(self.decoder).__name__}): use the framework's own "
                               f"parameters")

    def forward(self, enc_X, dec_X, *args):
        enc_all_outputs = self.encoder(enc_X, *args)
        dec_state = self.decoder.init_state(enc_all_outputs, *args)
        return self.decoder(dec_X, dec_state)[0]  # the decoder's outputs only

    def predict_step(self, batch, device, num_steps, save_attention_weights=False):
        """Greedy decoding (10.7): from each target's first token (``<bos>``), ``num_steps``
        tokens, each the argmax of the decoder's outputs fed back. ``batch`` is
        ``(src, tgt, src_valid_len, label)``; returns (token ids (batch_size, num_steps), the
        decoder's attention weights of each step where asked: none here). It computes where
        the model's parameters are; ``device`` is the book's argument (a warning says so
        where it differs)."""
        checks.whole(num_steps, "num_steps", "predict_step")
        where = self.device
        if device is not None and self.ops.device_name(device) != self.ops.device_name(where):
            warnings.warn(f"predict_step: the model's parameters are on "
                          f"{self.ops.device_name(where)}, not on "
                          f"{self.ops.device_name(device)}: computing where they are",
                          DeviceWarning, stacklevel=2)
        ops = self.ops
        with ops.on(where):
            src, tgt, src_valid_len = self.decoding_batch(batch, "predict_step")[:3]
            enc_all_outputs = self.encoder(src, src_valid_len)
            dec_state = self.decoder.init_state(enc_all_outputs, src_valid_len)
            outputs, attention_weights = [tgt[:, :1]], []
            for _ in range(num_steps):
                Y, dec_state = self.decoder(outputs[-1], dec_state)
                outputs.append(ops.argmax(Y, 2))
                if save_attention_weights:  # a decoder with attention keeps its weights
                    attention_weights.append(self.decoder.attention_weights)
            return ops.concat(outputs[1:], 1), attention_weights

    def beam_search(self, batch, num_steps, beam_size, *, alpha=decoding.ALPHA, eos=None):
        """Beam search (10.8) for each source row of ``batch`` (as :meth:`predict_step` takes
        it): up to ``num_steps`` target tokens after the row's first (``<bos>``), the best
        ``beam_size`` kept at each step, scored log P / L^``alpha``. Returns the best
        :class:`~d2lrnn.training.decoding.Candidate` of each row (``beam_size=1``: greedy
        search, the tokens of :meth:`predict_step` up to ``<eos>``). ``eos`` is the target
        vocabulary's ``<eos>`` id; where not given, it is read from the labels (see
        :meth:`eos_of`). The search is :mod:`d2lrnn.training.decoding`'s, the same in every
        backend; the model computes one decoder step, its parameters as they are (no
        dropout: a decoder's state is the book's, each 3-D array time- or layer-major, each
        2-D one batch-major)."""
        checks.whole(beam_size, "beam_size", "beam_search")
        step, states, bos, eos = self.search_start(batch, num_steps, eos, "beam_search")
        return [decoding.beam_search(step, state, bos=first, eos=eos, num_steps=num_steps,
                                     beam_size=beam_size, alpha=alpha, ops=self.ops)[0]
                for state, first in zip(states, bos)]

    def search_start(self, batch, num_steps, eos=None, where="search_start"):
        """What the searches of :mod:`d2lrnn.training.decoding` take for ``batch``: (the
        decoder's step, the state of each source row, each row's first target token, the
        ``<eos>`` id), the encoder run once on every row."""
        checks.whole(num_steps, "num_steps", where)
        ops = self.ops
        with ops.on(self.device), ops.no_grad():
            src, tgt, src_valid_len, label = self.decoding_batch(batch, where)
            eos = self.eos_of(label) if eos is None else checks.whole(eos, "eos", where, least=0)
            state = _batch_first(ops, self.decoder.init_state(
                self.encoder(src, src_valid_len, **self.inference), src_valid_len))
        bos = [int(token) for token in ops.to_numpy(tgt)[:, 0]]
        return (self.decoding_step(), [_rows(ops, state, row) for row in range(len(bos))],
                bos, eos)

    def decoding_step(self):
        """The decoder's step as the searches take it, ``step(state, ids) -> (log-probabilities
        of the next token, state)``, on this model's device, recording no gradients."""
        ops = self.ops

        def step(state, ids):
            with ops.on(self.device), ops.no_grad():
                return self.decode_one(state, ids)

        return step

    def decode_one(self, state, ids):
        """One decoder step for the sequences of ``state`` (sequences first), each last token
        in ``ids``: (the log-probabilities of the next token, the state, sequences first)."""
        ops = self.ops
        Y, state = self.decoder(ops.reshape(ids, (-1, 1)), _batch_first(ops, state),
                                **self.inference)
        return ops.log_softmax(Y[:, -1]), _batch_first(ops, state)

    # Keywords of the encoder's and decoder's calls while decoding (JAX's book: no dropout).
    inference = {}

    def decoding_batch(self, batch, where):
        """``batch`` (src, tgt, src_valid_len, label) as integer arrays of this backend."""
        if not isinstance(batch, (tuple, list)) or len(batch) != 4:
            got = f"{len(batch)} arrays" if isinstance(batch, (tuple, list)) else \
                type(batch).__name__
            raise BadArgument(f"{where}: the batch is (src, tgt, src_valid_len, label), as "
                              f"MTFraEng.build gives it; got {got}")
        ops = self.ops
        return tuple(ops.asarray(ops.to_numpy(a) if ops.is_tensor(a) else np.asarray(a),
                                 "int64") for a in batch)

    def eos_of(self, label):
        """The target vocabulary's ``<eos>`` id, read from the labels: what ends each label
        that is padded (``<pad>`` is the model's ``tgt_pad``), the same in every such row."""
        pad = getattr(self, "tgt_pad", None)
        rows = self.ops.to_numpy(label)
        ends = set() if pad is None else {
            int(row[np.argmax(row == pad) - 1]) for row in rows
            if (row == pad).any() and row[0] != pad}
        if len(ends) != 1:
            raise BadArgument(f"beam_search: the <eos> id cannot be read from these labels "
                              f"(no padded label{'' if pad is not None else ', no tgt_pad'}"
                              f"{', or several ends' if len(ends) > 1 else ''}); pass "
                              f"eos=data.tgt_vocab['<eos>']")
        return ends.pop()


class Seq2Seq(EncoderDecoder):
    """The RNN encoder-decoder (10.7): the book's masked loss (pads weigh nothing), trained
    with the framework's Adam at rate ``lr``. ``tgt_pad`` is the target vocabulary's
    ``<pad>``."""

    def __init__(self, encoder, decoder, tgt_pad, lr):
        self.tgt_pad, self.lr = tgt_pad, lr
        super().__init__(encoder, decoder)
        self.save_hyperparameters()

    def validate(self):
        where = type(self).__name__
        checks.whole(self.tgt_pad, "tgt_pad", where, least=0)
        checks.real(self.lr, "lr", where, above=0)
        resets = {getattr(part, "reset", None) for part in (self.encoder, self.decoder)}
        if len(resets) > 1 and None not in resets:
            raise BadArgument(f"{where}: the encoder computes the GRU with "
                              f"reset={self.encoder.reset!r}, the decoder with "
                              f"reset={self.decoder.reset!r}: give both the same")

    def validation_step(self, batch):
        Y_hat = self(*batch[:-1])
        self.plot("loss", self.loss(Y_hat, batch[-1]), train=False)

    @on_model_device
    def loss(self, Y_hat, Y):
        """The cross-entropy of each label that is not ``<pad>``, summed, over their number
        (0 for a batch of pads only)."""
        ops = self.ops
        vocab_size = ops.shape(Y_hat)[-1]
        Y = as_input(ops, Y, f"{type(self).__name__}.loss labels",
                     [("batch_size", ops.shape(Y_hat)[0]), ("num_steps", ops.shape(Y_hat)[1])])
        check_token_range(ops, Y, vocab_size, f"{type(self).__name__}.loss labels")
        if self.tgt_pad >= vocab_size:
            raise BadArgument(f"{type(self).__name__}.loss: tgt_pad ({self.tgt_pad}) is no "
                              f"token of the {vocab_size} the decoder predicts")
        losses = token_cross_entropy(ops, Y_hat, Y)
        mask = ops.not_equal(ops.reshape(Y, (-1,)), self.tgt_pad, ops.dtype_name(Y_hat))
        return ops.sum(losses * mask) / ops.maximum(ops.sum(mask), 1)

    def configure_optimizers(self):
        return self.adam(self.lr)  # the framework's Adam, as the book's

    # What a training step runs of the model and of the trainer (JAX's and TensorFlow's
    # Trainers compile the step whole where every one is the package's own).
    STEP_METHODS, TRAINER_STEP_METHODS = ("training_step", "loss"), ("train_batch",
                                                                      "clip_gradients")

    def compiles_training_step(self, trainer):
        """Whether ``trainer`` may run this model's whole training step compiled: the
        package's model, its encoder and decoder, whose step and loss, and the trainer's step
        and clipping, are the package's own. A reader's subclass or ``add_to_class``
        replacement of any of them runs eagerly, as written (compiled, Python that prints or
        reads values would run once, at tracing, or fail)."""
        return (made_by_package(self) and computes_package_maths(type(self))
                and all(is_ours(getattr(type(self), name, None)) for name in self.STEP_METHODS)
                and all(is_ours(getattr(type(trainer), name, None))
                        for name in self.TRAINER_STEP_METHODS))

    def check_step_batch(self, batch):
        """The token ids of a training batch (src, tgt, src_valid_len, label), checked
        before a compiled step, which cannot read them (out of range, a compiled lookup
        would silently give another row)."""
        where = type(self).__name__
        for ids, coder, what in ((batch[0], self.encoder, "source"),
                                 (batch[1], self.decoder, "target"),
                                 (batch[-1], self.decoder, "labels")):
            check_token_range(self.ops, ids, coder.vocab_size, f"{where} {what}")

    def loss_and_grads_fn(self, params, src, tgt, src_valid_len, label):
        """The masked loss at ``params`` (framework arrays by the shared names) on one batch,
        and its gradient for every parameter: the framework's autograd through the model's
        own layers (:meth:`logits_at`), or where it has none (NumPy) the reference's backward
        (:func:`d2lrnn.maths.seq2seq.loss_and_grads`)."""
        self.require_built()
        if not self.ops.has_autograd:
            return reference.loss_and_grads(self.ops, params, (src, tgt, src_valid_len, label),
                                            reset=self.encoder.reset, pad=self.tgt_pad)
        return self.ops.value_and_grad(
            lambda at: Seq2Seq.loss(self, self.logits_at(at, src, tgt), label), params)

    def logits_at(self, params, src, tgt):
        """The decoder's logits at ``params`` (by the shared names): what ``self(src, tgt)``
        computes, on given arrays, so that a framework can differentiate it."""
        def part(prefix):
            return {name[len(prefix):]: value for name, value in params.items()
                    if name.startswith(prefix)}
        state = self.encoder.forward_at(part("encoder."), src)
        return self.decoder.forward_at(part("decoder."), tgt, state)[0]

    def assign(self, params):
        """Set parameters from framework arrays of the right dtype (a trainer's step)."""
        for name, value in params.items():
            self._set_param(name, value)


class Dense(Model):
    """The decoder's output layer: ``x W + b`` over the last axis (Xavier-uniform ``W``, zero
    ``b``)."""

    param_names = ("W", "b")

    def __init__(self, num_inputs, num_outputs, *, dtype="float32", seed=None):
        super().__init__()
        self.num_inputs, self.num_outputs, self.dtype, self.seed = (num_inputs, num_outputs,
                                                                   dtype, seed)
        self.made()

    def draw_params(self):
        self._init_params()

    def initial_arrays(self):
        return xavier_uniform({"W": np.zeros((self.num_inputs, self.num_outputs)),
                               "b": np.zeros(self.num_outputs)}, self.dtype, self.seed)

    def forward(self, x):
        params = self.book_params
        return self.ops.affine(x, params["W"], params["b"])


class RecurrentCoder(Parts):
    """What the package's encoder and decoder share: their arguments, checked; the token
    embedding; the GRU in layers (:func:`gru_part`); the layers' states as the framework's
    layer gives them."""

    own_names = ("embedding",)

    def __init__(self, vocab_size, embed_size, num_hiddens, num_layers, dropout=0, *,
                 reset=CELL.reset, dtype="float32", seed=None):
        super().__init__()
        self.vocab_size, self.embed_size, self.num_hiddens, self.num_layers = (
            vocab_size, embed_size, num_hiddens, num_layers)
        self.dropout, self.reset, self.dtype, self.seed = dropout, reset, dtype, seed
        self.made()

    def validate(self):
        where = type(self).__name__
        self._set_field("dtype", check_float_dtype(self.dtype))
        for name in ("vocab_size", "embed_size", "num_hiddens", "num_layers"):
            checks.whole(getattr(self, name), name, where)
        if checks.real(self.dropout, "dropout", where, least=0) >= 1:
            raise BadArgument(f"{where}: dropout is the probability of dropping an output "
                              f"between layers, in [0, 1); got {self.dropout}")
        if self.seed is not None:
            checks.whole(self.seed, "seed", where, least=0)
        self._set_field("reset", CELLS["gru"].checked_value(self.reset))

    @property
    def cell(self):
        """The GRU this coder computes (:data:`d2lrnn.cells.VARIANTS`)."""
        return VARIANTS[f"gru-{self.reset}"]

    def initial_arrays(self):
        """The embedding, N(0, 1) as the frameworks' embedding layers draw it."""
        rng = np.random.default_rng(part_seed(self.seed, 0))
        return {"embedding": rng.normal(0.0, 1.0, (self.vocab_size, self.embed_size))
                .astype(self.dtype)}

    def draw_params(self):
        self._init_params()
        for name, part in self.make_parts().items():
            self._set_field(name, part)

    def make_parts(self):
        """{attribute: part}: the GRU (and the decoder's output layer), drawn from this
        model's seed (so that made again, they are the same)."""
        return {"rnn": gru_part(self, self.rnn_inputs, part_seed(self.seed, 1))}

    def submodels(self):
        rnn = getattr(self, "rnn", None)
        if rnn is None:
            return ()
        # one layer of the framework's GRU has no prefix of its own: rnns.0. all the same
        return (("rnn." + ("rnns.0." if rnn.one_layer else ""), rnn),)

    def token_ids(self, X, where):
        """Token ids (batch_size, num_steps), checked -> (num_steps, batch_size)."""
        ops = self.ops
        X = as_input(ops, X, where, [("batch_size", None), ("num_steps", None)])
        check_token_range(ops, X, self.vocab_size, where)
        return ops.transpose(X, (1, 0))

    def embed(self, X, where):
        """Token ids (batch_size, num_steps) -> their embeddings (num_steps, batch_size,
        embed_size)."""
        return self.ops.embedding(self.book_params["embedding"], self.token_ids(X, where))

    def run_rnn(self, inputs, state=None, training=None):
        """The GRU on ``inputs``; ``training`` (JAX's book passes it) says whether it drops
        outputs between layers there (the scratch network drops nothing: it is not told)."""
        if training is None or not self.ops.has_cell_layer(self.cell):
            return self.rnn(inputs, state)
        return self.rnn(inputs, state, training=training)

    def layer_states(self, state):
        """The book's state (num_layers, batch_size, num_hiddens) as the GRU takes it."""
        states = [state[i] for i in range(self.num_layers)]
        return states[0] if self.num_layers == 1 else states

    def book_state(self, final):
        """The GRU's final state as the framework's layer gives it: stacked (num_layers,
        batch_size, num_hiddens), or (Keras, as the book's TensorFlow) a list."""
        finals = [final] if self.num_layers == 1 else list(final)
        return self.ops.stack(finals, 0) if self.ops.layers_stack_states else finals

    def rnn_at(self, params, inputs, state=None):
        """The GRU's time loop on ``inputs`` at ``params`` (by this coder's names), from
        ``state`` as the GRU takes it (zeros where None): (outputs, final state)."""
        rnn = self.rnn
        prefix = "rnn." + ("rnns.0." if rnn.one_layer else "")
        own = {name: params[prefix + name] for name in rnn.param_names}
        return rnn.recurrence(own, inputs, rnn.initial_state(state, self.ops.shape(inputs)[1]))


def _batch_first(ops, state):
    """A decoder's state (arrays, or lists and tuples of them) with its 3-D arrays' first two
    axes swapped: the book's time- or layer-major layout to the sequences first, and back."""
    if isinstance(state, (tuple, list)):
        return type(state)(_batch_first(ops, part) for part in state)
    return ops.transpose(state, (1, 0, 2)) if len(ops.shape(state)) == 3 else state


def _rows(ops, state, row):
    """The state of source ``row`` alone (sequences first)."""
    if isinstance(state, (tuple, list)):
        return type(state)(_rows(ops, part, row) for part in state)
    return ops.take_rows(state, np.array([row]))


def gru_part(model, num_inputs, seed):
    """``model``'s GRU of ``num_layers`` layers on ``num_inputs`` inputs: the framework's own
    layer, else (NumPy) the scratch network of the same cell, its weights drawn as the book's
    ``init_seq2seq`` draws them (Xavier-uniform, zero biases)."""
    family, ops = model.family, model.ops
    options = {"dtype": model.dtype, "seed": seed}
    if ops.has_cell_layer(model.cell):
        part = model.make_part(family["GRU"], num_inputs=num_inputs,
                               num_hiddens=model.num_hiddens, num_layers=model.num_layers,
                               dropout=model.dropout, reset=model.reset, **options)
    else:
        if model.dropout:
            raise BadArgument(f"{type(model).__name__}: the {ops.name} backend's GRU drops "
                              f"nothing between layers (it computes the reference's "
                              f"function); pass dropout=0")
        part = model.make_part(family["StackedRNNScratch"], num_inputs, model.num_hiddens,
                               model.num_layers, cell=model.cell.key, **options)
    shapes = part.network.shapes(num_inputs, model.num_hiddens)  # of every layer
    first = xavier_uniform({name: np.zeros(shape) for name, shape in shapes.items()},
                           model.dtype, seed)
    for name, value in first.items():  # no read of its values: they may be Flax's, traced
        part._set_param(name, ops.asarray(value, model.dtype))
    return part


def xavier_uniform(params, dtype, seed):
    """Every 2-D weight of ``params`` (NumPy arrays by name) drawn from U(-a, a), a =
    sqrt(6 / (fan_in + fan_out)) (Glorot and Bengio, as PyTorch's ``xavier_uniform_``), by
    NumPy from ``seed`` in name order; biases zero."""
    rng = np.random.default_rng(seed)
    drawn = {}
    for name in sorted(params):
        shape = np.shape(params[name])
        bound = math.sqrt(6 / sum(shape)) if len(shape) == 2 else 0.0
        drawn[name] = (rng.uniform(-bound, bound, shape) if bound else np.zeros(shape))
    return {name: drawn[name].astype(dtype) for name in params}


class Seq2SeqEncoder(RecurrentCoder, Encoder):
    """The RNN encoder (10.7): embedded source tokens through ``num_layers`` GRU layers;
    ``forward(X, *args)`` returns (outputs (num_steps, batch_size, num_hiddens), the final
    state of every layer)."""

    @property
    def rnn_inputs(self):
        return self.embed_size

    def forward(self, X, *args, training=None):
        """``training`` is taken for the book's TensorFlow and JAX calls, which pass it."""
        where = f"{type(self).__name__} source"
        if seq2seq_fast.applies(self):
            outputs, state = seq2seq_fast.run_gru(self, self.token_ids(X, where))
        else:
            outputs, state = self.run_rnn(self.embed(X, where), training=training)
        return outputs, self.book_state(state)

    def forward_at(self, params, X):
        """What :meth:`forward` computes, at ``params`` (by this encoder's names)."""
        ops = self.ops
        outputs, state = self.rnn_at(params, ops.embedding(params["embedding"],
                                                           ops.transpose(X, (1, 0))))
        return outputs, self.book_state(state)


class Seq2SeqDecoder(RecurrentCoder, Decoder):
    """The RNN decoder (10.7): the encoder's final state starts it, and the top layer's final
    output (the context) goes beside every embedded target token into its GRU; a dense layer
    gives the logits. ``forward(X, state)`` returns (logits (batch_size, num_steps,
    vocab_size), [encoder outputs, the state of every layer])."""

    @property
    def rnn_inputs(self):
        return self.embed_size + self.num_hiddens

    def make_parts(self):
        return {**super().make_parts(),
                "dense": self.make_part(self.family["Dense"], self.num_hiddens,
                                        self.vocab_size, dtype=self.dtype,
                                        seed=part_seed(self.seed, 2))}

    def submodels(self):
        dense = getattr(self, "dense", None)
        return (*super().submodels(), *((("dense.", dense),) if dense is not None else ()))

    def init_state(self, enc_all_outputs, *args):
        return enc_all_outputs

    def forward(self, X, state, training=None):
        ops = self.ops
        where = f"{type(self).__name__} target"
        enc_output, hidden_state = state
        if seq2seq_fast.applies(self):  # the context: the encoder's top layer, last step
            outputs, hidden_state = seq2seq_fast.run_gru(
                self, self.token_ids(X, where), self.layer_states(hidden_state),
                enc_output[-1])
        else:
            outputs, hidden_state = self.run_rnn(
                with_context(ops, self.embed(X, where), enc_output),
                self.layer_states(hidden_state), training)
        logits = ops.transpose(self.dense(outputs), (1, 0, 2))
        return logits, [enc_output, self.book_state(hidden_state)]

    def forward_at(self, params, X, state):
        """What :meth:`forward` computes, at ``params`` (by this decoder's names)."""
        ops = self.ops
        embs = ops.embedding(params["embedding"], ops.transpose(X, (1, 0)))
        enc_output, hidden_state = state
        outputs, hidden_state = self.rnn_at(params, with_context(ops, embs, enc_output),
                                            self.layer_states(hidden_state))
        logits = ops.affine(outputs, params["dense.W"], params["dense.b"])
        return ops.transpose(logits, (1, 0, 2)), [enc_output, self.book_state(hidden_state)]


def with_context(ops, embs, enc_output):
    """The decoder's GRU inputs: each embedded token (num_steps, batch_size, embed_size)
    beside the context, the encoder's top layer at its last step."""
    context = enc_output[-1]
    return ops.concat([embs, ops.stack([context] * ops.shape(embs)[0], 0)], 2)


def init_seq2seq(ops, module):
    """The book's Xavier initialisation (10.7), for ``module.apply(init_seq2seq)``: the
    package's GRU and dense layers get Xavier-uniform weights and zero biases; a framework's
    own layers, what the book's ``init_seq2seq`` gives them (``Ops.xavier_layer``)."""
    if isinstance(module, Model) and made_by_package(module) and not isinstance(module, Parts):
        module.set_params(xavier_uniform(module.get_params(), module.dtype, module.seed))
    elif not isinstance(module, Model):
        ops.xavier_layer(module)
