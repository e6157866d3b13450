"""The d2l 0.17 library in TensorFlow: ``from d2lrnn.v0_17 import tensorflow as d2l``. The
names :mod:`.common` writes once, bound to TensorFlow's adapter by :mod:`.bind`, and what needs
TensorFlow itself: the models (``RNNModel`` on ``keras.layers.Layer``), the tape's steps,
the tensor aliases of the chapters."""
import inspect
import math

from ..base.errors import BadArgument
from ..tensorflow import book as backend
from ..tensorflow.ops import ops, tf
from . import common, seq2seq
from .bind import library

keras = tf.keras

# common's names, bound to this framework's adapter where they make tensors, and the
# devices and tensor aliases of the 1.0 backend (what follows replaces some of them)
_library = library(ops, __name__, backend, (common, seq2seq))
globals().update(_library)
__all__ = list(dict.fromkeys([
    *_library, "sgd", "load_array", "RNNModelScratch", "predict_ch8", "grad_clipping",
    "train_epoch_ch8", "train_ch8", "RNNModel", "tf"]))


def load_array(data_arrays, batch_size, is_train=True):
    """A ``tf.data.Dataset`` of minibatches of ``data_arrays`` (their first axis), shuffled
    when ``is_train``."""
    dataset = tf.data.Dataset.from_tensor_slices(data_arrays)
    if is_train:
        dataset = dataset.shuffle(buffer_size=1000)
    return dataset.batch(batch_size)


def sgd(params, grads, lr, batch_size):
    """One step of minibatch SGD on the variables ``params`` (``grads`` summed over
    ``batch_size`` examples)."""
    for param, grad in zip(params, grads):
        param.assign_sub(lr * grad / batch_size)


class RNNModelScratch:
    """A recurrent network from the functions a notebook defines (0.17's TensorFlow order):
    ``init_state(batch_size, num_hiddens)``, ``forward_fn(inputs, state, params)`` and
    ``get_params(vocab_size, num_hiddens)``; inputs are one-hot, time first."""

    def __init__(self, vocab_size, num_hiddens, init_state, forward_fn, get_params):
        self.vocab_size, self.num_hiddens = vocab_size, num_hiddens
        self.init_state, self.forward_fn = init_state, forward_fn
        self.trainable_variables = get_params(vocab_size, num_hiddens)

    def __call__(self, X, state):
        X = tf.one_hot(tf.transpose(X), self.vocab_size,
                       dtype=_float_type(self.trainable_variables[0].dtype))
        return self.forward_fn(X, state, self.trainable_variables)

    def begin_state(self, batch_size, *args, **kwargs):
        return self.init_state(batch_size, self.num_hiddens)


def _float_type(dtype):
    """The one-hot inputs' type: float32 as the book's, or the parameters' own float type (a
    float64 network gets float64 inputs; TensorFlow refuses to mix them in a product)."""
    dtype = tf.as_dtype(dtype)
    return dtype if dtype.is_floating else tf.float32


def predict_ch8(prefix, num_preds, net, vocab):
    """``prefix`` followed by ``num_preds`` characters, each the most likely one."""
    return common.predict_ch8(prefix, num_preds, net, vocab, None, ops=ops,
                              state_keywords={"dtype": tf.float32})


def grad_clipping(grads, theta):
    """``grads`` (dense, ``tf.IndexedSlices`` made dense) scaled so that their global norm is
    at most ``theta``: a new list."""
    grads = backend.dense_gradients(grads)
    norm = math.sqrt(sum(float(tf.reduce_sum(grad ** 2)) for grad in grads))
    if norm > theta:
        # tf.constant in the gradient's type: tf.cast of a Python float rounds it to float32
        return [grad * tf.constant(theta / norm, grad.dtype) for grad in grads]
    return grads


