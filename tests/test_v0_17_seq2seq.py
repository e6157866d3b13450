"""Chapter 9 of the d2l 0.17 library (zh.d2l.ai 9.5-9.7) in PyTorch: the English-French pairs
as 0.17 cuts and batches them (on the stand-in parallel corpus of ``_corpora``, never the
book's), the mask and the masked loss against values worked by hand, training and greedy
prediction, bad input in one line, and the 0.17 encoder with the chapter's decoder held to
the encoder-decoder reference (:mod:`d2lrnn.maths.seq2seq`) in float64."""
import math
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


@pytest.fixture(scope="module")
def v017():
    load_or_skip("torch")
    from d2lrnn.v0_17 import torch as d2l_0_17

    return d2l_0_17


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


def test_chapter_9_is_in_the_conformance_check(v017):
    location = conformance.find_book_library()
    if location is None:
        pytest.skip("D2LRNN_BOOK_LIB is not set: tox downloads the book's libraries")
    edition = conformance.EDITION_0_17_CHAPTER_9
    source = conformance.read_source(location, "torch", edition.version)
    checked = conformance.read_book(source, edition.classes, edition.functions)
    assert set(CHAPTER_9) <= set(checked)
    found = conformance.deviations("torch", location, edition)
    assert not {name: found[name] for name in CHAPTER_9 if name in found}


# -- the pairs ---------------------------------------------------------------------------------


def test_truncate_pad_cuts_or_pads_to_num_steps(v017):
    assert v017.truncate_pad([5, 6, 7], 2, 0) == [5, 6]
    assert v017.truncate_pad([5], 3, 1) == [5, 1, 1]
    assert v017.truncate_pad([5, 6], 2, 1) == [5, 6]


def test_preprocess_and_tokenize_nmt_as_0_17(v017):
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


def test_build_array_nmt_appends_eos_and_counts_the_valid_tokens(v017):
    lines = [["a", "b"], ["a", "b", "c", "d"], []]
    vocab = v017.Vocab(lines, reserved_tokens=["<pad>", "<bos>", "<eos>"])
    assert vocab.idx_to_token == ["<unk>", "<pad>", "<bos>", "<eos>", "a", "b", "c", "d"]
    array, valid_len = v017.build_array_nmt(lines, vocab, 4)
    assert array.tolist() == [[4, 5, 3, 1], [4, 5, 6, 7], [3, 1, 1, 1]]  # <eos> cut from row 2
    assert valid_len.tolist() == [3, 4, 1]
    assert (array.dtype, valid_len.dtype) == (v017.torch.int64, v017.torch.int32)


def test_load_data_nmt_batches_the_pairs_of_the_data_folder(v017, pairs_folder):
    text = parallel_pairs(700)
    pairs_folder(text)
    data_iter, src_vocab, tgt_vocab = v017.load_data_nmt(batch_size=32, num_steps=8)
    X, X_valid_len, Y, Y_valid_len = next(iter(data_iter))
    assert tuple(X.shape) == tuple(Y.shape) == (32, 8)
    assert tuple(X_valid_len.shape) == tuple(Y_valid_len.shape) == (32,)
    src, src_len, tgt, tgt_len = data_iter.dataset.tensors
    assert len(src) == 601  # lines 0 .. 600
    for vocab in (src_vocab, tgt_vocab):
        assert vocab.idx_to_token[:4] == ["<unk>", "<pad>", "<bos>", "<eos>"]
    # the first pair, tokenised our own way: lower case, a space before each mark
    english, french = text.split("\n")[0].split("\t")
    for side, ids, length, vocab in ((english, src, src_len, src_vocab),
                                     (french, tgt, tgt_len, tgt_vocab)):
        words = side.replace("\u202f", " ").replace("\xa0", " ").lower()
        for mark in ",.!?":
            words = words.replace(mark, " " + mark)
        tokens = (words.split() + ["<eos>"])[:8]
        assert ids[0].tolist() == vocab[tokens] + [vocab["<pad>"]] * (8 - len(tokens))
        assert int(length[0]) == len(tokens)
    assert set(data_iter.dataset.tensors[1].tolist()) <= set(range(1, 9))


def test_the_archive_is_the_one_the_0_17_data_hub_names(v017, pairs_folder, tmp_path,
                                                        monkeypatch):
    """A reader's own entry in ``d2l.DATA_HUB['fra-eng']`` (here the stand-in's archive in
    ``$D2LRNN_DATA``, under the book's name) is what read_data_nmt and 9.5's own
    ``download_extract('fra-eng')`` fetch, into ``../data``."""
    from _corpora import parallel_corpus

    _, sha1 = parallel_corpus(tmp_path / "cache", pairs=50)
    monkeypatch.setitem(v017.DATA_HUB, "fra-eng", (v017.DATA_URL + "fra-eng.zip", sha1))
    assert v017.read_data_nmt() == parallel_pairs(50)
    assert v017.download_extract("fra-eng") == str(Path("..", "data", "fra-eng"))
    assert (tmp_path / "data" / "fra-eng" / "fra.txt").read_text(encoding="utf-8") == \
        parallel_pairs(50)


