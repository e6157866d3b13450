"""``d2lrnn translate train`` and ``d2lrnn translate run`` on the stand-in English-French pairs
(tests/_corpora.py), tiny sizes: what the run folder holds, a resumed run that ends where one
that never stopped ends, --json's fields, BLEU, greedy and beam translations side by side, and
bad input in one line that loses nothing."""
import json

import numpy as np
import pytest
from _corpora import parallel_pairs

from d2lrnn.tools import cli, runs
from d2lrnn.training import checkpoint

ON = pytest.mark.backends("numpy", "torch", reason="the command line's runs: NumPy and "
                                                   "PyTorch (every backend decodes alike: "
                                                   "test_seq2seq_decoding.py)")


def pairs_file(folder, pairs=300):
    path = folder / "pairs.txt"
    path.write_text(parallel_pairs(pairs), encoding="utf-8")
    return path


def tiny(backend, corpus, out, epochs=3):
    return ["translate", "train", "--backend", backend, "--corpus", str(corpus),
            "--num-train", "200", "--num-val", "50", "--batch-size", "32", "--epochs",
            str(epochs), "--embed-size", "16", "--hiddens", "16", "--out", str(out), "--quiet"]


def last_json(text):
    return json.loads(text.strip().splitlines()[-1])


@ON
def test_a_run_folder_summary_and_json(backend, tmp_path, capsys):
    out = tmp_path / "mt"
    assert cli.main([*tiny(backend, pairs_file(tmp_path), out), "--json", "--beam", "2"]) == 0
    printed = capsys.readouterr().out
    summary = last_json(printed)
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [runs.CHECKPOINT, runs.TRANSLATE_FIGURE, runs.LOCK])
    assert (out / runs.TRANSLATE_FIGURE).read_bytes()[:4] == b"\x89PNG"
    assert {"backend", "epochs", "train_loss", "val_loss", "bleu_greedy", "bleu_beam", "beam",
            "val_pairs", "examples", "folder"} <= set(summary)
    assert (summary["backend"], summary["epochs"], summary["beam"], summary["val_pairs"]) == (
        backend, 3, 2, 51)  # the book reads num_val + 1 validation pairs
    assert 0 <= summary["bleu_greedy"] <= 1 and 0 <= summary["bleu_beam"] <= 1
    assert "BLEU (k=2) on the 51 validation pairs: greedy" in printed
    header = next(line for line in printed.splitlines() if line.startswith("source"))
    assert header.split() == ["source", "greedy", "beam", "2", "reference"]
    found = checkpoint.read_translator(out / runs.CHECKPOINT)
    assert found.training["epoch"] == 3 and len(found.training["history"]["val_loss"]) == 3
    assert found.hparams["backend"] == backend and found.adam["step"] == 3 * 7


@ON
def test_resuming_ends_where_a_run_that_never_stopped_ends(backend, tmp_path):
    corpus = pairs_file(tmp_path)
    assert cli.main(tiny(backend, corpus, tmp_path / "straight", epochs=4)) == 0
    assert cli.main(tiny(backend, corpus, tmp_path / "stopped", epochs=2)) == 0
    assert cli.main(["translate", "train", "--resume", str(tmp_path / "stopped"), "--epochs",
                     "4", "--quiet"]) == 0
    a, b = (checkpoint.read_translator(tmp_path / name / runs.CHECKPOINT)
            for name in ("straight", "stopped"))
    assert b.training["epoch"] == 4 and a.adam["step"] == b.adam["step"]
    for name in a.params:
        assert a.params[name].tobytes() == b.params[name].tobytes(), name
    assert a.training["history"]["step_loss"] == b.training["history"]["step_loss"]
    assert cli.main(["translate", "train", "--resume", str(tmp_path / "stopped"),
                     "--quiet"]) == 2  # every epoch trained


@ON
def test_greedy_and_beam_translations_side_by_side(backend, tmp_path, capsys):
    out = tmp_path / "mt"
    assert cli.main(tiny("numpy", pairs_file(tmp_path), out)) == 0
    capsys.readouterr()
    sentences = ["he sees a car .", "you have the small bread ."]
    assert cli.main(["translate", "run", "--run", str(out), "--backend", backend, "--beam",
                     "3", "--json", *sentences]) == 0
    captured = capsys.readouterr()
    lines = captured.out.strip().splitlines()
    assert lines[0].split() == ["source", "greedy", "beam", "3"]
    assert [line.startswith(s) for line, s in zip(lines[1:], sentences)] == [True, True]
    result = last_json(captured.out)
    assert [t["source"] for t in result["translations"]] == sentences
    assert all(t["greedy"] and t["beam"] and t["unknown"] == [] for t in result["translations"])
    assert captured.err == ""


