"""Decoding written once (d2lrnn.training.decoding, d2l.ai 10.7-10.8): beam search with a beam
that covers every sequence is exhaustive search, a beam of one is greedy search, ties go the
same way every time, a search where greedy is not the most likely sequence, the encoder-
decoder's reference decoded in every backend's arrays, and bad arguments in one line."""
import math

import numpy as np
import pytest

from d2lrnn.base.errors import BadArgument
from d2lrnn.maths import seq2seq
from d2lrnn.numpy.ops import ops as numpy_ops
from d2lrnn.tools.parity import TOLERANCE
from d2lrnn.training.decoding import (ALPHA, Candidate, beam_search, exhaustive_search,
                                      greedy)


def table_decoder(vocab, seed, rows=997):
    """A decoder whose next-token distribution depends on the whole output so far: the state
    is a number per sequence that folds in each token, and picks a row of a random table.
    Each sequence's numbers are computed on their own, so a batch changes nothing."""
    logits = np.random.default_rng(seed).normal(scale=2.0, size=(rows, vocab))
    log_probs = logits - np.log(np.exp(logits).sum(1, keepdims=True))

    def step(state, token_ids):
        state = (state * (vocab + 1) + token_ids + 1) % rows
        return log_probs[state], state
    return step


def as_tuples(candidates):
    return [(c.tokens, c.log_prob, c.ended) for c in candidates]


@pytest.mark.parametrize("seed", range(5))
def test_a_beam_that_covers_every_sequence_is_exhaustive_search(seed):
    vocab, eos, steps = 4, 3, 4
    step, start = table_decoder(vocab, seed), np.zeros(1, np.int64)
    everything = exhaustive_search(step, start, bos=0, eos=eos, num_steps=steps)
    beam = beam_search(step, start, bos=0, eos=eos, num_steps=steps, beam_size=vocab ** steps)
    # every output of up to 4 tokens: ended by <eos> after 0-3 others, or 4 without one
    assert len(everything) == sum(3 ** k for k in range(steps)) + 3 ** steps
    assert as_tuples(beam) == as_tuples(everything)  # the same candidates, scores and order
    narrow = beam_search(step, start, bos=0, eos=eos, num_steps=steps, beam_size=2)
    assert narrow[0].score() <= everything[0].score()
    assert len(narrow) < len(everything)


@pytest.mark.parametrize("seed", range(5))
def test_a_beam_of_one_is_greedy_search(seed):
    vocab, eos, steps = 6, 2, 7
    step = table_decoder(vocab, seed)
    starts = np.arange(4, dtype=np.int64)  # four sequences at once for greedy
    greedy_all = greedy(step, starts, bos=1, eos=eos, num_steps=steps)
    for start, by_greedy in zip(starts, greedy_all):
        beam = beam_search(step, start[None], bos=1, eos=eos, num_steps=steps, beam_size=1)
        assert as_tuples(beam) == as_tuples([by_greedy])
        alone, = greedy(step, start[None], bos=1, eos=eos, num_steps=steps)
        assert alone == by_greedy


def decoder_of(table):
    """A decoder given by a table: prefix (tuple of ids) -> probabilities of the next token;
    a prefix not in the table gives ``table[None]``. The state is the tokens fed so far, a row
    of ids per sequence (<bos> first, -1 where none came yet)."""
    def step(state, token_ids):
        state = state.copy()
        probs = []
        for row, token in zip(state, token_ids):
            row[np.argmax(row < 0)] = token
            prefix = tuple(int(t) for t in row[1:] if t >= 0)
            probs.append(table.get(prefix, table[None]))
        return np.log(np.array(probs)), state
    return step


def test_greedy_is_not_always_the_most_likely_sequence():
    """Tokens a, b, c and <eos> (ids 0-3): greedy takes a (0.5), then b (0.4), then c (0.4),
    then <eos> (0.6): P = 0.048. Taking c second (0.3) leads to b (0.7) and <eos> (0.7): P =
    0.0735. A beam of two keeps that path, and finds it; exhaustive search agrees."""
    a, b, c, eos = range(4)
    table = {(): [0.5, 0.3, 0.15, 0.05], (a,): [0.2, 0.4, 0.3, 0.1],
             (a, b): [0.3, 0.2, 0.4, 0.1], (a, c): [0.1, 0.7, 0.1, 0.1],
             (a, b, c): [0.1, 0.2, 0.1, 0.6], (a, c, b): [0.1, 0.1, 0.1, 0.7],
             None: [0.25, 0.25, 0.25, 0.25]}
    step, start = decoder_of(table), np.full((1, 6), -1)
    found = greedy(step, start, bos=0, eos=eos, num_steps=5)[0]
    assert found == Candidate((a, b, c), pytest.approx(math.log(0.048)), True)
    best = beam_search(step, start, bos=0, eos=eos, num_steps=5, beam_size=2)[0]
    assert best.tokens == (a, c, b) and best.ended
    assert best.log_prob == pytest.approx(math.log(0.5 * 0.3 * 0.7 * 0.7))
    assert best.score() == pytest.approx(math.log(0.0735) / 4 ** ALPHA)  # L counts <eos>
    assert exhaustive_search(step, start, bos=0, eos=eos, num_steps=4)[0] == best


def test_the_score_counts_eos_in_the_length():
    ended, going = Candidate((5, 6), -3.0, True), Candidate((5, 6), -3.0, False)
    assert ended.length == 3 and going.length == 2
    assert ended.score() == -3.0 / 3 ** 0.75 and going.score() == -3.0 / 2 ** 0.75
    assert Candidate((), -0.5, True).score() == -0.5  # <eos> alone: L = 1


