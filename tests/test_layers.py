"""The package's layers hold: no module imports from a layer above its own, imports inside
functions included, so there is no import cycle (the contract is in pyproject.toml)."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


def test_the_layer_contract_holds():
    command = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or \
        shutil.which("lint-imports")
    assert command, "import-linter is in the test extra: pip install '.[test]'"
    result = subprocess.run([command, str(ROOT / "pyproject.toml"), "--no-cache"], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "1 kept, 0 broken" in result.stdout


def test_the_contract_names_every_module():
    """A new module must be given its layer: the contract lists every module of the package
    (subpackages as a whole)."""
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    named = {m.strip() for layer in config["contracts"][0]["layers"]
             for m in layer.split("|")}
    package = ROOT / "d2lrnn"
    modules = {f"d2lrnn.{p.stem}" for p in package.glob("*.py") if p.stem != "__init__"}
    modules |= {f"d2lrnn.{p.parent.name}" for p in package.glob("*/__init__.py")}
    assert modules == named, f"not in the contract: {sorted(modules - named)}; gone: " \
                             f"{sorted(named - modules)}"
