"""The English-French pairs of 10.5 (d2l.MTFraEng) in every backend, on a parallel corpus of our
own written as the book ships its file (fra-eng.zip holding fra-eng/fra.txt), so that the book's
way to the text (download -> extract -> read) runs without the network; the histogram of 10.5
and the BLEU of 10.7; and every bad input, each one line that loses nothing."""
import collections
import hashlib
import math
import zipfile

import numpy as np
import pytest
from _corpora import parallel_corpus, parallel_pairs

from d2lrnn.base import downloads
from d2lrnn.base.errors import UserError
from d2lrnn.book import translation
from d2lrnn.book.data import CorpusError


def one_line(err):
    assert isinstance(err, UserError), type(err)
    assert len(str(err).splitlines()) == 1, str(err)
    return str(err)


def ids(array):
    """A backend's array of ids as a NumPy array."""
    return np.asarray(array.asnumpy() if hasattr(array, "asnumpy") else array)


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """A machine without network: the data folder ``D2LRNN_DATA`` (``cache``) and the book's
    ``root`` ('../data' from the working folder ``work``), both empty, and every attempt to
    download failing as it does offline."""
    import pooch

    def no_network(*args, **kwargs):
        raise ConnectionError("no network here")

    monkeypatch.setattr(pooch, "retrieve", no_network)
    for name in ("cache", "work", "data"):
        (tmp_path / name).mkdir()
    monkeypatch.setenv("D2LRNN_DATA", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path / "work")
    return tmp_path


@pytest.fixture
def standin(offline, monkeypatch):
    """The stand-in corpus's archive in ``D2LRNN_DATA``, registered in DATA_HUB under the
    book's name and URL with its own SHA-1 (the book's archive cannot be had here)."""
    archive, sha1 = parallel_corpus(offline / "cache")
    monkeypatch.setitem(downloads.DATA_HUB, "fra-eng",
                        (downloads.DATA_URL + "fra-eng.zip", sha1))
    return archive


def words(sentence):
    """The book's tokens of a sentence, found our own way: lower case, the no-break spaces
    plain, a space before each mark."""
    sentence = sentence.replace("\u202f", " ").replace("\xa0", " ").lower()
    for mark in ",.!?":
        sentence = sentence.replace(mark, " " + mark)
    return sentence.split()


def pairs_file(folder, text, name="pairs.txt"):
    path = folder / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


# Pairs of our own for exact checks: every word twice, so that min_freq=2 keeps it.
SMALL = ("We sing.\tNous chantons.\n" * 2 + "You sing now!\tTu chantes maintenant\u202f!\n" * 2
         + "We sing, you sing.\tNous chantons, tu chantes.\n" + "Now!\tMaintenant\xa0!\n")


# -- the book's way to the pairs, and the arrays in each backend's tensors ---------------------


def test_batches_are_the_backends_tensors_of_the_books_shapes(d2l, standin):
    data = d2l.MTFraEng(batch_size=3)
    assert (data.num_steps, data.num_train, data.num_val) == (9, 512, 128)  # the book's
    assert (standin.parent.parent / "data" / "fra-eng" / "fra.txt").is_file()  # unpacked
    src, tgt, src_valid_len, label = next(iter(data.train_dataloader()))
    for array, shape in ((src, (3, 9)), (tgt, (3, 9)), (src_valid_len, (3,)),
                         (label, (3, 9))):
        assert d2l.ops.is_tensor(array)
        assert d2l.ops.shape(array) == shape
        assert d2l.ops.dtype_name(array) == "int64"  # the tests run JAX in 64-bit mode
    # the book reads lines 0 .. num_train + num_val: one validation pair more than num_val
    assert [d2l.ops.shape(a)[0] for a in data.arrays] == [641] * 4
    assert len(data.train_dataloader()) == 171 and len(data.val_dataloader()) == 43
    rows = [ids(batch[0]) for batch in data.val_dataloader()]
    np.testing.assert_array_equal(np.concatenate(rows), ids(data.arrays[0])[512:])
    first, second = ([ids(batch[0]) for batch in data.train_dataloader()] for _ in range(2))
    assert sorted(map(tuple, np.concatenate(first))) == \
        sorted(map(tuple, ids(data.arrays[0])[:512]))  # each training pair once a pass
    assert not np.array_equal(first[0], second[0])  # in a new order every pass


