"""TensorFlow backend: the section's computations in TensorFlow, differentiated by its own autograd."""
from ..book import DataModule, HyperParameters, ProgressBoard, add_to_class, check_len, check_shape
from ..data import TimeMachine
from ..rnn import bind
from ..vocab import Vocab
from .book import Classifier, Module, Trainer
from .ops import ops

ops, MLP, RNNScratch, RNNLMScratch, RNN, RNNLM, concat_demo, loss_and_grads = bind(
    ops, Module, Classifier)

__all__ = ["ops", "MLP", "RNNScratch", "RNNLMScratch", "RNN", "RNNLM", "concat_demo",
           "loss_and_grads", "Module", "Classifier", "Trainer", "DataModule",
           "HyperParameters", "ProgressBoard", "add_to_class", "check_shape", "check_len",
           "TimeMachine", "Vocab"]

# The framework helpers and tensor functions the book calls as d2l.<name>.
from .book import (arange, argmax, concat, cpu, exp, float32, float64, gpu, int32,  # noqa: E402
                   int64, log, matmul, normal, num_gpus, numpy, ones, randn, reshape, stack,
                   swapaxes, tanh, tensor, transpose, try_gpu, zeros)

__all__ += ["arange", "argmax", "concat", "cpu", "exp", "float32", "float64", "gpu", "int32",
            "int64", "log", "matmul", "normal", "num_gpus", "numpy", "ones", "randn", "reshape",
            "stack", "swapaxes", "tanh", "tensor", "transpose", "try_gpu", "zeros"]
