"""The book-cell runner (benchmarks/book/run_cells.py) picks each framework's cells as the
book's notebooks do, in both editions, and changes only the import line (and, when asked,
the epochs). The documents here are small markdown files of our own in the books' formats;
running the book itself takes a checkout of it (the script's header says how)."""
import os
import runpy
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest

SCRIPT = Path(__file__).parent.parent / "benchmarks" / "book" / "run_cells.py"

FENCE = "```"
# A section in the 0.17 edition's format: cells with a first line `#@tab ...` (spaces after
# the commas or not), cells without one (MXNet's), prose, and a block that is not an input.
ZH_SECTION = textwrap.dedent(f"""\
    # 一个小节

    Some prose first.

    {FENCE}{{.python .input}}
    from d2l import mxnet as d2l
    from mxnet import np, npx
    npx.set_np()
    {FENCE}

    {FENCE}{{.python .input}}
    #@tab pytorch
    from d2l import torch as d2l
    import torch
    {FENCE}

    {FENCE}{{.python .input}}
    #@tab tensorflow
    from d2l import tensorflow as d2l
    {FENCE}

    {FENCE}{{.python .input  n=4}}
    #@tab all
    steps = 7
    {FENCE}

    {FENCE}{{.python .input}}
    #@tab mxnet,pytorch, paddle
    shared = steps * 2
    {FENCE}

    {FENCE}{{.python}}
    not_an_input = True
    {FENCE}

    {FENCE}{{.python .input}}
    #@tab paddle
    import paddle
    {FENCE}

    {FENCE}{{.python .input}}
    #@tab pytorch
    num_epochs, lr = 500, 1  # 轮数与学习率
    d2l.train_ch8(net, train_iter, vocab, lr, num_epochs, device)
    {FENCE}
    """)

# A section in the 1.0 edition's format: d2lbook's set-up cell, then `%%tab` cells.
EN_SECTION = textwrap.dedent(f"""\
    {FENCE}{{.python .input}}
    %load_ext d2lbook.tab
    tab.interact_select(['mxnet', 'pytorch'])
    {FENCE}

    {FENCE}{{.python .input  n=2}}
    %%tab pytorch, jax
    from d2l import torch as d2l
    {FENCE}

    {FENCE}{{.python .input}}
    %%tab all
    trainer = d2l.Trainer(max_epochs=50, gradient_clip_val=1)
    {FENCE}
    """)


@pytest.fixture(scope="module")
def runner():
    return SimpleNamespace(**runpy.run_path(str(SCRIPT)))  # its globals, not run as __main__


def codes(cells):
    return [(cell.line, cell.code) for cell in cells]


def test_0_17_cells_for_pytorch_are_its_tagged_and_shared_cells(runner):
    edition = runner.EDITIONS["0.17"]
    cells = edition.cells(ZH_SECTION, edition.tabs["torch"])
    assert codes(cells) == [
        (11, "from d2l import torch as d2l\nimport torch"),
        (22, "steps = 7"),
        (27, "shared = steps * 2"),
        (41, "num_epochs, lr = 500, 1  # 轮数与学习率\n"
             "d2l.train_ch8(net, train_iter, vocab, lr, num_epochs, device)")]


def test_0_17_untagged_cells_are_mxnets(runner):
    edition = runner.EDITIONS["0.17"]
    assert codes(edition.cells(ZH_SECTION, edition.tabs["mxnet"])) == [
        (5, "from d2l import mxnet as d2l\nfrom mxnet import np, npx\nnpx.set_np()"),
        (22, "steps = 7"),
        (27, "shared = steps * 2")]
    assert codes(edition.cells(ZH_SECTION, edition.tabs["tensorflow"])) == [
        (17, "from d2l import tensorflow as d2l"), (22, "steps = 7")]


def test_0_17_import_line_names_the_earlier_edition(runner):
    edition = runner.EDITIONS["0.17"]
    for framework in edition.tabs:
        code = f"%matplotlib inline\nfrom d2l import {framework} as d2l\nimport math"
        assert runner.prepared(edition, code, 0) == (
            f"%matplotlib inline\nfrom d2lrnn.v0_17 import {framework} as d2l\nimport math")


@pytest.mark.parametrize("line, lowered", [
    ("num_epochs, lr = 500, 1  # 轮数", "num_epochs, lr = 20, 1  # 轮数"),
    ("lr, num_epochs, device = 0.005, 300, d2l.try_gpu()",
     "lr, num_epochs, device = 0.005, 20, d2l.try_gpu()"),
    ("num_epochs = 400", "num_epochs = 20"),
    ("num_epochs = 5", "num_epochs = 5"),                # already below the cap
    ("num_epochs, lr = 500.0, 1", "num_epochs, lr = 500.0, 1"),  # not an integer: left
    ("    num_epochs = 400", "    num_epochs = 400"),     # inside a block: left
    ("for epoch in range(num_epochs):", "for epoch in range(num_epochs):"),
    ("num_steps = 35", "num_steps = 35"),
])
def test_0_17_max_epochs_lowers_only_what_is_assigned_to_num_epochs(runner, line, lowered):
    edition = runner.EDITIONS["0.17"]
    code = f"from d2l import torch as d2l\n{line}\nprint(num_epochs)"
    assert runner.prepared(edition, code, 20) == (
        f"from d2lrnn.v0_17 import torch as d2l\n{lowered}\nprint(num_epochs)")
    assert runner.prepared(edition, code, 0).endswith(f"\n{line}\nprint(num_epochs)")


