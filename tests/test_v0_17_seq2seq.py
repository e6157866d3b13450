"""Chapter 9 of the d2l 0.17 library (zh.d2l.ai 9.5-9.7) in each framework that has it
(PyTorch, MXNet, TensorFlow): the English-French pairs as 0.17 cuts and batches them (on the
stand-in parallel corpus of ``_corpora``, never the book's), the mask and the masked loss
against values worked by hand, training and greedy prediction, bad input in one line, and the
0.17 encoder with the chapter's decoder held to the encoder-decoder reference
(:mod:`d2lrnn.maths.seq2seq`) in float64."""
import importlib
import math
import re
from pathlib import Path

import _book_library as conformance
import numpy as np
import pytest
from _backends import load_or_skip
from _corpora import parallel_pairs

from d2lrnn.base.errors import UserError
from d2lrnn.maths import seq2seq as reference
from d2lrnn.tools.parity import TOLERANCE, rel_diff

CHAPTER_9 = ("download_extract", "read_data_nmt", "preprocess_nmt", "tokenize_nmt",
             "show_list_len_pair_hist", "truncate_pad", "build_array_nmt", "load_data_nmt",
             "Encoder.forward", "Decoder.init_state", "Decoder.forward", "EncoderDecoder",
             "EncoderDecoder.forward", "Seq2SeqEncoder", "Seq2SeqEncoder.forward",
             "sequence_mask", "MaskedSoftmaxCELoss.forward", "train_seq2seq",
             "predict_seq2seq", "bleu")


FRAMEWORKS = conformance.EDITION_0_17_CHAPTER_9.frameworks


@pytest.fixture(scope="module", params=FRAMEWORKS)
def each_v017(request):
    """The 0.17 library of each framework with chapter 9 installed here."""
    load_or_skip(request.param)
    return importlib.import_module(f"d2lrnn.v0_17.{request.param}")


def framework(d2l):
    return d2l.__name__.rsplit(".", 1)[-1]


def adapter(d2l):
    """The framework's array adapter (d2lrnn's own), to make and read its tensors."""
    return importlib.import_module(f"d2lrnn.{framework(d2l)}.ops").ops


def tensor(d2l, array):
    array = np.asarray(array)
    return adapter(d2l).asarray(array, array.dtype.name)


def numpy(d2l, x):
    return adapter(d2l).to_numpy(x)


def predict(d2l, net, sentence, src_vocab, tgt_vocab, num_steps, **kwargs):
    """0.17's predict_seq2seq: on the default device (TensorFlow's takes none)."""
    device = () if framework(d2l) == "tensorflow" else (d2l.try_gpu(),)
    return d2l.predict_seq2seq(net, sentence, src_vocab, tgt_vocab, num_steps, *device,
                               **kwargs)


def masked_loss(d2l, pred, label, valid_len):
    """0.17's MaskedSoftmaxCELoss of NumPy arrays (TensorFlow's takes the valid lengths in
    its constructor and the label first)."""
    pred, label, valid_len = (tensor(d2l, a) for a in (pred, label, valid_len))
    if framework(d2l) == "tensorflow":
        return numpy(d2l, d2l.MaskedSoftmaxCELoss(valid_len)(label, pred))
    return numpy(d2l, d2l.MaskedSoftmaxCELoss()(pred, label, valid_len))


