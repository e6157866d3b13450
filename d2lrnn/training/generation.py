"""Generating text with a language model (d2l.ai 9.5): greedy as the book, or sampled with a
temperature, top-k and nucleus (top-p), the same in every backend for the same weights and
seed. Greedy text from the section's models runs in compiled chunks; any other model (the
gated cells', a reader's own) is called one character at a time."""
import warnings

import numpy as np

from ..base import checks
from ..base.errors import BadArgument, BadType
from ..maths.equations import lm_forward_fast
from . import fast as fast_path

GREEDY_CHUNK = 32  # characters per call of the compiled greedy loop
# The lowest temperature that samples: below it the draw is the greedy choice in all but name
# (at 1e-3 a logit 0.01 below the largest is e^-10 as likely), and near 1e-308 the logits
# divided by it overflow (a temperature of 1e-310 gave NaN probabilities).
MIN_TEMPERATURE = 1e-3


class _Temperature(checks.Real):
    def holds(self, value):
        return super().holds(value) and (value == 0 or value >= MIN_TEMPERATURE)


# What sampling takes, each rule once (``d2lrnn generate``'s options are made from them).
TEMPERATURE = _Temperature(least=0, words=f"a finite number, 0 (greedy) or >= "
                                          f"{MIN_TEMPERATURE:g} (lower ones sample the "
                                          f"greedy choice)")
NUM_PREDS = checks.Whole(0)
TOP_K = checks.OrNone(checks.Whole(1))
TOP_P = checks.OrNone(checks.Real(above=0, most=1, words="a probability in (0, 1]"))
SEED = checks.OrNone(checks.Whole(0))


def check_sampling(num_preds, temperature, top_k, top_p, seed=None):
    """Check :meth:`RNNLMScratch.predict`'s arguments; True when they ask for sampling."""
    temperature = TEMPERATURE.check(temperature, "temperature", "predict")
    for rule, value, name in ((NUM_PREDS, num_preds, "num_preds"), (TOP_K, top_k, "top_k"),
                              (TOP_P, top_p, "top_p"), (SEED, seed, "seed")):
        rule.check(value, name, "predict")
    if temperature == 0 and (top_k is not None or top_p is not None):
        raise BadArgument("predict: top_k and top_p choose among sampled characters; give a "
                         "temperature > 0 as well (e.g. temperature=1)")
    return temperature > 0


def check_prefix(lm, prefix, vocab):
    """Check the prefix and the vocabulary :func:`predict` is given for the model ``lm``."""
    if not (isinstance(prefix, str) or isinstance(prefix, (list, tuple)) and all(
            isinstance(token, str) for token in prefix)):
        raise BadType(f"predict: the prefix must be text (or a list of tokens), got "
                      f"{type(prefix).__name__} {prefix!r:.40}")
    if not prefix:
        raise BadArgument("predict: the prefix must hold at least one character")
    if not (hasattr(vocab, "token_to_idx") and hasattr(vocab, "idx_to_token")):
        raise BadType(f"predict: vocab must be the vocabulary the model was trained with "
                      f"(data.vocab), got {type(vocab).__name__}")
    if len(vocab) != lm.vocab_size:
        raise BadArgument(f"predict: the vocabulary has {len(vocab)} tokens but the model "
                         f"was built for {lm.vocab_size}")


def choose(logits, temperature, rng, top_k=None, top_p=None):
    """The next token from float64 ``logits`` (V,): the argmax when ``temperature`` is 0,
    else a draw from softmax(logits / temperature) restricted to the ``top_k`` largest
    and to the smallest set of tokens whose probability reaches ``top_p``."""
    if temperature == 0:
        return int(np.argmax(logits))
    z = logits / temperature
    if top_k is not None and top_k < len(z):
        z = np.where(z >= np.sort(z)[-top_k], z, -np.inf)
    p = np.exp(z - z.max())
    p /= p.sum()
    if top_p is not None and top_p < 1:
        order = np.argsort(-p, kind="stable")
        # keep each token until the ones before it already reach top_p
        keep = np.cumsum(p[order]) - p[order] < top_p
        kept = np.zeros_like(p)
        kept[order[keep]] = p[order[keep]]
        p = kept / kept.sum()
    return int(rng.choice(len(p), p=p))


def predict(lm, prefix, num_preds, vocab, *, temperature=0.0, top_k=None, top_p=None,
            seed=None, fast=True):
    """Continue ``prefix`` by ``num_preds`` characters with the language model ``lm``
    (d2l.ai section 9.5).

    ``temperature=0`` picks the most likely character each step (greedy, as the book);
    a positive temperature samples from softmax(O / temperature), among the ``top_k``
    most likely characters and/or the smallest set whose probability reaches ``top_p``
    (nucleus sampling), with a NumPy generator seeded by ``seed`` (the same choices in
    every backend for the same weights). ``'<unk>'`` is never chosen. Characters of
    ``prefix`` missing from ``vocab`` are read as ``'<unk>'``, with a warning. ``fast``: the
    model's fast path where it has one (True: chosen here, once), the
    :class:`~d2lrnn.training.fast.FastPath` a caller chose for it (``d2lrnn train``'s, for
    its samples), or False: the model called as it is, a character at a time.
    """
    return "".join(stream(lm, prefix, num_preds, vocab, temperature=temperature, top_k=top_k,
                          top_p=top_p, seed=seed, fast=fast))


