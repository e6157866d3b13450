"""TensorFlow backend: the section's computations in TensorFlow, differentiated by its own autograd."""
from ..backend import BACKEND_API, BOOK_API, BOOK_TENSOR_API
from ..book import DataModule, HyperParameters, ProgressBoard, add_to_class, check_len, check_shape
from ..data import TimeMachine
from ..rnn import bind
from ..vocab import Vocab
from .book import Classifier, Module, Trainer
from .ops import ops

ops, MLP, RNNScratch, RNNLMScratch, RNN, RNNLM, concat_demo, loss_and_grads = bind(
    ops, Module, Classifier)

__all__ = [*BACKEND_API, *BOOK_API]

# The framework helpers and tensor functions the book calls as d2l.<name>.
from .book import (arange, argmax, concat, cpu, exp, float32, float64, gpu, int32,  # noqa: E402
                   int64, log, matmul, normal, num_gpus, numpy, ones, randn, reshape, stack,
                   swapaxes, tanh, tensor, transpose, try_gpu, zeros)

__all__ += [*BOOK_TENSOR_API, "cpu", "gpu", "randn"]
