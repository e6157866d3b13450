"""The d2l 0.17 library of the recurrent chapters (zh.d2l.ai chapters 8-9),
``from d2lrnn.v0_17 import torch as d2l``: its names and signatures against the 0.17 package
(read with ast, never imported), its data against small corpora worked by hand, its training."""
import functools
import random

import _book_library as conformance
import numpy as np
import pytest
from _backends import load_or_skip, run_with_tf_keras
from _corpora import book_path

EDITION = conformance.EDITION_0_17


@pytest.fixture(scope="module")
def v017():
    load_or_skip("torch")
    from d2lrnn.v0_17 import torch as d2l_0_17

    return d2l_0_17


@pytest.fixture(params=["torch", "mxnet", "tensorflow"])
def each_v017(request):
    """The 0.17 library of each framework installed here."""
    import importlib

    load_or_skip(request.param)
    return importlib.import_module(f"d2lrnn.v0_17.{request.param}")


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


def test_sequential_batches_continue_each_row(each_v017, fixed_offset):
    # 35 tokens, offset 2: the 32 tokens 2..33 in 2 rows of 16, walked 5 at a time (3 batches)
    d2l = each_v017
    batches = [(d2l.numpy(X).tolist(), d2l.numpy(Y).tolist())
               for X, Y in d2l.seq_data_iter_sequential(list(range(35)), 2, 5)]
    assert batches == [
        ([[2, 3, 4, 5, 6], [18, 19, 20, 21, 22]], [[3, 4, 5, 6, 7], [19, 20, 21, 22, 23]]),
        ([[7, 8, 9, 10, 11], [23, 24, 25, 26, 27]], [[8, 9, 10, 11, 12], [24, 25, 26, 27, 28]]),
        ([[12, 13, 14, 15, 16], [28, 29, 30, 31, 32]],
         [[13, 14, 15, 16, 17], [29, 30, 31, 32, 33]]),
    ]


def test_random_batches_cover_each_subsequence_once(each_v017, fixed_offset):
    # offset 2: the 6 subsequences of 5 tokens begin at 2, 7, ..., 27, in 3 batches of 2
    d2l, rows = each_v017, []
    for X, Y in d2l.seq_data_iter_random(list(range(35)), 2, 5):
        assert tuple(X.shape) == (2, 5) and d2l.numpy(X).dtype == np.int64
        assert (d2l.numpy(Y) == d2l.numpy(X) + 1).all()
        rows += d2l.numpy(X).tolist()
    assert sorted(rows) == [list(range(start, start + 5)) for start in range(2, 28, 5)]


def test_load_data_time_machine_reads_the_books_characters(each_v017, monkeypatch):
    monkeypatch.setenv("D2LRNN_DATA", str(book_path().parent))
    v017 = each_v017
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


def _device(lib):
    """The device argument of predict_ch8, train_ch8 and predict_seq2seq: TensorFlow's 0.17
    takes none in the predictions, a strategy in train_ch8 (here None: refused before use)."""
    return () if lib.__name__.endswith("tensorflow") else (lib.try_gpu(),)


class _Silent:
    """A network that is never asked for a prediction (a bad input is refused before it is
    run), or is asked for none: its outputs are never read."""

    def begin_state(self, batch_size, **device):
        return None

    def eval(self):  # PyTorch's predict_seq2seq asks for it first
        return self

    def __call__(self, X, state):
        return None, state


def _chars(lib):
    return lib.Vocab(list("time traveller"))


def _pairs_vocab(lib):
    return lib.Vocab([["go", "."], ["go", "."]], min_freq=2,
                     reserved_tokens=["<pad>", "<bos>", "<eos>"])


