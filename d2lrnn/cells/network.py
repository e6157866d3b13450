"""Cells in layers (d2l.ai 10.3 Deep Recurrent Neural Networks, 10.4 Bidirectional Recurrent
Neural Networks), written once against the array adapter.

A network is a stack of levels, bottom to top. A level is one layer (a cell run forward in
time) or two: the second runs over the reversed sequence and the two outputs stand side by
side, as in a bidirectional RNN. Each level's outputs are the next level's inputs. A layer's
parameters keep its cell's names behind a prefix: ``rnns.0.W_xh`` as the book's
``StackedRNNScratch`` holds them, ``f_rnn.`` and ``b_rnn.`` as its ``BiRNNScratch``; a
single layer has none. The backward pass is the cells' step backward, level by level: NumPy's
reference gradients for any network (checked against central differences).
"""
import dataclasses

from .base import Cell


@dataclasses.dataclass(frozen=True)
class Layer:
    """A cell in a network: its parameters' prefix and its direction in time."""

    cell: Cell
    prefix: str = ""
    reverse: bool = False

    def params(self, params):
        """This layer's parameters, by its cell's names, from the network's."""
        return {name: params[self.prefix + name] for name in self.cell.param_names()}


@dataclasses.dataclass(frozen=True)
class Network:
    """Levels of layers, bottom to top (hashable: compiled code is keyed by it)."""

    levels: tuple

    @classmethod
    def single(cls, cell):
        return cls(((Layer(cell),),))

    @classmethod
    def stacked(cls, cell, num_layers):
        """``num_layers`` layers of ``cell``, parameters ``rnns.<i>.<name>`` (d2l.ai 10.3)."""
        return cls(tuple((Layer(cell, f"rnns.{i}."),) for i in range(num_layers)))

    @classmethod
    def layered(cls, cell, num_layers):
        """One layer without a prefix, or ``num_layers`` stacked: a language model's network
        as the command line makes it and a checkpoint holds it."""
        return cls.single(cell) if num_layers == 1 else cls.stacked(cell, num_layers)

    @classmethod
    def bidirectional(cls, cell):
        """One forward and one backward layer, ``f_rnn.<name>`` and ``b_rnn.<name>``."""
        return cls(((Layer(cell, "f_rnn."), Layer(cell, "b_rnn.", reverse=True)),))

    @property
    def layers(self):
        return tuple(layer for level in self.levels for layer in level)

    def shapes(self, num_inputs, num_hiddens):
        """{prefixed parameter name: shape} of every layer, bottom to top."""
        shapes = {}
        for level in self.levels:
            for layer in level:
                shapes.update({layer.prefix + name: shape for name, shape in
                               layer.cell.shapes(num_inputs, num_hiddens).items()})
            num_inputs = num_hiddens * len(level)
        return shapes

    def num_outputs(self, num_hiddens):
        """The width of the top level's outputs."""
        return num_hiddens * len(self.levels[-1])

    def run(self, ops, params, inputs, states=None, caches=None):
        """``inputs`` ((T, n, d) or a list of T (n, d) arrays) through every level: ([top
        outputs of each step], [final state tuple of each layer]). ``states``: one state
        tuple per layer, or None for zeros; ``caches``, a dict, receives each layer's step
        caches (as :meth:`Cell.run` records them), keyed by layer."""
        steps = list(inputs) if isinstance(inputs, (list, tuple)) else [
            inputs[t] for t in range(ops.shape(inputs)[0])]
        states = list(states) if states is not None else [None] * len(self.layers)
        finals, index = [], 0
        for level in self.levels:
            outputs = []
            for layer in level:
                record = caches.setdefault(layer, []) if caches is not None else None
                out, final = layer.cell.run(ops, layer.params(params), steps, states[index],
                                            layer.reverse, record)
                outputs.append(out)
                finals.append(final)
                index += 1
            steps = outputs[0] if len(outputs) == 1 else [
                ops.concat(list(side_by_side), -1) for side_by_side in zip(*outputs)]
        return steps, finals

    def run_fast(self, ops, params, X_tm, states=None):
        """The fast path's time loop from token ids (T, n) through every level (each
        layer's :meth:`Cell.run_fast`: the bottom one's input terms looked up, each level
        above's one product per gate for every step): (the top level's outputs (T, n,
        width), the final state tuple of each layer, a tuple). ``states``: one state tuple
        per layer, or None for zeros."""
        inputs, finals, index = X_tm, [], 0
        for level in self.levels:
            outputs = []
            for layer in level:
                out, final = layer.cell.run_fast(ops, layer.params(params), inputs,
                                                 None if states is None else states[index],
                                                 layer.reverse)
                outputs.append(out)
                finals.append(final)
                index += 1
            inputs = outputs[0] if len(outputs) == 1 else ops.concat(outputs, -1)
        return inputs, tuple(finals)


