"""The adapter's part about the framework's own recurrent layers: one hook, ``cell_layer``,
for every cell the framework's layers compute (the RNN is a cell like the others), run on the
book's parameters. The default is a framework without layers of its own (NumPy)."""
from ..backend import DECLARED
from ..errors import BadType


class Layers:
    """The framework's recurrent layers; mixed into :class:`~d2lrnn.base.adapter.Ops`."""

    # Whether the framework's recurrent layer learns its input size at the first call (Gluon,
    # Keras, Flax): the book's concise RNN there is RNN(num_hiddens); else (PyTorch)
    # RNN(num_inputs, num_hiddens).
    layer_learns_input_size = False
    # Whether the framework's multi-layer layer returns the layers' final states stacked in one
    # array (num_layers, batch_size, num_hiddens) (torch.nn.GRU, Gluon, the book's Flax GRU),
    # or one per layer in a list (Keras, as the book's TensorFlow GRU returns them).
    layers_stack_states = True

    @property
    def cell_layers(self):
        """The cells (by their key, see d2lrnn.cells) whose function the framework's own
        layers compute, as the backend's declaration names them; cell_layer() runs them."""
        return DECLARED[self.name].layers

    def has_cell_layer(self, cell):
        return cell.key in self.cell_layers

    @property
    def has_rnn_layer(self):
        """Whether the book's concise RNN (9.5) runs here."""
        return "rnn" in self.cell_layers

    def cell_layer(self, cell, params, inputs, state):
        """The framework's own layer for ``cell`` on the book's parameters: inputs (T, n, d),
        state tuple -> (outputs (T, n, h), final state tuple)."""
        return self.own_layer({}, cell)

    def own_layer(self, table, cell):
        """``table[cell.key]``: what a backend's ``table`` says its layer for ``cell`` is (by
        the cell's key, the function it computes), for a cell its declaration names; any
        other cell is refused, never run as another function."""
        if cell.key not in table or not self.has_cell_layer(cell):
            raise BadType(f"{self.name} has no layer of its own for the {cell.key} cell")
        return table[cell.key]

    def prepare_cell_layer(self, cell, num_inputs, num_hiddens, dtype):
        """Make whatever the framework's layer needs before any code is compiled."""

    def cell_layer_stack(self, cell, layers, inputs, states):
        """The framework's own layers for ``cell``, one per level of a deep network, each
        level's outputs the next one's inputs (what a framework's multi-layer RNN computes):
        ``layers`` a list of each level's parameters, ``states`` one state tuple per level
        -> (outputs (T, n, h), [final state tuple of each level])."""
        finals = []
        for params, state in zip(layers, states):
            inputs, final = self.cell_layer(cell, params, inputs, state)
            finals.append(final)
        return inputs, finals

    def dropout(self, x, rate):
        """``x`` with each entry zeroed with probability ``rate`` and the others scaled by
        1 / (1 - rate), drawn by the framework (a model drops only while it trains)."""
        raise BadType(f"the {self.name} backend has no dropout of its own: pass dropout=0")

    def xavier_layer(self, layer):
        """What the book's ``init_seq2seq`` (10.7) does to one of the framework's own layers
        (Xavier-uniform weights of its dense and GRU layers); nothing where the book's
        framework initialises its layers another way."""
