"""Run the book's own code cells against d2lrnn, with only the import line changed.

This is how the promise "the book's cells run unchanged" is checked: the cells are read from
a checkout of the book's sources (nothing of the book is kept in this repository), filtered
for one framework as the book's per-framework notebooks are, the import line of the book's
``d2l`` replaced by ours, and each section executed as a fresh notebook in a real Jupyter
kernel (nbclient + ipykernel) of the interpreter running this script, which must hold the
framework. The report counts the cells that ran, names the first error of each that did not
(by the line of the book's markdown where the cell starts), and notes the figures each drew.

Two editions, two sources:

- ``--edition 1.0`` (the default): d2l-ai/d2l-en, chapters 9 and 10.1-10.7; cells tagged by
  ``%%tab`` lines and ``tab.selected(...)`` branches; ``from d2l import X as d2l`` becomes
  ``from d2lrnn import X as d2l``; ``--max-epochs`` lowers ``max_epochs=``.
- ``--edition 0.17``: d2l-ai/d2l-zh (the Chinese edition), chapters 8 and 9; cells tagged by
  a first line ``#@tab pytorch, mxnet`` (``all``: every framework; untagged: MXNet's);
  ``from d2l import X as d2l`` becomes ``from d2lrnn.v0_17 import X as d2l``;
  ``--max-epochs`` lowers the integer given to ``num_epochs`` in an assignment.

    git clone https://github.com/d2l-ai/d2l-en /tmp/d2l-en
    python benchmarks/book/run_cells.py --book /tmp/d2l-en --framework torch \\
        --out /tmp/book-torch [--max-epochs 2] [--sections rnn-scratch gru]
    git clone https://github.com/d2l-ai/d2l-zh /tmp/d2l-zh
    python benchmarks/book/run_cells.py --edition 0.17 --book /tmp/d2l-zh --framework torch \\
        --out /tmp/book-zh-torch [--max-epochs 20] [--sections rnn-scratch gru]

The corpus: the book's ``d2l.download`` looks in ``../data`` beside each notebook; without a
network, point ``D2LRNN_DATA`` at a folder holding ``timemachine.txt`` and, for machine
translation, ``fra-eng/fra.txt`` (pairs of your own in the book's format, taken as they are;
1.0's 10.5 downloads the archive itself and runs only with the book's ``fra-eng.zip`` there);
``--stand-ins`` makes such a folder of the run's own with the project's stand-in pairs.
The run folder (``--out``) holds the executed notebooks, which are the book's code: keep them
out of this repository; ``report-<framework>.json`` and ``.md`` there hold no book text.
"""
import argparse
import ast
import json
import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

CELL = re.compile(r"```\{\.python \.input[^}]*\}\n(.*?)```", re.S)
IMPORT = re.compile(r"from d2l import (\w+) as d2l")
MAX_EPOCHS = re.compile(r"max_epochs=(\d+)")


@dataclass(frozen=True)
class Cell:
    line: int      # where its fence opens in the book's markdown (1-based)
    code: str


def book_cells(markdown):
    """Every code cell of a section, its tag line included, with where it starts."""
    return [Cell(markdown.count("\n", 0, m.start()) + 1, m.group(1))
            for m in CELL.finditer(markdown)]


def tagged_cells(markdown, tab, tag, untagged):
    """The cells of a section for the framework named ``tab``, as the edition's notebooks
    hold them: a cell runs where its first line, ``<tag> a, b``, names ``tab`` or ``all``
    (that line dropped); a cell without it belongs to the framework ``untagged`` (None: to
    none, as 1.0's d2lbook set-up cell)."""
    cells = []
    for cell in book_cells(markdown):
        first, _, rest = cell.code.partition("\n")
        if first.startswith(tag):
            tabs, code = {t.strip() for t in first[len(tag):].split(",")}, rest
        else:
            tabs, code = {untagged}, cell.code
        if "all" in tabs or tab in tabs:
            cells.append(Cell(cell.line, code.rstrip()))
    return cells


def lower_max_epochs(code, max_epochs):
    """1.0: every ``max_epochs=N`` argument lowered to at most ``max_epochs``."""
    return MAX_EPOCHS.sub(lambda m: f"max_epochs={min(int(m.group(1)), max_epochs)}", code)


