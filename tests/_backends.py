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
