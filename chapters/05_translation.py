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
# # Machine translation: the encoder–decoder and beam search
#
# The last sections of the book's recurrent chapters (d2l.ai 10.5–10.8) turn the language
# model into a translator. A GRU *encoder* reads an English sentence and ends in a state, the
# *context*; a GRU *decoder* starts from that state and writes French one token at a time,
# each step seeing the token it wrote last and the context. Here it trains with the book's
# settings (10.7: embeddings and states of 256, two layers, dropout 0.2, batches of 128, at
# most 9 tokens a sentence, Adam at 0.005, 30 epochs, gradients clipped at 1), and we look at
# the data, the loss, the BLEU of a few translations, greedy search against beam search
# (10.8), and what the context is.
#
# The book's English–French pairs (`fra-eng.zip`) are downloaded and checked by their SHA-1;
# a verified copy in `D2LRNN_DATA` serves without a network. Where neither is there, the
# chapter says so and trains on a stand-in corpus of our own in the same format (sentences
# of a small grammar: *she likes the red car* → *elle aime la voiture rouge*), on which the
# numbers below mean little about French but everything else works the same. NumPy has no
# autograd: there the model trains by the reference's backward written by hand, with the
# package's Adam, and without dropout (the reference computes none). On the stand-in corpus
# the chapter takes about 55 s with NumPy and 80 s with PyTorch (run whole as a script on a
# 2-core AMD EPYC shared with other work, December 2026); JAX's beam search is slower (about
# a second a decoder step).

# %%
import matplotlib.pyplot as plt
import numpy as np

from d2lrnn.chapters import figures, translation
from d2lrnn.chapters.chapter import BACKEND, FAST, d2l, show

settings = {"batch_size": 128, "num_steps": 9, "num_train": 512, "num_val": 128}
data, raw_text, corpus = translation.translation_data(d2l, **settings)
print(f"corpus: {corpus}; source vocabulary {len(data.src_vocab)} tokens, "
      f"target vocabulary {len(data.tgt_vocab)}")
src, tgt = data._tokenize(data._preprocess(raw_text))
for english, french in list(zip(src, tgt))[:3]:
    print(" ".join(english), "=>", " ".join(french))

# %% [markdown]
# ## How long the sentences are
# Every sentence becomes `num_steps` tokens: a shorter one is padded with `<pad>`, a longer
# one cut. The histogram counts the tokens of each side (their `<eos>` included): most
# sentences are short, so a few steps suffice.

# %%
d2l.show_list_len_pair_hist(["source", "target"], "# tokens per sequence", "count", src, tgt)
plt.gcf().tight_layout()  # room for the labels
show(plt.gcf(), "translation_lengths")
plt.close("all")  # shown once above, not again by the notebook

# %% [markdown]
# ## Training
# `Seq2Seq` is the book's: the masked cross-entropy (a `<pad>` label weighs nothing), Adam,
# and the `Trainer` with gradient clipping. The curve is the loss per token.

# %%
size = 32 if FAST else 256
epochs = 10 if FAST else 30
dropout = 0 if BACKEND == "numpy" else 0.2
encoder = d2l.Seq2SeqEncoder(len(data.src_vocab), size, size, 2, dropout, seed=0)
decoder = d2l.Seq2SeqDecoder(len(data.tgt_vocab), size, size, 2, dropout, seed=1)
model = d2l.Seq2Seq(encoder, decoder, tgt_pad=data.tgt_vocab["<pad>"], lr=0.005)
if BACKEND == "numpy":  # no autograd: the reference's backward and the package's Adam
    board = translation.train_reference(d2l, model, data, max_epochs=epochs,
                                        gradient_clip_val=1)
else:
    model.board.display = False  # drawn once, after training
    trainer = d2l.Trainer(max_epochs=epochs, gradient_clip_val=1)
    trainer.fit(model, data)
    board = model.board
for label, points in board.data.items():
    print(f"{label} after {epochs} epochs: {points[-1].y:.3f}")
show(board.figure(), "translation_loss")

# %% [markdown]
# ## Translating, and BLEU
# Greedy search (the book's `predict_step`) feeds back the most probable token until `<eos>`.
# BLEU (10.7) compares a translation with the reference by the n-grams they share (here up
# to pairs of tokens, k = 2), and penalises a translation shorter than the reference: 1 is a
# perfect match. The sentences are the first validation pairs, never trained on.

# %%
val_english = [" ".join(s[:-1]) for s in src[data.num_train:data.num_train + 5]]
val_french = [" ".join(t[:-1]) for t in tgt[data.num_train:data.num_train + 5]]
batch = data.build(val_english, val_french)
if BACKEND == "jax":  # the book's JAX predict_step takes the parameters first
    preds, _ = model.predict_step(trainer.state.params, batch, data.num_steps)
else:
    preds, _ = model.predict_step(batch, d2l.cpu(), data.num_steps)


def until_eos(ids):
    tokens = data.tgt_vocab.to_tokens([int(i) for i in ids])
    return " ".join(tokens[:tokens.index("<eos>")] if "<eos>" in tokens else tokens)


greedy = [until_eos(row) for row in d2l.ops.to_numpy(preds)]
for english, french, guess in zip(val_english, val_french, greedy):
    print(f"{english} => {guess} (reference: {french}; BLEU {d2l.bleu(guess, french, k=2):.3f})")

# %% [markdown]
# ## Greedy search against beam search
# Greedy search keeps one sequence; beam search (10.8) keeps the `beam_size` most probable
# ones at every step, extending each by every token, and at the end ranks every candidate
# it finished by log P / L^α: log P sums the log-probabilities of the tokens the decoder
# produced, its `<eos>` included, L counts those tokens, and α = 0.75 (the book's) keeps
# short candidates from winning by their length alone. A beam of 1 is greedy search; a wider
# beam weighs more candidates and often finds a better one (not always: the search is still
# not exhaustive).

# %%
for beam_size in (1, 3):
    best = model.beam_search(batch, data.num_steps, beam_size)
    print(f"beam size {beam_size}:")
    for english, french, candidate in zip(val_english, val_french, best):
        guess = " ".join(data.tgt_vocab.to_tokens(list(candidate.tokens)))
        print(f"  {english} => {guess} (log P {candidate.log_prob:.2f}, score "
              f"{candidate.score():.2f}, BLEU {d2l.bleu(guess, french, k=2):.3f})")
    if beam_size == 1:
        print("  the same as greedy search:",
              [" ".join(data.tgt_vocab.to_tokens(list(c.tokens))) for c in best] == greedy)

# %% [markdown]
# ## What the encoder hands over
# The context is the encoder's top layer's state after the last source step (its padding
# included: the book's encoder reads every step). It is one vector per sentence, the same at
# every step of the decoder, concatenated to each embedded target token; the decoder's first
# state is the encoder's final state of every layer. Sentences that share words and
# structure get contexts that point the same way (high cosine similarity); whatever the
# decoder knows about the source goes through these numbers.

# %%
sentences = [" ".join(s[:-1]) for s in src[:8]]
enc_batch = data.build(sentences, [" ".join(t[:-1]) for t in tgt[:8]])
outputs, state = model.encoder(enc_batch[0], enc_batch[2])
contexts = np.stack([d2l.ops.to_numpy(state[-1])])[0]  # the top layer: (sentences, hiddens)
print(f"context: {contexts.shape[0]} sentences x {contexts.shape[1]} hidden units; the "
      f"decoder's input at each step: {size} (embedding) + {contexts.shape[1]} (context)")
show(figures.context_figure(contexts, sentences), "encoder_context")
