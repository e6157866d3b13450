"""What every backend exports, and the one way it is made: the models written once (the
section's, :mod:`d2lrnn.book.rnn`, and chapter 10's, :mod:`d2lrnn.book.modern`), each put on
that backend's book ``Module``; the data modules given its adapter (10.5's ``MTFraEng``); two
functions bound to it; and the backend's package itself (:func:`facade`), from the lists of
:mod:`d2lrnn.book.surface`.
"""
import functools
import inspect

import numpy as np

from ..base.backend import DECLARED, check_float_dtype
from ..base.errors import BadArgument
from ..cells import CELLS
from . import modern, rnn, seq2seq, surface, translation
from .model import Model, as_input

SHARED = {name: getattr(module, name) for module in (rnn, modern, seq2seq)
          for name in dir(module)
          if isinstance(getattr(module, name), type) and issubclass(getattr(module, name),
                                                                    Model)}


def cell_models(cells):
    """The book's class names of the models of ``cells`` (scratch, concise where a framework
    has a layer for it); a cell whose models :mod:`d2lrnn.book.modern` does not define fails,
    saying which class belongs there."""
    names = []
    for cell in cells:
        for kind, name in (("scratch", cell.scratch_name), ("concise", cell.concise_name)):
            if name and name not in SHARED:
                how = (f"class {name}(CellScratch): cell = CELLS[{cell.name!r}]"
                       if kind == "scratch" else f"class {name}(CellLayer, {cell.scratch_name})")
                where = type(cell).__module__.replace(".", "/")
                raise NotImplementedError(f"the {cell.name} cell ({where}.py) has no {kind} "
                                          f"model: d2lrnn/book/modern.py must define {how}")
            if name:
                names.append(name)
    return names


# The models every backend exports, in this order: the section's (9.4-9.6), each cell's
# scratch and concise models by the book's names (found by discovery: a new cell's appear
# here), the deep and bidirectional networks (10.3, 10.4). Where a framework's layers learn
# their input size at the first call, a concise model's Lazy<Name> variant stands in for
# it, with the book's signature there (RNN(num_hiddens) in MXNet, TensorFlow and JAX).
EXPORTED = tuple(dict.fromkeys(["MLP", "RNNScratch", "RNNLMScratch", "RNN", "RNNLM",
                                *cell_models(CELLS.values()),
                                "StackedRNNScratch", "BiRNNScratch",
                                "Encoder", "Decoder", "EncoderDecoder", "Seq2SeqEncoder",
                                "Seq2SeqDecoder", "Seq2Seq"]))
# The models bound to every backend as parts of those, not exported (the decoder's output
# layer).
PARTS = ("Dense",)


def shared_class(name, ops):
    """The class written once that backend ``ops`` exports as ``name``."""
    if ops.layer_learns_input_size and f"Lazy{name}" in SHARED:
        return SHARED[f"Lazy{name}"]
    return SHARED[name]


def concat_demo(ops, X=None, W_xh=None, H=None, W_hh=None, *, seed=0, dtype="float32"):
    """``X W_xh + H W_hh`` equals ``[X, H] [W_xh; W_hh]``: both computed, and their largest
    difference.

    Arguments left out are drawn from N(0, 1) with the book's shapes X (3, 1), W_xh (1, 4),
    H (3, 4), W_hh (4, 4). Returns a dict with 'separate', 'concatenated' (framework
    arrays) and 'max_difference' (a float).
    """
    dtype = check_float_dtype(dtype)
    rng = np.random.default_rng(seed)
    given = {"X": X, "W_xh": W_xh, "H": H, "W_hh": W_hh}
    default_shapes = {"X": (3, 1), "W_xh": (1, 4), "H": (3, 4), "W_hh": (4, 4)}
    arrays = {k: rng.normal(size=default_shapes[k]).astype(dtype) if v is None else v
              for k, v in given.items()}
    n, d = np.shape(arrays["X"]) if not ops.is_tensor(arrays["X"]) else ops.shape(arrays["X"])
    h = (np.shape(arrays["W_xh"]) if not ops.is_tensor(arrays["W_xh"])
         else ops.shape(arrays["W_xh"]))[-1]
    expected = {"X": [("n", n), ("d", d)], "W_xh": [("d", d), ("h", h)],
                "H": [("n", n), ("h", h)], "W_hh": [("h", h), ("h", h)]}
    a = {k: as_input(ops, v, f"concat_demo {k}", expected[k], dtype) for k, v in arrays.items()}
    separate = ops.matmul(a["X"], a["W_xh"]) + ops.matmul(a["H"], a["W_hh"])
    concatenated = ops.matmul(ops.concat([a["X"], a["H"]], 1),
                              ops.concat([a["W_xh"], a["W_hh"]], 0))
    return {"separate": separate, "concatenated": concatenated,
            "max_difference": ops.max_abs(separate - concatenated)}


