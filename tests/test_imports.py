"""Importing: no framework at `import d2lrnn`, one interface everywhere, clear errors."""
import importlib.metadata
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import d2lrnn
from d2lrnn.base import legacy as _legacy
from d2lrnn.base import quiet
from d2lrnn.base.backend import (
    BACKENDS,
    DECLARATIONS,
    DECLARED,
    install_hint,
    is_installed,
)
from d2lrnn.base.install import pip_install
from d2lrnn.book.bind import BACKEND_API
from d2lrnn.book.surface import BOOK_API

FRAMEWORKS = ("torch", "jax", "jaxlib", "tensorflow", "mxnet")


def run_python(code, cwd=None, **env):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **env}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=300, cwd=cwd)


def test_import_d2lrnn_loads_no_framework():
    code = ("import sys, d2lrnn, d2lrnn.numpy, d2lrnn.tools.parity, d2lrnn.tools.cli; "
            f"print(sorted(m for m in {FRAMEWORKS!r} if m in sys.modules))")
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_every_backend_has_the_same_files():
    """Every backend folder: the same required files, and of the optional ones (split by
    domain as the adapter is: devices, layers, kernels, fused) only those whose part it
    overrides; a fused kernel exactly where its kernels module calls one, and an adapter of
    its models (Flax's) exactly where its book's Module makes them another way."""
    root = Path(d2lrnn.__file__).parent
    required, optional = {"__init__.py", "book.py", "ops.py"}, {
        "devices.py", "layers.py", "kernels.py", "fused.py", "flax_modules.py"}
    for name in BACKENDS:
        files = {p.name for p in (root / name).glob("*.py")}
        assert required <= files and files - required <= optional, (name, files)
        kernels = root / name / "kernels.py"
        calls_fused = kernels.exists() and "def fused_loss_and_grads" in kernels.read_text()
        assert ("fused.py" in files) == calls_fused, name
        own_models = "def framework_class" in (root / name / "book.py").read_text()
        assert ("flax_modules.py" in files) == own_models, name
        # layers of its own exactly where it declares them (without importing the framework)
        assert ("layers.py" in files) == DECLARED[name].own_layers, name


def test_every_backends_package_is_made_from_the_lists():
    """No backend's __init__.py names a name by hand: it is the same few lines in every
    backend (d2lrnn.book.bind.facade over the lists), and each book.py names what it adds in
    a literal __all__ of names it defines itself, so that an editor's "go to definition" on
    d2l.<name> lands on the definition."""
    import ast

    root = Path(d2lrnn.__file__).parent
    packages = set()
    for name in BACKENDS:
        init = ast.parse((root / name / "__init__.py").read_text())
        packages.add(ast.dump(ast.Module(init.body[1:], [])))  # all but its docstring
        book = ast.parse((root / name / "book.py").read_text())
        listed = [node.value for node in book.body if isinstance(node, ast.Assign)
                  and [getattr(target, "id", None) for target in node.targets] == ["__all__"]]
        assert len(listed) == 1 and isinstance(listed[0], ast.List), name
        names = [ast.literal_eval(element) for element in listed[0].elts]
        defined = {node.name for node in book.body
                   if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
        defined |= {found.id for node in book.body if isinstance(node, ast.Assign)
                    for target in node.targets for found in ast.walk(target)
                    if isinstance(found, ast.Name)}
        assert set(names) <= defined, (name, set(names) - defined)
    assert len(packages) == 1, "the backends' __init__.py differ beyond their docstrings"


def test_a_book_module_without_a_listed_name_fails_naming_it():
    """A backend whose book.py lacks a name of the lists (here: NumPy's names standing in
    for PyTorch's, which has a tab in the book) fails its import naming what is missing."""
    from types import SimpleNamespace

    from d2lrnn import numpy as reference
    from d2lrnn.book.bind import facade

    book = SimpleNamespace(__name__="d2lrnn.torch.book", __all__=reference.book.__all__,
                           Module=reference.Module, Classifier=reference.Classifier)
    with pytest.raises(NotImplementedError, match="d2lrnn.torch.book must define "
                                                  "LinearRegression, abs, arange"):
        facade({"__name__": "d2lrnn.torch"}, book)


def test_a_cell_without_its_model_fails_naming_the_class_and_its_file():
    """A cell's first file alone (its Cell, found by discovery) fails every backend's import
    in one sentence: the model it names, and the file that must define it."""
    from d2lrnn.book.bind import cell_models
    from d2lrnn.cells.lstm import LSTMCell

    class UnwrittenCell(LSTMCell):  # a name no cell of the package has
        name, scratch_name, concise_name = "unwritten", "UnwrittenScratch", None

    here = __name__.replace(".", "/")  # the file that defines the cell, as a module names it
    with pytest.raises(NotImplementedError, match=re.escape(
            f"the unwritten cell ({here}.py) has no scratch model: d2lrnn/book/modern.py must "
            f"define class UnwrittenScratch(CellScratch): cell = CELLS['unwritten']")):
        cell_models([UnwrittenCell()])


def test_backend_exports_the_interface(d2l):
    assert tuple(d2l.__all__[:len(BACKEND_API) + len(BOOK_API)]) == BACKEND_API + BOOK_API
    for name in BACKEND_API:
        assert getattr(d2l, name) is not None
    assert d2l.ops.name == d2l.__name__.rsplit(".", 1)[1]
    assert d2l.RNNScratch.__module__.startswith(d2l.__name__)


def test_unknown_backend_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown backend 'pytorch'.*numpy, torch, jax, "
                                         "tensorflow, mxnet"):
        d2lrnn.load_backend("pytorch")


