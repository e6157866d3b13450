"""The encoder-decoder's NumPy reference (d2lrnn.maths.seq2seq, d2l.ai 10.7): its hand-written
backward against central differences, its forward against a plain loop written here on its
own, the mask, float32 against float64, bad batches, and 50 steps of Adam that learn."""
import numpy as np
import pytest
from _parity import assert_gradients_match_central_differences

from d2lrnn.base.errors import BadArgument, BadKey, UserError
from d2lrnn.maths import seq2seq
from d2lrnn.numpy.ops import ops
from d2lrnn.tools.parity import TOLERANCE
from d2lrnn.training.adam import Adam

RESETS = ("before", "after")
PAD, BOS, EOS = 1, 2, 3  # as the book's vocabularies number them after <unk>
# Small sizes that still tell every axis apart: source and target vocabularies, embedding,
# hidden units, two layers (the book's), batch, source and target steps.
SIZES = {"src_vocab_size": 9, "tgt_vocab_size": 8, "embed_size": 3, "num_hiddens": 5,
         "num_layers": 2}
N, T_SRC, T_TGT = 3, 5, 4


def params_for(reset, seed=0, dtype="float64"):
    shapes = seq2seq.param_shapes(**SIZES, reset=reset)
    return seq2seq.draw_params(shapes, np.random.default_rng(seed), dtype)


def padded_ids(rng, n, steps, vocab, lengths):
    """Token ids >= 4 (no reserved token), each row <pad> after its length."""
    ids = rng.integers(4, vocab, (n, steps))
    ids[np.arange(steps)[None, :] >= np.asarray(lengths)[:, None]] = PAD
    return ids


def a_batch(seed=1):
    """(src, tgt_in, src_valid_len, label) as MTFraEng makes them: the label ends with <eos>
    and is padded after it; tgt_in is <bos> then the label shifted right."""
    rng = np.random.default_rng(seed)
    src_len = np.array([T_SRC, 2, 4])
    src = padded_ids(rng, N, T_SRC, SIZES["src_vocab_size"], src_len)
    tgt_len = np.array([T_TGT, 2, 3])
    label = padded_ids(rng, N, T_TGT, SIZES["tgt_vocab_size"], tgt_len)
    label[np.arange(N), tgt_len - 1] = EOS
    tgt_in = np.concatenate([np.full((N, 1), BOS), label[:, :-1]], 1)
    return src, tgt_in, src_len, label


# -- the forward, written here on its own: the equations of 10.2 and 10.7 as a plain loop -----


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def plain_gru_step(p, prefix, x, h, reset):
    def w(name):
        return p[prefix + name]
    r = sigmoid(x @ w("W_xr") + h @ w("W_hr") + w("b_r"))
    z = sigmoid(x @ w("W_xz") + h @ w("W_hz") + w("b_z"))
    if reset == "before":
        candidate = np.tanh(x @ w("W_xh") + (r * h) @ w("W_hh") + w("b_h"))
    else:
        candidate = np.tanh(x @ w("W_xh") + w("b_h") + r * (h @ w("W_hh") + w("b_hh")))
    return z * h + (1 - z) * candidate


def plain_logits_and_loss(p, batch, reset):
    src, tgt_in, _, label = batch
    layers = SIZES["num_layers"]
    hidden = [np.zeros((src.shape[0], SIZES["num_hiddens"]), p["decoder.dense.W"].dtype)
              for _ in range(layers)]
    for t in range(src.shape[1]):
        x = p["encoder.embedding"][src[:, t]]
        for i in range(layers):
            hidden[i] = x = plain_gru_step(p, f"encoder.rnn.rnns.{i}.", x, hidden[i], reset)
    context = hidden[-1]
    logits, total, count = [], 0.0, 0
    for t in range(tgt_in.shape[1]):
        x = np.concatenate([p["decoder.embedding"][tgt_in[:, t]], context], 1)
        for i in range(layers):
            hidden[i] = x = plain_gru_step(p, f"decoder.rnn.rnns.{i}.", x, hidden[i], reset)
        step_logits = x @ p["decoder.dense.W"] + p["decoder.dense.b"]
        logits.append(step_logits)
        for row in range(src.shape[0]):
            if label[row, t] != PAD:
                row_logits = step_logits[row].astype(np.float64)
                top = row_logits.max()
                log_sum = top + np.log(np.exp(row_logits - top).sum())
                total += log_sum - row_logits[label[row, t]]
                count += 1
    return np.stack(logits, 1), total / count


