"""``d2lrnn bench`` and ``d2lrnn compare`` on a small synthetic task, in subprocesses."""
import csv
import json

import pytest
from _corpora import synthetic_corpus

from d2lrnn.base.backend import available_backends, install_hint
from d2lrnn.tools import bench, cli
from d2lrnn.tools.parity import TRAINING_TOLERANCE


@pytest.fixture(scope="module")
def task(tmp_path_factory):
    corpus = synthetic_corpus(tmp_path_factory.mktemp("corpus"))
    return ["--corpus", str(corpus), "--epochs", "2", "--batch-size", "512", "--num-steps",
            "8", "--hiddens", "8"]


def test_bench_writes_the_table_csv_and_chart(task, tmp_path, capsys):
    out = tmp_path / "bench"
    assert cli.main(["bench", "--backends", "numpy", "--repeats", "2", "--paths", "fast",
                     "plain", *task, "--out", str(out)]) == 0
    table = capsys.readouterr().out
    assert "| numpy | scratch | fast | 2 |" in table and "| numpy | scratch | plain | 2 |" in table
    rows = list(csv.DictReader((out / "bench.csv").open()))
    assert [(r["path"], r["runs"]) for r in rows] == [("fast", "2"), ("plain", "2")]
    for row in rows:
        assert float(row["seconds"]) > 0 and float(row["tokens/s"]) > 0
        assert float(row["peak MB"]) > 10 and float(row["chars/s"]) > 0
        assert 1 < float(row["val ppl"]) < 30
    records = json.loads((out / "bench.json").read_text())
    assert len(records) == 4 and all(len(r["history"]["epoch_seconds"]) == 2 for r in records)
    assert (out / "bench.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bench_medians_over_runs():
    runs = [{"backend": "numpy", "model": "scratch", "fast": True, "wall_seconds": s,
             "tokens_per_s": 1.0, "peak_mb": 1.0, "generate_chars_per_s": 1.0, "val_ppl": 7.0,
             "history": {"epoch_seconds": [9.0, s / 2, s / 2]}} for s in (3.0, 1.0, 2.0)]
    (row,) = bench.bench_rows(runs)
    assert row["seconds"] == 2.0 and row["s/epoch"] == 1.0 and row["runs"] == 3


def test_bench_measures_every_row_against_the_fused_kernel():
    def run(backend, seconds, how, model="scratch"):
        return {"backend": backend, "model": model, "fast": True, "wall_seconds": seconds,
                "tokens_per_s": 1.0, "peak_mb": 1.0, "generate_chars_per_s": 1.0,
                "val_ppl": 7.0, "history": {"epoch_seconds": [1.0]},
                "settings": {"strategy": how, "threads": "2 threads"}}

    rows = bench.bench_rows([run("numpy", 4.0, "fused"), run("torch", 10.0, "fused"),
                             run("jax", 6.0, "bptt"), run("jax", 9.0, "autograd", "concise")])
    ratio = {(r["backend"], r["model"]): r.get("x fused") for r in rows}
    assert ratio == {("numpy", "scratch"): 1.0, ("torch", "scratch"): 2.5,
                     ("jax", "scratch"): 1.5, ("jax", "concise"): 2.25}  # the same model
    gru = bench.bench_rows([run("numpy", 4.0, "fused"),
                            {**run("jax", 9.0, "autograd"), "cell": "gru"}])
    assert "x fused" not in gru[1]  # another model than the kernel's
    assert rows[0]["how"] == "fused" and rows[0]["threads"] == "2 threads"
    without = bench.bench_rows([run("numpy", 4.0, "bptt"), run("torch", 10.0, "fused")])
    assert all("x fused" not in r for r in without)  # no Numba: nothing to measure against


def test_bench_busy_runs_each_row_again_beside_spinning_processes(task, tmp_path, capsys,
                                                                  monkeypatch):
    started = []
    real_popen = bench.subprocess.Popen

    def popen(args, *rest, **kwargs):  # the spinners, seen as they start
        if args[1:] == ["-c", "while True: pass"]:
            started.append(args)
        return real_popen(args, *rest, **kwargs)

    monkeypatch.setattr(bench.subprocess, "Popen", popen)
    out = tmp_path / "bench"
    assert cli.main(["bench", "--backends", "numpy", "--repeats", "1", "--busy", "1", *task,
                     "--out", str(out)]) == 0
    assert "| busy s | x idle |" in capsys.readouterr().out
    assert len(started) == 1  # one spinner, for the busy run only
    records = json.loads((out / "bench.json").read_text())
    assert [r["busy"] for r in records] == [0, 1]
    (row,) = list(csv.DictReader((out / "bench.csv").open()))
    assert float(row["x idle"]) == pytest.approx(
        records[1]["wall_seconds"] / records[0]["wall_seconds"])


def test_compare_agrees_across_every_backend_here(task, tmp_path, capsys):
    out = tmp_path / "compare"
    backends = available_backends()
    assert cli.main(["compare", "--models", "scratch", "--dtype", "float64", *task,
                     "--out", str(out)]) == 0
    capsys.readouterr()
    records = json.loads((out / "compare.json").read_text())
    assert sorted(r["backend"] for r in records) == sorted(backends)
    for row in csv.DictReader((out / "compare.csv").open()):
        assert float(row["max loss divergence"]) <= TRAINING_TOLERANCE, row
    assert (out / "compare.png").read_bytes()[:4] == b"\x89PNG"


def test_compare_merges_runs_from_other_envs(task, tmp_path, capsys):
    first, merged = tmp_path / "first", tmp_path / "merged"
    assert cli.main(["compare", "--backends", "numpy", *task, "--out", str(first)]) == 0
    records = json.loads((first / "compare.json").read_text())
    # a run from "another env": the same run under another name, and one on other settings
    other = dict(records[0], backend="mxnet", model="concise")
    reseeded = dict(records[0], backend="torch",
                    settings=dict(records[0]["settings"], seed=99))
    (tmp_path / "other.json").write_text(json.dumps([other, reseeded]))
    capsys.readouterr()
    assert cli.main(["compare", "--merge-only", "--merge", str(first / "compare.json"),
                     str(tmp_path / "other.json"), "--out", str(merged)]) == 0
    table = capsys.readouterr().out
    assert "| mxnet | concise | fast |" in table and "| 0 |" in table
    assert "other settings" in table


def test_compare_explains_a_bad_merge_file(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text('{"not": "records"}')
    assert cli.main(["compare", "--merge-only", "--merge", str(bad)]) == 2
    assert "holds no d2lrnn run records" in capsys.readouterr().err
    assert cli.main(["compare", "--merge-only", "--merge", str(tmp_path / "none.json")]) == 2
    assert "cannot read records" in capsys.readouterr().err


def test_bench_refuses_a_backend_not_installed(capsys):
    missing = [b for b in ("mxnet", "tensorflow", "jax", "torch")
               if b not in available_backends()]
    if not missing:
        pytest.skip("every framework is installed in this env")
    assert cli.main(["bench", "--backends", missing[0]]) == 2
    assert install_hint(missing[0]) in capsys.readouterr().err


def test_steps_within_bound_counts_until_the_first_drift():
    reference = [2.0, 1.5, 1.2, 1.1]
    assert bench.steps_within(reference, reference, 1e-12) == "4 / 4"
    drifting = [2.0, 1.5 * (1 + 5e-6), 1.2 * (1 + 2e-5), 1.1]
    assert bench.steps_within(reference, drifting, 1e-5) == "2 / 4"
    assert bench.max_divergence(reference, drifting) == pytest.approx(2e-5)


def finished_record(**changes):
    """A record as a finished run writes it, with the fields compare reads."""
    return {"backend": "numpy", "model": "scratch", "train_ppl": 5.0, "val_ppl": 6.0,
            "wall_seconds": 1.0, "settings": {"dtype": "float32"},
            "history": {"epoch": [1], "train_ppl": [5.0], "val_ppl": [6.0],
                        "step_loss": [1.6], "epoch_seconds": [1.0]}, **changes}


def test_merged_records_are_checked_before_anything_is_computed(tmp_path, capsys):
    """Partial, mistyped, deep or escape-laden files: each one line naming the file, the
    record and the field; never a traceback, never an escape sequence on the terminal."""
    deep = "[" * 100_000 + "]" * 100_000
    nested = [finished_record(settings={"dtype": "float32", "x": [[[[[[[[1]]]]]]]]})]
    cases = {
        "partial": ('[{"backend": "numpy", "model": "scr', "cannot read records"),
        "lacking": (json.dumps([{"backend": "numpy", "model": "scratch"}]),
                    "record 1: it lacks train_ppl, val_ppl"),
        "mistyped": (json.dumps([finished_record(), finished_record(train_ppl="5")]),
                     'record 2: train_ppl is "5"; it must be a finite number >= 1'),
        "history": (json.dumps([finished_record(history={"step_loss": None})]),
                    "record 1: history is"),
        "deep": (deep, "nested deeper than run records are"),
        "nested": (json.dumps(nested), "nested deeper than run records are"),
        "escapes": (json.dumps([finished_record(backend="numpy\x1b[2J")]),
                    r'backend is "numpy\u001b[2J"; it must be one of numpy'),
    }
    for name, (text, words) in cases.items():
        path = tmp_path / f"{name}.json"
        path.write_text(text)
        assert cli.main(["compare", "--merge-only", "--merge", str(path)]) == 2, name
        err = capsys.readouterr().err
        assert err.startswith(f"d2lrnn: {path}") or "cannot read" in err, err
        assert words in err and err.count("\n") == 1 and "\x1b" not in err, err


def test_a_record_of_every_cell_a_run_takes_is_read(tmp_path, capsys):
    """What --cell takes (a cell's name, a variant's key: --cell gru-after), a record of that
    run holds, and compare reads it back."""
    from d2lrnn.cells import CHOICES

    path = tmp_path / "records.json"
    path.write_text(json.dumps([finished_record(cell=cell) for cell in CHOICES]))
    assert cli.main(["compare", "--merge-only", "--merge", str(path)]) == 0, \
        capsys.readouterr().err


def test_text_from_a_merged_file_is_printed_escaped(tmp_path, capsys):
    path = tmp_path / "records.json"
    path.write_text(json.dumps([finished_record(),
                                {"backend": "torch", "model": "scratch",
                                 "error": "boom\x1b[2J\x1b]0;title\x07 | done"}]))
    assert cli.main(["compare", "--merge-only", "--merge", str(path)]) == 1  # a failed run
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out
    assert r"failed: boom\x1b[2J\x1b]0;title\x07 \| done |" in out


def test_compare_says_what_its_columns_mean_and_how_long_the_rest_takes(tmp_path, capsys,
                                                                          monkeypatch):
    from d2lrnn.tools.commands import compare

    path = tmp_path / "records.json"
    path.write_text(json.dumps([finished_record(), finished_record(backend="torch")]))
    assert cli.main(["compare", "--merge-only", "--merge", str(path)]) == 0
    out = capsys.readouterr().out
    assert "| torch | scratch | fast |" not in out  # a plain run: 'fast' is not set
    assert "steps within bound: k / n, the first k of the n steps" in out and "1e-05" in out
    clock = iter([0.0, 90.0, 200.0])  # two runs of about 90 and 110 s
    monkeypatch.setattr(compare.time, "monotonic", lambda: next(clock))
    estimate = compare.Estimate(3)
    estimate.report(finished_record())
    assert "about 3.0 min left (2 run(s))" in capsys.readouterr().err
    estimate.report(finished_record())
    assert "about 100 s left (1 run(s))" in capsys.readouterr().err


# The sizes of 10.7's model made small, for a run of seconds.
TINY_SEQ2SEQ = {**bench.SEQ2SEQ, "vocab_size": 12, "embed_size": 8, "num_hiddens": 8,
                "batch_size": 16, "pairs": 48}


def test_bench_times_the_encoder_decoders_training_step_in_each_backend(tmp_path):
    backends = [b for b in ("numpy", "torch") if b in available_backends()]
    records = bench.bench_seq2seq(backends, 2, 2, settings=TINY_SEQ2SEQ)
    assert [r["backend"] for r in records] == backends * 2
    assert not [r["error"] for r in records if "error" in r]
    for record in records:
        assert len(record["epoch_seconds"]) == 2 and record["steps_per_epoch"] == 3
        assert record["settings"] == TINY_SEQ2SEQ and record["peak_mb"] > 10
        assert record["path"] == ("fast" if record["backend"] == "torch" else "plain")
    rows = bench.seq2seq_rows(records)
    assert [(r["backend"], r["runs"]) for r in rows] == [(b, 2) for b in backends]
    for row in rows:
        assert row["ms/step"] > 0 and row["pairs/s"] == pytest.approx(16000 / row["ms/step"])
    table = bench.markdown_table(rows, bench.SEQ2SEQ_COLUMNS)
    assert "| numpy | seq2seq GRU x2 | plain | 2 |" in table


def test_bench_seq2seq_rows_take_medians_after_the_first_epoch():
    runs = [{"backend": "torch", "model": bench.SEQ2SEQ_MODEL, "settings": bench.SEQ2SEQ,
             "path": "fast",
             "epoch_seconds": [9.0, s, s], "steps_per_epoch": 4, "peak_mb": 100.0,
             "how": "autograd", "threads": "1"} for s in (0.4, 0.8, 1.2)]
    (row,) = bench.seq2seq_rows(runs + [{"backend": "torch", "error": "it broke"}])
    assert row["runs"] == 3 and row["ms/step"] == 200.0 and row["spread"] == "100-300"
    assert row["path"] == "fast"
    assert row["pairs/s"] == 640.0 and row["seconds"] == pytest.approx(10.6)
    (failed,) = bench.seq2seq_rows([{"backend": "jax", "model": bench.SEQ2SEQ_MODEL,
                                     "error": "it broke"}])
    assert failed["error"] == "it broke" and failed["runs"] == 0


def test_bench_seq2seq_from_the_command_line(tmp_path, capsys, monkeypatch):
    calls = []

    def fake_bench(backends, repeats, epochs, seed=0, on_record=None):
        calls.append((backends, repeats, epochs, seed))
        return [{"backend": "numpy", "model": bench.SEQ2SEQ_MODEL, "settings": bench.SEQ2SEQ,
                 "path": "plain",
                 "epoch_seconds": [2.0, 1.0, 1.0], "steps_per_epoch": 4, "peak_mb": 50.0,
                 "how": "hand-written backward", "threads": "1"}]

    monkeypatch.setattr(bench, "bench_seq2seq", fake_bench)
    out = tmp_path / "bench"
    assert cli.main(["bench", "--backends", "numpy", "--seq2seq", "--repeats", "1", "--out",
                     str(out)]) == 0
    assert calls == [(["numpy"], 1, 3, 0)]
    table = capsys.readouterr().out
    assert "| numpy | seq2seq GRU x2 | plain | 1 | 4.00 | 250.0 | 250-250 |" in table
    assert "dropout 0.2" in (out / "bench-seq2seq.md").read_text()
    assert (out / "bench-seq2seq.png").read_bytes()[:4] == b"\x89PNG"
