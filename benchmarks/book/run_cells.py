"""Run the book's own code cells against d2lrnn, with only the import line changed.

This is how the promise "the book's cells run unchanged" is checked: the cells are read from
a checkout of the book's sources (d2l-ai/d2l-en; nothing of the book is kept in this
repository), filtered for one framework as the book's per-framework notebooks are
(``%%tab`` lines, ``tab.selected(...)`` branches), ``from d2l import X as d2l`` replaced by
``from d2lrnn import X as d2l``, and each section executed as a fresh notebook in a real
Jupyter kernel (nbclient + ipykernel) of the interpreter running this script, which must
hold the framework. The report counts the cells that ran, names the first error of each
that did not, and notes the figures each drew.

    git clone https://github.com/d2l-ai/d2l-en /tmp/d2l-en
    python benchmarks/book/run_cells.py --book /tmp/d2l-en --framework torch \\
        --out /tmp/book-torch [--max-epochs 2] [--sections rnn-scratch gru]

``--max-epochs`` lowers the book's ``max_epochs=`` (to check the idioms quickly; the report
says so). The corpus: the book's ``d2l.download`` looks in ``../data`` beside each notebook;
without a network, point ``D2LRNN_DATA`` at a folder holding ``timemachine.txt`` and, for
10.7, ``fra-eng/fra.txt`` (pairs of your own in the book's format, taken as they are; 10.5
downloads the archive itself and runs only with the book's ``fra-eng.zip`` there).
"""
import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

# The sections this package claims: chapter 9 (Recurrent Neural Networks) and 10.1-10.7.
SECTIONS = {
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
}
TAB_NAMES = {"torch": "pytorch", "mxnet": "mxnet", "tensorflow": "tensorflow", "jax": "jax"}
CELL = re.compile(r"```\{\.python \.input[^}]*\}\n(.*?)```", re.S)
IMPORT = re.compile(r"from d2l import (\w+) as d2l")
EPOCHS = re.compile(r"max_epochs=(\d+)")


def cells_for(markdown, framework):
    """The code cells of one section for one framework, as its notebook holds them."""
    tab = TAB_NAMES[framework]
    cells = []
    for code in CELL.findall(markdown):
        first, _, rest = code.partition("\n")
        if not first.startswith("%%tab"):
            continue  # the d2lbook set-up cell (%load_ext d2lbook.tab)
        tabs = {t.strip() for t in first[len("%%tab"):].split(",")}
        if "all" in tabs or tab in tabs:
            cells.append(rest.rstrip())
    return cells


def prepared(code, max_epochs):
    code = IMPORT.sub(r"from d2lrnn import \1 as d2l", code)
    if max_epochs:
        code = EPOCHS.sub(lambda m: f"max_epochs={min(int(m.group(1)), max_epochs)}", code)
    return code


def selector(framework, stand_ins=False):
    """The hidden first cell: ``tab.selected(...)`` as the book's notebooks resolve it; with
    ``stand_ins``, the classes of ``stand_ins.py`` put on the backend where it lacks them."""
    install = (f"import sys\nsys.path.insert(0, {str(Path(__file__).parent)!r})\n"
               f"import stand_ins\nfrom d2lrnn import {framework} as _backend\n"
               f"stand_ins.install(_backend)\n") if stand_ins else ""
    return (f"class _Tab:\n    def selected(self, *names):\n        names = [n for a in names "
            f"for n in (a if isinstance(a, (list, tuple)) else [a])]\n        return "
            f"{TAB_NAMES[framework]!r} in names\ntab = _Tab()\n{install}")


def run_section(book, framework, section, work, max_epochs, timeout, stand_ins=False):
    import nbformat
    from nbclient import NotebookClient

    markdown = (book / SECTIONS[section]).read_text(encoding="utf-8")
    cells = cells_for(markdown, framework)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(selector(framework, stand_ins))] + [
        nbformat.v4.new_code_cell(prepared(c, max_epochs)) for c in cells]
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
    for index, cell in enumerate(nb.cells[1:], 1):
        error = next((o for o in cell.get("outputs", []) if o.get("output_type") == "error"),
                     None)
        ran = cell.get("execution_count") is not None
        figures = sum(1 for o in cell.get("outputs", []) for kind in o.get("data", {})
                      if kind.startswith("image/"))
        results.append({
            "cell": index, "ok": ran and error is None, "figures": figures,
            "error": (f"{error['ename']}: {error['evalue'][:300]}" if error else
                      "" if ran else failure or "not run"),
            "first_line": cells[index - 1].splitlines()[0][:80]})
    nbformat.write(nb, str(folder / f"{section}.ipynb"))
    return {"section": section, "seconds": time.monotonic() - began, "cells": results}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--book", type=Path, required=True,
                        help="a checkout of d2l-ai/d2l-en (its chapter_* folders)")
    parser.add_argument("--framework", choices=TAB_NAMES, required=True)
    parser.add_argument("--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--max-epochs", type=int, default=0,
                        help="lower the book's max_epochs to at most this (0: as the book)")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    parser.add_argument("--out", type=Path, default=Path("book-cells"))
    parser.add_argument("--stand-ins", action="store_true",
                        help="give the backend the classes of stand_ins.py it lacks (10.7's "
                             "MTFraEng, on a corpus made up there)")
    args = parser.parse_args(argv)
    report = {"framework": args.framework, "max_epochs": args.max_epochs,
              "stand_ins": args.stand_ins, "python": sys.version.split()[0], "sections": []}
    for section in args.sections:
        result = run_section(args.book, args.framework, section, args.out, args.max_epochs,
                             args.timeout, args.stand_ins)
        report["sections"].append(result)
        ok = sum(c["ok"] for c in result["cells"])
        print(f"{args.framework} {section}: {ok} of {len(result['cells'])} cells ran "
              f"({result['seconds']:.0f} s)", flush=True)
        for cell in result["cells"]:
            if not cell["ok"]:
                print(f"  cell {cell['cell']} ({cell['first_line']}): {cell['error']}",
                      flush=True)
    total = sum(len(s["cells"]) for s in report["sections"])
    ran = sum(c["ok"] for s in report["sections"] for c in s["cells"])
    print(f"{args.framework}: {ran} of {total} cells ran"
          + (f" (max_epochs lowered to {args.max_epochs})" if args.max_epochs else ""))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"report-{args.framework}.json").write_text(json.dumps(report, indent=1))
    return 0 if ran == total else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
