"""Bad input gets a message naming what was expected, in every backend."""
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


def test_the_command_line_prints_user_errors_and_shows_bugs(monkeypatch, capsys):
    """A mistake the user can fix is one line and exit 2; a bug of ours is not dressed up as
    one: its traceback shows (and with D2LRNN_DEBUG=1, a user error's too)."""
    from d2lrnn.base.errors import BadArgument
    from d2lrnn.tools import cli

    def mistake(args):
        raise BadArgument("--lr must be a finite number > 0, got -1")

    def bug(args):
        raise TypeError("'NoneType' object is not subscriptable")

    parser = cli.build_parser

    def with_command(run):
        def build():
            built = parser()
            built._subparsers._group_actions[0].choices["demo"].set_defaults(run=run)
            return built
        return build

    monkeypatch.setattr(cli, "build_parser", with_command(mistake))
    assert cli.main(["demo"]) == 2
    assert capsys.readouterr().err == "d2lrnn: --lr must be a finite number > 0, got -1\n"
    monkeypatch.setenv("D2LRNN_DEBUG", "1")
    with pytest.raises(BadArgument):
        cli.main(["demo"])
    monkeypatch.setattr(cli, "build_parser", with_command(bug))
    with pytest.raises(TypeError, match="not subscriptable"):
        cli.main(["demo"])