def test_vocabularies_valid_lengths_and_the_shifted_target(d2l, standin):
    data = d2l.MTFraEng(batch_size=64)
    src, tgt, src_valid_len, label = (ids(a) for a in data.arrays)
    for vocab in (data.src_vocab, data.tgt_vocab):
        assert {"<pad>", "<eos>", "<unk>"} <= set(vocab.idx_to_token)
    assert "<bos>" in data.tgt_vocab.idx_to_token
    assert "<bos>" not in data.src_vocab.idx_to_token  # the book's: no source starts with it
    assert (tgt[:, 0] == data.tgt_vocab["<bos>"]).all()
    np.testing.assert_array_equal(tgt[:, 1:], label[:, :-1])  # the label is one step ahead
    np.testing.assert_array_equal(src_valid_len, (src != data.src_vocab["<pad>"]).sum(1))
    # the first pair of the stand-in, token by token
    english, french = parallel_pairs(1).rstrip("\n").split("\t")
    assert data.src_vocab.to_tokens(src[0]) == (words(english) + ["<eos>"] + ["<pad>"] * 9)[:9]
    assert src_valid_len[0] == min(len(words(english)) + 1, 9)
    assert data.tgt_vocab.to_tokens(tgt[0])[1] == words(french)[0]


def test_the_vocabularies_are_the_books_index_for_index(standin):
    """The special tokens are reserved (so that a corpus that never pads still has <pad>),
    which leaves the book's vocabularies as they are wherever each appears twice: the sorted
    tokens that appear at least twice in the sentences cut or padded to num_steps."""
    data = translation.MTFraEng(batch_size=8)
    lines = parallel_pairs().splitlines()[:641]
    for side, vocab, start in ((0, data.src_vocab, []), (1, data.tgt_vocab, ["<bos>"])):
        sentences = [(words(line.split("\t")[side]) + ["<eos>"] + ["<pad>"] * 9)[:9]
                     for line in lines]
        counts = collections.Counter(token for s in sentences for token in start + s)
        expected = sorted({"<unk>", *(token for token, n in counts.items() if n >= 2)})
        assert vocab.idx_to_token == expected


def test_long_sentences_are_cut_and_short_ones_padded_as_the_books(offline):
    data = translation.MTFraEng(2, num_steps=4, num_train=4, num_val=2,
                                corpus=pairs_file(offline, SMALL))
    src, tgt, src_valid_len, label = data.arrays
    tokens = data.src_vocab.to_tokens
    assert tokens(src[0]) == ["we", "sing", ".", "<eos>"]
    assert tokens(src[2]) == ["you", "sing", "now", "!"]  # cut: its <eos> is lost, as the book's
    assert tokens(src[5]) == ["now", "!", "<eos>", "<pad>"]
    assert src_valid_len.tolist() == [4, 4, 4, 4, 4, 3]
    # the narrow and the plain no-break space before '!' are spaces; the target starts <bos>
    assert data.tgt_vocab.to_tokens(tgt[2]) == ["<bos>", "tu", "chantes", "maintenant"]
    assert data.tgt_vocab.to_tokens(label[5]) == ["maintenant", "!", "<eos>", "<pad>"]
    assert tokens(src[4]) == ["we", "sing", "<unk>", "you"]  # ',' is kept once: min_freq=2


def test_a_corpus_that_never_pads_still_has_pad_and_counts_valid_lengths(offline):
    """Every sentence cut (no <pad>, no <eos> in the text): in the book's vocabulary <pad>
    would be <unk>, and the valid lengths would leave out every unknown word."""
    text = "One two three four.\tUn deux trois quatre.\n" * 3 + "Five.\tCinq.\n"
    data = translation.MTFraEng(2, num_steps=2, num_train=2, num_val=2,
                                corpus=pairs_file(offline, text))
    assert data.src_vocab["<pad>"] != data.src_vocab.unk
    assert data.arrays[2].tolist() == [2, 2, 2, 2]  # "five" is unknown (seen once), not padding


