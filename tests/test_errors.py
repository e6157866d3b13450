"""Bad input gets a message naming what was expected, in every backend."""
import os
import subprocess
import sys

import numpy as np
import pytest

from d2lrnn.base.backend import check_float_dtype


def test_rnn_input_shape(d2l):
    rnn = d2l.RNNScratch(4, 3)
    with pytest.raises(ValueError, match=r"\(num_steps, batch_size, num_inputs=4\), "
                                         r"got \(2, 3, 5\)"):
        rnn(np.zeros((2, 3, 5)))
    with pytest.raises(ValueError, match=r"got \(3, 4\)"):
        rnn(np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"state.*\(batch_size=3, num_hiddens=3\), got \(2, 3\)"):
        rnn(np.zeros((2, 3, 4)), np.zeros((2, 3)))


def test_framework_array_of_the_wrong_dtype(d2l):
    rnn = d2l.RNNScratch(4, 3, dtype="float32")
    inputs = d2l.ops.asarray(np.zeros((2, 3, 4)), "float64")
    if d2l.ops.is_tensor(np.zeros(1)):  # NumPy's own arrays are converted: the documented rule
        assert d2l.ops.dtype_name(rnn(inputs)[1]) == "float32"
        return
    with pytest.raises(TypeError, match="expected float32 values, got float64"):
        rnn(inputs)


def test_token_ids(d2l):
    lm = d2l.RNNLMScratch(d2l.RNNScratch(7, 3), 7)
    with pytest.raises(ValueError, match=r"\[0, 7\).*from 0 to 9"):
        lm(np.array([[0, 9]]))
    with pytest.raises(ValueError, match=r"from -1 to 2"):
        lm(np.array([[-1, 2]]))
    with pytest.raises(TypeError, match="integers"):
        lm(np.array([[0.0, 1.0]]))
    with pytest.raises(ValueError, match=r"\(batch_size, num_steps\), got \(2,\)"):
        lm(np.array([0, 1]))
    with pytest.raises(ValueError, match="same shape"):
        d2l.loss_and_grads(lm, np.zeros((2, 3), int), np.zeros((2, 4), int))


def test_model_construction(d2l):
    with pytest.raises(ValueError, match="num_inputs .5. must equal vocab_size .7."):
        d2l.RNNLMScratch(d2l.RNNScratch(5, 3), 7)
    with pytest.raises(TypeError, match="rnn must be a model of the .* backend"):
        d2l.RNNLMScratch("not an rnn", 7)
    with pytest.raises(ValueError, match="phi must be one of"):
        d2l.MLP(3, 4, 5, phi="softplus")
    with pytest.raises(ValueError, match="dtype must be one of"):
        d2l.RNNScratch(3, 4, dtype="float16")


def test_set_params_checks_names_and_shapes(d2l):
    lm = d2l.RNNLMScratch(d2l.RNNScratch(5, 3), 5)
    params = lm.get_params()
    before = lm.get_params()
    with pytest.raises(KeyError, match=r"missing \['b_q'\], unexpected \['W_hy'\]"):
        lm.set_params({**{k: v for k, v in params.items() if k != "b_q"}, "W_hy": 0})
    with pytest.raises(ValueError, match=r"W_hh must have shape \(3, 3\), got \(3, 4\)"):
        lm.set_params({**params, "W_hh": np.zeros((3, 4))})
    after = lm.get_params()  # a refused load changes nothing
    assert all(np.array_equal(before[k], after[k]) for k in before)


def test_check_float_dtype():
    assert check_float_dtype(np.float64) == "float64"
    assert check_float_dtype("float32") == "float32"
    with pytest.raises(ValueError):
        check_float_dtype("int32")


def with_command(monkeypatch, run):
    """The command line with ``demo`` running ``run(args)`` instead."""
    from d2lrnn.tools import cli

    parser = cli.build_parser

    def build():
        built = parser()
        built._subparsers._group_actions[0].choices["demo"].set_defaults(run=run)
        return built
    monkeypatch.setattr(cli, "build_parser", build)
    return cli


def test_the_command_line_prints_user_errors_and_shows_bugs(monkeypatch, capsys):
    """A mistake the user can fix is one line and exit 2; with D2LRNN_DEBUG=1 its traceback
    shows, and with D2LRNN_DEBUG=bugs (what the tests set) only a bug's."""
    from d2lrnn.base.errors import BadArgument

    def mistake(args):
        raise BadArgument("--lr must be a finite number > 0, got -1")

    def bug(args):
        raise TypeError("'NoneType' object is not subscriptable")

    cli = with_command(monkeypatch, mistake)
    for debug in ("", "0", "bugs"):
        monkeypatch.setenv("D2LRNN_DEBUG", debug)
        assert cli.main(["demo"]) == 2
        assert capsys.readouterr().err == "d2lrnn: --lr must be a finite number > 0, got -1\n"
    monkeypatch.setenv("D2LRNN_DEBUG", "1")
    with pytest.raises(BadArgument):
        cli.main(["demo"])
    cli = with_command(monkeypatch, bug)
    for debug in ("1", "bugs"):
        monkeypatch.setenv("D2LRNN_DEBUG", debug)
        with pytest.raises(TypeError, match="not subscriptable"):
            cli.main(["demo"])


