"""Hostile files, deleted folders, full disks and runaway sizes, as an adversarial user would
try them (our own catalogue, in ten classes): each gives a clear message that names the
problem, or works; none prints a traceback, hangs, loses a run or answers silently wrong.

1 sizes checked before any work; 2 the run folder's lock cannot be bypassed; 3 empty paths;
4 generate tells how far a checkpoint trained; 5 damaged or hostile checkpoints; 6 a full
disk; 7 text that is not what it seems; 8 resume says what differs; 9 no dead ends; 10 the
Python API checks what the command line checks.
"""
import errno
import json
import os
import signal
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest
from _corpora import synthetic_corpus

from d2lrnn.base import checks
from d2lrnn.base.vocab import Vocab
from d2lrnn.book.data import CorpusError, TimeMachine
from d2lrnn.tools import cli, runs
from d2lrnn.training import checkpoint

SMALL = {"epochs": 2, "batch_size": 16, "num_steps": 8, "num_hiddens": 8, "num_train": 60,
         "num_val": 20}
TINY = ["--batch-size", "16", "--num-steps", "8", "--hiddens", "8", "--num-train", "60",
        "--num-val", "20", "--quiet"]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    corpus = synthetic_corpus(root)
    run = root / "run"
    assert cli.main(["train", "--corpus", str(corpus), "--out", str(run), "--epochs", "2",
                     *TINY]) == 0
    return root


def run_cli(args, capsys):
    try:
        code = cli.main([str(a) for a in args])
    except SystemExit as exit_:  # argparse's own errors
        code = exit_.code
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.out, captured.err


# -- 1: every size checked before any work ------------------------------------------------------


@pytest.mark.parametrize("special", ["/dev/zero", "/dev/urandom"])
def test_a_device_as_corpus_is_refused_unread(special, capsys):
    code, _, err = run_cli(["train", "--corpus", special, *TINY], capsys)
    assert code == 2 and "character device" in err and "regular file" in err


