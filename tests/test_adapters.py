"""What every backend must pass, the same checks for all: its array operations against NumPy,
its autograd against central differences, and each capability it declares (its own layers,
the input size its layers learn, compilation)."""
import inspect

import numpy as np
import pytest

from d2lrnn.base.adapter import Ops
from d2lrnn.base.adapter.kernels import FUSED_CELL_CODES
from d2lrnn.cells import VARIANTS
from d2lrnn.cells.lstm import LSTMCell
from d2lrnn.tools import parity

KNOWN_CELL_KEYS = set(VARIANTS)


def same(ops, got, want, dtype):
    return parity.rel_diff(ops.to_numpy(got), want) <= parity.TOLERANCE[dtype]


def test_array_operations_match_numpy(d2l, dtype):
    ops, rng = d2l.ops, np.random.default_rng(0)
    a, b, c = rng.normal(size=(3, 4)), rng.normal(size=(4, 5)), rng.normal(size=(3, 4))
    A, B, C = (ops.asarray(x, dtype) for x in (a, b, c))
    assert ops.dtype_name(A) == dtype and ops.to_numpy(A).dtype == np.dtype(dtype)
    assert ops.shape(A) == (3, 4) and ops.is_tensor(A)
    ids = np.array([2, 0, 3])
    I = ops.asarray(ids, "int64")
    logsumexp = np.log(np.exp(a).sum(1))
    checks = {
        "matmul": (ops.matmul(A, B), a @ b),
        "concat": (ops.concat([A, C], 1), np.concatenate([a, c], 1)),
        "stack": (ops.stack([A, C], 0), np.stack([a, c])),
        "transpose": (ops.transpose(A, (1, 0)), a.T),
        "reshape": (ops.reshape(A, (4, 3)), a.reshape(4, 3)),
        "sum": (ops.sum(A, 0), a.sum(0)),
        "mean": (ops.mean(A), a.mean()),
        "exp": (ops.exp(A), np.exp(a)),
        "logsumexp": (ops.logsumexp(A, 1), logsumexp),
        "log_softmax": (ops.log_softmax(A), a - logsumexp[:, None]),
        "softmax": (ops.softmax(A), np.exp(a - logsumexp[:, None])),
        "tanh": (ops.activation("tanh")(A), np.tanh(a)),
        "sigmoid": (ops.activation("sigmoid")(A), 1 / (1 + np.exp(-a))),
        "relu": (ops.activation("relu")(A), np.maximum(a, 0)),
        "one_hot": (ops.one_hot(I, 4, dtype), np.eye(4)[ids]),
        "pick": (ops.pick(A, I), a[np.arange(3), ids]),
        "embedding": (ops.embedding(B, I), b[ids]),
        "embedding_grad": (ops.embedding_grad(I, A, 4), np.eye(4)[ids].T @ a),
        "affine": (ops.affine(A, B, ops.asarray(b[0], dtype)), a @ b + b[0]),
        "maximum": (ops.maximum(A, 0.5), np.maximum(a, 0.5)),
        "zeros": (ops.zeros((2, 3), dtype), np.zeros((2, 3))),
    }
    wrong = [name for name, (got, want) in checks.items() if not same(ops, got, want, dtype)]
    assert not wrong, f"{ops.name} {dtype}: {wrong} differ from NumPy"
    assert ops.to_numpy(ops.argmax(A, 1)).tolist() == a.argmax(1).tolist()
    assert ops.dtype_name(ops.zeros((2,), dtype)) == dtype


def test_the_fused_scan_is_the_loop(d2l, dtype):
    ops, rng = d2l.ops, np.random.default_rng(1)
    P, H0, W = rng.normal(size=(5, 3, 4)), rng.normal(size=(3, 4)), rng.normal(size=(4, 4))
    states, last = ops.scan_tanh(*(ops.asarray(x, dtype) for x in (P, H0, W)))
    H, expected = H0, []
    for t in range(5):
        H = np.tanh(P[t] + H @ W)
        expected.append(H)
    assert same(ops, states, np.stack(expected), dtype) and same(ops, last, H, dtype)


