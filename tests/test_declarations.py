"""Each backend is declared once (d2lrnn.backend.DECLARATIONS); what cannot derive from the
declarations is checked against them here: the backend folders, setup.py's extras, tox.ini's
environments, the README's tables, and what each backend's Ops says of itself."""
import configparser
import importlib.metadata
import re
from pathlib import Path

import d2lrnn
from d2lrnn.backend import BACKENDS, DECLARATIONS, DECLARED, Ops

ROOT = Path(__file__).parent.parent


def test_the_backend_folders_are_the_declared_backends():
    package = Path(d2lrnn.__file__).parent
    found = {p.parent.name for p in package.glob("*/ops.py")}
    assert found == set(BACKENDS)


def test_every_extra_is_in_setup_py():
    extras = set(importlib.metadata.metadata("d2lrnn").get_all("Provides-Extra") or ())
    assert {d.extra for d in DECLARATIONS if d.extra} <= extras


def test_every_backend_has_its_tox_env_and_every_env_requires_declared_backends():
    tox = configparser.ConfigParser(interpolation=None)
    tox.read(ROOT / "tox.ini")
    envs = {s.split(":", 1)[1] for s in tox.sections() if s.startswith("testenv:")}
    assert set(BACKENDS) <= envs
    for env in envs:
        required = re.search(r"D2LRNN_REQUIRE = ([\w,]+)", tox[f"testenv:{env}"]["set_env"])
        assert required, f"tox env {env} names no D2LRNN_REQUIRE"
        assert set(required.group(1).split(",")) <= set(BACKENDS), env


def test_the_readme_has_a_row_per_backend_env():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in BACKENDS:
        assert f"| `{name}` |" in readme, f"the tested-versions table lacks {name}"


def test_each_backend_is_what_it_declares(d2l):
    ops, declared = d2l.ops, DECLARED[d2l.ops.name]
    assert ops.has_autograd == declared.autograd
    assert ops.has_rnn_layer == declared.own_layers
    assert (type(ops).compile is not Ops.compile) == declared.compiles
    assert d2l.__name__ == f"d2lrnn.{declared.name}"
