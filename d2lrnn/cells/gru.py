"""The gated recurrent unit (d2l.ai 10.2). The book applies the reset gate before the
recurrent product (``reset="before"``):

    R_t = σ(X_t W_xr + H_{t-1} W_hr + b_r)          (reset gate)
    Z_t = σ(X_t W_xz + H_{t-1} W_hz + b_z)          (update gate)
    H̃_t = tanh(X_t W_xh + (R_t ⊙ H_{t-1}) W_hh + b_h)
    H_t = Z_t ⊙ H_{t-1} + (1 - Z_t) ⊙ H̃_t

PyTorch's ``nn.GRU``, Flax's ``GRUCell``, MXNet's fused GRU and Keras' default GRU apply it
after the product, with a bias of their own inside (``reset="after"``, one more parameter,
``b_hh``): H̃_t = tanh(X_t W_xh + b_h + R_t ⊙ (H_{t-1} W_hh + b_hh)). Another function:
the package offers both, each held to its own reference.
"""
from .base import Cell, accumulate, gate, gate_backward, input_term


class GRUCell(Cell):
    name = "gru"
    scratch_name, concise_name = "GRUScratch", "GRU"
    section = "10.2 Gated Recurrent Units (GRU)"
    variant_keyword, variant_values, layers_value = "reset", ("before", "after"), "after"
    variant_words = ("the reset gate before the recurrent product (the book's) or after it "
                     "(the frameworks' layers')")
    cudnn_gates = ("r", "z", "h")

    def __init__(self, reset="before"):
        super().__init__(reset)

    def recurrent_bias(self, ops, input_bias, params):
        """cuDNN's GRU keeps b_hh, inside the reset, as the candidate's recurrent bias."""
        zeros = input_bias * 0
        h = ops.shape(params["b_h"])[0]
        return ops.concat([zeros[:2 * h], params["b_hh"]], 0)

    def shapes(self, num_inputs, num_hiddens):
        shapes = {}
        for g in ("z", "r", "h"):  # the book's order: update, reset, candidate
            shapes.update({f"W_x{g}": (num_inputs, num_hiddens),
                           f"W_h{g}": (num_hiddens, num_hiddens), f"b_{g}": (num_hiddens,)})
        if self.reset == "after":
            shapes["b_hh"] = (num_hiddens,)
        return shapes

    def step(self, ops, params, X_t, state):
        H_prev, = state
        R = gate(ops, params, X_t, H_prev, "r", "sigmoid")
        Z = gate(ops, params, X_t, H_prev, "z", "sigmoid")
        if self.reset == "before":
            inner = R * H_prev  # R ⊙ H, then the product
            recurrent = ops.matmul(inner, params["W_hh"])
        else:
            inner = ops.matmul(H_prev, params["W_hh"]) + params["b_hh"]  # the product first
            recurrent = R * inner
        H_tilde = ops.activation("tanh")(input_term(ops, params, X_t, "h") + recurrent)
        H = Z * H_prev + (1 - Z) * H_tilde
        return (H,), (X_t, H_prev, R, Z, inner, H_tilde)

    def step_backward(self, ops, params, cache, dstate, grads):
        X, H_prev, R, Z, inner, H_tilde = cache
        dH, = dstate
        dH_prev = dH * Z
        dZ = dH * (H_prev - H_tilde)
        dA_h = dH * (1 - Z) * (1 - H_tilde * H_tilde)
        accumulate(grads, "W_xh", ops.matmul(ops.transpose(X, (1, 0)), dA_h))
        accumulate(grads, "b_h", ops.sum(dA_h, 0))
        dX = ops.matmul(dA_h, ops.transpose(params["W_xh"], (1, 0)))
        W_hh_T = ops.transpose(params["W_hh"], (1, 0))
        if self.reset == "before":  # inner = R ⊙ H_prev
            accumulate(grads, "W_hh", ops.matmul(ops.transpose(inner, (1, 0)), dA_h))
            d_inner = ops.matmul(dA_h, W_hh_T)
            dH_prev = dH_prev + d_inner * R
            dR = d_inner * H_prev
        else:  # inner = H_prev W_hh + b_hh, multiplied by R
            d_inner = dA_h * R
            accumulate(grads, "W_hh", ops.matmul(ops.transpose(H_prev, (1, 0)), d_inner))
            accumulate(grads, "b_hh", ops.sum(d_inner, 0))
            dH_prev = dH_prev + ops.matmul(d_inner, W_hh_T)
            dR = dA_h * inner
        dA_r = dR * R * (1 - R)
        dA_z = dZ * Z * (1 - Z)
        for dA, g in ((dA_r, "r"), (dA_z, "z")):
            to_H, to_X = gate_backward(ops, params, X, H_prev, dA, g, grads)
            dH_prev, dX = dH_prev + to_H, dX + to_X
        return (dH_prev,), dX
