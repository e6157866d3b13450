"""NumPy backend: the reference, with back-propagation through time written by hand."""
from ..base.backend import BOOK_API
from ..base.vocab import Vocab
from ..book.bind import BACKEND_API, bind
from ..book.data import TimeMachine
from ..book.library import (
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
from .book import Classifier, Module, Trainer
from .ops import ops

# the section's models, bound to this backend's ops and Module: the names of BACKEND_API
globals().update(bind(ops, Module, Classifier))

__all__ = [*BACKEND_API, *BOOK_API]

# The book's device functions (the CPU only).
from .book import cpu, gpu, num_gpus, try_all_gpus, try_gpu  # noqa: E402

__all__ += ["cpu", "gpu", "num_gpus", "try_all_gpus", "try_gpu"]