@pytest.mark.parametrize("line, expected", [
    ("Go now.", r"line 2 of the pairs \('go now .'\) holds no tab; expected one pair a line"),
    ("Go now.\t", "line 2 of the pairs .*: its French \\(target\\) side is empty"),
    (" \tVa !", "line 2 of the pairs .*: its English \\(source\\) side is empty"),
])
def test_a_pair_that_is_not_two_sentences_is_one_line(v017, pairs_folder, line, expected):
    pairs_folder(f"Go.\tVa !\n{line}\nHi.\tSalut.\n")
    with pytest.raises(UserError, match=expected) as info:
        v017.load_data_nmt(2, 5)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("call, expected", [
    (lambda lib: lib.truncate_pad([1], -1, 0), "num_steps"),
    (lambda lib: lib.sequence_mask(lib.torch.ones(2, 3), lib.torch.tensor([1, 2, 3])),
     r"valid_len \(batch_size,\); got \(2, 3\) and \(3,\)"),
    (lambda lib: lib.predict_seq2seq(lib.EncoderDecoder(lib.Encoder(), lib.Decoder()),
                                     ["go", "."], lib.Vocab(), lib.Vocab(), 5, "cpu"),
     "src_sentence must be a sentence"),
])
def test_bad_arguments_are_one_line(v017, call, expected):
    with pytest.raises(UserError, match=expected) as info:
        call(v017)
    assert "\n" not in str(info.value)


# -- the mask and the loss ---------------------------------------------------------------------


def test_sequence_mask_sets_the_steps_past_each_valid_length(v017):
    torch = v017.torch
    X = torch.tensor([[1, 2, 3], [4, 5, 6]])
    assert v017.sequence_mask(X, torch.tensor([1, 2])) is X  # in place, as 0.17's
    assert X.tolist() == [[1, 0, 0], [4, 5, 0]]
    masked = v017.sequence_mask(torch.ones(2, 3, 2), torch.tensor([1, 2]), value=-1)
    assert masked.tolist() == [[[1, 1], [-1, -1], [-1, -1]], [[1, 1], [1, 1], [-1, -1]]]


def test_the_masked_loss_averages_over_every_step_of_each_sequence(v017):
    torch = v017.torch
    loss = v017.MaskedSoftmaxCELoss()
    # uniform logits: each token's loss is log 4; the mean over 3 steps keeps 3, 1, 0 of them
    uniform = loss(torch.zeros(3, 3, 4), torch.ones((3, 3), dtype=torch.long),
                   torch.tensor([3, 1, 0]))
    assert uniform.tolist() == pytest.approx([math.log(4), math.log(4) / 3, 0])
    # logits (0, log 3) give the second token 3/4; (log 3, 0) give it 1/4
    pred = torch.log(torch.tensor([[[1.0, 3.0], [3.0, 1.0]]] * 2))
    label = torch.tensor([[1, 1], [1, 1]])
    both = loss(pred, label, torch.tensor([2, 1]))
    assert both.tolist() == pytest.approx([-(math.log(3 / 4) + math.log(1 / 4)) / 2,
                                           -math.log(3 / 4) / 2])


def test_bleu_is_the_packages(v017):
    from d2lrnn.book import translation

    assert v017.bleu is translation.bleu
    # same length: no penalty; 2 of 3 unigrams, 1 of 2 bigrams match
    assert v017.bleu("a b c", "a b d", 2) == pytest.approx((2 / 3) ** 0.5 * (1 / 2) ** 0.25)


# -- the chapter's decoder, in our own words -----------------------------------------------------


def chapter_decoder(v017):
    """9.7's decoder, as a reader defines it on ``d2l.Decoder``: the embedded target token
    and the context (the top layer's state of the state it is given) into ``nn.GRU``, a
    dense layer on top; batch-first logits out."""
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


