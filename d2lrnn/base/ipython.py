"""Showing figures in Jupyter without pyplot, and only there."""
import sys


def in_notebook():
    """Whether we run inside a Jupyter kernel (not a plain script or terminal IPython)."""
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    ip = shell.get_ipython()
    return ip is not None and "IPKernelApp" in getattr(ip, "config", {})


def show(fig, handle=None):
    """Display ``fig``, replacing the output of ``handle`` if given; returns the handle."""
    from IPython.display import display

    if handle is None:
        return display(fig, display_id=True)
    handle.update(fig)
    return handle
