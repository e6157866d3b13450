"""``d2lrnn doctor``: what each backend can do on this machine, checked.

For every declared backend: whether its framework is installed (and how to install it), its
version, the devices it sees, whether each computes in float64, and a short parity check on
each device (the language model's loss and every gradient, RNN and GRU, against the NumPy
reference within the parity bounds). Each installed backend is checked in a process of its
own, so that a framework that crashes while loading is reported instead of ending the check.
"""
import json
import os
import subprocess
import sys

from ..base.backend import (
    BACKENDS,
    DECLARED,
    enable_float64,
    install_hint,
    is_installed,
    load_backend,
    reinstall_hint,
)
from . import machine, parity

# How long one backend's check may take (a cold import of TensorFlow takes a few seconds).
TIMEOUT_S = 300


def framework_version(name):
    """The version of backend ``name``'s framework, from the imported module."""
    module = sys.modules.get(DECLARED[name].framework)
    return getattr(module, "__version__", "") if module else ""


def quick_parity(d2l, device, dtype):
    """The largest relative difference from the reference, over the loss and every gradient
    of the language model on the RNN and the GRU from scratch, computed on ``device``; and
    the device the parameters ended on."""
    from .. import numpy as reference

    inputs = parity.rounded(parity.make_inputs(0), dtype)
    V, h = parity.SIZES["vocab_size"], parity.SIZES["num_hiddens"]
    X, Y = inputs["lm.X"], inputs["lm.Y"]
    worst, placed = 0.0, None
    for kind, make in (("lm", lambda m: m.RNNScratch(V, h, dtype=dtype)),
                       ("gru", lambda m: m.GRUScratch(V, h, dtype=dtype))):
        params = {k.split(".", 1)[1]: v for k, v in inputs.items() if k.startswith(kind + ".")
                  and k.split(".", 1)[1] not in ("X", "Y")}
        expected = reference.RNNLMScratch(make(reference), V)
        expected.set_params(params)
        ref_loss, ref_grads = reference.loss_and_grads(expected, X, Y)
        with d2l.ops.on(device):
            lm = d2l.RNNLMScratch(make(d2l), V)
            lm.set_params({k: v.astype(dtype) for k, v in params.items()})
            loss, grads = d2l.loss_and_grads(lm, X, Y)
        placed = d2l.ops.device_name(lm.device)
        worst = max([worst, abs(loss - ref_loss) / abs(ref_loss),
                     *(parity.rel_diff(grads[k], ref_grads[k]) for k in ref_grads)])
    return worst, placed


def check_backend(name):
    """The report of one backend, checked in this process: a dict (see :func:`report`)."""
    result = {"backend": name, "installed": True, "version": "", "devices": [], "ok": True}
    try:
        enable_float64(name)  # before any array exists (JAX's 64-bit mode)
        d2l = load_backend(name)
    except Exception as err:  # noqa: BLE001 - any failure to load is the finding
        return {**result, "ok": False, "error": f"{type(err).__name__}: {err}"}
    ops = d2l.ops
    result["version"] = framework_version(name)
    ops.full_precision()
    devices = [ops.cpu_device()] + [device for _, device in ops.accelerators()]
    result["hint"] = ops.missing_accelerator_hint() if len(devices) == 1 else ""
    for device in devices:
        entry = {"device": ops.device_name(device), "has_float64": ops.has_float64(device)}
        for dtype in ("float32", "float64"):
            if dtype == "float64" and not entry["has_float64"]:
                continue
            try:
                diff, placed = quick_parity(d2l, device, dtype)
            except Exception as err:  # noqa: BLE001 - a device that cannot compute is reported
                entry[dtype] = None
                entry["error"] = f"{type(err).__name__}: {err}"
                continue
            entry[dtype] = diff
            if placed != entry["device"]:
                entry["error"] = f"the parameters ended on {placed}, not on {entry['device']}"
        entry["ok"] = "error" not in entry and all(
            entry[dtype] <= parity.TOLERANCE[dtype] for dtype in ("float32", "float64")
            if dtype in entry)
        result["ok"] = result["ok"] and entry["ok"]
        result["devices"].append(entry)
    return result


def run_check(name):
    """:func:`check_backend` in a fresh process (a crash while loading is a finding)."""
    if not is_installed(name):
        return {"backend": name, "installed": False, "ok": True, "install": install_hint(name)}
    command = [sys.executable, "-m", "d2lrnn", "doctor", "--backend", name, "--json"]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")}
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S,
                              env=env)
    except subprocess.TimeoutExpired:
        return {"backend": name, "installed": True, "ok": False,
                "error": f"the check did not finish in {TIMEOUT_S} s"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode not in (0, 1) or not lines:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"backend": name, "installed": True, "ok": False,
                "error": f"the check's process ended with exit code {done.returncode}: {tail}"}
    return json.loads(lines[-1])


def report(results):
    """The doctor's table: a line per backend and device."""
    bounds = " / ".join(f"{parity.TOLERANCE[d]:g}" for d in ("float32", "float64"))
    lines = [machine.line(), "",
             f"{'backend':<11} {'status':<8} {'version':<10} {'device':<8} {'float64':<8} "
             f"parity float32 / float64 (bounds {bounds})"]
    for r in results:
        if not r["installed"]:
            lines.append(f"{r['backend']:<11} {'missing':<8} {'':<10} install with: "
                         f"{r['install']}")
            continue
        if "error" in r and not r.get("devices"):
            lines.append(f"{r['backend']:<11} {'BROKEN':<8} {r.get('version', ''):<10} "
                         f"{r['error']}")
            continue
        for i, d in enumerate(r["devices"]):
            status = "ok" if d["ok"] else "BROKEN"
            diffs = " / ".join("—" if d.get(t, "skip") == "skip" else "failed"
                               if d.get(t) is None else f"{d[t]:.1e}"
                               for t in ("float32", "float64"))
            first = f"{r['backend']:<11}" if i == 0 else " " * 11
            lines.append(f"{first} {status:<8} {r['version'] if i == 0 else '':<10} "
                         f"{d['device']:<8} {'yes' if d['has_float64'] else 'no':<8} {diffs}"
                         + (f"  ({d['error']})" if "error" in d else ""))
        if r.get("hint"):
            lines.append(" " * 12 + f"no accelerator{r['hint']}")
    broken = [r["backend"] for r in results if not r["ok"]]
    lines += ["", "everything installed works" if not broken else
              f"BROKEN: {', '.join(broken)} (see above; reinstall with "
              f"{' and '.join(reinstall_hint(name) for name in broken)}, or report it with this "
              f"output)"]
    return "\n".join(lines)


def doctor(backends=BACKENDS, on_progress=None):
    """Check every backend in ``backends``: (results, exit code: 1 if any is broken).
    ``on_progress(message)`` hears which backend is checked next (each takes seconds: its
    framework is loaded in a process of its own)."""
    results = []
    for index, name in enumerate(backends):
        if on_progress:
            on_progress(f"checking {name} ({index + 1} of {len(backends)})")
        results.append(run_check(name))
    return results, 0 if all(r["ok"] for r in results) else 1