def test_train_seq2seq_lowers_the_loss_and_predict_seq2seq_translates(v017, pairs_folder,
                                                                      capsys):
    torch = v017.torch
    pairs_folder(parallel_pairs(700))
    data_iter, src_vocab, tgt_vocab = v017.load_data_nmt(batch_size=64, num_steps=8)

    def trained(num_epochs):
        torch.manual_seed(0)
        net = v017.EncoderDecoder(v017.Seq2SeqEncoder(len(src_vocab), 16, 16, 1),
                                  chapter_decoder(v017)(len(tgt_vocab), 16, 16, 1))
        return net, v017.train_seq2seq(net, data_iter, 0.02, num_epochs, tgt_vocab, "cpu")

    _, first = trained(1)  # train_seq2seq initialises the weights afresh: one epoch's loss
    net, last = trained(6)
    assert last < 0.5 * first, (first, last)
    printed = capsys.readouterr().out.splitlines()
    assert printed[-1].startswith(f"loss {last:.3f}, ") and printed[-1].endswith("on cpu")
    translation, weights = v017.predict_seq2seq(net, "Go .", src_vocab, tgt_vocab, 8, "cpu")
    assert isinstance(translation, str) and weights == []
    assert 1 <= len(translation.split(" ")) <= 8
    assert set(translation.split(" ")) <= set(tgt_vocab.idx_to_token) - {"<eos>", "<bos>"}
    assert not net.training  # predict_seq2seq left it in evaluation mode, as 0.17's


def test_predict_seq2seq_feeds_back_each_choice_until_eos(v017):
    """A scripted decoder: its answer at each step is fixed, so the translation, the inputs
    it is fed and the attention weights kept are known."""
    torch, nn = v017.torch, v017.nn
    src_vocab = v017.Vocab([["go", "now"]], reserved_tokens=["<pad>", "<bos>", "<eos>"])
    tgt_vocab = v017.Vocab([["va", "vite"]], reserved_tokens=["<pad>", "<bos>", "<eos>"])
    script = ["va", "vite", "va", "<eos>", "vite"]
    seen = {}

    class Source(v017.Encoder):
        def forward(self, X, *args):
            seen["X"], seen["valid_len"] = X.tolist(), args[0].tolist()
            return X, None

    class Scripted(v017.Decoder):
        def init_state(self, enc_outputs, *args):
            return 0

        def forward(self, X, state):
            seen.setdefault("fed", []).append(X.tolist())
            self.attention_weights = f"step {state}"
            logits = nn.functional.one_hot(torch.tensor([[tgt_vocab[script[state]]]]),
                                           len(tgt_vocab)).float()
            return logits, state + 1

    net = v017.EncoderDecoder(Source(), Scripted())
    translation, weights = v017.predict_seq2seq(net, "Go NOW", src_vocab, tgt_vocab, 5, "cpu",
                                                save_attention_weights=True)
    assert translation == "va vite va"
    assert weights == ["step 0", "step 1", "step 2", "step 3"]
    pad, eos = src_vocab["<pad>"], src_vocab["<eos>"]
    assert seen["X"] == [[src_vocab["go"], src_vocab["now"], eos, pad, pad]]
    assert seen["valid_len"] == [3]
    assert seen["fed"] == [[[tgt_vocab[t]]] for t in ["<bos>", "va", "vite", "va"]]
    short, _ = v017.predict_seq2seq(net, "go", src_vocab, tgt_vocab, 2, "cpu")
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


def test_the_0_17_encoder_and_the_chapters_decoder_compute_the_reference(v017):
    """At the reference's parameters, in float64: the same logits; 0.17's loss, summed over the
    batch as train_seq2seq sums it, is the reference's times (unmasked tokens / num_steps),
    since 0.17 averages each sequence's masked losses over all its num_steps and the
    reference divides their sum by the number of unmasked tokens; so are the gradients."""
    from d2lrnn import numpy as ref

    torch = v017.torch
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

    net = v017.EncoderDecoder(v017.Seq2SeqEncoder(src_vocab, embed, hiddens, layers),
                              chapter_decoder(v017)(tgt_vocab, embed, hiddens, layers)).double()
    loaded = torch_named(params, layers)
    assert set(loaded) == {name for name, _ in net.named_parameters()}
    with torch.no_grad():
        for name, param in net.named_parameters():
            param.copy_(torch.from_numpy(loaded[name]))
    logits, _ = net(*(torch.from_numpy(a) for a in (src, tgt_in, valid_len)))
    summed = v017.MaskedSoftmaxCELoss()(logits, torch.from_numpy(label),
                                        torch.from_numpy(valid_len)).sum()
    summed.backward()

    expected_logits = reference.forward(ref.ops, params, src, tgt_in, reset="after")
    assert rel_diff(logits.detach().numpy(), expected_logits) <= TOLERANCE["float64"]
    loss, grads = reference.loss_and_grads(ref.ops, params, (src, tgt_in, valid_len, label),
                                           reset="after", pad=pad)
    scale = valid_len.sum() / steps
    assert rel_diff(summed.item(), loss * scale) <= TOLERANCE["float64"]
    expected = torch_named(grads, layers, gradients=True)
    diffs = {name: rel_diff(param.grad.numpy(), expected[name] * scale)
             for name, param in net.named_parameters()}
    assert max(diffs.values()) <= TOLERANCE["float64"], diffs
    assert np.abs(grads["encoder.rnn.rnns.0.W_xr"]).min() > 0  # it reaches the encoder's bottom
