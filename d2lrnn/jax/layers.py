"""JAX's own recurrent layers, run on the book's parameters."""
import functools

from ..base.adapter import Layers
from ..base.backend import import_framework

jax = import_framework("jax", "jax")
jnp = jax.numpy


class JaxLayers(Layers):
    layer_learns_input_size = True  # flax.linen.SimpleCell(features): shapes from the first input

    # Flax's SimpleCell is the book's RNN; its GRUCell applies the reset gate after the
    # recurrent product. Every gate has a Dense of its own (the input side holds the bias,
    # except the GRU's candidate, whose recurrent side has one too; the LSTM's biases sit on
    # the recurrent side).

    def cell_layer(self, cell, params, inputs, state):
        """flax.linen.RNN over a SimpleCell, GRUCell or LSTMCell, on the book's parameters."""
        h = self.shape(params["b_" + cell.gates()[0]])[0]
        layer = _flax_layer(cell.name, h, self.dtype_name(inputs))
        if cell.name == "rnn":
            tree = {"i": {"kernel": params["W_xh"], "bias": params["b_h"]},
                    "h": {"kernel": params["W_hh"]}}
            carry = state[0]
        elif cell.name == "gru":
            tree = {f"i{g}": {"kernel": params[f"W_x{b}"], "bias": params[f"b_{b}"]}
                    for g, b in (("r", "r"), ("z", "z"), ("n", "h"))}
            tree.update({"hr": {"kernel": params["W_hr"]}, "hz": {"kernel": params["W_hz"]},
                         "hn": {"kernel": params["W_hh"], "bias": params["b_hh"]}})
            carry = state[0]
        else:
            tree = {}
            for g, b in (("i", "i"), ("f", "f"), ("g", "c"), ("o", "o")):
                tree[f"i{g}"] = {"kernel": params[f"W_x{b}"]}
                tree[f"h{g}"] = {"kernel": params[f"W_h{b}"], "bias": params[f"b_{b}"]}
            carry = (state[1], state[0])  # Flax's LSTM carries (C, H)
        carry, outputs = layer.apply({"params": {"cell": tree}}, inputs, initial_carry=carry)
        return outputs, (carry[1], carry[0]) if cell.name == "lstm" else (carry,)


@functools.lru_cache(maxsize=None)
def _flax_layer(kind, num_hiddens, dtype):
    nn = import_framework("flax.linen", "jax")
    # parent=None: a free-standing layer, even when first built inside another module's apply
    cell = {"rnn": nn.SimpleCell, "gru": nn.GRUCell, "lstm": nn.LSTMCell}[kind](
        features=num_hiddens, dtype=dtype, param_dtype=dtype, parent=None)
    return nn.RNN(cell, time_major=True, return_carry=True, parent=None)