def test_a_fifo_as_corpus_is_refused_without_hanging(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    result = subprocess.run([sys.executable, "-m", "d2lrnn", "train", "--corpus", str(fifo),
                             *TINY], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "named pipe" in result.stderr, result.stderr


def test_a_corpus_over_the_limit_is_refused_before_reading(tmp_path, capsys):
    big = tmp_path / "big.txt"
    with open(big, "wb") as f:  # sparse: 70 MB that occupy no disk
        f.truncate(70 * 2**20)
    code, _, err = run_cli(["train", "--corpus", big, *TINY], capsys)
    assert code == 2 and "--max-corpus-mb" in err and "70.0 MB" in err
    # raised, the file is read: and its zeros are not text
    code, _, err = run_cli(["train", "--corpus", big, "--max-corpus-mb", "80", *TINY], capsys)
    assert code == 2 and "NUL" in err


def test_the_memory_estimate_counts_the_corpus(tmp_path, monkeypatch, capsys):
    corpus = tmp_path / "long.txt"
    corpus.write_text("the time machine " * 400_000)  # 6.8 MB
    size = corpus.stat().st_size
    without = checks.training_memory(16, 8, 8, 28, 0, "float32")  # TINY's settings
    assert checks.training_memory(16, 8, 8, 28, size, "float32") - without > 20 * size
    monkeypatch.setattr(checks, "available_memory", lambda: without + 2**20)
    code, _, err = run_cli(["train", "--corpus", corpus, "--epochs", "1", *TINY], capsys)
    assert code == 2 and "memory" in err and "the corpus" in err


def test_merging_a_device_is_refused(capsys):
    code, _, err = run_cli(["compare", "--merge-only", "--merge", "/dev/zero"], capsys)
    assert code == 2 and "character device" in err


# -- 5: a checkpoint is validated as a whole before use -----------------------------------------


def rewrite(source, target, params=None, vocab=None, hparams=None, training=None, raw=None):
    """A copy of a checkpoint with some of its parts replaced (JSON-able values, or raw
    metadata strings in ``raw``)."""
    from safetensors import safe_open
    from safetensors.numpy import save_file

    with safe_open(str(source), framework="numpy") as f:
        metadata = dict(f.metadata())
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    for key, value in (("vocab", vocab), ("hparams", hparams), ("training", training)):
        if value is not None:
            metadata[key] = json.dumps(value)
    metadata.update(raw or {})
    save_file(params if params is not None else tensors, str(target), metadata=metadata)
    return target


def good(world):
    return checkpoint.read(world / "run" / runs.CHECKPOINT)


DAMAGES = {  # name: (what to change, given the good checkpoint; words of the message)
    "hparams null": (lambda c: {"raw": {"hparams": "null"}}, "not a mapping"),
    "hparams a list": (lambda c: {"raw": {"hparams": "[1, 2]"}}, "not a mapping"),
    "hparams a string": (lambda c: {"raw": {"hparams": '"x"'}}, "not a mapping"),
    "hparams not json": (lambda c: {"raw": {"hparams": "{nope"}}, "not valid JSON"),
    "cell_key a number": (lambda c: {"hparams": {**c.hparams, "cell_key": 7}}, "cell_key"),
    "a million layers": (lambda c: {"hparams": {**c.hparams, "layers": 10**6}}, "layers"),
    "no validation windows": (lambda c: {"hparams": {**c.hparams, "num_val": 0}},
                              "hyperparameter 'num_val' is 0; it must be a whole number >= 1"),
    "a clip beyond float32": (lambda c: {"hparams": {**c.hparams, "clip": 1e39}}, "'clip'"),
    "hiddens a string": (lambda c: {"hparams": {**c.hparams, "num_hiddens": "8"}},
                         "num_hiddens"),
    "an unknown backend": (lambda c: {"hparams": {**c.hparams, "backend": "\x1b[2J"}},
                           "backend"),
    "terminal escapes in the vocabulary": (
        lambda c: {"vocab": [*c.vocab.idx_to_token[:-1], "\x1b[2J"]}, "printable"),
    "a permuted vocabulary": (lambda c: {"vocab": list(reversed(c.vocab.idx_to_token))},
                              "sorted order"),
    "a multi-character token": (lambda c: {"vocab": [*c.vocab.idx_to_token[:-1], "ab"]},
                                "printable"),
    "no unk": (lambda c: {"vocab": [t for t in c.vocab.idx_to_token if t != "<unk>"] + ["~"]},
               "vocab"),
    "integer weights": (lambda c: {"params": {**c.params, "W_hh": c.params["W_hh"].astype(
        np.int64)}}, "type I64"),
    "bool weights": (lambda c: {"params": {**c.params, "b_h": c.params["b_h"] > 0}},
                     "type BOOL"),
    "huge finite weights": (lambda c: {"params": {**c.params, "W_hq": c.params["W_hq"] * 0
                                                  + np.float32(1e30)}}, "beyond"),
    "a missing tensor": (lambda c: {"params": {k: v for k, v in c.params.items()
                                               if k != "b_q"}}, "missing b_q"),
    "an unexpected tensor": (lambda c: {"params": {**c.params, "extra": np.zeros(3)}},
                             "unexpected extra"),
    "a wrong shape": (lambda c: {"params": {**c.params, "W_hh": np.zeros((8, 9),
                                                                          np.float32)}},
                      "shape (8, 9)"),
}


@pytest.mark.parametrize("name", list(DAMAGES))
def test_a_damaged_checkpoint_is_one_clear_message(world, tmp_path, capsys, name):
    change, words = DAMAGES[name]
    path = rewrite(world / "run" / runs.CHECKPOINT, tmp_path / "c.safetensors",
                   **change(good(world)))
    code, out, err = run_cli(["generate", "--checkpoint", path, "--prefix", "the"], capsys)
    assert code == 2, err
    assert str(path) in err and words in err, err
    assert "\x1b" not in out + err  # nothing of the file's reaches the terminal raw
    assert len(err.strip().splitlines()) == 1


def test_a_damaged_training_state_still_generates_but_does_not_resume(world, tmp_path,
                                                                     capsys):
    path = rewrite(world / "run" / runs.CHECKPOINT, tmp_path / runs.CHECKPOINT,
                   training={"epoch": 1, "step": 4, "history": {}})
    with pytest.raises(checkpoint.CheckpointError, match="cannot be resumed"):
        runs.resume_settings(tmp_path)
    code, out, _ = run_cli(["generate", "--checkpoint", path, "--prefix", "the"], capsys)
    assert code == 0 and out.startswith("the")


def changed_history(**lists):
    """A change to a training state: its history's entries replaced (None: removed)."""
    def change(state):
        history = {**state["history"], **lists}
        return {**state, "history": {k: v for k, v in history.items() if v is not None}}
    return change


TRAINING_DAMAGES = {  # name: a change to the good run's training state (2 epochs, 8 steps)
    "val_ppl one short": lambda t: changed_history(val_ppl=t["history"]["val_ppl"][:1])(t),
    "train_ppl one long": lambda t: changed_history(
        train_ppl=[*t["history"]["train_ppl"], 3.0])(t),
    "epoch_seconds empty": changed_history(epoch_seconds=[]),
    "perplexities as strings": changed_history(val_ppl=["NaN", "7.5"]),
    "a loss that is NaN": lambda t: changed_history(
        step_loss=[float("nan"), *t["history"]["step_loss"][1:]])(t),
    "epochs numbered twice": changed_history(epoch=[1, 1]),
    "no tokens counted": changed_history(tokens=None),
    "seconds a string": changed_history(train_seconds="soon"),
}


@pytest.mark.parametrize("name", list(TRAINING_DAMAGES))
def test_a_damaged_history_is_never_reported_as_finished(world, tmp_path, capsys, name):
    run = tmp_path / "run"
    run.mkdir()
    rewrite(world / "run" / runs.CHECKPOINT, run / runs.CHECKPOINT,
            training=TRAINING_DAMAGES[name](good(world).training))
    code, out, err = run_cli(["report", run], capsys)
    assert code == 1 and "an unknown number of 2 epochs" in out, out + err
    assert "finished" not in out and "no history to draw" in err
    code, _, err = run_cli(["generate", "--checkpoint", run / runs.CHECKPOINT, "--prefix",
                            "the"], capsys)
    assert code == 0 and "after an unknown number of 2 epochs (its training state" in err
    code, _, err = run_cli(["train", "--corpus", world / "synthetic.txt", "--out", run,
                            "--epochs", "2", *TINY], capsys)
    assert code == 2 and "an unknown number of 2 epochs" in err and "2 of 2" not in err
    code, _, err = run_cli(["train", "--resume", run, "--epochs", "3", "--quiet"], capsys)
    assert code == 2 and "cannot be resumed" in err and len(err.strip().splitlines()) == 1


def test_a_checkpoint_too_large_for_the_memory_allowed_is_one_line(tmp_path):
    # as in a container with `ulimit -v`: 41 MB of weights, 60 MB of address space left
    from d2lrnn.base.vocab import Vocab

    vocab = Vocab.from_tokens(sorted(["<unk>", " ", *"abcdefghijklmnopqrstuvwxyz"]))
    hparams = {"num_hiddens": 3200, "epochs": 1}
    params = {name: np.zeros(shape, np.float32) for name, shape in
              checkpoint.expected_shapes(hparams, len(vocab)).items()}
    path = tmp_path / runs.CHECKPOINT
    checkpoint.save(path, params, vocab, hparams)
    code = ("import resource, sys, psutil, safetensors.numpy\n"
            "from d2lrnn.tools import cli\n"
            "limit = psutil.Process().memory_info().vms + 60 * 2**20\n"
            "resource.setrlimit(resource.RLIMIT_AS, (limit, limit))\n"
            "sys.exit(cli.main(['generate', '--checkpoint', sys.argv[1], '--prefix', 'a']))\n")
    result = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                            text=True, timeout=120)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert str(path) in lines[0] and "ulimit -v" in lines[0] and "39.8 MB" in lines[0]


# -- 2: the lock is held on the run's folder for the run's whole life ---------------------------


def test_a_run_whose_folder_disappears_stops(world, tmp_path):
    import shutil

    out = tmp_path / "run"

    def remove_after_the_first(record):
        if record["epoch"] == 1:
            shutil.rmtree(out)

    with pytest.raises(runs.RunFolderLost, match="removed or replaced"):
        runs.train(out, corpus=str(world / "synthetic.txt"), **{**SMALL, "epochs": 3},
                   on_epoch=remove_after_the_first)
    assert not out.exists()  # not made again


def test_a_run_whose_folder_is_replaced_leaves_the_new_one_alone(world, tmp_path):
    import shutil

    out = tmp_path / "run"
    other = {}

    def replace_after_the_first(record):
        if record["epoch"] == 1:  # another run takes the folder's name
            shutil.rmtree(out)
            runs.train(out, corpus=str(world / "synthetic.txt"), **SMALL)
            other["bytes"] = (out / runs.CHECKPOINT).read_bytes()

    with pytest.raises(runs.RunFolderLost):
        runs.train(out, corpus=str(world / "synthetic.txt"), **{**SMALL, "epochs": 3},
                   on_epoch=replace_after_the_first)
    assert (out / runs.CHECKPOINT).read_bytes() == other["bytes"]


# -- 3: empty paths -------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [["train", "--resume", ""], ["train", "--out", ""],
                                  ["train", "--out", "  "], ["train", "--corpus", ""],
                                  ["generate", "--checkpoint", "", "--prefix", "a"],
                                  ["report", ""], ["compare", "--merge-only", "--merge", ""]],
                         ids=lambda a: " ".join(map(repr, a)))
