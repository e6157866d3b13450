"""Deep and bidirectional networks (d2l.ai 10.3, 10.4): NumPy's backward through the layers
checked against central differences, every backend held to it (forward, loss, every
gradient, 50 training steps), the book's classes, their states and parameter names, and the
command line's --layers."""
import numpy as np
import pytest
from _backends import on_test_device
from _corpora import synthetic_corpus
from _parity import (
    assert_matches_central_differences,
    assert_trains_as_the_reference,
    reference_losses,
    texts_generated_everywhere,
)

from d2lrnn.base.vocab import Vocab
from d2lrnn.cells import VARIANTS, cell_named
from d2lrnn.numpy.ops import ops as numpy_ops
from d2lrnn.tools import cli, parity
from d2lrnn.tools.experiment import build_lm
from d2lrnn.training import fast

n, T, V, h = 2, 4, 5, 3  # every axis a different size

# (name, network): a network for each way of wiring layers, over every function of every cell
# (the parity table's deep and bidirectional kinds: the section's RNN three deep, others two)
NETWORKS = {f"{'bi' if kind.bidirectional else 'stacked'}-{kind.cell}"
            f"{'' if kind.bidirectional else f'-{kind.layers}'}": kind.network()
            for kind in parity.CELL_KINDS.values()
            if kind.model == "scratch" and (kind.layers > 1 or kind.bidirectional)}


def network_inputs(network, seed=0):
    """Seeded float64 weights (large enough that the gates saturate unevenly) and tokens."""
    rng = np.random.default_rng(seed)
    params = {k: rng.normal(0, 0.5, s) for k, s in network.shapes(V, h).items()}
    width = network.num_outputs(h)
    params.update(W_hq=rng.normal(0, 0.5, (width, V)), b_q=rng.normal(0, 0.5, V))
    return params, rng.integers(0, V, (n, T)), rng.integers(0, V, (n, T))


@pytest.mark.parametrize("name", list(NETWORKS))
def test_reference_backward_through_layers_matches_central_differences(name):
    network = NETWORKS[name]
    params, X, Y = network_inputs(network)
    assert_matches_central_differences(network, params, X, Y, name)


def test_a_backward_layer_reads_the_sequence_backwards():
    """b_rnn's first output depends on every input; f_rnn's only on the first."""
    network = NETWORKS["bi-rnn"]
    params, _, _ = network_inputs(network)
    X = np.random.default_rng(1).normal(size=(T, n, V))
    outputs, _ = network.run(numpy_ops, params, X)
    changed = X.copy()
    changed[-1] += 1.0  # the last step only
    outputs2, _ = network.run(numpy_ops, params, changed)
    assert np.allclose(outputs[0][:, :h], outputs2[0][:, :h])      # forward half: unchanged
    assert not np.allclose(outputs[0][:, h:], outputs2[0][:, h:])  # backward half: changed


# (model, cell, layers): the scratch deep and bidirectional models of every function of every
# cell, and the frameworks' own deep layers (the book library's GRU(num_layers=...), the LSTM)
KINDS = [("bi" if kind.bidirectional else "stacked" if kind.model == "scratch" else "concise",
          kind.cell, kind.layers) for kind in parity.CELL_KINDS.values()
         if kind.layers > 1 or kind.bidirectional]


def kind_param(model, cell, layers):
    """A KINDS entry as a test parameter: a concise model needs the framework's layer."""
    marks = [pytest.mark.needs(layer=cell)] if model == "concise" else []
    return pytest.param(model, cell, layers, marks=marks, id="-".join(map(str, (model, cell,
                                                                               layers))))


def deep_lm(d2l, model, cell, layers, dtype, seed=0):
    """The language model over the deep or bidirectional network of backend ``d2l``."""
    if model == "stacked":
        rnn = d2l.StackedRNNScratch(V, h, layers, cell=cell, dtype=dtype, seed=seed)
    elif model == "bi":
        rnn = d2l.BiRNNScratch(V, h, cell=cell, dtype=dtype, seed=seed)
    else:
        return build_lm(d2l, "concise", V, h, dtype, seed, cell=cell, layers=layers)
    return d2l.RNNLMScratch(rnn, V, seed=seed + 1)


