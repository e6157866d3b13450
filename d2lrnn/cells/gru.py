"""The gated recurrent unit (d2l.ai 10.2), with the reset gate applied before the recurrent
product, as the book writes it:

    R_t = σ(X_t W_xr + H_{t-1} W_hr + b_r)          (reset gate)
    Z_t = σ(X_t W_xz + H_{t-1} W_hz + b_z)          (update gate)
    H̃_t = tanh(X_t W_xh + (R_t ⊙ H_{t-1}) W_hh + b_h)
    H_t = Z_t ⊙ H_{t-1} + (1 - Z_t) ⊙ H̃_t
"""
from .base import Cell, accumulate, gate, gate_backward


class GRUCell(Cell):
    name = "gru"
    section = "10.2 Gated Recurrent Units (GRU)"

    def shapes(self, num_inputs, num_hiddens):
        shapes = {}
        for g in ("z", "r", "h"):  # the book's order: update, reset, candidate
            shapes.update({f"W_x{g}": (num_inputs, num_hiddens),
                           f"W_h{g}": (num_hiddens, num_hiddens), f"b_{g}": (num_hiddens,)})
        return shapes

    def step(self, ops, params, X_t, state):
        H_prev, = state
        R = gate(ops, params, X_t, H_prev, "r", "sigmoid")
        Z = gate(ops, params, X_t, H_prev, "z", "sigmoid")
        RH = R * H_prev
        H_tilde = ops.activation("tanh")(ops.matmul(X_t, params["W_xh"])
                                         + ops.matmul(RH, params["W_hh"]) + params["b_h"])
        H = Z * H_prev + (1 - Z) * H_tilde
        return (H,), (X_t, H_prev, R, Z, RH, H_tilde)

    def step_backward(self, ops, params, cache, dstate, grads):
        X, H_prev, R, Z, RH, H_tilde = cache
        dH, = dstate
        dH_prev = dH * Z
        dZ = dH * (H_prev - H_tilde)
        dA_h = dH * (1 - Z) * (1 - H_tilde * H_tilde)
        accumulate(grads, "W_xh", ops.matmul(ops.transpose(X, (1, 0)), dA_h))
        accumulate(grads, "W_hh", ops.matmul(ops.transpose(RH, (1, 0)), dA_h))
        accumulate(grads, "b_h", ops.sum(dA_h, 0))
        dRH = ops.matmul(dA_h, ops.transpose(params["W_hh"], (1, 0)))
        dH_prev = dH_prev + dRH * R
        dA_r = dRH * H_prev * R * (1 - R)
        dA_z = dZ * Z * (1 - Z)
        dH_prev = dH_prev + gate_backward(ops, params, X, H_prev, dA_r, "r", grads)
        dH_prev = dH_prev + gate_backward(ops, params, X, H_prev, dA_z, "z", grads)
        return (dH_prev,)
