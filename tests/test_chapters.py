"""Every chapter runs, for every framework this env holds (fast settings), and draws its
figures: a chapter cannot rot unnoticed."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
from _corpora import book_path


CHAPTERS = sorted((Path(__file__).parent.parent / "chapters").glob("[0-9]*.py"))
FIGURES = {"01_rnn": {"rnn_unrolled", "machine_untrained", "machine_trained"},
           "02_time_machine": {"time_machine_perplexity"},
           "03_exercises": {"early_token", "gradient_norms", "cost_vs_length"},
           "04_gated_cells": {"cells_perplexity", "gru_gates", "lstm_gates",
                              "cells_gradient_norms"}}


def test_every_chapter_is_listed():
    assert {c.stem for c in CHAPTERS} == set(FIGURES)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_runs(chapter, backend, tmp_path):
    result = subprocess.run([sys.executable, str(chapter)], capture_output=True, text=True,
                            env=chapter_env(chapter, backend, tmp_path), timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    drawn = {p.stem for p in tmp_path.glob("*.png")}
    assert drawn == FIGURES[chapter.stem]
    # quick settings say so (the docs site renders the chapters with them)
    assert result.stdout.startswith("Quick settings (D2LRNN_FAST=1)")
    if chapter.stem == "01_rnn":
        assert "predicts 'achine'" in result.stdout


def chapter_env(chapter, backend, figures):
    env = {**os.environ, "D2LRNN_BACKEND": backend, "D2LRNN_FAST": "1",
           "D2LRNN_FIGURES": str(figures), "MPLBACKEND": "Agg", "TF_CPP_MIN_LOG_LEVEL": "2"}
    if chapter.stem in ("02_time_machine", "04_gated_cells"):
        env["D2LRNN_DATA"] = str(book_path().parent)
    return env


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_opens_as_a_notebook(chapter):
    import jupytext  # in the test extra: every env has it
    notebook = jupytext.read(chapter)
    kinds = [cell.cell_type for cell in notebook.cells]
    assert kinds.count("markdown") >= 2 and kinds.count("code") >= 2
    setup, title = notebook.cells[:2]
    # a fresh notebook service first installs the package and the framework
    assert setup.cell_type == "code" and "pip" in setup.source and "d2lrnn[" in setup.source
    assert title.cell_type == "markdown" and title.source.startswith("# ")


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_committed_notebook_matches_its_source(chapter):
    """chapters/*.ipynb are generated from the .py sources (jupytext --sync); a notebook that
    drifted from its source fails here."""
    import jupytext

    notebook_path = chapter.with_suffix(".ipynb")
    assert notebook_path.is_file(), f"run: jupytext --sync {chapter}"
    source, committed = jupytext.read(chapter), jupytext.read(notebook_path)
    assert [(c.cell_type, c.source) for c in committed.cells] == \
        [(c.cell_type, c.source) for c in source.cells], f"run: jupytext --sync {chapter}"
    assert all(not c.get("outputs") for c in committed.cells), "commit notebooks without outputs"
    assert committed.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
@pytest.mark.backends("numpy", "torch")  # the notebooks env's frameworks
def test_notebook_runs_in_a_jupyter_kernel(chapter, backend, tmp_path):
    """The committed .ipynb, executed cell by cell in a real IPython kernel (nbclient), as a
    reader's notebook runs it. The `notebooks` tox env holds nbclient and ipykernel."""
    try:
        import nbclient
        import nbformat
    except ImportError:
        if os.environ.get("D2LRNN_NOTEBOOKS"):
            raise
        pytest.skip("nbclient is not installed here (the notebooks tox env has it)")
    notebook = nbformat.read(chapter.with_suffix(".ipynb"), as_version=4)
    env = chapter_env(chapter, backend, tmp_path)
    client = nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute(env=env)  # the kernel's environment: the backend, fast settings, figures
    assert {p.stem for p in tmp_path.glob("*.png")} == FIGURES[chapter.stem]
    outputs = "".join(o.get("text", "") for c in notebook.cells for o in c.get("outputs", []))
    assert f"framework: {backend}" in outputs or chapter.stem != "01_rnn"
    # every figure shows as an image, none as the text of a Figure object
    images = [o for c in notebook.cells for o in c.get("outputs", [])
              if "image/png" in o.get("data", {})]
    assert len(images) == len(FIGURES[chapter.stem])
    assert all(any(kind.startswith("image/") for kind in o.get("data", {}))
               for c in notebook.cells for o in c.get("outputs", []) if "<Figure size" in str(o))
