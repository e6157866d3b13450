"""Adam written once (d2lrnn.training.adam): two steps worked out by hand, in every backend's
arrays; the clipping by global norm before the step; PyTorch's torch.optim.Adam step for step;
bad settings in one line."""
import math

import numpy as np
import pytest

from d2lrnn.base.errors import BadArgument
from d2lrnn.tools.parity import TOLERANCE
from d2lrnn.training.adam import Adam


def run(ops, adam, params, gradients, dtype):
    """``adam`` from NumPy ``params`` through the NumPy ``gradients`` (a list of dicts), on
    ``ops``'s arrays: each step's parameters, in NumPy, and the norms before clipping."""
    def framework(arrays):
        return {name: ops.asarray(np.asarray(value, dtype), dtype)
                for name, value in arrays.items()}
    params = framework(params)
    state, trajectory, norms = adam.init(ops, params), [], []
    for grads in gradients:
        params, state, norm = adam.step(ops, params, framework(grads), state)
        trajectory.append({name: ops.to_numpy(value) for name, value in params.items()})
        norms.append(norm)
    return trajectory, norms


# One number, lr 0.1, β = (0.9, 0.999), ε = 1e-8, gradients 0.5 then -0.25:
#   step 1: m = 0.1 * 0.5 = 0.05, v = 0.001 * 0.25 = 2.5e-4; corrected 0.05 / 0.1 = 0.5 and
#           2.5e-4 / 0.001 = 0.25, whose root is 0.5: θ = 1 - 0.1 * 0.5 / (0.5 + 1e-8)
#   step 2: m = 0.9 * 0.05 + 0.1 * (-0.25) = 0.02, v = 0.999 * 2.5e-4 + 0.001 * 0.0625
#           = 3.1225e-4; corrected 0.02 / 0.19 and 3.1225e-4 / 0.001999
STEP_1 = 1 - 0.1 * 0.5 / (0.5 + 1e-8)
STEP_2 = STEP_1 - 0.1 * (0.02 / 0.19) / (math.sqrt(3.1225e-4 / 0.001999) + 1e-8)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_two_steps_worked_out_by_hand(d2l, dtype):
    (first, second), _ = run(d2l.ops, Adam(lr=0.1), {"w": [1.0]},
                             [{"w": [0.5]}, {"w": [-0.25]}], dtype)
    assert first["w"].dtype == dtype and second["w"].dtype == dtype
    assert STEP_1 == pytest.approx(0.900000002, rel=1e-15)
    assert first["w"][0] == pytest.approx(STEP_1, rel=TOLERANCE[dtype])
    assert second["w"][0] == pytest.approx(STEP_2, rel=TOLERANCE[dtype])


def by_hand(gradients, lr, theta=1.0):
    """Adam's formula for one number, as the paper writes it (bias-corrected moments, ε after
    the root): the values after each gradient."""
    m = v = 0.0
    values = []
    for t, g in enumerate(gradients, 1):
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        theta -= lr * (m / (1 - 0.9 ** t)) / (math.sqrt(v / (1 - 0.999 ** t)) + 1e-8)
        values.append(theta)
    return values


def test_gradients_are_clipped_by_their_global_norm_before_the_step(d2l):
    """Gradients (3, 4) have the norm 5: clipped to 1 they are (0.6, 0.8); the next, (0.3,
    0.4), has the norm 0.5 and stays. Adam's first step does not tell (it divides the
    gradient by its own size); the second does."""
    gradients = [{"a": [3.0], "b": [4.0]}, {"a": [0.3], "b": [0.4]}]
    clipped, norms = run(d2l.ops, Adam(lr=0.1, clip=1.0), {"a": [1.0], "b": [1.0]},
                         gradients, "float64")
    assert norms == pytest.approx([5.0, 0.5], rel=1e-15)
    for name, gs in (("a", [0.6, 0.3]), ("b", [0.8, 0.4])):
        expected = by_hand(gs, 0.1)
        assert [step[name][0] for step in clipped] == pytest.approx(expected, rel=1e-12)
    unclipped, _ = run(d2l.ops, Adam(lr=0.1), {"a": [1.0], "b": [1.0]}, gradients, "float64")
    assert unclipped[1]["a"][0] == pytest.approx(by_hand([3.0, 0.3], 0.1)[1], rel=1e-12)
    assert abs(unclipped[1]["a"][0] - clipped[1]["a"][0]) > 1e-3


@pytest.mark.backends("torch")  # the optimizer of the book's PyTorch tab
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_steps_are_torch_optim_adams(d2l, dtype):
    import torch

    rng = np.random.default_rng(0)
    shapes = {"W": (4, 3), "b": (3,), "E": (5, 2)}
    params = {name: rng.normal(size=shape) for name, shape in shapes.items()}
    # gradients of every size, some entries zero, as sparse embedding rows give
    gradients = [{name: rng.normal(scale=10.0 ** rng.integers(-4, 2), size=shape)
                  * (rng.random(shape) > 0.2) for name, shape in shapes.items()}
                 for _ in range(6)]
    ours, _ = run(d2l.ops, Adam(lr=0.005), params, gradients, dtype)
    tensors = {name: torch.tensor(value, dtype=getattr(torch, dtype), requires_grad=True)
               for name, value in params.items()}
    optimizer = torch.optim.Adam(list(tensors.values()), lr=0.005)
    for step, grads in zip(ours, gradients):
        for name, tensor in tensors.items():
            tensor.grad = torch.tensor(grads[name], dtype=getattr(torch, dtype))
        optimizer.step()
        for name, tensor in tensors.items():
            theirs = tensor.detach().numpy()
            worst = np.abs(step[name] - theirs).max() / np.abs(theirs).max()
            assert worst <= TOLERANCE[dtype], f"{name}: {worst:.1e}"


@pytest.mark.parametrize("settings, words", [
    ({"lr": 0}, "lr must be"),
    ({"lr": 0.1, "betas": (0.9,)}, "betas must be two numbers"),
    ({"lr": 0.1, "betas": (0.9, 1.0)}, r"betas\[1\] must be"),
    ({"lr": 0.1, "eps": -1e-8}, "eps must be"),
    ({"lr": 0.1, "clip": -1}, "clip must be"),
    ({"lr": "fast"}, "lr must be"),
])
def test_bad_settings_get_one_line(settings, words):
    with pytest.raises(BadArgument, match=words) as raised:
        Adam(**settings)
    assert "\n" not in str(raised.value)
