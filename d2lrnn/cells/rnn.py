"""The RNN cell (d2l.ai 9.4): H_t = tanh(X_t W_xh + H_{t-1} W_hh + b_h)."""
from .base import Cell, gate, gate_backward


class RNNCell(Cell):
    name = "rnn"
    scratch_name, concise_name = "RNNScratch", "RNN"
    section = "9.4 Recurrent Neural Networks"
    cudnn_gates = ("h",)  # W_xh, W_hh, b_h as they are

    def shapes(self, num_inputs, num_hiddens):
        return {"W_xh": (num_inputs, num_hiddens), "W_hh": (num_hiddens, num_hiddens),
                "b_h": (num_hiddens,)}

    def step(self, ops, params, X_t, state):
        H_prev, = state
        H = gate(ops, params, X_t, H_prev, "h", "tanh")
        return (H,), (X_t, H_prev, H)

    def step_backward(self, ops, params, cache, dstate, grads):
        X, H_prev, H = cache
        dA = dstate[0] * (1 - H * H)  # tanh' = 1 - tanh²
        dH_prev, dX = gate_backward(ops, params, X, H_prev, dA, "h", grads)
        return (dH_prev,), dX
