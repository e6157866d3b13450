"""Figures, drawn apart from training: they read a finished (or growing) history."""
import io

from .files import atomic_write


def perplexity_figure(history, title=None):
    """Train and validation perplexity per epoch, as a matplotlib Figure (no pyplot state)."""
    return history_figure(history, "ppl", "perplexity", title)


def history_figure(history, measure, ylabel, title=None):
    """The history's ``train_<measure>`` and ``val_<measure>`` per epoch, as a matplotlib
    Figure (no pyplot state)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5, 3.5), layout="constrained")
    ax = fig.add_subplot()
    ax.plot(history["epoch"], history[f"train_{measure}"], label="train")
    ax.plot(history["epoch"], history[f"val_{measure}"], label="validation", linestyle="--")
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
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


# -- the book's plotting helpers (d2l.ai 2.4 and after: d2l.plot, d2l.set_figsize) -----------
#
# They draw on pyplot's current figure, as the book's do: in Jupyter the figure shows under the
# cell (as SVG, the book's format); in a script it is drawn silently and stays pyplot's current
# figure (``d2l.plt.savefig(...)`` or ``d2l.plt.show()`` as the reader chooses).


class _Pyplot:
    """``matplotlib.pyplot``, imported at first use (the book's ``d2l.plt``): importing a
    backend must not choose a plotting backend for programs that never plot."""

    def __getattr__(self, name):
        import matplotlib.pyplot

        return getattr(matplotlib.pyplot, name)

    def __repr__(self):
        return "<matplotlib.pyplot, imported at first use>"


plt = _Pyplot()


def use_svg_display():
    """Show Jupyter's figures as SVG, as the book does (nothing to do outside Jupyter)."""
    try:
        from matplotlib_inline import backend_inline
    except ImportError:  # no Jupyter here
        return
    backend_inline.set_matplotlib_formats("svg")


def set_figsize(figsize=(3.5, 2.5)):
    """The size of the figures drawn from now on, in inches."""
    use_svg_display()
    plt.rcParams["figure.figsize"] = figsize


def set_axes(axes, xlabel, ylabel, xlim, ylim, xscale, yscale, legend):
    """Labels, limits, scales, legend and grid of a matplotlib ``axes``."""
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_xscale(xscale)
    axes.set_yscale(yscale)
    axes.set_xlim(xlim)
    axes.set_ylim(ylim)
    if legend:
        axes.legend(legend)
    axes.grid()


def plot(X, Y=None, xlabel=None, ylabel=None, legend=(), xlim=None, ylim=None,
         xscale="linear", yscale="linear", fmts=("-", "m--", "g-.", "r:"), figsize=(3.5, 2.5),
         axes=None):
    """Draw curves as the book's ``d2l.plot``: ``Y`` against ``X``, or ``X`` against its
    index when ``Y`` is None; either may be one curve or a list of curves (each a list, a
    NumPy array or any framework's array, on any device), one ``fmts`` style each."""
    X = _curves(X)
    if Y is None:
        X, Y = [[]] * len(X), X
    else:
        Y = _curves(Y)
    if len(X) != len(Y):
        X = X * len(Y)
    set_figsize(figsize)
    if axes is None:
        axes = plt.gca()
    axes.cla()
    for x, y, fmt in zip(X, Y, fmts):
        if len(x):
            axes.plot(x, y, fmt)
        else:
            axes.plot(y, fmt)
    set_axes(axes, xlabel, ylabel, xlim, ylim, xscale, yscale, legend)


def _curves(data):
    """A list of curves, each a NumPy array or a list of numbers."""
    if _is_one_curve(data):
        return [_as_numpy(data)]
    return [_as_numpy(curve) for curve in data]


def _is_one_curve(data):
    if getattr(data, "ndim", None) is not None:
        return data.ndim == 1
    return isinstance(data, (list, tuple)) and (not data or not hasattr(data[0], "__len__"))


def _as_numpy(curve):
    """A framework's array as NumPy (from whichever device holds it); lists as they are."""
    import numpy as np

    if isinstance(curve, (list, tuple)):
        return curve
    if hasattr(curve, "asnumpy"):  # MXNet
        return curve.asnumpy()
    if hasattr(curve, "detach"):  # PyTorch (which may track gradients)
        return curve.detach().cpu().numpy()
    return np.asarray(curve)
