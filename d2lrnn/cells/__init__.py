"""Recurrent cells, found by discovery: every :class:`~d2lrnn.cells.base.Cell` subclass with a
``name`` in a module of this package. ``CELLS`` maps the names ("rnn", "gru", "lstm") to
cell instances, in a fixed order."""
import importlib
import pkgutil

from .base import Cell
from .network import Layer, Network, lm_loss_and_grads


def _discover():
    found = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Cell) and value.name:
                found[value.name] = value()
    order = ("rnn", "gru", "lstm")  # the book's order of reading; new cells follow
    return {name: found[name] for name in sorted(found, key=lambda n: (
        order.index(n) if n in order else len(order), n))}


CELLS = _discover()

__all__ = ["CELLS", "Cell", "Layer", "Network", "lm_loss_and_grads"]