def test_bad_input_gets_one_line_and_loses_nothing(tmp_path, capsys):
    out = tmp_path / "mt"
    corpus = pairs_file(tmp_path)
    assert cli.main(tiny("numpy", corpus, out)) == 0
    kept = (out / runs.CHECKPOINT).read_bytes()
    capsys.readouterr()
    translate = ["translate", "run", "--run", str(out)]
    refused = [([*translate, "  "], "an empty sentence"),
               ([*translate, "go \udcff"], "not UTF-8"),
               ([*translate, "go\tnow"], "a tab or a line break"),
               ([*tiny("numpy", corpus, out)], "holds a run already"),
               (["translate", "train", "--resume", str(out), "--hiddens", "8"], "drop --hiddens"),
               (["translate", "train", "--resume", str(out), "--out", str(tmp_path / "x")],
                "drop --out"),
               ([*tiny("numpy", corpus, tmp_path / "big"), "--hiddens", "60000",
                 "--embed-size", "60000"], "GiB of memory")]
    for argv, words in refused:
        assert cli.main(argv) == 2, argv
        err = capsys.readouterr().err
        assert words in err and err.count("\n") == 1, err
    assert (out / runs.CHECKPOINT).read_bytes() == kept
    assert not (tmp_path / "big").exists()  # a refused run leaves nothing behind
    for argv in (["generate", "--checkpoint", str(out), "--prefix", "a"],
                 ["train", "--resume", str(out)]):  # the language model's commands
        assert cli.main(argv) == 2, argv
        err = capsys.readouterr().err
        assert "is a translator's checkpoint" in err and err.count("\n") == 1, err
    assert cli.main([*translate, "zzz qqq", "he sees a blorp ."]) == 0
    err = capsys.readouterr().err.splitlines()
    assert "none of its words is in the vocabulary" in err[0] and "<unk>s only" in err[0]
    assert "'blorp' not in the vocabulary" in err[1] and len(err) == 2


