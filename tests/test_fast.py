"""The fast path gives the reference's numbers, and refuses what it does not compute.

Its loss and gradients are in the parity table (tests/test_parity.py) and its training
steps in the training-parity test (tests/test_training.py); this file checks that those
checks can fail, and the fast path's edges.
"""
import collections
import importlib.util
import os
import warnings

import numpy as np
import pytest
from _backends import tox_extras

from d2lrnn.base.backend import DECLARED
from d2lrnn.base.vocab import Vocab
from d2lrnn.cells import VARIANTS, lm_loss_and_grads
from d2lrnn.numpy.kernels import NumpyKernels
from d2lrnn.tools import parity
from d2lrnn.training import fast
from d2lrnn.training.train import fit


def small_lm(d2l, model="scratch", dtype="float64"):
    rng = np.random.default_rng(3)
    V, h = 7, 5
    rnn = d2l.RNNScratch(V, h, dtype=dtype) if model == "scratch" else d2l.RNN(
        num_inputs=V, num_hiddens=h, dtype=dtype)
    lm = (d2l.RNNLMScratch if model == "scratch" else d2l.RNNLM)(rnn, V)
    lm.set_params({k: rng.normal(0, 0.5, s) for k, s in
                   {"W_xh": (V, h), "W_hh": (h, h), "b_h": (h,), "W_hq": (h, V),
                    "b_q": (V,)}.items()})
    X, Y = rng.integers(0, V, (4, 6)), rng.integers(0, V, (4, 6))
    return lm, X, Y


def test_fast_gradients_equal_the_plain_ones(d2l):
    lm, X, Y = small_lm(d2l)
    ops = lm.ops
    loss, grads = fast.choose(lm).compiled_gradients()(lm.book_params, ops.asarray(X, "int64"),
                                     ops.asarray(Y, "int64"))
    ref_loss, ref_grads = d2l.loss_and_grads(lm, X, Y)
    assert parity.rel_diff(ops.to_numpy(loss), ref_loss) <= parity.TOLERANCE["float64"]
    for name, g in grads.items():
        assert parity.rel_diff(ops.to_numpy(g), ref_grads[name]) <= parity.TOLERANCE["float64"]


@pytest.mark.backends("tensorflow")
def test_tensorflows_compiled_functions_trace_without_autograph(d2l, monkeypatch):
    """Autograph rewrites a function's Python source before tracing it; ours branch on no
    tensor, so it only costs time, and on Python 3.13 (TensorFlow 2.21, gast) it raised
    thousands of DeprecationWarnings. Its converter is never entered, and nothing warns."""
    from tensorflow.python.autograph.impl import api  # what autograph calls on each call

    converted, convert = [], api.converted_call

    def recorded(f, *args, **kwargs):
        converted.append(f)
        return convert(f, *args, **kwargs)

    monkeypatch.setattr(api, "converted_call", recorded)
    lm, X, Y = small_lm(d2l)
    ops = lm.ops
    # Traced afresh: a test before may have compiled the same function (Kernels.cached).
    monkeypatch.setitem(vars(ops), "_cache", collections.OrderedDict())
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        fast.choose(lm).compiled_gradients()(lm.book_params, ops.asarray(X, "int64"),
                                             ops.asarray(Y, "int64"))
    assert converted == []


def test_a_wrong_fast_path_is_caught(d2l, monkeypatch):
    # a recurrence that forgets a little of H_{t-1}: the parity comparison must see it
    # (in the time loop, or in the fused kernel where the backend takes one)
    ops = d2l.ops
    honest, honest_fused = type(ops).scan_tanh, type(ops).fused_loss_and_grads

    def leaky(self, P, state, W_hh):
        return honest(self, P, state, W_hh * 0.999)

    def leaky_fused(self, params, X, Y, cell):
        return honest_fused(self, {**params, "W_hh": params["W_hh"] * 0.999}, X, Y, cell)
    monkeypatch.setattr(type(ops), "scan_tanh", leaky)
    monkeypatch.setattr(type(ops), "fused_loss_and_grads", leaky_fused)
    monkeypatch.setitem(ops.__dict__, "_cache", {})  # nothing compiled before the fault
    lm, X, Y = small_lm(d2l)
    _, grads = fast.choose(lm).compiled_gradients()(lm.book_params, ops.asarray(X, "int64"),
                                  ops.asarray(Y, "int64"))
    monkeypatch.setattr(type(ops), "scan_tanh", honest)
    monkeypatch.setattr(type(ops), "fused_loss_and_grads", honest_fused)
    monkeypatch.setitem(ops.__dict__, "_cache", {})
    _, ref_grads = d2l.loss_and_grads(lm, X, Y)
    assert parity.rel_diff(ops.to_numpy(grads["W_hh"]), ref_grads["W_hh"]) > \
        parity.TOLERANCE["float64"]