def train_epoch_ch8(net, train_iter, loss, updater, use_random_iter):
    """One epoch: the state begun afresh for each random minibatch (or once, carried on
    between sequential ones: nothing of the tape outlives its batch), gradients clipped to
    norm 1 and applied by ``updater`` (a Keras optimizer). The perplexity and tokens/s."""

    def step(X, Y, state):
        with tf.GradientTape() as tape:
            y_hat, state = net(X, state)
            y = tf.reshape(tf.transpose(Y), (-1,))
            mean_loss = loss(y, y_hat)
        params = net.trainable_variables
        grads = grad_clipping(tape.gradient(mean_loss, params), 1)
        updater.apply_gradients(zip(grads, params))
        return mean_loss, backend.size(y), state

    return common.run_epoch_ch8(
        train_iter, use_random_iter, step=step, detach=lambda state: state,
        begin_state=lambda X: net.begin_state(batch_size=X.shape[0], dtype=tf.float32))


def train_ch8(net, train_iter, vocab, lr, num_epochs, strategy, use_random_iter=False):
    """Train ``net`` with SGD at ``lr`` for ``num_epochs`` in ``strategy``'s scope (a
    ``tf.distribute`` strategy, as the book's); print the perplexity, the speed and two
    predictions (the perplexity is also returned)."""
    lr, num_epochs = common.checked_training(lr, num_epochs)  # a float: Keras 3 refuses an int
    with strategy.scope():
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        updater = keras.optimizers.SGD(lr)

    def train_epoch(net, train_iter, loss, updater, device, use_random_iter):
        return train_epoch_ch8(net, train_iter, loss, updater, use_random_iter)

    def predict(prefix, num_preds, net, vocab, device):
        return predict_ch8(prefix, num_preds, net, vocab)

    device_name = backend.try_gpu()._device_name  # what the book prints
    return common.train_ch8(net, train_iter, vocab, lr, num_epochs, device_name,
                            use_random_iter, loss=loss, make_updater=lambda net, lr: updater,
                            train_epoch=train_epoch, predict=predict)


class RNNModel(keras.layers.Layer):
    """A recurrent layer of Keras (``keras.layers.RNN`` of a cell, ``SimpleRNN``, ``GRU``,
    ``LSTM``, made with ``return_sequences=True, return_state=True``) on one-hot inputs, and a
    dense output layer over its hidden states. Keras 3 has no ``time_major`` layers (0.17's
    cell made one): a batch-major layer is given its inputs batch first and its outputs are
    put back in time order. Keras' GRU applies the reset gate after the recurrent product
    (``reset_after=True``, its default), with a recurrent bias of its own, not the book's
    9.1 GRU."""

    def __init__(self, rnn_layer, vocab_size, **kwargs):
        # the recurrent layer's type (float32 as the book's unless made otherwise): Keras
        # casts a layer's floating inputs, the carried state among them, to its own
        kwargs.setdefault("dtype", rnn_layer.dtype_policy)
        super().__init__(**kwargs)
        self.rnn = rnn_layer
        self.vocab_size = vocab_size
        self.dense = keras.layers.Dense(vocab_size, dtype=self.dtype_policy)

    def call(self, inputs, state):
        X = tf.one_hot(tf.transpose(inputs), self.vocab_size, dtype=self.rnn.compute_dtype)
        time_major = getattr(self.rnn, "time_major", False)
        Y, *state = self.rnn(X if time_major else tf.transpose(X, (1, 0, 2)), state)
        Y = Y if time_major else tf.transpose(Y, (1, 0, 2))
        return self.dense(tf.reshape(Y, (-1, Y.shape[-1]))), state

    def begin_state(self, *args, **kwargs):
        """The cell's initial state (Keras 3's ``get_initial_state`` takes no ``dtype``: the
        layer's own is used)."""
        initial_state = self.rnn.cell.get_initial_state
        if "dtype" not in inspect.signature(initial_state).parameters:
            kwargs.pop("dtype", None)
        return initial_state(*args, **kwargs)


# -- chapter 9 (9.5-9.7): machine translation, the encoder-decoder, seq2seq -------------------

__all__ = list(dict.fromkeys([
    *__all__, "load_data_nmt", "Encoder", "Decoder", "EncoderDecoder", "Seq2SeqEncoder",
    "sequence_mask", "MaskedSoftmaxCELoss", "train_seq2seq", "predict_seq2seq"]))