BAD_INPUT = {  # what a reader of chapters 8-9 gets wrong, and the line that says so
    "download": (lambda lib: lib.download("no_such_file"), "not a name in DATA_HUB"),
    "tokenize": (lambda lib: lib.tokenize(["a b"], "syllable"), "'word' or 'char'"),
    "batch_size 0": (lambda lib: lib.load_data_time_machine(0, 35),
                     r"load_data_time_machine: batch_size must be a whole number >= 1, got 0"),
    "batch_size < 0": (lambda lib: lib.load_data_time_machine(-2, 35), "batch_size must be"),
    "num_steps 0": (lambda lib: lib.load_data_time_machine(32, 0),
                    r"load_data_time_machine: num_steps must be a whole number >= 1, got 0"),
    "num_steps < 0": (lambda lib: lib.load_data_time_machine(32, -1), "num_steps must be"),
    "8.3's random iterator, batch_size 0": (
        lambda lib: next(lib.seq_data_iter_random(list(range(35)), 0, 5)),
        r"seq_data_iter_random: batch_size must be a whole number >= 1, got 0"),
    "8.3's sequential iterator, num_steps 0": (
        lambda lib: next(lib.seq_data_iter_sequential(list(range(35)), 2, 0)),
        r"seq_data_iter_sequential: num_steps must be a whole number >= 1, got 0"),
    "num_steps > corpus": (lambda lib: lib.load_data_time_machine(2, 20000),
                           r"batch_size \* num_steps \(2 \* 20000\) must be at most the "
                           r"corpus's 10000 tokens less num_steps \+ 1"),
    "batch_size > corpus": (lambda lib: lib.load_data_time_machine(600, 35, True, 20000),
                            r"use a smaller batch_size or num_steps \(or more max_tokens\)"),
    "prefix empty": (lambda lib: lib.predict_ch8("", 10, _Silent(), _chars(lib),
                                                 *_device(lib)),
                     "prefix must be a string of one character or more, got ''"),
    "num_preds < 0": (lambda lib: lib.predict_ch8("time", -1, _Silent(), _chars(lib),
                                                  *_device(lib)),
                      "predict_ch8: num_preds must be a whole number >= 0, got -1"),
    "num_epochs 0": (lambda lib: lib.train_ch8(_Silent(), [], _chars(lib), 1, 0,
                                               *(_device(lib) or (None,))),
                     "train_ch8: num_epochs must be a whole number >= 1, got 0"),
    "lr not a number": (lambda lib: lib.train_ch8(_Silent(), [], _chars(lib), "0.5", 10,
                                                  *(_device(lib) or (None,))),
                        r"train_ch8: lr must be a finite number > 0, got '0.5'"),
    "truncate_pad 0": (lambda lib: lib.truncate_pad([1, 2], 0, 0),
                       "truncate_pad: num_steps must be a whole number >= 1, got 0"),
    "truncate_pad < 0": (lambda lib: lib.truncate_pad([1, 2], -3, 0), "num_steps must be"),
    "num_examples 0": (lambda lib: lib.load_data_nmt(64, 10, num_examples=0),
                       "load_data_nmt: num_examples must be a whole number >= 1, got 0"),
    "num_examples < 0": (lambda lib: lib.tokenize_nmt("go .\tva !", num_examples=-1),
                         "tokenize_nmt: num_examples must be"),
    "bleu k 0": (lambda lib: lib.bleu("a b", "a b", 0), "bleu: k must be a whole number >= 1"),
    "unknown sentence": (lambda lib: lib.predict_seq2seq(
        _Silent(), "Va !", _pairs_vocab(lib), _pairs_vocab(lib), 10, *_device(lib)),
        r"predict_seq2seq: none of the words of 'Va !' is in the source vocabulary \(.*'go "
        r"\.'\)"),
}


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_input_gets_one_line(each_v017, case, monkeypatch):
    from d2lrnn.base.errors import UserError

    monkeypatch.setenv("D2LRNN_DATA", str(book_path().parent))
    call, expected = BAD_INPUT[case]
    with pytest.raises(UserError, match=expected):
        call(each_v017)


def test_what_0_17_accepts_at_the_edges_stays_accepted_and_right(each_v017):
    """No prediction asked: the prefix itself (characters outside the vocabulary read as
    ``<unk>``, with a warning, as 1.0's ``predict`` reads them); an empty prediction scores 0
    (0.17's bleu divides by zero there for k >= 2); num_examples None: every pair."""
    lib = each_v017
    assert lib.predict_ch8("time", 0, _Silent(), _chars(lib), *_device(lib)) == "time"
    with pytest.warns(UserWarning, match=r"predict_ch8: \['!', 'T'\] are not in the vocabulary; "
                      r"read as '<unk>' \(its letters are lower case: try the prefix 'time!'\)"):
        assert lib.predict_ch8("Time!", 0, _Silent(), _chars(lib), *_device(lib)) == \
            "<unk>ime<unk>"  # as the book's vocab[...] reads them, and 1.0's predict
    assert lib.bleu("", "go .", 2) == 0.0
    assert len(lib.tokenize_nmt("go .\tva !\nhi .\tsalut !", num_examples=None)[0]) == 2


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


