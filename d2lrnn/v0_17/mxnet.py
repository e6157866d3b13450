"""The d2l 0.17 library in MXNet: ``from d2lrnn.v0_17 import mxnet as d2l``. The names
:mod:`.common` writes once, bound to MXNet's adapter by :mod:`.bind`, and what needs MXNet
itself: the models on ``gluon.nn.Block``, the autograd steps, the tensor aliases of the
chapters (mxnet.np's, as 0.17's)."""
import functools
import math

import numpy as onp

from ..base.plot import plt, set_axes, set_figsize, use_svg_display
from ..mxnet.book import (  # the same tensor helpers and devices as 1.0's: one place for each
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
from ..mxnet.ops import mnp, mx, npx, ops
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

autograd, gluon, init, np = mx.autograd, mx.gluon, mx.init, mnp
nn, rnn = gluon.nn, gluon.rnn

__all__ = ["DATA_HUB", "DATA_URL", "download", "read_time_machine", "tokenize", "Vocab",
           "count_corpus", "load_corpus_time_machine", "Timer", "Accumulator", "Animator",
           "plot", "plt", "set_axes", "set_figsize", "use_svg_display", "load_array",
           "cpu", "gpu", "num_gpus", "try_gpu", "try_all_gpus", "sgd",
           "RNNModelScratch", "predict_ch8", "grad_clipping", "train_epoch_ch8", "train_ch8",
           "RNNModel", "autograd", "gluon", "init", "np", "npx", "nn", "rnn",
           "ones", "zeros", "tensor", "arange", "meshgrid", "sin", "sinh", "cos", "cosh", "tanh",
           "linspace", "exp", "log", "normal", "rand", "matmul", "int32", "float32", "concat",
           "stack", "abs", "eye", "numpy", "size", "reshape", "to", "reduce_sum", "argmax",
           "astype", "transpose"]
# The data and helpers of common on mxnet.np's arrays (what follows replaces some of them).
_common = bound(ops, __name__)
globals().update(_common)
__all__ += [name for name in _common if name not in __all__]


def load_array(data_arrays, batch_size, is_train=True):
    """Minibatches of the arrays ``data_arrays`` (their first axis), shuffled when
    ``is_train``."""
    dataset = gluon.data.ArrayDataset(*data_arrays)
    return gluon.data.DataLoader(dataset, batch_size, shuffle=is_train)


def sgd(params, lr, batch_size):
    """One step of minibatch SGD on ``params`` (their gradients summed over ``batch_size``
    examples)."""
    for param in params:
        param[:] = param - lr * param.grad / batch_size


class RNNModelScratch:
    """A recurrent network from the functions a notebook defines: ``get_params(vocab_size,
    num_hiddens, device)``, ``init_state(batch_size, num_hiddens, device)`` and
    ``forward_fn(inputs, state, params)``; inputs are one-hot, time first."""

    def __init__(self, vocab_size, num_hiddens, device, get_params, init_state, forward_fn):
        self.vocab_size, self.num_hiddens = vocab_size, num_hiddens
        self.params = get_params(vocab_size, num_hiddens, device)
        self.init_state, self.forward_fn = init_state, forward_fn

    def __call__(self, X, state):
        X = npx.one_hot(X.T, self.vocab_size, dtype=_float_type(self.params[0].dtype))
        return self.forward_fn(X, state, self.params)

    def begin_state(self, batch_size, ctx):
        return self.init_state(batch_size, self.num_hiddens, ctx)


def _float_type(dtype):
    """The one-hot inputs' type: float32 as the book's, or the parameters' own float type (a
    float64 network gets float64 inputs)."""
    return dtype if onp.dtype(dtype).kind == "f" else "float32"


def predict_ch8(prefix, num_preds, net, vocab, device):
    """``prefix`` followed by ``num_preds`` characters, each the most likely one."""
    return common.predict_ch8(prefix, num_preds, net, vocab, device, ops=ops,
                              state_keywords={"ctx": device})


def _trained_params(net):
    if isinstance(net, gluon.Block):
        return [p.data() for p in net.collect_params().values() if p.grad_req != "null"]
    return net.params


def grad_clipping(net, theta):
    """Scale the gradients of ``net``'s parameters so that their global norm is at most
    ``theta``."""
    params = _trained_params(net)
    norm = math.sqrt(sum(float((p.grad ** 2).sum()) for p in params))
    if norm > theta:
        for param in params:
            param.grad[:] *= theta / norm


def train_epoch_ch8(net, train_iter, loss, updater, device, use_random_iter):
    """One epoch: the state begun afresh for each random minibatch (or once, then detached
    between sequential ones), gradients clipped to norm 1. The perplexity and tokens/s."""
    state, timer = None, Timer()
    metric = Accumulator(2)  # the summed loss, the number of tokens
    for X, Y in train_iter:
        if state is None or use_random_iter:
            state = net.begin_state(batch_size=X.shape[0], ctx=device)
        else:
            # detach() returns a new array, which the book's loop drops (harmless there:
            # autograd.record() below starts a new graph); the detached state is kept here
            state = type(state)(s.detach() for s in state)
        y = Y.T.reshape(-1)
        X, y = X.as_in_ctx(device), y.as_in_ctx(device)
        with autograd.record():
            y_hat, state = net(X, state)
            mean_loss = loss(y_hat, y).mean()
        mean_loss.backward()
        grad_clipping(net, 1)
        updater(batch_size=1)  # the loss is a mean already
        metric.add(float(mean_loss) * y.size, y.size)
    return math.exp(metric[0] / metric[1]), metric[1] / timer.stop()


def _updater(net, lr):
    if isinstance(net, gluon.Block):
        trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": lr})
        return lambda batch_size: trainer.step(batch_size)
    return lambda batch_size: sgd(net.params, lr, batch_size)


def train_ch8(net, train_iter, vocab, lr, num_epochs, device, use_random_iter=False):
    """Train ``net`` with SGD at ``lr`` for ``num_epochs`` (a Gluon network initialized
    afresh from N(0, 0.01²), as the book's); print the perplexity, the speed and two
    predictions (the perplexity is also returned)."""
    if isinstance(net, gluon.Block):
        net.initialize(ctx=device, force_reinit=True, init=init.Normal(0.01))
    loss = gluon.loss.SoftmaxCrossEntropyLoss()
    return common.train_ch8(
        net, train_iter, vocab, lr, num_epochs, device, use_random_iter,
        make_updater=_updater, predict=predict_ch8,
        train_epoch=functools.partial(_epoch_with_loss, loss))


def _epoch_with_loss(loss, net, train_iter, updater, device, use_random_iter):
    return train_epoch_ch8(net, train_iter, loss, updater, device, use_random_iter)


class RNNModel(nn.Block):
    """A recurrent layer of Gluon (``rnn.RNN``, ``rnn.GRU``, ``rnn.LSTM``: time first, its
    state a list) on one-hot inputs, and a dense output layer over its hidden states.
    Gluon's layers compute other functions than the book's chapters: ``rnn.RNN(h)`` is a
    ReLU network unless made with ``activation='tanh'`` (8.6's cell keeps the default), and
    its GRU applies the reset gate after the recurrent product, with a recurrent bias of its
    own (cuDNN's GRU), not the book's 9.1 GRU. Every layer has a recurrent bias beside the
    input one, both trained."""

    def __init__(self, rnn_layer, vocab_size, **kwargs):
        super().__init__(**kwargs)
        self.rnn = rnn_layer
        self.vocab_size = vocab_size
        self.dense = nn.Dense(vocab_size)

    def forward(self, inputs, state):
        X = npx.one_hot(inputs.T, self.vocab_size, dtype=_float_type(self.dense.weight.dtype))
        Y, state = self.rnn(X, state)
        return self.dense(Y.reshape(-1, Y.shape[-1])), state

    def begin_state(self, *args, **kwargs):
        return self.rnn.begin_state(*args, **kwargs)