@ON
def test_report_summarises_a_translators_run_and_draws_its_figure_again(backend, tmp_path,
                                                                         capsys):
    out = tmp_path / "mt"
    assert cli.main(tiny(backend, pairs_file(tmp_path), out, epochs=2)) == 0
    found = checkpoint.read_translator(out / runs.CHECKPOINT)
    (out / runs.TRANSLATE_FIGURE).unlink()
    capsys.readouterr()
    assert cli.main(["report", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (f"{out}: a {backend} translator (2 GRU layers of 16, float32); "
                        f"2 of 2 epochs trained (finished)")
    history = found.training["history"]
    assert lines[1].startswith(f"train loss {history['train_loss'][-1]:.3f}, validation loss "
                               f"{history['val_loss'][-1]:.3f}; ")
    assert lines[2] == f"wrote {out / runs.TRANSLATE_FIGURE}"
    assert (out / runs.TRANSLATE_FIGURE).read_bytes()[:4] == b"\x89PNG"
    stopped = tmp_path / "stopped"  # the same state in a run planned for 5 epochs
    checkpoint.save_translator(stopped / runs.CHECKPOINT, found.params, found.src_tokens,
                               found.tgt_tokens, {**found.hparams, "epochs": 5}, found.adam,
                               {k: v for k, v in found.training.items() if k != "adam_step"})
    assert cli.main(["report", str(stopped)]) == 0
    assert capsys.readouterr().out.splitlines()[0].endswith(
        f"2 of 5 epochs trained (resume with: d2lrnn translate train --resume {stopped})")


def test_a_language_models_run_or_a_corrupt_checkpoint_is_refused(tmp_path, capsys):
    from _corpora import synthetic_corpus

    lm = tmp_path / "lm"
    assert cli.main(["train", "--corpus", str(synthetic_corpus(tmp_path)), "--epochs", "1",
                     "--batch-size", "24", "--num-steps", "8", "--hiddens", "8",
                     "--num-train", "50", "--num-val", "20", "--out", str(lm), "--quiet"]) == 0
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / runs.CHECKPOINT).write_bytes((lm / runs.CHECKPOINT).read_bytes()[:500])
    capsys.readouterr()
    for argv, words in ((["translate", "run", "--run", str(lm), "go ."],
                         "is a language model's checkpoint"),
                        (["translate", "train", "--resume", str(lm)],
                         "is a language model's checkpoint"),
                        (["translate", "run", "--run", str(bad), "go ."],
                         "not a readable safetensors file")):
        assert cli.main(argv) == 2
        err = capsys.readouterr().err
        assert words in err and err.count("\n") == 1, err


def test_a_diverging_run_stops_and_keeps_its_last_epoch(tmp_path, capsys, monkeypatch):
    from d2lrnn.training import adam

    out = tmp_path / "mt"
    corpus = pairs_file(tmp_path)
    assert cli.main(tiny("numpy", corpus, out, epochs=1)) == 0
    kept = (out / runs.CHECKPOINT).read_bytes()
    real_step = adam.Adam.step

    def poisoned(self, ops, params, grads, state):  # the second epoch's gradients overflow
        return real_step(self, ops, params, {k: g * np.inf for k, g in grads.items()}, state)
    monkeypatch.setattr(adam.Adam, "step", poisoned)
    capsys.readouterr()
    assert cli.main(["translate", "train", "--resume", str(out), "--epochs", "3",
                     "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "training diverged in epoch 2, step 1" in err
    assert f"translate train --resume {out}" in err
    assert (out / runs.CHECKPOINT).read_bytes() == kept


def test_help_shows_the_books_settings_and_both_actions(capsys):
    with pytest.raises(SystemExit):
        cli.main(["translate", "--help"])
    assert "train: train a translator; run: translate sentences" in " ".join(
        capsys.readouterr().out.split())
    with pytest.raises(SystemExit):
        cli.main(["translate", "train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for shown in ("--embed-size", "(default: 256)", "(default: 0.005)", "(default: 30)",
                  "(default: 9)", "--beam", "--resume", "--json", "loss.png", "D2LRNN_DATA"):
        assert shown in text, shown
    with pytest.raises(SystemExit):
        cli.main(["translate", "run", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "SENTENCE" in text and "--run DIR" in text and "(default: the run's)" in text


def test_an_altered_translator_checkpoint_is_refused_in_one_line(tmp_path, capsys):
    from safetensors import safe_open
    from safetensors.numpy import save_file

    out = tmp_path / "mt"
    assert cli.main(tiny("numpy", pairs_file(tmp_path), out, epochs=2)) == 0
    path = out / runs.CHECKPOINT
    with safe_open(str(path), framework="numpy") as f:
        tensors, metadata = {k: f.get_tensor(k) for k in f.keys()}, f.metadata()
    training = json.loads(metadata["training"])
    altered = {"training": {**training, "history": {**training["history"], "val_loss": [1.0]}},
               "tgt_vocab": ["<unk>", "a"], "hparams": {"embed_size": 0}}
    capsys.readouterr()
    for key, value in altered.items():
        save_file(tensors, str(path), metadata={**metadata, key: json.dumps(value)})
        for argv in (["translate", "run", "--run", str(out), "go ."],
                     ["translate", "train", "--resume", str(out), "--epochs", "3"]):
            assert cli.main(argv) == 2, (key, argv)
            err = capsys.readouterr().err
            assert str(path) in err and err.count("\n") == 1, err
    save_file({**tensors, "decoder.dense.b": tensors["decoder.dense.b"][:-1]}, str(path),
              metadata=metadata)
    assert cli.main(["translate", "run", "--run", str(out), "go ."]) == 2
    assert "decoder.dense.b has shape" in capsys.readouterr().err


def test_the_pairs_unpacked_in_the_data_folder_serve_without_corpus(tmp_path, monkeypatch,
                                                                     capsys):
    unpacked = tmp_path / "data" / "fra-eng"
    unpacked.mkdir(parents=True)
    (unpacked / "fra.txt").write_text(parallel_pairs(300), encoding="utf-8")
    monkeypatch.setenv("D2LRNN_DATA", str(tmp_path / "data"))
    argv = tiny("numpy", "x", tmp_path / "mt", epochs=1)
    del argv[argv.index("--corpus"):argv.index("--corpus") + 2]
    assert cli.main([*argv, "--json"]) == 0
    assert last_json(capsys.readouterr().out)["val_pairs"] == 51
    assert checkpoint.read_translator(tmp_path / "mt" / runs.CHECKPOINT).hparams["corpus"] is None