def test_autograd_matches_central_differences(d2l):
    ops = d2l.ops
    if not ops.has_autograd:
        assert ops.name == "numpy"  # the reference, whose gradients are written by hand
        with pytest.raises(TypeError, match="no automatic differentiation"):
            ops.value_and_grad(lambda p: p["W"], {"W": ops.asarray(np.ones(2), "float64")})
        return
    rng = np.random.default_rng(2)
    x, w = rng.normal(size=(3, 4)), rng.normal(size=(4, 2))

    def f(params):  # a small function of one matrix with every kind of op the models use
        H = ops.activation("tanh")(ops.matmul(ops.asarray(x, "float64"), params["W"]))
        return ops.sum(ops.logsumexp(H * H, 1))

    value, grads = ops.value_and_grad(f, {"W": ops.asarray(w, "float64")})
    numeric = np.zeros_like(w)
    for index in np.ndindex(w.shape):
        for sign in (1, -1):
            shifted = w.copy()
            shifted[index] += sign * 1e-6
            numeric[index] += sign * float(ops.to_numpy(f({"W": ops.asarray(shifted,
                                                                           "float64")})))
    numeric /= 2e-6
    assert parity.rel_diff(ops.to_numpy(grads["W"]), numeric) <= 1e-7
    compiled = ops.compile(lambda W: f({"W": W}))  # compiling changes no number
    assert abs(float(ops.to_numpy(compiled(ops.asarray(w, "float64"))))
               - float(ops.to_numpy(value))) <= 1e-12 * abs(float(ops.to_numpy(value)))


class PeepholeCell(LSTMCell):
    """A cell no framework's layer is declared to compute, shaped as one that is (an LSTM's
    parameters and state), so that a layer mapping keyed by anything looser runs it."""

    name = "peephole"  # a class of the tests: not discovered


@pytest.mark.needs("own_layers")
def test_a_layer_mapping_refuses_a_cell_it_was_not_declared_for(d2l):
    """A framework's own layer runs only the functions its declaration names (by key): any
    other cell, a variant of a cell it has a layer for included, is one clear error, never
    another function computed on its parameters."""
    ops, rng = d2l.ops, np.random.default_rng(0)
    refused = [PeepholeCell(), *(cell for key, cell in VARIANTS.items()
                                 if key not in ops.cell_layers)]
    for cell in refused:
        params = {k: ops.asarray(rng.normal(0, 0.5, s), "float32")
                  for k, s in cell.shapes(4, 3).items()}
        state = cell.zero_state(ops, 2, 3, "float32")
        with pytest.raises(TypeError, match=f"no layer of its own for the {cell.key} cell"):
            ops.cell_layer(cell, params, ops.asarray(rng.normal(size=(5, 2, 4)), "float32"),
                           state)


def test_declared_capabilities(d2l):
    ops = d2l.ops
    assert set(ops.cell_layers) <= KNOWN_CELL_KEYS
    assert ops.has_rnn_layer == ("rnn" in ops.cell_layers)
    for key in ops.cell_layers:
        assert ops.has_cell_layer(VARIANTS[key])
    # the book's concise RNN signature follows the framework's layer
    first = list(inspect.signature(d2l.RNN.__init__).parameters)[1]
    assert first == ("num_hiddens" if ops.layer_learns_input_size else "num_inputs")
    assert ops.fast_grads in ("autograd", "bptt", "fused")
    assert ops.cell_grads in ("autograd", "cells")
    if ops.fast_grads == "fused":  # a backend that says so has its kernel, for its cells
        assert type(ops).fused_loss_and_grads is not Ops.fused_loss_and_grads
        assert "rnn" in ops.fused_cells and set(ops.fused_cells) <= KNOWN_CELL_KEYS
        assert set(ops.fused_cells) <= set(FUSED_CELL_CODES)  # each has its kernel's code
    assert set(ops.pad_last_batch) <= {"autograd", "bptt"}
    if ops.traces_eagerly:  # code run at every step must then be compiled
        assert type(ops).compile is not Ops.compile
