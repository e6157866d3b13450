"""Long short-term memory (d2l.ai 10.1): three gates and a memory cell C, state (H, C).

    I_t = σ(X_t W_xi + H_{t-1} W_hi + b_i)      F_t = σ(X_t W_xf + H_{t-1} W_hf + b_f)
    O_t = σ(X_t W_xo + H_{t-1} W_ho + b_o)      C̃_t = tanh(X_t W_xc + H_{t-1} W_hc + b_c)
    C_t = F_t ⊙ C_{t-1} + I_t ⊙ C̃_t             H_t = O_t ⊙ tanh(C_t)
"""
from .base import Cell, gate, gate_backward

GATES = (("i", "sigmoid"), ("f", "sigmoid"), ("o", "sigmoid"), ("c", "tanh"))


class LSTMCell(Cell):
    name = "lstm"
    scratch_name, concise_name = "LSTMScratch", "LSTM"
    section = "10.1 Long Short-Term Memory (LSTM)"
    state_names = ("H", "C")
    cudnn_gates = ("i", "f", "c", "o")

    def shapes(self, num_inputs, num_hiddens):
        shapes = {}
        for g, _ in GATES:  # the book's order: input, forget, output, candidate
            shapes.update({f"W_x{g}": (num_inputs, num_hiddens),
                           f"W_h{g}": (num_hiddens, num_hiddens), f"b_{g}": (num_hiddens,)})
        return shapes

    def step(self, ops, params, X_t, state):
        H_prev, C_prev = state
        I, F, O, C_tilde = (gate(ops, params, X_t, H_prev, g, act) for g, act in GATES)
        C = F * C_prev + I * C_tilde
        tanh_C = ops.activation("tanh")(C)
        return (O * tanh_C, C), (X_t, H_prev, C_prev, I, F, O, C_tilde, tanh_C)

    def step_backward(self, ops, params, cache, dstate, grads):
        X, H_prev, C_prev, I, F, O, C_tilde, tanh_C = cache
        dH, dC = dstate
        dC = dC + dH * O * (1 - tanh_C * tanh_C)
        dA = {"i": dC * C_tilde * I * (1 - I), "f": dC * C_prev * F * (1 - F),
              "o": dH * tanh_C * O * (1 - O), "c": dC * I * (1 - C_tilde * C_tilde)}
        dH_prev = dX = 0
        for g, _ in GATES:
            to_H, to_X = gate_backward(ops, params, X, H_prev, dA[g], g, grads)
            dH_prev, dX = dH_prev + to_H, dX + to_X
        return (dH_prev, dC * F), dX