# -- train_epoch_ch8 held to the reference (issue 31 item 3) ---------------------------------
# One epoch of a small language model in float64, from the reference's parameters: each
# framework's train_epoch_ch8 (its own loss, clipping at 1, SGD at lr 1) must end within
# TRAINING_TOLERANCE of the NumPy reference's steps on the same batches (the cells' forward
# and hand-written backward; the state begun afresh for each random batch, carried over,
# detached, between sequential ones).
VOCAB, HIDDENS, BATCH, STEPS, LR = 12, 8, 4, 6, 1.0


def _corpus():
    """Token ids with a pattern to learn (each mostly the one before plus 1), 300 of them."""
    rng = np.random.default_rng(3)
    ids = [0]
    for jump in rng.choice([1, 1, 1, 5], size=299):
        ids.append((ids[-1] + int(jump)) % VOCAB)
    return ids


def _batches(d2l, use_random_iter):
    """The epoch's minibatches, drawn once (the random offset and order seeded)."""
    random.seed(11)
    draw = d2l.seq_data_iter_random if use_random_iter else d2l.seq_data_iter_sequential
    return list(draw(_corpus(), BATCH, STEPS))


class _Packing:
    """How a framework's recurrent layer holds the reference cell's parameters: its gates'
    order (W_x, W_h, the input bias side by side, as cuDNN and Keras pack them) and whether
    it has a recurrent bias beside the input one. That second bias is added to the first
    inside every gate but the GRU's candidate (where it is the cell's own b_hh, inside the
    reset): both are trained, each by the same gradient, so the layer's steps are the
    reference's with that gradient counted (and clipped) twice."""

    def __init__(self, cell, order, recurrent_bias):
        self.cell, self.order, self.recurrent_bias = cell, order, recurrent_bias

    def _own(self, gate):
        return gate == "h" and "b_hh" in self.cell.shapes(1, 1)

    def pack(self, p, shared=lambda bias: 0 * bias):
        """The layer's parameters (W_x, W_h, b_ih[, b_hh], W_hq, b_q) from the reference's;
        ``shared(the cell's bias)`` is the recurrent side of a gate that adds it to the input
        side (zero for a value, so that the sum is the cell's bias; the same, for a
        gradient)."""
        packed = [np.concatenate([p[f"W_x{g}"] for g in self.order], 1),
                  np.concatenate([p[f"W_h{g}"] for g in self.order], 1),
                  np.concatenate([p[f"b_{g}"] for g in self.order])]
        if self.recurrent_bias:
            packed.append(np.concatenate([p["b_hh"] if self._own(g) else shared(p[f"b_{g}"])
                                          for g in self.order]))
        return packed + [p["W_hq"], p["b_q"]]

    def unpack(self, packed):
        """The reference's parameters from the layer's (a gate's two biases summed)."""
        W_x, W_h, b_ih, *rest = packed
        b_hh = rest[0] if self.recurrent_bias else None
        p = {"W_hq": rest[-2], "b_q": rest[-1]}
        for i, g in enumerate(self.order):
            part = slice(i * HIDDENS, (i + 1) * HIDDENS)
            p[f"W_x{g}"], p[f"W_h{g}"], p[f"b_{g}"] = W_x[:, part], W_h[:, part], b_ih[part]
            if b_hh is not None and self._own(g):
                p["b_hh"] = b_hh[part]
            elif b_hh is not None:
                p[f"b_{g}"] = p[f"b_{g}"] + b_hh[part]
        return p


