"""The documentation as a reader sees it. The site: the pages `mkdocs build` wrote (the `docs`
tox env builds it, then runs this file with D2LRNN_SITE naming it): the chapters ran with the
book's settings, and no page shows a warning, a traceback or the build machine's paths. The
troubleshooting page (every env): the messages it quotes are what the commands print."""
import html
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from _corpora import book_path
from test_chapters import FIGURES

ROOT = Path(__file__).parent.parent
SITE = Path(os.environ["D2LRNN_SITE"]) if os.environ.get("D2LRNN_SITE") else None
needs_site = pytest.mark.skipif(SITE is None, reason="needs the built site: tox -e docs")

# What must not reach a page: a warning as Python prints one (`...: UserWarning: ...`; the API
# reference documents DeviceWarning, a class), a traceback, a chapter's output on stderr (a red
# box; the stylesheet names it too, in a selector), a widget shown as its JSON (a notebook
# progress bar), and paths of the machine that built it.
LEAKS = [re.compile(pattern) for pattern in (
    r"\w*Warning: ", "Traceback", 'data-mime-type="application/vnd.jupyter.stderr"(?!])',
    '"model_id": ',
    *(re.escape(path) for path in ("/work/", str(ROOT), f"{Path.home()}/", sys.prefix)))]


def pages():
    found = sorted(SITE.rglob("*.html"))
    assert found, f"no pages in {SITE}: run mkdocs build --site-dir {SITE} first"
    return found


def chapter_text(stem):
    """The words of a chapter's page (its prose and outputs), without the markup."""
    page = SITE / "chapters" / stem / "index.html"
    return html.unescape(re.sub(r"<[^>]+>", "", page.read_text(encoding="utf-8")))


@needs_site
def test_no_page_shows_a_warning_a_traceback_or_a_build_path():
    leaks = [f"{page.relative_to(SITE)}: {found[0]!r}" for page in pages()
             for leak in LEAKS if (found := leak.search(page.read_text(encoding="utf-8")))]
    assert not leaks, "\n".join(leaks)


@needs_site
@pytest.mark.parametrize("stem", sorted(FIGURES))
def test_chapter_pages_ran_with_the_books_settings(stem):
    page = (SITE / "chapters" / stem / "index.html").read_text(encoding="utf-8")
    assert "Quick settings" not in page, "build the site without D2LRNN_FAST"
    assert page.count('src="data:image/png;base64,') == len(FIGURES[stem])


@needs_site
def test_time_machine_page_shows_the_books_perplexity():
    trained = re.search(r"after (\d+) epochs: train perplexity ([\d.]+), validation ([\d.]+)",
                        chapter_text("02_time_machine"))
    assert trained, "the chapter printed no final perplexity"
    epochs, validation = int(trained[1]), float(trained[3])
    assert epochs == 100 and 6.5 < validation < 8, trained[0]  # the book: about 7.2-7.5


@needs_site
def test_gated_cells_page_shows_trained_gates():
    """Untrained gates sit near 0.5 everywhere (a flat heat map); trained ones are shut or
    open in places: some gate spends a tenth of its values below 0.1 or above 0.9."""
    gates = re.findall(r"(\w+ \w): mean ([\d.]+), share below 0.1: ([\d.]+), above 0.9: ([\d.]+)",
                       chapter_text("04_gated_cells"))
    assert [g[0] for g in gates] == ["reset R", "update Z", "input I", "forget F", "output O"]
    assert max(max(float(below), float(above)) for _, _, below, above in gates) >= 0.1, gates


@needs_site
def test_translation_page_shows_a_trained_translator():
    """30 epochs with the book's settings; on the stand-in corpus (offline) the model learns
    the grammar (validation loss 0.07 when written); a beam of one is greedy search."""
    text = chapter_text("05_translation")
    trained = re.search(r"val_loss after (\d+) epochs: ([\d.]+)", text)
    assert trained, "the chapter printed no validation loss"
    assert int(trained[1]) == 30
    if "corpus: the stand-in" in text:
        assert float(trained[2]) < 0.5, trained[0]
    assert "the same as greedy search: True" in text


def quoted(page):
    """The lines of a page's ```text blocks, numbers masked (they move with the machine)."""
    blocks = re.findall(r"```text\n(.*?)```", (ROOT / "docs" / page).read_text(encoding="utf-8"),
                        flags=re.S)
    return {masked(line) for block in blocks for line in block.splitlines()}


def masked(text):
    return re.sub(r"\d+(?:\.\d+)?", "#", text.rstrip())


def test_troubleshooting_quotes_what_the_commands_print(tmp_path):
    """The refused run folder, the divergence and an undertrained model's spaces, as the
    troubleshooting page quotes them (the commands it names, NumPy)."""
    env = {**os.environ, "D2LRNN_DATA": str(book_path().parent)}

    def train(*options):
        return subprocess.run([sys.executable, "-m", "d2lrnn", "train", "--quiet", *options],
                              cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)

    first = train("--epochs", "3", "--out", "runs/numpy")
    refused = train("--epochs", "3", "--out", "runs/numpy")
    diverged = train("--epochs", "3", "--lr", "100", "--clip", "1000", "--out", "runs/div")
    assert (first.returncode, refused.returncode, diverged.returncode) == (0, 2, 1)
    printed = [*first.stdout.splitlines()[1:3], refused.stderr, diverged.stderr]
    page = quoted("troubleshooting.md")
    assert [line for line in printed if masked(line) not in page] == []