def test_a_bug_is_one_line_that_says_where_its_traceback_is(monkeypatch, capsys, tmp_path):
    """Without D2LRNN_DEBUG, what is not a user error is a bug of ours: one line, exit 1,
    naming it a bug and the file that holds its traceback (for a bug report)."""
    def bug(args):
        raise RuntimeError("a kernel's\nmessage \x1b[2J over lines")

    cli = with_command(monkeypatch, bug)
    monkeypatch.delenv("D2LRNN_DEBUG")
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)  # read TMPDIR again
    assert cli.main(["demo", "--seed", "3"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("d2lrnn: internal error: RuntimeError: ")
    assert "\x1b" not in err and "bug in d2lrnn" in err and "D2LRNN_DEBUG=1" in err
    [written] = tmp_path.glob("d2lrnn-bug-*.txt")
    assert str(written) in err
    text = written.read_text()
    assert "d2lrnn demo --seed 3" in text and "Traceback" in text and "in bug" in text
    for stop in (KeyboardInterrupt, SystemExit):  # the last resort leaves these alone
        def interrupted(args):
            raise stop(3)

        cli = with_command(monkeypatch, interrupted)
        if stop is SystemExit:
            with pytest.raises(SystemExit):
                cli.main(["demo"])
        else:
            assert cli.main(["demo"]) == 130
        assert "internal error" not in capsys.readouterr().err


def test_an_ascii_terminal_gets_a_non_ascii_path_escaped(tmp_path):
    """LC_ALL=C: the run's folder has an accent, the terminal takes ASCII only; the path is
    printed with an escape instead of failing once the run is done."""
    from _corpora import synthetic_corpus

    out = tmp_path / "r\u00fcn"
    env = {**os.environ, "LC_ALL": "C", "PYTHONIOENCODING": "ascii"}
    result = subprocess.run(
        [sys.executable, "-m", "d2lrnn", "train", "--corpus", str(synthetic_corpus(tmp_path)),
         "--out", str(out), "--epochs", "1", "--batch-size", "16", "--num-steps", "8",
         "--hiddens", "8", "--num-train", "60", "--num-val", "20", "--quiet"],
        capture_output=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    assert b"r\\xfcn" in result.stdout and (out / "checkpoint.safetensors").exists()


def test_a_framework_whose_import_breaks_is_one_clear_line(tmp_path, monkeypatch):
    """An installed framework whose import raises something other than ImportError (a
    mismatched protobuf under TensorFlow, say) is a MissingFramework naming it, what it
    raised, and how to reinstall."""
    from d2lrnn.base.backend import import_framework
    from d2lrnn.base.errors import MissingFramework

    (tmp_path / "brokenframework").mkdir()
    (tmp_path / "brokenframework" / "__init__.py").write_text(
        "raise TypeError('Descriptors cannot be created directly')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(MissingFramework, match=r"brokenframework is installed but its import "
                       r"failed with TypeError: Descriptors cannot.*pip install "
                       r"--force-reinstall \S*\[tensorflow\]"):
        import_framework("brokenframework", "tensorflow")


def test_numba_threads_below_one_name_the_variable(monkeypatch):
    from d2lrnn.base.backend import import_framework
    from d2lrnn.base.errors import BadArgument

    monkeypatch.setenv("NUMBA_NUM_THREADS", "0")
    with pytest.raises(BadArgument, match=r"NUMBA_NUM_THREADS=0: numba needs a whole number "
                                          r"of threads >= 1 \(e\.g\. NUMBA_NUM_THREADS=\d+"):
        import_framework("numba", "numba")


def test_the_python_api_names_a_near_miss():
    import d2lrnn
    from d2lrnn.training.settings import Settings

    with pytest.raises(ValueError, match=r"unknown backend 'pytorch' \(did you mean 'torch'\?\)"):
        d2lrnn.load_backend("pytorch")
    with pytest.raises(ValueError, match=r"got 'Jax' \(did you mean 'jax'\?\)"):
        Settings(backend="Jax")
    with pytest.raises(ValueError, match=r"got 'float23' \(did you mean 'float32'\?\)"):
        check_float_dtype("float23")
    with pytest.raises(ValueError, match=r"got 'caffe'$"):  # nothing near: no guess
        Settings(backend="caffe")
