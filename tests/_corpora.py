"""The texts tests train on: the book where ``D2LRNN_DATA`` has it, else a synthetic one."""
import os
from pathlib import Path

import pytest


def book_path():
    """The verified book from $D2LRNN_DATA, or a skip that says how to provide it."""
    from d2lrnn.book import data

    folder = os.environ.get("D2LRNN_DATA")
    path = Path(folder) / data.FILENAME if folder else None
    if path is None or not path.is_file():
        pytest.skip("the book is not here: point D2LRNN_DATA at a folder holding "
                    "timemachine.txt (.ci/run does)")
    assert data.sha1_of(path) == data.SHA1, f"{path} is not the book's timemachine.txt"
    return path


def synthetic_corpus(folder, words=4000, seed=0):
    """A text file of pseudo-random words (letters, spaces, punctuation) for tests that must
    run without the book."""
    import numpy as np

    rng = np.random.default_rng(seed)
    vocabulary = ["the", "time", "traveller", "machine", "it", "has", "a", "of", "and",
                  "we", "was", "in", "to", "Filby", "said", "psychologist", "very", "odd"]
    text = " ".join(rng.choice(vocabulary, words)) + ".\n"
    path = folder / "synthetic.txt"
    path.write_text(text.replace(" of ", ", of ").replace(" we ", "; We "), encoding="utf-8")
    return path


def book_or_synthetic(folder):
    """The book where it is here (as in CI), else a synthetic text written into ``folder``."""
    try:
        return book_path()
    except pytest.skip.Exception:
        return synthetic_corpus(folder)
