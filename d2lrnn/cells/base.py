"""A recurrent cell is one unit: its parameters (the book's names and shapes), its state (a
tuple), its step written once against the array adapter (:class:`~d2lrnn.base.adapter.Ops`), and
its step backward, from which :mod:`d2lrnn.cells.network` makes NumPy's reference
gradients (checked against central differences) for any cell, in any number of layers.

A new cell is two files: one in this folder with one :class:`Cell` subclass, found by
discovery (``d2lrnn.cells.CELLS``, and each function it computes in ``d2lrnn.cells.VARIANTS``),
and its scratch model in :mod:`d2lrnn.book.modern` (ARCHITECTURE.md, "Adding a recurrent
cell"); every model, backend, command and test then takes it.
"""
from ..base.errors import BadArgument


class Cell:
    """The interface; see :mod:`d2lrnn.cells.gru` for a complete cell."""

    name = None          # what --cell calls it
    section = None       # where the book defines it
    scratch_name = None  # the book's class names: the model from scratch, the concise one
    concise_name = None
    state_names = ("H",)  # the state tuple; its first entry is the output H_t
    # A cell that computes more than one function (a GRU's reset gate before or after the
    # recurrent product, as Keras' ``reset_after``): the keyword of its constructor and of
    # its models that chooses (``reset``), its values (the book's first), what each means,
    # and the value the frameworks' own layers compute (a concise model's default; None: the
    # book's). Each value is a variant with a key of its own ("gru-after", see :attr:`key`).
    variant_keyword = None
    variant_values = ()
    variant_words = ""
    layers_value = None

    def __init__(self, value=None):
        if self.variant_keyword is not None:
            setattr(self, self.variant_keyword, self.checked_value(
                self.variant_values[0] if value is None else value))

    @classmethod
    def checked_value(cls, value):
        """``value`` if it is one of the cell's variants, else a :class:`BadArgument`."""
        if value not in cls.variant_values:
            raise BadArgument(f"{cls.name.upper()}: {cls.variant_keyword} must be one of "
                              f"{cls.variant_values}, got {value!r}")
        return value

    @classmethod
    def variants(cls):
        """One cell per function this cell computes, the book's first."""
        return tuple(cls(value) for value in cls.variant_values) or (cls(),)

    def shapes(self, num_inputs, num_hiddens):
        """{parameter name: shape}, in the book's order."""
        raise NotImplementedError(f"{type(self).__name__} must define shapes()")

    def step(self, ops, params, X_t, state):
        """One time step: (X_t (n, d), state tuple) -> (new state tuple, cache for the
        backward step)."""
        raise NotImplementedError(f"{type(self).__name__} must define step()")

    def step_backward(self, ops, params, cache, dstate, grads):
        """From dLoss/d(new state) (a tuple like the state), add this step's parameter
        gradients into ``grads`` and return (dLoss/d(previous state), dLoss/dX_t): the
        input's gradient is what a layer below receives in a deep network."""
        raise NotImplementedError(f"{type(self).__name__} has no hand-written backward step")

    # -- written once for every cell --------------------------------------------------------
    def options(self):
        """The keyword arguments that make this cell's scratch model compute it (a GRU's
        ``reset``): its variant, where it has several."""
        if self.variant_keyword is None:
            return {}
        return {self.variant_keyword: getattr(self, self.variant_keyword)}

    @property
    def key(self):
        """The function this cell computes, by name ("gru-after" where a cell has
        variants): what a framework's own layer is declared to compute."""
        return "-".join((self.name, *self.options().values()))

    def describe(self):
        """What ``--cell`` says of this cell: its section and, where it has variants, their
        keys and what they mean."""
        if self.variant_keyword is None:
            return f"{self.name} ({self.section})"
        first, *_ = keys = [f"{self.name}-{value}" for value in self.variant_values]
        concise = f"{self.name}-{self.layers_value or self.variant_values[0]}"
        return (f"{self.name} ({self.section}; {' or '.join(keys)}: {self.variant_words}; "
                f"{self.name} alone is {first} from scratch, {concise} concise)")

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

    def gates(self):
        """The suffixes of the cell's input weights (W_x<suffix>), in the book's order."""
        return tuple(name[3:] for name in self.param_names() if name.startswith("W_x"))

    def full_state(self, ops, state, params=None, batch_size=None):
        """The state tuple from a tuple, from H alone (the others start at zero: the fast
        path begins from H_0 = 0 for every cell), or from None: zeros, sized by ``params``
        for ``batch_size`` sequences."""
        if isinstance(state, tuple):
            return state
        if state is None:
            weight = next(iter(params.values()))
            return self.zero_state(ops, batch_size, ops.shape(weight)[1],
                                   ops.dtype_name(weight))
        return (state, *(ops.zeros(ops.shape(state), ops.dtype_name(state))
                         for _ in self.state_names[1:]))

    def run_fast(self, ops, params, inputs, state, reverse=False):
        """The fast path's time loop over token ids (T, n), each gate's input term looked up
        for every step at once, or over a lower layer's outputs (T, n, d), each gate's input
        term one product for every step; then the steps, from the last one back where
        ``reverse`` (the outputs keep the inputs' order). ``state``: the state tuple, H
        alone or None (see :meth:`full_state`). Returns (stacked H (T, n, h), final state
        tuple)."""
        state = self.full_state(ops, state, params, ops.shape(inputs)[1])
        ids = ops.dtype_name(inputs).startswith(("int", "uint"))
        terms = {g: ops.embedding(params[f"W_x{g}"], inputs) + params[f"b_{g}"] if ids
                 else ops.affine(inputs, params[f"W_x{g}"], params[f"b_{g}"])
                 for g in self.gates()}

        def body(state, terms_t):
            state, _ = self.step(ops, params, LookedUp(terms_t), state)
            return state, state[0]
        state, outputs = ops.scan(body, state, terms, reverse)
        return outputs, state

    def run(self, ops, params, inputs, state=None, reverse=False, caches=None):
        """The cell over the steps of ``inputs`` ((T, n, d), or a list of T (n, d) arrays):
        ([H_1 .. H_T], final state); ``state`` None starts from zeros. ``reverse`` runs from
        the last step to the first (the outputs keep the inputs' order); ``caches``, a list,
        receives each step's cache, in the order the steps ran."""
        steps = len(inputs) if isinstance(inputs, (list, tuple)) else ops.shape(inputs)[0]
        if state is None:
            state = self.zero_state(ops, ops.shape(inputs[0])[0], self.num_hiddens(ops, params),
                                    ops.dtype_name(inputs[0]))
        outputs = [None] * steps
        for t in (range(steps - 1, -1, -1) if reverse else range(steps)):
            state, cache = self.step(ops, params, inputs[t], state)
            outputs[t] = state[0]
            if caches is not None:
                caches.append(cache)
        return outputs, state