load_data_nmt = seq2seq.load_data_nmt_over(load_array, ops, __name__)


def _keras_2_state(enc_outputs):
    """An encoder's (outputs, state) with each one-tensor list of the state made its tensor.
    Begun from zeros, Keras 3's RNN of stacked GRU (or simple) cells gives each layer's state
    as a list of one tensor, where Keras 2, which 9.7's cells were written for, gives the
    tensor: their decoder reads ``state[-1]`` as the top layer's. (Given those tensors as its
    initial state, Keras 3 gives tensors back: the decoder's state needs nothing.)"""
    def one_tensor_list(s):
        return isinstance(s, (tuple, list)) and len(s) == 1

    if not (isinstance(enc_outputs, (tuple, list)) and len(enc_outputs) == 2
            and isinstance(enc_outputs[1], (tuple, list))
            and any(map(one_tensor_list, enc_outputs[1]))):
        return enc_outputs  # as it was, a tuple or a list
    outputs, state = enc_outputs
    return outputs, type(state)(s[0] if one_tensor_list(s) else s for s in state)


def _built_at_first_call(layer):
    """Keras 3 builds a layer without a ``build`` of its own by calling it on symbolic inputs,
    which fails (a warning each time) for a ``call`` with ``*args``: these layers' own
    layers build themselves when first called."""
    layer.built = True


class Encoder(keras.layers.Layer):
    """The encoder of an encoder-decoder (0.17's, on ``keras.layers.Layer``): ``call(X,
    *args, **kwargs)`` gives (outputs, state); a state of one-tensor lists is given as the
    tensors (see :func:`_keras_2_state`)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)

    def __call__(self, *args, **kwargs):
        return _keras_2_state(super().__call__(*args, **kwargs))

    def call(self, X, *args, **kwargs):
        raise NotImplementedError

    def build(self, *args, **kwargs):
        _built_at_first_call(self)


class Decoder(keras.layers.Layer):
    """The decoder of an encoder-decoder: ``init_state(enc_outputs, *args)`` makes its state
    of the encoder's outputs, ``call(X, state, **kwargs)`` gives (outputs, state)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)

    def init_state(self, enc_outputs, *args):
        raise NotImplementedError

    def call(self, X, state, **kwargs):
        raise NotImplementedError

    def build(self, *args, **kwargs):
        _built_at_first_call(self)


class EncoderDecoder(keras.Model):
    """An encoder and a decoder: ``call(enc_X, dec_X, *args, **kwargs)`` is the decoder's
    (outputs, state) on ``dec_X`` from the state the encoder's outputs give (``training=``
    reaches both)."""

    def __init__(self, encoder, decoder, **kwargs):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder

    def call(self, enc_X, dec_X, *args, **kwargs):
        enc_outputs = self.encoder(enc_X, *args, **kwargs)
        dec_state = self.decoder.init_state(enc_outputs, *args)
        return self.decoder(dec_X, dec_state, **kwargs)

    def build(self, *args, **kwargs):
        _built_at_first_call(self)


class Seq2SeqEncoder(Encoder):
    """9.7's encoder: token embeddings through a ``keras.layers.RNN`` of stacked ``GRUCell``s
    (batch first; they apply the reset gate after the recurrent product, with a recurrent
    bias of their own); ``call(X)`` of ids (batch, steps) gives (outputs (batch, steps,
    num_hiddens), state: a list of one (batch, num_hiddens) tensor a layer), every step's,
    padding included (0.17 ignores the valid lengths)."""

    def __init__(self, vocab_size, embed_size, num_hiddens, num_layers, dropout=0, **kwargs):
        super().__init__(**kwargs)
        self.embedding = keras.layers.Embedding(vocab_size, embed_size, dtype=self.dtype_policy)
        self.rnn = keras.layers.RNN(keras.layers.StackedRNNCells(
            [keras.layers.GRUCell(num_hiddens, dropout=dropout, dtype=self.dtype_policy)
             for _ in range(num_layers)], dtype=self.dtype_policy), return_sequences=True,
            return_state=True, dtype=self.dtype_policy)

    def call(self, X, *args, **kwargs):
        output, *state = self.rnn(self.embedding(X), **kwargs)
        return output, state  # a tensor a layer (Encoder.__call__)