@pytest.mark.parametrize("reset", RESETS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_the_forward_is_the_plain_loop(reset, dtype):
    params, batch = params_for(reset, dtype=dtype), a_batch()
    plain_logits, plain_loss = plain_logits_and_loss(params, batch, reset)
    logits = seq2seq.forward(ops, params, batch[0], batch[1], reset=reset)
    assert logits.shape == (N, T_TGT, SIZES["tgt_vocab_size"]) and logits.dtype == dtype
    bound = TOLERANCE[dtype]
    assert np.abs(logits - plain_logits).max() <= bound * np.abs(plain_logits).max()
    loss = seq2seq.loss(ops, params, batch, reset=reset, pad=PAD)
    assert loss == pytest.approx(plain_loss, rel=bound)
    assert seq2seq.loss_and_grads(ops, params, batch, reset=reset, pad=PAD)[0] == \
        pytest.approx(plain_loss, rel=bound)


# -- the backward ------------------------------------------------------------------------


@pytest.mark.parametrize("reset", RESETS)
def test_the_backward_is_central_differences(reset):
    """Every entry of every parameter, float64, two layers, against the fourth-order stencil:
    within 1e-8 of each parameter's largest gradient (FOURTH_ORDER_DIFFERENCE_TOLERANCE; the
    stencil's own error, float64's rounding, is about 1e-9 of the smallest of them here, 8e-13
    absolute), where a wrong or missing term is off by far more."""
    params, batch = params_for(reset), a_batch()
    _, grads = seq2seq.loss_and_grads(ops, params, batch, reset=reset, pad=PAD)
    assert list(grads) == list(params)
    assert_gradients_match_central_differences(
        lambda: seq2seq.loss(ops, params, batch, reset=reset, pad=PAD), grads, params,
        f"seq2seq reset={reset}", order=4)


@pytest.mark.parametrize("reset", RESETS)
def test_float32_computes_what_float64_does(reset):
    params = params_for(reset, dtype="float32")
    wide = {name: value.astype(np.float64) for name, value in params.items()}
    batch = a_batch()
    loss32, grads32 = seq2seq.loss_and_grads(ops, params, batch, reset=reset, pad=PAD)
    loss64, grads64 = seq2seq.loss_and_grads(ops, wide, batch, reset=reset, pad=PAD)
    assert loss32.dtype == np.float32 and loss32 == pytest.approx(loss64, rel=TOLERANCE[
        "float32"])
    for name, grad in grads32.items():
        assert grad.dtype == np.float32, name
        worst = np.abs(grad - grads64[name]).max() / np.abs(grads64[name]).max()
        assert worst <= TOLERANCE["float32"], f"{name}: {worst:.1e}"


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_every_backend_computes_the_reference_as_numpy_does(d2l, dtype):
    """The reference is written over the adapter: in a backend's own arrays it gives NumPy's
    loss and gradients (what a backend's hand-written path may build on)."""
    params, batch = params_for("after", dtype=dtype), a_batch()
    loss, grads = seq2seq.loss_and_grads(ops, params, batch, reset="after", pad=PAD)
    theirs = {name: d2l.ops.asarray(value, dtype) for name, value in params.items()}
    their_batch = tuple(d2l.ops.asarray(ids, "int64") for ids in batch)
    their_loss, their_grads = seq2seq.loss_and_grads(d2l.ops, theirs, their_batch,
                                                     reset="after", pad=PAD)
    assert float(d2l.ops.to_numpy(their_loss)) == pytest.approx(loss, rel=TOLERANCE[dtype])
    for name, grad in grads.items():
        their = d2l.ops.to_numpy(their_grads[name])
        assert their.dtype == dtype
        worst = np.abs(their - grad).max() / np.abs(grad).max()
        assert worst <= TOLERANCE[dtype], f"{name}: {worst:.1e}"


# -- the mask ------------------------------------------------------------------------------


def test_logits_where_the_label_is_pad_change_nothing():
    rng = np.random.default_rng(2)
    label = a_batch()[3].T  # time-major, as masked_loss takes it
    logits = rng.normal(size=(*label.shape, SIZES["tgt_vocab_size"]))
    loss = seq2seq.masked_loss(ops, logits, label, PAD)[0]
    padded = label == PAD
    assert padded.any() and (~padded).any()
    changed = logits.copy()
    changed[padded] += rng.normal(scale=10, size=changed[padded].shape)
    assert seq2seq.masked_loss(ops, changed, label, PAD)[0] == loss
    changed[~padded] += 1.0 * (np.arange(SIZES["tgt_vocab_size"]) == 4)
    assert seq2seq.masked_loss(ops, changed, label, PAD)[0] != pytest.approx(loss)
    # and the loss is the mean over the real tokens only, not over every position
    log_p = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    picked = np.take_along_axis(log_p, label[..., None], -1)[..., 0]
    assert loss == pytest.approx(-picked[~padded].mean(), rel=1e-14)


def test_a_step_whose_labels_are_all_pad_changes_neither_loss_nor_gradient():
    """The last target step of a batch where every label ends earlier: its input token feeds
    only that step's output, which the mask drops, so changing it changes nothing."""
    params, (src, tgt_in, valid, label) = params_for("after"), a_batch()
    label, tgt_in = label.copy(), tgt_in.copy()
    label[:, -1] = PAD
    before = seq2seq.loss_and_grads(ops, params, (src, tgt_in, valid, label), reset="after",
                                    pad=PAD)
    tgt_in[:, -1] = 5
    after = seq2seq.loss_and_grads(ops, params, (src, tgt_in, valid, label), reset="after",
                                   pad=PAD)
    assert after[0] == before[0]
    for name in params:
        np.testing.assert_array_equal(after[1][name], before[1][name], err_msg=name)


# -- bad input: one line each --------------------------------------------------------------


def bad_batches():
    src, tgt_in, valid, label = a_batch()
    all_pad = np.full_like(label, PAD)
    return {
        "every label is <pad>": ((src, tgt_in, valid, all_pad), BadArgument, "every label"),
        "an id outside the vocabulary": ((src + 100, tgt_in, valid, label), BadArgument,
                                         "outside its vocabulary of 9"),
        "a negative id": ((src, tgt_in, valid, label - 10), BadArgument, "label holds"),
        "labels of another shape": ((src, tgt_in, valid, label[:, :2]), BadArgument,
                                    "one shape"),
        "floats for ids": ((src * 1.0, tgt_in, valid, label), BadArgument, "integers"),
        "three arrays": ((src, tgt_in, label), BadArgument, "(src, tgt_in, src_valid_len"),
    }


def test_a_pad_id_outside_the_vocabulary_gets_one_line():
    with pytest.raises(BadArgument, match="pad must be a whole number from 0 to 7, got 8"):
        seq2seq.loss(ops, params_for("after"), a_batch(), reset="after", pad=8)


@pytest.mark.parametrize("case", list(bad_batches()))
def test_a_bad_batch_gets_one_line(case):
    batch, error, words = bad_batches()[case]
    with pytest.raises(error, match=words.replace("(", r"\(")) as raised:
        seq2seq.loss_and_grads(ops, params_for("after"), batch, reset="after", pad=PAD)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("change, error, words", [
    (lambda p: p.pop("decoder.dense.b"), BadArgument, "'decoder.dense.b' is missing"),
    (lambda p: p.pop("encoder.embedding"), BadKey, "no 'encoder.embedding'"),
    (lambda p: p.update({"decoder.dense.W": p["decoder.dense.W"][:, :3]}), BadArgument,
     r"'decoder.dense.W' is \(5, 3\)"),
    (lambda p: p.update({"decoder.extra": p["decoder.dense.b"]}), BadArgument,
     "no parameter named 'decoder.extra'"),
])
def test_parameters_of_another_model_get_one_line(change, error, words):
    params = params_for("after")
    change(params)
    with pytest.raises(error, match=words):
        seq2seq.loss(ops, params, a_batch(), reset="after", pad=PAD)


def test_parameters_of_the_other_gru_are_named():
    with pytest.raises(BadArgument, match="'encoder.rnn.rnns.0.b_hh' is missing"):
        seq2seq.loss(ops, params_for("before"), a_batch(), reset="after", pad=PAD)
    with pytest.raises(UserError, match="reset must be one of"):
        seq2seq.loss(ops, params_for("after"), a_batch(), reset="later", pad=PAD)


# -- training ------------------------------------------------------------------------------


def copy_task(rng, n, steps, vocab):
    """A small translation task: the target is the source reversed, then <eos>."""
    lengths = rng.integers(2, steps, n)
    src = padded_ids(rng, n, steps, vocab, lengths)
    label = np.full((n, steps), PAD)
    for row, length in enumerate(lengths):
        label[row, :length] = src[row, :length][::-1]
        label[row, length] = EOS
    tgt_in = np.concatenate([np.full((n, 1), BOS), label[:, :-1]], 1)
    return src, tgt_in, lengths, label


@pytest.mark.parametrize("reset", RESETS)
def test_fifty_steps_of_adam_with_clipping_learn(reset):
    """The reference trained as the book trains Seq2Seq (Adam, lr 0.005) on minibatches of a
    task it can learn, the gradients clipped (to 0.25: here the book's 1 would clip none): the
    loss of the last five steps 0.3 below the first five's."""
    rng = np.random.default_rng(3)
    vocab = 10
    shapes = seq2seq.param_shapes(vocab, vocab, 8, 16, 2, reset=reset)
    params = seq2seq.draw_params(shapes, rng, scale=0.3)
    batches = [copy_task(rng, 16, 6, vocab) for _ in range(50)]
    _, losses, norms = Adam(lr=0.005, clip=0.25).run(
        ops, lambda p, batch: seq2seq.loss_and_grads(ops, p, batch, reset=reset, pad=PAD),
        params, batches)
    assert len(losses) == 50
    assert max(norms) > 0.25, "the clipping must have had something to clip"
    assert np.mean(losses[-5:]) < np.mean(losses[:5]) - 0.3, losses  # 2.2 -> 1.8 nats
