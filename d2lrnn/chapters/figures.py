"""The section's figures, drawn with matplotlib from live models (no pyplot state)."""
import numpy as np


def _figure(figsize):
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, layout="constrained")


def unrolled_rnn(rnn, inputs, state=None):
    """The RNN over three time steps, as the book's rnn.svg, with the model's own numbers.

    Each column is a time step: the input X_t (bottom), the hidden state H_t (middle) drawn
    as a strip of its values for the first example, the arrows of (9.4.5) between them.
    """
    ops = rnn.ops
    outputs, _ = rnn(inputs, state)
    X = (ops.to_numpy(inputs) if ops.is_tensor(inputs) else np.asarray(inputs))[:3, 0]
    H = np.stack([ops.to_numpy(H_t)[0] for H_t in outputs[:3]])
    fig = _figure((7, 3.2))
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.set_xlim(-0.6, 3.4)
    ax.set_ylim(-0.4, 2.6)
    vmax = max(np.abs(H).max(), np.abs(X).max(), 1e-12)
    for t in range(len(H)):
        x0 = t * 1.2
        ax.imshow(X[t][None], extent=(x0, x0 + 0.8, 0.0, 0.3), cmap="RdBu", vmin=-vmax,
                  vmax=vmax, aspect="auto")
        ax.imshow(H[t][None], extent=(x0, x0 + 0.8, 1.2, 1.5), cmap="RdBu", vmin=-vmax,
                  vmax=vmax, aspect="auto")
        ax.text(x0 + 0.4, -0.2, f"$X_{t + 1}$", ha="center")
        ax.text(x0 + 0.4, 1.65, f"$H_{t + 1} = \\tanh(X_{t + 1} W_{{xh}} + H_{t} W_{{hh}} "
                f"+ b_h)$", ha="center", fontsize=7)
        ax.annotate("", (x0 + 0.4, 1.2), (x0 + 0.4, 0.3), arrowprops={"arrowstyle": "->"})
        if t:
            ax.annotate("", (x0, 1.35), (x0 - 0.4, 1.35), arrowprops={"arrowstyle": "->"})
    ax.annotate("", (0, 1.35), (-0.5, 1.35), arrowprops={"arrowstyle": "->"})
    ax.text(-0.5, 1.05, "$H_0$", fontsize=8)
    ax.set_title(f"an RNN over three time steps ({ops.name}); colours: values of the "
                 f"first example", fontsize=9)
    return fig


def lm_training_picture(lm, vocab, inputs, targets):
    """The book's rnn-train.svg from a live model: at every step, the predicted distribution
    over the vocabulary given the characters so far, the target marked."""
    ids = np.array([vocab[list(inputs)]])
    logits = lm.ops.to_numpy(lm(ids))[0]
    probs = np.exp(logits - logits.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    fig = _figure((1.6 * len(inputs), 2.8))
    axes = fig.subplots(1, len(inputs), sharey=True)
    for t, ax in enumerate(np.atleast_1d(axes)):
        target = vocab[targets[t]]
        colors = ["C3" if i == target else "C0" for i in range(len(vocab))]
        ax.bar(range(len(vocab)), probs[t], color=colors)
        ax.set_xticks(range(len(vocab)), vocab.idx_to_token, fontsize=6, rotation=90)
        ax.set_title(f"read '{inputs[:t + 1]}'\nnext: '{targets[t]}' "
                     f"(p={probs[t, target]:.2f})", fontsize=8)
    return fig


def gradient_norm_figure(norms, lengths):
    """‖∂Σ H_T / ∂H_0‖ against T, one line per spectral radius of W_hh (log scale)."""
    fig = _figure((5, 3.5))
    ax = fig.add_subplot()
    for radius, values in norms.items():
        ax.plot(lengths, values, marker="o", label=f"ρ(W_hh) = {radius}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("sequence length T")
    ax.set_ylabel("‖∂ΣH_T / ∂H_0‖")
    ax.legend(fontsize=7)
    return fig


def curve_figure(x, ys, xlabel, ylabel, title=None):
    """A small line plot: ``ys`` maps labels to values over ``x``."""
    fig = _figure((5, 3.2))
    ax = fig.add_subplot()
    for label, y in ys.items():
        ax.plot(x, y, marker="o", label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=9)
    if len(ys) > 1:
        ax.legend(fontsize=7)
    return fig


def gates_figure(gates, text, units=12):
    """Each gate's values over the characters of ``text`` (columns) for the first
    ``units`` hidden units (rows), one panel per gate; 0 is closed, 1 open."""
    fig = _figure((7, 1.2 + 1.3 * len(gates)))
    axes = fig.subplots(len(gates), 1, squeeze=False)[:, 0]
    for ax, (name, values) in zip(axes, gates.items()):
        image = ax.imshow(values[:, :units].T, aspect="auto", cmap="viridis", vmin=0, vmax=1)
        ax.set_ylabel(name, fontsize=8)
        ax.set_xticks(range(len(text)), list(text), fontsize=7)
        ax.set_yticks([])
    fig.colorbar(image, ax=list(axes), shrink=0.8)
    return fig


def context_figure(contexts, sentences, units=32):
    """The encoder's context of each sentence (rows: ``contexts``, one per sentence, over
    its first ``units`` hidden units) beside the cosine similarity of every two contexts."""
    fig = _figure((8, 0.9 + 0.45 * len(sentences)))
    left, right = fig.subplots(1, 2, width_ratios=(3, 1))
    image = left.imshow(contexts[:, :units], aspect="auto", cmap="RdBu_r", vmin=-1, vmax=1)
    left.set_yticks(range(len(sentences)), sentences, fontsize=7)
    left.set_xlabel(f"hidden unit (the first {min(units, contexts.shape[1])})", fontsize=8)
    fig.colorbar(image, ax=left, shrink=0.8)
    unit = contexts / np.maximum(np.linalg.norm(contexts, axis=1, keepdims=True), 1e-12)
    right.imshow(unit @ unit.T, cmap="viridis", vmin=-1, vmax=1)
    right.set_xticks(range(len(sentences)), range(1, len(sentences) + 1), fontsize=7)
    right.set_yticks(range(len(sentences)), range(1, len(sentences) + 1), fontsize=7)
    right.set_title("cosine similarity", fontsize=8)
    return fig
