"""The d2l 0.17 library in PyTorch: ``from d2lrnn.v0_17 import torch as d2l``. The names
:mod:`.common` writes once, bound to PyTorch's adapter, and what needs PyTorch itself: the
models on ``nn.Module``, the autograd steps, the tensor aliases of the chapters."""
import functools

from ..torch import book as backend
from ..torch.ops import ops, torch
from . import common
from .bind import library

nn = torch.nn
F = torch.nn.functional

# common's names, bound to this framework's adapter where they make tensors, and the
# devices and tensor aliases of the 1.0 backend (what follows replaces some of them)
_library = library(ops, __name__, backend)
globals().update(_library)
__all__ = list(dict.fromkeys([
    *_library, "sgd", "load_array", "evaluate_loss", "RNNModelScratch", "predict_ch8",
    "grad_clipping", "train_epoch_ch8", "train_ch8", "RNNModel", "nn", "F", "torch"]))


def load_array(data_arrays, batch_size, is_train=True):
    """Minibatches of the tensors ``data_arrays`` (their first axis), shuffled when
    ``is_train``."""
    dataset = torch.utils.data.TensorDataset(*data_arrays)
    return torch.utils.data.DataLoader(dataset, batch_size, shuffle=is_train)


def evaluate_loss(net, data_iter, loss):
    """The mean of ``loss`` over every example of ``data_iter``."""
    with torch.no_grad():
        return common.evaluate_loss(net, data_iter, loss, ops=ops)


def sgd(params, lr, batch_size):
    """One step of minibatch SGD on ``params`` (their gradients summed over ``batch_size``
    examples), the gradients zeroed after."""
    with torch.no_grad():
        for param in params:
            param -= lr * param.grad / batch_size
            param.grad.zero_()


def predict_ch8(prefix, num_preds, net, vocab, device):
    """``prefix`` followed by ``num_preds`` characters, each the most likely one."""
    with torch.no_grad():  # no graph is kept across the characters: the book's is dropped
        return common.predict_ch8(prefix, num_preds, net, vocab, device, ops=ops)


def _trained_params(net):
    if isinstance(net, nn.Module):
        return [p for p in net.parameters() if p.requires_grad]
    return net.params


def grad_clipping(net, theta):
    """Scale the gradients of ``net``'s parameters so that their global norm is at most
    ``theta``."""
    params = _trained_params(net)
    norm = torch.sqrt(sum(torch.sum(p.grad ** 2) for p in params))
    if norm > theta:
        for param in params:
            param.grad[:] *= theta / norm


def _detach(state):
    if isinstance(state, torch.Tensor):
        return state.detach_()
    for s in state:
        s.detach_()
    return state


def train_epoch_ch8(net, train_iter, loss, updater, device, use_random_iter):
    """One epoch: the state begun afresh for each random minibatch (or once, then detached
    between sequential ones), gradients clipped to norm 1. The perplexity and tokens/s."""

    def step(X, Y, state):
        y = Y.T.reshape(-1)
        X, y = X.to(device), y.to(device)
        y_hat, state = net(X, state)
        mean_loss = loss(y_hat, y.long()).mean()
        if isinstance(updater, torch.optim.Optimizer):
            updater.zero_grad()
            mean_loss.backward()
            grad_clipping(net, 1)
            updater.step()
        else:
            mean_loss.backward()
            grad_clipping(net, 1)
            updater(batch_size=1)  # the loss is a mean already
        return mean_loss.detach(), y.numel(), state

    return common.run_epoch_ch8(
        train_iter, use_random_iter, step=step, detach=_detach,
        begin_state=lambda X: net.begin_state(batch_size=X.shape[0], device=device))


def _updater(net, lr):
    if isinstance(net, nn.Module):
        return torch.optim.SGD(net.parameters(), lr)
    return lambda batch_size: sgd(net.params, lr, batch_size)


def train_ch8(net, train_iter, vocab, lr, num_epochs, device, use_random_iter=False):
    """Train ``net`` with SGD at ``lr`` for ``num_epochs``; print the perplexity, the speed
    and two predictions (the perplexity is also returned)."""
    loss = nn.CrossEntropyLoss()
    return common.train_ch8(
        net, train_iter, vocab, lr, num_epochs, device, use_random_iter,
        loss=loss, make_updater=_updater, train_epoch=train_epoch_ch8, predict=predict_ch8)


class RNNModel(nn.Module):
    """A recurrent layer of PyTorch (``nn.RNN``, ``nn.GRU``, ``nn.LSTM``) on one-hot inputs,
    and a linear output layer over its (both directions') hidden states."""

    def __init__(self, rnn_layer, vocab_size, **kwargs):
        super().__init__(**kwargs)
        self.rnn = rnn_layer
        self.vocab_size = vocab_size
        self.num_hiddens = self.rnn.hidden_size
        self.num_directions = 2 if self.rnn.bidirectional else 1
        self.linear = nn.Linear(self.num_hiddens * self.num_directions, self.vocab_size)

    def forward(self, inputs, state):
        X = F.one_hot(inputs.T.long(), self.vocab_size).to(self.linear.weight.dtype)
        Y, state = self.rnn(X, state)
        return self.linear(Y.reshape((-1, Y.shape[-1]))), state

    def begin_state(self, device, batch_size=1):
        shape = (self.num_directions * self.rnn.num_layers, batch_size, self.num_hiddens)
        zeros = functools.partial(torch.zeros, shape, device=device,
                                  dtype=self.linear.weight.dtype)  # float64 in a float64 model
        if isinstance(self.rnn, nn.LSTM):  # the hidden state and the memory cell
            return (zeros(), zeros())
        return zeros()
