"""Every chapter runs, for every framework this env holds (fast settings), and draws its
figures: a chapter cannot rot unnoticed."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from _backends import book_path
from d2lrnn.backend import BACKENDS, is_installed

CHAPTERS = sorted((Path(__file__).parent.parent / "chapters").glob("[0-9]*.py"))
FIGURES = {"01_rnn": {"rnn_unrolled", "machine_untrained", "machine_trained"},
           "02_time_machine": {"time_machine_perplexity"},
           "03_exercises": {"early_token", "gradient_norms", "cost_vs_length"}}


def test_every_chapter_is_listed():
    assert {c.stem for c in CHAPTERS} == set(FIGURES)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
@pytest.mark.parametrize("backend", BACKENDS)
def test_chapter_runs(chapter, backend, tmp_path):
    if not is_installed(backend):
        pytest.skip(f"{backend} is not installed in this env")
    env = {**os.environ, "D2LRNN_BACKEND": backend, "D2LRNN_FAST": "1",
           "D2LRNN_FIGURES": str(tmp_path), "MPLBACKEND": "Agg", "TF_CPP_MIN_LOG_LEVEL": "2"}
    if chapter.stem == "02_time_machine":
        env["D2LRNN_DATA"] = str(book_path().parent)
    result = subprocess.run([sys.executable, str(chapter)], capture_output=True, text=True,
                            env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    drawn = {p.stem for p in tmp_path.glob("*.png")}
    assert drawn == FIGURES[chapter.stem]
    if chapter.stem == "01_rnn":
        assert "predicts 'achine'" in result.stdout


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_opens_as_a_notebook(chapter):
    import jupytext  # in the test extra: every env has it
    notebook = jupytext.read(chapter)
    kinds = [cell.cell_type for cell in notebook.cells]
    assert kinds.count("markdown") >= 2 and kinds.count("code") >= 2
    assert notebook.cells[0].cell_type == "markdown"
    assert notebook.cells[0].source.startswith("# ")  # the chapter's title
