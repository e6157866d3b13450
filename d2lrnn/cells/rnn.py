"""The RNN cell (d2l.ai 9.4): H_t = φ(X_t W_xh + H_{t-1} W_hh + b_h), φ = tanh, the book's.

``RNNCell(activation="relu")`` computes φ = ReLU: MXNet's ``gluon.rnn.RNN(num_hiddens)`` does
unless told ``activation='tanh'`` (the Chinese edition's 8.6 keeps that default), PyTorch's
``nn.RNN(nonlinearity='relu')`` and Keras' ``SimpleRNN(activation='relu')`` when told. Another
function, with a key of its own (``rnn-relu``), so that no framework's tanh layer or kernel is
taken for it; the reference for the 0.17 library's ``RNNModel`` over such a layer. It is not
one of :data:`d2lrnn.cells.VARIANTS`: the 1.0 models and the command line compute the book's
tanh RNN only.
"""
from ..base.errors import BadArgument, not_one_of
from .base import Cell, gate, gate_backward

# Each activation's derivative from its output H = φ(A): tanh' = 1 - tanh², ReLU' = 1 where
# H > 0 (H is never negative: H != 0, as the adapter's mask, in every framework's dtype).
SLOPES = {"tanh": lambda ops, H: 1 - H * H,
          "relu": lambda ops, H: ops.not_equal(H, 0, ops.dtype_name(H))}


class RNNCell(Cell):
    name = "rnn"
    scratch_name, concise_name = "RNNScratch", "RNN"
    section = "9.4 Recurrent Neural Networks"
    cudnn_gates = ("h",)  # W_xh, W_hh, b_h as they are

    def __init__(self, activation="tanh"):
        super().__init__()
        if activation not in SLOPES:
            raise BadArgument(f"RNN: {not_one_of('activation', activation, tuple(SLOPES))}")
        self.activation = activation

    @property
    def key(self):
        """``rnn`` (the book's tanh), ``rnn-relu``."""
        return self.name if self.activation == "tanh" else f"{self.name}-{self.activation}"

    def shapes(self, num_inputs, num_hiddens):
        return {"W_xh": (num_inputs, num_hiddens), "W_hh": (num_hiddens, num_hiddens),
                "b_h": (num_hiddens,)}

    def step(self, ops, params, X_t, state):
        H_prev, = state
        H = gate(ops, params, X_t, H_prev, "h", self.activation)
        return (H,), (X_t, H_prev, H)

    def step_backward(self, ops, params, cache, dstate, grads):
        X, H_prev, H = cache
        dA = dstate[0] * SLOPES[self.activation](ops, H)
        dH_prev, dX = gate_backward(ops, params, X, H_prev, dA, "h", grads)
        return (dH_prev,), dX
