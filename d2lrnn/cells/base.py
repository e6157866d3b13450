"""A recurrent cell is one unit: its parameters (the book's names and shapes), its state (a
tuple), its step written once against the array adapter (:class:`~d2lrnn.backend.Ops`), and
its step backward, from which :func:`lm_loss_and_grads` makes NumPy's reference gradients
(checked against central differences) for any cell.

A new cell is one file in this folder with one :class:`Cell` subclass: it is found by
discovery (``d2lrnn.cells.CELLS``) and every model, backend and command takes it.
"""


class Cell:
    """The interface; see :mod:`d2lrnn.cells.gru` for a complete cell."""

    name = None          # what --cell calls it
    section = None       # where the book defines it
    scratch_name = None  # the book's class names: the model from scratch, the concise one
    concise_name = None
    state_names = ("H",)  # the state tuple; its first entry is the output H_t

    def shapes(self, num_inputs, num_hiddens):
        """{parameter name: shape}, in the book's order."""
        raise NotImplementedError(f"{type(self).__name__} must define shapes()")

    def step(self, ops, params, X_t, state):
        """One time step: (X_t (n, d), state tuple) -> (new state tuple, cache for the
        backward step)."""
        raise NotImplementedError(f"{type(self).__name__} must define step()")

    def step_backward(self, ops, params, cache, dstate, grads):
        """From dLoss/d(new state) (a tuple like the state), add this step's parameter
        gradients into ``grads`` and return dLoss/d(previous state)."""
        raise NotImplementedError(f"{type(self).__name__} has no hand-written backward step")

    # -- written once for every cell --------------------------------------------------------
    @property
    def key(self):
        """The function this cell computes, by name ("gru-after" where a cell has
        variants): what a framework's own layer is declared to compute."""
        return self.name

    def param_names(self):
        return tuple(self.shapes(1, 1))

    # The gates in the order of cuDNN's fused layers (which torch.nn and MXNet follow).
    cudnn_gates = ()

    def cudnn_weights(self, ops, params):
        """The parameters packed as cuDNN's fused layers keep them: input weights (d, G h),
        recurrent weights (h, G h), the input bias and the recurrent bias (G h each; the
        recurrent one is zero unless the cell has a bias of its own inside a gate)."""
        W_x, W_h, b = (gates_side_by_side(ops, params, prefix, self.cudnn_gates)
                       for prefix in ("W_x", "W_h", "b_"))
        return W_x, W_h, b, self.recurrent_bias(ops, b, params)

    def recurrent_bias(self, ops, input_bias, params):
        return input_bias * 0

    def zero_state(self, ops, batch_size, num_hiddens, dtype):
        return tuple(ops.zeros((batch_size, num_hiddens), dtype) for _ in self.state_names)

    def num_hiddens(self, ops, params):
        """The hidden size, read from the parameters (the first one maps inputs to H)."""
        return ops.shape(next(iter(params.values())))[1]

    def run(self, ops, params, inputs, state=None):
        """The cell over the steps of ``inputs`` (T, n, d): ([H_1 .. H_T], final state);
        ``state`` None starts from zeros."""
        if state is None:
            state = self.zero_state(ops, ops.shape(inputs)[1], self.num_hiddens(ops, params),
                                    ops.dtype_name(inputs))
        outputs = []
        for t in range(ops.shape(inputs)[0]):
            state, _ = self.step(ops, params, inputs[t], state)
            outputs.append(state[0])
        return outputs, state


def gate(ops, params, X, H, suffix, activation):
    """act(X W_x<suffix> + H W_h<suffix> + b_<suffix>): one gate of a cell."""
    return ops.activation(activation)(ops.matmul(X, params[f"W_x{suffix}"])
                                      + ops.matmul(H, params[f"W_h{suffix}"])
                                      + params[f"b_{suffix}"])


def gate_backward(ops, params, X, H, dA, suffix, grads):
    """The gradients of a gate's pre-activation A = X W_x + H W_h + b given dA: added into
    ``grads``; returns what reaches H (dA W_h^T)."""
    accumulate(grads, f"W_x{suffix}", ops.matmul(ops.transpose(X, (1, 0)), dA))
    accumulate(grads, f"W_h{suffix}", ops.matmul(ops.transpose(H, (1, 0)), dA))
    accumulate(grads, f"b_{suffix}", ops.sum(dA, 0))
    return ops.matmul(dA, ops.transpose(params[f"W_h{suffix}"], (1, 0)))


def gates_side_by_side(ops, params, prefix, gates):
    """The parameters ``<prefix><g>`` for the gates ``g`` in a framework's order, joined
    along the last axis (how fused layers keep them: e.g. W_xi, W_xf, ... -> (d, 4h))."""
    return ops.concat([params[f"{prefix}{g}"] for g in gates], -1)


def accumulate(grads, name, value):
    grads[name] = value if name not in grads else grads[name] + value


def lm_loss_and_grads(cell, ops, params, X, Y):
    """The language model's mean cross-entropy on token ids X, Y (n, T), from a zero state,
    and its gradient for every parameter, by back-propagation through time written out with
    the cell's step backward (d2l.ai 9.7): NumPy's reference, for any cell."""
    (n, T), V = ops.shape(X), ops.shape(params["W_hq"])[1]
    dtype = ops.dtype_name(params["W_hq"])
    inputs = ops.one_hot(ops.transpose(X, (1, 0)), V, dtype)       # (T, n, V)
    state = cell.zero_state(ops, n, cell.num_hiddens(ops, params), dtype)
    caches, outputs = [], []
    for t in range(T):
        state, cache = cell.step(ops, params, inputs[t], state)
        caches.append(cache)
        outputs.append(state[0])
    H = ops.stack(outputs, 0)                                       # (T, n, h)
    O = ops.affine(H, params["W_hq"], params["b_q"])                # (T, n, V)
    log_p = ops.log_softmax(O)
    targets = ops.one_hot(ops.transpose(Y, (1, 0)), V, dtype)
    loss = -ops.sum(log_p * targets) / (n * T)
    dO = (ops.softmax(O, log_p) - targets) / (n * T)
    h = ops.shape(H)[-1]
    grads = {"W_hq": ops.matmul(ops.transpose(ops.reshape(H, (-1, h)), (1, 0)),
                                ops.reshape(dO, (-1, V))),
             "b_q": ops.sum(ops.reshape(dO, (-1, V)), 0)}
    dH = ops.matmul(dO, ops.transpose(params["W_hq"], (1, 0)))     # what O_t sends to H_t
    dstate = tuple(ops.zeros((n, h), dtype) for _ in cell.state_names)
    for t in range(T - 1, -1, -1):
        dstate = (dstate[0] + dH[t], *dstate[1:])
        dstate = cell.step_backward(ops, params, caches[t], dstate, grads)
    return loss, {name: grads[name] for name in params}