def lower_num_epochs(code, max_epochs):
    """0.17: the integer a top-level line assigns to ``num_epochs`` (alone or in a tuple,
    ``num_epochs, lr = 500, 1``) lowered to at most ``max_epochs``; other lines unchanged."""
    lines = code.split("\n")
    for index, line in enumerate(lines):
        if "num_epochs" not in line:
            continue
        try:
            statement = ast.parse(line).body[0]
        except (SyntaxError, IndexError):
            continue  # an indented line, a magic, a statement spread over lines
        if not isinstance(statement, ast.Assign) or len(statement.targets) != 1:
            continue
        target, value = statement.targets[0], statement.value
        if isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple):
            pairs = zip(target.elts, value.elts)
        else:
            pairs = [(target, value)]
        encoded = line.encode()  # ast's column offsets count UTF-8 bytes
        for name, number in pairs:
            if (isinstance(name, ast.Name) and name.id == "num_epochs"
                    and isinstance(number, ast.Constant) and type(number.value) is int
                    and number.value > max_epochs):
                encoded = (encoded[:number.col_offset] + str(max_epochs).encode()
                           + encoded[number.end_col_offset:])
        lines[index] = encoded.decode()
    return "\n".join(lines)


@dataclass(frozen=True)
class Edition:
    source: str                      # the repository --book is a checkout of
    package: str                     # what the book's ``d2l`` package becomes
    sections: dict                   # name -> markdown file in the checkout
    tabs: dict                       # our framework name -> the edition's name for it
    tag: str                         # what starts a cell's line of frameworks
    untagged: str | None             # the framework of a cell without that line
    lower_epochs: Callable           # (code, max_epochs) -> code
    selects_tabs: bool               # its cells call tab.selected(...)

    def cells(self, markdown, tab):
        return tagged_cells(markdown, tab, self.tag, self.untagged)


EDITIONS = {
    "1.0": Edition(
        "d2l-ai/d2l-en", "d2lrnn",
        {   # chapter 9 (Recurrent Neural Networks) and 10.1-10.7
            "sequence": "chapter_recurrent-neural-networks/sequence.md",              # 9.1
            "text-sequence": "chapter_recurrent-neural-networks/text-sequence.md",    # 9.2
            "language-model": "chapter_recurrent-neural-networks/language-model.md",  # 9.3
            "rnn": "chapter_recurrent-neural-networks/rnn.md",                        # 9.4
            "rnn-scratch": "chapter_recurrent-neural-networks/rnn-scratch.md",        # 9.5
            "rnn-concise": "chapter_recurrent-neural-networks/rnn-concise.md",        # 9.6
            "lstm": "chapter_recurrent-modern/lstm.md",                               # 10.1
            "gru": "chapter_recurrent-modern/gru.md",                                 # 10.2
            "deep-rnn": "chapter_recurrent-modern/deep-rnn.md",                       # 10.3
            "bi-rnn": "chapter_recurrent-modern/bi-rnn.md",                           # 10.4
            "machine-translation-and-dataset":
                "chapter_recurrent-modern/machine-translation-and-dataset.md",          # 10.5
            "encoder-decoder": "chapter_recurrent-modern/encoder-decoder.md",         # 10.6
            "seq2seq": "chapter_recurrent-modern/seq2seq.md",                         # 10.7
        },
        {"torch": "pytorch", "mxnet": "mxnet", "tensorflow": "tensorflow", "jax": "jax"},
        "%%tab", None, lower_max_epochs, selects_tabs=True),
    "0.17": Edition(
        "d2l-ai/d2l-zh", "d2lrnn.v0_17",
        {   # chapter 8 (8.7, bptt, and 9.8, beam-search, have no code) and chapter 9
            "sequence": "chapter_recurrent-neural-networks/sequence.md",              # 8.1
            "text-preprocessing":
                "chapter_recurrent-neural-networks/text-preprocessing.md",              # 8.2
            "language-models-and-dataset":
                "chapter_recurrent-neural-networks/language-models-and-dataset.md",     # 8.3
            "rnn": "chapter_recurrent-neural-networks/rnn.md",                        # 8.4
            "rnn-scratch": "chapter_recurrent-neural-networks/rnn-scratch.md",        # 8.5
            "rnn-concise": "chapter_recurrent-neural-networks/rnn-concise.md",        # 8.6
            "gru": "chapter_recurrent-modern/gru.md",                                 # 9.1
            "lstm": "chapter_recurrent-modern/lstm.md",                               # 9.2
            "deep-rnn": "chapter_recurrent-modern/deep-rnn.md",                       # 9.3
            "bi-rnn": "chapter_recurrent-modern/bi-rnn.md",                           # 9.4
            "machine-translation-and-dataset":
                "chapter_recurrent-modern/machine-translation-and-dataset.md",          # 9.5
            "encoder-decoder": "chapter_recurrent-modern/encoder-decoder.md",         # 9.6
            "seq2seq": "chapter_recurrent-modern/seq2seq.md",                         # 9.7
        },
        {"torch": "pytorch", "mxnet": "mxnet", "tensorflow": "tensorflow"},
        "#@tab", "mxnet", lower_num_epochs, selects_tabs=False),
}