def _reference_epoch(packing, start, batches, use_random_iter):
    """The layer's parameters after the reference's steps from ``start`` on ``batches`` (NumPy
    arrays), and the epoch's perplexity."""
    from d2lrnn.cells import Network, lm_loss_and_grads
    from d2lrnn.numpy.ops import ops

    network, packed, state, losses = Network.single(packing.cell), list(start), None, []
    for X, Y in batches:
        params = packing.unpack(packed)
        if state is None or use_random_iter:
            state = packing.cell.zero_state(ops, BATCH, HIDDENS, "float64")
        loss, grads = lm_loss_and_grads(network, ops, params, X, Y, [state])
        inputs = ops.one_hot(X.T, VOCAB, "float64")
        state = network.run(ops, params, inputs, [state])[1][0]
        grads = packing.pack(grads, shared=lambda bias_grad: bias_grad)
        norm = np.sqrt(sum(np.sum(g ** 2) for g in grads))
        scale = 1 / norm if norm > 1 else 1.0  # clipped to norm 1
        packed = [p - LR * scale * g for p, g in zip(packed, grads)]
        losses.append(loss)
    return packed, float(np.exp(np.mean(losses)))


def _assert_held_to_the_reference(ours, perplexity, packing, start, batches, use_random_iter,
                                  bound):
    expected, expected_ppl = _reference_epoch(packing, start, batches, use_random_iter)
    moved = max(np.max(np.abs(e - s)) for e, s in zip(expected, start))
    assert moved > 0.05, "the reference's steps must move the parameters"
    worst = max(np.max(np.abs(o - e)) for o, e in zip(ours, expected))
    assert worst <= bound, f"largest parameter difference {worst:.2e}"
    assert perplexity == pytest.approx(expected_ppl, rel=bound)


def _cell(model):
    """The reference's cell of a model kind (the scratch model's is the tanh RNN)."""
    from d2lrnn.cells import VARIANTS
    from d2lrnn.cells.rnn import RNNCell

    return RNNCell("relu") if model == "rnn-relu" else VARIANTS.get(model, VARIANTS["rnn"])


def _reference_start(cell, seed=0):
    shapes = {**cell.shapes(VOCAB, HIDDENS), "W_hq": (HIDDENS, VOCAB), "b_q": (VOCAB,)}
    rng = np.random.default_rng(seed)
    return {name: rng.normal(0, 0.5, shape) for name, shape in shapes.items()}


def _book_rnn(d2l):
    """8.5's RNN as a reader writes it, on the library's aliases (the same in every
    framework)."""
    def rnn(inputs, state, params):
        W_xh, W_hh, b_h, W_hq, b_q = params
        H, = state
        outputs = []
        for X in inputs:
            H = d2l.tanh(d2l.matmul(X, W_xh) + d2l.matmul(H, W_hh) + b_h)
            outputs.append(d2l.matmul(H, W_hq) + b_q)
        return d2l.concat(outputs, 0), (H,)

    return rnn


class _Torch:
    """A float64 model of ``start`` (the layer's parameters) and an epoch of it, in PyTorch:
    nn.RNN and nn.GRU keep cuDNN's packing (gates r, z, n) and a recurrent bias."""

    def packing(self, model, cell):
        return _Packing(cell, cell.cudnn_gates, model != "scratch")

    def epoch(self, d2l, model, start, batches, use_random_iter):
        import torch

        if model == "scratch":
            net = d2l.RNNModelScratch(
                VOCAB, HIDDENS, d2l.cpu(),
                lambda *_: [torch.tensor(p).requires_grad_() for p in start],
                lambda n, h, device: (torch.zeros((n, h), dtype=torch.float64),), _book_rnn(d2l))
            updater, params = (lambda batch_size: d2l.sgd(net.params, LR, batch_size)), net.params
        else:
            layer = torch.nn.GRU(VOCAB, HIDDENS) if model == "gru-after" else torch.nn.RNN(
                VOCAB, HIDDENS, nonlinearity=_cell(model).activation)
            net = d2l.RNNModel(layer, VOCAB).double()
            params = [layer.weight_ih_l0, layer.weight_hh_l0, layer.bias_ih_l0, layer.bias_hh_l0,
                      net.linear.weight, net.linear.bias]
            with torch.no_grad():
                for param, value in zip(params, start):
                    param.copy_(torch.tensor(value.T))  # torch's weights are (out, in)
            updater = torch.optim.SGD(net.parameters(), LR)
        ppl, _ = d2l.train_epoch_ch8(net, batches, torch.nn.CrossEntropyLoss(), updater,
                                     d2l.cpu(), use_random_iter)
        return [p.detach().numpy() if model == "scratch" else p.detach().numpy().T
                for p in params], ppl


