"""TensorFlow backend: the section's computations in TensorFlow, differentiated by its own
autograd."""
from ..base.backend import BOOK_API, BOOK_FRAMEWORK_API, BOOK_TENSOR_API
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
from .book import Classifier, LinearRegression, Module, Trainer
from .ops import ops

# the section's models, bound to this backend's ops and Module: the names of BACKEND_API
globals().update(bind(ops, Module, Classifier))

__all__ = [*BACKEND_API, *BOOK_API, *BOOK_FRAMEWORK_API]

# The tensor helpers and device functions the book calls as d2l.<name>.
from .book import (
    abs,
    arange,
    argmax,
    astype,
    batch_matmul,
    concat,
    cos,
    cosh,
    cpu,
    exp,
    expand_dims,
    eye,
    float32,
    float64,
    gpu,
    int32,
    int64,
    linspace,
    log,
    matmul,
    meshgrid,
    normal,
    num_gpus,
    numpy,
    ones,
    ones_like,
    rand,
    randn,
    reduce_mean,
    reduce_sum,
    repeat,
    reshape,
    sigmoid,
    sin,
    sinh,
    size,
    stack,
    swapaxes,
    tanh,
    tensor,
    transpose,
    try_all_gpus,
    try_gpu,
    zeros,
    zeros_like,
)

__all__ += list(BOOK_TENSOR_API)
