# ---
# jupyter:
#   jupytext:
#     formats: py:percent,ipynb
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% tags=["setup"]
# Setup: in a fresh notebook service (Colab, Kaggle, Binder) install d2lrnn and the framework
# first; where they are installed, nothing happens. Choose the framework here.
import importlib.util  # noqa: E401
import os
import subprocess
import sys

BACKEND = os.environ.setdefault("D2LRNN_BACKEND", "numpy")  # numpy, torch, jax, tensorflow, mxnet
if not all(importlib.util.find_spec(m) for m in ("d2lrnn", BACKEND)):
    subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet",
                           "d2lrnn" if BACKEND == "numpy" else f"d2lrnn[{BACKEND}]"])

# %% [markdown]
# # Gates: the GRU and the LSTM
#
# Where the book goes after the RNN section (d2l.ai 10.1, 10.2): the tanh cell is replaced
# by cells whose gates decide, unit by unit and step by step, how much of the old state to
# keep. Here the three cells train on The Time Machine with the same settings, and we look
# at what their gates do and how far back their gradients reach. It takes about 24 s with
# NumPy (its fused kernel, the `numba` extra) and 21 s with PyTorch, 44 s and 37 s beside
# another program busy on one core (run whole as a script on a 2-core Intel Xeon, December 2026).

# %%
import numpy as np

from d2lrnn.chapters import exercises, figures
from d2lrnn.chapters.chapter import BACKEND, FAST, d2l, show
from d2lrnn.training.train import fit

epochs = 2 if FAST else 30
data = d2l.TimeMachine(batch_size=128 if FAST else 1024, num_steps=32,
                       num_train=1280 if FAST else 10000, num_val=256 if FAST else 5000)
V = len(data.vocab)
models = {"RNN": d2l.RNNScratch(V, 32, seed=0), "GRU": d2l.GRUScratch(V, 32, seed=0),
          "LSTM": d2l.LSTMScratch(V, 32, seed=0)}
lms, histories = {}, {}
for name, rnn in models.items():
    lms[name] = d2l.RNNLMScratch(rnn, V, seed=1)
    histories[name] = fit(lms[name], data, epochs=epochs, lr=1.0, clip=1.0, fast=True,
                          threads="package")
    print(f"{name}: validation perplexity {histories[name]['val_ppl'][-1]:.2f}")
show(figures.curve_figure(range(1, epochs + 1), {n: h["val_ppl"] for n, h in histories.items()},
                          "epoch", "validation perplexity"), "cells_perplexity")

# %% [markdown]
# ## What the gates do
# Each row is a hidden unit, each column a character the model reads. A GRU's update gate Z
# near 1 keeps the unit's old value; its reset gate R near 0 lets the candidate ignore it.
# An LSTM's forget gate F near 1 keeps its memory cell.

# %%
text = "the time traveller for so it will be convenient"
gru_gates = exercises.gate_activations(lms["GRU"], data.vocab, text)
lstm_gates = exercises.gate_activations(lms["LSTM"], data.vocab, text)
for name, values in {**gru_gates, **lstm_gates}.items():
    print(f"{name}: mean {values.mean():.2f}, share above 0.9: {(values > 0.9).mean():.2f}")
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
