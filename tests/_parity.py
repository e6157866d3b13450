"""What the parity tests share: the golden file, the hand-written backward against central
differences, 50 training steps against the reference's, the greedy text in every backend.
The bounds are d2lrnn.tools.parity's (stated there, once)."""
import functools
from pathlib import Path

import numpy as np
import pytest
from _backends import load_or_skip, on_test_device

from d2lrnn.tools import parity
from d2lrnn.tools.parity import TRAINING_TOLERANCE

# The reference's inputs and outputs, written (and extended with a new cell's kinds) by
# `python -m d2lrnn.tools.parity PATH`.
GOLDEN = Path(__file__).parent / "golden" / "parity.npz"


@functools.cache
def golden():
    """The golden file's (inputs, {dtype: outputs}), with the kinds it does not hold yet (a
    cell added since it was extended) drawn and computed by today's reference."""
    return parity.completed(*parity.read_golden(GOLDEN))


# The training-parity runs: one epoch of the small_book fixture, SGD with clipping.
STEPS = 50
SGD = {"epochs": 1, "lr": 1.0, "clip": 1.0}

_trajectories = {}


def reference_losses(key, make_reference, data):
    """The step losses of the NumPy model ``make_reference(numpy backend)`` trained on
    ``data`` in float64, computed once per ``key`` in a test run."""
    from d2lrnn import numpy as ref
    from d2lrnn.training.train import fit

    if key not in _trajectories:
        _trajectories[key] = np.array(fit(make_reference(ref), data, **SGD)["step_loss"])
    return _trajectories[key]


def assert_trains_as_the_reference(d2l, device, make_lm, reference, data, fast=False,
                                   learns_by=0.3):
    """``make_lm(d2l)`` trained on ``device`` takes the reference's steps: each step's loss
    within TRAINING_TOLERANCE of ``reference`` (from :func:`reference_losses`), which must
    itself learn (its loss falls by ``learns_by``), so that a model stuck at the start cannot
    pass."""
    from d2lrnn.training.train import fit

    with on_test_device(d2l, device):
        losses = np.array(fit(make_lm(d2l), data, fast=fast, **SGD)["step_loss"])
    assert losses.shape == reference.shape == (STEPS,)
    assert reference[-1] < reference[0] - learns_by, "the reference must learn in these steps"
    worst = np.max(np.abs(losses - reference) / np.abs(reference))
    assert worst <= TRAINING_TOLERANCE, f"largest relative step-loss difference {worst:.2e}"


def assert_matches_central_differences(network, params, X, Y, what):
    """The hand-written backward of the language model on ``network`` (a cell, or a network
    of cells) against central differences of its loss, parameter by parameter."""
    from d2lrnn.cells import lm_loss_and_grads
    from d2lrnn.numpy.ops import ops

    _, grads = lm_loss_and_grads(network, ops, params, X, Y)
    assert_gradients_match_central_differences(
        lambda: lm_loss_and_grads(network, ops, params, X, Y)[0], grads, params, what)


# Central differences: the points (in steps h) and weights of each stencil, its step, its bound
# (d2lrnn.tools.parity), by its order of accuracy.
STENCILS = {2: ((-1, 1), (-1 / 2, 1 / 2), 1e-5, "FINITE_DIFFERENCE_TOLERANCE"),
            4: ((-2, -1, 1, 2), (1 / 12, -8 / 12, 8 / 12, -1 / 12), 1e-3,
                "FOURTH_ORDER_DIFFERENCE_TOLERANCE")}


def assert_gradients_match_central_differences(loss_of, grads, params, what, order=2):
    """``grads``, a hand-written backward's, against central differences of ``loss_of()``
    (the stencil of ``order``: 2, step 1e-5; 4, step 1e-3), which reads ``params`` (NumPy
    float64, changed in place entry by entry): every entry, each parameter's largest difference
    relative to its largest gradient, within that stencil's bound."""
    points, weights, step, bound = STENCILS[order]
    bound = getattr(parity, bound)
    assert set(grads) == set(params)
    for name, value in params.items():
        numeric = np.zeros_like(value)
        for index in np.ndindex(value.shape):
            old = value[index]
            for point, weight in zip(points, weights):
                value[index] = old + point * step
                numeric[index] += weight * loss_of()
            value[index] = old
        numeric /= step
        worst = np.abs(numeric - grads[name]).max() / np.abs(numeric).max()
        assert worst <= bound, f"{what} {name}: {worst:.1e}"


def texts_generated_everywhere(checkpoint, capsys):
    """The greedy text ``d2lrnn generate`` continues "the" with from ``checkpoint``, in every
    backend installed here: a set (one text where they all agree)."""
    from d2lrnn.base.backend import BACKENDS
    from d2lrnn.tools import cli

    texts = set()
    for backend in BACKENDS:
        try:
            load_or_skip(backend)
        except pytest.skip.Exception:
            continue
        assert cli.main(["generate", "--checkpoint", str(checkpoint), "--backend", backend,
                         "--prefix", "the", "--num-preds", "20"]) == 0
        texts.add(capsys.readouterr().out.strip().splitlines()[-1])
    return texts
