"""NumPy backend: the reference, with back-propagation through time written by hand."""
from ..book.bind import facade
from ..book.surface import *  # the book's library written once: its __all__
from . import book
from .book import *  # this framework's bases and helpers: its __all__ (d2lrnn/numpy/book.py)

__all__ = facade(globals(), book)  # the models and functions bound to this backend's adapter
