"""The d2l 0.17 library in MXNet: ``from d2lrnn.v0_17 import mxnet as d2l``. The names
:mod:`.common` writes once, bound to MXNet's adapter by :mod:`.bind`, and what needs MXNet
itself: the models on ``gluon.nn.Block``, the autograd steps, the tensor aliases of the
chapters (mxnet.np's, as 0.17's)."""
import math

from ..mxnet import book as backend
from ..base.errors import BadArgument
from ..mxnet.ops import mnp, mx, npx, ops
from . import common, seq2seq
from .bind import library

autograd, gluon, init, np = mx.autograd, mx.gluon, mx.init, mnp
nn, rnn = gluon.nn, gluon.rnn

# common's names, bound to this framework's adapter where they make tensors, and the
# devices and tensor aliases of the 1.0 backend (what follows replaces some of them)
_library = library(ops, __name__, backend, (common, seq2seq))
globals().update(_library)
__all__ = list(dict.fromkeys([
    *_library, "sgd", "load_array", "RNNModelScratch", "predict_ch8", "grad_clipping",
    "train_epoch_ch8", "train_ch8", "RNNModel", "autograd", "gluon", "init", "np", "npx", "nn",
    "rnn"]))


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


class RNNModelScratch(_library["RNNModelScratch"]):
    __doc__ = _library["RNNModelScratch"].__doc__

    def begin_state(self, batch_size, ctx):  # 0.17's MXNet names the device ctx
        return self.init_state(batch_size, self.num_hiddens, ctx)


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

    def step(X, Y, state):
        y = Y.T.reshape(-1)
        X, y = X.as_in_ctx(device), y.as_in_ctx(device)
        with autograd.record():
            y_hat, state = net(X, state)
            mean_loss = loss(y_hat, y).mean()
        mean_loss.backward()
        grad_clipping(net, 1)
        updater(batch_size=1)  # the loss is a mean already
        return mean_loss, y.size, state

    # detach() returns a new array, which the book's loop drops (harmless there:
    # autograd.record() starts a new graph); the detached state is kept here
    return common.run_epoch_ch8(
        train_iter, use_random_iter, step=step,
        detach=lambda state: type(state)(s.detach() for s in state),
        begin_state=lambda X: net.begin_state(batch_size=X.shape[0], ctx=device))


def _updater(net, lr):
    if isinstance(net, gluon.Block):
        trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": lr})
        return lambda batch_size: trainer.step(batch_size)
    return lambda batch_size: sgd(net.params, lr, batch_size)


def train_ch8(net, train_iter, vocab, lr, num_epochs, device, use_random_iter=False):
    """Train ``net`` with SGD at ``lr`` for ``num_epochs`` (a Gluon network initialized
    afresh from N(0, 0.01²), as the book's); print the perplexity, the speed and two
    predictions (the perplexity is also returned)."""
    common.checked_training(lr, num_epochs)  # before the network is initialized afresh
    if isinstance(net, gluon.Block):
        net.initialize(ctx=device, force_reinit=True, init=init.Normal(0.01))
    loss = gluon.loss.SoftmaxCrossEntropyLoss()
    return common.train_ch8(
        net, train_iter, vocab, lr, num_epochs, device, use_random_iter,
        loss=loss, make_updater=_updater, train_epoch=train_epoch_ch8, predict=predict_ch8)


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
        X = npx.one_hot(inputs.T, self.vocab_size, dtype=self.dense.weight.dtype)  # float64 too
        Y, state = self.rnn(X, state)
        return self.dense(Y.reshape(-1, Y.shape[-1])), state

    def begin_state(self, *args, **kwargs):
        return self.rnn.begin_state(*args, **kwargs)


# -- chapter 9 (9.5-9.7): machine translation, the encoder-decoder, seq2seq -------------------

__all__ = list(dict.fromkeys([
    *__all__, "load_data_nmt", "Encoder", "Decoder", "EncoderDecoder", "Seq2SeqEncoder",
    "MaskedSoftmaxCELoss", "train_seq2seq", "predict_seq2seq"]))


load_data_nmt = seq2seq.load_data_nmt_over(load_array, ops, __name__)


Encoder, Decoder, EncoderDecoder = seq2seq.encoder_decoder_classes(nn.Block, __name__)


class Seq2SeqEncoder(Encoder):
    """9.7's encoder: token embeddings through ``rnn.GRU`` (time first; it applies the reset
    gate after the recurrent product, with a recurrent bias of its own); ``forward(X)`` of ids
    (batch, steps) gives (outputs (steps, batch, num_hiddens), state: a list of one array
    (num_layers, batch, num_hiddens)), every step's, padding included (0.17 ignores the valid
    lengths)."""

    def __init__(self, vocab_size, embed_size, num_hiddens, num_layers, dropout=0, **kwargs):
        super().__init__(**kwargs)
        self.embedding = nn.Embedding(vocab_size, embed_size)
        self.rnn = rnn.GRU(num_hiddens, num_layers, dropout=dropout)

    def forward(self, X, *args):
        X = self.embedding(X).swapaxes(0, 1)  # time first
        state = self.rnn.begin_state(batch_size=X.shape[1], ctx=X.ctx, dtype=X.dtype)
        return self.rnn(X, state)


class MaskedSoftmaxCELoss(gluon.loss.SoftmaxCELoss):
    """Softmax cross-entropy of logits ``pred`` (batch, steps, vocabulary) against ``label``
    (batch, steps), the steps past each sequence's ``valid_len`` weighted 0: the mean over the
    steps (all ``num_steps`` of them, masked ones included) per sequence, shape (batch,)."""

    def forward(self, pred, label, valid_len):
        if label.ndim != 2 or valid_len.shape != label.shape[:1]:
            raise BadArgument(
                f"MaskedSoftmaxCELoss: label must be (batch_size, num_steps) and valid_len "
                f"(batch_size,); got {label.shape} and {valid_len.shape}")
        weights = np.expand_dims(np.ones_like(label, dtype=pred.dtype), axis=-1)
        weights = npx.sequence_mask(weights, valid_len.astype(pred.dtype), True, axis=1)
        return super().forward(pred, label, weights)


def train_seq2seq(net, data_iter, lr, num_epochs, tgt_vocab, device):
    """Train ``net`` (an :class:`EncoderDecoder`) from Xavier-initialised weights with Adam
    at ``lr`` for ``num_epochs`` by teacher forcing (the decoder reads ``<bos>`` and the
    target but its last token), :class:`MaskedSoftmaxCELoss`, gradients clipped to norm 1 and
    the step divided by the batch's number of valid tokens; print the loss per token and the
    speed (also returned)."""
    net.initialize(init.Xavier(), force_reinit=True, ctx=device)
    trainer = gluon.Trainer(net.collect_params(), "adam", {"learning_rate": lr})
    loss = MaskedSoftmaxCELoss()

    def train_batch(batch):
        X, X_valid_len, Y, Y_valid_len = [x.as_in_ctx(device) for x in batch]
        bos = np.full((Y.shape[0], 1), tgt_vocab["<bos>"], dtype=Y.dtype, ctx=device)
        with autograd.record():
            Y_hat, _ = net(X, np.concatenate([bos, Y[:, :-1]], 1), X_valid_len)
            losses = loss(Y_hat, Y, Y_valid_len)
        losses.backward()
        grad_clipping(net, 1)
        num_tokens = int(Y_valid_len.sum())
        trainer.step(num_tokens)
        return float(losses.sum()), num_tokens

    return seq2seq.train_seq2seq_epochs(data_iter, num_epochs, device, train_batch)
