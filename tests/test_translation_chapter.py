"""The translation chapter's helpers (d2lrnn/chapters/translation.py): where the book's pairs
cannot be had, the stand-in corpus, and the reason said; NumPy's Seq2Seq trained by the
reference's backward with the package's Adam, as a framework's Trainer would."""
import numpy as np
from _corpora import parallel_pairs

from d2lrnn.chapters import translation
from d2lrnn.maths import seq2seq
from d2lrnn.training.adam import Adam


def test_a_foreign_archive_is_left_and_named_and_the_stand_in_used(tmp_path, monkeypatch,
                                                                    capsys):
    from d2lrnn import numpy as d2l

    monkeypatch.setenv("D2LRNN_DATA", str(tmp_path / "empty"))
    root = tmp_path / "data"
    root.mkdir()
    foreign = root / "fra-eng.zip"
    foreign.write_bytes(b"not the book's archive")
    data, text, corpus = translation.translation_data(d2l, batch_size=32, root=str(root))
    printed = capsys.readouterr().out
    assert corpus == "the stand-in" and text == parallel_pairs()
    assert "not 94646ad1522d915e7b0f9296181140edcf86a4f5" in printed  # why, in its words
    assert foreign.read_bytes() == b"not the book's archive"  # left as it was
    assert len(data.src_vocab) > 10 and data.num_steps == 9


def test_numpy_trains_by_the_references_gradients_and_adam(tmp_path):
    from d2lrnn import numpy as d2l

    corpus = tmp_path / "pairs.txt"
    corpus.write_text(parallel_pairs(), encoding="utf-8")
    # one batch an epoch: the shuffled order cannot matter
    data = d2l.MTFraEng(batch_size=64, num_train=64, num_val=16, corpus=corpus)
    encoder = d2l.Seq2SeqEncoder(len(data.src_vocab), 8, 8, 2, dtype="float64", seed=0)
    decoder = d2l.Seq2SeqDecoder(len(data.tgt_vocab), 8, 8, 2, dtype="float64", seed=1)
    model = d2l.Seq2Seq(encoder, decoder, tgt_pad=data.tgt_vocab["<pad>"], lr=0.01)
    start = model.get_params()
    board = translation.train_reference(d2l, model, data, max_epochs=3, gradient_clip_val=1)

    train = tuple(a[:64] for a in data.arrays)
    pad = data.tgt_vocab["<pad>"]
    expected, losses, _ = Adam(0.01, clip=1).run(
        d2l.ops, lambda p, b: seq2seq.loss_and_grads(d2l.ops, p, b, reset="after", pad=pad),
        start, [train] * 3)
    trained = model.get_params()
    for name, value in expected.items():
        np.testing.assert_allclose(trained[name], value, rtol=0, atol=1e-12, err_msg=name)
    np.testing.assert_allclose([p.y for p in board.data["train_loss"]], losses, atol=1e-12)
    assert [p.x for p in board.data["val_loss"]] == [1, 2, 3]
    assert board.data["val_loss"][-1].y < board.data["val_loss"][0].y
