"""The modern recurrent networks (d2l.ai chapter 10), written once for every backend: the GRU
and the LSTM from scratch and on each framework's own layers (10.1, 10.2), deep networks
(10.3) and bidirectional ones (10.4) of any cell. Generic over an
:class:`~d2lrnn.base.adapter.Ops` adapter, as the section's models in :mod:`d2lrnn.book.rnn`;
the cells and the way layers are wired are :mod:`d2lrnn.cells`.
"""
import numpy as np

from ..base import checks
from ..base.errors import BadArgument, BadType
from ..cells import CELLS, Network, cell_named
from .model import Recurrent, draw


def part_seed(seed, index):
    """The seed of a model's ``index``-th layer, from the model's own (None stays None): each
    layer draws from a stream of its own, the same in every backend."""
    if seed is None:
        return None
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0])


class CellScratch(Recurrent):
    """One layer of a cell of :mod:`d2lrnn.cells`, from scratch (``GRUScratch``,
    ``LSTMScratch``): its parameters are attributes with the book's names; ``forward`` returns
    ([H_1 .. H_T], the final state: H, or the tuple (H, C) of an LSTM)."""

    cell = None  # a d2lrnn.cells.Cell
    # Whether the backend's fused kernel may compute this model (it computes one layer).
    fusable = True

    @property
    def unit(self):
        """The :class:`~d2lrnn.cells.Cell` this model's layers run."""
        return self.cell

    @property
    def network(self):
        return Network.single(self.unit)

    @property
    def fast_grads(self):
        """The backend's fused kernel where it computes this model (one layer of a cell it
        declares); else the backend's choice (``Ops.cell_grads``) where the framework has
        autograd, the cells' backward written by hand where it has none."""
        ops = self.ops
        if self.fusable and ops.fast_grads == "fused" and self.unit.key in ops.fused_cells:
            return "fused"
        return ops.cell_grads if ops.has_autograd else "cells"

    def fast_recurrence(self, params, X_tm, state):
        """The fast path's time loop from token ids (T, n) (see ``Cell.run_fast``)."""
        return self.unit.run_fast(self.ops, params, X_tm, state)

    def recurrence(self, params, inputs, state):
        outputs, final = self.unit.run(self.ops, params, inputs, state)
        return outputs, self.book_state(final)

    @staticmethod
    def book_state(state):
        """A cell's state tuple as the book returns it: H alone, or (H, C)."""
        return state[0] if len(state) == 1 else tuple(state)


class GRUScratch(CellScratch):
    """The GRU from scratch (d2l.ai 10.2): reset and update gates. ``reset="before"``
    applies the reset gate before the recurrent product, as the book's equations;
    ``"after"`` as PyTorch, Flax, MXNet and Keras' default layers do (one more bias,
    ``b_hh``)."""

    def __init__(self, num_inputs, num_hiddens, sigma=0.01, *, reset="before",
                 dtype="float32", seed=None):
        self.reset = reset
        super().__init__(num_inputs, num_hiddens, sigma, dtype=dtype, seed=seed)

    def validate(self):
        CELLS["gru"].checked_value(self.reset)
        super().validate()

    @property
    def cell(self):
        return cell_named("gru", reset=self.reset)

    def forward(self, inputs, H=None):
        """inputs (num_steps, batch_size, num_inputs) -> ([H_1 .. H_T], H_T)."""
        return super().forward(inputs, H)


class LSTMScratch(CellScratch):
    """The LSTM from scratch (d2l.ai 10.1): input, forget and output gates, a memory cell."""

    cell = CELLS["lstm"]

    def forward(self, inputs, H_C=None):
        """inputs (num_steps, batch_size, num_inputs) -> ([H_1 .. H_T], (H_T, C_T))."""
        return super().forward(inputs, H_C)


