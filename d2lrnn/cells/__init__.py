"""Recurrent cells, found by discovery: every :class:`~d2lrnn.cells.base.Cell` subclass with a
``name`` in a module of this package. ``CELLS`` maps the names ("rnn", "gru", "lstm") to
cells computing the book's function; ``VARIANTS`` maps the key of every function a cell
computes ("rnn", "gru-before", "gru-after", "lstm") to its cell, in a fixed order: what the
command line, the model builder, the checkpoint, the parity table and the tests read.
"""
import importlib
import pkgutil

from ..base.errors import BadArgument, not_one_of
from .base import Cell
from .network import Layer, Network, lm_loss_and_grads


def _discover():
    found = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Cell) and value.name:
                found[value.name] = value
    order = ("rnn", "gru", "lstm")  # the book's order of reading; new cells follow
    return [found[name] for name in sorted(found, key=lambda n: (
        order.index(n) if n in order else len(order), n))]


VARIANTS = {cell.key: cell for cls in _discover() for cell in cls.variants()}
# Each cell by its name: the first of its variants, the book's.
CELLS = {name: next(cell for cell in VARIANTS.values() if cell.name == name)
         for name in dict.fromkeys(cell.name for cell in VARIANTS.values())}
# What --cell takes: each cell's name, and where it has variants their keys after it.
CHOICES = tuple(dict.fromkeys(choice for name, cell in CELLS.items() for choice in (
    name, *(key for key, variant in VARIANTS.items()
            if variant.name == name and variant.variant_keyword))))
# The keywords that choose a variant ({"reset": ("before", "after")}): a run records each.
KEYWORDS = {cell.variant_keyword: cell.variant_values for cell in CELLS.values()
            if cell.variant_keyword}


def cell_named(name, model="scratch", **options):
    """The cell that ``name`` names: a variant's key ("gru-after"), or a cell's name, which
    means the book's variant from scratch (``model="scratch"``) and the one the frameworks'
    layers compute for a concise model ("gru": "gru-before", "gru-after"). ``options`` may
    choose the variant by its keyword (``reset="after"``; None chooses nothing, and a keyword
    the cell has none of is not its concern)."""
    if name not in CHOICES:
        raise BadArgument(not_one_of("cell", name, CHOICES))
    cell = CELLS.get(name) or VARIANTS[name]
    keyword = cell.variant_keyword
    if keyword is None:
        return cell
    value = options.get(keyword)
    if name not in CELLS:  # a variant's key
        if value is not None and value != getattr(cell, keyword):
            raise BadArgument(f"the cell {name} computes {keyword}={getattr(cell, keyword)!r},"
                              f" not {keyword}={value!r}: give one or the other")
        return cell
    if value is None:
        value = cell.layers_value if model == "concise" and cell.layers_value else \
            cell.variant_values[0]
    value = cell.checked_value(value)
    return next(variant for variant in VARIANTS.values()
                if variant.name == name and getattr(variant, keyword) == value)


__all__ = ["CELLS", "CHOICES", "Cell", "KEYWORDS", "Layer", "Network", "VARIANTS", "cell_named",
           "lm_loss_and_grads"]
