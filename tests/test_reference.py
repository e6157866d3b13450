"""The NumPy reference: hand-written BPTT against finite differences, and the golden file."""
import numpy as np
import pytest
from _parity import GOLDEN, golden

from d2lrnn import numpy as ref
from d2lrnn.base.vocab import Vocab
from d2lrnn.chapters.demo import machine_example
from d2lrnn.tools import parity


def lm_loss(model, X, Y):
    return float(np.log(model.perplexity(X, Y)))


def test_bptt_matches_central_differences():
    rng = np.random.default_rng(3)
    V, h = 5, 4
    model = ref.RNNLMScratch(ref.RNNScratch(V, h, sigma=0.5, dtype="float64", seed=1), V,
                             seed=2)
    model.set_params({**model.get_params(), "b_h": rng.normal(size=h),
                      "b_q": rng.normal(size=V)})
    X, Y = rng.integers(0, V, (2, 6)), rng.integers(0, V, (2, 6))
    loss, grads = ref.loss_and_grads(model, X, Y)
    assert loss == pytest.approx(lm_loss(model, X, Y), rel=1e-14)
    params, eps = model.get_params(), 1e-5
    for name, value in params.items():
        numeric = np.zeros_like(value)
        for index in np.ndindex(value.shape):
            for sign in (1, -1):
                shifted = {k: v.copy() for k, v in params.items()}
                shifted[name][index] += sign * eps
                model.set_params(shifted)
                numeric[index] += sign * lm_loss(model, X, Y) / (2 * eps)
        assert parity.rel_diff(grads[name], numeric) < parity.FINITE_DIFFERENCE_TOLERANCE, name
        assert np.abs(grads[name]).max() > 1e-3, f"{name}: a vanishing test gradient proves little"


def test_reference_matches_the_golden_file(dtype):
    inputs, outputs = parity.read_golden(GOLDEN)
    # every quantity, but those of the kinds a cell added since it was extended brings (its
    # tests compute their reference now: see _parity.golden)
    added = {f"{name}_{part}" for name in parity.missing_kinds(inputs)
             for part in ("states", "loss", "grads")}
    assert set(outputs[dtype]) == set(parity.QUANTITIES) - added
    inputs, outputs = golden()
    diffs = parity.compare(parity.reference(inputs, dtype), outputs[dtype])
    assert max(diffs.values()) <= parity.TOLERANCE["float64"], diffs


def test_the_golden_file_holds_every_cell_the_package_ships():
    """Only a cell added since the golden file was extended has its reference computed live
    (so that its tests run at once); every cell the package ships is held to the file."""
    inputs, _ = parity.read_golden(GOLDEN)
    assert parity.missing_kinds(inputs) == [], (
        "extend the golden file: python -m d2lrnn.tools.parity tests/golden/parity.npz")


def test_golden_file_is_not_trivial():
    inputs, outputs = parity.read_golden(GOLDEN)
    for q, value in outputs["float64"].items():
        assert np.all(np.isfinite(value)) and np.abs(value).max() > 1e-3, q
    # float32 rounding of the inputs must show in the float64 reference computed on them
    assert parity.rel_diff(outputs["float32"]["logits"], outputs["float64"]["logits"]) > 1e-9


def test_rel_diff_scales_by_the_reference():
    assert parity.rel_diff([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert parity.rel_diff([1.0, 2.5], [1.0, 2.0]) == pytest.approx(0.25)
    assert parity.rel_diff([1e-3], [0.0]) == pytest.approx(1e-3)
    with pytest.raises(ValueError, match="shape"):
        parity.rel_diff(np.zeros(3), np.zeros(4))


def test_vocab_like_the_book():
    vocab = Vocab(list("machine"))
    assert vocab.idx_to_token == ["<unk>", "a", "c", "e", "h", "i", "m", "n"]
    assert vocab[list("machin")] == [6, 1, 2, 4, 5, 7]
    assert vocab["z"] == vocab.unk == 0
    assert vocab.to_tokens([6, 1]) == ["m", "a"]
    words = Vocab([["the", "time"], ["the", "machine"]], min_freq=2, reserved_tokens=["<pad>"])
    assert words.idx_to_token == ["<pad>", "<unk>", "the"]
    assert words["time"] == words.unk


def test_machine_example_learns_achine():
    result = machine_example(ref, dtype="float64")
    assert result["logits_shape"] == (1, 6, 8)
    assert result["perplexity_before"] == pytest.approx(8.0, rel=1e-3)  # uniform over V = 8
    assert result["perplexity_after"] < 1.1
    assert result["predicted"] == "achine"
