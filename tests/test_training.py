"""Training: clipping, determinism, and the same steps in every backend (training parity)."""
import numpy as np
import pytest
from _parity import GOLDEN, assert_trains_as_the_reference, reference_losses

from d2lrnn.tools import parity
from d2lrnn.tools.experiment import build_lm
from d2lrnn.training.train import clip_gradients, fit

MODELS = ["scratch", pytest.param("concise", marks=pytest.mark.needs(layer="rnn"))]


@pytest.mark.parametrize("fast", [False, True], ids=["plain", "fast"])
@pytest.mark.parametrize("model", MODELS)
def test_training_parity(d2l, model, fast, small_book, device):
    # the fast path (compiled where the framework compiles) takes the reference's steps too,
    # on every device present
    def the_lm(backend, kind=model):
        return build_lm(backend, kind, len(small_book.vocab), 16, "float64", seed=1)

    reference = reference_losses(("rnn", 16), lambda ref: the_lm(ref, "scratch"), small_book)
    assert_trains_as_the_reference(d2l, device, the_lm, reference, small_book, fast=fast)


def test_clipping_scales_by_the_global_norm(d2l):
    rng = np.random.default_rng(0)
    grads = {k: d2l.ops.asarray(rng.normal(size=s), "float64")
             for k, s in {"a": (3, 4), "b": (4,)}.items()}
    norm = np.sqrt(sum((d2l.ops.to_numpy(g) ** 2).sum() for g in grads.values()))
    clipped, reported = clip_gradients(d2l.ops, grads, theta=norm / 4)
    assert reported == pytest.approx(norm, rel=1e-14)
    for k in grads:
        np.testing.assert_allclose(d2l.ops.to_numpy(clipped[k]), d2l.ops.to_numpy(grads[k]) / 4,
                                   rtol=1e-14)
    unclipped, _ = clip_gradients(d2l.ops, grads, theta=norm * 2)
    for k in grads:
        np.testing.assert_array_equal(d2l.ops.to_numpy(unclipped[k]), d2l.ops.to_numpy(grads[k]))


def test_training_is_deterministic_and_learns(d2l, small_book):
    def run():
        lm = build_lm(d2l, "scratch", len(small_book.vocab), 16, "float32", seed=3)
        return fit(lm, small_book, epochs=2, lr=1.0, clip=1.0, max_steps=60)

    first, second = run(), run()
    assert first["step_loss"] == second["step_loss"]
    assert first["epoch"] == [1, 2] and len(first["step_loss"]) == 60
    assert first["train_ppl"][-1] < first["train_ppl"][0]
    assert np.isfinite(first["val_ppl"]).all()


def test_epoch_perplexity_is_token_weighted(small_book):
    from d2lrnn import numpy as ref

    lm = build_lm(ref, "scratch", len(small_book.vocab), 8, "float64", seed=0)
    history = fit(lm, small_book, epochs=1, lr=1e-3, clip=0.0)
    expected = np.exp(np.mean(history["step_loss"]))  # equal batches: plain mean
    assert history["train_ppl"][0] == pytest.approx(expected, rel=1e-12)


def test_concise_equals_scratch(d2l, dtype):
    if not d2l.ops.has_rnn_layer:
        with pytest.raises(TypeError, match="no recurrent layer"):
            d2l.RNN(num_inputs=5, num_hiddens=3)
        return
    inputs, _ = parity.read_golden(GOLDEN)
    lm_in = {k.split(".", 1)[1]: v for k, v in parity.rounded(inputs, dtype).items()
             if k.startswith("lm.")}
    V, h = lm_in["W_hq"].shape[1], lm_in["W_hh"].shape[0]
    models = [d2l.RNNLMScratch(d2l.RNNScratch(V, h, dtype=dtype), V),
              d2l.RNNLM(d2l.RNN(num_inputs=V, num_hiddens=h, dtype=dtype), V)]
    results = []
    for lm in models:
        lm.set_params({k: lm_in[k] for k in lm.param_names})
        loss, grads = d2l.loss_and_grads(lm, lm_in["X"], lm_in["Y"])
        results.append({"logits": d2l.ops.to_numpy(lm(lm_in["X"])), "loss": loss, **grads})
    bound = parity.TOLERANCE[dtype]
    for key in results[0]:
        assert parity.rel_diff(results[1][key], results[0][key]) <= bound, key


