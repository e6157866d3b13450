"""Checkpoints (portable, atomic) and the train / generate commands."""
import json
import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from _backends import load_or_skip
from _corpora import synthetic_corpus
from _rules import refused

from d2lrnn.base.backend import BACKENDS, available_backends
from d2lrnn.base.errors import BadArgument
from d2lrnn.base.vocab import Vocab
from d2lrnn.tools import cli
from d2lrnn.tools.commands import generate
from d2lrnn.training import checkpoint
from d2lrnn.training.settings import FIELDS, Settings


def small_model():
    """(parameters, vocabulary) of a checkpoint with three hidden units."""
    vocab = Vocab(list("hello world"))
    V = len(vocab)
    return {"W_xh": np.arange(3.0 * V).reshape(V, 3), "W_hh": np.eye(3), "b_h": np.zeros(3),
            "W_hq": np.ones((3, V), np.float32), "b_q": np.ones(V, np.float32)}, vocab


def test_checkpoint_round_trip(tmp_path):
    params, vocab = small_model()
    path = tmp_path / "sub" / "c.safetensors"
    checkpoint.save(path, params, vocab, {"num_hiddens": 3, "model": "scratch"})
    loaded, loaded_vocab, hparams = checkpoint.load(path)
    assert set(loaded) == set(params)
    for k in params:
        np.testing.assert_array_equal(loaded[k], params[k])
        assert loaded[k].dtype == params[k].dtype
    assert loaded_vocab.idx_to_token == vocab.idx_to_token and loaded_vocab["w"] == vocab["w"]
    assert hparams == {"num_hiddens": 3, "model": "scratch"}


@pytest.mark.parametrize("name", list(FIELDS))
def test_a_checkpoint_holds_its_settings_to_the_rules_a_run_is_given(tmp_path, name):
    """What a run refuses (d2lrnn train's option, the Python API's Settings), a checkpoint
    that says it ran with it is refused for, naming the hyperparameter: one rule each (a run
    needs --num-val >= 1; a checkpoint once took 0)."""
    params, vocab = small_model()
    path = tmp_path / "c.safetensors"
    for value in refused(FIELDS[name].metadata["rule"]):
        with pytest.raises(BadArgument):
            Settings().replace(**{name: value})
        checkpoint.save(path, params, vocab, {"num_hiddens": 3, name: value})
        with pytest.raises(checkpoint.CheckpointError, match=f"hyperparameter '{name}' is"):
            checkpoint.read(path)


# Checkpoints written before a cell's variants were data (d2lrnn train of commit e298681 on
# the synthetic text: --cell gru, --cell gru --model concise in torch, --cell lstm --layers
# 2, the RNN), each with the cell it computes and the loss its model had then on the tokens
# of test_a_checkpoint_written_before_loads_as_the_model_it_was (float64, NumPy; the concise
# GRU's in torch too).
WRITTEN_BEFORE = {"rnn": ("rnn", 3.0581542208947976),
                  "gru-before": ("gru-before", 3.058335582959008),
                  "gru-after": ("gru-after", 3.0583368507305475),
                  "lstm-2": ("lstm", 3.0582947089652763)}


@pytest.mark.parametrize("name", list(WRITTEN_BEFORE))
def test_a_checkpoint_written_before_loads_as_the_model_it_was(name, capsys):
    cell, loss = WRITTEN_BEFORE[name]
    found = checkpoint.read(Path(__file__).parent / "golden" / "checkpoints" /
                            f"{name}.safetensors")
    lm = generate.model_of(found, SimpleNamespace(backend="numpy", dtype="float64",
                                                  device="cpu"))
    assert lm.rnn.network.layers[0].cell.key == cell
    rng = np.random.default_rng(0)
    X, Y = rng.integers(0, len(found.vocab), (3, 7)), rng.integers(0, len(found.vocab), (3, 7))
    from d2lrnn import numpy as ref

    assert ref.loss_and_grads(lm, X, Y)[0] == pytest.approx(loss, rel=1e-12)


@pytest.mark.parametrize("hparams", [{"cell": "gru", "cell_key": "gru-after", "reset": "before"},
                                     {"cell": "gru-after", "reset": "before"},
                                     {"cell": "lstm", "cell_key": "gru-after"}])
def test_a_checkpoint_whose_cell_names_two_functions_is_refused(tmp_path, hparams):
    params, vocab = small_model()
    path = tmp_path / "c.safetensors"
    checkpoint.save(path, params, vocab, {"num_hiddens": 3, **hparams})
    with pytest.raises(checkpoint.CheckpointError, match="cell_key 'gru-after' is not a "
                                                         "variant|its cell and reset disagree"):
        checkpoint.read(path)


def test_interrupted_save_keeps_the_old_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "c.safetensors"
    checkpoint.save(path, {"a": np.zeros(3)}, Vocab(list("ab")), {"v": 1})
    before = path.read_bytes()

    def crash(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError, match="disk full"):
        checkpoint.save(path, {"a": np.ones(3)}, Vocab(list("ab")), {"v": 2})
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["c.safetensors"]  # no temporary file left behind


def test_not_a_checkpoint(tmp_path):
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x00\x01 not safetensors")
    with pytest.raises(checkpoint.CheckpointError, match="not a readable safetensors"):
        checkpoint.load(junk)
    from safetensors.numpy import save_file

    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": np.zeros(2)}, str(foreign))
    with pytest.raises(checkpoint.CheckpointError, match="not a d2lrnn checkpoint"):
        checkpoint.load(foreign)
    with pytest.raises(checkpoint.CheckpointError, match="no checkpoint"):
        checkpoint.load(tmp_path / "missing.safetensors")


