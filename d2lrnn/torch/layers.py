"""PyTorch's own recurrent layers, run on the book's parameters."""
import functools

from ..base.adapter import Layers
from ..base.backend import import_framework

torch = import_framework("torch", "torch")


class TorchLayers(Layers):
    layer_learns_input_size = False  # torch.nn.RNN(input_size, hidden_size)

    # torch.nn.GRU applies the reset gate after the recurrent product; the weights are packed
    # as cuDNN's (gates r, z, n and i, f, g, o), transposed; torch.nn.RNN's recurrent bias
    # is held at zero (the book's RNN has one bias).

    def cell_layer(self, cell, params, inputs, state):
        """torch.nn.RNN, GRU or LSTM, called functionally on the book's parameters."""
        kind = self.own_layer(TORCH_LAYERS, cell)
        W_x, W_h, b_ih, b_hh = cell.cudnn_weights(self, params)
        d, h = self.shape(W_x)[0], self.shape(W_h)[0]
        weights = {"weight_ih_l0": W_x.T, "weight_hh_l0": W_h.T, "bias_ih_l0": b_ih,
                   "bias_hh_l0": b_hh}
        layer = _torch_layer(kind, d, h, W_x.dtype)
        initial = tuple(s[None] for s in state)
        outputs, final = torch.func.functional_call(
            layer, weights, (inputs, initial if len(initial) > 1 else initial[0]))
        final = final if isinstance(final, tuple) else (final,)
        return outputs, tuple(s[0] for s in final)

    def dropout(self, x, rate):
        return torch.nn.functional.dropout(x, rate)

    def gru_from_gates(self, gates, H0, W_h, b_hh):
        """torch.nn.GRU's recurrence from its input side's products (:class:`GRUFromGates`):
        (outputs (T, n, h), final state (n, h))."""
        return GRUFromGates.apply(gates, H0, W_h, b_hh)

    def xavier_layer(self, layer):
        if type(layer) is torch.nn.Linear:
            torch.nn.init.xavier_uniform_(layer.weight)
        if type(layer) is torch.nn.GRU:
            for name in layer._flat_weights_names:
                if "weight" in name:
                    torch.nn.init.xavier_uniform_(layer._parameters[name])


# The cells (by key) torch.nn's layers compute.
TORCH_LAYERS = {"rnn": "RNN", "gru-after": "GRU", "lstm": "LSTM"}


@functools.lru_cache(maxsize=None)
def _torch_layer(kind, num_inputs, num_hiddens, dtype):
    # torch.nn.RNN's default nonlinearity is tanh, the book's
    return getattr(torch.nn, kind)(num_inputs, num_hiddens, dtype=dtype)


class GRUFromGates(torch.autograd.Function):
    """torch.nn.GRU's recurrence (reset after the recurrent product) from the input side's
    products already made, its backward written by hand: the encoder-decoder's fast path
    (:mod:`d2lrnn.book.seq2seq_fast`) makes those products its own cheaper way.

    ``apply(gates (T, n, 3h): X W_x + b_ih, H0 (n, h), W_h (h, 3h), b_hh (3h,))`` ->
    (outputs (T, n, h), final state (n, h)); gates r, z, n side by side, as cuDNN packs them.
    The recurrent weights' gradient is one product over all steps, after the time loop."""

    @staticmethod
    def forward(ctx, gates, H0, W_h, b_hh):
        from . import fused  # TorchScript compiles its kernels at the first import

        H, acts, recurrent = fused.gru_gates_forward(gates, H0, W_h, b_hh)
        ctx.save_for_backward(W_h, H, acts, recurrent)
        return H[1:].clone(), H[-1].clone()  # not views of what backward reads

    @staticmethod
    def backward(ctx, d_outputs, d_final):
        from . import fused

        W_h, H, acts, recurrent = ctx.saved_tensors
        d_outputs = torch.zeros_like(H[1:]) if d_outputs is None else d_outputs
        d_final = torch.zeros_like(H[0]) if d_final is None else d_final
        return fused.gru_gates_backward(d_outputs.contiguous(), d_final, H, acts, recurrent,
                                        W_h)