def test_a_run_worse_than_guessing_stops_and_its_advice_trains(small_book):
    """No step's loss grows tenfold at lr 7 (clip 1), yet the epoch ends far worse than
    guessing among the vocabulary's tokens: that is a divergence, not a result. The model
    keeps what it had; the rate the message proposes then trains below guessing."""
    import re

    from d2lrnn import numpy as d2l
    from d2lrnn.training.train import TrainingDiverged

    V = len(small_book.vocab)
    lm = d2l.RNNLMScratch(d2l.RNNScratch(V, 32, seed=0), V, seed=1)
    before = lm.get_params()
    with pytest.raises(TrainingDiverged, match=f"train perplexity is .*, worse than guessing "
                                               f"among the vocabulary's {V} tokens") as caught:
        fit(lm, small_book, 4, lr=7, clip=1, fast=True)
    assert all(np.array_equal(before[k], v) for k, v in lm.get_params().items())
    advised = float(re.search(r"try lr=([0-9.e+-]+)", str(caught.value))[1])
    history = fit(lm, small_book, 4, lr=advised, clip=1, fast=True)
    assert history["train_ppl"][-1] < V


@pytest.mark.backends("torch")
def test_a_torch_run_that_stops_after_a_forked_step_exits_cleanly(backend, tmp_path):
    """PyTorch's forked parts: a run that diverges (so the process ends right after a step)
    exits 1 with its message, never SIGABRT ("terminate called without an active exception";
    on a terminal, about half such runs aborted)."""
    import os
    import pty
    import subprocess
    import sys

    from _corpora import synthetic_corpus

    corpus = synthetic_corpus(tmp_path)
    for _ in range(6):
        main, child = pty.openpty()  # a terminal, where the progress bar shows
        process = subprocess.Popen(
            [sys.executable, "-m", "d2lrnn", "train", "--backend", "torch", "--corpus",
             str(corpus), "--lr", "1e6", "--clip", "0", "--epochs", "3"],
            stdin=child, stdout=child, stderr=child)
        os.close(child)
        output = b""
        while True:
            try:
                chunk = os.read(main, 4096)
            except OSError:  # the terminal closed: the process ended
                break
            if not chunk:
                break
            output += chunk
        os.close(main)
        assert process.wait(timeout=120) == 1, output.decode(errors="replace")[-500:]
        assert b"diverged" in output


def test_the_training_loop_by_hand_takes_fits_steps(d2l, small_book):
    """fit's loop is an object a reader can drive (minGPT's Trainer is the model): its steps
    and the end of an epoch, called by hand, give fit's numbers, and a callback hears every
    step."""
    from d2lrnn.training.train import TrainingLoop

    def the_lm():
        return build_lm(d2l, "scratch", len(small_book.vocab), 8, "float64", seed=2)

    history = fit(the_lm(), small_book, epochs=1, lr=1.0, clip=1.0, max_steps=10)
    loop, heard = TrainingLoop(the_lm(), small_book, epochs=1, lr=1.0, clip=1.0), []
    loop.add_callback("step", lambda step, loss: heard.append((step, loss)))
    for X, Y in list(small_book.train_batches(0))[:10]:
        loop.step(X, Y)
    loop.end_epoch()
    assert heard == list(enumerate(history["step_loss"], 1))
    assert loop.history["step_loss"] == history["step_loss"]
    assert loop.history["train_ppl"] == history["train_ppl"]
    assert loop.history["val_ppl"] == history["val_ppl"]
