"""TensorFlow: tf tensors and tf.GradientTape; Keras for the recurrent layer."""

import numpy as np

from ..base.adapter import Arrays, Ops
from ..base.backend import import_framework
from .devices import TensorflowDevices
from .kernels import TensorflowKernels
from .layers import TensorflowLayers

tf = import_framework("tensorflow", "tensorflow")


class TensorflowArrays(Arrays):
    name = "tensorflow"

    def asarray(self, array, dtype):
        return tf.convert_to_tensor(np.asarray(array), dtype=dtype)

    def to_numpy(self, x):
        return np.array(x.numpy())  # .numpy(): Variables too, without numpy 2's copy warning

    def is_tensor(self, x):
        return tf.is_tensor(x) or isinstance(x, tf.Variable)

    def is_concrete(self, x):
        return tf.executing_eagerly()  # not while tf.function traces

    def take_rows(self, x, rows):
        return tf.gather(x, rows)

    def dtype_name(self, x):
        return x.dtype.name

    def matmul(self, a, b):
        return tf.matmul(a, b)

    def concat(self, xs, axis):
        return tf.concat(xs, axis)

    def stack(self, xs, axis):
        return tf.stack(xs, axis)

    def zeros(self, shape, dtype):
        return tf.zeros(shape, dtype)

    def one_hot(self, ids, depth, dtype):
        return tf.one_hot(ids, depth, dtype=dtype)

    def pick(self, logits, ids):
        return tf.gather(logits, ids, batch_dims=1)

    def logsumexp(self, x, axis):
        return tf.reduce_logsumexp(x, axis)

    def activation(self, name):
        return {"tanh": tf.tanh, "relu": tf.nn.relu, "sigmoid": tf.sigmoid}[name]

    def transpose(self, x, axes):
        if x.dtype.is_integer:  # token ids (below 2**53: exact in float64)
            # TensorFlow's oneDNN transposes no integers on CPUs short of the AVX-512 it
            # wants, and says so as an error line at the first one (a reader's one-hot input)
            return tf.cast(tf.transpose(tf.cast(x, tf.float64), axes), x.dtype)
        return tf.transpose(x, axes)

    def reshape(self, x, shape):
        return tf.reshape(x, shape)

    def mean(self, x):
        return tf.reduce_mean(x)

    def sum(self, x, axis=None):
        return tf.reduce_sum(x, axis)

    def exp(self, x):
        return tf.exp(x)

    def embedding(self, table, ids):
        return tf.gather(table, ids)

    def log_softmax(self, x):
        return tf.nn.log_softmax(x, -1)

    def embedding_grad(self, ids, grad, num_rows):
        return tf.math.unsorted_segment_sum(grad, ids, num_rows)

    def argmax(self, x, axis):
        return tf.argmax(x, axis)

    def maximum(self, x, y):
        return tf.maximum(x, y)

    def not_equal(self, x, value, dtype):
        return tf.cast(tf.not_equal(x, value), dtype)

    def parameter(self, x):
        return tf.Variable(x)

    def plain(self, x):
        return tf.convert_to_tensor(x)

    def assign(self, owner, name, value):
        current = getattr(owner, name, None)
        if isinstance(current, tf.Variable):
            current.assign(value)
        else:
            setattr(owner, name, value)

    def value_and_grad(self, fn, params):
        with tf.GradientTape() as tape:
            tape.watch(list(params.values()))
            value = fn(params)
        grads = tape.gradient(value, params)
        # a lookup's gradient comes as IndexedSlices: make it the dense array other
        # backends give (the same numbers)
        return value, {k: tf.convert_to_tensor(g) for k, g in grads.items()}


class TensorflowOps(TensorflowKernels, TensorflowLayers, TensorflowDevices, TensorflowArrays, Ops):
    """TensorFlow: its arrays, devices, layers, kernels, as one adapter."""


ops = TensorflowOps()
