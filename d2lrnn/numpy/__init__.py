"""NumPy backend: the reference, with back-propagation through time written by hand."""
from ..rnn import bind
from .ops import ops

ops, MLP, RNNScratch, RNNLMScratch, RNN, RNNLM, concat_demo, loss_and_grads = bind(ops)

__all__ = ["ops", "MLP", "RNNScratch", "RNNLMScratch", "RNN", "RNNLM", "concat_demo",
           "loss_and_grads"]
