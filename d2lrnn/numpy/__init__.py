"""NumPy backend: the reference, with back-propagation through time written by hand."""
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
