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
# # Training on The Time Machine
#
# The book's corpus, as characters: 26 letters, the space and `<unk>`. Windows of 32
# characters predict the same windows shifted by one. With the book's settings (batch 1024,
# 32 hidden units, lr 1, clipping θ = 1, 100 epochs) validation perplexity ends near
# 7.2–7.5: in float32 the last epochs' digits move with the framework, the numpy and BLAS
# versions (the same sums in another order), so NumPy and PyTorch agree to the printed
# digits for 50 epochs and end at 7.25 and 7.39. `D2LRNN_FAST=1` trains briefly instead. It
# trains on the fast path: the same function and gradients as the book's code (the
# package's parity tests hold them to it), in seconds rather than minutes; set `FAST_PATH =
# False` to run the book's code step by step. The package chooses the framework's threads
# (`threads="package"`, as `d2lrnn train` does), so that another program busy on a core
# does not slow it many times over. The whole chapter takes about 14 s with NumPy (its
# fused kernel, the `numba` extra) and 13 s with PyTorch; 25 s and 20 s beside another
# program busy on one core (run whole as a script on a 2-core Intel Xeon, December 2026;
# PyTorch's default threads took 328 s there).

# %%
from d2lrnn.base.plot import perplexity_figure
from d2lrnn.chapters.chapter import BACKEND, FAST, d2l, show
from d2lrnn.training.train import fit

FAST_PATH = True
epochs = 2 if FAST else 100
data = d2l.TimeMachine(batch_size=1024 if not FAST else 128, num_steps=32,
                       num_train=10000 if not FAST else 1024, num_val=5000 if not FAST else 256)
print("vocabulary:", "".join(t if len(t) == 1 else "·" for t in data.vocab.idx_to_token))

# %%
model = d2l.RNNLMScratch(d2l.RNNScratch(len(data.vocab), 32, seed=0), len(data.vocab), lr=1,
                         seed=1)


def progress(record):  # a line every 10 epochs (a few seconds), in a notebook and on a page
    if record["epoch"] % 10 == 0:
        print(f"epoch {record['epoch']}: train perplexity {record['train_ppl']:.2f}, "
              f"validation {record['val_ppl']:.2f}")


history = fit(model, data, epochs=epochs, clip=1.0, fast=FAST_PATH, threads="package",
              on_epoch=progress)
print(f"after {epochs} epochs: train perplexity {history['train_ppl'][-1]:.2f}, "
      f"validation {history['val_ppl'][-1]:.2f}")
show(perplexity_figure(history, f"{BACKEND}, scratch"), "time_machine_perplexity")

# %% [markdown]
# ## Writing
# Greedy continuation takes the most likely character each time, as the book does; it soon
# repeats itself. Sampling with a temperature writes more varied, less likely text.

# %%
print(model.predict("time traveller", 50, data.vocab))
print(model.predict("time traveller", 50, data.vocab, temperature=0.8, seed=0))
