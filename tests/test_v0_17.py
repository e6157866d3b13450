"""The d2l 0.17 library of the recurrent chapters (zh.d2l.ai chapters 8-9),
``from d2lrnn.v0_17 import torch as d2l``: its names and signatures against the 0.17 package
(read with ast, never imported), its data against small corpora worked by hand, its training."""
import random

import _book_library as conformance
import pytest
from _backends import load_or_skip
from _corpora import book_path

EDITION = conformance.EDITION_0_17


@pytest.fixture(scope="module")
def v017():
    load_or_skip("torch")
    from d2lrnn.v0_17 import torch as d2l_0_17

    return d2l_0_17


@pytest.fixture
def fixed_offset(monkeypatch):
    """The iterators' random offset made 2, so that their batches can be worked by hand."""
    monkeypatch.setattr(random, "randint", lambda low, high: 2)


@pytest.mark.parametrize("framework", EDITION.frameworks)
def test_the_0_17_library_has_the_names_and_signatures_of_d2l_0_17(framework):
    location = conformance.find_book_library()
    if location is None:
        pytest.skip(f"D2LRNN_BOOK_LIB is not set: tox downloads the book's libraries "
                    f"(pip download --no-deps d2l=={EDITION.version}) and points it there")
    load_or_skip(framework)
    found = conformance.deviations(framework, location, EDITION)
    intended = conformance.intended(framework, EDITION)
    unexpected = {name: problems for name, problems in found.items() if name not in intended}
    assert not unexpected, "differences from d2l 0.17:\n" + "\n".join(
        f"  {name}: {'; '.join(problems)}" for name, problems in unexpected.items())
    source = conformance.read_source(location, framework, EDITION.version)
    checked = conformance.read_book(source, EDITION.classes, EDITION.functions)
    assert {"load_data_time_machine", "train_ch8", "RNNModel.begin_state", "reshape"} <= \
        set(checked)


def test_vocab_orders_tokens_by_frequency_after_unk_and_reserved(v017):
    vocab = v017.Vocab([["a", "b", "b"], ["c", "c", "c", "d"]], min_freq=1,
                      reserved_tokens=["<pad>"])
    assert vocab.idx_to_token == ["<unk>", "<pad>", "c", "b", "a", "d"]
    assert vocab["b"] == 3 and vocab[["zzz", "c"]] == [0, 2]
    assert vocab.token_freqs[0] == ("c", 3)
    assert v017.Vocab(["x", "y", "y"], min_freq=2).idx_to_token == ["<unk>", "y"]


def test_sequential_batches_continue_each_row(v017, fixed_offset):
    # 35 tokens, offset 2: the 32 tokens 2..33 in 2 rows of 16, walked 5 at a time (3 batches)
    batches = [(v017.numpy(X).tolist(), v017.numpy(Y).tolist())
               for X, Y in v017.seq_data_iter_sequential(list(range(35)), 2, 5)]
    assert batches == [
        ([[2, 3, 4, 5, 6], [18, 19, 20, 21, 22]], [[3, 4, 5, 6, 7], [19, 20, 21, 22, 23]]),
        ([[7, 8, 9, 10, 11], [23, 24, 25, 26, 27]], [[8, 9, 10, 11, 12], [24, 25, 26, 27, 28]]),
        ([[12, 13, 14, 15, 16], [28, 29, 30, 31, 32]],
         [[13, 14, 15, 16, 17], [29, 30, 31, 32, 33]]),
    ]


def test_random_batches_cover_each_subsequence_once(v017, fixed_offset):
    # offset 2: the 6 subsequences of 5 tokens begin at 2, 7, ..., 27, in 3 batches of 2
    rows = []
    for X, Y in v017.seq_data_iter_random(list(range(35)), 2, 5):
        assert tuple(X.shape) == (2, 5) and str(X.dtype) == "torch.int64"
        assert (v017.numpy(Y) == v017.numpy(X) + 1).all()
        rows += v017.numpy(X).tolist()
    assert sorted(rows) == [list(range(start, start + 5)) for start in range(2, 28, 5)]


def test_load_data_time_machine_reads_the_books_characters(v017, monkeypatch):
    monkeypatch.setenv("D2LRNN_DATA", str(book_path().parent))
    train_iter, vocab = v017.load_data_time_machine(32, 35)
    assert len(vocab) == 28 and vocab.idx_to_token[:4] == ["<unk>", " ", "e", "t"]
    assert len(train_iter.corpus) == 10000
    X, Y = next(iter(train_iter))
    assert tuple(X.shape) == tuple(Y.shape) == (32, 35)
    assert v017.read_time_machine()[0] == "the time machine by h g wells"


