"""The encoder-decoder classes of d2l.ai 10.6-10.7 in every backend: the package's
``Seq2SeqEncoder``, ``Seq2SeqDecoder`` and ``Seq2Seq`` (shapes as the book checks them, the
masked loss, parameters by the shared names, the same numbers as NumPy's, greedy decoding,
training with the framework's Adam), and the book's idioms on ``Encoder``, ``Decoder`` and
``EncoderDecoder``: a reader's encoder and decoder on the framework's own layers (and the
package's GRU, ``num_layers`` deep with dropout) handed to the book's encoder-decoder,
methods added with ``add_to_class``. Written in our own words; the data is a synthetic copy
task (the book's MTFraEng is built elsewhere).
"""
import inspect
import warnings

import numpy as np
import pytest
from test_book_idioms import restore_class  # noqa: F401 - the fixture

from d2lrnn.base.errors import UserError
from d2lrnn.cells import VARIANTS

PAD, BOS, EOS = 0, 1, 2
# Small sizes of the book's 10.7 shape checks: source and target vocabularies, embedding,
# hidden units, layers, batch, steps.
SRC_VOCAB, TGT_VOCAB, EMBED, HIDDENS, LAYERS, BATCH, STEPS = 10, 12, 8, 16, 2, 4, 9


def package_model(d2l, dropout=0, lr=0.01, seed=0, layers=LAYERS):
    encoder = d2l.Seq2SeqEncoder(SRC_VOCAB, EMBED, HIDDENS, layers, dropout, seed=seed)
    decoder = d2l.Seq2SeqDecoder(TGT_VOCAB, EMBED, HIDDENS, layers, dropout, seed=seed + 1)
    return d2l.Seq2Seq(encoder, decoder, tgt_pad=PAD, lr=lr)


def copy_task(rows=320, num_steps=STEPS, seed=0):
    """Sentences of random words (ids 3..9), each ended by <eos> and padded: the target is
    the source (ids shared by both vocabularies), as (src, tgt_in, src_valid_len, label)."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, num_steps - 1, rows)
    src = np.full((rows, num_steps), PAD, dtype="int64")
    for row, length in enumerate(lengths):
        src[row, :length] = rng.integers(3, SRC_VOCAB, length)
        src[row, length] = EOS
    tgt_in = np.concatenate([np.full((rows, 1), BOS), src[:, :-1]], 1)
    return src, tgt_in, lengths + 1, src.copy()


def copy_data(d2l, batch_size=32, num_val=64):
    arrays = copy_task()

    class Copies(d2l.DataModule):
        def __init__(self):
            super().__init__()
            self.batch_size = batch_size

        def get_dataloader(self, train):
            rows = slice(0, -num_val) if train else slice(-num_val, None)
            return self.get_tensorloader(arrays, train, rows)

    return Copies()


def as_numpy(d2l, x):
    return d2l.ops.to_numpy(x) if d2l.ops.is_tensor(x) else np.asarray(x)


def validation_loss(d2l, model, other_loss=None):
    """The model's loss on the copy task's validation rows, dropping nothing (PyTorch's
    ``eval()``); with ``other_loss``, that loss too, of the same outputs."""
    src, tgt_in, valid, label = (d2l.ops.asarray(a[-64:], "int64") for a in copy_task())
    if callable(getattr(model, "eval", None)):
        model.eval()
    with d2l.ops.no_grad():
        Y_hat = model(src, tgt_in, valid)
        losses = [float(as_numpy(d2l, loss(Y_hat, label)))
                  for loss in (model.loss, other_loss) if loss is not None]
    return losses if other_loss else losses[0]


# -- the package's classes ---------------------------------------------------------------------


def test_shapes_as_the_book_checks_them(d2l):
    X = np.zeros((BATCH, STEPS), dtype="int64")
    encoder = d2l.Seq2SeqEncoder(SRC_VOCAB, EMBED, HIDDENS, LAYERS)
    enc_outputs, enc_state = encoder(X)
    d2l.check_shape(enc_outputs, (STEPS, BATCH, HIDDENS))
    decoder = d2l.Seq2SeqDecoder(TGT_VOCAB, EMBED, HIDDENS, LAYERS)
    dec_outputs, state = decoder(X, decoder.init_state(encoder(X)))
    d2l.check_shape(dec_outputs, (BATCH, STEPS, TGT_VOCAB))
    check_layer_states(d2l, enc_state)
    check_layer_states(d2l, state[1])
    d2l.check_shape(state[0], (STEPS, BATCH, HIDDENS))  # the encoder's outputs, passed on


def check_layer_states(d2l, states):
    """Every layer's final state, as the book checks them."""
    if d2l.ops.layers_stack_states:  # as torch.nn.GRU, Gluon and the book's Flax GRU
        d2l.check_shape(states, (LAYERS, BATCH, HIDDENS))
    else:  # Keras' layers: a list, as the book's TensorFlow GRU
        d2l.check_len(states, LAYERS)
        d2l.check_shape(states[0], (BATCH, HIDDENS))