def train_args(backend, corpus, out, *extra):
    return ["train", "--backend", backend, "--epochs", "2", "--batch-size", "64",
            "--num-steps", "16", "--hiddens", "16", "--corpus", str(corpus), "--out",
            str(out), "--json", "--quiet", *extra]


def test_train_command(tmp_path, capsys):
    corpus = synthetic_corpus(tmp_path)
    out = tmp_path / "run"
    assert cli.main(train_args("numpy", corpus, out)) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    summary = json.loads(last)
    for key in ("backend", "model", "epochs", "train_ppl", "val_ppl", "seconds",
                "tokens_per_s", "samples"):
        assert key in summary
    assert summary["epochs"] == 2 and summary["val_ppl"] < 27
    assert set(summary["samples"]) == {"it has", "time traveller"}
    assert (out / "perplexity.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    params, vocab, hparams = checkpoint.load(out / "checkpoint.safetensors")
    assert set(params) == {"W_xh", "W_hh", "b_h", "W_hq", "b_q"}
    assert hparams["num_hiddens"] == 16 and hparams["model"] == "scratch"


def test_train_command_reports_a_bad_corpus(tmp_path, capsys):
    assert cli.main(train_args("numpy", tmp_path / "nope.txt", tmp_path / "o")) == 2
    assert "no corpus file" in capsys.readouterr().err


def test_a_checkpoint_generates_the_same_text_in_every_backend(tmp_path, capsys):
    """Trained in torch where torch is here (else NumPy), greedy text is the same in all."""
    here = [b for b in BACKENDS if b in available_backends()]
    source = "torch" if "torch" in here else "numpy"
    load_or_skip(source)
    corpus = synthetic_corpus(tmp_path)
    out = tmp_path / "run"
    assert cli.main(train_args(source, corpus, out, "--model",
                               "concise" if source == "torch" else "scratch")) == 0
    capsys.readouterr()
    texts = {}
    for backend in here:
        load_or_skip(backend)
        assert cli.main(["generate", "--checkpoint", str(out / "checkpoint.safetensors"),
                         "--backend", backend, "--prefix", "the time", "--num-preds",
                         "40"]) == 0
        texts[backend] = capsys.readouterr().out.strip().splitlines()[-1]
    assert texts[source].startswith("the time") and len(texts[source]) == 48
    assert len(set(texts.values())) == 1, texts


def test_generate_reports_a_bad_checkpoint(tmp_path, capsys):
    assert cli.main(["generate", "--checkpoint", str(tmp_path / "x"), "--prefix", "a"]) == 2
    assert "no checkpoint" in capsys.readouterr().err


def test_train_takes_the_fast_path_unless_plain(tmp_path, capsys):
    corpus = synthetic_corpus(tmp_path)
    summaries = {}
    for flag in ([], ["--plain"], ["--fast"]):
        assert cli.main(train_args("numpy", corpus, tmp_path / f"run{flag}", *flag)) == 0
        out = capsys.readouterr().out
        summaries[tuple(flag)] = json.loads(out.strip().splitlines()[-1])
        assert "bits/char" in out
    assert summaries[()]["fast"] is True and summaries[("--fast",)]["fast"] is True
    assert summaries[("--plain",)]["fast"] is False
    # the same numbers by either road (the training-parity tests hold this to 1e-9)
    assert summaries[()]["val_ppl"] == pytest.approx(summaries[("--plain",)]["val_ppl"],
                                                      rel=1e-4)


def test_generate_reports_the_checkpoint_and_samples_top_k(tmp_path, capsys):
    corpus = synthetic_corpus(tmp_path)
    out = tmp_path / "run"
    assert cli.main(train_args("numpy", corpus, out)) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    ckpt = str(out / "checkpoint.safetensors")
    args = ["generate", "--checkpoint", ckpt, "--prefix", "the", "--num-preds", "30"]
    assert cli.main([*args, "--temperature", "1", "--top-k", "3", "--seed", "1"]) == 0
    captured = capsys.readouterr()
    assert len(captured.out.strip()) == 33 and "<unk>" not in captured.out
    bits = np.log2(summary["val_ppl"])
    assert f"validation perplexity {summary['val_ppl']:.2f} ({bits:.3f} bits/char)" in \
        captured.err
    assert cli.main([*args, "--top-p", "0.9"]) == 2  # nucleus sampling needs a temperature
    assert "give a temperature > 0" in capsys.readouterr().err


def test_version_and_help_show_every_option_with_its_default(capsys):
    from d2lrnn import __version__

    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out.strip() == f"d2lrnn {__version__}"
    parser = cli.build_parser()
    commands = parser._subparsers._group_actions[0].choices
    assert set(commands) == {"demo", "parity", "train", "generate", "report", "bench", "compare",
                             "doctor", "translate"}
    for name, command in commands.items():
        for action in command._actions:
            if action.dest != "help" and action.help != "==SUPPRESS==":
                assert action.help, f"d2lrnn {name} {action.option_strings}: no help line"
    with pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for shown in ("(default: 1024)", "(default: 32)", "(default: 100)", "D2LRNN_DATA",
                  "--corpus", "--plain"):
        assert shown in text


def test_a_corpus_too_short_names_the_options_to_change(tmp_path, capsys):
    corpus = tmp_path / "short.txt"
    corpus.write_text("a few words only\n", encoding="utf-8")
    assert cli.main(train_args("numpy", corpus, tmp_path / "o")) == 2
    err = capsys.readouterr().err
    for option in ("--corpus", "--num-steps", "--num-train", "--num-val"):
        assert option in err
    parser = cli.build_parser()
    for option in ("--corpus", "--num-steps", "--num-train", "--num-val"):
        parser.parse_args(["train", option, "7"])  # each option named exists