@pytest.mark.needs(layer="rnn")
def test_fast_generation_equals_the_models_forward(d2l):
    # predict runs the fast step; greedy from the concise model must match the scratch one
    # (the scratch one is checked against the book's loop in test_generation.py)
    vocab = Vocab(list("abcdef"))
    scratch, _, _ = small_lm(d2l, "scratch")
    concise, _, _ = small_lm(d2l, "concise")
    assert len(vocab) == 7
    assert concise.predict("bad", 25, vocab) == scratch.predict("bad", 25, vocab)


def test_fast_refuses_a_readers_own_model(d2l, tmp_path):
    from _corpora import synthetic_corpus

    from d2lrnn.book.data import TimeMachine

    class MyLM(d2l.RNNLMScratch):
        def output_layer(self, rnn_outputs):  # the reader's own output layer
            return super().output_layer(rnn_outputs)

    data = TimeMachine(8, 5, num_train=16, num_val=8, corpus=synthetic_corpus(tmp_path))
    V = len(data.vocab)
    lm = MyLM(d2l.RNNScratch(V, 4), V)
    # fit computes the package's equations, which the reader's layer may change: refused,
    # pointing at the book's Trainer, which runs the reader's code
    for quickly in (True, False):
        with pytest.raises(TypeError, match="your own MyLM: (train it with d2l.Trainer|"
                                            "the numpy backend has no autograd)"):
            fit(lm, data, epochs=1, fast=quickly)
    if DECLARED[d2l.ops.name].book_tab:  # the book's Trainer, in the book's frameworks
        d2l.Trainer(max_epochs=1, gradient_clip_val=1).fit(lm, data)
        assert np.isfinite([p.y for p in lm.board.data["train_ppl"]]).all()
    assert len(lm.predict("the", 5, data.vocab)) == 8  # generation calls its own layer


def test_greedy_over_several_compiled_chunks_matches_the_book_loop(d2l):
    from test_generation import VOCAB, book_predict, trained_like

    from d2lrnn.training.generation import GREEDY_CHUNK

    lm = trained_like(d2l)
    num_preds = 2 * GREEDY_CHUNK + 5  # two whole chunks and part of a third
    text = lm.predict("time ", num_preds, VOCAB)
    assert len(text) == 5 + num_preds
    assert text == book_predict(lm, "time ", num_preds, VOCAB)


@pytest.mark.parametrize("model", [
    "scratch", pytest.param("concise", marks=pytest.mark.needs(layer="rnn"))])
def test_a_shorter_last_batch_gives_the_reference_numbers(d2l, model, tmp_path):
    # compiling frameworks pad the last batch to the compiled shape; the padding must
    # change nothing: the same step losses and perplexities as the unpadded reference
    from _corpora import synthetic_corpus

    from d2lrnn import numpy as ref
    from d2lrnn.book.data import TimeMachine
    from d2lrnn.tools.experiment import build_lm

    data = TimeMachine(8, 6, num_train=3 * 8 + 5, num_val=8 + 3,
                       corpus=synthetic_corpus(tmp_path), seed=2)
    assert [len(X) for X, _ in data.train_batches(0)] == [8, 8, 8, 5]
    runs = [fit(build_lm(backend, kind, len(data.vocab), 6, "float64", seed=4), data,
                epochs=2, lr=1.0, clip=1.0, fast=fast)
            for backend, kind, fast in ((ref, "scratch", False), (d2l, model, True))]
    reference, fast = runs
    worst = max(abs(a - b) / abs(b) for a, b in zip(fast["step_loss"], reference["step_loss"]))
    assert len(fast["step_loss"]) == 8 and worst <= parity.TRAINING_TOLERANCE
    for key in ("train_ppl", "val_ppl"):
        assert fast[key] == pytest.approx(reference[key], rel=parity.TRAINING_TOLERANCE)


