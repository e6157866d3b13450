"""Devices: the book's GPU calls, placement of every array on the model's device, the
fallback to the CPU with a warning, --device, and d2lrnn doctor.

No accelerator is needed: a second device is made where the framework can make one on the
CPU (JAX's virtual host devices, TensorFlow's logical CPUs, MXNet's cpu(1), PyTorch's 'meta'
device), so that an array made on the default device instead of the model's shows."""
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from _backends import load_or_skip
from _corpora import synthetic_corpus

from d2lrnn.base.adapter import DeviceWarning
from d2lrnn.base.backend import BACKENDS, install_hint
from d2lrnn.tools import cli, doctor, parity


def test_find_device_falls_back_to_the_cpu_with_a_warning(d2l):
    ops = d2l.ops
    cpu = ops.device_name(ops.cpu_device())
    assert ops.device_name(ops.find_device("cpu")) == cpu
    if ops.accelerators():
        pytest.skip("this machine has an accelerator: nothing falls back")
    assert ops.device_name(ops.find_device("auto")) == cpu  # auto: no warning
    for spec in ("cuda", "cuda:1", "mps", "gpu"):
        with pytest.warns(DeviceWarning, match=f"no {spec} device here.*computing on the CPU"):
            assert ops.device_name(ops.find_device(spec)) == cpu
    for bad in ("tpu", "cuda:x", "cuda:"):
        with pytest.raises(ValueError, match="device"):
            ops.find_device(bad)


def test_the_books_device_calls(d2l):
    assert d2l.num_gpus() == len(d2l.ops.accelerators())
    if d2l.ops.name == "tensorflow":  # the book's try_gpu() is a scope to build models in
        with d2l.try_gpu():
            model = d2l.RNNScratch(3, 2)
        expected = "GPU" if d2l.num_gpus() else "CPU"
        assert expected in model.W_xh.device
        return  # the book's TensorFlow trainer takes no GPUs
    if d2l.num_gpus() == 0:  # the book: try_gpu() is the CPU where there is no GPU
        assert d2l.ops.device_name(d2l.try_gpu()) == "cpu" and len(d2l.try_all_gpus()) == 1
    if not d2l.ops.accelerators():
        with pytest.warns(DeviceWarning, match=r"Trainer\(num_gpus=1\).*training on the CPU"):
            trainer = d2l.Trainer(max_epochs=1, num_gpus=1)
        assert trainer.gpus == []


def test_predict_says_when_the_model_is_elsewhere(d2l):
    vocab = d2l.Vocab(list("abcde"))
    lm = d2l.RNNLMScratch(d2l.RNNScratch(len(vocab), 8, seed=0), len(vocab))
    assert len(lm.predict("ab", 3, vocab, d2l.try_gpu())) == 5  # the model's device: quiet
    # a device the model is not on, in each framework that has more than the CPU
    other = {"torch": lambda: __import__("torch").device("meta"),
             "jax": lambda: None, "tensorflow": lambda: "/device:GPU:7",
             "mxnet": lambda: __import__("mxnet").cpu(3)}.get(d2l.ops.name)
    if other is None:
        assert d2l.num_gpus() == 0  # the CPU only: nowhere else to be
        return
    other = other()
    if other is not None:
        with pytest.warns(DeviceWarning, match="computing where they are"):
            lm.predict("ab", 3, vocab, other)


# A script per framework that makes a second device on the CPU, builds, trains (fast and
# plain) and generates there, and prints where every parameter and output ended.
PLACEMENT = {
    "jax": """
        import os
        os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"
        import jax
        from d2lrnn import jax as d2l
        other = jax.devices("cpu")[1]
    """,
    "tensorflow": """
        import tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        from d2lrnn import tensorflow as d2l
        other = tf.config.list_logical_devices("CPU")[1].name
    """,
    "mxnet": """
        import mxnet as mx
        from d2lrnn import mxnet as d2l
        other = mx.cpu(1)
    """,
}
PLACEMENT_CHECK = """
    import json, sys
    import numpy as np
    from d2lrnn.book.data import TimeMachine
    from d2lrnn.training.train import fit
    ops = d2l.ops
    data = TimeMachine(16, 8, num_train=64, num_val=16, corpus=sys.argv[1], seed=0)
    V = len(data.vocab)
    seen = {}
    with ops.on(other):
        for kind, rnn in (("scratch", d2l.RNNScratch(V, 8, seed=0)),
                          ("concise", d2l.RNN(num_inputs=V, num_hiddens=8, seed=0)
                           if ops.has_rnn_layer else None),
                          ("gru", d2l.GRUScratch(V, 8, seed=0)),
                          ("deep", d2l.StackedRNNScratch(V, 8, 2, seed=0))):
            if rnn is None:
                continue
            lm = d2l.RNNLMScratch(rnn, V, lr=1)
            for fast in ((True, False) if kind in ("scratch", "concise") else (False,)):
                fit(lm, data, epochs=1, fast=fast, max_steps=2)
            names = {ops.device_name(ops.device_of(v)) for v in lm.book_params.values()}
            logits = lm(np.zeros((2, 3), dtype=np.int64))
            names.add(ops.device_name(ops.device_of(logits)))
            lm.predict("the", 5, data.vocab)
            seen[kind] = sorted(names)
    default = d2l.RNNLMScratch(d2l.RNNScratch(V, 8, seed=0), V)  # outside: the default
    seen["default"] = sorted({ops.device_name(ops.device_of(v))
                              for v in default.book_params.values()})
    default.place(other)  # moved, as model.to(device) in PyTorch
    seen["placed"] = sorted({ops.device_name(ops.device_of(v))
                             for v in default.book_params.values()})
    seen["other"] = ops.device_name(other)
    print(json.dumps(seen))
"""


