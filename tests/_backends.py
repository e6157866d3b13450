"""Which backends this env holds, and must hold."""
import importlib
import os

import pytest

from d2lrnn.backend import is_installed

REQUIRED = [name for name in os.environ.get("D2LRNN_REQUIRE", "").split(",") if name]


def load_or_skip(name):
    """The backend module, or a skip (never for a backend this env requires)."""
    if name not in REQUIRED and not is_installed(name):
        pytest.skip(f"{name} is not installed in this env")
    try:
        return importlib.import_module(f"d2lrnn.{name}")
    except ImportError as err:
        if name in REQUIRED:
            raise
        pytest.skip(f"d2lrnn.{name} cannot be imported in this env: {err}")


def book_path():
    """The verified book from $D2LRNN_DATA, or a skip that says how to provide it."""
    from pathlib import Path

    from d2lrnn import data

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


def assert_matches_central_differences(network, params, X, Y, what):
    """The hand-written backward of the language model on ``network`` (a cell, or a network
    of cells) against central differences of its loss, parameter by parameter."""
    import numpy as np

    from d2lrnn.cells import lm_loss_and_grads
    from d2lrnn.numpy.ops import ops
    from d2lrnn.parity import FINITE_DIFFERENCE_TOLERANCE

    _, grads = lm_loss_and_grads(network, ops, params, X, Y)
    assert set(grads) == set(params)
    for name, value in params.items():
        numeric = np.zeros_like(value)
        for index in np.ndindex(value.shape):
            old = value[index]
            value[index] = old + 1e-5
            up, _ = lm_loss_and_grads(network, ops, params, X, Y)
            value[index] = old - 1e-5
            down, _ = lm_loss_and_grads(network, ops, params, X, Y)
            value[index] = old
            numeric[index] = (up - down) / 2e-5
        worst = np.abs(numeric - grads[name]).max() / np.abs(numeric).max()
        assert worst <= FINITE_DIFFERENCE_TOLERANCE, f"{what} {name}: {worst:.1e}"


def texts_generated_everywhere(checkpoint, capsys):
    """The greedy text ``d2lrnn generate`` continues "the" with from ``checkpoint``, in every
    backend installed here: a set (one text where they all agree)."""
    from d2lrnn import cli
    from d2lrnn.backend import BACKENDS

    texts = set()
    for backend in BACKENDS:
        try:
            load_or_skip(backend)
        except pytest.skip.Exception:
            continue
        assert cli.main(["generate", "--checkpoint", str(checkpoint), "--backend", backend,
                         "--prefix", "the", "--num-preds", "20"]) == 0
        texts.add(capsys.readouterr().out.strip().splitlines()[-1])
    return texts
