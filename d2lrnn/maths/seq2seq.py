"""The RNN encoder–decoder of d2l.ai 10.7 (Sequence-to-Sequence Learning), written once against
the array adapter: NumPy's reference (float64 and float32) that every backend's ``Seq2Seq`` is
held to, forward and backward.

The model, as the book's ``Seq2SeqEncoder``, ``Seq2SeqDecoder`` and ``Seq2Seq`` compute it:

* the encoder looks up each source token's embedding and runs a GRU of ``num_layers`` layers
  over every step of the source, padding included (the book's encoder ignores the valid
  lengths);
* the decoder starts from the encoder's final state, every layer's, and its input at each step
  is the embedded target token followed by the context, the encoder's top layer's final state
  (the same at every step);
* a dense layer maps the decoder's top outputs to the target vocabulary;
* the loss is the book's ``Seq2Seq.loss``: softmax cross-entropy per token, the tokens whose
  label is ``<pad>`` masked, summed and divided by the number of unmasked tokens.

The parameters are one flat dict by the names every backend's ``Seq2Seq.get_params()`` gives
(X @ W orientation, as the package's RNNs): ``encoder.embedding`` (source vocabulary x
embed_size), ``encoder.rnn.rnns.<i>.<GRU name>``, ``decoder.embedding``,
``decoder.rnn.rnns.<i>.<GRU name>`` (layer 0's inputs: embed_size + num_hiddens, the token's
embedding first) and ``decoder.dense.W`` (num_hiddens x target vocabulary), ``decoder.dense.b``.
The GRU is either function of :mod:`d2lrnn.cells.gru` (``reset="before"``, the book's scratch
GRU; ``reset="after"``, the frameworks' layers, with ``b_hh``), its step and step backward
reused here through :mod:`d2lrnn.cells.network`.

Dropout is off: the reference computes the model in evaluation mode, and parity runs with
``dropout=0`` (a framework's dropout draws its own random masks, which no other framework can
reproduce).

Entry points: :func:`loss_and_grads` (the parity table, training with Adam:
:mod:`d2lrnn.training.adam`), :func:`loss`, :func:`forward`, and for decoding
(:mod:`d2lrnn.training.decoding`) :func:`encode` and :func:`decoder_step`.
"""
import collections

from ..base import checks
from ..base.errors import BadArgument, BadKey
from ..cells import CELLS, VARIANTS, Layer, Network
from ..cells.network import network_backward
from .equations import pick_tokens


def rnn_prefix(side, layer):
    """The prefix of a layer's GRU parameters: ``encoder.rnn.rnns.0.``."""
    return f"{side}.rnn.rnns.{layer}."


Sizes = collections.namedtuple(
    "Sizes", "src_vocab_size tgt_vocab_size embed_size num_hiddens num_layers")


def param_shapes(src_vocab_size, tgt_vocab_size, embed_size, num_hiddens, num_layers,
                 reset="after"):
    """{name: shape} of every parameter, in the order ``get_params()`` gives them."""
    shapes = {}
    for side, vocab, inputs in (("encoder", src_vocab_size, embed_size),
                                ("decoder", tgt_vocab_size, embed_size + num_hiddens)):
        shapes[f"{side}.embedding"] = (vocab, embed_size)
        shapes.update(network(side, num_layers, reset).shapes(inputs, num_hiddens))
    shapes["decoder.dense.W"] = (num_hiddens, tgt_vocab_size)
    shapes["decoder.dense.b"] = (tgt_vocab_size,)
    return shapes


def draw_params(shapes, rng, dtype="float64", scale=0.5):
    """NumPy parameters of ``shapes`` drawn uniformly from (-scale, scale) by the NumPy
    Generator ``rng``: the inputs of the tests and of the parity table."""
    return {name: rng.uniform(-scale, scale, shape).astype(dtype)
            for name, shape in shapes.items()}


def network(side, num_layers, reset):
    """The GRU of the encoder or the decoder as a :class:`~d2lrnn.cells.Network` whose layers
    read their parameters by the flat dict's names."""
    cell = VARIANTS[f"gru-{CELLS['gru'].checked_value(reset)}"]
    return Network(tuple((Layer(cell, rnn_prefix(side, i)),) for i in range(num_layers)))


def sizes(ops, params, reset):
    """The model's sizes, read from ``params``, which must hold every parameter in its shape
    (one line naming the first that does not)."""
    for name in ("encoder.embedding", "decoder.embedding", rnn_prefix("encoder", 0) + "W_hz"):
        if name not in params:
            raise BadKey(f"the encoder-decoder's parameters have no {name!r} (they are named "
                         f"as Seq2Seq.get_params() names them)")
    src_vocab, embed = ops.shape(params["encoder.embedding"])
    num_hiddens = ops.shape(params[rnn_prefix("encoder", 0) + "W_hz"])[0]
    num_layers = 0
    while rnn_prefix("encoder", num_layers) + "W_hz" in params:
        num_layers += 1
    found = Sizes(src_vocab, ops.shape(params["decoder.embedding"])[0], embed, num_hiddens,
                  num_layers)
    expected = param_shapes(*found, reset=reset)
    for name, shape in expected.items():
        if name not in params or tuple(ops.shape(params[name])) != shape:
            got = "is missing" if name not in params else f"is {ops.shape(params[name])}"
            raise BadArgument(f"the encoder-decoder's parameter {name!r} {got}; a model with "
                              f"reset={reset!r} and sizes {found._asdict()} needs {shape}")
    extra = sorted(set(params) - set(expected))
    if extra:
        raise BadArgument(f"the encoder-decoder has no parameter named {extra[0]!r} (with "
                          f"reset={reset!r}; its names: Seq2Seq.get_params())")
    return found


