"""The project's own catalogue of mistakes people make, walked through the command line and
the Python API of every backend in the env: each gets a clear message that names the
problem, a non-zero exit (never a traceback), and nothing that existed before is changed.
Tiny corpora and one epoch keep it fast."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _corpora import synthetic_corpus
from _rules import refused, refused_texts

from d2lrnn.tools import cli, runs
from d2lrnn.training import checkpoint

TINY = ["--epochs", "1", "--batch-size", "16", "--num-steps", "8", "--hiddens", "8",
        "--num-train", "60", "--num-val", "20", "--quiet"]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A corpus, a finished run, and odd files, shared by the cases (which must not change
    them: checked after every case)."""
    root = tmp_path_factory.mktemp("world")
    corpus = synthetic_corpus(root)
    run = root / "run"
    assert cli.main(["train", "--corpus", str(corpus), "--out", str(run), *TINY]) == 0
    (root / "a_file").write_text("not a folder")
    (root / "latin1.txt").write_bytes("caf\xe9 au lait ".encode("latin-1") * 400)
    (root / "short.txt").write_text("a few words\n")
    (root / "folder").mkdir()
    nan_ckpt = root / "nan.safetensors"
    from safetensors.numpy import save_file  # a checkpoint as a diverged run would leave it

    params, vocab, hparams = checkpoint.load(run / runs.CHECKPOINT)
    params["W_hh"][0, 0] = np.nan
    save_file(params, str(nan_ckpt), metadata={
        "format": checkpoint.FORMAT, "vocab": __import__("json").dumps(vocab.idx_to_token),
        "hparams": __import__("json").dumps(hparams)})
    return root


def snapshot(root):
    return {p: p.read_bytes() for p in sorted(Path(root).rglob("*")) if p.is_file()}


def run_cli(args, capsys):
    """``d2lrnn ARGS`` in this process: (exit code, stderr). An exception escaping would be
    a traceback on the command line, so it fails the test."""
    try:
        code = cli.main(args)
    except SystemExit as exit_:  # argparse's own errors
        code = exit_.code
    return code, capsys.readouterr().err


