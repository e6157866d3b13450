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
        T, n, h = gates.shape[0], gates.shape[1], H0.shape[1]
        Hs = gates.new_empty((T + 1, n, h))
        Hs[0] = H0
        # per step: the gates r and z, the candidate state, W_hn H + b_hn
        r, z, candidate, recurrent_n = (gates.new_empty((T, n, h)) for _ in range(4))
        for t in range(T):
            recurrent = torch.addmm(b_hh, Hs[t], W_h)
            rz = torch.sigmoid(gates[t, :, :2 * h] + recurrent[:, :2 * h])
            torch.tanh(torch.addcmul(gates[t, :, 2 * h:], rz[:, :h], recurrent[:, 2 * h:]),
                       out=candidate[t])
            torch.addcmul(candidate[t], rz[:, h:], Hs[t] - candidate[t], out=Hs[t + 1])
            r[t], z[t], recurrent_n[t] = rz[:, :h], rz[:, h:], recurrent[:, 2 * h:]
        ctx.save_for_backward(W_h, Hs, r, z, candidate, recurrent_n)
        return Hs[1:].clone(), Hs[T].clone()

    @staticmethod
    def backward(ctx, d_outputs, d_final):
        W_h, Hs, r, z, candidate, recurrent_n = ctx.saved_tensors
        T, n, h = candidate.shape
        d_gates, d_recurrent = (Hs.new_empty((T, n, 3 * h)) for _ in range(2))
        dH = torch.zeros_like(Hs[0]) if d_final is None else d_final.clone()
        for t in range(T - 1, -1, -1):
            if d_outputs is not None:
                dH = dH + d_outputs[t]
            d_candidate = dH * (1 - z[t]) * (1 - candidate[t] * candidate[t])
            d_gates[t, :, :h] = d_candidate * recurrent_n[t] * r[t] * (1 - r[t])
            d_gates[t, :, h:2 * h] = dH * (Hs[t] - candidate[t]) * z[t] * (1 - z[t])
            d_gates[t, :, 2 * h:] = d_candidate
            d_recurrent[t, :, :2 * h] = d_gates[t, :, :2 * h]
            d_recurrent[t, :, 2 * h:] = d_candidate * r[t]
            dH = torch.addmm(dH * z[t], d_recurrent[t], W_h.T)
        flat = d_recurrent.view(T * n, 3 * h)
        return d_gates, dH, Hs[:-1].reshape(T * n, h).T @ flat, flat.sum(0)
