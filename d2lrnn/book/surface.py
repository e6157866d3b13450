"""The book's library surface: the names a reader calls on ``d2l`` whatever the framework
(written once: this module's ``__all__``, which every backend's package imports), and the lists
of what each framework's ``book.py`` adds in its own idiom (a literal ``__all__`` there too).
:func:`d2lrnn.book.bind.facade` puts a backend's package together from them.
"""
from ..base.vocab import Vocab
from .data import TimeMachine
from .library import (
    DATA_HUB,
    DATA_URL,
    DataModule,
    HyperParameters,
    ProgressBoard,
    add_to_class,
    check_len,
    check_shape,
    download,
    extract,
    plot,
    plt,
    set_axes,
    set_figsize,
    use_svg_display,
)
from .translation import bleu, show_list_len_pair_hist

# The book's library written once, in every backend: its classes (d2l.ai 3.2), The Time
# Machine (9.2-9.3), and the general helpers the RNN chapters call: figures (2.4), files (5.7),
# machine translation's histogram (10.5) and BLEU (10.7). (10.5's MTFraEng gives a backend's
# tensors: each backend exports its own, d2lrnn.book.bind.DATA_MODULES.)
__all__ = ["DataModule", "HyperParameters", "ProgressBoard", "add_to_class", "check_shape",
           "check_len", "TimeMachine", "Vocab", "plot", "set_figsize", "set_axes",
           "use_svg_display", "plt", "download", "extract", "DATA_URL", "DATA_HUB",
           "show_list_len_pair_hist", "bleu"]

# What every backend's book.py defines in its framework's idiom: the bases of the models and
# the trainer, and the book's device functions.
FRAMEWORK_BASES = ("Module", "Classifier", "Trainer")
DEVICE_API = ("cpu", "gpu", "num_gpus", "try_gpu", "try_all_gpus")

# The book's library surface, in every backend (the bases, then the names written once).
BOOK_API = (*FRAMEWORK_BASES, *__all__)

# What the RNN chapters take from the book's earlier ones beyond that, in each framework that
# has autograd (9.1 trains a linear regression of section 3.5).
BOOK_FRAMEWORK_API = ("LinearRegression",)

# The tensor helpers and device functions the book's library defines as d2l.<name> (d2l 1.0.3,
# the union over its four frameworks), in each of the four frameworks here; a few add their
# own (get_key in JAX, to where the framework moves arrays between devices).
BOOK_TENSOR_API = ("abs", "arange", "argmax", "astype", "batch_matmul", "concat", "cos", "cosh",
                   "exp", "expand_dims", "eye", "float32", "float64", "int32", "int64",
                   "linspace", "log", "matmul", "meshgrid", "normal", "numpy", "ones",
                   "ones_like", "rand", "randn", "reduce_mean", "reduce_sum", "repeat", "reshape",
                   "sigmoid", "sin", "sinh", "size", "stack", "swapaxes", "tanh", "tensor",
                   "transpose", "zeros", "zeros_like", *DEVICE_API)


def required(book_tab):
    """The names a backend's book.py must define: the bases and device functions, and where
    the book has a tab for the framework (``Declaration.book_tab``), its classes and tensor
    helpers of that tab."""
    tab = (*BOOK_FRAMEWORK_API, *BOOK_TENSOR_API) if book_tab else ()
    return (*FRAMEWORK_BASES, *DEVICE_API, *tab)
