"""Which backends the tests run on: those this env holds (and must hold), filtered by what a
test needs of them, as the backends' declarations say. The one way a test chooses backends:
take the ``d2l`` fixture (the backend module) or ``backend`` (its name, for a subprocess or
the command line) and mark what it needs::

    @pytest.mark.needs("autograd")              # a capability of the declaration
    @pytest.mark.needs(layer="gru-before")      # a cell the framework's own layers compute
    @pytest.mark.backends("mxnet", "jax")       # these backends only (say why beside it)

Marks on a ``pytest.param`` count too. conftest.py parametrizes the two fixtures over every
declared backend and deselects the pairs a backend cannot run; a backend that is declared
able but not installed here is skipped, unless this env must hold it (then it fails)."""
import configparser
import importlib
import os
from pathlib import Path

import pytest

from d2lrnn.base.backend import BACKENDS, DECLARATIONS, DECLARED, is_installed

TOX_INI = Path(__file__).parent.parent / "tox.ini"

# What a test may need of a backend, read from its declaration (d2lrnn.base.backend).
CAPABILITIES = {
    "autograd": lambda declared: declared.autograd,
    "compiles": lambda declared: declared.compiles,
    "own_layers": lambda declared: declared.own_layers,
    # a framework the book has a tab for: its tensor helpers, its cells
    "book_tab": lambda declared: declared.book_tab,
}

# The fixtures conftest.py parametrizes over BACKENDS.
BACKEND_FIXTURES = ("d2l", "backend")


def installed_by_tox(env, tox_ini=TOX_INI):
    """The backends whose framework tox env ``env`` installs, from the declarations: those
    whose pip extra the env names, or a dependency named after the framework
    (``tensorflow-cpu``); NumPy's always."""
    extras = tox_extras(env, tox_ini)
    deps = _tox_section(env, tox_ini).get("deps", "").split()
    return [d.name for d in DECLARATIONS if not d.extra or d.extra in extras
            or any(dep.startswith(d.framework) for dep in deps)]


def tox_extras(env, tox_ini=TOX_INI):
    """The pip extras tox env ``env`` installs (none outside tox: ``env`` None)."""
    if env is None:
        return set()
    extras = _tox_section(env, tox_ini).get("extras", "")
    return {e.strip() for e in extras.replace("\n", ",").split(",") if e.strip()}


def tox_envs(tox_ini=TOX_INI):
    """The envs a plain ``tox`` runs (its ``env_list``), in order."""
    return [e.strip() for e in _read_tox(tox_ini)["tox"]["env_list"].split(",") if e.strip()]


def _read_tox(tox_ini):
    tox = configparser.ConfigParser(interpolation=None)
    tox.read(tox_ini)
    return tox


def _tox_section(env, tox_ini):
    """Env ``env``'s settings, falling back on [testenv]'s (configparser's defaults do not)."""
    tox = _read_tox(tox_ini)
    base = dict(tox["testenv"])
    return {**base, **tox[f"testenv:{env}"]} if tox.has_section(f"testenv:{env}") else base


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


def runs_on(name, marks):
    """Whether backend ``name`` has everything the ``needs`` and ``backends`` marks ask."""
    declared = DECLARED[name]
    for mark in marks:
        if mark.name == "backends":
            unknown = set(mark.args) - set(BACKENDS)
            if unknown:
                raise pytest.UsageError(f"@pytest.mark.backends names {sorted(unknown)}; "
                                        f"the declared backends are {', '.join(BACKENDS)}")
            if name not in mark.args:
                return False
        elif mark.name == "needs":
            unknown = set(mark.args) - set(CAPABILITIES)
            if unknown or set(mark.kwargs) - {"layer"}:
                raise pytest.UsageError(f"@pytest.mark.needs({mark.args}, {mark.kwargs}): "
                                        f"the capabilities are {', '.join(CAPABILITIES)} "
                                        f"and layer=<a cell key>")
            if not all(CAPABILITIES[c](declared) for c in mark.args):
                return False
            if "layer" in mark.kwargs and mark.kwargs["layer"] not in declared.layers:
                return False
    return True


def skip_unless_installed(name):
    """Nothing where backend ``name``'s framework is here (or this env must hold it: the
    import then fails loudly), else a skip."""
    if name not in REQUIRED and not is_installed(name):
        pytest.skip(f"{name} is not installed in this env")


def load_or_skip(name):
    """The backend module, or a skip (never for a backend this env requires)."""
    skip_unless_installed(name)
    try:
        return importlib.import_module(f"d2lrnn.{name}")
    except ImportError as err:
        if name in REQUIRED:
            raise
        pytest.skip(f"d2lrnn.{name} cannot be imported in this env: {err}")


def skip_where_tensorflow_logs_anyway():
    """A skip where TensorFlow logs XLA's start-up lines whatever TF_CPP_MIN_LOG_LEVEL says:
    before 2.18 (the legacy env's 2.17, seen here); nothing where it is quiet or absent."""
    import importlib.metadata

    for name in ("tensorflow", "tensorflow-cpu"):
        try:
            version = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        if tuple(int(p) for p in version.split(".")[:2]) < (2, 18):
            pytest.skip(f"TensorFlow {version} logs XLA's start-up lines whatever the setting")
        return


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