def test_parameters_by_the_shared_names(d2l):
    model = package_model(d2l)
    params = model.get_params()
    gru = VARIANTS["gru-after"]
    expected = {"encoder.embedding": (SRC_VOCAB, EMBED), "decoder.embedding": (TGT_VOCAB, EMBED),
                "decoder.dense.W": (HIDDENS, TGT_VOCAB), "decoder.dense.b": (TGT_VOCAB,)}
    for side, first in (("encoder", EMBED), ("decoder", EMBED + HIDDENS)):
        for i in range(LAYERS):
            expected.update({f"{side}.rnn.rnns.{i}.{name}": shape for name, shape in
                             gru.shapes(first if i == 0 else HIDDENS, HIDDENS).items()})
    assert {name: value.shape for name, value in params.items()} == expected
    one_layer = package_model(d2l, layers=1).get_params()  # behind rnns.0. all the same
    assert "encoder.rnn.rnns.0.W_xz" in one_layer and "decoder.rnn.rnns.0.b_hh" in one_layer
    # Xavier-uniform weights (|w| <= sqrt(6 / (fan_in + fan_out))), zero biases
    W = params["decoder.dense.W"]
    assert np.abs(W).max() <= np.sqrt(6 / sum(W.shape)) and W.std() > 0.1
    assert not params["encoder.rnn.rnns.1.b_hh"].any()
    changed = {name: value + 1 for name, value in params.items()}
    model.set_params(changed)
    assert all(np.allclose(model.get_params()[name], changed[name]) for name in changed)


def test_the_same_numbers_as_numpys(d2l):
    """The same seeds draw the same parameters everywhere, and every backend's encoder and
    decoder compute NumPy's logits and loss from them."""
    from d2lrnn import numpy as ref

    src, tgt_in, valid, label = (a[:BATCH] for a in copy_task())
    mine, theirs = package_model(d2l, seed=4), package_model(ref, seed=4)
    for name, value in theirs.get_params().items():
        np.testing.assert_array_equal(mine.get_params()[name], value)
    logits, expected = mine(src, tgt_in, valid), theirs(src, tgt_in, valid)
    np.testing.assert_allclose(as_numpy(d2l, logits), expected, atol=1e-5)
    assert abs(float(as_numpy(d2l, mine.loss(logits, label)))
               - float(theirs.loss(expected, label))) < 1e-5


