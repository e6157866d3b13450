"""Beam search in the encoder-decoder models (d2l.ai 10.8), ``EncoderDecoder.beam_search`` in
every backend: the same tokens and scores as NumPy's from the same parameters, a beam of one
is the book's greedy ``predict_step`` (up to ``<eos>``), a beam that covers every sequence is
exhaustive search, and bad arguments get one line. The data is the copy task of
test_seq2seq_models.py (its ``<pad>`` 0, ``<bos>`` 1, ``<eos>`` 2)."""
import inspect

import numpy as np
import pytest
from test_seq2seq_models import BOS, EOS, PAD, as_numpy, copy_task

from d2lrnn.base.errors import UserError
from d2lrnn.tools.parity import TOLERANCE
from d2lrnn.training.decoding import beam_search, exhaustive_search

# Small enough for exhaustive search: 5 target tokens, 4 steps (5^4 sequences).
SRC_VOCAB, TGT_VOCAB, EMBED, HIDDENS, LAYERS, ROWS = 10, 5, 6, 8, 2, 3


def decoding_model(d2l, seed=0):
    """The package's Seq2Seq with NumPy's draw of parameters at ``seed``, made sharper (times
    three) so that the searches choose among clearly different candidates."""
    from d2lrnn import numpy as ref

    def made(lib):
        encoder = lib.Seq2SeqEncoder(SRC_VOCAB, EMBED, HIDDENS, LAYERS, seed=seed)
        decoder = lib.Seq2SeqDecoder(TGT_VOCAB, EMBED, HIDDENS, LAYERS, seed=seed + 1)
        return lib.Seq2Seq(encoder, decoder, tgt_pad=PAD, lr=0.01)
    drawn = {name: 3 * value for name, value in made(ref).get_params().items()}
    model = made(d2l)
    model.set_params(drawn)
    return model


def batch_of(rows=ROWS):
    src, tgt_in, valid, label = (a[:rows] for a in copy_task())
    return src, tgt_in, valid, np.minimum(label, TGT_VOCAB - 1)  # labels the decoder can say


def greedy_tokens(d2l, model, batch, num_steps):
    """The book's predict_step, each row cut before its first <eos>."""
    if list(inspect.signature(model.predict_step).parameters)[0] == "params":
        preds, _ = model.predict_step(None, batch, num_steps)  # JAX's: params first
    else:
        preds, _ = model.predict_step(batch, model.device, num_steps)
    rows = []
    for row in as_numpy(d2l, preds).tolist():
        rows.append(tuple(row[:row.index(EOS)] if EOS in row else row))
    return rows


@pytest.mark.parametrize("seed", [0, 1])
def test_every_backend_beam_searches_as_numpy_does(d2l, seed):
    from d2lrnn import numpy as ref

    batch = batch_of()
    found = {}
    for lib in (ref, d2l):
        found[lib.ops.name] = decoding_model(lib, seed).beam_search(batch, 6, 3)
    ours, theirs = found["numpy"], found[d2l.ops.name]
    assert len(theirs) == ROWS
    assert [(c.tokens, c.ended) for c in theirs] == [(c.tokens, c.ended) for c in ours]
    assert [c.log_prob for c in theirs] == pytest.approx([c.log_prob for c in ours],
                                                          rel=TOLERANCE["float32"])
    assert [c.score() for c in theirs] == pytest.approx([c.score() for c in ours],
                                                         rel=TOLERANCE["float32"])
    assert all(c.log_prob < 0 for c in theirs)


def test_a_beam_of_one_is_predict_steps_greedy_output(d2l):
    model, batch = decoding_model(d2l, 2), batch_of(4)
    by_beam = model.beam_search(batch, 7, 1)
    assert [c.tokens for c in by_beam] == greedy_tokens(d2l, model, batch, 7)
    assert all(c.ended == (len(c.tokens) < 7) for c in by_beam)
    wide = model.beam_search(batch, 7, 4)  # a wider beam finds a score at least as good
    assert all(w.score() >= one.score() - 1e-6 for w, one in zip(wide, by_beam))


@pytest.mark.backends("numpy", reason="the other backends equal NumPy's beam search (above)")
@pytest.mark.parametrize("seed", [0, 3])
def test_a_beam_that_covers_every_sequence_is_exhaustive_search(d2l, seed):
    model, batch, steps = decoding_model(d2l, seed), batch_of(), 4
    step, states, bos, eos = model.search_start(batch, steps)
    assert (bos, eos) == ([BOS] * ROWS, EOS)
    covering = model.beam_search(batch, steps, TGT_VOCAB ** steps)
    for state, first, best in zip(states, bos, covering):
        everything = exhaustive_search(step, state, bos=first, eos=eos, num_steps=steps,
                                       ops=model.ops)
        assert (best.tokens, best.ended) == (everything[0].tokens, everything[0].ended)
        assert best.log_prob == pytest.approx(everything[0].log_prob, rel=1e-5)
        every_beam = beam_search(step, state, bos=first, eos=eos, num_steps=steps,
                                 beam_size=TGT_VOCAB ** steps, ops=model.ops)
        assert [(c.tokens, c.ended) for c in every_beam] == [
            (c.tokens, c.ended) for c in everything]


@pytest.mark.backends("jax", reason="JAX's search compiles the decoder's step")
def test_jaxs_search_compiles_the_decoders_step_once_per_model(d2l):
    from d2lrnn.book.seq2seq import EncoderDecoder

    model, batch = decoding_model(d2l), batch_of()
    compiled = model.beam_search(batch, 6, 3)
    step = model.__dict__.get("_compiled_fns", {}).get("decode_one")
    assert step is not None
    eager = EncoderDecoder.beam_search(model.bind({"params": model.own_params()}), batch, 6, 3)
    assert [c.tokens for c in compiled] == [c.tokens for c in eager]
    assert [c.log_prob for c in compiled] == pytest.approx([c.log_prob for c in eager],
                                                            rel=TOLERANCE["float32"])
    model.beam_search(batch, 5, 2)
    assert model.__dict__["_compiled_fns"]["decode_one"] is step  # not compiled again


def test_eos_is_read_from_the_labels_or_given(d2l):
    model, batch = decoding_model(d2l), batch_of()
    assert model.search_start(batch, 3)[3] == EOS
    given = model.beam_search(batch, 5, 2, eos=3)  # another <eos>: other candidates end
    assert all(3 not in c.tokens for c in given)
    unpadded = (*batch[:3], np.full_like(batch[3], 4))
    with pytest.raises(UserError, match=r"pass eos=data.tgt_vocab\['<eos>'\]") as raised:
        model.beam_search(unpadded, 5, 2)
    assert "\n" not in str(raised.value)


def test_bad_arguments_get_one_line(d2l):
    model, batch = decoding_model(d2l), batch_of()
    cases = [((batch, 5, 0), "beam_size must be"),
             ((batch, 0, 2), "num_steps must be"),
             ((batch[:3], 5, 2), r"the batch is \(src, tgt, src_valid_len, label\).*got 3"),
             ((batch[0], 5, 2), "the batch is .*got ndarray")]
    for arguments, words in cases:
        with pytest.raises(UserError, match=words) as raised:
            model.beam_search(*arguments)
        assert "\n" not in str(raised.value)
    with pytest.raises(UserError, match="eos must be"):
        model.beam_search(batch, 5, 2, eos=-1)
