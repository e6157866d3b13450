"""The d2l 0.17 library in TensorFlow: ``from d2lrnn.v0_17 import tensorflow as d2l``. The
names :mod:`.common` writes once, bound to TensorFlow's adapter by :mod:`.bind`, and what needs
TensorFlow itself: the models (``RNNModel`` on ``keras.layers.Layer``), the tape's steps,
the tensor aliases of the chapters."""
import inspect
import math

from ..tensorflow import book as backend
from ..tensorflow.ops import ops, tf
from . import common
from .bind import library

keras = tf.keras

# common's names, bound to this framework's adapter where they make tensors, and the
# devices and tensor aliases of the 1.0 backend (what follows replaces some of them)
_library = library(ops, __name__, backend)
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
    with strategy.scope():
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        updater = keras.optimizers.SGD(float(lr))  # Keras 3 refuses the book's integer 1

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
