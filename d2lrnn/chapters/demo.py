"""The section's worked examples, for any backend: what ``d2lrnn demo`` prints."""
import numpy as np

from ..base.vocab import Vocab


def machine_example(d2l, num_hiddens=16, steps=60, lr=1.0, dtype="float32", seed=0):
    """The character-level picture of the section: read "machin", predict "achine".

    Builds the vocabulary of "machine", measures the untrained model's perplexity (close
    to the vocabulary size: it knows nothing yet), takes ``steps`` plain gradient steps on
    this one sequence and reads back the greedy predictions. Returns a dict (with the
    trained ``model``).
    """
    vocab = Vocab(list("machine"))
    X = np.array([vocab[list("machin")]])
    Y = np.array([vocab[list("achine")]])
    V = len(vocab)
    model = d2l.RNNLMScratch(d2l.RNNScratch(V, num_hiddens, dtype=dtype, seed=seed), V,
                             seed=seed + 1)
    before = model.perplexity(X, Y)
    for _ in range(steps):
        _, grads = d2l.loss_and_grads(model, X, Y)
        model.set_params({k: v - lr * grads[k] for k, v in model.get_params().items()})
    logits = d2l.ops.to_numpy(model(X))
    return {"vocab": vocab.idx_to_token, "model_vocab": vocab, "inputs": "machin",
            "targets": "achine",
            "logits_shape": logits.shape, "perplexity_before": before,
            "perplexity_after": model.perplexity(X, Y),
            "predicted": "".join(vocab.to_tokens(logits[0].argmax(-1))), "model": model}


def section_tour(d2l, dtype="float32", seed=0):
    """Every computation of the section once, with the book's shapes; returns printable lines."""
    rng = np.random.default_rng(seed)
    lines = [f"backend: {d2l.ops.name} ({dtype})"]
    mlp = d2l.MLP(num_inputs=5, num_hiddens=4, num_outputs=3, dtype=dtype, seed=seed)
    H, O = mlp(rng.normal(size=(2, 5)))
    lines.append(f"MLP, no hidden state: X (2, 5) -> H {d2l.ops.shape(H)} -> O {d2l.ops.shape(O)}")
    rnn = d2l.RNNScratch(num_inputs=5, num_hiddens=4, dtype=dtype, seed=seed)
    outputs, state = rnn(rng.normal(size=(3, 2, 5)))
    lines.append(f"RNN with hidden state: inputs (T=3, n=2, d=5) -> {len(outputs)} states of "
                 f"shape {d2l.ops.shape(outputs[0])}, final state {d2l.ops.shape(state)}")
    cat = d2l.concat_demo(dtype=dtype, seed=seed)
    lines.append(f"X W_xh + H W_hh vs cat(X, H) @ cat(W_xh, W_hh): shape "
                 f"{d2l.ops.shape(cat['separate'])}, largest difference "
                 f"{cat['max_difference']:.1e}")
    ex = machine_example(d2l, dtype=dtype, seed=seed)
    lines.append(f"language model on 'machine' (vocabulary {ex['vocab']}): logits "
                 f"{ex['logits_shape']}; perplexity {ex['perplexity_before']:.2f} untrained, "
                 f"{ex['perplexity_after']:.2f} after training on 'machin' -> 'achine'; "
                 f"it now predicts {ex['predicted']!r}")
    return lines
