"""JAX backend: the section's computations in JAX, differentiated by its own autograd; the
models are Flax modules."""
from ..backend import BACKEND_API, BOOK_API, BOOK_TENSOR_API
from ..book import DataModule, HyperParameters, ProgressBoard, add_to_class, check_len, check_shape
from ..data import TimeMachine
from ..rnn import bind_functions
from ..vocab import Vocab
from .book import MLP, RNN, Classifier, Module, RNNLM, RNNLMScratch, RNNScratch, Trainer
from .ops import ops

concat_demo, loss_and_grads = bind_functions(ops)

__all__ = [*BACKEND_API, *BOOK_API]

# The framework helpers and array functions the book calls as d2l.<name>.
from .book import (arange, argmax, concat, exp, float32, float64, get_key,  # noqa: E402
                   int32, int64, log, matmul, normal, num_gpus, numpy, ones, reshape, stack,
                   swapaxes, tanh, tensor, transpose, try_gpu, zeros)

__all__ += [*BOOK_TENSOR_API, "get_key"]