def reference_lm(model, cell, layers):
    """NumPy's scratch model computing the same function."""
    from d2lrnn import numpy as ref

    return deep_lm(ref, "stacked" if model == "concise" else model, cell, layers, "float64")


def test_a_deep_concise_model_exists_for_each_layer_declared_and_no_other(d2l):
    for model, cell, layers in KINDS:
        if model != "concise":
            continue
        if d2l.ops.has_cell_layer(VARIANTS[cell]):
            assert len(deep_lm(d2l, "concise", cell, layers, "float32").param_names) > 0
        else:
            with pytest.raises(TypeError, match="no layer of its own"):
                deep_lm(d2l, "concise", cell, layers, "float32")


@pytest.mark.parametrize("model, cell, layers", [kind_param(*kind) for kind in KINDS])
def test_backend_matches_the_reference(d2l, model, cell, layers, dtype, device):
    with on_test_device(d2l, device):
        _matches_the_reference(d2l, model, cell, layers, dtype)


def _matches_the_reference(d2l, model, cell, layers, dtype):
    expected_lm = reference_lm(model, cell, layers)
    rng = np.random.default_rng(3)
    params = {k: rng.normal(0, 0.5, v.shape).astype(dtype).astype(np.float64)
              for k, v in expected_lm.get_params().items()}
    expected_lm.set_params(params)
    lm = deep_lm(d2l, model, cell, layers, dtype)
    assert set(lm.param_names) == set(params)
    lm.set_params(params)
    X, Y = rng.integers(0, V, (n, T)), rng.integers(0, V, (n, T))
    from d2lrnn import numpy as ref

    expected_loss, expected_grads = ref.loss_and_grads(expected_lm, X, Y)
    loss, grads = d2l.loss_and_grads(lm, X, Y)
    bound = parity.TOLERANCE[dtype]
    assert abs(loss - expected_loss) <= bound * abs(expected_loss)
    for name in expected_grads:
        assert parity.rel_diff(grads[name], expected_grads[name]) <= bound, name
    # the forward pass: the top layer's outputs and every layer's final state
    onehot = np.eye(V)[X.T]
    outputs, state = lm.rnn(onehot.astype(dtype))
    ref_outputs, ref_state = expected_lm.rnn(onehot)
    to_numpy = d2l.ops.to_numpy
    got = np.stack([to_numpy(H) for H in outputs])
    assert got.shape == np.shape(np.stack(ref_outputs))
    assert parity.rel_diff(got, np.stack(ref_outputs)) <= bound
    flat = [to_numpy(a) for a in _leaves(state)]
    expected = list(_leaves(ref_state))
    assert len(flat) == len(expected) == layers * (2 if model == "bi" else 1) * len(
        VARIANTS[cell].state_names)
    for a, b in zip(flat, expected):
        assert parity.rel_diff(a, b) <= bound


def _leaves(state):
    """Every layer's state arrays, in order (a deep GRU's stacked in one array, as the
    framework's layer gives them, taken apart)."""
    if isinstance(state, (list, tuple)) or len(np.shape(state)) == 3:
        for entry in state:
            yield from _leaves(entry)
    else:
        yield state


@pytest.mark.parametrize("model, cell, layers", [kind_param(*kind) for kind in KINDS])
def test_the_fast_path_computes_the_reference(d2l, model, cell, layers, dtype, device):
    """The fast path through several layers (the bottom one's input terms looked up, each
    level above's in one product, a backward layer scanned from the end; compiled where the
    framework compiles): the reference's loss and gradients, on every device present."""
    expected_lm = reference_lm(model, cell, layers)
    rng = np.random.default_rng(4)
    params = {k: rng.normal(0, 0.5, v.shape).astype(dtype).astype(np.float64)
              for k, v in expected_lm.get_params().items()}
    expected_lm.set_params(params)
    X, Y = rng.integers(0, V, (n, T)), rng.integers(0, V, (n, T))
    from d2lrnn import numpy as ref

    expected_loss, expected = ref.loss_and_grads(expected_lm, X, Y)
    with on_test_device(d2l, device):
        lm = deep_lm(d2l, model, cell, layers, dtype)
        lm.set_params(params)
        loss, grads = fast.choose(lm).compiled_gradients()(
            lm.book_params, d2l.ops.asarray(X, "int64"), d2l.ops.asarray(Y, "int64"))
    bound = parity.TOLERANCE[dtype]
    assert abs(float(d2l.ops.to_numpy(loss)) - expected_loss) <= bound * abs(expected_loss)
    assert set(grads) == set(expected)
    for name, value in expected.items():
        assert parity.rel_diff(d2l.ops.to_numpy(grads[name]), value) <= bound, name


