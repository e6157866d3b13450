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
        kind, tree_of = self.own_layer(FLAX_CELLS, cell)
        h = self.shape(params["b_" + cell.gates()[0]])[0]
        layer = _flax_layer(kind, h, self.dtype_name(inputs))
        carry, outputs = layer.apply({"params": {"cell": tree_of(params)}}, inputs,
                                     initial_carry=state[0] if len(state) == 1 else
                                     (state[1], state[0]))  # Flax's LSTM carries (C, H)
        return outputs, (carry[1], carry[0]) if len(state) == 2 else (carry,)


def _simple_cell(params):
    return {"i": {"kernel": params["W_xh"], "bias": params["b_h"]},
            "h": {"kernel": params["W_hh"]}}


def _gru_cell(params):
    tree = {f"i{g}": {"kernel": params[f"W_x{b}"], "bias": params[f"b_{b}"]}
            for g, b in (("r", "r"), ("z", "z"), ("n", "h"))}
    tree.update({"hr": {"kernel": params["W_hr"]}, "hz": {"kernel": params["W_hz"]},
                 "hn": {"kernel": params["W_hh"], "bias": params["b_hh"]}})
    return tree


def _lstm_cell(params):
    tree = {}
    for g, b in (("i", "i"), ("f", "f"), ("g", "c"), ("o", "o")):
        tree[f"i{g}"] = {"kernel": params[f"W_x{b}"]}
        tree[f"h{g}"] = {"kernel": params[f"W_h{b}"], "bias": params[f"b_{b}"]}
    return tree


# The cells (by key) Flax's layers compute: its cell class, and the book's parameters as its
# tree of Dense layers.
FLAX_CELLS = {"rnn": ("SimpleCell", _simple_cell), "gru-after": ("GRUCell", _gru_cell),
              "lstm": ("LSTMCell", _lstm_cell)}


@functools.lru_cache(maxsize=None)
def _flax_layer(kind, num_hiddens, dtype):
    nn = import_framework("flax.linen", "jax")
    # parent=None: a free-standing layer, even when first built inside another module's apply
    cell = getattr(nn, kind)(features=num_hiddens, dtype=dtype, param_dtype=dtype, parent=None)
    return nn.RNN(cell, time_major=True, return_carry=True, parent=None)
