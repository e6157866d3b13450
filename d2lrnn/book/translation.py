"""The English-French pairs of d2l.ai 10.5 (``MTFraEng``), the histogram of their lengths, and
the BLEU score of 10.7: machine translation's data and metric, written once for every backend.

The pairs come from the book's ``fra-eng.zip`` (``DATA_HUB['fra-eng']``: its URL and SHA-1),
fetched with :func:`~d2lrnn.base.downloads.download` into ``root`` (a verified copy already
there, or in ``$D2LRNN_DATA``, is used without the network) and unpacked with
:func:`~d2lrnn.base.downloads.extract`; without the archive, an unpacked ``fra-eng/fra.txt`` in
``$D2LRNN_DATA`` serves (only the archive's SHA-1 is published, so that file is taken as it
is); ``corpus=`` names a file of one's own in the same format instead.

Each backend exports its own ``MTFraEng`` (:mod:`d2lrnn.book.bind`): the same class with that
backend's array adapter in ``ops``, so that its arrays are the backend's tensors.
"""
import collections
import math
import re
from pathlib import Path

import numpy as np

from ..base import checks
from ..base.backend import ops_of
from ..base.downloads import DATA_HUB, cache_dir, download, extract, local_copy
from ..base.errors import BadArgument, BadType
from ..base.plot import plt, set_figsize
from ..base.vocab import Vocab
from .data import MAX_CORPUS_MB, CorpusError, read_corpus
from .library import DataModule

HUB_NAME = "fra-eng"  # the book's name of the archive in DATA_HUB
PAIRS_FILE = Path("fra-eng", "fra.txt")  # what the archive unpacks to, in root

# The tokens _build_arrays adds. The book's vocabularies keep what appears at least twice
# (min_freq=2), so a token added once or never (no sentence short enough to pad, every <eos>
# cut off) would fall to <unk>, and '<pad>' would then count unknown words out of the valid
# lengths; reserved, they are always there, and where each appears twice (any corpus of a
# few sentences) the vocabulary is the book's, index for index.
SOURCE_TOKENS = ("<eos>", "<pad>")
TARGET_TOKENS = ("<bos>", "<eos>", "<pad>")

_SPACES = ("\u202f", "\xa0")  # the narrow and the plain no-break space, as the corpus has them
_UNSPACED_MARK = re.compile(r"(?<=[^ ])([,.!?])")
_WORD = re.compile(r"\w")


