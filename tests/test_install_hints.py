"""Every install hint names something that exists: d2lrnn is not on the package index, so a
hint installs from where this copy came from (PEP 610's direct_url.json, d2lrnn.base.install),
and MXNet is never advised into an environment it would break."""
import importlib.metadata
import json
import subprocess
import sys
from pathlib import Path

import pytest

from d2lrnn.base import backend, install, legacy
from d2lrnn.tools import doctor


class Recorded:
    """A distribution whose direct_url.json holds ``direct`` (None: no such file)."""

    def __init__(self, direct):
        self.direct = direct

    def read_text(self, name):
        assert name == "direct_url.json"
        return None if self.direct is None else json.dumps(self.direct)


def installed_from_record(monkeypatch, direct):
    monkeypatch.setattr(importlib.metadata, "distribution", lambda name: Recorded(direct))


def test_a_clone_is_named_by_its_folder(monkeypatch, tmp_path):
    installed_from_record(monkeypatch, {"url": tmp_path.as_uri(), "dir_info": {}})
    assert install.pip_install("torch") == f'pip install "{tmp_path}[torch]"'


def test_a_wheel_is_named_by_its_path(monkeypatch, tmp_path):
    wheel = tmp_path / "d2lrnn-0.1.0-py3-none-any.whl"
    wheel.write_bytes(b"")
    installed_from_record(monkeypatch, {"url": wheel.as_uri(), "archive_info": {}})
    assert install.pip_install("jax") == f'pip install "{wheel}[jax]"'


def test_a_repository_is_named_as_a_direct_reference(monkeypatch):
    installed_from_record(monkeypatch, {"url": "https://example.org/d2lrnn.git",
                                        "vcs_info": {"vcs": "git", "commit_id": "0" * 40,
                                                     "requested_revision": "main"}})
    assert install.pip_install("jax") == \
        'pip install "d2lrnn[jax] @ git+https://example.org/d2lrnn.git@main"'


@pytest.mark.parametrize("direct", [None, {"url": "file:///no/such/folder", "dir_info": {}},
                                    {"url": "file:///no/such.whl", "archive_info": {}}],
                         ids=["nothing recorded", "folder gone", "wheel gone"])
def test_an_unknown_source_is_installed_in_a_clone(monkeypatch, direct):
    installed_from_record(monkeypatch, direct)
    assert install.pip_install("tensorflow") == \
        'pip install ".[tensorflow]" (in a clone of d2lrnn)'


def test_no_distribution_at_all(monkeypatch):
    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", missing)
    assert install.installed_from() == (None, None)


def test_this_copys_hint_names_a_source_that_exists():
    """Where this env's d2lrnn came from (tox: the wheel it built): the hint's path is there,
    and pip takes the hint's requirement (checked without the index, nothing installed)."""
    kind, where = install.installed_from()
    if kind is None:
        pytest.skip("this d2lrnn was not installed by pip (run from a clone)")
    spec, _ = install.requirement("numba")
    assert "d2lrnn" in spec and "numba" in spec
    if kind in ("folder", "file"):
        assert Path(where).exists()
    if kind == "file":
        result = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run",
                                 "--no-deps", "--no-index", spec.strip('"')],
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr[-2000:]


def test_the_framework_and_bench_hints_are_the_one_function(monkeypatch):
    monkeypatch.setattr(install, "installed_from", lambda: ("folder", "/home/me/d2lrnn"))
    monkeypatch.setattr(legacy, "mxnet_env_problem", lambda others=True: "")
    for name in backend.BACKENDS[1:]:
        assert backend.install_hint(name) == f'pip install "/home/me/d2lrnn[{name}]"'


@pytest.mark.parametrize("numpy_version, beside, python", [
    ("2.4.6", [], (3, 11, 7, "final", 0)),
    ("1.23.5", ["jax"], (3, 11, 7, "final", 0)),
    ("1.23.5", ["tensorflow"], (3, 11, 7, "final", 0)),
    ("1.23.5", [], (3, 12, 1, "final", 0)),
], ids=["numpy 2", "jax", "tensorflow", "python 3.12"])
def test_doctor_gives_mxnet_an_environment_of_its_own(monkeypatch, numpy_version, beside,
                                                      python):
    """Installing the mxnet extra into an env holding numpy >= 1.24, TensorFlow or JAX takes
    numpy back to 1.23.5 and breaks them: doctor says to make MXNet its own Python 3.11 env."""
    import importlib.util

    import numpy

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(numpy, "__version__", numpy_version)
    monkeypatch.setattr(sys, "version_info", python)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: (
        None if name == "mxnet" else object() if name in beside
        else None if name in legacy.NUMPY_2_FRAMEWORKS else real_find_spec(name, *a)))
    result = doctor.run_check("mxnet")
    assert not result["installed"]
    assert "python3.11 -m venv d2lrnn-mxnet && d2lrnn-mxnet/bin/pip install" in \
        result["install"]
    assert install.requirement("mxnet")[0] in result["install"]


def test_doctor_advises_the_mxnet_extra_where_it_fits(monkeypatch):
    import numpy

    monkeypatch.setattr(numpy, "__version__", "1.23.5")
    monkeypatch.setattr(sys, "version_info", (3, 11, 7, "final", 0))
    monkeypatch.setattr(legacy.importlib.util, "find_spec", lambda name, *a: None)
    assert doctor.run_check("mxnet")["install"] == install.pip_install("mxnet")