class _Mxnet:
    """The same in MXNet: Gluon's rnn.RNN and rnn.GRU pack as cuDNN, with a recurrent bias."""

    def packing(self, model, cell):
        return _Packing(cell, cell.cudnn_gates, model != "scratch")

    def epoch(self, d2l, model, start, batches, use_random_iter):
        from mxnet import gluon, np

        def zeros(n, h, ctx):
            return (np.zeros((n, h), dtype="float64", ctx=ctx),)

        if model == "scratch":
            def get_params(vocab_size, num_hiddens, device):
                params = [np.array(p, dtype="float64", ctx=device) for p in start]
                for param in params:
                    param.attach_grad()
                return params

            net = d2l.RNNModelScratch(VOCAB, HIDDENS, d2l.cpu(), get_params, zeros,
                                      _book_rnn(d2l))
            updater, params = (lambda batch_size: d2l.sgd(net.params, LR, batch_size)), net.params
        else:
            # Gluon's RNN is a ReLU one unless told (8.6's cell makes it so): the book's is tanh
            layer = {"rnn": lambda: gluon.rnn.RNN(HIDDENS, activation="tanh"),
                     "rnn-relu": lambda: gluon.rnn.RNN(HIDDENS),
                     "gru-after": lambda: gluon.rnn.GRU(HIDDENS)}[model]()
            net = d2l.RNNModel(layer, VOCAB)
            net.initialize()  # in float32, then cast: Gluon's initializers fail in float64
            net(batches[0][0], net.begin_state(batch_size=BATCH, ctx=d2l.cpu()))  # the shapes
            net.cast("float64")
            named = {name.split("_", 1)[1]: p for name, p in net.collect_params().items()}
            params = [named[name] for name in ("l0_i2h_weight", "l0_h2h_weight", "l0_i2h_bias",
                                               "l0_h2h_bias", "weight", "bias")]
            for param, value in zip(params, start):
                param.set_data(np.array(value.T, dtype="float64"))  # Gluon's are (out, in)
            trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": LR})
            updater, params = trainer.step, [p.data() for p in params]
        ppl, _ = d2l.train_epoch_ch8(net, batches, gluon.loss.SoftmaxCrossEntropyLoss(),
                                     updater, d2l.cpu(), use_random_iter)
        return [p.asnumpy() if model == "scratch" else p.asnumpy().T for p in params], ppl


class _Tensorflow:
    """The same in TensorFlow: Keras' SimpleRNN has one bias; its GRU (reset_after, its
    default) packs the gates z, r, h and keeps the recurrent bias as a second row."""

    def packing(self, model, cell):
        return _Packing(cell, ("h",) if model != "gru-after" else ("z", "r", "h"),
                        model == "gru-after")

    def epoch(self, d2l, model, start, batches, use_random_iter):
        import tensorflow as tf

        keras = tf.keras
        if model == "scratch":
            net = d2l.RNNModelScratch(
                VOCAB, HIDDENS, lambda n, h: (tf.zeros((n, h), tf.float64),), _book_rnn(d2l),
                lambda *_: [tf.Variable(p) for p in start])
            variables, values = net.trainable_variables, start
        else:
            kind = keras.layers.GRU if model == "gru-after" else functools.partial(
                keras.layers.SimpleRNN, activation=_cell(model).activation)
            layer = kind(HIDDENS, return_sequences=True, return_state=True, dtype="float64")
            net = d2l.RNNModel(layer, VOCAB)
            net(batches[0][0], net.begin_state(batch_size=BATCH, dtype=tf.float64))  # built
            cell = layer.cell
            variables = [cell.kernel, cell.recurrent_kernel, cell.bias, net.dense.kernel,
                         net.dense.bias]
            bias = np.stack(start[2:4]) if model == "gru-after" else start[2]
            values = [*start[:2], bias, *start[-2:]]
        for variable, value in zip(variables, values):
            variable.assign(value)
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True, dtype="float64")
        ppl, _ = d2l.train_epoch_ch8(net, batches, loss, keras.optimizers.SGD(LR),
                                     use_random_iter)
        ours = [v.numpy() for v in variables]
        if model == "gru-after":
            ours[2:3] = list(ours[2])
        return ours, ppl


