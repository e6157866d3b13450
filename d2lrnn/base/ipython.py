"""Showing figures in Jupyter without pyplot, and only there.

Matplotlib registers how Jupyter displays its figures only when pyplot starts its inline
backend; the package draws without pyplot (no global state), so a bare ``Figure`` would show
as the text ``<Figure size ... with 1 Axes>``. :class:`FigureImage` gives Jupyter the image
itself."""
import io
import sys


def in_notebook():
    """Whether we run inside a Jupyter kernel (not a plain script or terminal IPython)."""
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    ip = shell.get_ipython()
    return ip is not None and "IPKernelApp" in getattr(ip, "config", {})


class FigureImage:
    """A matplotlib figure as Jupyter displays it: one image, SVG (the book's format) or
    PNG (smaller for dense figures)."""

    MIME = {"svg": "image/svg+xml", "png": "image/png"}

    def __init__(self, figure, format="svg"):
        if format not in self.MIME:
            raise ValueError(f"FigureImage: format must be one of {sorted(self.MIME)}, "
                             f"got {format!r}")
        self.figure, self.format = figure, format

    def _repr_mimebundle_(self, include=None, exclude=None):
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format=self.format, bbox_inches="tight")
        data = buffer.getvalue()
        return {self.MIME[self.format]: data.decode() if self.format == "svg" else data}

    def __repr__(self):
        return repr(self.figure)


def show(fig, handle=None, format="svg"):
    """Display ``fig`` as an image, replacing the output of ``handle`` if given; returns the
    handle."""
    from IPython.display import display

    image = FigureImage(fig, format)
    if handle is None:
        return display(image, display_id=True)
    handle.update(image)
    return handle
