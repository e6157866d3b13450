"""Which backends this env holds, and must hold."""
import configparser
import importlib
import os
from pathlib import Path

import pytest

from d2lrnn.base.backend import DECLARATIONS, is_installed

TOX_INI = Path(__file__).parent.parent / "tox.ini"


def installed_by_tox(env, tox_ini=TOX_INI):
    """The backends whose framework tox env ``env`` installs, from the declarations: those
    whose pip extra the env names, or a dependency named after the framework
    (``tensorflow-cpu``); NumPy's always."""
    tox = configparser.ConfigParser(interpolation=None)
    tox.read(tox_ini)
    section = tox[f"testenv:{env}"] if tox.has_section(f"testenv:{env}") else tox["testenv"]
    extras = {e.strip() for e in section.get("extras", tox["testenv"].get("extras", ""))
              .replace("\n", ",").split(",") if e.strip()}
    deps = section.get("deps", "").split()
    return [d.name for d in DECLARATIONS if not d.extra or d.extra in extras
            or any(dep.startswith(d.framework) for dep in deps)]


def required_backends(environ=os.environ):
    """The backends this env must hold, so that a broken install fails instead of skipping:
    those ``D2LRNN_REQUIRE`` names (a comma-separated list), else in a tox env those it
    installs (:func:`installed_by_tox`), else none."""
    if "D2LRNN_REQUIRE" in environ:
        return [name for name in environ["D2LRNN_REQUIRE"].split(",") if name]
    if environ.get("TOX_ENV_NAME"):
        return installed_by_tox(environ["TOX_ENV_NAME"])
    return []


REQUIRED = required_backends()


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


def assert_matches_central_differences(network, params, X, Y, what):
    """The hand-written backward of the language model on ``network`` (a cell, or a network
    of cells) against central differences of its loss, parameter by parameter."""
    import numpy as np

    from d2lrnn.cells import lm_loss_and_grads
    from d2lrnn.numpy.ops import ops
    from d2lrnn.tools.parity import FINITE_DIFFERENCE_TOLERANCE

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
    from d2lrnn.base.backend import BACKENDS
    from d2lrnn.tools import cli

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


def test_devices():
    """The devices the parity and training-parity tests run on: "cpu" always, and "gpu"
    where a backend this env holds (those loaded by conftest) sees an accelerator."""
    import sys

    for name in REQUIRED:
        backend = sys.modules.get(f"d2lrnn.{name}")
        if backend is not None and backend.ops.accelerators():
            return ["cpu", "gpu"]
    return ["cpu"]


def on_test_device(d2l, device):
    """A context computing on ``device`` ("cpu", or "gpu": this backend's first accelerator,
    with float32 products at full precision), or a skip where the backend has none."""
    ops = d2l.ops
    if device == "cpu":
        return ops.on(ops.cpu_device())
    found = ops.accelerators()
    if not found:
        pytest.skip(f"{ops.name} sees no accelerator here")
    ops.full_precision()
    return ops.on(found[0][1])


def run_with_tf_keras(script, tmp_path, *args):
    """Run ``script`` in a fresh Python where tf-keras (Keras 2) may serve as ``tf.keras``
    (the script sets TF_USE_LEGACY_KERAS=1): its stdout. A skip where tf-keras is missing,
    unless this env must hold it (the tensorflow tox env installs it)."""
    import importlib.util
    import subprocess
    import sys

    load_or_skip("tensorflow")
    if importlib.util.find_spec("tf_keras") is None:
        if os.environ.get("D2LRNN_TF_KERAS"):
            raise AssertionError("this env must hold tf-keras (tox.ini installs it)")
        pytest.skip("tf-keras is not installed here (the tensorflow tox env has it)")
    path = tmp_path / "script.py"
    path.write_text(script, encoding="utf-8")
    result = subprocess.run([sys.executable, str(path), *map(str, args)], capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout
