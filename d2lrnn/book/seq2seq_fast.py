"""The encoder-decoder's fast path (d2l.ai 10.7), where the backend has a GRU recurrence that
takes its input side's products made (``Ops.gru_from_gates``: PyTorch's, its backward by
hand). The same function as the plain path, with fewer products:

* the first layer's input product is taken on the vocabulary, not on every token: the
  embedding table times W_x, then a lookup of each token's row (the gradient a scatter-add);
* the decoder's context, the same at every step, is multiplied by its part of W_x once, not
  at every step;
* the layers above take their inputs in one product over all steps.

Dropout between layers is drawn as the plain path draws it (the same calls, in the same
order, over the whole batch), so that one seed gives the same masks on either path, split
or not: where PyTorch computes on one intra-op thread, the recurrence runs the batch's rows
in parts forked over the cores (``torch/fused.py``'s ``parts()``, as the language model's
fused path). ``tests/test_seq2seq_fast.py``
holds the two paths equal (float64, 1e-12).
"""
from .model import is_package_model

CELL_KEY = "gru-after"  # the frameworks' GRU, which the package's Seq2Seq runs
# Whether the package's encoder and decoder take this path where they can (the tests turn it
# off to compare it with the plain path).
ENABLED = True


def applies(coder):
    """Whether ``coder`` (the package's Seq2SeqEncoder or Seq2SeqDecoder) takes this path:
    its backend has the recurrence, and it and its GRU compute the package's function (a
    method a reader replaced, ``add_to_class`` on the GRU's ``forward`` say, is run: the plain
    path calls it, this one would not)."""
    rnn = getattr(coder, "rnn", None)
    return (ENABLED and getattr(coder.ops, "gru_from_gates", None) is not None
            and rnn is not None and is_package_model(coder) and is_package_model(rnn)
            and coder.cell.key == CELL_KEY)


def run_gru(coder, ids_tm, state=None, context=None):
    """``coder``'s GRU over token ids ``ids_tm`` (T, n), checked, from ``state`` (as its
    GRU takes it; None: zeros), with ``context`` (n, h) beside every token (the decoder's):
    (outputs (T, n, h), the final state as the GRU gives it)."""
    ops, rnn = coder.ops, coder.rnn
    params = rnn.book_params
    states = rnn.initial_state(state, ops.shape(ids_tm)[1])
    outputs, finals = None, []
    for i, layer in enumerate(rnn.network.layers):
        W_x, W_h, b_ih, b_hh = rnn.cell.cudnn_weights(ops, layer.params(params))
        if i == 0:
            embed_size = coder.embed_size
            table = ops.matmul(coder.book_params["embedding"], W_x[:embed_size])
            gates = ops.embedding(table, ids_tm) + b_ih
            if context is not None:
                gates = gates + ops.matmul(context, W_x[embed_size:])[None]
        else:
            if rnn.drops:  # between layers, as the plain path (torch.nn.GRU) drops
                outputs = rnn.drop(outputs, rnn.dropout)
            gates = ops.affine(outputs, W_x, b_ih)
        outputs, final = ops.gru_from_gates(gates, states[i][0], W_h, b_hh)
        finals.append((final,))
    return outputs, rnn.book_states(finals)