# (name, arguments with {root} for the world's folder, the exit code, words the message has)
CLI_CASES = [
    ("lr nan", ["train", "--lr", "nan"], 2, "--lr"),
    ("lr negative", ["train", "--lr", "-1"], 2, "--lr"),
    ("lr zero", ["train", "--lr", "0"], 2, "--lr"),
    ("lr text", ["train", "--lr", "fast"], 2, "--lr"),
    ("clip negative", ["train", "--clip", "-1"], 2, "--clip"),
    ("clip inf", ["train", "--clip", "inf"], 2, "--clip"),
    ("clip beyond float32", ["train", "--clip", "1e308"], 2, "<= 3.40282e+38"),
    ("epochs zero", ["train", "--epochs", "0"], 2, "--epochs"),
    ("hiddens fraction", ["train", "--hiddens", "28.5"], 2, "--hiddens"),
    ("hiddens negative", ["train", "--hiddens", "-3"], 2, "--hiddens"),
    ("seed negative", ["train", "--seed", "-1"], 2, "--seed"),
    ("parity seed negative", ["parity", "--seed", "-1"], 2, "--seed"),
    ("demo seed negative", ["demo", "--seed", "-1"], 2, "--seed"),
    ("more layers than a checkpoint holds", ["train", "--layers", "65"], 2, "--layers"),
    ("unknown backend", ["train", "--backend", "caffe"], 2, "--backend"),
    ("backend near miss", ["train", "--backend", "pytorch"], 2, "(did you mean 'torch'?)"),
    ("cell near miss", ["train", "--cell", "LSTM"], 2, "(did you mean 'lstm'?)"),
    ("command near miss", ["trian"], 2, "(did you mean 'train'?)"),
    ("device near miss", ["train", "--device", "cdua"], 2, "(did you mean 'cuda'?)"),
    ("unknown option", ["train", "--learning-rate", "1"], 2, "unrecognized"),
    ("huge hiddens", ["train", "--hiddens", "100000", "--corpus", "{root}/short.txt"], 2,
     "--hiddens"),
    ("huge num steps", ["train", "--num-steps", "100000", "--corpus", "{root}/short.txt"], 2,
     "--num-steps"),
    ("out is a file", ["train", "--out", "{root}/a_file", "--corpus", "{root}/run/../a_file"],
     2, "is a file"),
    ("out under a file", ["train", "--out", "{root}/a_file/sub", "--corpus",
                          "{root}/synthetic.txt"], 2, "cannot write there"),
    ("out holds a run", ["train", "--out", "{root}/run", "--corpus", "{root}/synthetic.txt"],
     2, "--overwrite"),
    ("overwrite and resume", ["train", "--resume", "{root}/run", "--overwrite"], 2,
     "give one of them"),
    ("resume nothing", ["train", "--resume", "{root}/folder"], 2, "no checkpoint"),
    ("resume a finished run", ["train", "--resume", "{root}/run"], 2, "--epochs"),
    ("corpus missing", ["train", "--corpus", "{root}/nope.txt"], 2, "no corpus file"),
    ("corpus is a folder", ["train", "--corpus", "{root}/folder"], 2, "is a folder"),
    ("corpus not utf-8", ["train", "--corpus", "{root}/latin1.txt"], 2, "not UTF-8"),
    ("corpus too short", ["train", "--corpus", "{root}/short.txt"], 2, "--num-steps"),
    ("lr diverges", ["train", "--corpus", "{root}/synthetic.txt", "--lr", "1e6"], 1,
     "diverged"),
    ("lr worse than guessing", ["train", "--corpus", "{root}/synthetic.txt", "--lr", "7",
                                "--hiddens", "32", "--num-train", "400"], 1,
     "worse than guessing among the vocabulary's"),
    ("lr diverges unclipped", ["train", "--corpus", "{root}/synthetic.txt", "--lr", "1e6",
                               "--clip", "0"], 1, "diverged"),
    ("generate a diverged checkpoint", ["generate", "--checkpoint", "{root}/nan.safetensors",
                                        "--prefix", "the"], 2, "NaN"),
    ("generate no checkpoint", ["generate", "--checkpoint", "{root}/folder/x", "--prefix",
                                "a"], 2, "no checkpoint"),
    ("generate not a checkpoint", ["generate", "--checkpoint", "{root}/a_file", "--prefix",
                                   "a"], 2, "not a readable"),
    ("generate negative length", ["generate", "--checkpoint", "{root}/run/checkpoint"
                                  ".safetensors", "--prefix", "a", "--num-preds", "-5"], 2,
     "--num-preds"),
    ("generate top-p above 1", ["generate", "--checkpoint", "{root}/run/checkpoint"
                                ".safetensors", "--prefix", "a", "--top-p", "2"], 2,
     "--top-p"),
    ("generate top-k greedy", ["generate", "--checkpoint", "{root}/run/checkpoint"
                               ".safetensors", "--prefix", "a", "--top-k", "3"], 2,
     "temperature"),
    ("generate a folder without a checkpoint", ["generate", "--checkpoint", "{root}/folder",
                                                "--prefix", "a"], 2,
     "holds no checkpoint.safetensors"),
    ("generate temperature too small", ["generate", "--checkpoint", "{root}/run", "--prefix",
                                        "a", "--temperature", "1e-310"], 2,
     "0 (greedy) or >= 0.001"),
    ("generate empty prefix", ["generate", "--checkpoint", "{root}/run/checkpoint"
                               ".safetensors", "--prefix", ""], 2, "prefix"),
]