def encode(ops, params, src, *, reset, caches=None):
    """The encoder over token ids ``src`` (n, T_src): the decoder's initial state, a tuple
    (context (n, h), H of each layer (n, h) ...), every entry batch-first. ``caches``, a dict,
    receives the steps' caches for the backward pass."""
    size = sizes(ops, params, reset)
    embedded = ops.embedding(params["encoder.embedding"], ops.transpose(src, (1, 0)))
    _, finals = network("encoder", size.num_layers, reset).run(ops, params, embedded,
                                                                caches=caches)
    return (finals[-1][0], *(H for H, in finals))


def _decode(ops, params, state, tgt_in, reset, caches=None):
    """Teacher forcing: the decoder from ``state`` (:func:`encode`) over the target's input ids
    (n, T): the top layer's outputs (T, n, h)."""
    context, *layers = state
    embedded = ops.embedding(params["decoder.embedding"], ops.transpose(tgt_in, (1, 0)))
    inputs = [ops.concat([embedded[t], context], -1) for t in range(ops.shape(embedded)[0])]
    outputs, _ = network("decoder", len(layers), reset).run(
        ops, params, inputs, [(H,) for H in layers], caches)
    return ops.stack(outputs, 0)


def forward(ops, params, src, tgt_in, *, reset):
    """The logits (n, T, target vocabulary), batch-major as the book's decoder gives them."""
    H = _decode(ops, params, encode(ops, params, src, reset=reset), tgt_in, reset)
    logits = ops.affine(H, params["decoder.dense.W"], params["decoder.dense.b"])
    return ops.transpose(logits, (1, 0, 2))


def masked_loss(ops, logits_tm, label_tm, pad):
    """The book's loss on time-major logits (T, n, V) and labels (T, n): (the loss, log
    softmax, the labels one-hot, the mask (T, n, 1), the number of unmasked tokens)."""
    V = ops.shape(logits_tm)[-1]
    pad = checks.whole(pad, "pad", "the masked loss", least=0, most=V - 1)
    log_p = ops.log_softmax(logits_tm)
    targets = ops.one_hot(label_tm, V, ops.dtype_name(logits_tm))
    mask = 1 - targets[:, :, pad:pad + 1]  # 0 where the label is <pad>
    count = ops.sum(mask)
    if ops.is_concrete(count) and float(ops.to_numpy(count)) == 0:
        raise BadArgument("every label of the batch is <pad>: the masked loss divides by the "
                          "number of real tokens, 0 here (give each pair at least <eos>)")
    nll = -pick_tokens(ops, log_p, label_tm)
    return ops.sum(nll * ops.reshape(mask, ops.shape(nll))) / count, log_p, targets, mask, count


def loss(ops, params, batch, *, reset, pad):
    """The book's masked loss on a batch ``(src, tgt_in, src_valid_len, label)``."""
    (src, tgt_in, _, label), _ = checked_batch(ops, params, batch, reset)
    H = _decode(ops, params, encode(ops, params, src, reset=reset), tgt_in, reset)
    logits = ops.affine(H, params["decoder.dense.W"], params["decoder.dense.b"])
    return masked_loss(ops, logits, ops.transpose(label, (1, 0)), pad)[0]