_SIDES = {"torch": _Torch(), "mxnet": _Mxnet(), "tensorflow": _Tensorflow()}


@pytest.mark.parametrize("use_random_iter", [False, True], ids=["sequential", "random"])
@pytest.mark.parametrize("model", ["scratch", "rnn", "rnn-relu", "gru-after"])
@pytest.mark.parametrize("framework", list(_SIDES))
def test_train_epoch_ch8_takes_the_references_steps_in_float64(framework, model,
                                                               use_random_iter):
    """``scratch``: RNNModelScratch of 8.5's functions; ``rnn``, ``rnn-relu``, ``gru-after``:
    RNNModel of the framework's layer (``rnn-relu``: MXNet's ``rnn.RNN(num_hiddens)`` as 8.6
    makes it, PyTorch's and Keras' told ``relu``; its GRU computes the reset-after variant,
    not the book's 9.1)."""
    import importlib

    load_or_skip(framework)
    d2l = importlib.import_module(f"d2lrnn.v0_17.{framework}")
    side = _SIDES[framework]
    cell = _cell(model)
    packing = side.packing(model, cell)
    start = packing.pack(_reference_start(cell))
    batches = _batches(d2l, use_random_iter)
    ours, perplexity = side.epoch(d2l, model, start, batches, use_random_iter)
    from d2lrnn.tools.parity import TOLERANCE, TRAINING_TOLERANCE

    numpy_batches = [(d2l.numpy(X), d2l.numpy(Y)) for X, Y in batches]
    # MXNet's fused ReLU RNN computes in single precision whatever its dtype (the test below):
    # held to the float32 bound; every other layer to float64's
    bound = TOLERANCE["float32"] if (framework, model) == ("mxnet", "rnn-relu") else \
        TRAINING_TOLERANCE
    _assert_held_to_the_reference(ours, perplexity, packing, start, numpy_batches,
                                  use_random_iter, bound)


def test_mxnets_float64_relu_rnn_computes_in_single_precision():
    """Why MXNet's rnn.RNN(num_hiddens) is held to float32's bound: one step of its fused
    ReLU layer in float64 is a float32 computation's distance from NumPy's (its tanh layer,
    the same call, float64's)."""
    load_or_skip("mxnet")
    from mxnet import gluon
    from mxnet import np as mx_np

    from d2lrnn.tools.parity import TOLERANCE

    rng = np.random.default_rng(0)
    X, W_x, W_h, b = (rng.normal(0, 1, shape) for shape in
                      ((1, BATCH, VOCAB), (VOCAB, HIDDENS), (HIDDENS, HIDDENS), (HIDDENS,)))
    errors = {}
    for activation, phi in (("tanh", np.tanh), ("relu", lambda A: np.maximum(A, 0))):
        layer = gluon.rnn.RNN(HIDDENS, activation=activation)
        layer.initialize()  # in float32, then cast: Gluon's initializers fail in float64
        layer(mx_np.zeros(X.shape), [mx_np.zeros((1, BATCH, HIDDENS))])
        layer.cast("float64")
        named = {name.split("_", 1)[1]: p for name, p in layer.collect_params().items()}
        for name, value in (("l0_i2h_weight", W_x.T), ("l0_h2h_weight", W_h.T),
                            ("l0_i2h_bias", b), ("l0_h2h_bias", 0 * b)):
            named[name].set_data(mx_np.array(value, dtype="float64"))
        H, _ = layer(mx_np.array(X, dtype="float64"),
                     [mx_np.zeros((1, BATCH, HIDDENS), dtype="float64")])
        expected = phi(X[0] @ W_x + b)
        errors[activation] = float(abs(H.asnumpy()[0] - expected).max() / abs(expected).max())
    assert errors["tanh"] <= TOLERANCE["float64"], errors
    assert TOLERANCE["float64"] < errors["relu"] <= TOLERANCE["float32"], errors


def _small_time_machine(d2l, monkeypatch, use_random_iter=False):
    monkeypatch.setenv("D2LRNN_DATA", str(book_path().parent))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    random.seed(0)
    return d2l.load_data_time_machine(32, 35, use_random_iter=use_random_iter,
                                      max_tokens=3000)