FUSED_CELLS = {key: cell for key, cell in VARIANTS.items() if key in NumpyKernels.fused_cells}


@pytest.mark.parametrize("cell", list(FUSED_CELLS))
@pytest.mark.parametrize("n", [1, 63, 64, 130])
def test_the_fused_kernel_computes_the_reference(n, cell, dtype):
    """NumPy's fast path where Numba is installed: forward and backward fused, groups of 64
    sequences side by side (padded), split between threads; the reference's numbers (the
    cells' backward) within the parity bounds, for every cell the kernel declares, for
    batches that fill no group, one, and part of a third."""
    pytest.importorskip("numba")
    from d2lrnn.numpy import fused
    from d2lrnn.numpy.ops import ops as numpy_ops

    rng = np.random.default_rng(n)
    V, h, T = 28, 32, 7
    params = {**FUSED_CELLS[cell].shapes(V, h), "W_hq": (h, V), "b_q": (V,)}
    params = {k: rng.normal(0, 0.3, s).astype(dtype) for k, s in params.items()}
    X, Y = rng.integers(0, V, (n, T)), rng.integers(0, V, (n, T))
    ref_loss, ref_grads = lm_loss_and_grads(
        FUSED_CELLS[cell], numpy_ops, {k: v.astype(np.float64) for k, v in params.items()}, X, Y)
    loss, grads = fused.loss_and_grads(params, X, Y, FUSED_CELLS[cell])
    bound = parity.TOLERANCE[dtype]
    assert loss.dtype == dtype and abs(float(loss) - ref_loss) <= bound * ref_loss
    assert abs(float(fused.loss(params, X, Y, FUSED_CELLS[cell])) - ref_loss) <= bound * ref_loss
    assert list(grads) == list(ref_grads)
    for name, ref in ref_grads.items():
        assert grads[name].dtype == dtype
        assert parity.rel_diff(grads[name], ref) <= bound, name


def test_the_fused_kernels_numbers_do_not_depend_on_its_threads(monkeypatch):
    """Three slices of a batch, computed on one thread and on three: the same numbers, to
    the bit (the slices and the order of their sums stay whatever the machine's load)."""
    numba = pytest.importorskip("numba")
    from d2lrnn.numpy import fused

    monkeypatch.setattr(numba.config, "NUMBA_NUM_THREADS", 3)
    monkeypatch.setattr(fused, "_threads", [])
    cell = FUSED_CELLS["lstm"]
    rng = np.random.default_rng(3)
    params = {**cell.shapes(28, 16), "W_hq": (16, 28), "b_q": (28,)}
    params = {k: rng.normal(0, 0.3, s).astype(np.float32) for k, s in params.items()}
    X, Y = rng.integers(0, 28, (3 * fused.LANES, 5)), rng.integers(0, 28, (3 * fused.LANES, 5))
    results = []
    for count in (1, 3):
        fused.set_threads(count)
        assert fused.threads() == count
        results.append((fused.loss_and_grads(params, X, Y, cell), fused.loss(params, X, Y, cell)))
    ((loss_1, grads_1), val_1), ((loss_3, grads_3), val_3) = results
    assert loss_1 == loss_3 and val_1 == val_3
    assert all(np.array_equal(grads_1[name], grads_3[name]) for name in grads_1)
    for wrong in (0, 4):
        with pytest.raises(ValueError, match="1 to 3 threads"):
            fused.set_threads(wrong)