@pytest.fixture
def pairs_folder(tmp_path, monkeypatch):
    """A notebook's folder whose ``../data`` is empty, the network refused, and ``$D2LRNN_DATA``
    holding ``fra-eng/fra.txt`` unpacked: write the pairs with the returned function."""
    import pooch

    def no_network(*args, **kwargs):
        raise AssertionError("the test reached for the network")

    monkeypatch.setattr(pooch, "retrieve", no_network)
    for name in ("cache/fra-eng", "work", "data"):
        (tmp_path / name).mkdir(parents=True)
    monkeypatch.setenv("D2LRNN_DATA", str(tmp_path / "cache"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.chdir(tmp_path / "work")

    def write(text):
        (tmp_path / "cache" / "fra-eng" / "fra.txt").write_text(text, encoding="utf-8")
    return write


def chapter_9(framework):
    """What chapter 9 calls in ``framework``'s 0.17 library: TensorFlow's layers ``call``;
    MXNet's masks with ``npx.sequence_mask`` (no ``d2l.sequence_mask``)."""
    names = [name.replace(".forward", ".call") if framework == "tensorflow" else name
             for name in CHAPTER_9]
    return [name for name in names if not (framework == "mxnet" and name == "sequence_mask")]


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_chapter_9_is_in_the_conformance_check(framework):
    location = conformance.find_book_library()
    if location is None:
        pytest.skip("D2LRNN_BOOK_LIB is not set: tox downloads the book's libraries")
    load_or_skip(framework)
    edition = conformance.EDITION_0_17_CHAPTER_9
    source = conformance.read_source(location, framework, edition.version)
    checked = conformance.read_book(source, edition.classes, edition.functions)
    assert set(chapter_9(framework)) <= set(checked)
    found = conformance.deviations(framework, location, edition)
    assert not {name: found[name] for name in chapter_9(framework) if name in found}


# -- the pairs ---------------------------------------------------------------------------------


def test_truncate_pad_cuts_or_pads_to_num_steps(each_v017):
    assert each_v017.truncate_pad([5, 6, 7], 2, 0) == [5, 6]
    assert each_v017.truncate_pad([5], 3, 1) == [5, 1, 1]
    assert each_v017.truncate_pad([5, 6], 2, 1) == [5, 6]


def test_preprocess_and_tokenize_nmt_as_0_17(each_v017):
    v017 = each_v017
    text = "Go.\u202fNow!\tVa\xa0!\n!Hi,you\tSalut,toi\n\nA b\tC d\nE\tF\n"
    # a mark after anything but a space gets one, a line break included (0.17 spaces the
    # whole text at once)
    assert v017.preprocess_nmt(text).split("\n")[:2] == ["go . now !\tva !",
                                                         " !hi ,you\tsalut ,toi"]
    source, target = v017.tokenize_nmt(v017.preprocess_nmt(text))
    # 0.17 splits " !hi" into "", "!hi": the empty word is dropped here
    assert source == [["go", ".", "now", "!"], ["!hi", ",you"], ["a", "b"], ["e"]]
    assert target == [["va", "!"], ["salut", ",toi"], ["c", "d"], ["f"]]
    # 0.17 reads lines 0 .. num_examples (one more than asked), the blank one counted
    assert len(v017.tokenize_nmt(v017.preprocess_nmt(text), num_examples=2)[0]) == 2
    assert len(v017.tokenize_nmt(v017.preprocess_nmt(text), num_examples=3)[0]) == 3


def test_build_array_nmt_appends_eos_and_counts_the_valid_tokens(each_v017):
    v017 = each_v017
    lines = [["a", "b"], ["a", "b", "c", "d"], []]
    vocab = v017.Vocab(lines, reserved_tokens=["<pad>", "<bos>", "<eos>"])
    assert vocab.idx_to_token == ["<unk>", "<pad>", "<bos>", "<eos>", "a", "b", "c", "d"]
    array, valid_len = (numpy(v017, x) for x in v017.build_array_nmt(lines, vocab, 4))
    assert array.tolist() == [[4, 5, 3, 1], [4, 5, 6, 7], [3, 1, 1, 1]]  # <eos> cut from row 2
    assert valid_len.tolist() == [3, 4, 1]
    # the type 0.17's d2l.tensor gives a list of ints: the book's cells add ids of their own
    ids = {"torch": np.int64, "mxnet": np.float32, "tensorflow": np.int32}[framework(v017)]
    assert (array.dtype, valid_len.dtype) == (ids, np.int32)


def test_load_data_nmt_batches_the_pairs_of_the_data_folder(each_v017, pairs_folder):
    v017 = each_v017
    text = parallel_pairs(700)
    pairs_folder(text)
    data_iter, src_vocab, tgt_vocab = v017.load_data_nmt(batch_size=32, num_steps=8)
    batches = [[numpy(v017, x) for x in batch] for batch in data_iter]
    X, X_valid_len, Y, Y_valid_len = batches[0]
    assert X.shape == Y.shape == (32, 8) and X_valid_len.shape == Y_valid_len.shape == (32,)
    src, src_len, tgt, tgt_len = (np.concatenate(parts) for parts in zip(*batches))
    assert len(src) == 601  # lines 0 .. 600, each once
    for vocab in (src_vocab, tgt_vocab):
        assert vocab.idx_to_token[:4] == ["<unk>", "<pad>", "<bos>", "<eos>"]

    def row(side, vocab):  # tokenised our own way: lower case, a space before each mark
        words = side.replace("\u202f", " ").replace("\xa0", " ").lower()
        for mark in ",.!?":
            words = words.replace(mark, " " + mark)
        tokens = (words.split() + ["<eos>"])[:8]
        return vocab[tokens] + [vocab["<pad>"]] * (8 - len(tokens)), len(tokens)

    # the first pair is among the shuffled rows, its two sides and lengths together
    english, french = text.split("\n")[0].split("\t")
    (src_ids, src_n), (tgt_ids, tgt_n) = row(english, src_vocab), row(french, tgt_vocab)
    rows = list(zip(src.tolist(), src_len.tolist(), tgt.tolist(), tgt_len.tolist()))
    assert (src_ids, src_n, tgt_ids, tgt_n) in rows
    assert set(src_len.tolist()) <= set(range(1, 9))


def test_the_archive_is_the_one_the_0_17_data_hub_names(each_v017, pairs_folder, tmp_path,
                                                        monkeypatch):
    """A reader's own entry in ``d2l.DATA_HUB['fra-eng']`` (here the stand-in's archive in
    ``$D2LRNN_DATA``, under the book's name) is what read_data_nmt and 9.5's own
    ``download_extract('fra-eng')`` fetch, into ``../data``."""
    from _corpora import parallel_corpus

    v017 = each_v017
    _, sha1 = parallel_corpus(tmp_path / "cache", pairs=50)
    monkeypatch.setitem(v017.DATA_HUB, "fra-eng", (v017.DATA_URL + "fra-eng.zip", sha1))
    assert v017.read_data_nmt() == parallel_pairs(50)
    assert v017.download_extract("fra-eng") == str(Path("..", "data", "fra-eng"))
    assert (tmp_path / "data" / "fra-eng" / "fra.txt").read_text(encoding="utf-8") == \
        parallel_pairs(50)


def test_9_5s_own_reading_takes_the_pairs_unpacked_in_the_cache_offline(each_v017,
                                                                        pairs_folder):
    """9.5 reads ``fra.txt`` itself from the folder ``download_extract('fra-eng')`` returns:
    offline, with no archive but the pairs unpacked in ``$D2LRNN_DATA`` (as read_data_nmt
    takes them), that folder is the cache's, and the book's archive is not asked for."""
    import os

    pairs_folder("Go.\tVa !\nHi.\tSalut.\n")
    folder = each_v017.download_extract("fra-eng")
    with open(os.path.join(folder, "fra.txt"), encoding="utf-8") as f:
        assert f.read() == "Go.\tVa !\nHi.\tSalut.\n"
    assert each_v017.read_data_nmt() == "Go.\tVa !\nHi.\tSalut.\n"


@pytest.mark.parametrize("line, expected", [
    ("Go now.", r"line 2 of the pairs \('go now .'\) holds no tab; expected one pair a line"),
    ("Go now.\t", "line 2 of the pairs .*: its French \\(target\\) side is empty"),
    (" \tVa !", "line 2 of the pairs .*: its English \\(source\\) side is empty"),
])
def test_a_pair_that_is_not_two_sentences_is_one_line(each_v017, pairs_folder, line, expected):
    pairs_folder(f"Go.\tVa !\n{line}\nHi.\tSalut.\n")
    with pytest.raises(UserError, match=expected) as info:
        each_v017.load_data_nmt(2, 5)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("call, expected", [
    (lambda lib: lib.truncate_pad([1], -1, 0), "num_steps"),
    (lambda lib: predict(lib, lib.EncoderDecoder(lib.Encoder(), lib.Decoder()), ["go", "."],
                         lib.Vocab(), lib.Vocab(), 5),
     "src_sentence must be a sentence"),
    (lambda lib: masked_loss(lib, np.zeros((2, 3, 4), np.float32), np.ones((2, 3), np.int64),
                             np.array([1, 2, 3], np.int32)),
     r"valid_len \(batch_size,\); got \(2, 3\) and \(3,\)"),
])
def test_bad_arguments_are_one_line(each_v017, call, expected):
    with pytest.raises(UserError, match=expected) as info:
        call(each_v017)
    assert "\n" not in str(info.value)


# -- the mask and the loss ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["torch", "tensorflow"])  # MXNet's 0.17 has no sequence_mask
def test_sequence_mask_sets_the_steps_past_each_valid_length(name):
    load_or_skip(name)
    v017 = importlib.import_module(f"d2lrnn.v0_17.{name}")
    X = tensor(v017, [[1, 2, 3], [4, 5, 6]])
    masked = v017.sequence_mask(X, tensor(v017, [1, 2]))
    assert numpy(v017, masked).tolist() == [[1, 0, 0], [4, 5, 0]]
    assert (masked is X) == (name == "torch")  # in place in PyTorch's 0.17, a new tensor else
    masked = v017.sequence_mask(tensor(v017, np.ones((2, 3, 2), np.float32)),
                                tensor(v017, [1, 2]), value=-1)
    assert numpy(v017, masked).tolist() == [[[1, 1], [-1, -1], [-1, -1]],
                                            [[1, 1], [1, 1], [-1, -1]]]


def test_the_masked_loss_averages_over_every_step_of_each_sequence(each_v017):
    v017 = each_v017
    # uniform logits: each token's loss is log 4; the mean over 3 steps keeps 3, 1, 0 of them
    # (float64: MXNet's float32 log-softmax is 1e-6 off log 4)
    uniform = masked_loss(v017, np.zeros((3, 3, 4)), np.ones((3, 3), np.int64),
                          np.array([3, 1, 0], np.int32))
    assert uniform.tolist() == pytest.approx([math.log(4), math.log(4) / 3, 0])
    # logits (0, log 3) give the second token 3/4; (log 3, 0) give it 1/4
    pred = np.log(np.array([[[1.0, 3.0], [3.0, 1.0]]] * 2))
    both = masked_loss(v017, pred, np.ones((2, 2), np.int64), np.array([2, 1], np.int32))
    assert both.tolist() == pytest.approx([-(math.log(3 / 4) + math.log(1 / 4)) / 2,
                                           -math.log(3 / 4) / 2])


def test_bleu_is_the_packages(each_v017):
    from d2lrnn.book import translation

    assert each_v017.bleu is translation.bleu
    # same length: no penalty; 2 of 3 unigrams, 1 of 2 bigrams match
    assert each_v017.bleu("a b c", "a b d", 2) == pytest.approx((2 / 3) ** 0.5 * (1 / 2) ** 0.25)


# -- the chapter's decoder, in our own words -----------------------------------------------------


def chapter_decoder(d2l):
    """9.7's decoder, as a reader defines it on ``d2l.Decoder`` in each framework: the embedded
    target token and the context (the top layer's state of the state it is given) into the
    framework's GRU, a dense layer on top; batch-first logits out."""
    return {"torch": _torch_decoder, "mxnet": _mxnet_decoder,
            "tensorflow": _tensorflow_decoder}[framework(d2l)](d2l)


def _torch_decoder(v017):
    nn, torch = v017.nn, v017.torch

    class ChapterDecoder(v017.Decoder):
        def __init__(self, vocab_size, embed_size, num_hiddens, num_layers, dropout=0):
            super().__init__()
            self.embedding = nn.Embedding(vocab_size, embed_size)
            self.rnn = nn.GRU(embed_size + num_hiddens, num_hiddens, num_layers,
                              dropout=dropout)
            self.dense = nn.Linear(num_hiddens, vocab_size)

        def init_state(self, enc_outputs, *args):
            return enc_outputs[1]

        def forward(self, X, state):
            embedded = self.embedding(X).transpose(0, 1)
            context = state[-1].expand(embedded.shape[0], -1, -1)
            outputs, state = self.rnn(torch.cat([embedded, context], dim=2), state)
            return self.dense(outputs).transpose(0, 1), state

    return ChapterDecoder


def _mxnet_decoder(v017):
    nn, rnn, np = v017.nn, v017.rnn, v017.np

    class ChapterDecoder(v017.Decoder):  # the state: a list of one (layers, batch, hiddens)
        def __init__(self, vocab_size, embed_size, num_hiddens, num_layers, dropout=0):
            super().__init__()
            self.embedding = nn.Embedding(vocab_size, embed_size)
            self.rnn = rnn.GRU(num_hiddens, num_layers, dropout=dropout)
            self.dense = nn.Dense(vocab_size, flatten=False)

        def init_state(self, enc_outputs, *args):
            return enc_outputs[1]

        def forward(self, X, state):
            embedded = self.embedding(X).swapaxes(0, 1)
            top = state[0][-1]
            context = np.broadcast_to(top, (embedded.shape[0], *top.shape))
            outputs, state = self.rnn(np.concatenate([embedded, context], 2), state)
            return self.dense(outputs).swapaxes(0, 1), state

    return ChapterDecoder


def _tensorflow_decoder(v017):
    keras, tf = v017.tf.keras, v017.tf

    class ChapterDecoder(v017.Decoder):  # batch first; the state: a tensor a layer
        def __init__(self, vocab_size, embed_size, num_hiddens, num_layers, dropout=0,
                     **kwargs):
            super().__init__(**kwargs)
            dtype = self.dtype_policy
            self.embedding = keras.layers.Embedding(vocab_size, embed_size, dtype=dtype)
            self.rnn = keras.layers.RNN(keras.layers.StackedRNNCells(
                [keras.layers.GRUCell(num_hiddens, dropout=dropout, dtype=dtype)
                 for _ in range(num_layers)], dtype=dtype), return_sequences=True,
                return_state=True, dtype=dtype)
            self.dense = keras.layers.Dense(vocab_size, dtype=dtype)

        def init_state(self, enc_outputs, *args):
            return enc_outputs[1]

        def call(self, X, state, **kwargs):
            embedded = self.embedding(X)
            context = tf.repeat(tf.expand_dims(state[-1], 1), embedded.shape[1], axis=1)
            outputs, *state = self.rnn(tf.concat([embedded, context], 2), state, **kwargs)
            return self.dense(outputs), state

    return ChapterDecoder


def seed(d2l, value):
    """Seed the framework's random initialisers (and Keras' Python and NumPy ones)."""
    module = importlib.import_module(framework(d2l))
    {"torch": lambda: module.manual_seed(value), "mxnet": lambda: module.random.seed(value),
     "tensorflow": lambda: module.keras.utils.set_random_seed(value)}[framework(d2l)]()


def test_train_seq2seq_lowers_the_loss_and_predict_seq2seq_translates(each_v017, pairs_folder,
                                                                      capsys):
    v017 = each_v017
    pairs_folder(parallel_pairs(700))
    data_iter, src_vocab, tgt_vocab = v017.load_data_nmt(batch_size=64, num_steps=8)
    device = v017.try_gpu()

    def trained(num_epochs):
        seed(v017, 0)
        net = v017.EncoderDecoder(v017.Seq2SeqEncoder(len(src_vocab), 16, 16, 1),
                                  chapter_decoder(v017)(len(tgt_vocab), 16, 16, 1))
        return net, v017.train_seq2seq(net, data_iter, 0.02, num_epochs, tgt_vocab, device)

    _, first = trained(1)  # a new network each time: one epoch's loss
    net, last = trained(6)
    assert last < 0.5 * first, (first, last)
    printed = capsys.readouterr().out.splitlines()
    assert printed[-1].startswith(f"loss {last:.3f}, ")
    assert printed[-1].endswith(f"on {device}")
    translation, weights = predict(v017, net, "Go .", src_vocab, tgt_vocab, 8)
    assert isinstance(translation, str) and weights == []
    assert 1 <= len(translation.split(" ")) <= 8
    assert set(translation.split(" ")) <= set(tgt_vocab.idx_to_token) - {"<eos>", "<bos>"}
    if framework(v017) == "torch":
        assert not net.training  # predict_seq2seq left it in evaluation mode, as 0.17's


def test_predict_seq2seq_feeds_back_each_choice_until_eos(each_v017):
    """A scripted decoder: its answer at each step is fixed, so the translation, the inputs
    it is fed and the attention weights kept are known."""
    v017 = each_v017
    src_vocab = v017.Vocab([["go", "now"]], reserved_tokens=["<pad>", "<bos>", "<eos>"])
    tgt_vocab = v017.Vocab([["va", "vite"]], reserved_tokens=["<pad>", "<bos>", "<eos>"])
    script = ["va", "vite", "va", "<eos>", "vite"]
    seen = {}

    class Source(v017.Encoder):
        def forward(self, X, *args):
            seen["X"], seen["valid_len"] = numpy(v017, X).tolist(), numpy(v017, args[0]).tolist()
            return X, None

        call = forward  # TensorFlow's layers call

    class Scripted(v017.Decoder):  # the state: the step, a tensor (Keras 3 takes no other)
        def init_state(self, enc_outputs, *args):
            return tensor(v017, 0)

        def forward(self, X, state):
            seen.setdefault("fed", []).append(numpy(v017, X).tolist())
            step = int(numpy(v017, state))
            self.attention_weights = f"step {step}"
            logits = np.eye(len(tgt_vocab), dtype=np.float32)[[[tgt_vocab[script[step]]]]]
            return tensor(v017, logits), tensor(v017, step + 1)

        call = forward

    net = v017.EncoderDecoder(Source(), Scripted())
    translation, weights = predict(v017, net, "Go NOW", src_vocab, tgt_vocab, 5,
                                   save_attention_weights=True)
    assert translation == "va vite va"
    assert weights == ["step 0", "step 1", "step 2", "step 3"]
    pad, eos = src_vocab["<pad>"], src_vocab["<eos>"]
    assert seen["X"] == [[src_vocab["go"], src_vocab["now"], eos, pad, pad]]
    assert seen["valid_len"] == [3]
    assert seen["fed"] == [[[tgt_vocab[t]]] for t in ["<bos>", "va", "vite", "va"]]
    short, _ = predict(v017, net, "go", src_vocab, tgt_vocab, 2)
    assert short == "va vite"  # num_steps tokens at most, no <eos> needed


# -- held to the reference ---------------------------------------------------------------------


def torch_named(values, layers, gradients=False):
    """The reference's parameters (or their gradients) by the names and in the layout of the
    0.17 encoder's and the chapter decoder's: embeddings as they are, the dense layer's
    weight transposed, each GRU layer packed as ``nn.GRU``'s (gates r, z, n, transposed).
    ``nn.GRU`` has a recurrent bias for every gate where the reference has one for the
    candidate (``b_hh``): the others are held at zero, and their gradient is the input
    bias's (the two are added)."""
    from d2lrnn import numpy as ref
    from d2lrnn.cells import VARIANTS

    named = {f"{side}.embedding.weight": values[f"{side}.embedding"]
             for side in ("encoder", "decoder")}
    named["decoder.dense.weight"] = values["decoder.dense.W"].T
    named["decoder.dense.bias"] = values["decoder.dense.b"]
    for side in ("encoder", "decoder"):
        for i in range(layers):
            prefix = reference.rnn_prefix(side, i)
            own = {k[len(prefix):]: v for k, v in values.items() if k.startswith(prefix)}
            W_x, W_h, b_ih, b_hh = VARIANTS["gru-after"].cudnn_weights(ref.ops, own)
            if gradients:
                b_hh = np.concatenate([b_ih[:2 * len(own["b_hh"])], own["b_hh"]])
            named.update({f"{side}.rnn.weight_ih_l{i}": W_x.T, f"{side}.rnn.weight_hh_l{i}":
                          W_h.T, f"{side}.rnn.bias_ih_l{i}": b_ih,
                          f"{side}.rnn.bias_hh_l{i}": b_hh})
    return named


def layout(name, named):
    """The reference's parameters named and laid out as ``torch_named`` gives them, in the
    framework's own names and layout: MXNet's Gluon names (its GRU packs the gates r, z, n
    as PyTorch's); Keras' kernels (inputs, outputs), each GRUCell's gates z, r, n and its two
    biases one (2, 3 hiddens) variable."""
    if name == "torch":
        return named
    if name == "mxnet":
        return {re.sub(r"rnn\.(weight|bias)_(ih|hh)_l(\d+)",
                       lambda m: f"rnn.l{m[3]}_{'i2h' if m[2] == 'ih' else 'h2h'}_{m[1]}", key):
                value for key, value in named.items()}

    def zrn(array):  # PyTorch's r, z, n along the last axis to Keras' z, r, n
        r, z, n = np.split(array, 3, axis=-1)
        return np.concatenate([z, r, n], axis=-1)

    keras = {}
    for key, value in named.items():
        side, layer, kind = key.split(".")
        if layer == "rnn" and kind.startswith("weight"):
            keras[key] = zrn(value.T)
        elif layer == "rnn" and kind.startswith("bias_ih"):
            i = kind.rsplit("_l", 1)[1]
            keras[f"{side}.rnn.bias_l{i}"] = np.stack(
                [zrn(value), zrn(named[f"{side}.rnn.bias_hh_l{i}"])])
        elif not kind.startswith("bias_hh"):
            keras[key] = value.T if key == "decoder.dense.weight" else value
    return keras


def _torch_run(v017, named, data, sizes):
    torch = v017.torch
    net = v017.EncoderDecoder(v017.Seq2SeqEncoder(*sizes[::2][:1], *sizes[2:]),
                              chapter_decoder(v017)(*sizes[1:])).double()
    assert set(named) == {name for name, _ in net.named_parameters()}
    with torch.no_grad():
        for name, param in net.named_parameters():
            param.copy_(torch.from_numpy(named[name]))
    src, tgt_in, valid_len, label = (torch.from_numpy(a) for a in data)
    logits, _ = net(src, tgt_in, valid_len)
    summed = v017.MaskedSoftmaxCELoss()(logits, label, valid_len).sum()
    summed.backward()
    return (logits.detach().numpy(), summed.item(),
            {name: param.grad.numpy() for name, param in net.named_parameters()})


def _mxnet_run(v017, named, data, sizes):
    net = v017.EncoderDecoder(v017.Seq2SeqEncoder(*sizes[::2][:1], *sizes[2:]),
                              chapter_decoder(v017)(*sizes[1:]))
    net.initialize()
    inputs = [tensor(v017, a) for a in data[:3]]
    net(*inputs)  # Gluon learns the input sizes at the first call (float32)
    net.cast("float64")  # Gluon's initialisers fail in float64: cast after
    # Gluon 1.x names a parameter after its layer's instance ("gru3_l0_i2h_weight"): named
    # here by the block that holds it ("encoder.rnn.l0_i2h_weight")
    layers = {"embedding": "embedding", "gru": "rnn", "dense": "dense"}
    params = {f"{side}.{layers[param.name.split('_', 1)[0].rstrip('0123456789')]}."
              f"{param.name.split('_', 1)[1]}": param
              for side in ("encoder", "decoder")
              for param in getattr(net, side).collect_params().values()}
    assert set(named) == set(params)
    for name, param in params.items():
        param.set_data(tensor(v017, named[name]))
    with v017.autograd.record():
        logits, _ = net(*inputs)
        summed = v017.MaskedSoftmaxCELoss()(logits, tensor(v017, data[3]), inputs[2]).sum()
    summed.backward()
    return (numpy(v017, logits), float(summed),
            {name: numpy(v017, param.grad()) for name, param in params.items()})


def _tensorflow_run(v017, named, data, sizes):
    tf = v017.tf
    net = v017.EncoderDecoder(
        v017.Seq2SeqEncoder(*sizes[::2][:1], *sizes[2:], dtype="float64"),
        chapter_decoder(v017)(*sizes[1:], dtype="float64"))
    src, tgt_in, valid_len, label = (tf.constant(a) for a in data)
    net(src, tgt_in, valid_len)  # Keras builds the layers at the first call
    variables = {}
    for side in ("encoder", "decoder"):
        layer = getattr(net, side)
        variables[f"{side}.embedding.weight"] = layer.embedding.embeddings
        for i, cell in enumerate(layer.rnn.cell.cells):
            variables.update({f"{side}.rnn.weight_ih_l{i}": cell.kernel,
                              f"{side}.rnn.weight_hh_l{i}": cell.recurrent_kernel,
                              f"{side}.rnn.bias_l{i}": cell.bias})
    variables.update({"decoder.dense.weight": net.decoder.dense.kernel,
                      "decoder.dense.bias": net.decoder.dense.bias})
    assert set(named) == set(variables)
    assert len(net.trainable_variables) == len(variables)
    for name, variable in variables.items():
        variable.assign(named[name])
    with tf.GradientTape() as tape:
        logits, _ = net(src, tgt_in, valid_len)
        summed = tf.reduce_sum(v017.MaskedSoftmaxCELoss(valid_len)(label, logits))
    grads = tape.gradient(summed, list(variables.values()))
    return (logits.numpy(), float(summed),  # the embeddings' gradients are sparse: made dense
            {name: tf.convert_to_tensor(g).numpy() for name, g in zip(variables, grads)})


def test_the_0_17_encoder_and_the_chapters_decoder_compute_the_reference(each_v017):
    """At the reference's parameters, in float64, in each framework's own layers (their GRU
    resets after the product, with a second bias): the same logits; 0.17's loss, summed over
    the batch as train_seq2seq sums it, is the reference's times (unmasked tokens /
    num_steps), since 0.17 averages each sequence's masked losses over all its num_steps and
    the reference divides their sum by the number of unmasked tokens; so are the
    gradients."""
    from d2lrnn import numpy as ref

    v017, name = each_v017, framework(each_v017)
    src_vocab, tgt_vocab, embed, hiddens, layers, batch, steps = 7, 9, 4, 5, 2, 3, 6
    pad, bos = 1, 2
    rng = np.random.default_rng(0)
    params = reference.draw_params(
        reference.param_shapes(src_vocab, tgt_vocab, embed, hiddens, layers, reset="after"),
        rng)
    src = rng.integers(0, src_vocab, (batch, steps))
    valid_len = np.array([steps, 3, 1])  # the label's <pad> follow its valid tokens, as 9.5's
    words = np.array([t for t in range(tgt_vocab) if t != pad])
    label = np.where(np.arange(steps) < valid_len[:, None],
                     rng.choice(words, (batch, steps)), pad)
    tgt_in = np.concatenate([np.full((batch, 1), bos), label[:, :-1]], 1)  # teacher forcing

    run = {"torch": _torch_run, "mxnet": _mxnet_run, "tensorflow": _tensorflow_run}[name]
    logits, summed, grads_found = run(
        v017, layout(name, torch_named(params, layers)), (src, tgt_in, valid_len, label),
        (src_vocab, tgt_vocab, embed, hiddens, layers))

    expected_logits = reference.forward(ref.ops, params, src, tgt_in, reset="after")
    assert rel_diff(logits, expected_logits) <= TOLERANCE["float64"]
    loss, grads = reference.loss_and_grads(ref.ops, params, (src, tgt_in, valid_len, label),
                                           reset="after", pad=pad)
    scale = valid_len.sum() / steps
    assert rel_diff(summed, loss * scale) <= TOLERANCE["float64"]
    expected = layout(name, torch_named(grads, layers, gradients=True))
    assert set(grads_found) == set(expected)
    diffs = {key: rel_diff(grads_found[key], expected[key] * scale) for key in expected}
    assert max(diffs.values()) <= TOLERANCE["float64"], diffs
    assert np.abs(grads["encoder.rnn.rnns.0.W_xr"]).min() > 0  # it reaches the encoder's bottom