def test_ties_go_to_the_shorter_then_the_smaller_ids():
    """Every token equally likely: every sequence of a length has one log-probability. The
    best is the shortest (<eos> alone); among equal scores the smaller ids come first; greedy
    takes the smallest id; and every search says so the same way each time."""
    vocab, eos = 3, 2

    def uniform(state, token_ids):
        return np.full((len(token_ids), vocab), -math.log(vocab)), state
    start = np.zeros((1, 1))
    everything = exhaustive_search(uniform, start, bos=0, eos=eos, num_steps=3)
    assert everything[0] == Candidate((), -math.log(3), True)
    same_length = [c.tokens for c in everything if c.length == 2]
    assert same_length == [(0,), (1,)]
    beam = beam_search(uniform, start, bos=0, eos=eos, num_steps=3, beam_size=27)
    assert as_tuples(beam) == as_tuples(everything)
    assert greedy(uniform, start, bos=0, eos=eos, num_steps=3)[0].tokens == (0, 0, 0)
    # a beam of two keeps the two smallest first tokens, 0 and 1, not <eos>
    two = beam_search(uniform, start, bos=0, eos=eos, num_steps=2, beam_size=2)
    assert {c.tokens for c in two} == {(0, 0), (0, 1)}


# -- the encoder-decoder's reference, decoded --------------------------------------------

SIZES = {"src_vocab_size": 7, "tgt_vocab_size": 5, "embed_size": 3, "num_hiddens": 4,
         "num_layers": 2}
BOS, EOS = 1, 2


def reference_model(reset, dtype="float64"):
    shapes = seq2seq.param_shapes(**SIZES, reset=reset)
    params = seq2seq.draw_params(shapes, np.random.default_rng(4), dtype, scale=1.5)
    sources = np.random.default_rng(5).integers(0, SIZES["src_vocab_size"], (3, 4))
    return params, sources


@pytest.mark.parametrize("reset", ["before", "after"])
def test_the_reference_decoder_beam_searches_as_exhaustive_search(reset):
    params, sources = reference_model(reset)
    step = seq2seq.decoder_step(numpy_ops, params, reset=reset)
    by_greedy = greedy(step, seq2seq.encode(numpy_ops, params, sources, reset=reset),
                       bos=BOS, eos=EOS, num_steps=4)
    for source, alone in zip(sources, by_greedy):
        state = seq2seq.encode(numpy_ops, params, source[None], reset=reset)
        everything = exhaustive_search(step, state, bos=BOS, eos=EOS, num_steps=4)
        beam = beam_search(step, state, bos=BOS, eos=EOS, num_steps=4, beam_size=5 ** 4)
        # a batch's rows and a single row may round differently (a matrix product of
        # another shape): the same sequences, scores within float64's parity bound
        assert [(c.tokens, c.ended) for c in beam] == [(c.tokens, c.ended) for c in everything]
        assert [c.log_prob for c in beam] == pytest.approx(
            [c.log_prob for c in everything], rel=TOLERANCE["float64"])
        one = beam_search(step, state, bos=BOS, eos=EOS, num_steps=4, beam_size=1)
        assert [(one[0].tokens, one[0].ended)] == [(alone.tokens, alone.ended)]
        assert one[0].log_prob == pytest.approx(alone.log_prob, rel=TOLERANCE["float64"])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_every_backend_decodes_the_reference_as_numpy_does(d2l, dtype):
    """The reference's decoder step in a backend's own arrays (ids in, log-probabilities out,
    the beams' states chosen by its take_rows): NumPy's sequences and scores."""
    params, sources = reference_model("after", dtype)
    ops = d2l.ops
    theirs = {name: ops.asarray(value, dtype) for name, value in params.items()}
    source = sources[:1]
    results = []
    for arrays, o, src in ((params, numpy_ops, source),
                           (theirs, ops, ops.asarray(source, "int64"))):
        step = seq2seq.decoder_step(o, arrays, reset="after")
        state = seq2seq.encode(o, arrays, src, reset="after")
        results.append((greedy(step, state, bos=BOS, eos=EOS, num_steps=5, ops=o),
                        beam_search(step, state, bos=BOS, eos=EOS, num_steps=5, beam_size=3,
                                    ops=o)))
    (numpy_greedy, numpy_beam), (their_greedy, their_beam) = results
    for ours, their in ((numpy_greedy, their_greedy), (numpy_beam, their_beam)):
        assert [(c.tokens, c.ended) for c in their] == [(c.tokens, c.ended) for c in ours]
        assert [c.log_prob for c in their] == pytest.approx([c.log_prob for c in ours],
                                                            rel=TOLERANCE[dtype])


# -- bad arguments: one line each ---------------------------------------------------------


def test_bad_arguments_get_one_line():
    step, start = table_decoder(4, 0), np.zeros(1, np.int64)
    cases = [
        (lambda: beam_search(step, start, bos=0, eos=3, num_steps=3, beam_size=0),
         "beam_size must be"),
        (lambda: beam_search(step, np.zeros(2, np.int64), bos=0, eos=3, num_steps=3,
                             beam_size=2), "one sequence at a time"),
        (lambda: greedy(step, start, bos=0, eos=4, num_steps=3), "eos is token 4, outside"),
        (lambda: greedy(step, start, bos=-1, eos=3, num_steps=3), "bos must be"),
        (lambda: greedy(step, start, bos=0, eos=3, num_steps=0), "num_steps must be"),
        (lambda: exhaustive_search(step, start, bos=0, eos=3, num_steps=12),
         "4\\^12 sequences"),
    ]
    for call, words in cases:
        with pytest.raises(BadArgument, match=words) as raised:
            call()
        assert "\n" not in str(raised.value)