@pytest.mark.backends(*PLACEMENT)
def test_every_array_is_made_on_the_models_device(d2l, tmp_path):
    name = d2l.ops.name
    script = textwrap.dedent(PLACEMENT[name]) + textwrap.dedent(PLACEMENT_CHECK)
    corpus = synthetic_corpus(tmp_path)
    done = subprocess.run([sys.executable, "-c", script, str(corpus)], capture_output=True,
                          text=True, timeout=600,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    other = seen.pop("other")
    assert other != "cpu"  # a second device, really
    assert seen.pop("default") == ["cpu"]
    for kind, names in seen.items():
        assert names == [other], f"{name} {kind}: arrays on {names}, the model on {other}"


@pytest.mark.backends("torch")
def test_a_torch_model_moved_with_to_makes_its_arrays_there(d2l):
    """PyTorch's meta device computes shapes only: an input, state or one-hot vector made
    on the CPU would meet the model's meta weights and fail."""
    import torch

    for rnn in (d2l.RNNScratch(5, 4, seed=0), d2l.GRUScratch(5, 4, seed=0),
                d2l.StackedRNNScratch(5, 4, 2, cell="lstm", seed=0), d2l.RNN(5, 4, seed=0)):
        lm = d2l.RNNLMScratch(rnn, 5).to(torch.device("meta"))
        assert lm.device.type == "meta"
        logits = lm(np.zeros((2, 3), dtype=np.int64))
        assert logits.device.type == "meta" and tuple(logits.shape) == (2, 3, 5)
        assert lm.loss(logits, np.zeros((2, 3), dtype=np.int64)).device.type == "meta"
    with d2l.ops.on(torch.device("meta")):  # made there, as under the book's device scope
        assert d2l.RNNScratch(5, 4).W_xh.device.type == "meta"


def test_train_on_a_missing_device_warns_and_runs_on_the_cpu(tmp_path, capsys):
    assert cli.main(["train", "--device", "cuda", "--corpus", str(synthetic_corpus(tmp_path)),
                     "--epochs", "1", "--batch-size", "16", "--num-steps", "8", "--hiddens",
                     "8", "--num-train", "64", "--num-val", "16", "--quiet"]) == 0
    captured = capsys.readouterr()
    assert "d2lrnn: warning: numpy: no cuda device here" in captured.err
    assert "computing on the CPU" in captured.err
    assert "fast path on cpu," in captured.out
    with pytest.raises(SystemExit):  # refused by the parser, with the choices
        cli.main(["train", "--device", "tpu"])
    assert "must be one of auto, cpu, cuda, mps, gpu" in capsys.readouterr().err


def test_parity_on_a_device(capsys):
    assert cli.main(["parity", "--backends", "numpy", "--device", "cpu", "--dtypes",
                     "float32"]) == 0
    assert "| numpy float32 |" in capsys.readouterr().out


def test_doctor_reports_every_backend(capsys):
    code = cli.main(["doctor", "--json"])
    out, err = capsys.readouterr()
    results = json.loads(out)
    # it says which backend it checks while it works (each loads its framework: seconds)
    assert err.splitlines() == [f"doctor: checking {name} ({i + 1} of {len(BACKENDS)})"
                                for i, name in enumerate(BACKENDS)]
    assert [r["backend"] for r in results] == list(BACKENDS)
    installed = [r for r in results if r["installed"]]
    assert installed and all(r["ok"] for r in installed) and code == 0
    for r in installed:
        cpu = r["devices"][0]
        assert cpu["device"] == "cpu" and cpu["ok"]
        assert cpu["float32"] <= parity.TOLERANCE["float32"]
        assert cpu["float64"] <= parity.TOLERANCE["float64"]
    for r in results:
        if not r["installed"]:
            assert r["install"] == install_hint(r["backend"])
    assert cli.main(["doctor", "--backends", "numpy"]) == 0
    assert "everything installed works" in capsys.readouterr().out


def test_doctor_fails_on_a_broken_backend(monkeypatch, capsys):
    def broken(name):
        return {"backend": name, "installed": True, "ok": False,
                "error": "ImportError: libcudart.so.12: cannot open shared object file"}

    monkeypatch.setattr(doctor, "run_check", broken)
    assert cli.main(["doctor", "--backends", "torch"]) == 1
    out = capsys.readouterr().out
    assert "BROKEN" in out and "libcudart" in out


def test_doctor_finds_a_result_out_of_bound(monkeypatch):
    load_or_skip("torch")
    assert doctor.check_backend("torch")["ok"] is True
    monkeypatch.setitem(parity.TOLERANCE, "float32", 0.0)  # torch's 3e-7 is now too much
    assert doctor.check_backend("torch")["ok"] is False
    assert doctor.check_backend("numpy")["ok"] is True  # the reference is 0 from itself


# -- threads: what d2lrnn train chooses (a reader's own fit leaves the framework alone) ------

def test_training_threads_are_one_per_blas_pool_and_torch_follows_the_free_cores(d2l):
    from threadpoolctl import threadpool_info

    from d2lrnn.base.adapter.devices import usable_cores

    ops = d2l.ops
    try:
        for strategy in ("plain", ops.fast_grads):
            ops.choose_threads(strategy)
            # a BLAS built on OpenMP (MXNet's) follows the OpenMP pool, which PyTorch's
            # intra-op threads set where both are loaded (the legacy env): the others are 1
            assert all(pool["num_threads"] == 1 for pool in threadpool_info()
                       if pool["user_api"] == "blas" and pool.get("threading_layer") != "openmp"
                       ), threadpool_info()
            assert ops.threads()
        if ops.name == "torch":
            import torch

            ops.choose_threads("autograd")
            assert torch.get_num_threads() == usable_cores()
            ops.adapt_threads(1)  # another program took the other cores
            assert torch.get_num_threads() == 1 and "free core" in ops.threads()
            ops.choose_threads("fused")  # forked parts of one thread each
            ops.adapt_threads(4)
            assert torch.get_num_threads() == 1
    finally:
        ops.__dict__.pop("threads_chosen_for", None)


def test_the_governor_gives_the_framework_the_cores_others_leave(monkeypatch):
    from d2lrnn.base.adapter import devices as machine

    told = []

    class Adapter:
        def adapt_threads(self, free):
            told.append(free)

    # (monotonic seconds, CPU seconds of the whole system, CPU seconds of this process)
    looks = iter([(0.0, 0.0, 0.0), (1.0, 2.0, 1.0), (2.0, 3.0, 1.8), (3.0, 4.6, 2.7)])
    monkeypatch.setattr(machine.ThreadGovernor, "_times", staticmethod(lambda: next(looks)))
    monkeypatch.setattr(machine, "usable_cores", lambda: 2)
    governor = machine.ThreadGovernor(Adapter(), period=0.5, first=0.1)
    clock = iter([0.05, 1.0, 1.2, 2.0, 3.0])
    monkeypatch.setattr("time.monotonic", lambda: next(clock))
    governor.poll()  # 0.05 s: too soon to look
    governor.poll()  # 1.0 s: others used (2.0 - 1.0) / 1.0 = 1 core -> 1 left
    governor.poll()  # 1.2 s: within the period, no look
    governor.poll()  # 2.0 s: others (1.0 - 0.8) / 1.0 = 0.2 core -> both free again
    governor.poll()  # 3.0 s: others (1.6 - 0.9) / 1.0 = 0.7 core -> 1 left
    assert told == [1, 2, 1]


def test_fit_sets_the_packages_threads_only_when_asked(d2l, monkeypatch, tmp_path):
    """fit leaves a framework's threads alone by default; threads="package" chooses them as
    d2lrnn train does, for the path it takes (the chapters ask for it)."""
    from d2lrnn.training import fast
    from d2lrnn.training.train import fit

    chosen, adapted = [], []
    monkeypatch.setattr(type(d2l.ops), "choose_threads",
                        lambda self, strategy: chosen.append(strategy))
    monkeypatch.setattr(type(d2l.ops), "adapt_threads", lambda self, free: adapted.append(free))
    data = d2l.TimeMachine(16, 8, num_train=64, num_val=16, corpus=synthetic_corpus(tmp_path))
    V = len(data.vocab)
    lm = d2l.RNNLMScratch(d2l.RNNScratch(V, 8, seed=0), V, seed=1)
    fit(lm, data, epochs=1, fast=True)
    assert chosen == []
    fit(lm, data, epochs=1, fast=True, threads="package")
    fit(lm, data, epochs=1, threads="package")
    assert chosen == [fast.choose(lm).by, "plain"]
    with pytest.raises(ValueError, match="threads must be 'framework' or 'package'"):
        fit(lm, data, epochs=1, threads="all")
