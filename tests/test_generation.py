"""Generation: greedy as the book, sampling with a temperature and a seed, odd prefixes."""
import warnings

import numpy as np
import pytest

from d2lrnn.vocab import Vocab

VOCAB = Vocab(list("the time machine"))


def trained_like(d2l, dtype="float64"):
    """A model with large random weights, so greedy text depends on every weight."""
    from d2lrnn import numpy as ref

    V = len(VOCAB)
    source = ref.RNNLMScratch(ref.RNNScratch(V, 12, sigma=0.8, seed=5), V, seed=6)
    lm = d2l.RNNLMScratch(d2l.RNNScratch(V, 12, dtype=dtype), V)
    lm.set_params(source.get_params())
    return lm


def book_predict(lm, prefix, num_preds, vocab):
    """The book's loop, one token at a time through the public forward: the oracle."""
    ops = lm.ops
    outputs, state = [vocab[prefix[0]]], None
    for i in range(len(prefix) + num_preds - 1):
        embs = lm.one_hot(np.array([[outputs[-1]]]))
        rnn_outputs, state = lm.rnn(embs, state)
        if i < len(prefix) - 1:
            outputs.append(vocab[prefix[i + 1]])
        else:
            outputs.append(int(ops.to_numpy(lm.output_layer(rnn_outputs))[0, 0].argmax()))
    return "".join(vocab.to_tokens(outputs))


def test_greedy_matches_the_book_loop(d2l):
    lm = trained_like(d2l)
    text = lm.predict("time ", 20, VOCAB)
    assert len(text) == 25 and text.startswith("time ")
    assert text == book_predict(lm, "time ", 20, VOCAB)


def test_greedy_is_the_same_in_every_backend(d2l):
    from d2lrnn import numpy as ref

    assert trained_like(d2l).predict("machine", 30, VOCAB) == \
        trained_like(ref).predict("machine", 30, VOCAB)


def test_sampling_is_seeded(d2l):
    lm = trained_like(d2l)
    a = lm.predict("the", 40, VOCAB, temperature=1.5, seed=1)
    assert a == lm.predict("the", 40, VOCAB, temperature=1.5, seed=1)
    assert a != lm.predict("the", 40, VOCAB, temperature=1.5, seed=2)
    assert lm.predict("the", 40, VOCAB, temperature=0) == lm.predict("the", 40, VOCAB)


def test_low_temperature_approaches_greedy(d2l):
    lm = trained_like(d2l)
    assert lm.predict("the", 30, VOCAB, temperature=1e-3, seed=0) == lm.predict("the", 30, VOCAB)


def test_prefix_outside_the_vocabulary_warns(d2l):
    lm = trained_like(d2l)
    with pytest.warns(UserWarning, match=r"\['X', 'z'\] are not in the vocabulary"):
        text = lm.predict("Xtz", 5, VOCAB)
    assert text.startswith("<unk>t<unk>") and len(VOCAB.to_tokens(VOCAB[list(text)])) > 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lm.predict("time", 3, VOCAB)  # no warning for known characters


def test_bad_generation_arguments(d2l):
    lm = trained_like(d2l)
    with pytest.raises(ValueError, match="at least one character"):
        lm.predict("", 5, VOCAB)
    with pytest.raises(ValueError, match="temperature"):
        lm.predict("t", 5, VOCAB, temperature=-1)
    with pytest.raises(ValueError, match="vocabulary has 4 tokens"):
        lm.predict("t", 5, Vocab(list("abc")))
