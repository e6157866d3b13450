"""The tests' texts (tests/_corpora.py): the book fetched where a network exists, and offline
a text of our own on which every training test runs, its guards unchanged."""
import inspect

import numpy as np
import pytest
from _corpora import _the_book, book_or_synthetic, synthetic_corpus
from _parity import SGD, STEPS, assert_trains_as_the_reference

from d2lrnn.book import data
from d2lrnn.book.data import TimeMachine
from d2lrnn.tools.experiment import build_lm

# the training-parity tests' guard: the reference's loss must fall this much in their steps
LEARNS_BY = inspect.signature(assert_trains_as_the_reference).parameters["learns_by"].default


@pytest.mark.parametrize("cell, reset", [("gru", "before"), ("gru", "after"), ("lstm", None)])
def test_the_gated_cells_learn_on_our_own_text(tmp_path, cell, reset):
    """As the small_book fixture trains them (conftest.py), with the synthetic text: offline,
    the GRU and LSTM training tests failed here ("the reference must learn in these
    steps": their loss fell 0.28)."""
    from d2lrnn import numpy as reference
    from d2lrnn.training.train import fit

    book = TimeMachine(32, 16, num_train=STEPS * 32, num_val=64,
                       corpus=synthetic_corpus(tmp_path), seed=7)
    lm = build_lm(reference, "scratch", len(book.vocab), 12, "float64", seed=1, cell=cell,
                  reset=reset)
    losses = np.array(fit(lm, book, **SGD)["step_loss"])
    assert losses[0] - losses[-1] > LEARNS_BY + 0.1  # with room to spare


def test_offline_the_tests_train_on_our_own_text(tmp_path, monkeypatch):
    def offline(folder=None):
        raise data.CorpusError("could not download (no network)")

    monkeypatch.delenv("D2LRNN_DATA", raising=False)
    monkeypatch.setattr(data, "download_timemachine", offline)
    _the_book.cache_clear()
    try:
        assert _the_book() == (None, "could not download (no network)")
        assert book_or_synthetic(tmp_path) == tmp_path / "synthetic.txt"
    finally:
        _the_book.cache_clear()


def test_the_book_is_fetched_by_the_package_where_it_is_not_here(tmp_path, monkeypatch):
    """No D2LRNN_DATA (a reader's clone): the package's own download, into its cache."""
    fetched = tmp_path / data.FILENAME
    monkeypatch.delenv("D2LRNN_DATA", raising=False)
    monkeypatch.setattr(data, "download_timemachine", lambda folder=None: fetched)
    _the_book.cache_clear()
    try:
        assert book_or_synthetic(tmp_path) == fetched
    finally:
        _the_book.cache_clear()
