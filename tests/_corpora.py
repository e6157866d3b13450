"""The texts tests train on: the book, fetched and verified by the package's own download
where it is not here yet (``D2LRNN_DATA``, else the package's cache: once, then kept), else,
offline, a text of our own that a model learns from as fast as from the book."""
import functools
import os
from pathlib import Path

import pytest


@functools.cache
def _the_book():
    """(the verified book's path, None) or (None, why it could not be had); asked once."""
    from d2lrnn.book import data

    folder = os.environ.get("D2LRNN_DATA")
    if folder and (Path(folder) / data.FILENAME).is_file():
        path = Path(folder) / data.FILENAME
        assert data.sha1_of(path) == data.SHA1, f"{path} is not the book's timemachine.txt"
        return path, None
    try:
        return data.download_timemachine(), None  # $D2LRNN_DATA, else the user's cache
    except data.CorpusError as err:
        return None, str(err)


def book_path():
    """The verified book, or, where it cannot be had (offline), a skip that says why: only
    for tests of the book itself (the others train on :func:`book_or_synthetic`)."""
    path, why = _the_book()
    if path is None:
        pytest.skip(f"the book cannot be had here: {why}")
    return path


def synthetic_corpus(folder, words=4000, seed=0):
    """A text file of pseudo-random words (letters, spaces, punctuation, capitals) for tests
    that must run without the book. The words come as in English, a few often and most
    rarely (Zipf's law: the k-th with probability proportional to 1/k), so that a model's
    loss falls in the training-parity tests' 50 steps as on the book (the GRU's by 0.54,
    0.48 on the book); drawn uniformly, it fell by 0.28, under those tests' guard of 0.3."""
    import numpy as np

    rng = np.random.default_rng(seed)
    vocabulary = ("the of and a to in was it that he had his as with at we for but not said "
                  "time has very one from by machine traveller little were odd Filby is "
                  "psychologist upon came then like light thing world").split()
    weights = 1 / np.arange(1, len(vocabulary) + 1)
    text = " ".join(rng.choice(vocabulary, words, p=weights / weights.sum())) + ".\n"
    path = folder / "synthetic.txt"
    path.write_text(text.replace(" of ", ", of ").replace(" we ", "; We "), encoding="utf-8")
    return path


def book_or_synthetic(folder):
    """The book where it can be had, else a synthetic text written into ``folder``."""
    path, _ = _the_book()
    return path if path is not None else synthetic_corpus(folder)


# -- a parallel corpus of our own, in the format of the book's fra-eng/fra.txt -----------------
# (the grammar is the translation chapter's stand-in corpus: d2lrnn/chapters/translation.py)

def parallel_pairs(pairs=800, seed=0):
    """``pairs`` lines ``English<TAB>French`` of the stand-in grammar, the same for a seed on
    every machine."""
    from d2lrnn.chapters.translation import stand_in_pairs

    return stand_in_pairs(pairs, seed)


def parallel_corpus(folder, pairs=800, seed=0):
    """Write the stand-in pairs into ``folder`` as the book ships them, ``fra-eng.zip``
    holding ``fra-eng/fra.txt``; return (the archive's path, its SHA-1)."""
    import hashlib
    import zipfile

    archive = Path(folder) / "fra-eng.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr("fra-eng/fra.txt", parallel_pairs(pairs, seed))
    return archive, hashlib.sha1(archive.read_bytes()).hexdigest()