def _assert_trained_and_printed(perplexity, capsys, vocab):
    assert perplexity < 0.95 * len(vocab), perplexity  # one that learns nothing: about 28
    printed = capsys.readouterr().out.splitlines()
    assert printed[-3].startswith("perplexity ") and printed[-2].startswith("time traveller")
    assert len(printed[-2]) == len("time traveller") + 50


def test_mxnet_chapter_8_cells_train_and_predict(monkeypatch, capsys):
    """8.5 and 8.6 as the MXNet cells write them: functions handed to RNNModelScratch with
    d2l.try_gpu(), a Gluon rnn layer in RNNModel, the model initialized by train_ch8."""
    load_or_skip("mxnet")
    import mxnet as mx
    from mxnet import np
    from mxnet.gluon import rnn

    from d2lrnn.v0_17 import mxnet as d2l

    mx.random.seed(0)
    train_iter, vocab = _small_time_machine(d2l, monkeypatch)

    def get_params(vocab_size, num_hiddens, device):
        shapes = [(vocab_size, num_hiddens), (num_hiddens, num_hiddens), None,
                  (num_hiddens, vocab_size), None]
        params = [np.random.normal(scale=0.01, size=shape, ctx=device) if shape else
                  d2l.zeros(size, ctx=device) for shape, size in zip(
                      shapes, [None, None, num_hiddens, None, vocab_size])]
        for param in params:
            param.attach_grad()
        return params

    def init_rnn_state(batch_size, num_hiddens, device):
        return (d2l.zeros((batch_size, num_hiddens), ctx=device),)

    net = d2l.RNNModelScratch(len(vocab), 64, d2l.try_gpu(), get_params, init_rnn_state,
                              _book_rnn(d2l))
    _assert_trained_and_printed(d2l.train_ch8(net, train_iter, vocab, 1, 3, d2l.try_gpu()),
                                capsys, vocab)
    device = d2l.try_gpu()
    net = d2l.RNNModel(rnn.RNN(64), len(vocab))
    net.initialize(force_reinit=True, ctx=device)
    assert len(d2l.predict_ch8("time traveller", 10, net, vocab, device)) == 24
    _assert_trained_and_printed(d2l.train_ch8(net, train_iter, vocab, 1, 3, device), capsys,
                                vocab)


def test_tensorflow_chapter_8_cells_train_and_predict(monkeypatch, capsys):
    """8.5 and 8.6 as the TensorFlow cells write them: the functions in 0.17's TensorFlow
    order, models made in a strategy's scope, train_ch8 given the strategy, predict_ch8
    without a device; 8.6's layer batch-major (Keras 3 has no time_major layers)."""
    load_or_skip("tensorflow")
    import tensorflow as tf

    from d2lrnn.v0_17 import tensorflow as d2l

    tf.random.set_seed(0)
    train_iter, vocab = _small_time_machine(d2l, monkeypatch)

    def get_params(vocab_size, num_hiddens):
        shapes = [(vocab_size, num_hiddens), (num_hiddens, num_hiddens), (num_hiddens,),
                  (num_hiddens, vocab_size), (vocab_size,)]
        return [tf.Variable(d2l.normal(shape=shape, stddev=0.01, mean=0, dtype=tf.float32)
                            if len(shape) == 2 else d2l.zeros(shape)) for shape in shapes]

    def init_rnn_state(batch_size, num_hiddens):
        return (d2l.zeros((batch_size, num_hiddens)),)

    strategy = tf.distribute.OneDeviceStrategy(d2l.try_gpu()._device_name)
    with strategy.scope():
        net = d2l.RNNModelScratch(len(vocab), 64, init_rnn_state, _book_rnn(d2l), get_params)
    _assert_trained_and_printed(d2l.train_ch8(net, train_iter, vocab, 1, 3, strategy), capsys,
                                vocab)
    rnn_layer = tf.keras.layers.RNN(tf.keras.layers.SimpleRNNCell(64), return_sequences=True,
                                    return_state=True)
    with strategy.scope():
        net = d2l.RNNModel(rnn_layer, vocab_size=len(vocab))
    assert len(d2l.predict_ch8("time traveller", 10, net, vocab)) == 24
    _assert_trained_and_printed(d2l.train_ch8(net, train_iter, vocab, 1, 3, strategy), capsys,
                                vocab)


