"""NumPy backend: the reference, with back-propagation through time written by hand."""
from ..backend import BACKEND_API, BOOK_API
from ..book import DataModule, HyperParameters, ProgressBoard, add_to_class, check_len, check_shape
from ..data import TimeMachine
from ..rnn import bind
from ..vocab import Vocab
from .book import Classifier, Module, Trainer
from .ops import ops

(ops, MLP, RNNScratch, RNNLMScratch, RNN, RNNLM, GRUScratch, LSTMScratch, GRU, LSTM,
 concat_demo, loss_and_grads) = bind(ops, Module, Classifier)

__all__ = [*BACKEND_API, *BOOK_API]
