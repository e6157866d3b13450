"""Figures, drawn apart from training: they read a finished (or growing) history."""
import io

from ._files import atomic_write


def perplexity_figure(history, title=None):
    """Train and validation perplexity per epoch, as a matplotlib Figure (no pyplot state)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5, 3.5), layout="constrained")
    ax = fig.add_subplot()
    ax.plot(history["epoch"], history["train_ppl"], label="train")
    ax.plot(history["epoch"], history["val_ppl"], label="validation", linestyle="--")
    ax.set_xlabel("epoch")
    ax.set_ylabel("perplexity")
    ax.grid(alpha=0.3)
    ax.legend()
    if title:
        ax.set_title(title)
    return fig


def save_figure(fig, path):
    """Save a figure as PNG, atomically."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=120)
    atomic_write(path, buffer.getvalue())