def as_network(cell_or_network):
    return (Network.single(cell_or_network) if isinstance(cell_or_network, Cell)
            else cell_or_network)


def lm_loss_and_grads(network, ops, params, X, Y, states=None):
    """The language model's mean cross-entropy on token ids X, Y (n, T), from ``states`` (one
    state tuple per layer, as :meth:`Network.run` takes them, held fixed: a state carried
    over from the batch before, detached; None: zeros), and its gradient for every
    parameter, by back-propagation through time written out with the cells' step backward
    (d2l.ai 9.7): NumPy's reference, for any cell in any network (a :class:`Network`, or one
    cell)."""
    network = as_network(network)
    (n, T), V = ops.shape(X), ops.shape(params["W_hq"])[1]
    dtype = ops.dtype_name(params["W_hq"])
    inputs = ops.one_hot(ops.transpose(X, (1, 0)), V, dtype)       # (T, n, V)
    caches = {}
    outputs, _ = network.run(ops, params, inputs, states, caches=caches)
    H = ops.stack(outputs, 0)                                       # (T, n, h_top)
    O = ops.affine(H, params["W_hq"], params["b_q"])                # (T, n, V)
    log_p = ops.log_softmax(O)
    targets = ops.one_hot(ops.transpose(Y, (1, 0)), V, dtype)
    loss = -ops.sum(log_p * targets) / (n * T)
    dO = (ops.softmax(O, log_p) - targets) / (n * T)
    width = ops.shape(H)[-1]
    grads = {"W_hq": ops.matmul(ops.transpose(ops.reshape(H, (-1, width)), (1, 0)),
                                ops.reshape(dO, (-1, V))),
             "b_q": ops.sum(ops.reshape(dO, (-1, V)), 0)}
    dH = ops.matmul(dO, ops.transpose(params["W_hq"], (1, 0)))     # what O_t sends to H_t
    network_backward(network, ops, params, caches, [dH[t] for t in range(T)], grads)
    return loss, {name: grads[name] for name in params}


def network_backward(network, ops, params, caches, d_outputs, grads, d_finals=None):
    """Back through every level of ``network`` from the gradient of its top outputs (one
    (n, width) array per step) and, where the final states feed something else (a decoder
    started from an encoder's), ``d_finals``: one tuple like the state per layer, or None
    (zeros). The parameters' gradients are added into ``grads``; returns (dLoss/d(input) of
    each step, [dLoss/d(initial state tuple) of each layer])."""
    layers = network.layers
    d_initials = [None] * len(layers)
    for level in reversed(network.levels):
        d_inputs = None
        h = ops.shape(d_outputs[0])[-1] // len(level)
        for j, layer in enumerate(level):
            mine = d_outputs if len(level) == 1 else [d[:, j * h:(j + 1) * h] for d in d_outputs]
            index = layers.index(layer)
            d_x, d_initials[index] = layer_backward(
                ops, layer, params, caches[layer], mine, grads,
                None if d_finals is None else d_finals[index])
            d_inputs = d_x if d_inputs is None else [a + b for a, b in zip(d_inputs, d_x)]
        d_outputs = d_inputs
    return d_outputs, d_initials


def layer_backward(ops, layer, params, caches, d_outputs, grads, d_final=None):
    """Back through one layer's steps: its parameters' gradients added into ``grads`` (by
    their prefixed names); ``d_final``: the gradient reaching its final state from outside
    (None: zeros). Returns (dLoss/d(input) of each step, in time order; dLoss/d(initial
    state), a tuple like the state)."""
    cell, own = layer.cell, layer.params(params)
    T = len(d_outputs)
    n, h = ops.shape(d_outputs[0])
    dtype = ops.dtype_name(d_outputs[0])
    dstate = d_final if d_final is not None else tuple(
        ops.zeros((n, h), dtype) for _ in cell.state_names)
    order = list(range(T - 1, -1, -1)) if layer.reverse else list(range(T))  # as they ran
    d_inputs, layer_grads = [None] * T, {}
    for k in range(T - 1, -1, -1):
        t = order[k]
        dstate = (dstate[0] + d_outputs[t], *dstate[1:])
        dstate, d_inputs[t] = cell.step_backward(ops, own, caches[k], dstate, layer_grads)
    for name, value in layer_grads.items():
        grads[layer.prefix + name] = value
    return d_inputs, dstate
