"""What a reader sees on stderr: nothing of ours, nor about how we use a framework, as the
reader runs us: the main command with ``--backend torch``, ``d2lrnn parity``, and
``from d2lrnn import <framework> as d2l`` with a short fit (the book's Trainer, and the fast
path the chapters take: PyTorch's fused kernels, GRU and LSTM included, are made as it
loads), each in a fresh process with the environment a user has (no TF_CPP_MIN_LOG_LEVEL,
Python's default warning filters).

Every env runs it for the frameworks it holds; the ``colab`` env with the frameworks as pip
gives them today (there PyTorch 2.14 deprecated ``torch.jit.script`` with a FutureWarning at
each of our kernels: twelve lines at every torch run; and TensorFlow's oneDNN wrote an error
line at our first transpose of token ids).
"""
import os
import subprocess
import sys

import pytest
from _backends import skip_where_tensorflow_logs_anyway
from _corpora import synthetic_corpus

TIMEOUT_S = 600


def as_a_user_runs(args, cwd):
    """stderr of ``python args...`` in a fresh process with a user's environment."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("TF_CPP_MIN_LOG_LEVEL", "PYTHONWARNINGS")}
    result = subprocess.run([sys.executable, *args], capture_output=True, text=True,
                            env=env, timeout=TIMEOUT_S, cwd=cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stderr


def assert_silent(stderr, allowed=()):
    unexpected = [line for line in stderr.splitlines()
                  if line.strip() and not line.startswith(allowed)]
    assert not unexpected, "unexpected on stderr:\n" + "\n".join(unexpected[:20])


@pytest.fixture(scope="module")
def small_text(tmp_path_factory):
    return synthetic_corpus(tmp_path_factory.mktemp("text"))


@pytest.mark.backends("torch")
def test_the_main_command_with_torch_is_silent(backend, small_text, tmp_path):
    stderr = as_a_user_runs(["-m", "d2lrnn", "train", "--backend", "torch", "--corpus",
                             str(small_text), "--epochs", "1", "--batch-size", "64",
                             "--num-steps", "16", "--num-train", "256", "--num-val", "64",
                             "--quiet", "--out", str(tmp_path / "run")], tmp_path)
    assert_silent(stderr)


def test_parity_is_silent(tmp_path):
    """Every backend installed here, each loaded in turn (its progress lines are ours, on
    purpose: 'parity: loading torch')."""
    skip_where_tensorflow_logs_anyway()
    stderr = as_a_user_runs(["-m", "d2lrnn", "parity", "--dtypes", "float32"], tmp_path)
    assert_silent(stderr, allowed=("parity: ",))


PYTHON_API = """\
from d2lrnn import {name} as d2l
from d2lrnn.training.train import fit

data = d2l.TimeMachine(batch_size=16, num_steps=8, num_train=64, num_val=16,
                       corpus={corpus!r})
V = len(data.vocab)
model = d2l.RNNLMScratch(d2l.RNNScratch(num_inputs=V, num_hiddens=16), vocab_size=V, lr=1)
d2l.Trainer(max_epochs=1, gradient_clip_val=1).fit(model, data)
model.predict("it has", 5, data.vocab)
fit(d2l.RNNLMScratch(d2l.RNNScratch(V, 16), V), data, epochs=1, fast=True, threads="package")
print("done")
"""


def test_the_python_api_with_a_short_fit_is_silent(backend, small_text, tmp_path):
    if backend == "tensorflow":
        skip_where_tensorflow_logs_anyway()
    script = tmp_path / "reader.py"
    script.write_text(PYTHON_API.format(name=backend, corpus=str(small_text)))
    stderr = as_a_user_runs([str(script)], tmp_path)
    assert_silent(stderr)
