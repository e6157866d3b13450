"""Every backend computes the reference's numbers: forward, loss, perplexity, gradients."""
import itertools

import pytest
from _backends import load_or_skip, on_test_device
from _parity import golden

from d2lrnn.base.backend import BACKENDS
from d2lrnn.cells import VARIANTS
from d2lrnn.tools import cli, parity

INPUTS, REFERENCE = golden()
_results = {}


def results(name, dtype, device="cpu"):
    """One backend's quantities on the golden inputs, on ``device`` (computed once per run)."""
    if (name, dtype, device) not in _results:
        d2l = load_or_skip(name)
        with on_test_device(d2l, device):
            if dtype == "float64" and not d2l.ops.has_float64(d2l.ops.device):
                pytest.skip(f"{name} computes no float64 on {device}")
            _results[name, dtype, device] = parity.compute(
                d2l, parity.rounded(INPUTS, dtype), dtype)
    return _results[name, dtype, device]


def test_backend_matches_the_reference(d2l, dtype, device):
    computed = results(d2l.ops.name, dtype, device)
    # the fast path is in the comparison: scratch always, the framework's layer where any
    ops = d2l.ops
    assert {q for q in parity.FAST_QUANTITIES if q in computed} == {
        q for q in parity.FAST_QUANTITIES if ops.has_rnn_layer or not q.startswith("fast_layer")}
    # and every framework layer the backend declares for the gated cells
    declared = {name for name, kind in parity.CELL_KINDS.items() if kind.model == "concise"
                and ops.has_cell_layer(VARIANTS[kind.cell])}
    assert {q.rsplit("_", 1)[0] for q in parity.CELL_LAYER_QUANTITIES if q in computed} == \
        declared
    diffs = parity.compare(computed, REFERENCE[dtype])
    bound = parity.TOLERANCE[dtype]
    assert all(d <= bound for d in diffs.values()), {q: d for q, d in diffs.items() if d > bound}


@pytest.mark.parametrize("first, second", list(itertools.combinations(BACKENDS[1:], 2)))
def test_frameworks_agree_with_each_other(first, second):
    # Where two frameworks share a process, compare them directly, not only via NumPy.
    diffs = parity.compare(results(first, "float64"), results(second, "float64"))
    assert max(diffs.values()) <= parity.TOLERANCE["float64"], diffs


def test_a_wrong_result_is_caught():
    broken = dict(REFERENCE["float64"])
    broken["grad_W_hh"] = broken["grad_W_hh"] * (1 + 1e-10)
    diffs = parity.compare(broken, REFERENCE["float64"])
    assert diffs["grad_W_hh"] > parity.TOLERANCE["float64"]


def test_parity_command_prints_the_table(capsys):
    assert cli.main(["parity", "--backends", "numpy"]) == 0
    out, err = capsys.readouterr()
    # it says what it does while it works (a minute or more with every framework)
    assert err.splitlines() == ["parity: loading numpy",
                                "parity: numpy float64: every quantity against the reference",
                                "parity: numpy float32: every quantity against the reference"]
    for q in parity.QUANTITIES:
        assert f"| {q} |" in out
    assert "| numpy float64 | numpy float32 |" in out
    assert "**within bound** | yes (≤ 1e-12) | yes (≤ 1e-05) |" in out


def test_parity_command_fails_when_out_of_bound(monkeypatch, capsys):
    monkeypatch.setitem(parity.TOLERANCE, "float32", 0.0)
    assert cli.main(["parity", "--backends", "numpy", "--dtypes", "float32"]) == 1
    assert "OUT OF BOUND: numpy float32" in capsys.readouterr().err
