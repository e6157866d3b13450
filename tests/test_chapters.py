"""Every chapter runs, for every framework this env holds (fast settings), and draws its
figures: a chapter cannot rot unnoticed."""
import os
import shutil
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
                              "cells_gradient_norms"},
           "05_translation": {"translation_lengths", "translation_loss", "encoder_context"}}


def test_every_chapter_is_listed():
    assert {c.stem for c in CHAPTERS} == set(FIGURES)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_runs(chapter, backend, tmp_path):
    result = subprocess.run([sys.executable, str(chapter)], capture_output=True, text=True,
                            env=chapter_env(chapter, backend, tmp_path), timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    drawn = {p.stem for p in tmp_path.glob("*.png")}
    assert drawn == FIGURES[chapter.stem]
    # quick settings say so (a reader who set D2LRNN_FAST is not misled by the numbers)
    assert result.stdout.startswith("Quick settings (D2LRNN_FAST=1)")
    if chapter.stem == "01_rnn":
        assert "predicts 'achine'" in result.stdout
    if chapter.stem == "05_translation":  # the model's beam search of width 1 is greedy search
        assert "the same as greedy search: True" in result.stdout


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
    assert setup.cell_type == "code" and setup.metadata.get("tags") == ["setup"]
    assert setup.source == setup_cell(), "every chapter's setup cell is the same code"
    assert title.cell_type == "markdown" and title.source.startswith("# ")


def setup_cell():
    """The chapters' first cell (one code in all of them: test_chapter_opens_as_a_notebook)."""
    import jupytext

    return jupytext.read(CHAPTERS[0]).cells[0].source


# The setup cell in a fresh Python (no d2lrnn, no pip: the command it would run fails and its
# one line names what it tried to install), run as a script from ``folder``.
@pytest.fixture(scope="module")
def fresh_python(tmp_path_factory):
    venv = tmp_path_factory.mktemp("fresh")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    return venv / "bin" / "python"


def run_setup_cell(python, folder, **env):
    script = folder / "setup_cell.py"
    script.write_text(setup_cell(), encoding="utf-8")
    result = subprocess.run([str(python), str(script)], cwd=folder, capture_output=True,
                            text=True, timeout=600, env={**os.environ, **env})
    script.unlink()
    return result


def test_setup_cell_without_d2lrnn_says_what_to_do_in_one_line(fresh_python, tmp_path):
    result = run_setup_cell(fresh_python, tmp_path)
    assert result.returncode == 1
    line = ("d2lrnn is not on PyPI: put a wheel in this folder (build it in a clone: python -m "
            "build) or name it in D2LRNN_WHEEL, or open this notebook in a clone of d2lrnn")
    assert result.stderr.strip().splitlines() == [line]
    troubleshooting = (CHAPTERS[0].parent.parent / "docs" / "troubleshooting.md").read_text()
    assert f"\n{line}\n" in troubleshooting, "the troubleshooting page quotes it"


@pytest.mark.parametrize("where", ["clone", "wheel here", "D2LRNN_WHEEL"])
def test_setup_cell_installs_from_the_clone_or_a_wheel(where, fresh_python, tmp_path):
    """In that order: a clone holding the notebook, the wheel D2LRNN_WHEEL names, the newest
    d2lrnn-*.whl in the notebook's folder; with the chosen framework's extra."""
    (tmp_path / "d2lrnn-0.1-py3-none-any.whl").touch()
    named = tmp_path / "elsewhere" / "d2lrnn-0.2-py3-none-any.whl"
    env = {"D2LRNN_BACKEND": "torch"}
    if where == "D2LRNN_WHEEL":
        env["D2LRNN_WHEEL"] = str(named)
    folder = CHAPTERS[0].parent if where == "clone" else tmp_path
    result = run_setup_cell(fresh_python, folder, **env)
    expected = {"clone": CHAPTERS[0].parent.parent, "wheel here": tmp_path /
                "d2lrnn-0.1-py3-none-any.whl", "D2LRNN_WHEEL": named}[where]
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == \
        f"pip could not install {expected}[torch]: its message is above"


@pytest.mark.skipif(sys.version_info[:2] != (3, 12), reason="Colab's Python: the colab env")
def test_setup_cell_installs_a_wheel_built_from_the_tree(tmp_path):
    """What a Colab reader does: upload a wheel built in a clone and run the chapter. A fresh
    Python 3.12 venv (with pip), the NumPy backend: the wheel with its `numba` extra."""
    tree = tmp_path / "tree"
    shutil.copytree(CHAPTERS[0].parent.parent, tree, ignore=shutil.ignore_patterns(
        ".*", "build", "dist", "*.egg-info", "runs", "__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w",
                    str(tmp_path), str(tree)], check=True)
    subprocess.run([sys.executable, "-m", "venv", str(tmp_path / "venv")], check=True)
    python = tmp_path / "venv" / "bin" / "python"
    result = run_setup_cell(python, tmp_path, D2LRNN_BACKEND="numpy")
    assert result.returncode == 0, result.stderr[-3000:]
    imported = subprocess.run([str(python), "-c", "import numba; from d2lrnn import numpy"],
                              capture_output=True, text=True)
    assert imported.returncode == 0, imported.stderr[-3000:]
    again = run_setup_cell(python, tmp_path, D2LRNN_BACKEND="numpy")
    assert (again.returncode, again.stdout, again.stderr) == (0, "", "")  # installed: nothing


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
