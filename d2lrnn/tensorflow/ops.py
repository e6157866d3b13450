"""TensorFlow: tf tensors and tf.GradientTape; Keras for the recurrent layer."""
import functools

import numpy as np

from ..base import legacy as _legacy
from ..base.backend import Ops, import_framework
from ..cells.base import gates_side_by_side

_legacy.share_cxx_runtime()
tf = import_framework("tensorflow", "tensorflow")


class TensorflowOps(Ops):
    name = "tensorflow"
    layer_learns_input_size = True  # keras.layers.SimpleRNN(units): built at the first call

    # Devices are TensorFlow's names ("/device:GPU:0"); a tf.device scope places new tensors
    # and variables, and eager operations copy their inputs to where they run.
    def accelerators(self):
        return [("cuda", d.name) for d in tf.config.list_logical_devices("GPU")]

    def missing_accelerator_hint(self):
        if not tf.test.is_built_with_cuda():
            return ("; this TensorFlow is a CPU-only build (tensorflow-cpu, or macOS): "
                    "pip install \"tensorflow[and-cuda]\" on Linux")
        return ""

    def cpu_device(self):
        return tf.config.list_logical_devices("CPU")[0].name

    def device_of(self, x):
        name = getattr(x, "device", None)
        if name is None and hasattr(x, "value"):  # a Keras 3 variable
            name = x.value.device
        return tf.DeviceSpec.from_string(name).to_string() if name else self.cpu_device()

    def to_device(self, x, device):
        with tf.device(_named(device)):
            return tf.identity(x)

    def device_name(self, device):
        spec = tf.DeviceSpec.from_string(_named(device))
        kind = "cuda" if spec.device_type == "GPU" else spec.device_type.lower()
        return "cpu" if kind == "cpu" and not spec.device_index else \
            f"{kind}:{spec.device_index or 0}"

    def device_scope(self, device):
        return tf.device(_named(device))

    def threads(self):
        intra = tf.config.threading.get_intra_op_parallelism_threads() or "all cores"
        return f"intra-op threads: {intra}"

    def full_precision(self):
        tf.config.experimental.enable_tensor_float_32_execution(False)

    def asarray(self, array, dtype):
        return tf.convert_to_tensor(np.asarray(array), dtype=dtype)

    def to_numpy(self, x):
        return np.array(x.numpy())  # .numpy(): Variables too, without numpy 2's copy warning

    def is_tensor(self, x):
        return tf.is_tensor(x) or isinstance(x, tf.Variable)

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
        return tf.transpose(x, axes)

    def reshape(self, x, shape):
        return tf.reshape(x, shape)

    def mean(self, x):
        return tf.reduce_mean(x)

    def sum(self, x, axis=None):
        return tf.reduce_sum(x, axis)

    def exp(self, x):
        return tf.exp(x)

    fast_grads = "bptt"  # compiled with the step; measured ~30% faster than GradientTape here

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

    pad_last_batch = ("bptt", "autograd")

    def compile(self, fn):
        return tf.function(fn, jit_compile=True)

    def rnn_layer(self, params, inputs, state):
        """keras.layers.SimpleRNN, called statelessly (Keras 3 is batch-major only)."""
        layer = _keras_rnn(*self.shape(params["W_xh"]), params["W_xh"].dtype.name)
        weights = [params["W_xh"], params["W_hh"], params["b_h"]]
        (outputs, state), _ = layer.stateless_call(
            weights, [v.value for v in layer.non_trainable_variables],
            tf.transpose(inputs, (1, 0, 2)), initial_state=[state])
        return tf.transpose(outputs, (1, 0, 2)), state

    def prepare_rnn_layer(self, num_inputs, num_hiddens, dtype):
        # Keras makes variables when it builds a layer, which tf.function forbids on a
        # retrace: build it now, outside any compiled function
        _keras_rnn(num_inputs, num_hiddens, dtype)

    # Keras' GRU computes either function (reset_after=True is its default); gates in the
    # order z, r, h (GRU) and i, f, c, o (LSTM).
    cell_layers = ("rnn", "gru-before", "gru-after", "lstm")
    GATE_ORDER = {"gru": ("z", "r", "h"), "lstm": ("i", "f", "c", "o")}

    def cell_layer(self, cell, params, inputs, state):
        """keras.layers.GRU or LSTM, called statelessly on the book's parameters."""
        order = self.GATE_ORDER[cell.name]
        W_x = gates_side_by_side(self, params, "W_x", order)
        b = gates_side_by_side(self, params, "b_", order)
        (d, size), dtype = self.shape(W_x), W_x.dtype.name
        h = size // len(order)
        layer = _keras_layer(cell.key, d, h, dtype)
        if cell.key == "gru-after":  # rows: the input bias, then the recurrent one
            b = tf.stack([b, tf.concat([tf.zeros((2 * h,), W_x.dtype), params["b_hh"]], 0)])
        weights = [W_x, gates_side_by_side(self, params, "W_h", order), b]
        outputs, *final = layer.stateless_call(
            weights, [v.value for v in layer.non_trainable_variables],
            tf.transpose(inputs, (1, 0, 2)), initial_state=list(state))[0]
        return tf.transpose(outputs, (1, 0, 2)), tuple(final)

    def prepare_cell_layer(self, cell, num_inputs, num_hiddens, dtype):
        _keras_layer(cell.key, num_inputs, num_hiddens, dtype)  # outside compiled code

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


def _named(device):
    """A device's name: TensorFlow's name itself, or the name behind a ``tf.device(...)``
    scope (what the book's ``d2l.gpu()`` and ``d2l.try_gpu()`` give)."""
    return device if isinstance(device, str) else getattr(device, "_device_name", str(device))


@functools.lru_cache(maxsize=None)
def _keras_layer(key, num_inputs, num_hiddens, dtype):
    keras = import_framework("keras", "tensorflow")
    options = {"gru-before": ("GRU", {"reset_after": False}),
               "gru-after": ("GRU", {"reset_after": True}), "lstm": ("LSTM", {})}
    kind, extra = options[key]
    layer = getattr(keras.layers, kind)(num_hiddens, return_sequences=True, return_state=True,
                                        dtype=dtype, **extra)
    layer.build((None, None, num_inputs))
    return layer


@functools.lru_cache(maxsize=None)
def _keras_rnn(num_inputs, num_hiddens, dtype):
    keras = import_framework("keras", "tensorflow")
    layer = keras.layers.SimpleRNN(num_hiddens, return_sequences=True, return_state=True,
                                   dtype=dtype)
    layer.build((None, None, num_inputs))
    return layer


ops = TensorflowOps()
