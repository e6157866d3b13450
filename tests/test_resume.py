"""Runs that never get lost: a checkpoint after every epoch, exact resumption in every
backend, a lock against a second run, and Ctrl-C that leaves the last epoch intact."""
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from _corpora import synthetic_corpus

from d2lrnn.tools import cli, runs
from d2lrnn.training import checkpoint
from d2lrnn.training.train import HISTORY_KEYS

TIMINGS = {"epoch_seconds"}  # the only entries of a history that may differ between runs


def tiny(d2l, corpus, **extra):
    return {"backend": d2l.ops.name, "epochs": 4, "batch_size": 24, "num_steps": 8,
            "num_hiddens": 8, "num_train": 100, "num_val": 30, "corpus": corpus, **extra}


def saved(folder):
    path = folder / runs.CHECKPOINT
    params, _, _ = checkpoint.load(path)
    return params, checkpoint.load_training(path)


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "plain"])
def test_resuming_gives_the_same_bytes_as_never_stopping(d2l, dtype, fast, tmp_path):
    corpus = synthetic_corpus(tmp_path)
    settings = tiny(d2l, corpus, dtype=dtype, fast=fast)
    runs.train(tmp_path / "straight", **settings)
    runs.train(tmp_path / "stopped", **{**settings, "epochs": 2})
    _, state = saved(tmp_path / "stopped")
    assert state["epoch"] == 2 and len(state["history"]["val_ppl"]) == 2
    runs.train(tmp_path / "stopped", resume=True, epochs=4)
    (a, state_a), (b, state_b) = saved(tmp_path / "straight"), saved(tmp_path / "stopped")
    assert set(a) == set(b)
    for name in a:
        assert a[name].dtype == np.dtype(dtype)
        assert a[name].tobytes() == b[name].tobytes(), name
    for key in set(HISTORY_KEYS) - TIMINGS:
        assert state_a["history"][key] == state_b["history"][key], key
    assert (state_a["epoch"], state_a["step"]) == (state_b["epoch"], state_b["step"]) == \
        (4, 4 * 5)


def test_an_existing_run_is_never_replaced_silently(tmp_path, capsys):
    corpus = synthetic_corpus(tmp_path)
    out = tmp_path / "run"
    args = ["train", "--corpus", str(corpus), "--epochs", "2", "--batch-size", "24",
            "--num-steps", "8", "--hiddens", "8", "--num-train", "100", "--num-val", "30",
            "--out", str(out), "--quiet"]
    assert cli.main(args) == 0
    before = (out / runs.CHECKPOINT).read_bytes()
    assert cli.main([*args[:4], "1", *args[5:]]) == 2  # a 1-epoch run into the same folder
    err = capsys.readouterr().err
    assert "--overwrite" in err and "--resume" in err and "2 of 2 epochs" in err
    assert (out / runs.CHECKPOINT).read_bytes() == before
    assert cli.main([*args, "--overwrite"]) == 0
    assert cli.main(["train", "--resume", str(out), "--epochs", "3", "--quiet"]) == 0
    assert saved(out)[1]["epoch"] == 3
    assert cli.main(["train", "--resume", str(out), "--hiddens", "9", "--epochs", "4"]) == 2
    assert "drop --hiddens" in capsys.readouterr().err
    assert cli.main(["train", "--resume", str(out), "--quiet"]) == 2  # all epochs done
    assert "give a larger --epochs" in capsys.readouterr().err


def test_a_second_run_into_the_same_folder_is_refused(tmp_path, capsys):
    from filelock import FileLock

    out = tmp_path / "run"
    out.mkdir()
    with FileLock(str(out / runs.LOCK)):  # as a first run holds it while it trains
        assert cli.main(["train", "--corpus", str(synthetic_corpus(tmp_path)), "--epochs",
                         "1", "--out", str(out), "--quiet"]) == 2
    assert "another d2lrnn train is writing into" in capsys.readouterr().err
    assert not (out / runs.CHECKPOINT).exists()


def test_ctrl_c_keeps_the_last_epoch_and_resumes(tmp_path):
    corpus = synthetic_corpus(tmp_path, words=20000)
    out = tmp_path / "run"
    command = [sys.executable, "-m", "d2lrnn", "train", "--corpus", str(corpus), "--epochs",
               "100000", "--batch-size", "16", "--num-steps", "16", "--hiddens", "16",
               "--num-train", "2000", "--num-val", "50", "--out", str(out), "--quiet"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    deadline = time.monotonic() + 120
    while not (out / runs.CHECKPOINT).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # well inside a later epoch
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("interrupted in epoch "), err
    params, state = saved(out)  # the last completed epoch's checkpoint loads
    assert f"the checkpoint of epoch {state['epoch']} is in {out}" in lines[0]
    assert f"d2lrnn train --resume {out}" in lines[0]
    assert all(np.isfinite(v).all() for v in params.values())
    assert not [p for p in os.listdir(out) if p.startswith(".checkpoint")]  # no partial file
