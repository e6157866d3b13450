"""What every chapter in ``chapters/`` does first: pick the framework, the speed, and where
figures go (``from d2lrnn.chapters.chapter import BACKEND, FAST, show, d2l``).

Environment variables (all optional):
  D2LRNN_BACKEND  numpy (default), torch, jax, tensorflow or mxnet
  D2LRNN_FAST     1 for quick settings (the test suite runs every chapter this way)
  D2LRNN_FIGURES  a folder: each figure is also saved there as PNG
"""
import os
from pathlib import Path

from ..base.backend import enable_float64, load_backend
from ..base.ipython import in_notebook
from ..base.ipython import show as show_in_notebook
from ..base.plot import save_figure

BACKEND = os.environ.get("D2LRNN_BACKEND", "numpy")
FAST = os.environ.get("D2LRNN_FAST", "") not in ("", "0")
FIGURES = Path(os.environ["D2LRNN_FIGURES"]) if os.environ.get("D2LRNN_FIGURES") else None

# Said under the first cell, so that a chapter rendered with quick settings (the docs site's)
# is not read as what the book's settings give.
QUICK_SETTINGS_NOTE = ("Quick settings (D2LRNN_FAST=1): a brief run, not the book's; its "
                       "perplexities, text and figures are an undertrained model's. Unset "
                       "D2LRNN_FAST for the full settings.")

enable_float64(BACKEND)  # the exercises compute in float64
d2l = load_backend(BACKEND)
if FAST:
    print(QUICK_SETTINGS_NOTE)


def show(fig, name):
    """Save ``fig`` under D2LRNN_FIGURES (if set); in a notebook, display it as an image
    under the cell (every figure of a cell, not only its last expression). Returns the
    figure outside a notebook, None inside (nothing more to print)."""
    if FIGURES is not None:
        save_figure(fig, FIGURES / f"{name}.png")
    if not in_notebook():
        return fig
    show_in_notebook(fig, format="png")
    return None
