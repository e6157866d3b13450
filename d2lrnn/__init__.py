"""d2lrnn: the "Recurrent Neural Networks" section of Dive into Deep Learning, in five backends.

Pick a framework with one import line, exactly as in the book::

    from d2lrnn import torch as d2l        # or numpy, jax, tensorflow, mxnet

Importing ``d2lrnn`` itself imports no framework: each backend subpackage imports its
framework only when it is imported.
"""
from ._version import __version__
from .base.legacy import share_cxx_runtime

share_cxx_runtime()  # where MXNet is installed: lets it load after TensorFlow

__all__ = ["BACKENDS", "available_backends", "load_backend", "__version__"]


def __getattr__(name):
    """``BACKENDS``, ``available_backends`` and ``load_backend`` from :mod:`d2lrnn.base.backend`,
    imported at first use: ``import d2lrnn`` itself stays light (the command's start)."""
    if name in ("BACKENDS", "available_backends", "load_backend"):
        from .base import backend

        return getattr(backend, name)
    raise AttributeError(f"module 'd2lrnn' has no attribute {name!r}")
