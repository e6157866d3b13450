"""Generation: greedy as the book, sampling with a temperature and a seed, odd prefixes."""
import warnings

import numpy as np
import pytest

from d2lrnn.base.vocab import Vocab

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


def test_predict_chooses_the_fast_path_once_or_takes_the_one_given(d2l, monkeypatch):
    """Each call asks the model for its fast path once, and not at all when handed the one a
    caller chose (d2lrnn train's samples: the path it trained on); another model's is
    refused; fast=False calls the model as it is, to the same text."""
    from d2lrnn.training import fast

    choices, choose = [], fast.choose
    monkeypatch.setattr(fast, "choose", lambda model: choices.append(model) or choose(model))
    lm = trained_like(d2l)
    text = lm.predict("time ", 20, VOCAB)
    assert len(choices) == 1
    path = choose(lm)
    assert lm.predict("time ", 20, VOCAB, fast=path) == text and len(choices) == 1
    assert lm.predict("time ", 20, VOCAB, fast=False) == text and len(choices) == 1
    with pytest.raises(ValueError, match="predict: fast= is True, False or the fast path "
                                         "chosen for this model"):
        trained_like(d2l).predict("time ", 20, VOCAB, fast=path)


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


def test_a_capitalised_prefix_is_told_the_vocabulary_is_lower_case(d2l):
    lm = trained_like(d2l)
    with pytest.warns(UserWarning, match=r"\['T'\] are not in the vocabulary; read as '<unk>' "
                                         r"\(its letters are lower case: try the prefix "
                                         r"'the time'\)"):
        lm.predict("The time", 5, VOCAB)


def test_bad_generation_arguments(d2l):
    lm = trained_like(d2l)
    with pytest.raises(ValueError, match="at least one character"):
        lm.predict("", 5, VOCAB)
    with pytest.raises(ValueError, match="temperature"):
        lm.predict("t", 5, VOCAB, temperature=-1)
    with pytest.raises(ValueError, match="vocabulary has 4 tokens"):
        lm.predict("t", 5, Vocab(list("abc")))


def unk_favoured(d2l, dtype="float64"):
    """A model whose most likely next token is always '<unk>' (b_q makes it so)."""
    lm = trained_like(d2l, dtype)
    params = lm.get_params()
    params["b_q"][VOCAB.unk] = 50.0
    lm.set_params(params)
    return lm


def test_unk_is_never_generated(d2l):
    lm = unk_favoured(d2l)
    logits = lm.ops.to_numpy(lm(np.array([[VOCAB["t"]]])))[0, 0]
    assert logits.argmax() == VOCAB.unk  # the model itself prefers '<unk>' ...
    for kwargs in ({}, {"temperature": 1.0, "seed": 0}, {"temperature": 2.0, "top_k": 3,
                                                         "seed": 1},
                   {"temperature": 1.0, "top_p": 0.9, "seed": 2}):
        text = lm.predict("time", 40, VOCAB, **kwargs)
        assert "<unk>" not in text and len(text) == 44, kwargs  # ... but never says it
    with pytest.warns(UserWarning):  # an unknown prefix character is still read as '<unk>'
        assert lm.predict("tX", 5, VOCAB).startswith("t<unk>")


def test_top_k_and_top_p(d2l):
    lm = trained_like(d2l)
    greedy = lm.predict("the", 30, VOCAB)
    # one candidate left: the sample is the greedy choice, whatever the seed
    assert lm.predict("the", 30, VOCAB, temperature=1.0, top_k=1, seed=3) == greedy
    assert lm.predict("the", 30, VOCAB, temperature=1.0, top_p=1e-9, seed=4) == greedy
    wide = lm.predict("the", 60, VOCAB, temperature=3.0, seed=5)
    narrow = lm.predict("the", 60, VOCAB, temperature=3.0, top_k=2, seed=5)
    assert wide != narrow
    assert lm.predict("the", 60, VOCAB, temperature=3.0, top_k=2, seed=5) == narrow


def test_choose_keeps_exactly_the_nucleus():
    from d2lrnn.training.generation import choose

    logits = np.log(np.array([0.5, 0.3, 0.15, 0.05]))
    rng = np.random.default_rng(0)
    drawn = {choose(logits, 1.0, rng, top_p=0.75) for _ in range(400)}
    assert drawn == {0, 1}  # 0.5 + 0.3 reaches 0.75
    drawn = {choose(logits, 1.0, rng, top_p=0.85) for _ in range(400)}
    assert drawn == {0, 1, 2}
    drawn = {choose(logits, 1.0, rng, top_k=3) for _ in range(400)}
    assert drawn == {0, 1, 2}


def test_sampling_is_the_same_in_every_backend(d2l):
    from d2lrnn import numpy as ref

    for kwargs in ({"temperature": 1.0}, {"temperature": 0.7, "top_k": 5},
                   {"temperature": 1.2, "top_p": 0.8}):
        assert trained_like(d2l).predict("machine", 40, VOCAB, seed=11, **kwargs) == \
            trained_like(ref).predict("machine", 40, VOCAB, seed=11, **kwargs)


@pytest.mark.parametrize("kwargs, message", [
    ({"num_preds": -5}, "num_preds must be a whole number >= 0"),
    ({"num_preds": 2.5}, "num_preds must be a whole number"),
    ({"temperature": float("nan")}, "temperature must be a finite number"),
    ({"temperature": 1e-310}, r"temperature must be a finite number, 0 \(greedy\) or >= 0\.001"),
    ({"temperature": 1.0, "top_k": 0}, "top_k must be a whole number >= 1"),
    ({"temperature": 1.0, "top_p": 1.5}, r"top_p must be a probability in \(0, 1\]"),
    ({"top_k": 3}, "give a temperature > 0"),
])
def test_bad_sampling_arguments_name_the_argument(d2l, kwargs, message):
    lm = trained_like(d2l)
    kwargs = {"num_preds": 5, **kwargs}
    with pytest.raises(ValueError, match=message):
        lm.predict("t", vocab=VOCAB, **kwargs)


@pytest.mark.backends("torch")
def test_a_readers_rnn_that_returns_no_state_is_told_so(d2l):
    """A reader's RNN whose forward drops the state would make every character from zeros:
    a silent wrong text. predict says what it needs instead."""
    from torch import nn

    class Forgetful(d2l.Module):
        def __init__(self, num_inputs, num_hiddens, sigma=0.01, keep=False):
            super().__init__()
            self.save_hyperparameters()
            self.W_xh = nn.Parameter(d2l.randn(num_inputs, num_hiddens) * sigma)
            self.W_hh = nn.Parameter(d2l.randn(num_hiddens, num_hiddens) * sigma)

        def forward(self, inputs, state=None):
            if state is None:
                state = d2l.zeros((inputs.shape[1], self.num_hiddens))
            outputs = []
            for X in inputs:
                state = d2l.tanh(d2l.matmul(X, self.W_xh) + d2l.matmul(state, self.W_hh))
                outputs.append(state)
            return (outputs, state) if self.keep == "state" else \
                (outputs, None) if self.keep == "none" else outputs

    V = len(VOCAB)
    for keep, said in (("none", "returned no state \\(None\\)"), ("outputs", "returned a list")):
        lm = d2l.RNNLMScratch(Forgetful(V, 8, keep=keep), V)
        with pytest.raises(TypeError, match=f"predict: Forgetful\\(inputs, state\\) {said}; "
                                            f"generating carries the state"):
            lm.predict("the", 5, VOCAB)
    assert len(d2l.RNNLMScratch(Forgetful(V, 8, keep="state"), V).predict("the", 5, VOCAB)) == 8
