"""The encoder-decoder's speed (10.7): what its training step no longer computes, and that
the faster way gives the same numbers. Written in our own words; the data is the synthetic
copy task of test_seq2seq_models.py."""
import numpy as np
import pytest
from test_seq2seq_models import BATCH, PAD, STEPS, TGT_VOCAB, as_numpy, package_model


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