def test_preprocessing_spaces_the_marks_as_the_book_does():
    data = translation.MTFraEng.__new__(translation.MTFraEng)
    assert data._preprocess("Hello, World!No") == "hello , world !no"
    assert data._preprocess("a ,b\u202f!\xa0?") == "a ,b ! ?"
    assert data._preprocess(".x") == ".x"  # nothing before the first character
    # U+0130 lowers to two characters; the book then compares with the text as it was
    assert data._preprocess("\u0130 .") == "i\u0307  ."


def test_build_makes_arrays_of_new_pairs_in_the_corpus_vocabularies(d2l, standin):
    data = d2l.MTFraEng(batch_size=8)
    src, tgt, src_valid_len, label = data.build(["I see the cat.", "They eat a big apple!"],
                                                ["Je vois le chat.", "Ils mangent une pomme"])
    assert d2l.ops.is_tensor(src) and d2l.ops.shape(src) == (2, 9)
    assert data.src_vocab.to_tokens(ids(src)[0])[:6] == ["i", "see", "the", "cat", ".",
                                                         "<eos>"]
    assert ids(src_valid_len).tolist() == [6, 7]
    assert data.tgt_vocab.to_tokens(ids(tgt)[1])[:4] == ["<bos>", "ils", "mangent", "une"]
    assert ids(label)[0][0] == data.tgt_vocab["je"]


# -- bad input: one line, nothing lost ---------------------------------------------------------


