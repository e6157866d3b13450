"""Decoding a sequence from a decoder, written once for every backend: greedy search (the
book's ``EncoderDecoder.predict_step``, d2l.ai 10.7), beam search and exhaustive search (10.8).

Every search takes the decoder as one step, ``step(state, token_ids) -> (log_probs, state)``:
token ids (n,) of the previous output of n sequences, their log-probabilities over the target
vocabulary (n, V) and the state after the step. A backend computes only that step, in its own
arrays (``ops``: ids go in as its arrays, log-probabilities come out as NumPy float64 and the
state's rows are chosen by ``ops.take_rows``; without ``ops``, NumPy arrays); the search, its
scores and its choices are this code, so every backend gives the same sequences and scores.
A state is an array, or a tuple, list or dict of them, each with the sequences on axis 0.

What a candidate is, written once for the three searches (:class:`Candidate`): the tokens
after ``<bos>`` up to ``<eos>``, which ends it (``ended``), or up to ``num_steps`` tokens
where none came. Its log-probability sums the log-probabilities of the tokens the decoder
produced for it, its ``<eos>`` included: the probability of this output and of stopping
there. Its length L counts those same tokens (the terms of the sum, ``<eos>`` included: the
book's L is the number of terms in log P(y_1, ..., y_L | c), and a candidate that is only
``<eos>`` has L = 1, not 0); its score is log P / L^α with the book's α = 0.75. The translation
shown is ``tokens``, without ``<eos>``, as the book's cells cut it.

Ties are broken the same way everywhere, by the candidates themselves: a higher score
first; then the shorter; then the token ids in lexicographic order (the smaller first). In beam
search, the extensions kept at each step are ranked by their log-probability, ties by the same
lexicographic order of their tokens; greedy search takes the argmax of the same sums (the
smallest id among equal ones), so a beam of 1 is greedy search exactly.
"""
import dataclasses
import itertools

import numpy as np

from ..base import checks
from ..base.errors import BadArgument

# The book's α (10.8): the length normalisation of beam search's final score.
ALPHA = 0.75

# Exhaustive search enumerates every sequence: refused beyond this many.
MAX_EXHAUSTIVE = 100_000


@dataclasses.dataclass(frozen=True)
class Candidate:
    """One output sequence: ``tokens`` (ids, without ``<eos>``), its log-probability (float64),
    whether ``<eos>`` ended it, and its length L (see the module's docstring)."""

    tokens: tuple
    log_prob: float
    ended: bool

    @property
    def length(self):
        return len(self.tokens) + self.ended

    def score(self, alpha=ALPHA):
        """log P / L^α (d2l.ai 10.8)."""
        return self.log_prob / self.length ** alpha

    def rank(self, alpha=ALPHA):
        """The order of the best first: higher score, then shorter, then smaller ids."""
        return (-self.score(alpha), self.length, self.tokens)


def best_first(candidates, alpha=ALPHA):
    """``candidates`` sorted by :meth:`Candidate.rank`, the best first."""
    return sorted(candidates, key=lambda c: c.rank(alpha))


class _Decoder:
    """A step as the searches call it: NumPy token ids in, NumPy float64 log-probabilities out,
    the state's rows chosen by ``select``."""

    def __init__(self, step, ops, vocab_ids):
        self.step_fn, self.ops, self.vocab_ids = step, ops, vocab_ids

    def step(self, state, ids):
        ids = np.asarray(ids, dtype=np.int64)
        log_probs, state = self.step_fn(
            state, ids if self.ops is None else self.ops.asarray(ids, "int64"))
        log_probs = np.asarray(log_probs if self.ops is None else self.ops.to_numpy(log_probs),
                               dtype=np.float64)
        if log_probs.ndim != 2 or log_probs.shape[0] != len(ids):
            raise BadArgument(f"a decoder step must give log-probabilities (sequences, "
                              f"vocabulary) for its {len(ids)} sequences; got the shape "
                              f"{log_probs.shape}")
        for name, token in self.vocab_ids.items():
            if token >= log_probs.shape[1]:
                raise BadArgument(f"{name} is token {token}, outside the decoder's vocabulary "
                                  f"of {log_probs.shape[1]}")
        return log_probs, state

    def select(self, state, rows):
        """The state of the sequences ``rows`` (a 1-D array of row numbers, repeats allowed)."""
        if isinstance(state, dict):
            return {key: self.select(value, rows) for key, value in state.items()}
        if isinstance(state, (tuple, list)):
            return type(state)(self.select(value, rows) for value in state)
        return state[rows] if self.ops is None else self.ops.take_rows(state, rows)


def _checked(where, num_steps, **token_ids):
    num_steps = checks.whole(num_steps, "num_steps", where)
    ids = {name: checks.whole(token, name, where, least=0) for name, token in token_ids.items()}
    return num_steps, ids


