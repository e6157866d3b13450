"""TensorFlow's own recurrent layers, run on the book's parameters."""
import functools

from ..base.adapter import Layers
from ..base.backend import import_framework
from ..cells.base import gates_side_by_side

tf = import_framework("tensorflow", "tensorflow")


class TensorflowLayers(Layers):
    layer_learns_input_size = True  # keras.layers.SimpleRNN(units): built at the first call
    layers_stack_states = False  # the book's GRU of Keras layers returns a list of states

    def dropout(self, x, rate):
        return tf.nn.dropout(x, rate)

    # SimpleRNN is the book's RNN; Keras' GRU computes either function (reset_after=True is
    # its default). Keras 3 is batch-major only: the layers run on transposed inputs.
    def cell_layer(self, cell, params, inputs, state):
        """keras.layers.SimpleRNN, GRU or LSTM, called statelessly on the book's parameters."""
        _, _, order = self.own_layer(KERAS_LAYERS, cell)
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
        self.own_layer(KERAS_LAYERS, cell)
        _keras_layer(cell.key, num_inputs, num_hiddens, dtype)  # outside compiled code


# The cells (by key) Keras' layers compute: the layer, its options, its gates' order.
KERAS_LAYERS = {"rnn": ("SimpleRNN", {}, ("h",)),
                "gru-before": ("GRU", {"reset_after": False}, ("z", "r", "h")),
                "gru-after": ("GRU", {"reset_after": True}, ("z", "r", "h")),
                "lstm": ("LSTM", {}, ("i", "f", "c", "o"))}


@functools.lru_cache(maxsize=None)
def _keras_layer(key, num_inputs, num_hiddens, dtype):
    keras = import_framework("keras", "tensorflow")
    kind, extra, _ = KERAS_LAYERS[key]
    layer = getattr(keras.layers, kind)(num_hiddens, return_sequences=True, return_state=True,
                                        dtype=dtype, **extra)
    layer.build((None, None, num_inputs))
    return layer

