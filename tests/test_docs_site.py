"""The documentation site as a reader sees it: the pages `mkdocs build` wrote (the `docs` tox env
builds the site, then runs this file with D2LRNN_SITE naming it). The chapters ran with the
book's settings, and no page shows a warning, a traceback or the build machine's paths."""
import html
import os
import re
import sys
from pathlib import Path

import pytest
from test_chapters import FIGURES

ROOT = Path(__file__).parent.parent
SITE = Path(os.environ["D2LRNN_SITE"]) if os.environ.get("D2LRNN_SITE") else None
pytestmark = pytest.mark.skipif(SITE is None, reason="needs the built site: tox -e docs")

# What must not reach a page: a warning as Python prints one (`...: UserWarning: ...`; the API
# reference documents DeviceWarning, a class), a traceback, a chapter's output on stderr (a red
# box; the stylesheet names it too, in a selector), and paths of the machine that built it.
LEAKS = [re.compile(pattern) for pattern in (
    r"\w*Warning: ", "Traceback", 'data-mime-type="application/vnd.jupyter.stderr"(?!])',
    *(re.escape(path) for path in ("/work/", str(ROOT), f"{Path.home()}/", sys.prefix)))]


def pages():
    found = sorted(SITE.rglob("*.html"))
    assert found, f"no pages in {SITE}: run mkdocs build --site-dir {SITE} first"
    return found


def chapter_text(stem):
    """The words of a chapter's page (its prose and outputs), without the markup."""
    page = SITE / "chapters" / stem / "index.html"
    return html.unescape(re.sub(r"<[^>]+>", "", page.read_text(encoding="utf-8")))


def test_no_page_shows_a_warning_a_traceback_or_a_build_path():
    leaks = [f"{page.relative_to(SITE)}: {found[0]!r}" for page in pages()
             for leak in LEAKS if (found := leak.search(page.read_text(encoding="utf-8")))]
    assert not leaks, "\n".join(leaks)


@pytest.mark.parametrize("stem", sorted(FIGURES))
def test_chapter_pages_ran_with_the_books_settings(stem):
    page = (SITE / "chapters" / stem / "index.html").read_text(encoding="utf-8")
    assert "Quick settings" not in page, "build the site without D2LRNN_FAST"
    assert page.count('src="data:image/png;base64,') == len(FIGURES[stem])


def test_time_machine_page_shows_the_books_perplexity():
    trained = re.search(r"after (\d+) epochs: train perplexity ([\d.]+), validation ([\d.]+)",
                        chapter_text("02_time_machine"))
    assert trained, "the chapter printed no final perplexity"
    epochs, validation = int(trained[1]), float(trained[3])
    assert epochs == 100 and 6.5 < validation < 8, trained[0]  # the book: about 7.2-7.5


def test_gated_cells_page_shows_trained_gates():
    """Untrained gates sit near 0.5 everywhere (a flat heat map); trained ones are shut or
    open in places: some gate spends a tenth of its values below 0.1 or above 0.9."""
    gates = re.findall(r"(\w+ \w): mean ([\d.]+), share below 0.1: ([\d.]+), above 0.9: ([\d.]+)",
                       chapter_text("04_gated_cells"))
    assert [g[0] for g in gates] == ["reset R", "update Z", "input I", "forget F", "output O"]
    assert max(max(float(below), float(above)) for _, _, below, above in gates) >= 0.1, gates