def test_train_ch8_lowers_the_perplexity(v017, monkeypatch, capsys):
    import torch

    monkeypatch.setenv("D2LRNN_DATA", str(book_path().parent))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    torch.manual_seed(0)
    random.seed(0)
    train_iter, vocab = v017.load_data_time_machine(32, 35, max_tokens=3000)
    net = v017.RNNModel(torch.nn.RNN(len(vocab), 64), vocab_size=len(vocab))
    first = v017.train_epoch_ch8(net, train_iter, torch.nn.CrossEntropyLoss(),
                                torch.optim.SGD(net.parameters(), 1), v017.cpu(), False)[0]
    last = v017.train_ch8(net, train_iter, vocab, 1, 12, v017.cpu())
    assert last < 0.8 * first, (first, last)
    printed = capsys.readouterr().out.splitlines()
    assert printed[-3].startswith("perplexity ") and printed[-2].startswith("time traveller")


def test_a_scratch_network_of_the_readers_functions_trains_and_predicts(v017, monkeypatch,
                                                                        capsys):
    import torch

    def make_params(vocab_size, num_hiddens, device):
        sizes = [(vocab_size, num_hiddens), (num_hiddens, num_hiddens), (num_hiddens,),
                 (num_hiddens, vocab_size), (vocab_size,)]
        params = [torch.randn(size, device=device) * 0.01 for size in sizes]
        return [p.requires_grad_() for p in params]

    def zero_state(batch_size, num_hiddens, device):
        return (torch.zeros((batch_size, num_hiddens), device=device),)

    def run(inputs, state, params):
        W_xh, W_hh, b_h, W_hq, b_q = params
        (H,) = state
        logits = []
        for X in inputs:
            H = torch.tanh(X @ W_xh + H @ W_hh + b_h)
            logits.append(H @ W_hq + b_q)
        return torch.cat(logits, dim=0), (H,)

    monkeypatch.setenv("D2LRNN_DATA", str(book_path().parent))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    torch.manual_seed(0)
    random.seed(0)
    train_iter, vocab = v017.load_data_time_machine(16, 10, use_random_iter=True,
                                                    max_tokens=2000)
    net = v017.RNNModelScratch(len(vocab), 32, v017.cpu(), make_params, zero_state, run)
    assert v017.train_ch8(net, train_iter, vocab, 1, 3, v017.cpu(), use_random_iter=True) < 28
    text = v017.predict_ch8("time ", 7, net, vocab, v017.cpu())
    assert text.startswith("time ") and len(text) == 12
    assert all(p.grad is not None and not p.grad.abs().sum() for p in net.params)  # sgd zeroes


@pytest.mark.parametrize("call, expected", [
    (lambda lib: lib.download("no_such_file"), "not a name in DATA_HUB"),
    (lambda lib: lib.tokenize(["a b"], "syllable"), "'word' or 'char'"),
])
def test_bad_input_gets_one_line(v017, call, expected):
    from d2lrnn.base.errors import UserError

    with pytest.raises(UserError, match=expected):
        call(v017)


def test_evaluate_loss_is_the_mean_over_every_example_of_load_array(v017):
    import torch

    features = torch.tensor([[1.0], [2.0], [3.0]])
    labels = torch.tensor([2.0, 4.0, 7.0])  # twice the feature, but for the last (off by 1)
    data_iter = v017.load_array((features, labels), 2, is_train=False)
    assert [len(X) for X, _ in data_iter] == [2, 1]
    mean = v017.evaluate_loss(lambda X: 2 * X, data_iter, lambda out, y: (out - y) ** 2)
    assert mean == pytest.approx(1 / 3)


def test_each_function_of_common_that_takes_ops_is_bound_once_with_the_books_signature(
        monkeypatch):
    import inspect

    from d2lrnn.v0_17 import bind, common

    def tokens_of(corpus, batch_size=2, *, ops):
        """A function a later section might add."""
        return ops, corpus, batch_size

    monkeypatch.setattr(common, "tokens_of", tokens_of, raising=False)
    tokens_of.__module__ = common.__name__
    names = bind.bound("the adapter", "d2lrnn.v0_17.someframework")
    assert {"tokens_of", "seq_data_iter_random", "seq_data_iter_sequential", "SeqDataLoader",
            "load_data_time_machine", "predict_ch8", "evaluate_loss"} <= set(names)
    assert not {"read_time_machine", "Vocab", "train_ch8", "Timer"} & set(names)
    bound_tokens = names["tokens_of"]
    assert bound_tokens([1], 3) == ("the adapter", [1], 3)
    assert str(inspect.signature(bound_tokens)) == "(corpus, batch_size=2)"
    assert bound_tokens.__module__ == "d2lrnn.v0_17.someframework"
    assert bound_tokens.__doc__ == tokens_of.__doc__
    loader = names["SeqDataLoader"]
    assert str(inspect.signature(loader)) == \
        "(batch_size, num_steps, use_random_iter, max_tokens)"
    assert issubclass(loader, common.SeqDataLoader) and loader.__name__ == "SeqDataLoader"