def prepared(edition, code, max_epochs):
    code = IMPORT.sub(rf"from {edition.package} import \1 as d2l", code)
    return edition.lower_epochs(code, max_epochs) if max_epochs else code


def selector(edition, framework):
    """The hidden first cell: ``tab.selected(...)`` as the book's notebooks resolve it."""
    if not edition.selects_tabs:
        return ""
    return (f"class _Tab:\n    def selected(self, *names):\n        names = [n for a in names "
            f"for n in (a if isinstance(a, (list, tuple)) else [a])]\n        return "
            f"{edition.tabs[framework]!r} in names\ntab = _Tab()\n")


def stand_in_data(folder):
    """A data folder for the kernels (their ``D2LRNN_DATA``): the files of the package's
    cache linked, and the stand-in English-French pairs (ours, in the book's format) unpacked
    as ``fra-eng/fra.txt`` where the book's would be. The library's readers take that folder
    without the network (0.17's ``download_extract`` and ``read_data_nmt``, 1.0's
    ``MTFraEng``); 1.0's 10.5 asks for the archive by its hash and still cannot run."""
    from d2lrnn.base.downloads import cache_dir
    from d2lrnn.base.files import atomic_write
    from d2lrnn.chapters.translation import stand_in_pairs

    folder.mkdir(parents=True, exist_ok=True)
    source = cache_dir()
    for entry in (source.iterdir() if source.is_dir() else ()):
        link = folder / entry.name
        if not entry.name.startswith("fra-eng") and not link.exists():
            link.symlink_to(entry.resolve())
    # renamed into place: whatever an earlier run left there (a pipe too) is replaced
    atomic_write(folder / "fra-eng" / "fra.txt", stand_in_pairs().encode("utf-8"))
    return folder


def run_section(edition, book, framework, section, work, max_epochs, timeout):
    import nbformat
    from nbclient import NotebookClient

    markdown = (book / edition.sections[section]).read_text(encoding="utf-8")
    cells = edition.cells(markdown, edition.tabs[framework])
    nb = nbformat.v4.new_notebook()
    hidden = selector(edition, framework)
    nb.cells = ([nbformat.v4.new_code_cell(hidden)] if hidden else []) + [
        nbformat.v4.new_code_cell(prepared(edition, c.code, max_epochs)) for c in cells]
    folder = work / framework / section
    folder.mkdir(parents=True, exist_ok=True)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(folder)}})
    began = time.monotonic()
    try:
        client.execute()
    except Exception as err:  # noqa: BLE001 - a cell past its timeout, a dead kernel
        failure = f"{type(err).__name__}: {str(err).strip().splitlines()[-1][:200]}"
    else:
        failure = ""
    results = []
    for index, (cell, source) in enumerate(zip(nb.cells[bool(hidden):], cells), 1):
        error = next((o for o in cell.get("outputs", []) if o.get("output_type") == "error"),
                     None)
        ran = cell.get("execution_count") is not None
        figures = sum(1 for o in cell.get("outputs", []) for kind in o.get("data", {})
                      if kind.startswith("image/"))
        results.append({
            "cell": index, "line": source.line, "ok": ran and error is None,
            "figures": figures,
            "error": (f"{error['ename']}: {error['evalue'][:300]}" if error else
                      "" if ran else failure or "not run")})
    nbformat.write(nb, str(folder / f"{section}.ipynb"))
    return {"section": section, "file": edition.sections[section],
            "seconds": time.monotonic() - began, "cells": results}


