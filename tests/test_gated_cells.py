"""The gated cells (GRU, LSTM) beside the RNN: NumPy's hand-written backward checked against
central differences, every backend held to it (forward, loss, every gradient, 50 training
steps), the book's classes and signatures, and the command line's --cell."""
import numpy as np
import pytest
from _backends import load_or_skip, on_test_device
from _corpora import synthetic_corpus
from _parity import (
    assert_matches_central_differences,
    assert_trains_as_the_reference,
    reference_losses,
    texts_generated_everywhere,
)

from d2lrnn.base.backend import DECLARED
from d2lrnn.base.errors import BadArgument
from d2lrnn.cells import CELLS, KEYWORDS, VARIANTS, cell_named, lm_loss_and_grads
from d2lrnn.maths import bptt
from d2lrnn.numpy.ops import ops as numpy_ops
from d2lrnn.tools import cli, parity
from d2lrnn.tools.experiment import build_lm
from d2lrnn.training import checkpoint, fast
from d2lrnn.training.settings import Settings

# every function a cell beyond the section's computes, by its key (the GRU's reset before and
# after the recurrent product, ...)
GATED = tuple(key for key, cell in VARIANTS.items() if cell.name != "rnn")
n, T, V, h = 3, 5, 7, 6  # every axis a different size


def lm_inputs(cell, seed=0):
    """Seeded float64 weights (large enough that the gates saturate unevenly) and tokens."""
    rng = np.random.default_rng(seed)
    params = {k: rng.normal(0, 0.5, s) for k, s in VARIANTS[cell].shapes(V, h).items()}
    params.update(W_hq=rng.normal(0, 0.5, (h, V)), b_q=rng.normal(0, 0.5, V))
    return params, rng.integers(0, V, (n, T)), rng.integers(0, V, (n, T))


@pytest.mark.parametrize("cell", list(VARIANTS))
def test_reference_backward_matches_central_differences(cell):
    params, X, Y = lm_inputs(cell)
    assert_matches_central_differences(VARIANTS[cell], params, X, Y, VARIANTS[cell].key)


def test_the_relu_rnn_backward_matches_central_differences():
    """The RNN cell with ReLU (MXNet's rnn.RNN default): its forward is the section's with
    φ = ReLU, its hand-written backward matches central differences in float64."""
    from d2lrnn.cells.rnn import RNNCell

    relu = RNNCell("relu")
    params, X, Y = lm_inputs("rnn", seed=1)
    H_0 = np.zeros((n, h))
    inputs = numpy_ops.one_hot(X.T, V, "float64")
    outputs, _ = relu.run(numpy_ops, params, inputs, (H_0,))
    H = H_0
    for X_t in inputs:
        H = np.maximum(X_t @ params["W_xh"] + H @ params["W_hh"] + params["b_h"], 0)
    np.testing.assert_allclose(outputs[-1], H, rtol=0, atol=1e-15)
    cut = np.mean(np.stack(outputs) == 0)
    assert 0.2 < cut < 0.9, f"ReLU must cut off some units, not all ({cut:.0%} cut off)"
    assert_matches_central_differences(relu, params, X, Y, relu.key)


def test_the_relu_rnn_is_a_function_of_its_own():
    """Its key is not the tanh RNN's (no framework's tanh layer or kernel is taken for it);
    an activation the cell has not is one line."""
    from d2lrnn.cells.rnn import RNNCell

    assert (RNNCell().key, RNNCell("relu").key) == ("rnn", "rnn-relu")
    assert "rnn-relu" not in VARIANTS  # the 1.0 models compute the book's tanh only
    with pytest.raises(BadArgument, match="activation must be one of tanh, relu, got 'gelu'"):
        RNNCell("gelu")


def test_the_generic_backward_agrees_with_the_rnn_one():
    """The cell machinery's BPTT for the tanh cell is the section's hand-written one."""
    params, X, Y = lm_inputs("rnn")
    loss, grads = lm_loss_and_grads(CELLS["rnn"], numpy_ops, params, X, Y)
    loss_rnn, grads_rnn = bptt.lm_loss_and_grads(numpy_ops, params, X, Y)
    assert abs(loss - loss_rnn) <= 1e-15 * loss
    for name in grads:
        np.testing.assert_allclose(grads[name], grads_rnn[name], rtol=0, atol=1e-15)


# (model kind, cell's key): the scratch models compute the book's functions, and the
# frameworks' own layers the function they declare (Keras offers the book's GRU too)
KINDS = [(model, key) for key in GATED for model in ("scratch", "concise")]


