"""The d2l 0.17 library in PyTorch: ``from d2lrnn.v0_17 import torch as d2l``. The names
:mod:`.common` writes once, bound to PyTorch's adapter, and what needs PyTorch itself: the
models on ``nn.Module``, the autograd steps, the tensor aliases of the chapters."""
import functools

from ..torch import book as backend
from ..torch.ops import ops, torch
from ..base.errors import BadArgument
from . import common, seq2seq
from .bind import library

nn = torch.nn
F = torch.nn.functional

# common's names, bound to this framework's adapter where they make tensors, and the
# devices and tensor aliases of the 1.0 backend (what follows replaces some of them)
_library = library(ops, __name__, backend, (common, seq2seq))
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


# -- chapter 9 (9.5-9.7): machine translation, the encoder-decoder, seq2seq -------------------

__all__ = list(dict.fromkeys([
    *__all__, "load_data_nmt", "Encoder", "Decoder", "EncoderDecoder", "Seq2SeqEncoder",
    "sequence_mask", "MaskedSoftmaxCELoss", "train_seq2seq", "predict_seq2seq"]))


load_data_nmt = seq2seq.load_data_nmt_over(load_array, ops, __name__)


Encoder, Decoder, EncoderDecoder = seq2seq.encoder_decoder_classes(nn.Module, __name__)


class Seq2SeqEncoder(Encoder):
    """9.7's encoder: token embeddings through ``nn.GRU``; ``forward(X)`` of ids (batch,
    steps) gives (outputs (steps, batch, num_hiddens), state (num_layers, batch,
    num_hiddens)), every step's, padding included (0.17 ignores the valid lengths)."""

    def __init__(self, vocab_size, embed_size, num_hiddens, num_layers, dropout=0, **kwargs):
        super().__init__(**kwargs)
        self.embedding = nn.Embedding(vocab_size, embed_size)
        self.rnn = nn.GRU(embed_size, num_hiddens, num_layers, dropout=dropout)

    def forward(self, X, *args):
        X = self.embedding(X).permute(1, 0, 2)  # time first
        return self.rnn(X)


def sequence_mask(X, valid_len, value=0):
    """``X`` (batch, steps, ...) with the entries of each row past its valid length set to
    ``value``, in place (as 0.17's), and returned."""
    if X.dim() < 2 or valid_len.shape != X.shape[:1]:
        raise BadArgument(f"sequence_mask: X must be (batch_size, num_steps, ...) and valid_len "
                          f"(batch_size,); got {tuple(X.shape)} and {tuple(valid_len.shape)}")
    steps = torch.arange(X.size(1), dtype=torch.float32, device=X.device)
    X[~(steps[None, :] < valid_len[:, None])] = value
    return X


class MaskedSoftmaxCELoss(nn.CrossEntropyLoss):
    """Softmax cross-entropy of logits ``pred`` (batch, steps, vocabulary) against ``label``
    (batch, steps), the steps past each sequence's ``valid_len`` weighted 0: the mean over the
    steps (all ``num_steps`` of them, masked ones included) per sequence, shape (batch,)."""

    def forward(self, pred, label, valid_len):
        weights = sequence_mask(torch.ones_like(label), valid_len)
        unweighted_loss = F.cross_entropy(pred.permute(0, 2, 1), label, reduction="none")
        return (unweighted_loss * weights).mean(dim=1)


def train_seq2seq(net, data_iter, lr, num_epochs, tgt_vocab, device):
    """Train ``net`` (an :class:`EncoderDecoder`) from Xavier-initialised weights with Adam
    at ``lr`` for ``num_epochs`` by teacher forcing (the decoder reads ``<bos>`` and the
    target but its last token), the summed :class:`MaskedSoftmaxCELoss` of each batch,
    gradients clipped to norm 1; print the loss per token and the speed (also returned)."""
    net.apply(ops.xavier_layer)  # the book's xavier_init_weights
    net.to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    loss = MaskedSoftmaxCELoss()
    net.train()

    def train_batch(batch):
        optimizer.zero_grad()
        X, X_valid_len, Y, Y_valid_len = [x.to(device) for x in batch]
        bos = torch.full((Y.shape[0], 1), tgt_vocab["<bos>"], dtype=Y.dtype, device=device)
        Y_hat, _ = net(X, torch.cat([bos, Y[:, :-1]], 1), X_valid_len)
        summed = loss(Y_hat, Y, Y_valid_len).sum()
        summed.backward()
        grad_clipping(net, 1)
        optimizer.step()
        return summed, Y_valid_len.sum()

    return seq2seq.train_seq2seq_epochs(data_iter, num_epochs, device, train_batch)


def predict_seq2seq(net, src_sentence, src_vocab, tgt_vocab, num_steps, device,
                    save_attention_weights=False):
    """The greedy translation of ``src_sentence`` by ``net`` in evaluation mode, and the
    decoder's attention weights of each step where ``save_attention_weights`` (see
    :func:`.seq2seq.predict_seq2seq`)."""
    net.eval()
    with torch.no_grad():
        return seq2seq.predict_seq2seq(net, src_sentence, src_vocab, tgt_vocab, num_steps,
                                       device, save_attention_weights, ops=ops)