class MTFraEng(DataModule):
    """English-French sentence pairs as token ids (d2l.ai 10.5): ``arrays`` is the book's
    ``(src, tgt_in, src_valid_len, label)``, each ``(pairs, num_steps)`` (the valid lengths
    ``(pairs,)``), with the vocabularies ``src_vocab`` and ``tgt_vocab``.

    As the book: the first ``num_train`` pairs train, the rest validate; the book reads
    ``num_train + num_val + 1`` pairs (line ``num_train + num_val`` included), so the
    validation set holds one pair more than ``num_val``. A sentence longer than
    ``num_steps`` tokens (its ``<eos>`` counted) is cut to ``num_steps``, losing its
    ``<eos>``, and a shorter one is padded with ``<pad>``; the target side starts with
    ``<bos>``, so ``tgt_in`` is the target without its last token and ``label`` without its
    first. A vocabulary keeps the tokens seen at least twice (the others map to ``<unk>``),
    and always ``<pad>``, ``<eos>`` (and the target's ``<bos>``).

    Beyond the book, keyword-only: ``root`` (where the archive goes, the book's default
    ``'../data'``), ``corpus`` (a file of one ``English<TAB>French`` pair a line, used
    instead of the book's), ``max_corpus_mb`` (the largest file read).

    Refused in one line (a :class:`~d2lrnn.base.errors.UserError`), where the book would crash
    or go on wrong: an archive that is not the book's (its SHA-1) or is damaged, a file that
    is not UTF-8, a line that is not two tab-separated sides, an empty side, fewer pairs than
    ``num_train + num_val``. Every method works on what the book's own ``__init__`` sets (a
    reader may replace it with ``add_to_class``).
    """

    ops = None  # the backend's array adapter (each backend's class sets it); None: NumPy
    corpus = None  # a file of pairs instead of the book's (our __init__'s corpus=)
    max_corpus_mb = MAX_CORPUS_MB

    def __init__(self, batch_size, num_steps=9, num_train=512, num_val=128, *,
                 root=DataModule.root, corpus=None, max_corpus_mb=MAX_CORPUS_MB):
        batch_size, num_steps, num_train, num_val = (
            checks.whole(value, name, "MTFraEng") for name, value in (
                ("batch_size", batch_size), ("num_steps", num_steps),
                ("num_train", num_train), ("num_val", num_val)))
        super().__init__(root=root)
        self.save_hyperparameters()
        self.arrays, self.src_vocab, self.tgt_vocab = self._build_arrays(self._download())
        pairs = int(self.arrays[0].shape[0])
        if pairs < num_train + num_val:
            raise CorpusError(
                f"the English-French pairs give {pairs} pairs (the book reads lines 1 to "
                f"num_train + num_val + 1, blank ones skipped); num_train + num_val = "
                f"{num_train} + {num_val} do not fit: ask for fewer, or use a longer corpus")

    def _download(self):
        """The raw text of the pairs: the ``corpus`` file where one is given, else the book's
        archive unpacked into ``root`` (see the module's docstring for where it is found)."""
        if self.corpus is not None:
            return read_pairs(checks.path_text(self.corpus, "MTFraEng: corpus"),
                              self.max_corpus_mb)
        return read_book_pairs(self.root, self.max_corpus_mb)

    def _preprocess(self, text):
        """Lower case, no-break spaces as plain ones, and a space before each ``,.!?`` that
        follows anything but a space (the marks become tokens of their own)."""
        for space in _SPACES:
            text = text.replace(space, " ")
        lowered = text.lower()
        if len(lowered) == len(text):  # each character lowered to one: positions agree
            return space_marks(text)
        # a few characters lower to two (U+0130); the book then looks at the character
        # before each mark in the text as it was, at the mark's position in the lowered text
        return "".join(" " + char if i and char in ",.!?" and text[i - 1] != " " else char
                       for i, char in enumerate(lowered))

    def _tokenize(self, text, max_examples=None):
        """(source sentences, target sentences), each a list of tokens ending in ``<eos>``,
        of the lines ``0 .. max_examples`` of a preprocessed text (all of them where None),
        words split at spaces. Blank lines are skipped, as the book's; a line that is not
        ``English<TAB>French``, or whose side is empty, is refused, naming it."""
        src, tgt = split_pairs(text, max_examples)
        return [s + ["<eos>"] for s in src], [t + ["<eos>"] for t in tgt]

    def _build_arrays(self, raw_text, src_vocab=None, tgt_vocab=None):
        """(arrays, source vocabulary, target vocabulary) of a raw text of pairs, the
        vocabularies built from it where not given (see the class's docstring)."""
        src, tgt = self._tokenize(self._preprocess(raw_text), self.num_train + self.num_val)
        if not src:
            raise CorpusError("the English-French pairs hold no line of the form "
                              "English<TAB>French")
        src_ids, src_vocab = self._token_ids(src, src_vocab, SOURCE_TOKENS)
        tgt_ids, tgt_vocab = self._token_ids([["<bos>", *s] for s in tgt], tgt_vocab,
                                             TARGET_TOKENS, self.num_steps + 1)
        src_valid_len = (src_ids != src_vocab["<pad>"]).sum(axis=1)
        arrays = (src_ids, tgt_ids[:, :-1], src_valid_len, tgt_ids[:, 1:])
        return tuple(self._tensor(a) for a in arrays), src_vocab, tgt_vocab

    def _token_ids(self, sentences, vocab, reserved, length=None):
        """(ids of the sentences cut or padded to ``length`` tokens (``num_steps``), as a
        NumPy array; the vocabulary, built where None). The target's ``<bos>`` is put before
        the cut, so its sentences are ``num_steps + 1`` long."""
        length = length or self.num_steps
        rows = [s[:length] + ["<pad>"] * (length - len(s)) for s in sentences]
        if vocab is None:
            vocab = Vocab(rows, min_freq=2, reserved_tokens=list(reserved))
        return np.asarray([vocab[row] for row in rows], dtype=np.int64), vocab

    def _tensor(self, array):
        """A NumPy array of ids as this backend's tensor (int64; int32 in JAX without its
        64-bit mode), on its device."""
        return array if self.ops is None else self.ops.asarray(array, "int64")

    def get_dataloader(self, train):
        """Minibatches of ``arrays``: the first ``num_train`` pairs shuffled on every pass
        (``train``), or the others in order."""
        rows = slice(0, self.num_train) if train else slice(self.num_train, None)
        return self.get_tensorloader(self.arrays, train, rows)

    def build(self, src_sentences, tgt_sentences):
        """The arrays (as ``arrays``) of new pairs, in the vocabularies of the corpus: a list
        of English sentences and one of their French translations. Refused: lists of
        different lengths, more sentences than the book's ``_build_arrays`` reads at once
        (``num_train + num_val + 1``), a sentence holding a tab or a line break, and a
        source sentence none of whose words the source vocabulary knows (the model would
        see only ``<unk>``)."""
        src_sentences = _sentences(src_sentences, "src_sentences")
        tgt_sentences = _sentences(tgt_sentences, "tgt_sentences")
        if len(src_sentences) != len(tgt_sentences):
            raise BadArgument(f"build: {len(src_sentences)} source sentences and "
                              f"{len(tgt_sentences)} target sentences; give one target "
                              f"(its reference translation) for each source")
        most = self.num_train + self.num_val + 1
        if len(src_sentences) > most:
            raise BadArgument(f"build: {len(src_sentences)} pairs at once, and _build_arrays "
                              f"reads at most num_train + num_val + 1 = {most}; build them "
                              f"in parts")
        raw_text = "\n".join(f"{src}\t{tgt}" for src, tgt in zip(src_sentences, tgt_sentences))
        arrays, _, _ = self._build_arrays(raw_text, self.src_vocab, self.tgt_vocab)
        _refuse_unknown(arrays[0], self.src_vocab, src_sentences)
        return arrays