# -- the way out for what Keras 3 broke: Keras 2 (tf-keras) as tf.keras, through this library --

KERAS_2_CELLS = '''
import os
os.environ["TF_USE_LEGACY_KERAS"] = "1"  # tf.keras is Keras 2, from the tf-keras package
import random

import tensorflow as tf

from d2lrnn.v0_17 import tensorflow as d2l

random.seed(0)
tf.random.set_seed(0)
train_iter, vocab = d2l.load_data_time_machine(32, 35, max_tokens=3000)

# 8.6: a time-major layer, a state begun with a dtype, the model made in a strategy's scope
# and trained at the integer learning rate 1
cell = tf.keras.layers.SimpleRNNCell(64, kernel_initializer="glorot_uniform")
layer = tf.keras.layers.RNN(cell, time_major=True, return_sequences=True, return_state=True)
state = cell.get_initial_state(batch_size=32, dtype=tf.float32)
Y, new_state = layer(tf.random.uniform((35, 32, len(vocab))), state)
print("@ time-major", tuple(Y.shape), tuple(new_state.shape))
strategy = tf.distribute.OneDeviceStrategy(d2l.try_gpu()._device_name)
with strategy.scope():
    net = d2l.RNNModel(layer, vocab_size=len(vocab))
print("@ untrained", d2l.predict_ch8("time traveller", 10, net, vocab))
print("@ perplexity", d2l.train_ch8(net, train_iter, vocab, 1, 3, strategy), len(vocab))

# 9.7: an encoder of stacked GRU cells, its state its RNN's outputs after the first, read
# by a decoder as state[-1]
class StackedEncoder(d2l.Encoder):
    def __init__(self, vocab_size, embed_size, num_hiddens, num_layers, **kwargs):
        super().__init__(**kwargs)
        self.embedding = tf.keras.layers.Embedding(vocab_size, embed_size)
        self.rnn = tf.keras.layers.RNN(tf.keras.layers.StackedRNNCells(
            [tf.keras.layers.GRUCell(num_hiddens) for _ in range(num_layers)]),
            return_sequences=True, return_state=True)

    def call(self, X, *args, **kwargs):
        everything = self.rnn(self.embedding(X), **kwargs)
        return everything[0], everything[1:]

output, state = StackedEncoder(10, 8, 16, 2)(tf.zeros((4, 7)), training=False)
print("@ encoder", tuple(output.shape), [tuple(s.shape) for s in state])
output, state = d2l.Seq2SeqEncoder(10, 8, 16, 2)(tf.zeros((4, 7)), training=False)
print("@ Seq2SeqEncoder", tuple(output.shape), [tuple(s.shape) for s in state])
print("@ keras", tf.keras.layers.RNN.__module__)
'''


def test_keras_2_through_tf_keras_runs_the_editions_keras_2_cells(monkeypatch, tmp_path):
    """The way out for the TensorFlow cells Keras 3 broke (8.6's time_major=True layer and
    get_initial_state(dtype=), 9.7's encoder): tf-keras with TF_USE_LEGACY_KERAS=1 (the tox
    tensorflow env installs it), the cells' idioms through this library."""
    monkeypatch.setenv("D2LRNN_DATA", str(book_path().parent))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    printed = run_with_tf_keras(KERAS_2_CELLS, tmp_path).splitlines()
    found = dict(line[2:].split(" ", 1) for line in printed if line.startswith("@ "))
    assert found["time-major"] == "(35, 32, 64) (32, 64)"
    untrained = found["untrained"].replace("<unk>", "?")  # ten tokens after the prefix
    assert untrained.startswith("time traveller") and len(untrained) == 24, untrained
    perplexity, vocab_size = map(float, found["perplexity"].split())
    assert perplexity < 0.95 * vocab_size, found["perplexity"]  # one that learns nothing: 28
    assert found["encoder"] == "(4, 7, 16) [(4, 16), (4, 16)]"
    assert found["Seq2SeqEncoder"] == "(4, 7, 16) [(4, 16), (4, 16)]"
    assert found["keras"].startswith("tf_keras")