def warn_unknown_characters(prefix, vocab, who, stacklevel):
    """Characters of ``prefix`` missing from ``vocab`` are read as ``'<unk>'``, as the book's
    ``vocab[...]`` reads them, with a warning that names them (both editions' predictions)."""
    unknown = sorted({c for c in prefix if c not in vocab.token_to_idx})
    if unknown:
        cased = any(c.lower() in vocab.token_to_idx for c in unknown if c != c.lower())
        warnings.warn(f"{who}: {unknown} are not in the vocabulary; read as '<unk>'" + (
            f" (its letters are lower case: try the prefix {prefix.lower()!r})" if cased
            else ""), stacklevel=stacklevel)


def stream(lm, prefix, num_preds, vocab, *, temperature=0.0, top_k=None, top_p=None,
           seed=None, fast=True):
    """:func:`predict`'s text as it is made: the prefix, then the new characters a chunk at
    a time (``GREEDY_CHUNK`` of them, or one where each is sampled)."""
    sampling = check_sampling(num_preds, temperature, top_k, top_p, seed)
    check_prefix(lm, prefix, vocab)
    warn_unknown_characters(prefix, vocab, "predict", stacklevel=5)
    ops, rng = lm.ops, np.random.default_rng(seed)
    step, params, state, path = generation_step(lm, fast)
    if params is not None:  # the package's model: its weights checked once (a few KB)
        bad = sorted(k for k, v in params.items() if not np.isfinite(ops.to_numpy(v)).all())
        if bad:
            raise BadArgument(f"predict: the model's {', '.join(bad)} hold NaN or infinite "
                             f"values (set in place, or a diverged run): nothing to generate")

    def feed(token, state):  # one token in -> the next token's logits, the new state
        return step(params, ops.asarray([[token]], "int64"), state)

    outputs = list(vocab[list(prefix)])
    yield "".join(vocab.idx_to_token[i] for i in outputs)
    made, last = 0, outputs[-1]
    with ops.no_grad():
        for token in outputs[:-1]:  # warm-up: read the prefix into the state
            _, state = feed(token, state)
        if not sampling and params is not None:  # the section's model, greedy
            for chosen, state in greedy(lm, path, params, last, state, num_preds, vocab.unk):
                made += len(chosen)
                last = chosen[-1]
                yield "".join(vocab.idx_to_token[i] for i in chosen)
        while made < num_preds:
            logits, state = feed(last, state)
            logits = ops.to_numpy(logits).astype(np.float64)
            if not np.isfinite(logits).all():
                raise BadArgument("predict: the model's outputs hold NaN or infinite values "
                                 "(its parameters are not finite, or overflow): nothing "
                                 "more to generate")
            logits[vocab.unk] = -np.inf  # the reserved token is never generated
            last = int(choose(logits, temperature, rng, top_k, top_p))
            made += 1
            yield vocab.idx_to_token[last]


def greedy(lm, path, params, token, state, num_preds, unk):
    """``num_preds`` greedy choices after ``token`` (never ``unk``), chosen in the
    framework without a trip to Python per character: ``GREEDY_CHUNK`` steps per
    (compiled) call of the fast ``path``. Yields (the chunk's token ids, the state after)."""
    ops, recurrence = lm.ops, path.recurrence

    def greedy_chunk(params, token, state, mask):
        chosen = []
        for _ in range(GREEDY_CHUNK):
            logits, state = lm_forward_fast(ops, params, token, state, recurrence)
            token = ops.reshape(ops.argmax(logits + mask, -1), (1, 1))
            chosen.append(token)
        return ops.concat(chosen, 0), token, state

    chunk = ops.cached(("greedy", ops.kind(recurrence)), lambda: greedy_chunk)
    mask = np.zeros(lm.vocab_size)
    mask[unk] = -np.inf
    mask = ops.asarray(mask, lm.dtype)
    token, left = ops.asarray([[token]], "int64"), num_preds
    while left > 0:
        ids, token, state = chunk(params, token, state, mask)
        chosen = [int(i) for i in ops.to_numpy(ids).reshape(-1)][:left]
        left -= len(chosen)
        yield chosen, state


def generation_step(lm, fast=True):
    """``(step, params, H_0, path)``: ``step(params, one token id (1, 1), state) -> (logits
    (V,), state)``, the fast forward of the model's fast path (``fast`` as :func:`predict`
    takes it; compiled where the framework compiles), or where it has none (a reader's own
    model) the model called as it is (then params and path are None); H_0 is None, zeros."""
    ops = lm.ops
    try:
        path = fast_path.requested(lm, fast, "predict")
    except BadType:  # a reader's own model, or one without a fast path: called as it is
        path = None
    if path is None:
        def step(params, x, state):
            returned = lm.rnn(ops.one_hot(x, lm.vocab_size, lm.dtype), state)
            if not (isinstance(returned, (tuple, list)) and len(returned) == 2) or \
                    returned[1] is None:  # each character would start from zeros
                got = "no state (None)" if isinstance(returned, (tuple, list)) and \
                    len(returned) == 2 else f"a {type(returned).__name__}"
                raise BadType(f"predict: {type(lm.rnn).__name__}(inputs, state) returned "
                              f"{got}; generating carries the state from one character to "
                              f"the next: return (outputs, state), as the book's "
                              f"RNNScratch.forward does")
            rnn_outputs, state = returned
            return lm.output_layer(rnn_outputs)[0, -1], state
        return step, None, None, None
    recurrence = path.recurrence

    def fast_step(params, x, state):
        logits, state = lm_forward_fast(ops, params, x, state, recurrence)
        return logits[0, 0], state
    return (ops.cached(("generate", ops.kind(recurrence)), lambda: fast_step),
            lm.book_params, None, path)  # the state None: zeros (every layer's)
