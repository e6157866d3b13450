"""The prepared GPU check (benchmarks/gpu/check.py) cannot waste a lent GPU on a typo: every
``d2lrnn`` command it plans parses with the real parser, its reader scripts compile, and the
tests it selects on a device exist. (Running it whole on the CPU takes minutes: its header
says how; it is not part of the suite.)"""
import ast
import importlib.util
from pathlib import Path

import pytest

from d2lrnn.tools import cli

SCRIPT = Path(__file__).parent.parent / "benchmarks" / "gpu" / "check.py"


@pytest.fixture(scope="module")
def check():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("where", ["cuda", "cpu"])
def test_every_planned_command_parses(check, where, tmp_path, capsys):
    checker = check.Checker(tmp_path, where, dry_run=True)
    checker.machine = "none"
    check.run_steps(checker)
    assert checker.summary()
    commands = [c[c.index("d2lrnn") + 1:] for c in checker.commands if "d2lrnn" in c
                and c[c.index("d2lrnn") - 1] == "-m"]
    subcommands = {c[0] for c in commands}
    assert subcommands == {"doctor", "train", "generate", "bench", "compare"}
    parser = cli.build_parser()
    for argv in commands:
        args = parser.parse_args(argv)  # exits (SystemExit) on an unknown option
        if "--device" in argv:
            assert args.device in (where, "cpu")
    assert "planned" in (tmp_path / "summary.md").read_text()
    capsys.readouterr()


def test_the_reader_scripts_compile(check):
    for backend, code in check.READER.items():
        ast.parse(code.replace("DEVICE", "'cuda'").strip().replace("\n        ", "\n"))
        assert f"from d2lrnn import {backend} as d2l" in code


def test_the_tests_it_selects_take_a_device(check):
    """The files the check runs with ``-k gpu`` hold tests with a ``device`` parameter."""
    for name in ("test_parity.py", "test_training.py", "test_gated_cells.py",
                 "test_deep_and_bidirectional.py"):
        tree = ast.parse((Path(__file__).parent / name).read_text())
        takes_device = [f.name for f in ast.walk(tree) if isinstance(f, ast.FunctionDef)
                        and f.name.startswith("test_") and "device" in
                        [a.arg for a in f.args.args]]
        assert takes_device, f"{name} has no test taking a device"