@pytest.mark.parametrize("name, args, code, words", CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_command_line_mistake(world, capsys, name, args, code, words):
    before = snapshot(world)
    args = [a.replace("{root}", str(world)) for a in args]
    if args[0] == "train":
        args = [args[0], *TINY, *args[1:]]  # the case's own options come last, and win
    got, err = run_cli(args, capsys)
    assert got == code, err
    assert words in err, err
    assert "Traceback" not in err
    assert snapshot(world) == before, "a mistake changed existing files"


def subcommands(parser=None, prefix=""):
    """{name: parser} of d2lrnn's subcommands, from the command line's own parser, a nested
    one by its whole name ('translate train')."""
    import argparse

    found = {}
    for action in (parser or cli.build_parser())._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                nested = subcommands(sub, f"{prefix}{name} ")
                found.update(nested or {f"{prefix}{name}": sub})
    return found


def test_the_option_walk_reaches_nested_subcommands():
    assert {"translate train", "translate run", "train"} <= set(subcommands())


def typed_options():
    """(command, option, its argparse action) for every option of every subcommand that
    reads a value of its own kind (not a choice, not text)."""
    return [(name, action.option_strings[0], action) for name, parser in subcommands().items()
            for action in parser._actions if action.option_strings and action.type]


def required_words(command):
    """What ``d2lrnn COMMAND`` cannot be parsed without (values that parse: nothing runs)."""
    words = []
    for action in subcommands()[command]._actions:
        if not action.option_strings:
            words.append("x")
        elif action.required:
            words += [action.option_strings[0], "x"]
    return words


@pytest.mark.parametrize("command, option, action", typed_options(),
                         ids=[f"{c} {o}" for c, o, _ in typed_options()])
def test_every_typed_option_refuses_what_its_rule_refuses_in_one_line(command, option,
                                                                      action, capsys):
    """Each seed, whole number, real number, device and path option: its type is made from
    a rule of base.checks, and what the rule refuses is refused before anything runs, in one
    line naming the option (argparse's usage above it)."""
    assert hasattr(action.type, "rule"), \
        f"d2lrnn {command} {option}: its type {action.type!r} is not made from a rule of " \
        f"d2lrnn.base.checks (options.typed)"
    for text in refused_texts(action.type.rule):
        with pytest.raises(SystemExit) as stop:
            cli.main([*command.split(), *required_words(command), f"{option}={text}"])
        err = capsys.readouterr().err
        assert stop.value.code == 2, f"d2lrnn {command} {option}={text!r} was taken: {err}"
        last = err.strip().splitlines()[-1]
        assert last.startswith(f"d2lrnn {command}: error: argument {option}"), err
        assert "must be" in last or "empty path" in last, err
        assert "Traceback" not in err


def test_mistakes_print_no_traceback_in_a_fresh_process(world):
    """Five of the cases above as a user meets them: a new process, its stderr."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    for args, code in ((["train", "--lr", "nan"], 2), (["parity", "--seed", "-1"], 2),
                       (["demo", "--seed", "-1"], 2),
                       (["train", "--corpus", str(world / "folder"), *TINY], 2),
                       (["train", "--corpus", str(world / "synthetic.txt"), "--lr", "1e6",
                         *TINY], 1)):
        result = subprocess.run([sys.executable, "-m", "d2lrnn", *args], capture_output=True,
                                text=True, env=env, timeout=120)
        assert result.returncode == code, result.stderr
        assert "Traceback" not in result.stderr and result.stderr.strip()
        assert "internal error" not in result.stderr


# -- the Python API, the same in every backend -------------------------------------------------

def test_model_constructors_name_the_argument(d2l):
    cases = [(lambda: d2l.RNNScratch(0, 8), "num_inputs"),
             (lambda: d2l.RNNScratch(28.5, 8), "num_inputs"),
             (lambda: d2l.RNNScratch(28, -3), "num_hiddens"),
             (lambda: d2l.RNNScratch(28, True), "num_hiddens"),
             (lambda: d2l.RNNScratch(28, 8, sigma=float("nan")), "sigma"),
             (lambda: d2l.RNNScratch(28, 8, seed=-1), "seed"),
             (lambda: d2l.MLP(4, 0, 3), "num_hiddens"),
             (lambda: d2l.RNNLMScratch(d2l.RNNScratch(5, 3), 0), "vocab_size"),
             (lambda: d2l.RNNLMScratch(d2l.RNNScratch(5, 3), 5, lr=float("inf")), "lr")]
    for make, name in cases:
        with pytest.raises(ValueError, match=name):
            make()


def lm_of(d2l):
    return d2l.RNNLMScratch(d2l.RNNScratch(5, 3, seed=0), 5, seed=1)


def test_set_params_refuses_nan_and_non_mappings(d2l):
    lm = lm_of(d2l)
    before = lm.get_params()
    bad = {**before, "W_hh": np.full((3, 3), np.nan)}
    with pytest.raises(ValueError, match="W_hh hold"):
        lm.set_params(bad)
    with pytest.raises(TypeError, match="mapping"):
        lm.set_params(list(before.values()))
    after = lm.get_params()
    assert all(np.array_equal(before[k], after[k]) for k in before)  # nothing half-loaded


@pytest.mark.parametrize("shape", [(0, 4), (2, 0)], ids=["no sequences", "no steps"])
def test_an_empty_batch_is_an_error_in_every_backend(d2l, shape):
    lm = lm_of(d2l)
    X = np.zeros(shape, dtype=np.int64)
    with pytest.raises(ValueError, match="empty"):
        d2l.loss_and_grads(lm, X, X)
    with pytest.raises(ValueError, match="empty"):
        lm(X)


def test_fit_and_predict_check_their_arguments(d2l, tmp_path):
    from d2lrnn.book.data import TimeMachine
    from d2lrnn.training.train import fit

    data = TimeMachine(16, 8, 60, 20, corpus=synthetic_corpus(tmp_path))
    V = len(data.vocab)
    lm = d2l.RNNLMScratch(d2l.RNNScratch(V, 4), V)
    for kwargs, name in (({"lr": float("nan")}, "lr"), ({"lr": -1}, "lr"),
                         ({"clip": -1}, "clip"), ({"epochs": 0}, "epochs"),
                         ({"clip": 1e308}, r"clip must be a finite number >= 0 and <= 3.4")):
        with pytest.raises(ValueError, match=name):
            fit(lm, data, **{"epochs": 1, **kwargs})
    with pytest.raises(ValueError, match="num_preds"):
        lm.predict("the", -5, data.vocab)
    with pytest.raises(ValueError, match="batch_size"):
        TimeMachine(0, 8, corpus=synthetic_corpus(tmp_path))


@pytest.mark.parametrize("name", ["batch_size", "num_steps", "num_train", "num_val", "seed"])
def test_the_data_takes_a_runs_rules(name, tmp_path):
    """TimeMachine refuses what a run refuses (d2lrnn train's options, the checkpoint): one
    rule each (it once took num_val=0, which a run refuses)."""
    from d2lrnn.book.data import TimeMachine
    from d2lrnn.training.settings import FIELDS

    given = {"batch_size": 16, "num_steps": 8, "num_train": 60, "num_val": 20, "seed": 0}
    for value in refused(FIELDS[name].metadata["rule"]):
        with pytest.raises(ValueError, match=f"TimeMachine: {name} must be"):
            TimeMachine(**{**given, name: value}, corpus=synthetic_corpus(tmp_path))


def test_divergence_stops_training_with_the_history(d2l, tmp_path):
    from d2lrnn.book.data import TimeMachine
    from d2lrnn.training.train import TrainingDiverged, fit

    data = TimeMachine(16, 8, 60, 20, corpus=synthetic_corpus(tmp_path))
    V = len(data.vocab)
    for fast in (True, False):
        lm = d2l.RNNLMScratch(d2l.RNNScratch(V, 8, seed=0), V, seed=1)
        before = lm.get_params()
        with pytest.raises(TrainingDiverged, match="diverged in epoch 1") as caught:
            fit(lm, data, epochs=3, lr=1e6, clip=0, fast=fast)
        assert caught.value.step >= 2 and np.isfinite(caught.value.last_finite_loss)
        assert caught.value.history["step_loss"]  # what came before is kept
        after = lm.get_params()  # the model keeps its last good parameters
        assert all(np.array_equal(before[k], after[k]) for k in before)