class LookedUp:
    """A step's inputs given as token ids (the fast path): X_t W_x + b for each gate was
    looked up for every step at once (rows of W_x: X_t is one-hot), so a step adds only its
    recurrent product. ``terms[suffix]`` is this step's (n, h)."""

    def __init__(self, terms):
        self.terms = terms


def input_term(ops, params, X, suffix):
    """X W_x<suffix> + b_<suffix>: computed, or looked up already (:class:`LookedUp`)."""
    if isinstance(X, LookedUp):
        return X.terms[suffix]
    return ops.matmul(X, params[f"W_x{suffix}"]) + params[f"b_{suffix}"]


def gate(ops, params, X, H, suffix, activation):
    """act(X W_x<suffix> + H W_h<suffix> + b_<suffix>): one gate of a cell."""
    return ops.activation(activation)(input_term(ops, params, X, suffix)
                                      + ops.matmul(H, params[f"W_h{suffix}"]))


def gate_backward(ops, params, X, H, dA, suffix, grads):
    """The gradients of a gate's pre-activation A = X W_x + H W_h + b given dA: added into
    ``grads``; returns what reaches H and X (dA W_h^T, dA W_x^T)."""
    accumulate(grads, f"W_x{suffix}", ops.matmul(ops.transpose(X, (1, 0)), dA))
    accumulate(grads, f"W_h{suffix}", ops.matmul(ops.transpose(H, (1, 0)), dA))
    accumulate(grads, f"b_{suffix}", ops.sum(dA, 0))
    return (ops.matmul(dA, ops.transpose(params[f"W_h{suffix}"], (1, 0))),
            ops.matmul(dA, ops.transpose(params[f"W_x{suffix}"], (1, 0))))


def gates_side_by_side(ops, params, prefix, gates):
    """The parameters ``<prefix><g>`` for the gates ``g`` in a framework's order, joined
    along the last axis (how fused layers keep them: e.g. W_xi, W_xf, ... -> (d, 4h))."""
    if len(gates) == 1:  # the RNN: one "gate", nothing to join
        return params[f"{prefix}{gates[0]}"]
    return ops.concat([params[f"{prefix}{g}"] for g in gates], -1)


def accumulate(grads, name, value):
    grads[name] = value if name not in grads else grads[name] + value