class CellNetwork(CellScratch):
    """Cells in layers (d2l.ai 10.3, 10.4), run as :attr:`network` wires them: the base of
    ``StackedRNNScratch``, ``BiRNNScratch`` and the concise models on the framework's layers
    (:class:`CellLayer`). Each layer behind a prefix is a model of its own, as the book holds
    them (``rnns[i]``; ``f_rnn`` and ``b_rnn``), its parameters named behind the prefix
    (``rnns.0.W_xh``) and drawn from a seed of its own (:func:`part_seed`); the state holds one
    entry per layer. A network of one layer has no prefix (a concise model's default): that
    layer is this model itself, its parameters and its state as :class:`CellScratch`'s."""

    fusable = False  # a network of cells: the fused kernels compute one scratch layer
    stack_outputs = False  # forward returns the list [H_1 .. H_T], as the book's scratch RNN
    # Whether the layers behind a prefix are models of their own (the book's way), or this
    # model holds all their parameters by the prefixed names (Flax, where a module's
    # parameters live outside it, sets this to False).
    layers_as_parts = True

    @property
    def one_layer(self):
        """Whether the network is one layer without a prefix: this model itself."""
        layers = self.network.layers
        return len(layers) == 1 and not layers[0].prefix

    def is_part(self, layer):
        """Whether ``layer`` is a model of its own (``self.part(layer.prefix)``)."""
        return self.layers_as_parts and bool(layer.prefix)

    def layer_inputs(self):
        """(index, layer, the width of its inputs) of every layer, bottom to top."""
        width, index = self.num_inputs, 0
        for level in self.network.levels:
            for layer in level:
                yield index, layer, width
                index += 1
            width = self.num_hiddens * len(level)

    def shapes(self):
        """The parameters this model holds itself: none of its parts'."""
        return {layer.prefix + name: shape for _, layer, width in self.layer_inputs()
                if not self.is_part(layer)
                for name, shape in layer.cell.shapes(width, self.num_hiddens).items()}

    def initial_arrays(self):
        """The first values of the parameters this model holds itself, as NumPy arrays: a
        layer behind a prefix drawn as that layer's own model draws it (:func:`part_seed`),
        so that both ways of holding the layers start from the same numbers."""
        arrays = {}
        for index, layer, width in self.layer_inputs():
            if self.is_part(layer):
                continue
            seed = part_seed(self.seed, index) if layer.prefix else self.seed
            drawn = draw(layer.cell.shapes(width, self.num_hiddens), self.sigma, self.dtype,
                         seed)
            arrays.update({layer.prefix + name: value for name, value in drawn.items()})
        return arrays

    def _init_params(self):
        self._build_parts()
        super()._init_params()

    def _build_parts(self):
        """Make each layer behind a prefix a scratch model of its cell, named as the book
        names them."""
        lists = {}
        for index, layer, width in self.layer_inputs():
            if not self.is_part(layer):
                continue
            part = self.make_part(self.family[layer.cell.scratch_name], width,
                                  self.num_hiddens, self.sigma, dtype=self.dtype,
                                  seed=part_seed(self.seed, index), **layer.cell.options())
            name, _, position = layer.prefix.rstrip(".").partition(".")
            if position:
                lists.setdefault(name, []).append(part)
            else:
                self._set_field(name, part)
        for name, parts in lists.items():
            self._set_field(name, self.part_list(parts))

    def part(self, prefix):
        """The layer model behind ``prefix`` ("rnns.1." is ``self.rnns[1]``)."""
        name, _, position = prefix.rstrip(".").partition(".")
        value = getattr(self, name)
        return value[int(position)] if position else value

    def submodels(self):
        if not self.built:
            return ()
        return tuple((layer.prefix, self.part(layer.prefix)) for layer in self.network.layers
                     if self.is_part(layer))

    def initial_state(self, state, batch_size):
        """The state of every layer, checked: a list of state tuples (zeros where ``state``
        is None); a network of one layer takes that layer's state, as a single layer's."""
        if self.one_layer:
            return [super().initial_state(state, batch_size)]
        layers = self.network.layers
        if state is None:
            state = [None] * len(layers)
        if not isinstance(state, (list, tuple)) or len(state) != len(layers):
            got = len(state) if isinstance(state, (list, tuple)) else type(state).__name__
            raise BadArgument(f"{type(self).__name__}.forward: the state holds one entry per "
                              f"layer ({len(layers)}: {self.state_description()}), got {got}")
        return [tuple(self.checked_state(layer.cell.state_names, entry, batch_size,
                                         f" layer {layer.prefix.rstrip('.')}"))
                for layer, entry in zip(layers, state)]

    def state_description(self):
        one = "H" if len(self.state_names) == 1 else f"({', '.join(self.state_names)})"
        return ", ".join(f"{layer.prefix.rstrip('.')} {one}" for layer in self.network.layers)

    def fast_recurrence(self, params, X_tm, state):
        """The fast path's time loop from token ids (T, n) through every layer (see
        ``Network.run_fast``), the state one tuple per layer."""
        return self.network.run_fast(self.ops, params, X_tm, state)

    def recurrence(self, params, inputs, state):
        outputs, finals = self.network.run(self.ops, params, inputs, state)
        if self.stack_outputs:
            outputs = self.ops.stack(outputs, 0)
        return outputs, self.book_states(finals)

    def book_states(self, finals):
        """The final state of every layer, as the book's deep RNN returns them (a list); a
        network of one layer, that layer's own (H, or (H, C))."""
        if self.one_layer:
            return self.book_state(finals[0])
        return [self.book_state(final) for final in finals]