def test_fast_generation_through_layers_equals_the_models_forward(d2l):
    """predict takes the fast path's step, its state one tuple per layer, fed back step by
    step: the text is the one the model's own forward gives, step by step."""
    vocab = Vocab(list("abcdef"))
    lm = d2l.RNNLMScratch(d2l.StackedRNNScratch(len(vocab), 4, 2, cell="lstm", sigma=0.5,
                                                dtype="float64", seed=5), len(vocab), seed=6)
    assert fast.available(lm)
    text = lm.predict("bad", 12, vocab)
    state, ids = None, [vocab[c] for c in "bad"]
    for step in range(len("bad") + 12 - 1):
        X = np.eye(len(vocab))[[[ids[step]]]].astype("float64")  # (1 step, 1 sequence, V)
        outputs, state = lm.rnn(X, state)
        if step >= len("bad") - 1:
            logits = d2l.ops.to_numpy(lm.output_layer(outputs))[0, -1]
            logits[vocab.unk] = -np.inf
            ids.append(int(np.argmax(logits)))
    assert text == "".join(vocab.idx_to_token[i] for i in ids)


TRAINED = (("stacked", "gru-before", 2), ("bi", "rnn", 1), ("concise", "lstm", 2))


@pytest.mark.parametrize("fast_path", [False, True], ids=["plain", "fast"])
@pytest.mark.parametrize("model, cell, layers", [kind_param(*kind) for kind in TRAINED])
def test_training_parity(d2l, model, cell, layers, fast_path, small_book, device):
    """50 SGD steps with clipping, float64, through two layers, on the plain path and the
    fast one: every backend takes the reference's steps, on every device present."""
    vocab = len(small_book.vocab)

    def lm_of(backend, model=model):
        if model == "concise":
            return build_lm(backend, "concise", vocab, 10, "float64", seed=2, cell=cell,
                            layers=layers)
        make = backend.StackedRNNScratch if model == "stacked" else backend.BiRNNScratch
        sizes = (vocab, 10, layers) if model == "stacked" else (vocab, 10)
        return backend.RNNLMScratch(make(*sizes, cell=cell, dtype="float64", seed=2), vocab,
                                    seed=3)

    # a concise model is held to the scratch stacked network of its cell
    reference = reference_losses(("deep", model, cell, layers), lambda ref: lm_of(
        ref, "stacked" if model == "concise" else model), small_book)
    assert_trains_as_the_reference(d2l, device, lm_of, reference, small_book, fast=fast_path,
                                   learns_by=0.2)


