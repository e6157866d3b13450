"""The Time Machine corpus as character windows (d2l.ai sections 9.2-9.3), in NumPy.

Framework-neutral: batches are NumPy integer arrays, which every backend converts. The
corpus is downloaded once from the book's data host, checked against its SHA-1 and cached;
``D2LRNN_DATA`` names a folder to look in (and cache to) instead, and a local file can be
passed directly.
"""
import hashlib
import re
from pathlib import Path

import numpy as np

from ..base import checks
from ..base.backend import ops_of
from ..base.downloads import DATA_URL, cache_dir, sha1_of
from ..base.errors import UserError
from ..base.vocab import Vocab
from ..training.settings import FIELDS
from .library import DataModule

FILENAME = "timemachine.txt"
URL = DATA_URL + FILENAME
SHA1 = "090b5e7e70c295757f55df93cb0a180b9691891a"
BOOK_BYTES = 178_979  # the size of the book's file


class CorpusError(UserError, RuntimeError):
    """The corpus cannot be had, or is not the expected file, or is too short."""


def data_dir():
    """Where the corpus is looked for and cached: ``$D2LRNN_DATA``, else the user cache."""
    return cache_dir()


def download_timemachine(folder=None):
    """The path of a verified ``timemachine.txt`` in ``folder`` (default :func:`data_dir`),
    downloading it there first if it is absent. A file there with the wrong hash is never
    used and never overwritten."""
    import pooch

    folder = Path(folder) if folder is not None else data_dir()
    path = folder / FILENAME
    if path.exists():  # a pipe or a device there is refused, not hashed without end
        digest = sha1_of(path, "cached book", CorpusError)
        if digest != SHA1:
            raise CorpusError(
                f"{path} has SHA-1 {digest}, not {SHA1}: it is not the book's {FILENAME}, "
                f"or it is damaged. It was left untouched: move it away (a fresh copy will be "
                f"downloaded) or pass the path of a good copy.")
        return path
    try:
        return Path(pooch.retrieve(URL, known_hash=f"sha1:{SHA1}", fname=FILENAME,
                                   path=folder, progressbar=_progress_wanted()))
    except Exception as err:  # network errors come from requests, hash errors as ValueError
        raise CorpusError(
            f"could not download {URL} into {folder} ({type(err).__name__}: {err}). "
            f"Without a network: put {FILENAME} (SHA-1 {SHA1}) in a folder and point the "
            f"D2LRNN_DATA environment variable at it, or pass the file's path "
            f"(corpus=PATH in Python, --corpus PATH on the command line).") from err


def _progress_wanted():
    import sys

    return sys.stderr.isatty()


# The most of a corpus file that is read (the book is 0.18 MB): a larger file is refused with
# the option that raises the limit, before anything is read.
MAX_CORPUS_MB = 64


def read_corpus(corpus=None, max_mb=MAX_CORPUS_MB):
    """The text of ``corpus`` (a path used as is), or of the verified book: a regular file
    of at most ``max_mb`` MB of UTF-8 text."""
    path = Path(checks.path_text(corpus, "the corpus")) if corpus is not None else \
        download_timemachine()
    checks.regular_file(path, "corpus file", max_mb * 2**20, "--max-corpus-mb (max_mb=)",
                        CorpusError)
    try:
        text = path.read_bytes().decode("utf-8")
    except PermissionError:
        raise CorpusError(f"the corpus {path} cannot be read (permission denied); expected "
                          f"a readable text file") from None
    except UnicodeDecodeError as err:
        raise CorpusError(f"the corpus {path} is not UTF-8 text (byte {err.start} cannot be "
                          f"decoded); expected a text file in UTF-8") from None
    except OSError as err:
        raise CorpusError(f"the corpus {path} cannot be read ({err.strerror or err})") from None
    if "\x00" in text:
        raise CorpusError(f"the corpus {path} holds NUL characters: it is UTF-16 or binary, "
                          f"not UTF-8 text (convert it, e.g. iconv -f UTF-16 -t UTF-8)")
    return text


_NON_LETTERS = re.compile("[^A-Za-z]+")
_LETTER = re.compile("[A-Za-z]")
CHUNK = 1 << 22  # characters handled at once: Ctrl-C is answered between chunks


def preprocess(text):
    """The book's preprocessing: every run of non-letters becomes one space; lower case.
    Done in chunks that begin at a letter (so no run is cut: the result is the same)."""
    parts, start = [], 0
    while start < len(text):
        found = _LETTER.search(text, min(start + CHUNK, len(text)))
        end = found.start() if found else len(text)
        parts.append(_NON_LETTERS.sub(" ", text[start:end]).lower())
        start = end
    return "".join(parts)