def test_a_changed_archive_is_refused_by_its_sha1_and_left_as_it_is(standin, offline):
    root = offline / "data"
    changed = bytearray(standin.read_bytes())
    changed[len(changed) // 2] ^= 0xFF
    (root / "fra-eng.zip").write_bytes(bytes(changed))
    standin.unlink()  # no good copy anywhere
    with pytest.raises(downloads.DownloadError) as info:
        translation.MTFraEng(batch_size=8)
    message = one_line(info.value)
    found = hashlib.sha1(bytes(changed)).hexdigest()
    assert f"fra-eng.zip has SHA-1 {found}, not {downloads.DATA_HUB['fra-eng'][1]}" in message
    assert "left as it is: move it away" in message
    assert (root / "fra-eng.zip").read_bytes() == bytes(changed)  # untouched
    assert not (root / "fra-eng").exists()  # nothing unpacked from it


def test_a_changed_archive_in_the_data_folder_is_not_used(standin, offline):
    standin.write_bytes(standin.read_bytes() + b"tail")
    with pytest.raises(downloads.DownloadError, match="Without a network"):
        translation.MTFraEng(batch_size=8)
    assert not (offline / "data" / "fra-eng.zip").exists()


def test_the_unpacked_pairs_in_the_data_folder_serve_without_the_archive(d2l, offline):
    (offline / "cache" / "fra-eng").mkdir()
    (offline / "cache" / "fra-eng" / "fra.txt").write_text(parallel_pairs(), encoding="utf-8")
    data = d2l.MTFraEng(batch_size=8)
    assert d2l.ops.shape(data.arrays[0]) == (641, 9)


@pytest.mark.parametrize("content", [b"PK\x03\x04 cut short", b"not an archive at all"])
def test_a_damaged_archive_with_the_registered_hash_is_one_line(offline, monkeypatch, content):
    archive = offline / "data" / "fra-eng.zip"
    archive.write_bytes(content)
    monkeypatch.setitem(downloads.DATA_HUB, "fra-eng", (
        downloads.DATA_URL + "fra-eng.zip", hashlib.sha1(content).hexdigest()))
    with pytest.raises(downloads.ArchiveError, match="not a zip archive") as info:
        translation.MTFraEng(batch_size=8)
    one_line(info.value)
    assert sorted(p.name for p in (offline / "data").iterdir()) == ["fra-eng.zip"]


def test_a_foreign_archive_with_the_registered_hash_is_one_line(offline, monkeypatch):
    archive = offline / "data" / "fra-eng.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("deu-eng/deu.txt", "Hello.\tHallo.\n")
    monkeypatch.setitem(downloads.DATA_HUB, "fra-eng", (
        downloads.DATA_URL + "fra-eng.zip",
        hashlib.sha1(archive.read_bytes()).hexdigest()))
    with pytest.raises(CorpusError, match="holds no fra-eng/fra.txt") as info:
        translation.MTFraEng(batch_size=8)
    one_line(info.value)


@pytest.mark.parametrize("text, expected", [
    (SMALL + "We sing\n", "line 7 of the pairs \\('we sing'\\) holds no tab"),
    (SMALL + "We sing.\tNous chantons.\tCC-BY 2.0 (France) Attribution\n",
     "line 7 .* holds 3 tab-separated columns; expected two.*cut -f 1,2"),
    ("We sing.\t \n" + SMALL, "line 1 .* its French \\(target\\) side is empty"),
    (SMALL + "\tNous chantons.\n", "line 7 .* its English \\(source\\) side is empty"),
    (SMALL + " \t \n", "line 7 .* its English \\(source\\) side is empty"),
    ("\n\n", "no line of the form English<TAB>French"),
    (SMALL.encode("utf-8") + b"Caf\xe9.\tCaf\xe9.\n",
     f"not UTF-8 text \\(byte {len(SMALL.encode('utf-8')) + 3} "),
    ("We sing.\tNous chantons.\n" * 5, "give 5 pairs .*; num_train \\+ num_val = 4 \\+ 2 do not"),
])
def test_bad_pairs_are_one_line_naming_what_is_wrong(offline, text, expected):
    path = pairs_file(offline, text)
    before = path.read_bytes()
    with pytest.raises(CorpusError, match=expected) as info:
        translation.MTFraEng(2, num_train=4, num_val=2, corpus=path)
    one_line(info.value)
    assert path.read_bytes() == before


def test_only_the_lines_the_book_reads_are_checked_and_blank_ones_skipped(offline):
    text = SMALL.replace("\n", "\n\n", 1) + "no tab on a line the book never reads\n"
    data = translation.MTFraEng(2, num_train=4, num_val=2, corpus=pairs_file(offline, text))
    assert len(data.arrays[0]) == 6  # lines 0 .. 6: one of them blank


def test_windows_line_ends_are_read_as_the_books_open_reads_them(offline):
    crlf = translation.MTFraEng(2, num_train=4, num_val=1,
                                corpus=pairs_file(offline, SMALL.replace("\n", "\r\n")))
    plain = translation.MTFraEng(2, num_train=4, num_val=1,
                                 corpus=pairs_file(offline, SMALL, "plain.txt"))
    assert crlf.tgt_vocab.idx_to_token == plain.tgt_vocab.idx_to_token
    np.testing.assert_array_equal(crlf.arrays[3], plain.arrays[3])


@pytest.mark.parametrize("src, tgt, error, expected", [
    (["Zorg blup."], ["Je vois."], "BadArgument", "no word of source sentence 0 \\('Zorg"),
    (["I see.", "We eat."], ["Je vois."], "BadArgument", "2 source sentences and 1 target"),
    (["I see.\tJe vois."], ["Je vois."], "BadArgument", "src_sentences\\[0\\].*holds a tab"),
    ("I see.", ["Je vois."], "BadType", "src_sentences must be a list of sentences"),
    (["I see."], [None], "BadType", "tgt_sentences\\[0\\] must be a sentence"),
    (["I see."] * 642, ["Je vois."] * 642, "BadArgument", "642 pairs at once.*= 641"),
])
def test_build_refuses_what_would_go_wrong_in_one_line(standin, src, tgt, error, expected):
    data = translation.MTFraEng(batch_size=8)
    with pytest.raises(UserError, match=expected) as info:
        data.build(src, tgt)
    assert type(info.value).__name__ == error
    one_line(info.value)


def test_build_takes_a_sentence_with_some_unknown_words(standin):
    data = translation.MTFraEng(batch_size=8)
    src, *_ = data.build(["I see the zorg."], ["Je vois le zorg."])
    assert data.src_vocab.to_tokens(src[0])[:5] == ["i", "see", "the", "<unk>", "."]


@pytest.mark.parametrize("argument, value", [("batch_size", 0), ("num_steps", 2.5),
                                             ("num_train", "512"), ("num_val", -1)])
def test_bad_arguments_are_refused_before_anything_is_read(offline, argument, value):
    arguments = {"batch_size": 8, argument: value}
    with pytest.raises(UserError, match=f"MTFraEng: {argument} must be a whole number"):
        translation.MTFraEng(**arguments)


# -- the book's cells: a reader's own class, a reader's own __init__ ---------------------------


def test_a_readers_own_class_reads_the_pairs_as_the_book_writes_it(d2l, standin):
    """10.5 defines the class in its own cells, on d2l.DataModule, d2l.download, d2l.extract."""
    sha1 = downloads.DATA_HUB["fra-eng"][1]

    class MTFraEng(d2l.DataModule):
        def _download(self):
            d2l.extract(d2l.download(d2l.DATA_URL + "fra-eng.zip", self.root, sha1))
            with open(self.root + "/fra-eng/fra.txt", encoding="utf-8") as f:
                return f.read()

    assert MTFraEng()._download() == parallel_pairs()


def test_every_method_works_on_what_the_books_init_sets(d2l, standin):
    class Pairs(d2l.MTFraEng):
        pass

    @d2l.add_to_class(Pairs)
    def __init__(self, batch_size, num_steps=9, num_train=512, num_val=128):
        d2l.DataModule.__init__(self)  # the book's super(MTFraEng, self).__init__()
        self.save_hyperparameters()
        self.arrays, self.src_vocab, self.tgt_vocab = self._build_arrays(self._download())

    data = Pairs(batch_size=4, num_train=20, num_val=4)
    assert d2l.ops.shape(next(iter(data.val_dataloader()))[0]) == (4, 9)
    assert d2l.ops.shape(data.build(["I see the cat."], ["Je vois le chat."])[0]) == (1, 9)


# -- the histogram of 10.5 and the BLEU of 10.7 -------------------------------------------------


def test_the_length_histogram_draws_both_lists_the_second_hatched():
    import matplotlib

    matplotlib.use("Agg")
    from d2lrnn.base.plot import plt

    plt.figure()
    translation.show_list_len_pair_hist(["source", "target"], "# tokens", "count",
                                        [[1, 2], [1, 2, 3], [1]], [[1] * 5, [1] * 5, [1]])
    bars = plt.gca().patches
    assert len(bars) == 20  # ten bins of each list
    assert sum(bar.get_height() for bar in bars) == 6
    assert [bool(bar.get_hatch()) for bar in bars] == [False] * 10 + [True] * 10
    assert [t.get_text() for t in plt.gca().get_legend().get_texts()] == ["source", "target"]
    assert plt.gca().get_xlabel() == "# tokens"
    plt.close("all")
    with pytest.raises(UserError, match="ylist must be a list of sequences"):
        translation.show_list_len_pair_hist(["a", "b"], "x", "y", [[1]], 5)


@pytest.mark.parametrize("pred, label, k, expected", [
    ("il est calme .", "il est calme .", 2, 1.0),
    # shorter: exp(1 - 4/3); unigrams 3/3; bigrams 'il est' of 'il est', 'est .': 1/2
    ("il est .", "il est calme .", 2, math.exp(-1 / 3) * 0.5 ** 0.25),
    # 'the' matches once only: 1/3 of the unigrams; longer than the label: no penalty
    ("the the the", "the cat", 1, (1 / 3) ** 0.5),
    # n stops at the prediction's length (1): exp(1 - 2/1)
    ("go", "go away", 4, math.exp(-1)),
    ("nous partons", "il pleut", 2, 0.0),
    # 3-grams: 'a b c' matched, 'b c e' not: (1/2) ** (1/8); bigrams 'a b', 'b c' of three
    ("a b c e", "a b c d", 3, 0.75 ** 0.5 * (2 / 3) ** 0.25 * 0.5 ** 0.125),
])
def test_bleu_against_values_computed_by_hand(pred, label, k, expected):
    assert translation.bleu(pred, label, k) == pytest.approx(expected, rel=1e-15)


def test_bleu_is_every_backends(d2l):
    assert d2l.bleu("il est .", "il est calme .", 2) == pytest.approx(0.6025286104785453)


@pytest.mark.parametrize("args, expected", [
    (("il est", "il est", 0), "bleu: k must be a whole number >= 1"),
    (("il est", "il est", 2.5), "bleu: k must be a whole number >= 1"),
    ((["il", "est"], "il est", 2), "bleu: pred_seq must be a sentence"),
    (("il est", None, 2), "bleu: label_seq must be a sentence"),
])
def test_bleu_refuses_what_it_cannot_score(args, expected):
    with pytest.raises(UserError, match=expected) as info:
        translation.bleu(*args)
    one_line(info.value)