def test_an_empty_path_is_refused(args, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(args, capsys)
    assert code == 2 and "empty path" in err
    assert not list(tmp_path.iterdir())  # nothing written into the current folder


def test_an_empty_path_in_python():
    with pytest.raises(checks.BadArgument, match="empty path"):
        runs.train("", **SMALL)


# -- 4 and 9: generate and report tell the truth, and nothing is a dead end ----------------------


def test_generate_says_how_far_an_interrupted_run_trained(world, tmp_path, capsys):
    out = tmp_path / "run"

    def stop(record):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        runs.train(out, corpus=str(world / "synthetic.txt"), **{**SMALL, "epochs": 5},
                   on_epoch=stop)
    code, _, err = run_cli(["generate", "--checkpoint", out / runs.CHECKPOINT, "--prefix",
                            "the"], capsys)
    assert code == 0 and "after 1 of 5 epochs" in err
    code, out_text, _ = run_cli(["report", out], capsys)
    assert code == 0 and "1 of 5 epochs" in out_text and "--resume" in out_text


def test_generate_takes_a_run_folder_and_warns_before_the_text(world):
    """The run folder the other commands take (its checkpoint); the prefix's warning comes
    before the text, not in the middle of it."""
    result = subprocess.run([sys.executable, "-m", "d2lrnn", "generate", "--checkpoint",
                             str(world / "run"), "--prefix", "The", "--num-preds", "5"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout
    warned = result.stdout.index("warning: predict: ['T'] are not in the vocabulary")
    assert warned < result.stdout.index("<unk>he"), result.stdout


def test_a_relative_corpus_resumes_from_another_folder(world, tmp_path, monkeypatch, capsys):
    import shutil

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    shutil.copy(world / "synthetic.txt", tmp_path / "a" / "text.txt")
    monkeypatch.chdir(tmp_path / "a")
    assert run_cli(["train", "--corpus", "text.txt", "--out", tmp_path / "run", "--epochs",
                    "1", *TINY], capsys)[0] == 0
    monkeypatch.chdir(tmp_path / "b")
    code, _, err = run_cli(["train", "--resume", tmp_path / "run", "--epochs", "2",
                            "--quiet"], capsys)
    assert code == 0, err


def test_a_diverged_run_continues_with_a_lower_rate(world, tmp_path, capsys):
    out = tmp_path / "run"
    base = ["--corpus", world / "synthetic.txt", *TINY]
    assert run_cli(["train", "--out", out, "--epochs", "1", *base], capsys)[0] == 0
    code, _, err = run_cli(["train", "--resume", out, "--epochs", "3", "--lr", "1e7",
                            "--clip", "0", "--quiet"], capsys)
    assert code == 1 and "diverged" in err
    advice = err.strip().splitlines()[-1]
    command = advice[advice.index("d2lrnn train"):].split()[1:]  # the advice, as given
    assert "--resume" in command and "--lr" in command
    assert command[command.index("--lr") + 1] == "1"  # the last rate that trained
    code, _, err = run_cli([*command, "--quiet"], capsys)
    assert code == 0, err
    assert checkpoint.read(out / runs.CHECKPOINT).training["epoch"] == 3
    code, _, err = run_cli(["train", "--resume", out, "--epochs", "4", "--lr", "0.5",
                            "--quiet"], capsys)
    assert code == 0 and "recorded" in err  # a changed rate is noted, and kept
    found = checkpoint.read(out / runs.CHECKPOINT)
    assert found.hparams["changes"] == [{"epoch": 3, "lr": 0.5}] and found.hparams["lr"] == 0.5


def test_a_resume_that_differs_says_so_and_records_it(world, tmp_path, monkeypatch):
    from d2lrnn.numpy.ops import ops

    out = tmp_path / "run"
    runs.train(out, corpus=str(world / "synthetic.txt"), **SMALL)
    monkeypatch.setattr(type(ops), "threads", lambda self: "one thread, say")
    with pytest.warns(runs.ResumeNote, match="threads.*one thread, say"):
        runs.train(out, resume=True, epochs=3)
    segments = checkpoint.read(out / runs.CHECKPOINT).hparams["segments"]
    assert [s["epoch"] for s in segments] == [0, 2] and \
        segments[-1]["threads"] == "one thread, say"
    with warnings.catch_warnings():  # the same again: byte-identical, no note
        warnings.simplefilter("error", runs.ResumeNote)
        runs.train(out, resume=True, epochs=4)


def test_generate_streams_a_long_text_and_stops_on_ctrl_c(world):
    process = subprocess.Popen(
        [sys.executable, "-m", "d2lrnn", "generate", "--checkpoint",
         str(world / "run" / runs.CHECKPOINT), "--prefix", "the", "--num-preds", "100000000"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    first = process.stdout.read(10)  # text comes before the end
    assert first.startswith("the")
    while time.monotonic() < deadline:
        time.sleep(0.5)
        break
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "interrupted after" in err and "Traceback" not in err


def wait_for_the_commands_handlers(process, timeout=60):
    """Return once the command answers the stopping signals: its entry point's handler is in
    place (Linux: SIGTERM among the signals the process catches, /proc/<pid>/status; Python
    itself catches only SIGINT). Before that the interpreter is still starting, where no
    program can answer a signal; on a busy machine that took longer than 0.2 s. Elsewhere,
    return at once."""
    status = f"/proc/{process.pid}/status"
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        try:
            with open(status) as lines:
                caught = next(int(line.split()[1], 16) for line in lines
                              if line.startswith("SigCgt:"))
        except (OSError, StopIteration):
            return
        if caught >> (signal.SIGTERM - 1) & 1:
            return
        time.sleep(0.002)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM],
                         ids=lambda s: signal.Signals(s).name)
@pytest.mark.parametrize("delay", [0.0, 0.6])
def test_ctrl_c_while_the_command_starts_is_quiet(world, delay, signum):
    process = subprocess.Popen([sys.executable, "-m", "d2lrnn", "train", "--corpus",
                                str(world / "synthetic.txt"), "--epochs", "5000", *TINY],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for_the_commands_handlers(process)
    time.sleep(delay)  # importing the command line, or loading (5,000 short epochs take seconds)
    process.send_signal(signum)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 128 + signum, err  # 130 for Ctrl-C, 143 for SIGTERM
    assert "interrupted" in err and "Traceback" not in err, err


# -- 6: a full disk -------------------------------------------------------------------------------


def test_a_disk_that_fills_mid_run_names_what_is_kept(world, tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    assert run_cli(["train", "--corpus", world / "synthetic.txt", "--out", out, "--epochs",
                    "1", *TINY], capsys)[0] == 0
    kept = (out / runs.CHECKPOINT).read_bytes()
    real = checkpoint.atomic_write

    def full(path, data, make_folder=True):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(checkpoint, "atomic_write", full)
    code, _, err = run_cli(["train", "--resume", out, "--epochs", "3", "--quiet"], capsys)
    assert code == 1 and "is full" in err and f"--resume {out}" in err
    assert "1 of 1 epochs" in err  # what the kept checkpoint holds
    assert (out / runs.CHECKPOINT).read_bytes() == kept
    monkeypatch.setattr(checkpoint, "atomic_write", real)


def test_a_figure_the_disk_refuses_leaves_a_way_to_write_it(world, tmp_path, monkeypatch,
                                                            capsys):
    from d2lrnn.base import plot

    out = tmp_path / "run"
    real = plot.save_figure

    def full(fig, path):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(plot, "save_figure", full)
    code, printed, err = run_cli(["train", "--corpus", world / "synthetic.txt", "--out", out,
                                  "--epochs", "1", *TINY], capsys)
    assert code == 1 and "validation perplexity" in printed  # the summary came first
    assert f"d2lrnn report {out}" in err
    monkeypatch.setattr(plot, "save_figure", real)
    code, printed, _ = run_cli(["report", out], capsys)
    assert code == 0 and (out / "perplexity.png").read_bytes()[:4] == b"\x89PNG"


def test_a_full_disk_is_refused_before_training(world, tmp_path, monkeypatch, capsys):
    import shutil

    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage._replace(free=1000))
    code, _, err = run_cli(["train", "--corpus", world / "synthetic.txt", "--out",
                            tmp_path / "run", *TINY], capsys)
    assert code == 2 and "free" in err and "MB" in err


def test_the_space_a_run_needs_counts_the_parameters_of_its_cell():
    """The disk estimate counts the parameters of the model the settings make, for every
    function of every cell (a GRU's reset after the product has one more bias)."""
    from d2lrnn import numpy as ref
    from d2lrnn.cells import VARIANTS
    from d2lrnn.tools.experiment import build_lm
    from d2lrnn.training.settings import Settings

    def size(cell):  # the book's vocabulary of 28 characters
        lm = build_lm(ref, "scratch", 28, 32, cell=cell, layers=2)
        return sum(value.size for value in lm.get_params().values())

    def needed(cell):
        return runs.space_needed(Settings(cell=cell, layers=2, dtype="float64"))

    for key in VARIANTS:
        assert needed(key) - needed("rnn") == 2 * 8 * (size(key) - size("rnn")), key


# -- 7: text that is not what it seems -------------------------------------------------------


def test_utf16_without_a_bom_is_refused(tmp_path):
    corpus = tmp_path / "utf16.txt"
    corpus.write_bytes(("the time traveller " * 200).encode("utf-16-le"))
    with pytest.raises(CorpusError, match="UTF-16"):
        TimeMachine(8, 4, 10, 5, corpus=corpus)


# -- 10: the Python API checks what the command line checks ---------------------------------


def test_weights_set_in_place_to_nan_are_caught_before_generating(d2l, world):
    V = 10
    vocab = Vocab(list("abcdefghi"))
    lm = d2l.RNNLMScratch(d2l.RNNScratch(V, 4, seed=0), V, seed=1)
    params = lm.get_params()
    params["W_hh"][0, 0] = np.nan  # as a reader might, through the framework's own arrays
    lm.assign({k: d2l.ops.asarray(v, lm.dtype) for k, v in params.items()})
    for kwargs in ({}, {"temperature": 1.0, "seed": 0}):
        with pytest.raises(ValueError, match="NaN or infinite"):
            lm.predict("abc", 5, vocab, **kwargs)


def test_strings_and_odd_seeds_are_refused_in_our_words(d2l):
    lm = d2l.RNNLMScratch(d2l.RNNScratch(5, 3, seed=0), 5, seed=1)
    params = {k: v.astype(str) for k, v in lm.get_params().items()}
    params["W_hh"][0, 0] = "1e400"
    with pytest.raises(TypeError, match="parameters are numbers"):
        lm.set_params(params)
    vocab = Vocab(list("abcd"))
    with pytest.raises(ValueError, match="seed must be a whole number"):
        lm.predict("ab", 3, vocab, temperature=1.0, seed=-1)


def test_predict_checks_what_generate_checks(d2l):
    """A prefix that is not text, a vocabulary that is not one: our words, not Python's."""
    lm = d2l.RNNLMScratch(d2l.RNNScratch(5, 3, seed=0), 5, seed=1)
    vocab = Vocab(list("abcd"))
    with pytest.raises(TypeError, match="predict: the prefix must be text"):
        lm.predict(123, 3, vocab)
    with pytest.raises(TypeError, match=r"predict: vocab must be the vocabulary .*data\.vocab"):
        lm.predict("ab", 3, None)
    assert lm.predict(["a", "b"], 2, vocab) == lm.predict("ab", 2, vocab)  # the book's tokens


def test_a_ctrl_c_swallowed_on_its_way_still_stops_the_command():
    # a library that catches every exception while it loads would lose the press: the
    # command's handler remembers it, and the command stops where it next looks
    code = ("import os, signal\nfrom d2lrnn.tools import interrupts\n"
            "interrupts.remember_presses()\n"
            "try:\n    os.kill(os.getpid(), signal.SIGINT)\n    import time; time.sleep(5)\n"
            "except BaseException:\n    pass  # swallowed\n"
            "try:\n    interrupts.raise_if_pressed()\nexcept KeyboardInterrupt:\n"
            "    print('stopped')\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == "stopped", result.stderr
