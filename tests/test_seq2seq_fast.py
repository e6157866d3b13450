"""The encoder-decoder's speed (10.7): what its training step no longer computes, and that
the faster way gives the same numbers. Written in our own words; the data is the synthetic
copy task of test_seq2seq_models.py."""
import numpy as np
import pytest
from test_book_idioms import restore_class  # noqa: F401 - the fixture
from test_seq2seq_models import BATCH, LAYERS, PAD, STEPS, TGT_VOCAB, as_numpy, package_model


def test_the_masked_loss_makes_no_one_hot_labels(d2l, monkeypatch):
    """The mask compares the labels to ``<pad>``; the labels' one-hot vectors (batch * steps
    * vocabulary numbers) were made and thrown away. The loss stays what it was."""
    model = package_model(d2l)
    ops = d2l.ops

    def refused(*args, **kwargs):
        raise AssertionError("the masked loss built one-hot labels")

    monkeypatch.setattr(type(ops), "one_hot", refused)
    rng = np.random.default_rng(2)
    logits = rng.normal(size=(BATCH, STEPS, TGT_VOCAB))
    label = rng.integers(3, TGT_VOCAB, (BATCH, STEPS))
    label[:, 6:] = PAD
    label[0, 2:] = PAD
    loss = float(as_numpy(d2l, model.loss(ops.asarray(logits, "float32"), label)))
    shifted = logits - logits.max(-1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    picked = np.take_along_axis(log_p, label[..., None], -1)[..., 0]
    kept = label != PAD
    assert loss == pytest.approx(-picked[kept].mean(), abs=1e-5)


def float64_model(d2l, dropout):
    from test_seq2seq_models import EMBED, HIDDENS, LAYERS, SRC_VOCAB

    encoder = d2l.Seq2SeqEncoder(SRC_VOCAB, EMBED, HIDDENS, LAYERS, dropout, dtype="float64",
                                 seed=3)
    decoder = d2l.Seq2SeqDecoder(TGT_VOCAB, EMBED, HIDDENS, LAYERS, dropout, dtype="float64",
                                 seed=4)
    return d2l.Seq2Seq(encoder, decoder, tgt_pad=PAD, lr=0.01)


@pytest.mark.backends("torch", reason="the fast path's recurrence is PyTorch's "
                                      "(Ops.gru_from_gates)")
@pytest.mark.parametrize("dropout", [0, 0.3])
@pytest.mark.parametrize("parts", [1, 2])
def test_the_fast_path_computes_the_plain_paths_numbers(d2l, monkeypatch, dropout, parts):
    """The fast path (the first layer's products on the vocabulary, the context's once, the
    recurrence's backward by hand, its batch in ``parts`` forked) against the plain one
    (torch.nn.GRU through autograd): the logits, the loss and every gradient, float64; with
    dropout, the same masks drawn from the same seed."""
    import torch
    from test_seq2seq_models import copy_task

    from d2lrnn.book import seq2seq_fast
    from d2lrnn.torch import fused

    monkeypatch.setattr(fused, "parts", lambda: parts)
    forked = []
    for name in ("_gru_gates_forward_split", "_gru_gates_backward_split"):
        kernel = getattr(fused, name)
        monkeypatch.setattr(fused, name, lambda *args, kernel=kernel, name=name: (
            forked.append(name), kernel(*args))[1])

    model = float64_model(d2l, dropout)
    model.train()
    assert seq2seq_fast.applies(model.encoder) and seq2seq_fast.applies(model.decoder)
    src, tgt_in, valid, label = (torch.as_tensor(a[:BATCH]) for a in copy_task())

    def run(fast):
        monkeypatch.setattr(seq2seq_fast, "ENABLED", fast)
        for value in model.book_params.values():
            value.grad = None
        torch.manual_seed(5)
        logits = model(src, tgt_in, valid)
        loss = model.loss(logits, label)
        loss.backward()
        return logits.detach(), float(loss.detach()), {name: value.grad.clone() for name, value
                                              in model.book_params.items()}

    (plain_logits, plain_loss, plain_grads), (logits, loss, grads) = run(False), run(True)
    assert torch.allclose(logits, plain_logits, rtol=0, atol=1e-12)
    assert abs(loss - plain_loss) < 1e-12
    assert plain_grads.keys() == grads.keys()
    for name, grad in grads.items():
        assert torch.allclose(grad, plain_grads[name], rtol=0, atol=1e-12), name
    # the encoder's and the decoder's recurrence, forward and back, in parts where asked
    assert len(forked) == (0 if parts == 1 else 4 * LAYERS)


@pytest.mark.backends("torch", reason="the fast path is PyTorch's")
def test_a_gru_forward_added_to_class_is_run_not_skipped(d2l, restore_class):
    """A reader who replaces the GRU's ``forward`` with ``add_to_class`` gets it called by
    the package's encoder and decoder: the fast path, which would not call it, steps aside."""
    from test_seq2seq_models import copy_task

    GRU = restore_class(d2l.GRU)
    original, calls = GRU.forward, []

    @d2l.add_to_class(GRU)
    def forward(self, inputs, H=None, training=None):
        calls.append(inputs.shape)
        return original(self, inputs, H, training)

    model = float64_model(d2l, 0)
    src, tgt_in, valid, _ = copy_task()
    model(*(d2l.tensor(a[:BATCH]) for a in (src, tgt_in, valid)))
    assert len(calls) == 2  # the encoder's GRU and the decoder's
