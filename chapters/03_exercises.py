# ---
# jupyter:
#   jupytext:
#     formats: py:percent,ipynb
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.7
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% tags=["setup"]
# Setup: where d2lrnn is installed, nothing happens. In a fresh notebook service (Colab, Kaggle)
# it installs d2lrnn and the framework chosen here from the clone holding this notebook, or from
# a wheel you uploaded: d2lrnn-*.whl in this folder, or the file D2LRNN_WHEEL names.
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

BACKEND = os.environ.setdefault("D2LRNN_BACKEND", "numpy")  # numpy, torch, jax, tensorflow, mxnet


class SetupStopped(Exception):
    def _render_traceback_(self):  # what a notebook shows: the message, no traceback
        return [str(self)]


def stop(message):
    if "get_ipython" in globals():  # a notebook
        raise SetupStopped(message)
    sys.exit(message)


if importlib.util.find_spec("d2lrnn") is None:
    here = Path.cwd()
    clones = [folder for folder in (here, *here.parents) if (folder / "setup.py").is_file()
              and 'name="d2lrnn"' in (folder / "setup.py").read_text(errors="replace")]
    wheels = sorted(here.glob("d2lrnn-*.whl"), key=os.path.getmtime, reverse=True)
    source = next((s for s in (*clones, os.environ.get("D2LRNN_WHEEL"), *wheels) if s), None)
    if source is None:
        stop("d2lrnn is not on PyPI: put a wheel in this folder (build it in a clone: python -m "
             "build) or name it in D2LRNN_WHEEL, or open this notebook in a clone of d2lrnn")
    extra = "numba" if BACKEND == "numpy" else BACKEND  # NumPy's fused kernel
    pip = [sys.executable, "-m", "pip", "install", "--quiet", f"{source}[{extra}]"]
    if subprocess.run(pip).returncode:
        stop(f"pip could not install {source}[{extra}]: its message is above")
    importlib.invalidate_caches()

# %% [markdown]
# # The section's exercises, answered by experiment
#
# About a second with NumPy, 2 s with PyTorch (run whole as a script on a 2-core Intel
# Xeon, December 2026).

# %%
import numpy as np

from d2lrnn.base.vocab import Vocab
from d2lrnn.chapters import exercises, figures
from d2lrnn.chapters.chapter import FAST, d2l, show

# %% [markdown]
# ## 1. How many outputs does a next-character model need?
# One score per token of the vocabulary: the output layer maps h hidden units to V logits.

# %%
vocab = Vocab(list("the time traveller"))
lm = d2l.RNNLMScratch(d2l.RNNScratch(len(vocab), 16, sigma=0.5, seed=0), len(vocab), seed=1)
logits = lm(np.array([vocab[list("time")]]))
print("vocabulary size", len(vocab), "-> logits of shape", d2l.ops.shape(logits))

# %% [markdown]
# ## 2. Does an early token still matter later?
# Change the first character and measure, step by step, how far the predicted distribution
# moves (total variation distance). Only the state carries the change forward; how long it
# lasts depends on W_hh (exercise 3).

# %%
text = "the time traveller"
moved = exercises.early_token_influence(lm, vocab, text, position=0, replacement="a")
for t in (0, 4, 9, len(text) - 1):
    print(f"after {t + 1:2d} characters: {moved[t]:.4f}")
show(figures.curve_figure(range(1, len(text) + 1), {"first token changed": moved},
                          "characters read", "total variation distance"), "early_token")

# %% [markdown]
# ## 3. Gradients through long sequences
# ∂H_T/∂H_0 is a product of T Jacobians diag(1 − H_t²) W_hh. With the spectral radius of
# W_hh below one the product vanishes geometrically; above one it grows until tanh saturates.

# %%
lengths = (1, 2, 5, 10, 20) if FAST else (1, 2, 5, 10, 20, 50, 100)
norms = exercises.gradient_norms(d2l, radii=(0.5, 1.0, 1.5), lengths=lengths)
for radius, values in norms.items():
    print(f"ρ = {radius}: " + ", ".join(f"{v:.1e}" for v in values))
show(figures.gradient_norm_figure(norms, lengths), "gradient_norms")

# %% [markdown]
# ## 4. What limits this model?
# Its cost grows linearly with the length of the text (each step waits for the previous
# one), and everything it remembers of the past must fit in the h numbers of its state.

# %%
lengths = (8, 16, 32) if FAST else (16, 32, 64, 128, 256)
seconds = exercises.forward_seconds(lm, lengths, repeats=1 if FAST else 3)
print(", ".join(f"T={T}: {1e3 * s:.1f} ms" for T, s in zip(lengths, seconds)))
show(figures.curve_figure(lengths, {"forward pass": seconds}, "sequence length",
                          "seconds"), "cost_vs_length")
