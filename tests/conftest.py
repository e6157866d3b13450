"""Shared fixtures: one parametrised ``backend`` that skips frameworks this env lacks.

In a tox env, the frameworks that env installs (derived from tox.ini and the backends'
declarations; ``D2LRNN_REQUIRE`` overrides) must import: if one of them cannot, the whole
run stops with an error instead of skipping.
"""
import importlib

import pytest
from _backends import REQUIRED, book_path, load_or_skip, synthetic_corpus, test_devices

from d2lrnn.base.backend import BACKENDS, enable_float64, is_installed


def pytest_configure(config):
    for name in BACKENDS:  # the tests compute in float64: before any array exists
        if is_installed(name):
            enable_float64(name)
    unknown = sorted(set(REQUIRED) - set(BACKENDS))
    if unknown:
        raise pytest.UsageError(f"the required backends {unknown} are not declared (see "
                                f"d2lrnn.base.backend.DECLARATIONS)")
    broken = []
    for name in REQUIRED:
        try:
            importlib.import_module(f"d2lrnn.{name}")
        except Exception as err:  # noqa: BLE001 - report any failure to load
            broken.append(f"{name}: {type(err).__name__}: {err}")
    if broken:
        raise pytest.UsageError("this env must hold these frameworks, but they do not "
                                "import:\n  " + "\n  ".join(broken))


def pytest_report_header(config):
    return f"d2lrnn backends required here: {', '.join(REQUIRED) or '(none named)'}"


@pytest.fixture(params=BACKENDS)
def d2l(request):
    """Each backend in turn, as ``from d2lrnn import <name> as d2l`` gives it."""
    return load_or_skip(request.param)


@pytest.fixture(params=["float64", "float32"])
def dtype(request):
    return request.param


@pytest.fixture(scope="session")
def small_book(tmp_path_factory):
    """The book where D2LRNN_DATA has it (as in CI), else a synthetic text: 50 steps of 32
    sequences of 16 characters, for the training-parity tests."""
    from d2lrnn.book.data import TimeMachine

    try:
        corpus = book_path()
    except pytest.skip.Exception:
        corpus = synthetic_corpus(tmp_path_factory.mktemp("corpus"))
    return TimeMachine(32, 16, num_train=50 * 32, num_val=64, corpus=corpus, seed=7)


def pytest_generate_tests(metafunc):
    """A test that takes ``device`` runs on every device present: the CPU always."""
    if "device" in metafunc.fixturenames:
        metafunc.parametrize("device", test_devices())