def test_numpy_trains_with_the_fused_kernel_where_numba_is(monkeypatch):
    from d2lrnn import numpy as d2l

    has = importlib.util.find_spec("numba") is not None
    assert d2l.ops.fast_grads == ("fused" if has else "bptt")
    if "numba" in tox_extras(os.environ.get("TOX_ENV_NAME")):
        assert has, "this tox env installs the numba extra: the fused kernel must be tested"


@pytest.mark.backends("torch")
def test_a_script_that_trains_on_the_fused_kernel_exits_cleanly(backend, tmp_path):
    """A reader's script: fit(fast=True) on PyTorch's fused kernel with PyTorch's default
    threads, then the interpreter's exit. Forked parts with intra-op threads of their own
    made 4 of 5 such scripts abort at exit ("terminate called without an active
    exception", code 134); two runs here."""
    import subprocess
    import sys

    from _corpora import synthetic_corpus

    code = ("from d2lrnn import torch as d2l\n"
            "from d2lrnn.training.train import fit\n"
            f"data = d2l.TimeMachine(64, 8, num_train=256, num_val=64, "
            f"corpus={str(synthetic_corpus(tmp_path))!r})\n"
            "V = len(data.vocab)\n"
            "fit(d2l.RNNLMScratch(d2l.LSTMScratch(V, 16), V), data, epochs=2, fast=True)\n")
    for _ in range(2):
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                timeout=300)
        assert result.returncode == 0, result.stderr[-2000:]


@pytest.mark.backends("torch")
def test_the_fused_kernel_loads_without_a_warning(backend):
    """TorchScript's deprecation warning (PyTorch 2.13 on) is about the package's compiler,
    not the reader's code: loading the kernel, every warning an error, succeeds."""
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-W", "error::DeprecationWarning", "-c",
                             "import torch\nfrom d2lrnn.torch import fused"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]


def test_a_run_chooses_its_fast_path_once(d2l, monkeypatch, tmp_path):
    """fit asks the model for its fast path once, for its threads and its steps alike, and
    not at all when handed the path a caller chose (as d2lrnn train does, which records it):
    every choice asks the model again."""
    from _corpora import synthetic_corpus

    from d2lrnn.tools.experiment import train_run
    from d2lrnn.training.settings import Settings

    choices, choose = [], fast.choose
    monkeypatch.setattr(fast, "choose", lambda model: choices.append(model) or choose(model))
    monkeypatch.setattr(type(d2l.ops), "choose_threads", lambda self, strategy: None)
    corpus = synthetic_corpus(tmp_path)
    data = d2l.TimeMachine(8, 5, num_train=16, num_val=8, corpus=corpus)
    V = len(data.vocab)
    lm = d2l.RNNLMScratch(d2l.RNNScratch(V, 4, seed=0), V, seed=1)
    fit(lm, data, epochs=1, fast=True, threads="package")
    assert len(choices) == 1
    path = choose(lm)
    fit(lm, data, epochs=1, fast=path, threads="package")
    assert len(choices) == 1
    choices.clear()
    chosen_when_trained = []
    settings = Settings(backend=d2l.ops.name, epochs=1, batch_size=8, num_steps=5, num_train=16,
                        num_val=8, num_hiddens=4, corpus=str(corpus))
    train_run(settings, device="cpu", num_preds=1,
              on_epoch=lambda record: chosen_when_trained.append(len(choices)))
    assert chosen_when_trained == [1]  # the run's one choice, by the end of its training
    assert len(choices) == 1  # its samples generated on it, not chosen again


def test_fit_refuses_a_fast_path_chosen_for_another_model(d2l, tmp_path):
    """A path holds its model's recurrence (a deep network's layers, a GRU's reset): another
    model's would train that model's network on this one's parameters, silently."""
    from _corpora import synthetic_corpus

    data = d2l.TimeMachine(8, 5, num_train=16, num_val=8, corpus=synthetic_corpus(tmp_path))
    V = len(data.vocab)
    one, two = (d2l.RNNLMScratch(d2l.StackedRNNScratch(V, 4, layers, seed=0), V, seed=1)
                for layers in (1, 2))
    with pytest.raises(ValueError, match="fit: fast= is True, False or the fast path chosen "
                                         "for this model"):
        fit(two, data, epochs=1, fast=fast.choose(one))