def loss_and_grads(ops, model, X, Y):
    """The language model's loss on (X, Y) and its gradient for every parameter.

    Returns ``(loss, grads)``: a float and a dict of NumPy arrays keyed by the book's
    parameter names, computed by the framework's own autograd (by hand in NumPy).
    """
    with ops.on(model.device):
        X = model.tokens(X, "loss_and_grads inputs")
        Y = model.tokens(Y, "loss_and_grads targets")
        if ops.shape(X) != ops.shape(Y):
            raise BadArgument(f"loss_and_grads: inputs {ops.shape(X)} and targets "
                              f"{ops.shape(Y)} must have the same shape (batch_size, "
                              f"num_steps)")
        value, grads = model.loss_and_grads_fn(model.book_params, X, Y)
    return float(ops.to_numpy(value)), {k: ops.to_numpy(g) for k, g in grads.items()}


# The functions every backend exports, each taking that backend's adapter first (bound).
FUNCTIONS = (concat_demo, loss_and_grads, seq2seq.init_seq2seq)

# The book's data modules written once whose arrays are a backend's tensors: each backend
# exports the class with its own adapter in ``ops`` (d2l.MTFraEng's batches are its tensors).
DATA_MODULES = (translation.MTFraEng,)

# What every backend module exports first, in this order: its adapter, the models, the data
# modules, the functions; then the book's library surface (d2lrnn.book.surface.BOOK_API).
BACKEND_API = ("ops", *EXPORTED, *(cls.__name__ for cls in DATA_MODULES),
               *(function.__name__ for function in FUNCTIONS))


def bound_function(function, ops):
    """``function`` with ``ops`` given: its name and documentation, and the signature its
    callers see (``init_seq2seq(module)``, as the book's)."""
    bound = functools.update_wrapper(functools.partial(function, ops), function)
    bound.__signature__ = inspect.signature(functools.partial(function, ops))
    return bound


def interface_of(cls, family, base):
    """The bound class of the book's interface that the encoder-decoder class ``cls`` derives
    from (``d2l.Seq2Seq`` from ``d2l.EncoderDecoder``, as in the book's library: a method added
    to the interface with ``add_to_class`` reaches it), else ``base``."""
    if cls.__module__ != seq2seq.__name__:
        return base
    return next((family[parent.__name__] for parent in cls.__mro__[1:]
                 if parent.__name__ in family and SHARED.get(parent.__name__) is parent), base)


def bind(ops, Module, Classifier):
    """{name: class or function} of :data:`BACKEND_API` for one backend, the models built
    on that backend's book ``Module`` and ``Classifier`` by ``Module.framework_class``."""
    module = type(ops).__module__.rsplit(".", 1)[0]
    family = {}
    for name in (*EXPORTED, *PARTS):
        cls = shared_class(name, ops)
        base = Classifier if issubclass(cls, (rnn.RNNLMScratch, seq2seq.EncoderDecoder)) \
            else Module
        family[name] = interface_of(cls, family, base).framework_class(cls, name, module, ops)
    for cls in family.values():
        cls.family = family  # a deep RNN makes its layers from its own backend's classes
    data = {cls.__name__: type(cls.__name__, (cls,), {"ops": ops, "__module__": module,
                                                      "__qualname__": cls.__name__,
                                                      "__doc__": cls.__doc__})
            for cls in DATA_MODULES}
    functions = {function.__name__: bound_function(function, ops) for function in FUNCTIONS}
    return {"ops": ops, **{name: family[name] for name in EXPORTED}, **data, **functions}


def facade(namespace, book):
    """Make a backend's package: ``namespace`` (its globals, which already hold the names
    of :mod:`d2lrnn.book.surface` and of its ``book`` module's ``__all__``) gets the models
    and functions bound to its adapter (:func:`bind`); returns its ``__all__``:
    :data:`BACKEND_API`, the book's library surface, then what else its ``book.py`` offers.
    A ``book.py`` that lacks a name the lists ask of it fails the import, naming them."""
    backend = namespace["__name__"].rpartition(".")[2]
    missing = [name for name in surface.required(DECLARED[backend].book_tab)
               if name not in book.__all__]
    if missing:
        raise NotImplementedError(f"{book.__name__} must define {', '.join(missing)} (and "
                                  f"name them in its __all__): see d2lrnn.book.surface")
    namespace.update(bind(book.Module.ops, book.Module, book.Classifier))
    return list(dict.fromkeys([*BACKEND_API, *surface.BOOK_API, *book.__all__]))