def read_book_pairs(root, max_mb=MAX_CORPUS_MB, hub=DATA_HUB):
    """The raw text of the book's pairs: its archive (``hub['fra-eng']``: URL and SHA-1),
    found or downloaded into ``root`` and unpacked there, or an unpacked ``fra-eng/fra.txt``
    in the package's cache (see the module's docstring)."""
    root = Path(root)
    url, sha1 = hub[HUB_NAME]
    archive = local_copy(url, root, sha1)
    if archive is None:
        unpacked = cache_dir() / PAIRS_FILE
        if unpacked.exists():
            return read_pairs(unpacked, max_mb)
        archive = download(url, root, sha1)
    extract(archive)
    if not (root / PAIRS_FILE).exists():
        raise CorpusError(f"{archive} unpacked into {root}, but it holds no {PAIRS_FILE}: "
                          f"it is not the book's fra-eng.zip; move it away and download "
                          f"it again")
    return read_pairs(root / PAIRS_FILE, max_mb)


def space_marks(text):
    """``text`` with its no-break spaces plain, lower-cased, and a space put before each
    ``,.!?`` that follows anything but a space (d2l 0.17's ``preprocess_nmt``; 1.0's
    :meth:`MTFraEng._preprocess` differs only where a character lowers to two)."""
    for space in _SPACES:
        text = text.replace(space, " ")
    return _UNSPACED_MARK.sub(r" \1", text.lower())


def split_pairs(text, max_examples=None):
    """(source sentences, target sentences), each a list of tokens, of the lines ``0 ..
    max_examples`` of a preprocessed text (all of them where None), words split at spaces.
    Blank lines are skipped, as the book's; a line that is not ``English<TAB>French``, or
    whose side is empty, is refused, naming it."""
    src, tgt = [], []
    for number, line in enumerate(text.split("\n")):
        if max_examples and number > max_examples:
            break
        if not line.strip() and "\t" not in line:  # blank: a tab would pair two empties
            continue
        sides = line.split("\t")
        if len(sides) != 2:
            raise CorpusError(_not_a_pair(number + 1, line, len(sides)))
        source, target = ([token for token in side.split(" ") if token] for side in sides)
        for tokens, which in ((source, "English (source)"), (target, "French (target)")):
            if not tokens:
                raise CorpusError(f"line {number + 1} of the pairs ({_shown(line)}): its "
                                  f"{which} side is empty; every line must pair a "
                                  f"sentence with its translation")
        src.append(source)
        tgt.append(target)
    return src, tgt


def read_pairs(path, max_mb=MAX_CORPUS_MB):
    """The text of a file of pairs (a regular file of at most ``max_mb`` MB of UTF-8),
    with its line ends made ``\\n``, as the book's ``open(..., encoding='utf-8')`` reads it."""
    return read_corpus(path, max_mb).replace("\r\n", "\n").replace("\r", "\n")