def test_the_masked_loss_ignores_pads(d2l):
    model = package_model(d2l)
    ops = d2l.ops
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(BATCH, STEPS, TGT_VOCAB)).astype("float32")
    label = rng.integers(3, TGT_VOCAB, (BATCH, STEPS))
    label[:, 5:] = PAD
    loss = float(as_numpy(d2l, model.loss(ops.asarray(logits, "float32"), label)))
    # what the book's masked loss computes: the cross-entropy of the real tokens, averaged
    shifted = logits - logits.max(-1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    picked = np.take_along_axis(log_p, label[..., None], -1)[..., 0]
    assert abs(loss + picked[:, :5].mean()) < 1e-5
    logits[:, 5:] = rng.normal(size=(BATCH, STEPS - 5, TGT_VOCAB)) * 10  # pads' predictions
    assert abs(float(as_numpy(d2l, model.loss(ops.asarray(logits, "float32"), label)))
               - loss) < 1e-5
    only_pads = np.full_like(label, PAD)
    assert float(as_numpy(d2l, model.loss(ops.asarray(logits, "float32"), only_pads))) == 0


def test_predict_step_decodes_greedily(d2l):
    model = package_model(d2l)
    src, tgt_in, valid, label = (a[:BATCH] for a in copy_task())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # where the model is: no warning
        batch = (src, tgt_in, valid, label)
        if list(inspect.signature(model.predict_step).parameters)[0] == "params":
            preds, attention = model.predict_step(None, batch, 5)  # JAX's: params first
        else:
            preds, attention = model.predict_step(batch, model.device, 5)
    d2l.check_shape(preds, (BATCH, 5))
    assert not any(attention)  # no attention: no weights
    # greedy: each token the argmax of the decoder fed the tokens before it
    state = model.decoder.init_state(model.encoder(src, valid))
    token = tgt_in[:, :1]
    for step in range(5):
        Y, state = model.decoder(token, state)
        token = as_numpy(d2l, Y).argmax(2)
        np.testing.assert_array_equal(as_numpy(d2l, preds)[:, step:step + 1], token)


@pytest.mark.needs("autograd")
def test_one_epoch_with_adam_and_clipping_lowers_the_loss(d2l):
    model = package_model(d2l)
    data = copy_data(d2l)
    before = validation_loss(d2l, model)
    trainer = d2l.Trainer(max_epochs=1, gradient_clip_val=1)
    trainer.fit(model, data)
    optimizer = getattr(trainer.optim, "optimizer", trainer.optim)  # Gluon's Trainer holds it
    assert type(optimizer).__name__ == "Adam" or "ScaleByAdamState" in repr(
        getattr(trainer, "state", None))  # the framework's, from configure_optimizers (optax)
    after = validation_loss(d2l, model)
    assert after < before - 0.1, (before, after)
    assert model.board.data["val_loss"]  # validation_step plotted


def test_bad_arguments_get_one_line(d2l):
    with pytest.raises(UserError, match="dropout"):
        d2l.Seq2SeqEncoder(SRC_VOCAB, EMBED, HIDDENS, LAYERS, 1.0)
    with pytest.raises(UserError, match="num_layers"):
        d2l.Seq2SeqDecoder(TGT_VOCAB, EMBED, HIDDENS, 0)
    with pytest.raises(UserError, match="tgt_pad"):
        package_model(d2l).__class__(d2l.Seq2SeqEncoder(4, 2, 3, 1), d2l.Seq2SeqDecoder(
            4, 2, 3, 1), tgt_pad=-1, lr=0.1)
    model = package_model(d2l)
    src = np.full((2, 3), SRC_VOCAB)  # one past the source vocabulary
    with pytest.raises(UserError, match=r"token ids must lie in \[0, 10\)"):
        model(src, src, None)


# -- the book's idioms: a reader's classes on the framework's layers -------------------------


def reader_classes(d2l):
    """An encoder and a decoder a reader writes as 10.7 does, on the framework's embedding and
    dense layers and the library's GRU (``num_layers`` deep, dropout between layers), and
    the framework's Adam for a reader's encoder-decoder."""
    return {"torch": torch_reader_classes, "tensorflow": tensorflow_reader_classes,
            "mxnet": mxnet_reader_classes}[d2l.ops.name](d2l)


def torch_reader_classes(d2l):
    import torch
    from torch import nn

    class SourceReader(d2l.Encoder):
        def __init__(self, vocab_size, embed_size, num_hiddens, num_layers, dropout=0):
            super().__init__()
            self.embedding = nn.Embedding(vocab_size, embed_size)
            self.rnn = d2l.GRU(embed_size, num_hiddens, num_layers, dropout)
            self.apply(d2l.init_seq2seq)

        def forward(self, X, *args):
            return self.rnn(self.embedding(X.t().long()))

    class TargetWriter(d2l.Decoder):
        def __init__(self, vocab_size, embed_size, num_hiddens, num_layers, dropout=0):
            super().__init__()
            self.embedding = nn.Embedding(vocab_size, embed_size)
            self.rnn = d2l.GRU(embed_size + num_hiddens, num_hiddens, num_layers, dropout)
            self.dense = nn.LazyLinear(vocab_size)
            self.apply(d2l.init_seq2seq)

        def init_state(self, enc_all_outputs, *args):
            return enc_all_outputs

        def forward(self, X, state):
            enc_outputs, hidden = state
            embs = self.embedding(X.t().long())
            context = enc_outputs[-1].expand(embs.shape[0], -1, -1)
            outputs, hidden = self.rnn(torch.cat([embs, context], -1), hidden)
            return self.dense(outputs).swapaxes(0, 1), [enc_outputs, hidden]

    def adam(model):
        return torch.optim.Adam(model.parameters(), lr=model.lr)

    return SourceReader, TargetWriter, adam


def mxnet_reader_classes(d2l):
    from mxnet import gluon, init
    from mxnet import np as mnp

    class SourceReader(d2l.Encoder):
        def __init__(self, vocab_size, embed_size, num_hiddens, num_layers, dropout=0):
            super().__init__()
            self.embedding = gluon.nn.Embedding(vocab_size, embed_size)
            self.rnn = d2l.GRU(num_hiddens, num_layers, dropout)
            self.initialize(init.Xavier())

        def forward(self, X, *args):
            return self.rnn(self.embedding(X.T))

    class TargetWriter(d2l.Decoder):
        def __init__(self, vocab_size, embed_size, num_hiddens, num_layers, dropout=0):
            super().__init__()
            self.embedding = gluon.nn.Embedding(vocab_size, embed_size)
            self.rnn = d2l.GRU(num_hiddens, num_layers, dropout)
            self.dense = gluon.nn.Dense(vocab_size, flatten=False)
            self.initialize(init.Xavier())

        def init_state(self, enc_all_outputs, *args):
            return enc_all_outputs

        def forward(self, X, state):
            enc_outputs, hidden = state
            embs = self.embedding(X.T)
            context = mnp.broadcast_to(enc_outputs[-1], (embs.shape[0],
                                                         *enc_outputs[-1].shape))
            outputs, hidden = self.rnn(mnp.concatenate([embs, context], -1), hidden)
            return self.dense(outputs).swapaxes(0, 1), [enc_outputs, hidden]

    def adam(model):
        return gluon.Trainer(model.parameters(), "adam", {"learning_rate": model.lr})

    return SourceReader, TargetWriter, adam


def tensorflow_reader_classes(d2l):
    import tensorflow as tf

    class SourceReader(d2l.Encoder):
        def __init__(self, vocab_size, embed_size, num_hiddens, num_layers, dropout=0):
            super().__init__()
            self.embedding = tf.keras.layers.Embedding(vocab_size, embed_size)
            self.rnn = d2l.GRU(num_hiddens, num_layers, dropout)

        def call(self, X, *args):  # Keras' name for the forward pass
            return self.rnn(self.embedding(tf.transpose(X)))

    class TargetWriter(d2l.Decoder):
        def __init__(self, vocab_size, embed_size, num_hiddens, num_layers, dropout=0):
            super().__init__()
            self.embedding = tf.keras.layers.Embedding(vocab_size, embed_size)
            self.rnn = d2l.GRU(num_hiddens, num_layers, dropout)
            self.dense = tf.keras.layers.Dense(vocab_size)

        def init_state(self, enc_all_outputs, *args):
            return enc_all_outputs

        def call(self, X, state):
            enc_outputs, hidden = state
            embs = self.embedding(tf.transpose(X))
            context = tf.repeat(enc_outputs[-1][None], embs.shape[0], 0)
            outputs, hidden = self.rnn(tf.concat([embs, context], -1), hidden)
            return tf.transpose(self.dense(outputs), (1, 0, 2)), [enc_outputs, hidden]

    def adam(model):
        return tf.keras.optimizers.Adam(learning_rate=model.lr)

    return SourceReader, TargetWriter, adam


# The frameworks whose reader's classes these tests write.
READERS = ("torch", "tensorflow", "mxnet")


def readers_model(d2l, dropout=0.2):
    Reader, Writer, _ = reader_classes(d2l)
    return (Reader(SRC_VOCAB, EMBED, HIDDENS, LAYERS, dropout),
            Writer(TGT_VOCAB, EMBED, HIDDENS, LAYERS, dropout))


@pytest.mark.backends(*READERS, reason="a reader's classes are written in each framework")
def test_a_readers_encoder_and_decoder_handed_to_seq2seq(d2l):
    encoder, decoder = readers_model(d2l)
    X = np.zeros((BATCH, STEPS), dtype="int64")
    X = d2l.tensor(X) if d2l.ops.name != "jax" else X
    enc_outputs, enc_state = encoder(X)
    d2l.check_shape(enc_outputs, (STEPS, BATCH, HIDDENS))
    check_layer_states(d2l, enc_state)
    dec_outputs, state = decoder(X, decoder.init_state(encoder(X)))
    d2l.check_shape(dec_outputs, (BATCH, STEPS, TGT_VOCAB))
    check_layer_states(d2l, state[1])
    model = d2l.Seq2Seq(encoder, decoder, tgt_pad=PAD, lr=0.01)
    with pytest.raises(UserError, match="a reader's"):
        model.get_params()  # parameters by name are the package's encoder-decoder's
    before = validation_loss(d2l, model)
    d2l.Trainer(max_epochs=1, gradient_clip_val=1, num_gpus=1).fit(model, copy_data(d2l))
    assert validation_loss(d2l, model) < before - 0.1


@pytest.mark.backends(*READERS, reason="a reader's classes are written in each framework")
def test_a_readers_encoder_decoder_with_methods_added_to_classes(d2l, restore_class):
    _, _, adam = reader_classes(d2l)

    class Translator(d2l.EncoderDecoder):
        def __init__(self, encoder, decoder, tgt_pad, lr):
            super().__init__(encoder, decoder)
            self.save_hyperparameters()

        def configure_optimizers(self):
            return adam(self)

    @d2l.add_to_class(Translator)
    def loss(self, Y_hat, Y):  # the classifier's loss of each token, pads weighing nothing
        each = super(Translator, self).loss(Y_hat, Y, averaged=False)
        real = d2l.astype(d2l.reshape(Y, -1) != self.tgt_pad, d2l.float32)
        return d2l.reduce_sum(each * real) / d2l.reduce_sum(real)

    @d2l.add_to_class(restore_class(d2l.EncoderDecoder))
    def first_tokens(self, batch):  # a method every encoder-decoder gains, ours too
        return self.predict_step(batch, d2l.cpu(), 1)[0]

    model = Translator(*readers_model(d2l), tgt_pad=PAD, lr=0.01)
    package = package_model(d2l)
    before, packages = validation_loss(d2l, model, package.loss)
    assert abs(before - packages) < 1e-5  # the book's masked loss, as the package's
    d2l.Trainer(max_epochs=1, gradient_clip_val=1).fit(model, copy_data(d2l))
    assert validation_loss(d2l, model) < before - 0.1
    batch = tuple(a[:BATCH] for a in copy_task())
    for each in (model, package):
        d2l.check_shape(each.first_tokens(batch), (BATCH, 1))


def outputs_while(d2l, gru, X, training):
    """The GRU's outputs, its framework training (PyTorch's ``train()``, MXNet's
    ``autograd.record()``, Keras' ``training=``, the book's JAX ``training=``) or not."""
    if d2l.ops.name == "torch":
        gru.train(training)
        return gru(X)[0]
    if d2l.ops.name == "mxnet":
        from mxnet import autograd

        with autograd.record(train_mode=training):
            return gru(X)[0]
    if d2l.ops.name == "tensorflow":
        return gru.call(X, training=training)[0]
    return gru(X, training=training)[0]


@pytest.mark.needs("own_layers", layer="gru-after")
def test_the_gru_drops_between_layers_only_while_training(d2l):
    lazy = d2l.ops.layer_learns_input_size
    gru = d2l.GRU(3, 2, 0.5) if lazy else d2l.GRU(4, 3, 2, 0.5)
    X = d2l.ops.asarray(np.random.default_rng(0).normal(size=(5, 2, 4)), "float32")
    quiet = as_numpy(d2l, outputs_while(d2l, gru, X, False))
    np.testing.assert_array_equal(as_numpy(d2l, outputs_while(d2l, gru, X, False)), quiet)
    dropped = as_numpy(d2l, outputs_while(d2l, gru, X, True))
    assert not np.allclose(dropped, quiet)
    with pytest.raises(UserError, match="dropout"):
        d2l.GRU(3, 2, 1.0) if lazy else d2l.GRU(4, 3, 2, 1.0)


def jax_reader_classes(d2l):
    import jax.numpy as jnp
    from flax import linen as nn

    class Sizes(nn.Module):  # the fields both take, and the layers both hold
        vocab_size: int
        embed_size: int
        num_hiddens: int
        num_layers: int
        dropout: float = 0

        def setup(self):
            self.embedding = nn.Embed(self.vocab_size, self.embed_size)
            self.rnn = d2l.GRU(self.num_hiddens, self.num_layers, self.dropout)

        def embed(self, X):
            return self.embedding(X.T.astype(jnp.int32))

    class SourceReader(Sizes, d2l.Encoder):
        def __call__(self, X, *args, training=False):
            return self.rnn(self.embed(X), training=training)

    class TargetWriter(Sizes, d2l.Decoder):
        def setup(self):
            super().setup()
            self.dense = nn.Dense(self.vocab_size)

        def init_state(self, enc_all_outputs, *args):
            return enc_all_outputs

        def __call__(self, X, state, training=False):
            enc_outputs, hidden = state
            embs = self.embed(X)
            context = jnp.broadcast_to(enc_outputs[-1], (embs.shape[0],
                                                         *enc_outputs[-1].shape))
            outputs, hidden = self.rnn(jnp.concatenate([embs, context], -1), hidden,
                                       training=training)
            return self.dense(outputs).swapaxes(0, 1), [enc_outputs, hidden]

    return SourceReader, TargetWriter


@pytest.mark.backends("jax", reason="Flax modules: their parameters live outside them")
def test_a_readers_flax_encoder_and_decoder_handed_to_seq2seq(d2l):
    Reader, Writer = jax_reader_classes(d2l)
    encoder = Reader(SRC_VOCAB, EMBED, HIDDENS, LAYERS, 0.2)
    decoder = Writer(TGT_VOCAB, EMBED, HIDDENS, LAYERS, 0.2)
    X = np.zeros((BATCH, STEPS), dtype="int32")
    (enc_outputs, enc_state), _ = encoder.init_with_output(d2l.get_key(), X)
    d2l.check_shape(enc_outputs, (STEPS, BATCH, HIDDENS))
    check_layer_states(d2l, enc_state)
    state = decoder.init_state(encoder.init_with_output(d2l.get_key(), X)[0])
    (dec_outputs, state), _ = decoder.init_with_output(d2l.get_key(), X, state)
    d2l.check_shape(dec_outputs, (BATCH, STEPS, TGT_VOCAB))
    check_layer_states(d2l, state[1])
    model = d2l.Seq2Seq(encoder, decoder, tgt_pad=PAD, lr=0.01, training=True)
    trainer = d2l.Trainer(max_epochs=1, gradient_clip_val=1)
    trainer.fit(model, copy_data(d2l))
    assert "ScaleByAdamState" in repr(trainer.state.opt_state)  # optax's Adam
    first, last = model.board.data["train_loss"][0].y, model.board.data["val_loss"][-1].y
    assert last < first - 0.1, (first, last)
    batch = tuple(a[:BATCH] for a in copy_task())
    preds, _ = model.predict_step(trainer.state.params, batch, 3)
    d2l.check_shape(preds, (BATCH, 3))


@pytest.mark.backends("tensorflow")
def test_tensorflows_adam_without_clipping_steps_on_dense_gradients(d2l):
    """An embedding's gradient comes from the tape as ``tf.IndexedSlices`` with a row per
    lookup; Keras' Adam given those moved a row looked up several times by up to 2 lr in its
    first step. The Trainer's step without clipping is the step on the dense gradients, and
    no parameter moves by more than lr (Adam's first step, in either formula)."""
    import tensorflow as tf
    lr = 0.01
    arrays = copy_task(rows=BATCH)
    assert np.bincount(arrays[0].ravel())[3:].max() > 1  # a word looked up several times
    batch = [tf.constant(a) for a in arrays]
    stepped, dense = package_model(d2l, lr=lr), package_model(d2l, lr=lr)
    for model in (stepped, dense):
        model(*batch[:-1])  # Keras makes the variables at the first call
    before = [v.numpy() for v in stepped.trainable_variables]
    for v, w in zip(dense.trainable_variables, before):
        np.testing.assert_array_equal(v.numpy(), w)
    trainer = d2l.Trainer(max_epochs=1, gradient_clip_val=0)
    trainer.prepare_model(stepped)
    trainer.optim = stepped.configure_optimizers()
    trainer.num_train_batches, trainer.train_batch_idx, trainer.epoch = 1, 0, 0
    trainer.train_batch(batch)
    with tf.GradientTape() as tape:
        loss = dense.loss(dense(*batch[:-1]), batch[-1])
    grads = tape.gradient(loss, dense.trainable_variables)
    assert any(isinstance(g, tf.IndexedSlices) for g in grads)  # what the test is about
    dense.configure_optimizers().apply_gradients(
        zip([tf.convert_to_tensor(g) for g in grads], dense.trainable_variables))
    # the Trainer's step is compiled (XLA): its float32 may round an ulp apart (1e-6 relative
    # sees the lr-sized moves of the sparse gradients)
    for v, w, start in zip(stepped.trainable_variables, dense.trainable_variables, before):
        np.testing.assert_allclose(v.numpy(), w.numpy(), rtol=1e-6, atol=1e-7, err_msg=v.name)
        assert np.abs(v.numpy() - start).max() <= lr * (1 + 1e-5), v.name
