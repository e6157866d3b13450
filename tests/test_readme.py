"""The README and the documentation site's pages are executable: every Python block runs
(pytest-examples), every `d2lrnn` command line in a shell block is a valid command of
today's parser, and the cheap ones run."""
import importlib.util
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from _corpora import book_path

from d2lrnn.tools import cli

ROOT = Path(__file__).parent.parent
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]  # the README and the site's pages
# A shell block whose first line is `# runs in the tests` is executed (cheap commands only);
# every other block is parsed.
RUN_MARK = "# runs in the tests"


def python_blocks(pages=PAGES):
    from pytest_examples import find_examples

    return list(find_examples(*(str(page) for page in pages)))


def shell_blocks(pages=PAGES):
    """(where: "page:line", the block's text) of every shell block."""
    blocks = []
    for page in pages:
        text = page.read_text(encoding="utf-8")
        blocks += [(f"{page.relative_to(ROOT)}:{text[:m.start()].count(chr(10)) + 2}",
                    m.group(1)) for m in re.finditer(r"```bash\n(.*?)```", text, flags=re.S)]
    return blocks


def commands(block):
    """The command lines of a shell block: continuation lines joined, comments dropped."""
    joined = block.replace("\\\n", " ")
    lines = []
    for line in joined.splitlines():
        for part in re.split(r"\s*&&\s*", line.split("  #")[0].strip()):
            if part and not part.startswith("#"):
                lines.append(part)
    return lines


def frameworks_needed(source):
    return set(re.findall(r"from d2lrnn(?:\.v0_17)? import (\w+)", source)) - {"numpy"}


def run_block(example, eval_example, monkeypatch, corpus):
    """Run a page's Python block on ``corpus`` (the book where it can be had, else, offline,
    our own text: the blocks run either way), its error reported as a test failure."""
    from pytest_examples import run_code

    from d2lrnn.book import data

    monkeypatch.setattr(data, "download_timemachine", lambda folder=None: corpus)
    # A block's error keeps its own traceback: pytest-examples rewrites it with frames made
    # by ctypes whose positions do not match their code, and pytest, formatting them, died
    # (INTERNALERROR: "generator raised StopIteration"), the run's list of failures lost.
    monkeypatch.setattr(run_code, "create_example_traceback", lambda *args: None)
    eval_example.run(example)


@pytest.mark.parametrize("example", python_blocks(),
                         ids=lambda e: f"{Path(e.path).name}:{e.start_line}")
def test_python_block_runs(example, eval_example, monkeypatch, tmp_path, corpus):
    missing = [f for f in frameworks_needed(example.source) if not importlib.util.find_spec(f)]
    if missing:
        pytest.skip(f"needs {missing}, not installed in this env")
    monkeypatch.chdir(tmp_path)  # a block that writes files writes them here
    run_block(example, eval_example, monkeypatch, corpus)


def test_a_failing_block_is_a_failure_not_an_internal_error(tmp_path):
    """A block whose error comes from deep in d2lrnn (the book's download, offline): pytest
    lists it as a failure with its message, and goes on."""
    page = tmp_path / "page.md"
    page.write_text("```python\nfrom d2lrnn import numpy as d2l\n\n"
                    "d2l.RNNScratch(num_inputs=-1, num_hiddens=4)\n```\n")
    (tmp_path / "test_page.py").write_text(
        "from pytest_examples import find_examples\n"
        "from test_readme import run_block\n\n\n"
        "def test_block(eval_example, monkeypatch, tmp_path):\n"
        f"    (example,) = find_examples({str(page)!r})\n"
        "    run_block(example, eval_example, monkeypatch, tmp_path)\n\n\n"
        "def test_after():\n"
        "    pass\n")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_page.py"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parent)})
    assert "INTERNALERROR" not in result.stdout + result.stderr, result.stdout[-3000:]
    assert "1 failed, 1 passed" in result.stdout, result.stdout[-3000:]
    assert "num_inputs" in result.stdout


def test_the_first_block_is_a_complete_example():
    first = python_blocks([README])[0]
    assert first.source.lstrip().startswith(("import", "from", "#"))
    assert "d2lrnn" in first.source and "print(" in first.source


def where(value):
    """A test's id: the block's place, not its text."""
    return value if "\n" not in value else ""


@pytest.mark.parametrize("line, block", shell_blocks(), ids=where)
def test_every_d2lrnn_command_is_valid(line, block):
    parser = cli.build_parser()
    for command in commands(block):
        words = shlex.split(command)
        if words[0] != "d2lrnn":
            continue
        try:
            parser.parse_args(words[1:])
        except SystemExit as exit_:
            if exit_.code != 0:  # --help and --version exit 0
                raise AssertionError(f"{line}: {command!r} is not a valid "
                                     f"d2lrnn command") from None


RUNNABLE = [(line, block) for line, block in shell_blocks() if block.startswith(RUN_MARK)]


def test_some_shell_blocks_run():
    assert RUNNABLE, f"mark the cheap shell blocks of the README with {RUN_MARK!r}"


@pytest.mark.parametrize("line, block", RUNNABLE, ids=where)
def test_cheap_shell_block_runs(line, block, tmp_path):
    needed = {w for w in re.findall(r"--backend (\w+)", block)} - {"numpy"}
    missing = [f for f in needed if not importlib.util.find_spec(f)]
    if missing:
        pytest.skip(f"needs {missing}, not installed in this env")
    bin_dir = Path(sys.executable).parent  # the env's own d2lrnn command
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
           "D2LRNN_DATA": str(book_path().parent), "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run(["bash", "-e", "-c", block], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"{line}:\n{result.stderr[-3000:]}"
    assert "Traceback" not in result.stderr
