"""Shared fixtures, and the one way tests choose backends (tests/_backends.py says how):
``d2l`` and ``backend`` run over every declared backend, deselected where a test's ``needs``
or ``backends`` marks exclude it, skipped where this env lacks the framework.

In a tox env, the frameworks that env installs (derived from tox.ini and the backends'
declarations; ``D2LRNN_REQUIRE`` overrides) must import: if one of them cannot, the whole
run stops with an error instead of skipping.
"""
import importlib
import os
import signal

import pytest
from _backends import (
    BACKEND_FIXTURES,
    REQUIRED,
    load_or_skip,
    runs_on,
    skip_unless_installed,
    test_devices,
)
from _corpora import book_or_synthetic

from d2lrnn.base.backend import BACKENDS, enable_float64, is_installed


def pytest_configure(config):
    # The command line's last resort turns a bug into one line; here a bug must fail its test
    # with the traceback, in this process and in the commands the tests start.
    os.environ.setdefault("D2LRNN_DEBUG", "bugs")
    # Started in the background by a shell without job control (`tox &`, `nohup`), this process
    # ignores SIGINT, and so would every command it starts: the tests that press Ctrl-C in one
    # would wait a minute and fail. A handler of ours is reset to the default in a child.
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    config.addinivalue_line(
        "markers", "needs(*capabilities, layer=None): run on the backends whose declaration "
        "has these capabilities (tests/_backends.py CAPABILITIES) and whose framework's "
        "layers compute the cell `layer`")
    config.addinivalue_line("markers", "backends(*names): run on these backends only")
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


def pytest_generate_tests(metafunc):
    """``d2l``/``backend``: every declared backend; ``device``: every device present (the
    CPU always)."""
    for fixture in BACKEND_FIXTURES:
        if fixture in metafunc.fixturenames:
            metafunc.parametrize(fixture, BACKENDS, indirect=True)
    if "device" in metafunc.fixturenames:
        metafunc.parametrize("device", test_devices())


def pytest_collection_modifyitems(config, items):
    """Deselect each test on the backends its marks exclude (they cannot run it: nothing
    to skip)."""
    kept, dropped = [], []
    for item in items:
        params = getattr(item, "callspec", None)
        name = next((params.params[f] for f in BACKEND_FIXTURES
                     if params is not None and f in params.params), None)
        (kept if name is None or runs_on(name, item.iter_markers()) else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture
def d2l(request):
    """Each backend in turn, as ``from d2lrnn import <name> as d2l`` gives it."""
    return load_or_skip(request.param)


@pytest.fixture
def backend(request):
    """Each backend's name in turn (for a subprocess or the command line), where its
    framework is installed."""
    skip_unless_installed(request.param)
    return request.param


@pytest.fixture(params=["float64", "float32"])
def dtype(request):
    return request.param


@pytest.fixture(scope="session")
def corpus(tmp_path_factory):
    """The book where D2LRNN_DATA has it (as in CI), else a synthetic text."""
    return book_or_synthetic(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="session")
def small_book(corpus):
    """50 steps of 32 sequences of 16 characters, for the training-parity tests."""
    from d2lrnn.book.data import TimeMachine

    return TimeMachine(32, 16, num_train=50 * 32, num_val=64, corpus=corpus, seed=7)