class LayersOfCell(CellNetwork):
    """What a network of several layers of one named cell has: ``cell`` is the cell's name
    ("rnn", "gru", "lstm": the book's function) or the key of one of its variants
    ("gru-after"; or a GRU's ``reset`` as in :class:`GRUScratch`), see
    :func:`d2lrnn.cells.cell_named`."""

    def __init__(self, num_inputs, num_hiddens, sigma, *, cell, reset, dtype, seed):
        self.cell, self.reset = cell, reset
        super().__init__(num_inputs, num_hiddens, sigma, dtype=dtype, seed=seed)

    def validate(self):
        cell_named(self.cell, reset=self.reset)  # checks them
        super().validate()

    @property
    def unit(self):
        """The :class:`~d2lrnn.cells.Cell` every layer runs."""
        return cell_named(self.cell, reset=self.reset)


class StackedRNNScratch(LayersOfCell):
    """A deep RNN from scratch (d2l.ai 10.3): ``num_layers`` layers, each one's hidden states
    the next one's inputs; layer ``i`` is ``rnns[i]``, an ``RNNScratch`` (or a
    ``GRUScratch``, an ``LSTMScratch`` with ``cell=``). ``forward(inputs, Hs)`` returns the
    top layer's hidden states stacked (num_steps, batch_size, num_hiddens) and the final
    state of every layer (a list)."""

    stack_outputs = True

    def __init__(self, num_inputs, num_hiddens, num_layers, sigma=0.01, *, cell="rnn",
                 reset=None, dtype="float32", seed=None):
        self.num_layers = num_layers
        super().__init__(num_inputs, num_hiddens, sigma, cell=cell, reset=reset, dtype=dtype,
                         seed=seed)

    def validate(self):
        checks.whole(self.num_layers, "num_layers", type(self).__name__)
        super().validate()

    @property
    def network(self):
        return Network.stacked(self.unit, self.num_layers)

    def forward(self, inputs, Hs=None):
        return super().forward(inputs, Hs)


class BiRNNScratch(LayersOfCell):
    """A bidirectional RNN from scratch (d2l.ai 10.4): ``f_rnn`` reads the sequence forward,
    ``b_rnn`` backward, and each step's output is their two hidden states side by side.
    Outputs are ``num_outputs`` = 2 ``num_hiddens`` wide, which the language model's output
    layer takes (the book doubles ``num_hiddens`` itself; here it stays what was given).
    The state is the pair (f_H, b_H)."""

    def __init__(self, num_inputs, num_hiddens, sigma=0.01, *, cell="rnn", reset=None,
                 dtype="float32", seed=None):
        super().__init__(num_inputs, num_hiddens, sigma, cell=cell, reset=reset, dtype=dtype,
                         seed=seed)

    @property
    def network(self):
        return Network.bidirectional(self.unit)

    def book_states(self, finals):
        return tuple(self.book_state(final) for final in finals)

    def forward(self, inputs, Hs=None):
        return super().forward(inputs, Hs)