@pytest.mark.parametrize("framework", [d.name for d in DECLARATIONS if d.extra])
def test_missing_framework_says_how_to_install(framework, tmp_path):
    # A package of the framework's name that fails to import shadows the real one, if any.
    fake = tmp_path / framework
    fake.mkdir()
    (fake / "__init__.py").write_text(f"raise ImportError('broken {framework} install')")
    code = ("try:\n    from d2lrnn import " + framework + "\nexcept ImportError as err:\n"
            "    print(err)\nelse:\n    print('imported')")
    # (run outside the clone: there its d2lrnn would be the one imported, its source unknown)
    result = run_python(code, cwd=tmp_path, PYTHONPATH=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert install_hint(framework) in result.stdout, result.stdout


def test_mxnet_with_new_numpy_says_what_it_needs(monkeypatch):
    import numpy

    monkeypatch.setattr(numpy, "__version__", "2.1.0")
    monkeypatch.setattr(sys, "version_info", (3, 11, 7, "final", 0))  # a Python MXNet has
    with pytest.raises(ImportError, match=r"numpy < 1\.24.*numpy 2\.1\.0.*tox -e mxnet"):
        _legacy.check_mxnet_importable()


def test_mxnet_on_a_python_it_has_no_build_for_says_what_to_do(monkeypatch):
    """MXNet 1.9.1 has no build for Python 3.12+: the extra installs nothing there (its
    requirements carry the marker, so pip does not fail building numpy 1.23), and the backend
    says in one line what to do."""
    from packaging.requirements import Requirement

    wanted = [Requirement(r) for r in importlib.metadata.requires("d2lrnn")
              if 'extra == "mxnet"' in r]
    assert {r.name for r in wanted} == {"mxnet", "numpy"}
    for requirement in wanted:
        for python, installs in (("3.11", True), ("3.12", False), ("3.13", False)):
            assert requirement.marker.evaluate({"extra": "mxnet",
                                                "python_version": python}) == installs
    monkeypatch.setattr(sys, "version_info", (3, 12, 1, "final", 0))
    with pytest.raises(ImportError, match=r"no build for Python 3\.12.*python3\.11 -m venv"):
        _legacy.check_mxnet_importable()


@pytest.mark.skipif(not (is_installed("mxnet") and is_installed("tensorflow")),
                    reason="needs MXNet and TensorFlow in one env (the legacy env)")
def test_tensorflow_then_mxnet_in_one_process():
    # TensorFlow imported first would crash MXNet's load: we refuse with a clear error...
    result = run_python("import tensorflow\ntry:\n    from d2lrnn import mxnet\n"
                        "except ImportError as err:\n    print(err)")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "before tensorflow" in result.stdout
    # ...and importing d2lrnn first makes the same order work.
    result = run_python("import d2lrnn, tensorflow, mxnet\nfrom d2lrnn import mxnet as m\n"
                        "print(m.concat_demo(dtype='float64')['max_difference'] < 1e-12)")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("True")


@pytest.mark.skipif(not (is_installed("tensorflow") and importlib.util.find_spec("triton")),
                    reason="needs TensorFlow and Triton (PyTorch's CUDA build: the colab env)")
def test_triton_loads_after_tensorflow():
    """TensorFlow >= 2.20 loads its LLVM with global symbols, and Triton's library loaded
    after it crashed the process: torch imports Triton late (torch._dynamo), so a torch
    model on the meta device, or torch.compile, after `from d2lrnn import tensorflow`."""
    result = run_python("from d2lrnn import tensorflow\nimport triton\nprint('alive')")
    assert result.returncode == 0, f"exit code {result.returncode}: {result.stderr[-2000:]}"
    assert result.stdout.strip() == "alive"


@pytest.mark.skipif(not is_installed("jax"), reason="JAX is not installed in this env")
def test_jax_float64_without_x64_is_a_clear_error():
    result = run_python("from d2lrnn import jax as d2l\ntry:\n"
                        "    d2l.RNNScratch(3, 4, dtype='float64')\n"
                        "except TypeError as err:\n    print(err)")
    assert result.returncode == 0, result.stderr
    assert "jax_enable_x64" in result.stdout


def test_cli_reports_a_missing_framework(monkeypatch, capsys):
    from d2lrnn.base.errors import MissingFramework
    from d2lrnn.tools import cli
    from d2lrnn.tools.commands import demo

    def missing(name):  # what import_framework raises for a framework that is not there
        raise MissingFramework(f'the d2lrnn.{name} backend needs {name}. Install it with: '
                               f'{pip_install(name)}')

    monkeypatch.setattr(demo, "load_backend", missing)
    assert cli.main(["demo", "--backend", "jax"]) == 2
    assert pip_install("jax") in capsys.readouterr().err


def test_demo_command_in_a_fresh_process(backend):
    # A fresh process: no test fixture has switched on JAX's 64-bit mode, say.
    result = subprocess.run([sys.executable, "-m", "d2lrnn", "demo", "--backend", backend],
                            capture_output=True, text=True, timeout=300,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert "it now predicts 'achine'" in result.stdout


def test_an_env_missing_a_required_framework_fails_loudly(tmp_path):
    # A broken 'torch' shadows any real one; an env that must hold torch then errors out.
    broken = tmp_path / "torch"
    broken.mkdir()
    (broken / "__init__.py").write_text("raise ImportError('broken torch install')")
    tests = Path(__file__).parent
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         str(tests / "test_imports.py"), "-k", "unknown_backend"],
        capture_output=True, text=True, timeout=300, cwd=tests.parent,
        env={**os.environ, "PYTHONPATH": str(tmp_path), "D2LRNN_REQUIRE": "numpy,torch"})
    assert result.returncode != 0
    assert "must hold these frameworks" in result.stdout + result.stderr
    assert "broken torch install" in result.stdout + result.stderr