def kind_param(model, cell, *more):
    """A KINDS entry as a test parameter: a concise model needs the framework's layer."""
    marks = [pytest.mark.needs(layer=cell)] if model == "concise" else []
    name = f"{model}-{cell}" + ("-fast" if more and more[0] else "")
    return pytest.param(model, cell, *more, marks=marks, id=name)


KIND_PARAMS = [kind_param(*kind) for kind in KINDS]


def the_lm(d2l, model, cell, params, dtype):
    lm = build_lm(d2l, model, V, h, dtype, cell=cell)
    lm.set_params(params)
    return lm


def test_a_concise_model_exists_for_each_layer_declared_and_no_other(d2l):
    """A framework's layers build the concise models of the cells its declaration names; any
    other is refused with a clear error, not computed as a different function."""
    for key in GATED:
        if key in DECLARED[d2l.ops.name].layers:
            build_lm(d2l, "concise", V, h, cell=key)
        else:
            with pytest.raises(TypeError, match="no layer of its own"):
                build_lm(d2l, "concise", V, h, cell=key)


@pytest.mark.parametrize("model, cell", KIND_PARAMS)
def test_backend_matches_the_reference(d2l, model, cell, dtype, device):
    with on_test_device(d2l, device):
        _matches_the_reference(d2l, model, cell, dtype)


def _matches_the_reference(d2l, model, cell, dtype):
    variant = VARIANTS[cell]
    params, X, Y = lm_inputs(cell, seed=1)
    inputs = {k: np.asarray(v, dtype).astype(np.float64) for k, v in params.items()}
    from d2lrnn import numpy as ref

    expected_lm = the_lm(ref, "scratch", cell, inputs, "float64")
    expected_loss, expected_grads = ref.loss_and_grads(expected_lm, X, Y)
    lm = the_lm(d2l, model, cell, inputs, dtype)
    loss, grads = d2l.loss_and_grads(lm, X, Y)
    bound = parity.TOLERANCE[dtype]
    assert abs(loss - expected_loss) <= bound * abs(expected_loss)
    assert set(grads) == set(expected_grads)
    for name in expected_grads:
        assert parity.rel_diff(grads[name], expected_grads[name]) <= bound, name
    # the forward pass: every hidden state and the final state, as the book returns them
    onehot = np.eye(V)[X.T]
    outputs, state = lm.rnn(onehot.astype(dtype))
    ref_outputs, ref_state = expected_lm.rnn(onehot)
    got = np.stack([d2l.ops.to_numpy(H) for H in outputs])  # a list, or stacked (concise)
    assert got.shape == (T, n, h)
    assert parity.rel_diff(got, np.stack(ref_outputs)) <= bound
    several = len(variant.state_names) > 1  # the book's (H, C), or H alone
    states = state if several else (state,)
    ref_states = ref_state if several else (ref_state,)
    assert len(states) == len(variant.state_names)
    for s, r in zip(states, ref_states):
        assert parity.rel_diff(d2l.ops.to_numpy(s), r) <= bound


# the fast path (compiled where the framework compiles) for a scratch and a concise model of
# each gated cell (the variant each computes unless told); the plain path for every kind
TRAINED = [kind_param(*kind, False) for kind in KINDS] + [
    kind_param(model, cell_named(name, model).key, True) for name in CELLS if name != "rnn"
    for model in ("scratch", "concise")]


@pytest.mark.parametrize("model, cell, fast", TRAINED)
def test_training_parity(d2l, model, cell, fast, small_book, device):
    """50 SGD steps with clipping, float64: every backend takes the reference's steps, on
    every device present."""
    def the_lm(backend, kind=model):
        return build_lm(backend, kind, len(small_book.vocab), 12, "float64", seed=1, cell=cell)

    reference = reference_losses(("cell", cell), lambda ref: the_lm(ref, "scratch"), small_book)
    assert_trains_as_the_reference(d2l, device, the_lm, reference, small_book, fast=fast)