class CellLayer(CellNetwork):
    """What makes a concise model of a cell: the framework's own layer (torch.nn.GRU and
    LSTM, Keras, Flax, MXNet's fused operator) run on the same parameters, ``num_layers``
    deep (layer ``i`` then ``rnns[i]``, as in :class:`StackedRNNScratch`). ``forward``
    returns the stacked outputs (num_steps, batch_size, num_hiddens) and the final state
    (one per layer, in a list, when there are several)."""

    def check_layer(self):
        if not self.ops.has_cell_layer(self.cell):
            offered = ", ".join(sorted(self.ops.cell_layers)) or "none"
            raise BadType(f"the {self.ops.name} backend has no layer of its own computing "
                            f"the {self.cell.key} cell (its layers: {offered}); use the "
                            f"scratch model")

    def validate(self):
        self.check_layer()
        self.check_depth()
        super().validate()

    def check_depth(self):
        where = type(self).__name__
        checks.whole(self.num_layers, "num_layers", where)
        if checks.real(self.dropout, "dropout", where, least=0) >= 1:
            raise BadArgument(f"{where}: dropout is the probability of dropping an output "
                              f"between layers, in [0, 1); got {self.dropout}")

    @property
    def network(self):
        return Network.layered(self.cell, self.num_layers)

    @property
    def drops(self):
        """Whether this call drops outputs between layers: dropout > 0 and the framework's
        module is training (PyTorch's ``train()``, MXNet's ``autograd.record()``, Keras'
        ``training=True``), as the frameworks' multi-layer layers do."""
        return bool(self.dropout) and self.num_layers > 1 and self.is_training()

    @property
    def has_fast_path(self):
        """A network that drops outputs between layers trains on the plain path: the fast
        one computes the deterministic function held to the reference."""
        return not self.dropout

    def initial_state(self, state, batch_size):
        """As :class:`CellNetwork`'s; the frameworks' layers also take the layers' states of a
        one-array cell stacked in one array (num_layers, batch_size, num_hiddens), as this
        model returns them where the framework's layer does (:meth:`book_states`)."""
        if (not self.one_layer and self.ops.is_tensor(state)
                and len(self.ops.shape(state)) == 3):
            state = [state[i] for i in range(self.ops.shape(state)[0])]
        return super().initial_state(state, batch_size)

    def book_states(self, finals):
        """The final states as the framework's multi-layer layer returns them: a GRU's (a
        cell of one state array) stacked in one array (num_layers, batch_size, num_hiddens)
        where the framework stacks them (``Ops.layers_stack_states``: not Keras, whose
        layers the book keeps in a list); otherwise one entry per layer, in a list."""
        states = super().book_states(finals)
        if self.one_layer or len(self.state_names) > 1 or not self.ops.layers_stack_states:
            return states
        return self.ops.stack(states, 0)

    def build(self, num_inputs):
        super().build(num_inputs)
        for i in range(self.num_layers):
            self.ops.prepare_cell_layer(self.cell, num_inputs if i == 0 else self.num_hiddens,
                                        self.num_hiddens, self.dtype)

    fast_grads = "autograd"  # the framework's layer, differentiated by the framework

    def fast_recurrence(self, params, X_tm, state):
        """The framework's layers in turn on one-hot inputs (the state one tuple per layer;
        None: zeros)."""
        ops, layers, n = self.ops, self.network.layers, self.ops.shape(X_tm)[1]
        W_x = params[layers[0].prefix + "W_x" + self.cell.gates()[0]]  # (vocabulary, hidden)
        inputs = ops.one_hot(X_tm, ops.shape(W_x)[0], ops.dtype_name(W_x))
        own = [layer.params(params) for layer in layers]
        state = [self.cell.full_state(ops, None if state is None else state[i], own[i], n)
                 for i in range(len(layers))]
        outputs, finals = ops.cell_layer_stack(self.cell, own, inputs, state)
        return outputs, tuple(tuple(final) for final in finals)

    def recurrence(self, params, inputs, state):
        # sizes from the arrays: compiled code built around this serves every instance
        layers = self.network.layers
        if state is None:
            zeros = self.cell.zero_state(self.ops, self.ops.shape(inputs)[1],
                                         self.cell.num_hiddens(self.ops, layers[0].params(
                                             params)), self.ops.dtype_name(inputs))
            state = [zeros] * len(layers)
        own, state = [layer.params(params) for layer in layers], [tuple(s) for s in state]
        if not self.drops:
            outputs, finals = self.ops.cell_layer_stack(self.cell, own, inputs, state)
            return outputs, self.book_states(finals)
        finals = []
        for i, (layer_params, layer_state) in enumerate(zip(own, state)):
            if i:  # between layers, not after the top one (torch.nn.GRU's dropout)
                inputs = self.drop(inputs, self.dropout)
            inputs, final = self.ops.cell_layer(self.cell, layer_params, inputs, layer_state)
            finals.append(final)
        return inputs, self.book_states(finals)


