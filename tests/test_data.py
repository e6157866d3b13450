"""The Time Machine data: download + hash + cache, preprocessing, windows, bad data."""
import functools
import http.server
import os
import socket
import subprocess
import sys
import threading

import numpy as np
import pytest
from _corpora import book_path, synthetic_corpus

from d2lrnn.book import data
from d2lrnn.book.data import CorpusError, TimeMachine


def test_preprocessing_and_vocab(tmp_path):
    corpus = tmp_path / "t.txt"
    corpus.write_text("The Time-Machine,  by H. G. Wells\n\nI.", encoding="utf-8")
    d = TimeMachine(2, 3, num_train=20, num_val=5, corpus=corpus)
    text = "the time machine by h g wells i "
    assert "".join(d.vocab.to_tokens(d.X[0])) == text[:3]
    assert d.vocab.idx_to_token[:2] == [" ", "<unk>"]
    assert len(d.vocab) == len(set(text)) + 1
    # windows: Y is X shifted by one character
    np.testing.assert_array_equal(d.X[1:, -1], d.Y[:-1, -1])
    np.testing.assert_array_equal(d.X[:, 1:], d.Y[:, :-1])


def test_batches_split_and_shuffle(tmp_path):
    d = TimeMachine(32, 8, num_train=100, num_val=40, corpus=synthetic_corpus(tmp_path), seed=3)
    sizes = [len(X) for X, _ in d.train_batches(0)]
    assert sizes == [32, 32, 32, 4]  # like the book's loader, the last batch is short
    seen = np.concatenate([X for X, _ in d.train_batches(0)])
    assert sorted(map(tuple, seen)) == sorted(map(tuple, d.X[:100]))
    first = [X.copy() for X, _ in d.train_batches(0)]
    again = [X for X, _ in d.train_batches(0)]
    other = [X for X, _ in d.train_batches(1)]
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not np.array_equal(first[0], other[0])
    val = np.concatenate([X for X, _ in d.val_batches()])
    np.testing.assert_array_equal(val, d.X[100:140])


def test_whole_book_option(tmp_path):
    corpus = synthetic_corpus(tmp_path)
    d = TimeMachine(64, 16, num_val=100, corpus=corpus, whole_book=True)
    n_chars = len(data.preprocess(corpus.read_text()))
    assert d.num_train == n_chars - 16 - 100
    assert d.num_train > 10000


def test_too_short_and_empty_corpus(tmp_path):
    short = tmp_path / "short.txt"
    short.write_text("a tiny text", encoding="utf-8")
    with pytest.raises(CorpusError, match="11 characters.*num_train \\+ num_val"):
        TimeMachine(4, 32, corpus=short)
    empty = tmp_path / "empty.txt"
    empty.write_text("1234 !!", encoding="utf-8")
    with pytest.raises(CorpusError, match="no letters"):
        TimeMachine(4, 2, corpus=empty)
    with pytest.raises(CorpusError, match="no corpus file"):
        TimeMachine(4, 2, corpus=tmp_path / "missing.txt")


class _Server:
    """A loopback HTTP server for one folder, counting the requests it answers."""

    def __init__(self, folder):
        self.requests = 0
        server = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def do_GET(self):
                server.requests += 1
                super().do_GET()

            def log_message(self, *args):
                pass

        handler = functools.partial(Handler, directory=str(folder))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/{data.FILENAME}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def served(tmp_path, monkeypatch):
    """A fake 'book' served on loopback, with URL and SHA-1 pointed at it."""
    site = tmp_path / "site"
    site.mkdir()
    source = synthetic_corpus(tmp_path)
    (site / data.FILENAME).write_bytes(source.read_bytes())
    server = _Server(site)
    monkeypatch.setattr(data, "URL", server.url)
    monkeypatch.setattr(data, "SHA1", data.sha1_of(source))
    cache = tmp_path / "cache"
    monkeypatch.setenv("D2LRNN_DATA", str(cache))
    for name in ("NO_PROXY", "no_proxy"):  # loopback, straight: not through a user's proxy
        monkeypatch.setenv(name, "127.0.0.1")
    yield server, cache, source
    server.close()


def test_download_verifies_and_caches(served):
    server, cache, source = served
    d = TimeMachine(16, 8, num_train=100, num_val=10)
    assert (cache / data.FILENAME).read_bytes() == source.read_bytes()
    assert server.requests == 1
    TimeMachine(16, 8, num_train=100, num_val=10)  # from the cache, no second download
    assert server.requests == 1
    assert len(d.vocab) > 10


def test_wrong_hash_is_never_used_nor_overwritten(served):
    server, cache, _ = served
    cache.mkdir()
    bad = cache / data.FILENAME
    bad.write_text("not the book", encoding="utf-8")
    with pytest.raises(CorpusError, match="left untouched"):
        TimeMachine(16, 8, num_train=100, num_val=10)
    assert bad.read_text(encoding="utf-8") == "not the book"
    assert server.requests == 0


def test_download_with_a_wrong_hash_keeps_nothing(served, monkeypatch):
    server, cache, _ = served
    monkeypatch.setattr(data, "SHA1", "0" * 40)
    with pytest.raises(CorpusError, match="could not download"):
        TimeMachine(16, 8, num_train=100, num_val=10)
    assert not (cache / data.FILENAME).exists()


def test_no_network_says_what_to_do(tmp_path, monkeypatch):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/{data.FILENAME}"
    monkeypatch.setattr(data, "URL", url)
    monkeypatch.setenv("D2LRNN_DATA", str(tmp_path / "cache"))
    with pytest.raises(CorpusError) as info:
        TimeMachine(16, 8)
    message = str(info.value)
    assert url in message and "D2LRNN_DATA" in message and "--corpus" in message


def test_the_book():
    d = TimeMachine(1024, 32, corpus=book_path())
    assert len(d.vocab) == 28
    assert d.X.shape == (15000, 32)
    assert "".join(d.vocab.to_tokens(d.X[0])).startswith("the time machine by h g wells")
    assert sum(1 for _ in d.train_batches(0)) == 10 and sum(1 for _ in d.val_batches()) == 5


def test_the_book_through_d2lrnn_data(monkeypatch):
    folder = book_path().parent
    monkeypatch.setenv("D2LRNN_DATA", str(folder))
    assert data.download_timemachine() == folder / data.FILENAME


@pytest.mark.parametrize("kind", ["a named pipe", "a link to a device"])
def test_a_cached_book_that_is_not_a_file_is_refused_without_hanging(tmp_path, kind):
    cache = tmp_path / "cache"
    cache.mkdir()
    if kind == "a named pipe":
        os.mkfifo(cache / data.FILENAME)  # hashing it would wait for a writer forever
    else:
        os.symlink("/dev/zero", cache / data.FILENAME)  # hashing it would never end
    result = subprocess.run([sys.executable, "-m", "d2lrnn", "train", "--epochs", "1",
                             "--quiet"], env={**os.environ, "D2LRNN_DATA": str(cache)},
                            capture_output=True, text=True, timeout=120)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert str(cache / data.FILENAME) in lines[0] and "not a regular file" in lines[0]
    assert "move it away" in lines[0]
