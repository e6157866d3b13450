"""The package's rooms hold: no module imports from a room above its own, nor inside a room
from a layer above its own, imports inside functions included, so there is no import cycle
(the contracts are in pyproject.toml)."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


def contracts():
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11

    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"][
        "contracts"]


def test_the_layer_contracts_hold():
    command = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or \
        shutil.which("lint-imports")
    assert command, "import-linter is in the test extra: pip install '.[test]'"
    result = subprocess.run([command, str(ROOT / "pyproject.toml"), "--no-cache"], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert f"{len(contracts())} kept, 0 broken" in result.stdout


def named_modules():
    """Every module a contract names, and those of them that are optional: the rooms'
    contract names top-level modules and folders; a room's own contract its modules (a
    layer in parentheses is optional: a backend's devices, layers, kernels, fused)."""
    named, optional = set(), set()
    for contract in contracts():
        if contract["type"] == "independence":
            named |= set(contract["modules"])
            continue
        written = {m.strip() for layer in contract["layers"] for m in layer.split("|")}
        for m in written:
            names = {f"{c}.{m.strip('()')}" for c in contract.get("containers", [])} or {m}
            named |= names
            optional |= names if m.startswith("(") else set()
    return named, optional


def test_the_contracts_name_every_module():
    """A new module must be given its place: the top-level modules and folders in the rooms'
    contract, each module (or folder) of a room in the room's own (the cells are found by
    discovery, so a new cell's file needs no entry)."""
    package = ROOT / "d2lrnn"
    modules = {f"d2lrnn.{p.stem}" for p in package.glob("*.py") if p.stem != "__init__"}
    for init in package.rglob("*/__init__.py"):
        folder = init.parent
        name = "d2lrnn." + ".".join(folder.relative_to(package).parts)
        modules.add(name)
        if folder.parent != package:
            continue  # a room's folder (as tools/commands) is named by the room's contract
        inner = {f"{name}.{p.stem}" for p in folder.glob("*.py") if p.stem != "__init__"}
        inner |= {f"{name}.{p.parent.name}" for p in folder.glob("*/__init__.py")}
        if folder.name == "cells":
            from d2lrnn.cells import CELLS

            inner -= {type(cell).__module__ for cell in CELLS.values()}
        modules |= inner
    for init in package.glob("*/*/__init__.py"):  # the modules of a room's folder
        name = "d2lrnn." + ".".join(init.parent.relative_to(package).parts)
        modules |= {f"{name}.{p.stem}" for p in init.parent.glob("*.py") if p.stem != "__init__"}
    named, optional = named_modules()
    assert modules >= named - optional and modules - named == set(), \
        f"not in a contract: {sorted(modules - named)}; named but gone: " \
        f"{sorted(named - optional - modules)}"


def test_architecture_md_names_every_module():
    """ARCHITECTURE.md is the one map: every room and every module of the package is named
    there (a module as `name`, a room as `room/`)."""
    text = (ROOT / "ARCHITECTURE.md").read_text()
    package = ROOT / "d2lrnn"
    missing = [f"{p.parent.name}/" for p in package.glob("*/__init__.py")
               if f"`{p.parent.name}/`" not in text]
    missing += [str(p.relative_to(package)) for p in package.rglob("*.py")
                if p.stem != "__init__" and f"`{p.stem}`" not in text
                and f"{p.stem}.py" not in text]
    assert not missing, f"ARCHITECTURE.md does not name: {missing}"
