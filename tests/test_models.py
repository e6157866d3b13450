"""The section's models behave as the book describes, in every backend."""
import numpy as np
import pytest

from d2lrnn.chapters.demo import machine_example, section_tour


def test_initialisation(d2l):
    rnn = d2l.RNNScratch(200, 100, sigma=0.01, seed=0)
    params = rnn.get_params()
    assert set(params) == {"W_xh", "W_hh", "b_h"}
    assert params["W_xh"].shape == (200, 100) and params["W_hh"].shape == (100, 100)
    assert np.all(params["b_h"] == 0)
    assert params["W_xh"].std() == pytest.approx(0.01, rel=0.02)
    assert params["W_xh"].dtype == np.float32
    # the same seed gives the same weights in every backend (NumPy draws them)
    from d2lrnn import numpy as ref
    same = ref.RNNScratch(200, 100, sigma=0.01, seed=0).get_params()
    assert all(np.array_equal(params[k], same[k]) for k in params)


def test_rnn_forward_shapes_and_default_state(d2l, dtype):
    rnn = d2l.RNNScratch(16, 32, dtype=dtype, seed=0)
    inputs = np.ones((100, 2, 16))
    outputs, state = rnn(inputs)
    assert len(outputs) == 100
    assert d2l.ops.shape(outputs[0]) == (2, 32) and d2l.ops.dtype_name(state) == dtype
    zeros = rnn(inputs, np.zeros((2, 32)))[1]
    assert np.array_equal(d2l.ops.to_numpy(state), d2l.ops.to_numpy(zeros))
    # a given H_0 matters (over a few steps: with σ = 0.01 the RNN soon forgets it)
    short = inputs[:3]
    assert not np.allclose(d2l.ops.to_numpy(rnn(short, np.ones((2, 32)))[1]),
                           d2l.ops.to_numpy(rnn(short)[1]))


def test_lm_output_shape_and_uniform_start(d2l):
    V = 28
    lm = d2l.RNNLMScratch(d2l.RNNScratch(V, 32, sigma=0.0), V)
    X = np.ones((2, 100), dtype=np.int64)
    assert d2l.ops.shape(lm(X)) == (2, 100, V)
    assert lm.perplexity(X, X) == pytest.approx(V, rel=1e-5)  # all-zero weights: uniform


def test_weights_load_across_backends(d2l):
    from d2lrnn import numpy as ref
    source = ref.RNNLMScratch(ref.RNNScratch(6, 5, sigma=0.3, seed=4), 6, seed=5)
    target = d2l.RNNLMScratch(d2l.RNNScratch(6, 5), 6)
    target.set_params(source.get_params())
    X = np.arange(12).reshape(2, 6) % 6
    assert np.allclose(d2l.ops.to_numpy(target(X)), source(X), rtol=1e-5, atol=1e-6)


def test_machine_example(d2l):
    result = machine_example(d2l, dtype="float32")
    assert result["predicted"] == "achine"
    assert result["perplexity_after"] < 1.1 < 7.9 < result["perplexity_before"]


def test_section_tour(d2l):
    lines = section_tour(d2l)
    assert lines[0].startswith(f"backend: {d2l.ops.name}")
    assert "it now predicts 'achine'" in lines[-1]