def loss_and_grads(ops, params, batch, *, reset, pad):
    """The book's masked loss on a batch ``(src, tgt_in, src_valid_len, label)`` (token ids
    (n, steps); the valid lengths are not used, as the book's encoder does not) and its
    gradient for every parameter, written out by hand: back through the dense layer, the
    decoder's steps (its inputs' gradients split into the embedding's and the context's), into
    the encoder's final states (each layer's from the decoder's initial state, the top one's
    from the context too), back through the encoder, into both embeddings. ``reset``: the
    GRU's function ("before": the book's scratch GRU; "after": the frameworks' layers);
    ``pad``: the target vocabulary's ``<pad>`` id. Returns (loss, {name: gradient}) in the
    order of ``params``."""
    (src, tgt_in, _, label), size = checked_batch(ops, params, batch, reset)
    enc_caches, dec_caches = {}, {}
    state = encode(ops, params, src, reset=reset, caches=enc_caches)
    H = _decode(ops, params, state, tgt_in, reset, dec_caches)
    W = params["decoder.dense.W"]
    logits = ops.affine(H, W, params["decoder.dense.b"])
    value, log_p, targets, mask, count = masked_loss(ops, logits, ops.transpose(label, (1, 0)),
                                                     pad)
    dO = (ops.softmax(logits, log_p) - targets) * mask / count        # (T, n, V)
    T, n, V = ops.shape(dO)
    h, E = size.num_hiddens, size.embed_size
    grads = {"decoder.dense.W": ops.matmul(ops.transpose(ops.reshape(H, (-1, h)), (1, 0)),
                                           ops.reshape(dO, (-1, V))),
             "decoder.dense.b": ops.sum(ops.reshape(dO, (-1, V)), 0)}
    dH = ops.matmul(dO, ops.transpose(W, (1, 0)))
    d_inputs, d_initials = network_backward(network("decoder", size.num_layers, reset), ops,
                                            params, dec_caches, [dH[t] for t in range(T)], grads)
    d_embedded = ops.stack([d[:, :E] for d in d_inputs], 0)           # (T, n, E)
    d_context = d_inputs[0][:, E:]
    for d in d_inputs[1:]:
        d_context = d_context + d[:, E:]
    grads["decoder.embedding"] = ops.embedding_grad(
        ops.reshape(ops.transpose(tgt_in, (1, 0)), (-1,)), ops.reshape(d_embedded, (-1, E)),
        size.tgt_vocab_size)
    d_finals = list(d_initials)
    d_finals[-1] = (d_finals[-1][0] + d_context, *d_finals[-1][1:])
    T_src = ops.shape(src)[1]
    nothing = [ops.zeros((n, h), ops.dtype_name(W))] * T_src  # the outputs feed nothing else
    d_src, _ = network_backward(network("encoder", size.num_layers, reset), ops, params,
                                enc_caches, nothing, grads, d_finals)
    grads["encoder.embedding"] = ops.embedding_grad(
        ops.reshape(ops.transpose(src, (1, 0)), (-1,)),
        ops.reshape(ops.stack(d_src, 0), (-1, E)), size.src_vocab_size)
    return value, {name: grads[name] for name in params}


def checked_batch(ops, params, batch, reset):
    """``batch`` as ``(src, tgt_in, src_valid_len, label)``, each checked (ids (n, steps) within
    the vocabularies, ``tgt_in`` and ``label`` of one shape, one batch size), and the model's
    :class:`Sizes`."""
    if not isinstance(batch, (tuple, list)) or len(batch) != 4:
        raise BadArgument(f"a batch is (src, tgt_in, src_valid_len, label), as MTFraEng gives "
                          f"it; got a {type(batch).__name__} that is not four arrays")
    src, tgt_in, valid_len, label = batch
    size = sizes(ops, params, reset)
    shapes = [ops.shape(x) for x in (src, tgt_in, label)]
    if any(len(s) != 2 for s in shapes) or shapes[1] != shapes[2] or \
            len({s[0] for s in shapes}) != 1:
        raise BadArgument(f"src, tgt_in and label must be token ids (batch_size, num_steps), "
                          f"tgt_in and label of one shape; got {shapes[0]}, {shapes[1]}, "
                          f"{shapes[2]}")
    for name, ids, vocab in (("src", src, size.src_vocab_size),
                             ("tgt_in", tgt_in, size.tgt_vocab_size),
                             ("label", label, size.tgt_vocab_size)):
        if not ops.dtype_name(ids).startswith(("int", "uint")):
            raise BadArgument(f"{name} must hold token ids (integers), not "
                              f"{ops.dtype_name(ids)}")
        values = ops.to_numpy(ids) if ops.is_concrete(ids) else None
        outside = [] if values is None else values[(values < 0) | (values >= vocab)]
        if len(outside):
            raise BadArgument(f"{name} holds the token id {int(outside[0])}, outside its "
                              f"vocabulary of {vocab} (ids 0 to {vocab - 1})")
    return (src, tgt_in, valid_len, label), size


def decoder_step(ops, params, *, reset):
    """One step of the decoder as the searches take it (:mod:`d2lrnn.training.decoding`):
    ``step(state, token_ids (n,)) -> (log-probabilities (n, target vocabulary), state)``,
    ``state`` as :func:`encode` gives it (every entry batch-first)."""
    size = sizes(ops, params, reset)
    layers = network("decoder", size.num_layers, reset).layers

    def step(state, token_ids):
        context, *hidden = state
        X = ops.concat([ops.embedding(params["decoder.embedding"], token_ids), context], -1)
        new = []
        for layer, H in zip(layers, hidden):
            (X,), _ = layer.cell.step(ops, layer.params(params), X, (H,))
            new.append(X)
        logits = ops.affine(X, params["decoder.dense.W"], params["decoder.dense.b"])
        return ops.log_softmax(logits), (context, *new)
    return step


__all__ = ["Sizes", "checked_batch", "decoder_step", "draw_params", "encode", "forward", "loss",
           "loss_and_grads", "masked_loss", "param_shapes", "sizes"]