def test_the_book_classes_their_states_and_names(d2l):
    X = np.random.default_rng(0).normal(size=(5, 2, 4)).astype("float32")
    deep = d2l.StackedRNNScratch(num_inputs=4, num_hiddens=3, num_layers=2)  # the book's call
    assert deep.param_names == ("rnns.0.W_xh", "rnns.0.W_hh", "rnns.0.b_h", "rnns.1.W_xh",
                                "rnns.1.W_hh", "rnns.1.b_h")
    outputs, Hs = deep(X)
    assert d2l.ops.shape(outputs) == (5, 2, 3) and len(Hs) == 2  # stacked, one H per layer
    again, _ = deep(X, Hs)  # the states passed back, as the book does between batches
    assert not np.allclose(d2l.ops.to_numpy(again), d2l.ops.to_numpy(outputs))
    with pytest.raises(ValueError, match="one entry per layer"):
        deep(X, Hs[:1])
    if d2l.ops.name != "jax":  # Flax keeps a deep RNN's parameters in the model itself
        assert d2l.ops.shape(deep.rnns[1].W_xh) == (3, 3)
    bi = d2l.BiRNNScratch(4, 3, cell="lstm")
    outputs, (f_state, b_state) = bi(X)
    assert len(outputs) == 5 and d2l.ops.shape(outputs[0]) == (2, 6)  # both halves
    assert len(f_state) == len(b_state) == 2  # an LSTM's (H, C) in each direction
    assert bi.num_outputs == 6 and bi.num_hiddens == 3
    lm = d2l.RNNLMScratch(d2l.BiRNNScratch(7, 3), vocab_size=7)
    assert lm.get_params()["W_hq"].shape == (6, 7)  # the output layer reads both halves
    with pytest.raises(ValueError, match="num_layers"):
        d2l.StackedRNNScratch(4, 3, 0)
    with pytest.raises(ValueError, match="cell must be one of"):
        d2l.StackedRNNScratch(4, 3, 2, cell="transformer")


def test_layers_draw_the_same_numbers_everywhere(d2l):
    """The same seed gives the same weights in every backend, layer by layer, whether the
    layers are models of their own or (Flax) parameters of the deep model."""
    from d2lrnn import numpy as ref

    mine = d2l.StackedRNNScratch(6, 4, 3, cell="gru", seed=5).get_params()
    theirs = ref.StackedRNNScratch(6, 4, 3, cell="gru", seed=5).get_params()
    assert set(mine) == set(theirs)
    for name in theirs:
        np.testing.assert_array_equal(mine[name], theirs[name].astype(mine[name].dtype))
    assert not np.allclose(theirs["rnns.1.W_hz"], theirs["rnns.2.W_hz"])  # streams differ


def test_the_book_librarys_deep_gru(d2l):
    if not d2l.ops.has_cell_layer(cell_named("gru", "concise")):
        with pytest.raises(TypeError, match="no layer of its own"):
            d2l.GRU(4, 3, 2) if not d2l.ops.layer_learns_input_size else d2l.GRU(3, 2)
        return
    # the book library's signature: GRU(num_inputs, num_hiddens, num_layers, dropout=0) in
    # PyTorch, GRU(num_hiddens, num_layers, dropout=0) where the layer learns its input size
    gru = d2l.GRU(3, 2) if d2l.ops.layer_learns_input_size else d2l.GRU(4, 3, 2)
    X = np.random.default_rng(0).normal(size=(5, 2, 4)).astype("float32")
    outputs, state = gru(X)
    assert d2l.ops.shape(outputs) == (5, 2, 3) and len(state) == 2
    assert gru.param_names[0].startswith("rnns.0.") and "rnns.1.b_hh" in gru.param_names
    if d2l.ops.layers_stack_states:  # as the framework's layer: (num_layers, batch, hiddens)
        assert d2l.ops.shape(state) == (2, 2, 3)
    d2l.GRU(3, 2, 0.5) if d2l.ops.layer_learns_input_size else d2l.GRU(4, 3, 2, 0.5)
    with pytest.raises(ValueError, match="dropout"):  # a probability, below 1
        d2l.GRU(3, 2, 1.0) if d2l.ops.layer_learns_input_size else d2l.GRU(4, 3, 2, 1.0)


def test_train_and_generate_a_deep_model_from_the_command_line(tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main(["train", "--cell", "gru", "--layers", "2", "--backend", "numpy",
                     "--corpus", str(synthetic_corpus(tmp_path)), "--epochs", "2",
                     "--batch-size", "32", "--num-steps", "8", "--hiddens", "8",
                     "--num-train", "128", "--num-val", "32", "--out", str(out),
                     "--quiet"]) == 0
    assert "on the fast path" in capsys.readouterr().out
    texts = texts_generated_everywhere(out / "checkpoint.safetensors", capsys)
    assert len(texts) == 1  # greedy text from the same weights, in every backend
    assert cli.main(["train", "--model", "concise", "--layers", "2", "--quiet"]) == 2
    assert "the book's concise RNN is one layer" in capsys.readouterr().err