def _shown(line, most=60):
    return repr(line if len(line) <= most else line[:most] + "...")


def _not_a_pair(number, line, columns):
    where = f"line {number} of the pairs ({_shown(line)})"
    if columns == 1:
        return (f"{where} holds no tab; expected one pair a line, the English sentence, a "
                f"tab, its French translation")
    return (f"{where} holds {columns} tab-separated columns; expected two, "
            f"English<TAB>French (a file from manythings.org has a third, its attribution: "
            f"keep the first two, e.g. cut -f 1,2)")


def _sentences(sentences, name):
    """``sentences`` as a list of one-line strings, or a one-line refusal naming ``name``."""
    if isinstance(sentences, str) or not isinstance(sentences, (list, tuple)):
        raise BadType(f"build: {name} must be a list of sentences (strings), got "
                      f"{type(sentences).__name__}")
    for i, sentence in enumerate(sentences):
        if not isinstance(sentence, str):
            raise BadType(f"build: {name}[{i}] must be a sentence (a string), got "
                          f"{type(sentence).__name__}")
        if "\t" in sentence or "\n" in sentence or "\r" in sentence:
            raise BadArgument(f"build: {name}[{i}] ({_shown(sentence)}) holds a tab or a line "
                              f"break; give one sentence per item")
    return list(sentences)


def _refuse_unknown(ids, vocab, sentences):
    """Refuse a sentence whose ids hold ``<unk>`` and no known word (a token with a letter
    or a digit): the model would be asked to translate nothing but unknown words."""
    ids = np.asarray(ops_of(ids).to_numpy(ids))
    special = {"<unk>", *SOURCE_TOKENS, *TARGET_TOKENS}
    known_words = np.asarray([bool(_WORD.search(token)) and token not in special
                              for token in vocab.idx_to_token])
    for i, row in enumerate(ids):
        if (row == vocab.unk).any() and not known_words[row].any():
            raise BadArgument(
                f"build: no word of source sentence {i} ({_shown(sentences[i])}) is in the "
                f"source vocabulary (the words seen at least twice in the training pairs): "
                f"the model would see only <unk>; translate sentences in the corpus's words")


def show_list_len_pair_hist(legend, xlabel, ylabel, xlist, ylist):
    """A histogram of the lengths of the sequences in ``xlist`` and in ``ylist`` side by
    side (the second hatched), on pyplot's current figure, as the book draws 10.5's."""
    lengths = []
    for name, sequences in (("xlist", xlist), ("ylist", ylist)):
        try:
            lengths.append([len(sequence) for sequence in sequences])
        except TypeError:
            raise BadType(f"show_list_len_pair_hist: {name} must be a list of sequences "
                          f"(token lists), got {type(sequences).__name__}") from None
    set_figsize()
    _, _, bars = plt.hist(lengths)
    for bar in bars[1]:  # hatched: the two tell apart in print too
        bar.set_hatch("/")
    plt.xlabel(xlabel)
    plt.ylabel(ylabel)
    plt.legend(legend)


def bleu(pred_seq, label_seq, k):
    """The BLEU of 10.7 of a predicted sentence against its label, each a string of tokens
    separated by single spaces: exp(min(0, 1 - len_label / len_pred)) times, for n = 1 ..
    min(k, len_pred), p_n ** (1 / 2**n), where p_n is the share of the prediction's n-grams
    found in the label (each of the label's n-grams matching at most as often as it occurs
    there). 1 for a perfect prediction; the factor before the product penalises short ones.
    """
    for name, value in (("pred_seq", pred_seq), ("label_seq", label_seq)):
        if not isinstance(value, str):
            raise BadType(f"bleu: {name} must be a sentence (a string of tokens separated by "
                          f"spaces), got {type(value).__name__}")
    k = checks.whole(k, "k", "bleu")
    pred, label = pred_seq.split(" "), label_seq.split(" ")
    score = math.exp(min(0.0, 1 - len(label) / len(pred)))
    for n in range(1, min(k, len(pred)) + 1):
        available = collections.Counter(_ngrams(label, n))
        matched = 0
        for gram in _ngrams(pred, n):
            if available[gram] > 0:
                available[gram] -= 1
                matched += 1
        score *= (matched / (len(pred) - n + 1)) ** (0.5 ** n)
    return score


def _ngrams(tokens, n):
    return [tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]
