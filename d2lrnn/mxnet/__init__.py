"""MXNet backend: the section's computations in MXNet, differentiated by its own autograd."""
from ..book.bind import facade
from ..book.surface import *  # the book's library written once: its __all__
from . import book
from .book import *  # this framework's bases and helpers: its __all__ (d2lrnn/mxnet/book.py)

__all__ = facade(globals(), book)  # the models and functions bound to this backend's adapter