@pytest.mark.backends("tensorflow")
def test_our_commands_quiet_tensorflows_native_start_up_logs(backend, tmp_path):
    """TensorFlow's C++ and XLA log their INFO lines (CPU features, oneDNN, the XLA service)
    at every start; our commands silence them unless the user sets TF_CPP_MIN_LOG_LEVEL. TensorFlow
    2.17 (the legacy env) logs XLA's lines through absl before its logging starts, whatever
    the setting (seen here): the quiet holds from 2.18 on."""
    from _backends import skip_where_tensorflow_logs_anyway
    from _corpora import synthetic_corpus

    skip_where_tensorflow_logs_anyway()

    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    result = subprocess.run([sys.executable, "-m", "d2lrnn", "train", "--backend", "tensorflow",
                             "--corpus", str(synthetic_corpus(tmp_path)), "--epochs", "1",
                             "--batch-size", "16", "--num-steps", "8", "--num-train", "64",
                             "--num-val", "16", "--quiet"],
                            capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "cpu_feature_guard" not in result.stderr and "XLA service" not in result.stderr
    # the block `import tensorflow` prints before its logging starts (d2lrnn.base.quiet)
    assert "absl::InitializeLog" not in result.stderr
    assert "oneDNN custom operations" not in result.stderr
    if not os.path.exists(quiet.NVIDIA_DRIVER):
        assert "cuInit" not in result.stderr

