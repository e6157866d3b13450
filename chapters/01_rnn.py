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
# # Recurrent neural networks, computed
#
# This chapter follows the section "Recurrent Neural Networks" of *Dive into Deep
# Learning* with the numbers of a live model. Choose the framework with the environment
# variable `D2LRNN_BACKEND` (numpy, torch, jax, tensorflow, mxnet); everything below is
# the same code for all of them. It takes about a second with NumPy and 2.4 s with PyTorch
# (run whole as a script on a 2-core Intel Xeon, December 2026).

# %%
import numpy as np

from d2lrnn.base.vocab import Vocab
from d2lrnn.chapters import figures
from d2lrnn.chapters.chapter import BACKEND, FAST, d2l, show
from d2lrnn.chapters.demo import machine_example

rng = np.random.default_rng(0)
print("framework:", BACKEND)

# %% [markdown]
# ## Without a hidden state
# A one-hidden-layer MLP maps a minibatch X (n × d) to H = φ(X W_xh + b_h) and then to
# O = H W_hq + b_q. Nothing carries over from one minibatch to the next.

# %%
mlp = d2l.MLP(num_inputs=5, num_hiddens=4, num_outputs=3, seed=0)
H, O = mlp(rng.normal(size=(2, 5)))
print("H:", d2l.ops.shape(H), " O:", d2l.ops.shape(O))

# %% [markdown]
# ## With a hidden state
# The RNN adds H_{t-1} W_hh: the state of the previous step enters the current one,
# H_t = φ(X_t W_xh + H_{t-1} W_hh + b_h). The same three parameters serve every step, so
# their number does not grow with the length of the sequence.

# %%
rnn = d2l.RNNScratch(num_inputs=5, num_hiddens=8, sigma=0.5, seed=0)
inputs = rng.normal(size=(3, 2, 5))  # (time steps, batch, features)
outputs, state = rnn(inputs)
print(len(outputs), "hidden states of shape", d2l.ops.shape(outputs[0]))
print("parameters:", {k: v.shape for k, v in rnn.get_params().items()})
show(figures.unrolled_rnn(rnn, inputs), "rnn_unrolled")

# %% [markdown]
# ## Two products or one
# Adding X W_xh and H W_hh is one product of the concatenations [X, H] and [W_xh; W_hh].

# %%
result = d2l.concat_demo(seed=0)
print("shape:", d2l.ops.shape(result["separate"]),
      " largest difference:", result["max_difference"])

# %% [markdown]
# ## A character-level language model on "machine"
# Reading "machin" one character at a time, the model should predict "achine": each target
# is the next character. Untrained, its predictions are close to uniform over the
# vocabulary; after a few dozen gradient steps on this one word they are sharp.

# %%
vocab = Vocab(list("machine"))
V = len(vocab)
lm = d2l.RNNLMScratch(d2l.RNNScratch(V, 16, seed=0), V, seed=1)
show(figures.lm_training_picture(lm, vocab, "machin", "achine"), "machine_untrained")

# %%
result = machine_example(d2l, steps=20 if FAST else 60)
print(f"perplexity {result['perplexity_before']:.2f} -> {result['perplexity_after']:.2f};"
      f" predicts {result['predicted']!r}")
show(figures.lm_training_picture(result["model"], result["model_vocab"], "machin", "achine"),
     "machine_trained")