def test_1_0_cells_unchanged_by_the_second_edition(runner):
    edition = runner.EDITIONS["1.0"]
    cells = edition.cells(EN_SECTION, edition.tabs["jax"])
    assert codes(cells) == [(6, "from d2l import torch as d2l"),
                            (11, "trainer = d2l.Trainer(max_epochs=50, gradient_clip_val=1)")]
    assert codes(edition.cells(EN_SECTION, edition.tabs["mxnet"])) == [
        (11, "trainer = d2l.Trainer(max_epochs=50, gradient_clip_val=1)")]
    assert [runner.prepared(edition, c.code, 2) for c in cells] == [
        "from d2lrnn import torch as d2l",
        "trainer = d2l.Trainer(max_epochs=2, gradient_clip_val=1)"]
    assert "tab = _Tab()" in runner.selector(edition, "torch")
    assert runner.selector(runner.EDITIONS["0.17"], "torch") == ""


@pytest.mark.parametrize("argv, message", [
    (["--edition", "0.17", "--framework", "jax"], "has no jax cells"),
    (["--edition", "0.17", "--framework", "torch", "--sections", "text-sequence"],
     "no section text-sequence in the 0.17 edition"),
    (["--framework", "torch", "--max-epochs", "-3"], "give a positive number of epochs"),
    (["--edition", "0.17", "--framework", "torch", "--sections", "rnn"],
     "pass a checkout of d2l-ai/d2l-zh"),
])
def test_wrong_arguments_are_one_line(runner, tmp_path, capsys, argv, message):
    with pytest.raises(SystemExit) as exit_:
        runner.main(["--book", str(tmp_path), "--out", str(tmp_path / "out"), *argv])
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_report_names_each_failure_by_its_markdown_line(runner):
    report = {"edition": "0.17", "source": "d2l-ai/d2l-zh", "book_commit": "abc",
              "framework": "torch", "max_epochs": 20, "python": "3.11.7", "ran": 1,
              "total": 2, "sections": [{"section": "rnn", "seconds": 3.2, "cells": [
                  {"cell": 1, "line": 5, "ok": True, "figures": 1, "error": ""},
                  {"cell": 2, "line": 9, "ok": False, "figures": 0,
                   "error": "AttributeError: module has no attribute 'x|y'\nmore"}]}]}
    page = runner.summary(report)
    assert "| rnn | 1 | 2 | 1 | 3 |" in page
    assert "| rnn | 2 | 9 | AttributeError: module has no attribute 'x/y' |" in page
    assert "lowered to at most 20" in page and "more" not in page


def test_stand_ins_give_the_kernels_the_stand_in_pairs_beside_the_readers_files(
        runner, tmp_path, monkeypatch):
    """``--stand-ins``: a data folder of the run's own links the cache's files (the corpus)
    but not the book's archive, and holds our pairs unpacked, which the library's readers
    then take offline in place of the book's."""
    import pooch

    from d2lrnn.book.translation import read_book_pairs
    from d2lrnn.chapters.translation import stand_in_pairs

    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "timemachine.txt").write_text("the time machine, ours\n")
    (cache / "fra-eng.zip").write_bytes(b"not the stand-in")
    monkeypatch.setenv("D2LRNN_DATA", str(cache))
    (tmp_path / "out" / "stand-in-data" / "fra-eng").mkdir(parents=True)
    leftover = tmp_path / "out" / "stand-in-data" / "fra-eng" / "fra.txt"
    os.mkfifo(leftover)  # a pipe an earlier run left: writing into it would wait for a reader
    reader = os.open(leftover, os.O_RDONLY | os.O_NONBLOCK)  # so that a regression fails here
    try:
        folder = runner.stand_in_data(tmp_path / "out" / "stand-in-data")
    finally:
        os.close(reader)
    assert leftover.is_file() and not leftover.is_fifo()
    assert (folder / "timemachine.txt").read_text() == "the time machine, ours\n"
    assert not (folder / "fra-eng.zip").exists()
    monkeypatch.setenv("D2LRNN_DATA", str(folder))
    monkeypatch.setattr(pooch, "retrieve", lambda *a, **k: pytest.fail("reached the network"))
    (tmp_path / "data").mkdir()
    assert read_book_pairs(tmp_path / "data") == stand_in_pairs()
