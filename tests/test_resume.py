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


# -- SIGTERM (kill, timeout, Docker, Slurm) and SIGHUP (a closed terminal) stop a run as Ctrl-C
# does: one line, the last finished epoch kept, exit 128 + the signal, resumable exactly

TINY_RUN = ["--batch-size", "16", "--num-steps", "16", "--hiddens", "16", "--num-train",
            "400", "--num-val", "50", "--quiet"]
# The command as a test runs it, with the checkpoint's fsync made slow from its
# ``D2LRNN_TEST_SLOW_WRITE``-th write on (a file named by argv[1] marks that it began).
SLOW_WRITES = """
import os, sys, time
from pathlib import Path

marker, slow_from = Path(sys.argv[1]), int(sys.argv[2])
writes, real_fsync = [], os.fsync

def slow_fsync(fd):
    if ".checkpoint.safetensors." in os.readlink(f"/proc/self/fd/{fd}"):
        writes.append(fd)
        if len(writes) >= slow_from:
            marker.touch()
            time.sleep(30)
    real_fsync(fd)

os.fsync = slow_fsync
sys.argv = ["d2lrnn", *sys.argv[3:]]
from d2lrnn.tools.entry import main
sys.exit(main())
"""


def start_training(corpus, out, epochs=100000, slow=None, **popen):
    """A `d2lrnn train` subprocess into ``out``; with ``slow=(marker, n)`` its n-th and later
    checkpoint writes take 30 s."""
    args = ["train", "--corpus", str(corpus), "--epochs", str(epochs), *TINY_RUN, "--out",
            str(out)]
    command = ([sys.executable, "-c", SLOW_WRITES, str(slow[0]), str(slow[1]), *args] if slow
               else [sys.executable, "-m", "d2lrnn", *args])
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    return subprocess.Popen(command, **{**pipes, "preexec_fn": hangup_stops, **popen})


def hangup_stops():
    """In the child: SIGHUP back to its default. Tests run under nohup ignore it, and so
    would the run (which rightly keeps ignoring what it was started to ignore: the test
    below), and the tests that hang up on it would wait a minute and fail."""
    signal.signal(signal.SIGHUP, signal.SIG_DFL)


def wait_for(path, process, seconds=120):
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"{path} did not appear"
        time.sleep(0.02)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP],
                         ids=lambda s: signal.Signals(s).name)
def test_a_signal_keeps_the_last_epoch_and_resumes_to_the_same_state(tmp_path, signum):
    corpus = synthetic_corpus(tmp_path, words=20000)
    out = tmp_path / "run"
    process = start_training(corpus, out)
    wait_for(out / runs.CHECKPOINT, process)
    time.sleep(0.2)  # inside a later epoch
    process.send_signal(signum)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 128 + signum, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("interrupted in epoch "), err
    name = signal.Signals(signum).name
    assert (f" by {name};" in lines[0]) == (signum != signal.SIGINT), lines[0]
    _, state = saved(out)
    stopped_at = state["epoch"]
    assert f"the checkpoint of epoch {stopped_at} is in {out}" in lines[0]
    assert not [p for p in os.listdir(out) if p.startswith(".checkpoint")]
    target = stopped_at + 2
    assert cli.main(["train", "--resume", str(out), "--epochs", str(target), "--quiet"]) == 0
    straight = tmp_path / "straight"
    assert cli.main(["train", "--corpus", str(corpus), "--epochs", str(target), *TINY_RUN,
                     "--out", str(straight)]) == 0
    (a, state_a), (b, state_b) = saved(straight), saved(out)
    assert {k: v.tobytes() for k, v in a.items()} == {k: v.tobytes() for k, v in b.items()}
    for key in set(HISTORY_KEYS) - TIMINGS:
        assert state_a["history"][key] == state_b["history"][key], key


def test_a_run_started_to_ignore_sighup_keeps_ignoring_it(tmp_path):
    # nohup: the user asked the run to outlive the terminal
    out = tmp_path / "run"
    process = start_training(synthetic_corpus(tmp_path, words=20000), out,
                             preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))
    wait_for(out / runs.CHECKPOINT, process)
    process.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    assert process.poll() is None
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM and "by SIGTERM" in err, err


def test_sighup_with_its_terminal_gone_still_keeps_the_run(tmp_path):
    import select

    out = tmp_path / "run"
    terminal, its_end = os.openpty()
    process = start_training(synthetic_corpus(tmp_path, words=20000), out, stdin=its_end,
                             stdout=its_end, stderr=its_end)
    os.close(its_end)
    deadline = time.monotonic() + 120
    while not (out / runs.CHECKPOINT).exists():  # the progress bar read, as a terminal would
        assert time.monotonic() < deadline and process.poll() is None
        if select.select([terminal], [], [], 0.05)[0]:
            os.read(terminal, 1 << 16)
    os.close(terminal)  # the window is closed: writing to it fails (EIO)
    process.send_signal(signal.SIGHUP)
    assert process.wait(timeout=60) == 128 + signal.SIGHUP
    assert saved(out)[1]["epoch"] >= 1 and not temporaries(out)