def summary(report):
    """The report as a Markdown page: a row per section, then each failing cell."""
    lines = [f"# The {report['edition']} edition's cells in {report['framework']}", "",
             f"Book: {report['source']} at {report['book_commit'] or 'an unknown commit'}; "
             f"Python {report['python']}"
             + (f"; epochs lowered to at most {report['max_epochs']}"
                if report["max_epochs"] else "")
             + ("; the stand-in English-French pairs in place of the book's"
                if report.get("stand_ins") else "") + ".", "",
             "| section | cells run | of | figures | seconds |", "|---|---|---|---|---|"]
    for s in report["sections"]:
        lines.append(f"| {s['section']} | {sum(c['ok'] for c in s['cells'])} | "
                     f"{len(s['cells'])} | {sum(c['figures'] for c in s['cells'])} | "
                     f"{s['seconds']:.0f} |")
    lines.append(f"| all | {report['ran']} | {report['total']} | | |")
    failures = [(s, c) for s in report["sections"] for c in s["cells"] if not c["ok"]]
    if failures:
        lines += ["", "| section | cell | markdown line | first error |", "|---|---|---|---|"]
        lines += [f"| {s['section']} | {c['cell']} | {c['line']} | "
                  f"{c['error'].splitlines()[0][:200].replace('|', '/')} |"
                  for s, c in failures]
    return "\n".join(lines) + "\n"


def book_commit(book):
    """The commit of a git checkout of the book (a worktree's ``.git`` file included)."""
    import subprocess

    done = subprocess.run(["git", "-C", str(book), "rev-parse", "HEAD"], capture_output=True,
                          text=True, check=False)
    return done.stdout.strip() if done.returncode == 0 else ""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--edition", choices=EDITIONS, default="1.0",
                        help="1.0: a checkout of d2l-ai/d2l-en; 0.17: of d2l-ai/d2l-zh")
    parser.add_argument("--book", type=Path, required=True,
                        help="a checkout of the edition's sources (its chapter_* folders)")
    parser.add_argument("--framework", choices=EDITIONS["1.0"].tabs, required=True)
    parser.add_argument("--sections", nargs="+",
                        help="the sections to run (default: all the edition's)")
    parser.add_argument("--max-epochs", type=int, default=0,
                        help="lower the book's epochs to at most this (0: as the book)")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    parser.add_argument("--out", type=Path, default=Path("book-cells"))
    parser.add_argument("--stand-ins", action="store_true",
                        help="run on the stand-in English-French pairs (ours, made up in the "
                             "book's format) where the book's fra-eng.zip cannot be had "
                             "offline: translations and BLEU then mean nothing")
    args = parser.parse_args(argv)
    edition = EDITIONS[args.edition]
    if args.framework not in edition.tabs:
        parser.error(f"the {args.edition} edition has no {args.framework} cells; choose one "
                     f"of {', '.join(edition.tabs)}")
    sections = args.sections or list(edition.sections)
    unknown = [s for s in sections if s not in edition.sections]
    if unknown:
        parser.error(f"no section {', '.join(unknown)} in the {args.edition} edition; choose "
                     f"from {', '.join(edition.sections)}")
    if args.max_epochs < 0:
        parser.error(f"--max-epochs {args.max_epochs}: give a positive number of epochs, or 0 "
                     f"for the book's own")
    missing = [edition.sections[s] for s in sections if not (args.book / edition.sections[s])
               .is_file()]
    if missing:
        parser.error(f"{args.book} holds no {missing[0]}: pass a checkout of {edition.source}")
    report = {"edition": args.edition, "source": edition.source,
              "book_commit": book_commit(args.book), "framework": args.framework,
              "max_epochs": args.max_epochs, "stand_ins": args.stand_ins,
              "python": sys.version.split()[0], "sections": []}
    if args.stand_ins:  # the kernels inherit this process's environment
        os.environ["D2LRNN_DATA"] = str(stand_in_data(args.out / "stand-in-data"))
    for section in sections:
        result = run_section(edition, args.book, args.framework, section, args.out,
                             args.max_epochs, args.timeout)
        report["sections"].append(result)
        ok = sum(c["ok"] for c in result["cells"])
        print(f"{args.framework} {section}: {ok} of {len(result['cells'])} cells ran "
              f"({result['seconds']:.0f} s)", flush=True)
        for cell in result["cells"]:
            if not cell["ok"]:
                print(f"  cell {cell['cell']} (line {cell['line']}): {cell['error']}",
                      flush=True)
    report["total"] = sum(len(s["cells"]) for s in report["sections"])
    report["ran"] = sum(c["ok"] for s in report["sections"] for c in s["cells"])
    print(f"{args.framework}: {report['ran']} of {report['total']} cells ran"
          + (f" (epochs lowered to {args.max_epochs})" if args.max_epochs else ""))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"report-{args.framework}.json").write_text(json.dumps(report, indent=1))
    (args.out / f"report-{args.framework}.md").write_text(summary(report))
    return 0 if report["ran"] == report["total"] else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