class GRU(CellLayer, GRUScratch):
    """The concise GRU on the framework's own layer (d2l.ai 10.2), ``num_layers`` deep as the
    book library's GRU (10.3). Frameworks apply the reset gate after the recurrent product
    (``reset="after"``, the default here); Keras offers the book's ``"before"`` too."""

    def __init__(self, num_inputs, num_hiddens, num_layers=1, dropout=0, sigma=0.01, *,
                 reset="after", dtype="float32", seed=None):
        self.reset, self.num_layers, self.dropout = reset, num_layers, dropout
        super().__init__(num_inputs, num_hiddens, sigma, reset=reset, dtype=dtype, seed=seed)

    def forward(self, inputs, H=None, training=None):
        """inputs (num_steps, batch_size, num_inputs) -> (outputs (num_steps, batch_size,
        num_hiddens), final state: H, or the layers' (see :meth:`CellLayer.book_states`)).
        ``training`` is the book's JAX GRU's: whether it drops outputs between layers there
        (the other frameworks' modules know whether they train)."""
        self._set_field("training_call", training)
        return super().forward(inputs, H)


class LazyGRU(GRU):
    """The concise GRU where the framework's layer learns its input size:
    ``GRU(num_hiddens, num_layers=1, dropout=0)``."""

    def __init__(self, num_hiddens, num_layers=1, dropout=0, *, num_inputs=None, sigma=0.01,
                 reset="after", dtype="float32", seed=None):
        super().__init__(num_inputs, num_hiddens, num_layers, dropout, sigma, reset=reset,
                         dtype=dtype, seed=seed)


class LSTM(CellLayer, LSTMScratch):
    """The concise LSTM on the framework's own layer (d2l.ai 10.1): the book's function,
    ``num_layers`` deep."""

    def __init__(self, num_inputs, num_hiddens, num_layers=1, dropout=0, sigma=0.01, *,
                 dtype="float32", seed=None):
        self.num_layers, self.dropout = num_layers, dropout
        super().__init__(num_inputs, num_hiddens, sigma, dtype=dtype, seed=seed)


class LazyLSTM(LSTM):
    """The concise LSTM where the framework's layer learns its input size:
    ``LSTM(num_hiddens, num_layers=1, dropout=0)``."""

    def __init__(self, num_hiddens, num_layers=1, dropout=0, *, num_inputs=None, sigma=0.01,
                 dtype="float32", seed=None):
        super().__init__(num_inputs, num_hiddens, num_layers, dropout, sigma, dtype=dtype,
                         seed=seed)
