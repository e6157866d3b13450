"""Each backend is declared once (d2lrnn.base.backend.DECLARATIONS); what cannot derive from the
declarations is checked against them here: the backend folders, setup.py's extras, tox.ini's
environments, the versions page's table (docs/environments.md), and what each backend's Ops
says of itself."""
import importlib.metadata
from pathlib import Path

from _backends import installed_by_tox, required_backends, tox_envs

import d2lrnn
from d2lrnn.base.adapter import Ops
from d2lrnn.base.backend import BACKENDS, DECLARATIONS, DECLARED
from d2lrnn.book.surface import BOOK_FRAMEWORK_API, BOOK_TENSOR_API

ROOT = Path(__file__).parent.parent


def test_the_backend_folders_are_the_declared_backends():
    package = Path(d2lrnn.__file__).parent
    found = {p.parent.name for p in package.glob("*/ops.py")}
    assert found == set(BACKENDS)


def test_every_extra_is_in_setup_py():
    extras = set(importlib.metadata.metadata("d2lrnn").get_all("Provides-Extra") or ())
    assert {d.extra for d in DECLARATIONS if d.extra} <= extras


def test_every_backend_has_its_tox_env_which_must_hold_it():
    assert set(BACKENDS) <= set(tox_envs())  # and a plain `tox` runs each
    for name in BACKENDS:  # derived from the env's extras and deps: each env requires its own
        assert installed_by_tox(name) == ["numpy"] + ([name] if name != "numpy" else []), name
    assert installed_by_tox("legacy") == list(BACKENDS)  # all five in one process
    assert installed_by_tox("modern") == ["numpy", "torch", "jax", "tensorflow"]
    assert "D2LRNN_REQUIRE" not in (ROOT / "tox.ini").read_text()  # derived, not written


def test_required_backends_follow_the_env():
    assert required_backends({"D2LRNN_REQUIRE": "numpy,torch"}) == ["numpy", "torch"]
    assert required_backends({"TOX_ENV_NAME": "mxnet"}) == ["numpy", "mxnet"]
    assert required_backends({}) == []


def test_the_versions_page_has_a_row_per_test_env():
    page = (ROOT / "docs" / "environments.md").read_text(encoding="utf-8")
    for name in tox_envs():
        if name != "docs":  # builds the site, runs no test
            assert f"| `{name}` |" in page, f"the tested-versions table lacks {name}"


def test_each_backend_is_what_it_declares(d2l):
    ops, declared = d2l.ops, DECLARED[d2l.ops.name]
    assert ops.has_autograd == declared.autograd
    assert ops.has_rnn_layer == declared.own_layers
    assert (type(ops).compile is not Ops.compile) == declared.compiles
    assert ({*BOOK_TENSOR_API, *BOOK_FRAMEWORK_API} <= set(d2l.__all__)) == declared.book_tab
    assert d2l.__name__ == f"d2lrnn.{declared.name}"


def test_every_backend_makes_its_models_one_way(d2l):
    """Each exported model is the class written once (d2lrnn.book.rnn, d2lrnn.book.modern) on the
    backend's own Module, made by book.bind: JAX's Flax dataclasses included."""
    from d2lrnn.book.bind import EXPORTED, shared_class

    for name in EXPORTED:
        cls = getattr(d2l, name)
        assert issubclass(cls, shared_class(name, d2l.ops)), name
        assert cls.__module__ == d2l.__name__ and cls.__name__ == name
        assert cls.family[name] is cls  # a deep model makes its layers in the same backend