class TimeMachine(DataModule):
    """Windows of ``num_steps + 1`` characters: inputs X and targets Y shifted by one.

    As the book: the first ``num_train`` windows train, the next ``num_val`` validate;
    ``whole_book=True`` trains on every window but the last ``num_val``. Training windows
    are shuffled every epoch by a generator seeded with (``seed``, epoch).

    Every method works on what the book's own ``__init__`` sets too (a reader may replace it
    with ``add_to_class``, as section 9.3 does): ``X`` and ``Y`` may be any framework's arrays.
    """

    corpus = None  # a local text file instead of the book (our __init__'s corpus=)
    seed = 0       # of the training batches' order
    max_corpus_mb = MAX_CORPUS_MB  # the largest corpus file read

    def __init__(self, batch_size, num_steps, num_train=10000, num_val=5000, *, corpus=None,
                 whole_book=False, seed=0, vocab=None, max_corpus_mb=MAX_CORPUS_MB):
        # by the rules of a run's settings (d2lrnn.training.settings): one rule each
        batch_size, num_steps, num_train, num_val, seed = (
            FIELDS[name].metadata["rule"].check(value, name, "TimeMachine") for name, value in (
                ("batch_size", batch_size), ("num_steps", num_steps), ("num_train", num_train),
                ("num_val", num_val), ("seed", seed)))
        self.batch_size, self.num_steps, self.seed = batch_size, num_steps, seed
        self.corpus, self.max_corpus_mb = corpus, max_corpus_mb
        text = self._download()
        self.sha1 = hashlib.sha1(text.encode("utf-8")).hexdigest()  # which text, for records
        tokens, self.vocab = self.token_ids(text, vocab)
        del text
        num_windows = len(tokens) - num_steps
        if whole_book:
            num_train = num_windows - num_val
        if num_train < 1 or num_train + num_val > num_windows:
            raise CorpusError(
                f"the corpus has {len(tokens)} characters after preprocessing, which make "
                f"{max(num_windows, 0)} windows of num_steps + 1 = {num_steps + 1}; "
                f"num_train + num_val = {num_train} + {num_val} do not fit. Use a longer "
                f"corpus (--corpus), fewer steps (num_steps, --num-steps), or fewer windows "
                f"(num_train / num_val, --num-train / --num-val).")
        self.num_train, self.num_val = num_train, num_val
        # Read-only views of the token ids, not copies: the windows of a whole long book
        # would take num_steps + 1 times its memory. Batches are copies of their rows.
        windows = np.lib.stride_tricks.sliding_window_view(tokens, num_steps + 1)
        windows = windows[:num_train + num_val]
        self.X, self.Y = windows[:, :-1], windows[:, 1:]

    def _download(self):
        """The raw text: the book (downloaded once, checked, cached) or the ``corpus`` file."""
        return read_corpus(self.corpus, self.max_corpus_mb)

    def _preprocess(self, text):
        """Every run of non-letters becomes one space; lower case."""
        return preprocess(text)

    def _tokenize(self, text):
        """Characters are the tokens."""
        return list(text)

    def build(self, raw_text, vocab=None):
        """(token ids, vocabulary) of a raw text: the ids as a list, as the book's."""
        ids, vocab = self.token_ids(raw_text, vocab)
        return ids.tolist(), vocab

    def token_ids(self, raw_text, vocab=None):
        """(token ids as a NumPy int64 array, vocabulary) of a raw text. With this class's
        own preprocessing and characters as tokens, counted and looked up by NumPy in
        chunks (the book's 0.18 MB in milliseconds, a 64 MB corpus in seconds); with a
        reader's ``_preprocess`` or ``_tokenize``, their tokens one by one."""
        text = self._preprocess(raw_text)
        if not text.strip():
            raise CorpusError("the corpus holds no letters")
        ours = all(getattr(type(self), name) is getattr(TimeMachine, name)
                   for name in ("_preprocess", "_tokenize"))
        if not ours or not text.isascii():
            tokens = self._tokenize(text)
            vocab = vocab if vocab is not None else Vocab(tokens)
            return np.asarray([vocab[token] for token in tokens], dtype=np.int64), vocab
        codes = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
        if vocab is None:
            vocab = Vocab.from_counts(_character_counts(codes))
        table = np.full(128, vocab.unk, dtype=np.int64)
        for token, index in vocab.token_to_idx.items():
            if len(token) == 1 and token.isascii():
                table[ord(token)] = index
        return np.concatenate([table[codes[i:i + CHUNK]]
                               for i in range(0, len(codes), CHUNK)]), vocab

    def train_batches(self, epoch=0):
        """Shuffled (X, Y) minibatches of the training windows; the last one may be short."""
        order = np.random.default_rng([self.seed, epoch]).permutation(self.num_train)
        take = ops_of(self.X).take_rows
        for start in range(0, self.num_train, self.batch_size):
            idx = order[start:start + self.batch_size]
            yield take(self.X, idx), take(self.Y, idx)

    def val_batches(self):
        """(X, Y) minibatches of the validation windows, in order."""
        end = self.num_train + self.num_val
        take = ops_of(self.X).take_rows  # copies (the windows are read-only views)
        for start in range(self.num_train, end, self.batch_size):
            rows = np.arange(start, min(start + self.batch_size, end))
            yield take(self.X, rows), take(self.Y, rows)

    def get_dataloader(self, train):
        """The book's loaders: each pass over the training loader is the next epoch."""
        return _Loader(self, train)


def _character_counts(codes):
    """[(character, count)] of the ASCII codes, in the order of their first occurrence (as
    collections.Counter gives them), counted in chunks."""
    counts, first = np.zeros(128, dtype=np.int64), np.full(128, len(codes), dtype=np.int64)
    for start in range(0, len(codes), CHUNK):
        chunk = codes[start:start + CHUNK]
        in_chunk = np.bincount(chunk, minlength=128)
        counts += in_chunk
        for code in np.flatnonzero((first == len(codes)) & (in_chunk > 0)):
            first[code] = start + int(np.argmax(chunk == code))
    present = np.flatnonzero(counts)
    return [(chr(code), int(counts[code])) for code in present[np.argsort(first[present],
                                                                         kind="stable")]]


class _Loader:
    def __init__(self, data, train):
        self.data, self.train, self.epoch = data, train, 0

    def __len__(self):
        n = self.data.num_train if self.train else self.data.num_val
        return -(-n // self.data.batch_size)

    def __iter__(self):
        if not self.train:
            return self.data.val_batches()
        self.epoch += 1
        return self.data.train_batches(self.epoch - 1)
