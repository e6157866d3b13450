"""The encoder-decoder's training step compiled whole in JAX (jax.jit) and TensorFlow
(tf.function): the book's ``trainer.fit(model, data)`` with the package's Seq2Seq takes it,
it computes what the eager step computes, and a reader's replacement of what the step runs
(``add_to_class``, a subclass) sends the step back to the eager path, where it takes effect.
The 50 Adam steps of tests/test_seq2seq_parity.py go through the compiled step too."""
import numpy as np
import pytest
from test_seq2seq_parity import adam_batches, start_params

from d2lrnn.base.errors import UserError
from d2lrnn.tools import parity

pytestmark = pytest.mark.backends("jax", "tensorflow",
                                  reason="the frameworks whose Trainer compiles the step")

CLIP, LR = 1.0, 0.005


def fit(d2l, trainer_class, batches, model=None):
    """``model`` (the rows' Seq2Seq in float64 at the parity test's start, dropout 0, where
    None) after one epoch over ``batches`` with ``trainer_class``: (its parameters, each
    step's loss, the model)."""
    if model is None:
        model = parity.seq2seq_model(d2l, "float64", lr=LR)
        model.set_params(start_params())
    model.board.display = False
    losses = []

    class Batches(d2l.DataModule):
        def get_dataloader(self, train):
            return batches if train else None

    class Recording(trainer_class):
        def check_step(self, loss):
            value = loss[0] if isinstance(loss, (tuple, list)) else loss
            losses.append(float(d2l.ops.to_numpy(value)))
            super().check_step(loss)

    trainer = Recording(max_epochs=1, gradient_clip_val=CLIP)
    trainer.fit(model, Batches())
    return model.get_params(), np.array(losses), trainer


def eager_trainer(d2l):
    class Eager(d2l.Trainer):
        def model_compiles_step(self):
            return False
    return Eager


def compiled_steps(d2l, trainer):
    """How many times the trainer's compiled step was traced (once per clipping and batch
    shape; 0: the eager step ran)."""
    if d2l.ops.name == "jax":
        return sum(fn._cache_size() for key, fn in trainer.model.__dict__.get(
            "_compiled_fns", {}).items() if isinstance(key, tuple) and key[0] == "train_step")
    return sum(fn.experimental_get_tracing_count()
               for fn in trainer.__dict__.get("compiled_steps", {}).values())


def test_the_books_fit_takes_the_compiled_step(d2l):
    _, _, trainer = fit(d2l, d2l.Trainer, adam_batches(steps=2))
    assert trainer.model_compiles_step()
    assert compiled_steps(d2l, trainer) == 1


@pytest.mark.parametrize("steps", [1, 3])
def test_a_compiled_step_is_the_eager_step(d2l, steps):
    """float64, no dropout: the parameters after the steps (clipped: the first gradients'
    norm exceeds the clip) and each step's loss, within the float64 bound."""
    batches = adam_batches(steps=steps)
    compiled, compiled_losses, trainer = fit(d2l, d2l.Trainer, batches)
    eager, eager_losses, eager_run = fit(d2l, eager_trainer(d2l), batches)
    assert compiled_steps(d2l, trainer) == 1 and compiled_steps(d2l, eager_run) == 0
    bound = parity.TOLERANCE["float64"]
    assert parity.rel_diff(compiled_losses, eager_losses) <= bound
    diffs = {name: parity.rel_diff(compiled[name], eager[name]) for name in eager}
    assert max(diffs.values()) <= bound, diffs
    moved = max(np.max(np.abs(eager[name] - start)) for name, start in start_params().items())
    assert moved > 1e-3  # the steps did move the parameters


def test_a_shorter_last_batch_compiles_once_more(d2l):
    full, = adam_batches(steps=1)
    short = tuple(a[:2] for a in full)  # of the 3 rows
    compiled, losses, trainer = fit(d2l, d2l.Trainer, [full, short, full])
    eager, eager_losses, _ = fit(d2l, eager_trainer(d2l), [full, short, full])
    assert compiled_steps(d2l, trainer) == 2
    assert parity.rel_diff(losses, eager_losses) <= parity.TOLERANCE["float64"]


def test_a_readers_add_to_class_loss_runs_eagerly_and_takes_effect(d2l):
    """The book's idiom: a method added to d2l.Seq2Seq replaces the package's. Here the loss
    doubled: the first step's loss is twice the package's."""
    package_loss = d2l.Seq2Seq.loss
    _, plain, _ = fit(d2l, d2l.Trainer, adam_batches(steps=1))

    @d2l.add_to_class(d2l.Seq2Seq)
    def loss(self, *args, **kwargs):
        value = package_loss(self, *args, **kwargs)
        if isinstance(value, tuple):  # JAX's form: (loss, state)
            return 2 * value[0], value[1]
        return 2 * value

    try:
        _, doubled, trainer = fit(d2l, d2l.Trainer, adam_batches(steps=1))
        assert not trainer.model_compiles_step()
    finally:
        d2l.Seq2Seq.loss = package_loss
    assert compiled_steps(d2l, trainer) == 0 and trainer.model_compiles_step()
    np.testing.assert_allclose(doubled, 2 * plain, rtol=1e-12)


def test_a_readers_subclass_training_step_runs_eagerly(d2l):
    calls = []

    class Counting(d2l.Seq2Seq):
        def training_step(self, *args):
            calls.append(1)
            return super().training_step(*args)

    size = parity.SEQ2SEQ_SIZES
    coders = [kind(vocab, size.embed_size, size.num_hiddens, size.num_layers, 0,
                   dtype="float64")
              for kind, vocab in ((d2l.Seq2SeqEncoder, size.src_vocab_size),
                                  (d2l.Seq2SeqDecoder, size.tgt_vocab_size))]
    model = Counting(*coders, tgt_pad=parity.SEQ2SEQ_PAD, lr=LR)
    _, losses, trainer = fit(d2l, d2l.Trainer, adam_batches(steps=3), model)
    assert len(calls) == 3 and len(losses) == 3
    assert compiled_steps(d2l, trainer) == 0


def test_a_token_out_of_range_is_one_clear_line(d2l):
    """A compiled lookup cannot read its ids (XLA's gather clamps them to the table): they
    are checked before each step (the first batch here is good: JAX's init reads it)."""
    good = adam_batches(steps=1)[0]
    src, tgt, src_valid_len, label = good
    tgt = tgt.copy()
    tgt[0, 1] = parity.SEQ2SEQ_SIZES.tgt_vocab_size
    with pytest.raises(UserError, match=r"^Seq2Seq target: token ids must lie in \[0, 8\)"):
        fit(d2l, d2l.Trainer, [good, (src, tgt, src_valid_len, label)])


def test_bench_reports_the_compiled_step(backend):
    """``d2lrnn bench --seq2seq`` says which path it timed (10.7's model made small)."""
    from d2lrnn.tools import bench

    tiny = {**bench.SEQ2SEQ, "vocab_size": 12, "embed_size": 8, "num_hiddens": 8,
            "batch_size": 16, "pairs": 32}
    record = bench.seq2seq_record(backend, 2, 0, settings=tiny)
    assert "error" not in record, record
    assert record["path"] == "compiled" and len(record["epoch_seconds"]) == 2