def temporaries(folder):
    return [p for p in os.listdir(folder) if p.startswith(f".{runs.CHECKPOINT}.")]


def test_a_run_killed_while_writing_its_checkpoint_leaves_no_temporary(tmp_path):
    corpus = synthetic_corpus(tmp_path, words=20000)
    out, marker = tmp_path / "run", tmp_path / "writing"
    process = start_training(corpus, out, slow=(marker, 2))
    wait_for(marker, process)
    process.kill()  # SIGKILL, mid-write: nothing can clean up
    process.communicate(timeout=60)
    assert temporaries(out)  # what such a kill leaves
    kept = (out / runs.CHECKPOINT).read_bytes()
    assert saved(out)[1]["epoch"] == 1
    assert cli.main(["train", "--resume", str(out), "--epochs", "2", "--quiet"]) == 0
    assert not temporaries(out)
    assert saved(out)[1]["epoch"] == 2 and (out / runs.CHECKPOINT).read_bytes() != kept


def test_a_second_sigterm_during_a_checkpoint_write_stops_at_once_and_cleanly(tmp_path):
    corpus = synthetic_corpus(tmp_path, words=20000)
    out, marker = tmp_path / "run", tmp_path / "writing"
    process = start_training(corpus, out, slow=(marker, 2))
    wait_for(marker, process)
    kept = (out / runs.CHECKPOINT).read_bytes()
    began = time.monotonic()
    process.send_signal(signal.SIGTERM)  # the first asks to stop after the write
    time.sleep(0.3)
    process.send_signal(signal.SIGTERM)  # the second stops now, inside the write
    _, err = process.communicate(timeout=60)
    assert time.monotonic() - began < 20  # not after the slow write
    assert process.returncode == 128 + signal.SIGTERM, err
    assert "Traceback" not in err and "the checkpoint of epoch 1 is in" in err, err
    assert not temporaries(out) and (out / runs.CHECKPOINT).read_bytes() == kept


def test_ctrl_c_after_the_last_step_still_stops_the_command(tmp_path, monkeypatch, capsys):
    from d2lrnn.tools import experiment

    real_fit = experiment.fit

    def fit_then_press(*args, **kwargs):  # the press comes as training has just ended
        history = real_fit(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGINT)
        return history

    monkeypatch.setattr(experiment, "fit", fit_then_press)
    out = tmp_path / "run"
    code = cli.main(["train", "--corpus", str(synthetic_corpus(tmp_path)), "--epochs", "2",
                     *TINY_RUN, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 130, err
    assert "interrupted after training ended; all 2 epochs are in" in err
    assert f"d2lrnn report {out}" in err
    assert saved(out)[1]["epoch"] == 2  # the run is complete: nothing lost
    assert not (out / runs.FIGURE).exists()  # what came after the press was skipped


@pytest.mark.parametrize("refusal", ["corpus too short", "diverged at once"])
def test_a_refused_run_leaves_no_folder_behind(tmp_path, capsys, refusal):
    corpus = synthetic_corpus(tmp_path)
    new, kept = tmp_path / "new" / "run", tmp_path / "kept"
    kept.mkdir()  # made by the user: stays, as it was
    args = (["--num-train", "100000"] if refusal == "corpus too short" else
            ["--lr", "1e9", "--clip", "0"])
    for out in (new, kept):
        code = cli.main(["train", "--corpus", str(corpus), "--epochs", "1", *TINY_RUN, *args,
                         "--out", str(out)])
        assert code in (1, 2), capsys.readouterr().err
    assert not (tmp_path / "new").exists()
    assert kept.is_dir() and not list(kept.iterdir())


def test_a_run_refused_for_the_run_it_finds_leaves_no_lock(tmp_path, capsys):
    corpus = synthetic_corpus(tmp_path)
    out = tmp_path / "run"
    args = ["train", "--corpus", str(corpus), "--epochs", "1", *TINY_RUN, "--out", str(out)]
    assert cli.main(args) == 0
    (out / runs.LOCK).unlink()  # a run folder copied from elsewhere, say
    before = sorted(os.listdir(out))
    assert cli.main(args) == 2 and "--overwrite" in capsys.readouterr().err
    assert sorted(os.listdir(out)) == before