def sequence_mask(X, valid_len, value=0):
    """``X`` (batch, steps) or (batch, steps, features) with the entries of each row past its
    valid length set to ``value``: a new tensor."""
    if len(X.shape) not in (2, 3) or tuple(valid_len.shape) != tuple(X.shape[:1]):
        raise BadArgument(f"sequence_mask: X must be (batch_size, num_steps[, features]) and "
                          f"valid_len (batch_size,); got {tuple(X.shape)} and "
                          f"{tuple(valid_len.shape)}")
    mask = tf.range(X.shape[1])[None, :] < tf.cast(valid_len, tf.int32)[:, None]
    if len(X.shape) == 3:
        mask = tf.expand_dims(mask, axis=-1)
    return tf.where(mask, X, tf.cast(value, X.dtype))


class MaskedSoftmaxCELoss(keras.losses.Loss):
    """Softmax cross-entropy of logits ``pred`` (batch, steps, vocabulary) against ``label``
    (batch, steps), the steps past each sequence's ``valid_len`` (given to the constructor,
    as 0.17's) weighted 0: the mean over the steps (all ``num_steps`` of them, masked ones
    included) per sequence, shape (batch,), in ``pred``'s type."""

    def __init__(self, valid_len):
        super().__init__(reduction="none")
        self.valid_len = valid_len

    def __call__(self, y_true, y_pred, sample_weight=None):
        # Keras 3's Loss casts both sides to its own float32 first: the integer labels that
        # one_hot needs, and a float64 model's logits, are kept as they are here
        if sample_weight is not None:
            raise BadArgument("MaskedSoftmaxCELoss: the weights are the valid lengths given "
                              "to the constructor; sample_weight is not taken")
        return self.call(y_true, y_pred)

    def call(self, label, pred):
        weights = sequence_mask(tf.ones_like(label, dtype=pred.dtype), self.valid_len)
        label_one_hot = tf.one_hot(label, depth=pred.shape[-1], dtype=pred.dtype)
        unweighted_loss = tf.nn.softmax_cross_entropy_with_logits(label_one_hot, pred)
        return tf.reduce_mean(unweighted_loss * weights, axis=1)


def train_seq2seq(net, data_iter, lr, num_epochs, tgt_vocab, device):
    """Train ``net`` (an :class:`EncoderDecoder`, Keras' own initial weights, as 0.17's) with
    Adam at ``lr`` for ``num_epochs`` by teacher forcing (the decoder reads ``<bos>`` and the
    target but its last token), the summed :class:`MaskedSoftmaxCELoss` of each batch,
    gradients clipped to norm 1; print the loss per token and the speed (also returned)."""
    optimizer = keras.optimizers.Adam(learning_rate=float(lr))

    def train_batch(batch):
        X, X_valid_len, Y, Y_valid_len = batch
        bos = tf.fill((Y.shape[0], 1), tf.constant(tgt_vocab["<bos>"], Y.dtype))
        with tf.GradientTape() as tape:
            Y_hat, _ = net(X, tf.concat([bos, Y[:, :-1]], 1), X_valid_len, training=True)
            losses = MaskedSoftmaxCELoss(Y_valid_len)(Y, Y_hat)
        gradients = grad_clipping(tape.gradient(losses, net.trainable_variables), 1)
        optimizer.apply_gradients(zip(gradients, net.trainable_variables))
        return float(tf.reduce_sum(losses)), int(tf.reduce_sum(Y_valid_len))

    return seq2seq.train_seq2seq_epochs(data_iter, num_epochs, device, train_batch)


def predict_seq2seq(net, src_sentence, src_vocab, tgt_vocab, num_steps,
                    save_attention_weights=False):
    """The greedy translation of ``src_sentence`` by ``net`` (see
    :func:`.seq2seq.predict_seq2seq`; TensorFlow's 0.17 takes no device)."""
    return seq2seq.predict_seq2seq(net, src_sentence, src_vocab, tgt_vocab, num_steps, None,
                                   save_attention_weights, ops=ops)