def test_the_book_classes_and_their_states(d2l):
    gru = d2l.GRUScratch(4, 3)  # the book's GRUScratch(num_inputs, num_hiddens, sigma=0.01)
    assert gru.param_names == ("W_xz", "W_hz", "b_z", "W_xr", "W_hr", "b_r", "W_xh", "W_hh",
                               "b_h")
    X = np.random.default_rng(0).normal(size=(5, 2, 4)).astype("float32")
    outputs, H = gru(X)
    assert len(outputs) == 5 and d2l.ops.shape(H) == (2, 3)
    again, _ = gru(X, H)  # H=..., as the book passes it back
    lstm = d2l.LSTMScratch(num_inputs=4, num_hiddens=3, sigma=0.01)
    assert lstm.param_names[:3] == ("W_xi", "W_hi", "b_i")
    outputs, (H, C) = lstm(X)
    assert d2l.ops.shape(H) == d2l.ops.shape(C) == (2, 3)
    outputs2, _ = lstm(X, (H, C))
    assert not np.allclose(d2l.ops.to_numpy(outputs2[0]), d2l.ops.to_numpy(outputs[0]))
    with pytest.raises(ValueError, match=r"the state is \(H, C\)"):
        lstm(X, H)
    lm = d2l.RNNLMScratch(d2l.LSTMScratch(7, 5), vocab_size=7)
    assert set(lm.get_params()) == {*lstm.param_names, "W_hq", "b_q"}


@pytest.mark.parametrize("model, cell", KIND_PARAMS)
def test_the_fast_path_computes_the_reference(d2l, model, cell, dtype, device):
    """The fast path's loss and gradients (the input terms looked up, compiled where the
    framework compiles) are the reference's, for every cell, scratch and concise, on every
    device present."""
    params, X, Y = lm_inputs(cell, 2)
    inputs = {k: np.asarray(v, dtype).astype(np.float64) for k, v in params.items()}
    from d2lrnn import numpy as ref

    _, expected = ref.loss_and_grads(the_lm(ref, "scratch", cell, inputs, "float64"), X, Y)
    with on_test_device(d2l, device):
        lm = the_lm(d2l, model, cell, inputs, dtype)
        gradients_of = fast.choose(lm).compiled_gradients()
        loss, grads = gradients_of(lm.book_params, d2l.ops.asarray(X, "int64"),
                                   d2l.ops.asarray(Y, "int64"))
    for name, value in expected.items():
        assert parity.rel_diff(d2l.ops.to_numpy(grads[name]), value) <= \
            parity.TOLERANCE[dtype], name


@pytest.mark.parametrize("model, cell", [("scratch", "gru"), ("scratch", "lstm"),
                                         ("concise", "gru"), ("scratch", "gru-after")])
def test_train_and_generate_a_cell_from_the_command_line(model, cell, tmp_path, capsys):
    source = "torch" if model == "concise" else "numpy"
    load_or_skip(source)
    out = tmp_path / "run"
    assert cli.main(["train", "--cell", cell, "--model", model, "--backend", source,
                     "--corpus", str(synthetic_corpus(tmp_path)),
                     "--epochs", "2", "--batch-size", "32", "--num-steps", "8", "--hiddens",
                     "8", "--num-train", "128", "--num-val", "32", "--out", str(out),
                     "--quiet", "--json"]) == 0
    captured = capsys.readouterr()
    assert "fast path on cpu" in captured.out  # one layer of any cell: the fast path
    texts = texts_generated_everywhere(out / "checkpoint.safetensors", capsys)
    assert len(texts) == 1  # greedy text from the same GRU/LSTM weights, in every backend
    hparams = checkpoint.read(out / "checkpoint.safetensors").hparams
    computed = cell_named(cell, model)  # a GRU's variant, told or the model's own
    assert hparams["cell_key"] == computed.key
    assert {k: hparams[k] for k in KEYWORDS} == {k: computed.options().get(k) for k in KEYWORDS}


def test_the_cell_option_offers_and_explains_every_cell_and_variant(capsys):
    """--cell takes each cell's name and each of its variants' keys, and its help says what
    they are (every cell's section, every variant's key)."""
    with pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for key, cell in VARIANTS.items():
        assert key in text and cell.name in text and cell.section in text
    for name in (*CELLS, *VARIANTS):
        assert Settings(cell=name).cell == name


def test_the_two_grus_are_different_functions():
    """Reset before (the book) and after (the frameworks) differ even with b_hh = 0: by more
    than the float32 bound at the book's initial scale, and grossly at trained scales."""
    rng = np.random.default_rng(0)
    for sigma, at_least in ((0.01, 1e-5), (0.5, 0.05)):
        params = {k: rng.normal(0, sigma, s) for k, s in VARIANTS["gru-after"].shapes(4, h).items()}
        params["b_hh"] = np.zeros(h)
        X = rng.normal(0, 1, (T, n, 4))
        book = {k: v for k, v in params.items() if k != "b_hh"}
        before, _ = VARIANTS["gru-before"].run(numpy_ops, book, X)
        after, _ = VARIANTS["gru-after"].run(numpy_ops, params, X)
        assert parity.rel_diff(np.stack(after), np.stack(before)) > at_least