def greedy(step, state, *, bos, eos, num_steps, ops=None):
    """Greedy search for each of the n sequences ``state`` holds (the book's ``predict_step``):
    from ``<bos>``, feed back the most probable token until ``<eos>`` or ``num_steps`` tokens.
    Returns a :class:`Candidate` per sequence, in order. (The book's loop runs all
    ``num_steps`` and its cells cut the output at ``<eos>``: the same tokens; this one stops
    once every sequence has ended.)"""
    num_steps, ids = _checked("greedy", num_steps, bos=bos, eos=eos)
    decoder = _Decoder(step, ops, ids)
    n = _batch_size(state)
    tokens, log_p = [[] for _ in range(n)], np.zeros(n)
    ended, previous = np.zeros(n, bool), np.full(n, ids["bos"], np.int64)
    for _ in range(num_steps):
        log_probs, state = decoder.step(state, previous)
        totals = log_p[:, None] + log_probs  # the sums beam search ranks, so beam 1 = greedy
        previous = np.argmax(totals, axis=1)
        for i in np.flatnonzero(~ended):
            log_p[i] = totals[i, previous[i]]
            if previous[i] == ids["eos"]:
                ended[i] = True
            else:
                tokens[i].append(int(previous[i]))
        if ended.all():
            break
    return [Candidate(tuple(t), float(p), bool(e)) for t, p, e in zip(tokens, log_p, ended)]


def beam_search(step, state, *, bos, eos, num_steps, beam_size, alpha=ALPHA, ops=None):
    """Beam search (d2l.ai 10.8) for the one sequence ``state`` holds: at the first step the
    ``beam_size`` most probable tokens; at each next one, the ``beam_size`` most probable
    extensions of the sequences still going, among all their extensions by every token. An
    extension by ``<eos>`` is a finished candidate and is not extended; so are the sequences
    going after ``num_steps`` tokens. Returns every candidate, the best first
    (:func:`best_first`: score log P / L^``alpha``)."""
    num_steps, ids = _checked("beam_search", num_steps, bos=bos, eos=eos)
    beam_size = checks.whole(beam_size, "beam_size", "beam_search")
    decoder = _Decoder(step, ops, ids)
    if _batch_size(state) != 1:
        raise BadArgument(f"beam search decodes one sequence at a time; the state holds "
                          f"{_batch_size(state)} (decode each source on its own)")
    going = [((), 0.0)]  # (tokens, log-probability) of the sequences still going
    previous, finished = np.array([ids["bos"]]), []
    for _ in range(num_steps):
        log_probs, state = decoder.step(state, previous)
        totals = np.array([p for _, p in going])[:, None] + log_probs
        parents, tokens = np.divmod(np.arange(totals.size), totals.shape[1])
        lexicographic = _lexicographic_ranks([t for t, _ in going])
        order = np.lexsort((tokens, lexicographic[parents], -totals.ravel()))[:beam_size]
        kept = []
        for index in order:
            parent, token = parents[index], int(tokens[index])
            extended = (going[parent][0], float(totals.flat[index]))
            if token == ids["eos"]:
                finished.append(Candidate(extended[0], extended[1], True))
            else:
                kept.append((parent, (extended[0] + (token,), extended[1])))
        if not kept:
            going = []
            break
        rows = np.array([parent for parent, _ in kept])
        going = [sequence for _, sequence in kept]
        state, previous = decoder.select(state, rows), np.array([t[-1] for t, _ in going])
    finished += [Candidate(tokens, log_p, False) for tokens, log_p in going]
    return best_first(finished, alpha)


def _lexicographic_ranks(sequences):
    """The rank of each sequence (tuples of ids) in lexicographic order."""
    ranks = np.empty(len(sequences), np.int64)
    ranks[sorted(range(len(sequences)), key=lambda i: sequences[i])] = np.arange(len(sequences))
    return ranks


def exhaustive_search(step, state, *, bos, eos, num_steps, alpha=ALPHA, ops=None):
    """Every output sequence of up to ``num_steps`` tokens (d2l.ai 10.8), each computed on its
    own from ``state`` (one sequence), scored as beam search scores: the oracle beam search is
    tested against. Returns every candidate, the best first. Refused where the vocabulary and
    ``num_steps`` make more than ``MAX_EXHAUSTIVE`` sequences."""
    num_steps, ids = _checked("exhaustive_search", num_steps, bos=bos, eos=eos)
    decoder = _Decoder(step, ops, ids)
    first, _ = decoder.step(state, [ids["bos"]])
    vocab = first.shape[1]
    if vocab ** num_steps > MAX_EXHAUSTIVE:
        raise BadArgument(f"exhaustive search over {vocab} tokens and {num_steps} steps is "
                          f"{vocab}^{num_steps} sequences, more than {MAX_EXHAUSTIVE}: use "
                          f"beam_search")
    candidates = []
    for length in range(1, num_steps + 1):
        for body in itertools.product([t for t in range(vocab) if t != ids["eos"]],
                                      repeat=length - 1):
            ends = [ids["eos"]] if length < num_steps else list(range(vocab))
            for last in ends:
                sequence = (*body, last)
                candidates.append(_scored(decoder, state, ids, sequence))
    return best_first(candidates, alpha)


def _scored(decoder, state, ids, sequence):
    """The candidate of one whole output ``sequence``, the decoder run along it."""
    log_p, previous = 0.0, ids["bos"]
    for token in sequence:
        log_probs, state = decoder.step(state, [previous])
        log_p, previous = log_p + log_probs[0, token], token
    ended = sequence[-1] == ids["eos"]
    return Candidate(tuple(sequence[:-1]) if ended else tuple(sequence), float(log_p), ended)


def _batch_size(state):
    """The number of sequences a state holds (its first array's rows)."""
    while isinstance(state, (tuple, list, dict)):
        state = next(iter(state.values() if isinstance(state, dict) else state))
    return int(state.shape[0])
