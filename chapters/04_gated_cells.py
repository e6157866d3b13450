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
# # Gates: the GRU and the LSTM
#
# Where the book goes after the RNN section (d2l.ai 10.1, 10.2): the tanh cell is replaced
# by cells whose gates decide, unit by unit and step by step, how much of the old state to
# keep. Here the three cells train on The Time Machine with the book's settings (10.1 and
# 10.2: 50 epochs, lr 4 for the gated cells; the tanh cell keeps 9.5's lr 1, at which it
# trains, where lr 4 diverges), and we look at what their gates do and how far back their
# gradients reach. It takes about 80 s with NumPy (its fused kernel, the `numba` extra) and
# 130 s with PyTorch (run whole as a script on a 2-core AMD EPYC shared with other work,
# December 2026).

# %%
import numpy as np

from d2lrnn.chapters import exercises, figures
from d2lrnn.chapters.chapter import BACKEND, FAST, d2l, show
from d2lrnn.training.train import fit

epochs = 2 if FAST else 50
data = d2l.TimeMachine(batch_size=128 if FAST else 1024, num_steps=32,
                       num_train=1280 if FAST else 10000, num_val=256 if FAST else 5000)
V = len(data.vocab)
models = {"RNN": d2l.RNNScratch(V, 32, seed=0), "GRU": d2l.GRUScratch(V, 32, seed=0),
          "LSTM": d2l.LSTMScratch(V, 32, seed=0)}
learning_rates = {"RNN": 1, "GRU": 4, "LSTM": 4}  # the book's
lms, histories = {}, {}
for name, rnn in models.items():
    lms[name] = d2l.RNNLMScratch(rnn, V, seed=1)
    histories[name] = fit(lms[name], data, epochs=epochs, lr=learning_rates[name], clip=1.0,
                          fast=True, threads="package")
    print(f"{name}: validation perplexity {histories[name]['val_ppl'][-1]:.2f}")
show(figures.curve_figure(range(1, epochs + 1), {n: h["val_ppl"] for n, h in histories.items()},
                          "epoch", "validation perplexity"), "cells_perplexity")

# %% [markdown]
# ## What the gates do
# Each row is a hidden unit, each column a character the model reads. A GRU's update gate Z
# near 1 keeps the unit's old value, near 0 takes the candidate; its reset gate R near 0 lets
# the candidate ignore the old value. An LSTM's forget gate F near 1 keeps its memory cell,
# its input gate I lets the candidate in, its output gate O shows the cell in the state.
# Untrained, every gate sits near 0.5; trained, units specialise: some open, some closed,
# some following the characters.

# %%
text = "the time traveller for so it will be convenient"
gru_gates = exercises.gate_activations(lms["GRU"], data.vocab, text)
lstm_gates = exercises.gate_activations(lms["LSTM"], data.vocab, text)
for name, values in {**gru_gates, **lstm_gates}.items():
    print(f"{name}: mean {values.mean():.2f}, share below 0.1: {(values < 0.1).mean():.2f}, "
          f"above 0.9: {(values > 0.9).mean():.2f}")
show(figures.gates_figure(gru_gates, text), "gru_gates")
show(figures.gates_figure(lstm_gates, text), "lstm_gates")

# %% [markdown]
# ## How far back the gradient reaches
# ‖∂(Σ H_T)/∂state_0‖ over the last T characters of a passage, for each trained model: the
# tanh cell multiplies T Jacobians and the gradient fades; the gates give it a path on which
# it fades more slowly (computed with each cell's hand-written backward, from the weights).

# %%
passage = ("the time traveller for so it will be convenient to speak of him was expounding "
           "a recondite matter to us")
lengths = [1, 2, 5, 10, 20, 40, 80]
norms = {name: exercises.state_gradient_norms_along(lm, data.vocab, passage, lengths)
         for name, lm in lms.items()}
for name, values in norms.items():
    print(f"{name}: " + ", ".join(f"T={T}: {v:.1e}" for T, v in zip(lengths, values)))
fig = figures.curve_figure(lengths, norms, "steps back T", "‖∂ΣH_T / ∂state_0‖")
fig.axes[0].set_yscale("log")
fig.axes[0].set_xscale("log")
show(fig, "cells_gradient_norms")

# %% [markdown]
# ## What each framework's own layer computes
# The concise models run the framework's layer on these same weights. For the LSTM every
# framework computes the book's equations; for the GRU they apply the reset gate after the
# recurrent product, another function (README: the table of weight mappings).

# %%
print(f"{BACKEND}'s own layers compute:", ", ".join(sorted(d2l.ops.cell_layers)) or "none")
X = np.eye(V)[data.X[:4, :16].T]
params = lms["GRU"].rnn.get_params()
after = d2l.GRUScratch(V, 32, reset="after")
after.set_params({**params, "b_hh": np.zeros(32)})
book_states, _ = lms["GRU"].rnn(X)
after_states, _ = after(X)
gap = max(np.abs(d2l.ops.to_numpy(a) - d2l.ops.to_numpy(b)).max()
          for a, b in zip(after_states, book_states))
print(f"trained GRU, reset before vs after on the same weights: states differ by up to {gap:.1e}")
