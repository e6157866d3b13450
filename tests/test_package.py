"""The package as it would be published: the ``package`` tox env builds the sdist and the
wheel (the wheel from the sdist), checks their metadata (``twine check --strict``: the README
renders as the long description) and the wheel's layout (``check-wheel-contents``), then
points ``D2LRNN_DIST`` at them for these tests of what each holds."""
import os
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
DIST = os.environ.get("D2LRNN_DIST")
pytestmark = pytest.mark.skipif(not DIST, reason="the package tox env builds the sdist and "
                                                 "the wheel (D2LRNN_DIST names their folder)")
MODULES = {p.relative_to(ROOT).as_posix() for p in (ROOT / "d2lrnn").rglob("*.py")}
# never in a package: our tests, the chapters, the docs, the benchmarks, the book or any text
NOT_SHIPPED = ("tests/", "chapters/", "docs/", "benchmarks/", ".ci/")


def built(pattern):
    (path,) = Path(DIST).glob(pattern)
    return path


def test_the_wheel_holds_every_module_and_nothing_else():
    with zipfile.ZipFile(built("d2lrnn-*.whl")) as wheel:
        names = set(wheel.namelist())
    assert MODULES <= names, sorted(MODULES - names)
    library = {n for n in names if ".dist-info/" not in n}
    assert library == MODULES, sorted(library - MODULES)
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)


def test_the_sdist_builds_the_package_and_holds_no_tests_chapters_or_data():
    with tarfile.open(built("d2lrnn-*.tar.gz")) as sdist:
        names = {n.split("/", 1)[1] for n in sdist.getnames() if "/" in n}
    assert MODULES <= names, sorted(MODULES - names)
    assert {"setup.py", "pyproject.toml", "README.md", "LICENSE"} <= names
    shipped = sorted(n for n in names if n.startswith(NOT_SHIPPED) or n.endswith(".txt")
                     and not n.startswith("d2lrnn.egg-info/"))
    assert not shipped, shipped
