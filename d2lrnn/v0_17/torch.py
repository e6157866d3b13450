"""The d2l 0.17 library in PyTorch: ``from d2lrnn.v0_17 import torch as d2l``. The names
:mod:`.common` writes once, bound to PyTorch's adapter, and what needs PyTorch itself: the
models on ``nn.Module``, the autograd steps, the tensor aliases of the chapters."""
import functools
import math

from ..base.plot import plt, set_axes, set_figsize, use_svg_display
from ..torch.book import (  # the same tensor helpers and devices as 1.0's: one place for each
    abs,
    arange,
    argmax,
    astype,
    concat,
    cos,
    cosh,
    cpu,
    exp,
    eye,
    float32,
    gpu,
    int32,
    linspace,
    log,
    matmul,
    meshgrid,
    normal,
    num_gpus,
    numpy,
    ones,
    rand,
    reduce_sum,
    reshape,
    sin,
    sinh,
    size,
    stack,
    tanh,
    tensor,
    to,
    transpose,
    try_all_gpus,
    try_gpu,
    zeros,
)
from ..torch.ops import ops, torch
from . import common
from .bind import bound
from .common import (
    DATA_HUB,
    DATA_URL,
    Accumulator,
    Animator,
    Timer,
    Vocab,
    count_corpus,
    download,
    load_corpus_time_machine,
    plot,
    read_time_machine,
    tokenize,
)

nn = torch.nn
F = torch.nn.functional

__all__ = ["DATA_HUB", "DATA_URL", "download", "read_time_machine", "tokenize", "Vocab",
           "count_corpus", "load_corpus_time_machine", "Timer", "Accumulator", "Animator",
           "plot", "plt", "set_axes", "set_figsize", "use_svg_display", "load_array",
           "evaluate_loss", "cpu", "gpu", "num_gpus", "try_gpu", "try_all_gpus", "sgd",
           "RNNModelScratch", "predict_ch8", "grad_clipping", "train_epoch_ch8", "train_ch8",
           "RNNModel", "nn", "F", "torch",
           "ones", "zeros", "tensor", "arange", "meshgrid", "sin", "sinh", "cos", "cosh", "tanh",
           "linspace", "exp", "log", "normal", "rand", "matmul", "int32", "float32", "concat",
           "stack", "abs", "eye", "numpy", "size", "reshape", "to", "reduce_sum", "argmax",
           "astype", "transpose"]
# The data and helpers of common on PyTorch's tensors (what follows replaces some of them).
_common = bound(ops, __name__)
globals().update(_common)
__all__ += [name for name in _common if name not in __all__]


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


class RNNModelScratch:
    """A recurrent network from the functions a notebook defines: ``get_params(vocab_size,
    num_hiddens, device)``, ``init_state(batch_size, num_hiddens, device)`` and
    ``forward_fn(inputs, state, params)``; inputs are one-hot, time first."""

    def __init__(self, vocab_size, num_hiddens, device, get_params, init_state, forward_fn):
        self.vocab_size, self.num_hiddens = vocab_size, num_hiddens
        self.params = get_params(vocab_size, num_hiddens, device)
        self.init_state, self.forward_fn = init_state, forward_fn

    def __call__(self, X, state):
        X = F.one_hot(X.T.long(), self.vocab_size).type(_float_type(self.params))
        return self.forward_fn(X, state, self.params)

    def begin_state(self, batch_size, device):
        return self.init_state(batch_size, self.num_hiddens, device)


def _float_type(params):
    """The one-hot inputs' type: float32 as the book's, or the parameters' own float type (a
    float64 network gets float64 inputs; the book's cast would make its products fail)."""
    dtype = getattr(params[0], "dtype", None) if params else None
    return dtype if dtype is not None and dtype.is_floating_point else torch.float32


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
    state, timer = None, Timer()
    metric = Accumulator(2)  # the summed loss, the number of tokens
    for X, Y in train_iter:
        if state is None or use_random_iter:
            state = net.begin_state(batch_size=X.shape[0], device=device)
        else:
            state = _detach(state)
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
        metric.add(mean_loss * y.numel(), y.numel())
    return math.exp(metric[0] / metric[1]), metric[1] / timer.stop()


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
        make_updater=_updater, predict=predict_ch8,
        train_epoch=functools.partial(_epoch_with_loss, loss))


def _epoch_with_loss(loss, net, train_iter, updater, device, use_random_iter):
    return train_epoch_ch8(net, train_iter, loss, updater, device, use_random_iter)


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
