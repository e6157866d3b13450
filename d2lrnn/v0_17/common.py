"""The d2l 0.17 library written once: the data of chapter 8 (8.2-8.3), the helpers the
chapters lean on (``Timer``, ``Accumulator``, ``Animator``) and the parts of training that do
not need a framework's autograd (``predict_ch8``, ``train_ch8``'s loop). Names, parameters,
order and defaults are the 0.17 package's (d2l==0.17.6); functions and classes that make
tensors take the backend's adapter as the keyword-only ``ops``, bound to each framework's by
:mod:`.bind`."""
import collections
import math
import os
import random
import time

import numpy as np

from ..base import checks, downloads
from ..base.errors import BadArgument
from ..base import plot as figures
from ..base.plot import plt, set_axes, set_figsize, use_svg_display  # noqa: F401 (SHARED)
from ..base.vocab import Vocab as _SortedVocab
from ..book.data import FILENAME, SHA1, preprocess, read_corpus
from ..training.generation import warn_unknown_characters

# What every framework's module offers as it is here (the functions and classes that take
# ``ops`` are bound to the framework's by :mod:`.bind`; ``train_ch8`` here is only its loop).
SHARED = ("DATA_HUB", "DATA_URL", "download", "read_time_machine", "tokenize", "count_corpus",
          "Vocab", "load_corpus_time_machine", "Timer", "Accumulator", "Animator", "plot", "plt",
          "set_axes", "set_figsize", "use_svg_display")

DATA_URL = downloads.DATA_URL
# The files the recurrent chapters download, under the 0.17 names (8.2's corpus, 9.5's pairs).
DATA_HUB = {"time_machine": (DATA_URL + FILENAME, SHA1),
            "fra-eng": downloads.DATA_HUB["fra-eng"]}


def download(name, cache_dir=os.path.join("..", "data")):
    """The local path of ``DATA_HUB[name]`` in ``cache_dir``, downloaded (or copied from
    ``$D2LRNN_DATA``) unless a copy with the right SHA-1 is there already."""
    if name not in DATA_HUB:
        raise BadArgument(f"download: {name!r} is not a name in DATA_HUB (known: "
                          f"{', '.join(sorted(DATA_HUB))}); add it as "
                          f"DATA_HUB[name] = (url, sha1) first")
    url, sha1_hash = DATA_HUB[name]
    return str(downloads.download(url, cache_dir, sha1_hash))


def read_time_machine():
    """The lines of the book's corpus, each with runs of non-letters made one space, stripped
    and lower-cased. The file is the verified one of ``$D2LRNN_DATA`` (or the user cache),
    downloaded there once: nothing is written next to the notebook."""
    return [preprocess(line).strip() for line in read_corpus().splitlines()]


def tokenize(lines, token="word"):
    """Each line split into words (``token='word'``) or characters (``'char'``)."""
    if token == "word":
        return [line.split() for line in lines]
    if token == "char":
        return [list(line) for line in lines]
    raise BadArgument(f"tokenize: token must be 'word' or 'char', not {token!r}")


def count_corpus(tokens):
    """How often each token occurs, in a list of tokens or a list of lists of tokens."""
    if len(tokens) == 0 or isinstance(tokens[0], list):
        tokens = [token for line in tokens for token in line]
    return collections.Counter(tokens)


class Vocab(_SortedVocab):
    """The 0.17 vocabulary: ``'<unk>'`` is index 0, then ``reserved_tokens``, then the tokens
    seen at least ``min_freq`` times, most frequent first (ties in order of first
    occurrence). 1.0's sorts its tokens instead; lookups are the same."""

    def __init__(self, tokens=None, min_freq=0, reserved_tokens=None):
        counter = count_corpus(list(tokens or []))
        self._token_freqs = sorted(counter.items(), key=lambda kv: kv[1], reverse=True)
        order = ["<unk>", *(reserved_tokens or [])]
        order += [token for token, freq in self._token_freqs if freq >= min_freq]
        self.idx_to_token = list(dict.fromkeys(order))
        self.token_to_idx = {token: idx for idx, token in enumerate(self.idx_to_token)}

    @property
    def token_freqs(self):
        return self._token_freqs

    @property
    def unk(self):
        return 0


def load_corpus_time_machine(max_tokens=-1):
    """The corpus as character indices (the first ``max_tokens`` if positive) and its
    vocabulary."""
    tokens = tokenize(read_time_machine(), "char")
    vocab = Vocab(tokens)
    corpus = [vocab[token] for line in tokens for token in line]
    if max_tokens > 0:
        corpus = corpus[:max_tokens]
    return corpus, vocab


def minibatch_sizes(batch_size, num_steps, where):
    """``batch_size`` and ``num_steps`` as whole numbers >= 1, else one line naming ``where``
    (0.17 divides by zero, or asks ``random`` for an empty range, deep in its iterators)."""
    return (checks.whole(batch_size, "batch_size", where),
            checks.whole(num_steps, "num_steps", where))


def seq_data_iter_random(corpus, batch_size, num_steps, *, ops):
    """Minibatches of subsequences in random order: a random offset below ``num_steps``,
    then disjoint subsequences of ``num_steps`` tokens, shuffled; ``Y`` is ``X`` one on."""
    batch_size, num_steps = minibatch_sizes(batch_size, num_steps, "seq_data_iter_random")
    corpus = corpus[random.randint(0, num_steps - 1):]
    num_subseqs = (len(corpus) - 1) // num_steps
    initial_indices = list(range(0, num_subseqs * num_steps, num_steps))
    random.shuffle(initial_indices)
    num_batches = num_subseqs // batch_size
    for i in range(0, batch_size * num_batches, batch_size):
        starts = initial_indices[i: i + batch_size]
        X = [corpus[j: j + num_steps] for j in starts]
        Y = [corpus[j + 1: j + 1 + num_steps] for j in starts]
        yield ops.asarray(X, "int64"), ops.asarray(Y, "int64")


def seq_data_iter_sequential(corpus, batch_size, num_steps, *, ops):
    """Minibatches whose rows continue those of the batch before: a random offset up to
    ``num_steps``, the rest cut into ``batch_size`` rows, walked ``num_steps`` at a time."""
    batch_size, num_steps = minibatch_sizes(batch_size, num_steps, "seq_data_iter_sequential")
    offset = random.randint(0, num_steps)
    num_tokens = ((len(corpus) - offset - 1) // batch_size) * batch_size
    Xs = np.asarray(corpus[offset: offset + num_tokens]).reshape(batch_size, -1)
    Ys = np.asarray(corpus[offset + 1: offset + 1 + num_tokens]).reshape(batch_size, -1)
    num_batches = Xs.shape[1] // num_steps
    for i in range(0, num_steps * num_batches, num_steps):
        yield (ops.asarray(Xs[:, i: i + num_steps], "int64"),
               ops.asarray(Ys[:, i: i + num_steps], "int64"))


class SeqDataLoader:
    """The corpus's minibatches, drawn afresh at each iteration: at least one in every epoch
    (whatever the random offset), else a :class:`BadArgument` (0.17's gives none, and
    training divides by zero)."""

    def __init__(self, batch_size, num_steps, use_random_iter, max_tokens, *, ops):
        where = "load_data_time_machine"
        batch_size, num_steps = minibatch_sizes(batch_size, num_steps, where)
        self.data_iter_fn = seq_data_iter_random if use_random_iter else \
            seq_data_iter_sequential
        self.corpus, self.vocab = load_corpus_time_machine(max_tokens)
        # the fewest tokens after the largest offset (num_steps) that make one minibatch
        if len(self.corpus) - 1 - num_steps < batch_size * num_steps:
            raise BadArgument(
                f"{where}: batch_size * num_steps ({batch_size} * {num_steps}) must be at most "
                f"the corpus's {len(self.corpus)} tokens less num_steps + 1, for one minibatch "
                f"an epoch: use a smaller batch_size or num_steps (or more max_tokens)")
        self.batch_size, self.num_steps = batch_size, num_steps
        self.ops = ops

    def __iter__(self):
        return self.data_iter_fn(self.corpus, self.batch_size, self.num_steps, ops=self.ops)


def load_data_time_machine(batch_size, num_steps, use_random_iter=False, max_tokens=10000, *,
                           ops):
    """The corpus's minibatch iterator and its vocabulary."""
    data_iter = SeqDataLoader(batch_size, num_steps, use_random_iter, max_tokens, ops=ops)
    return data_iter, data_iter.vocab


class Timer:
    """Running times, one per ``start``/``stop``."""

    def __init__(self):
        self.times = []
        self.start()

    def start(self):
        self.tik = time.time()

    def stop(self):
        self.times.append(time.time() - self.tik)
        return self.times[-1]

    def avg(self):
        return sum(self.times) / len(self.times)

    def sum(self):
        return sum(self.times)

    def cumsum(self):
        return np.array(self.times).cumsum().tolist()


class Accumulator:
    """Running sums of ``n`` quantities."""

    def __init__(self, n):
        self.data = [0.0] * n

    def add(self, *args):
        self.data = [a + _number(b) for a, b in zip(self.data, args)]

    def reset(self):
        self.data = [0.0] * len(self.data)

    def __getitem__(self, idx):
        return self.data[idx]


def _number(value):
    """``value`` as a float; a tensor that needs a gradient is detached first (the chapters
    add their loss as it is, which PyTorch warns about)."""
    detach = getattr(value, "detach", None)
    return float(detach() if callable(detach) else value)


class Animator:
    """Curves redrawn as points are added (in Jupyter, the figure is shown anew each time)."""

    def __init__(self, xlabel=None, ylabel=None, legend=None, xlim=None, ylim=None,
                 xscale="linear", yscale="linear", fmts=("-", "m--", "g-.", "r:"), nrows=1,
                 ncols=1, figsize=(3.5, 2.5)):
        use_svg_display()
        self.fig, self.axes = plt.subplots(nrows, ncols, figsize=figsize)
        if nrows * ncols == 1:
            self.axes = [self.axes]
        self.axis_settings = (xlabel, ylabel, xlim, ylim, xscale, yscale, legend or [])
        self.X, self.Y, self.fmts = None, None, fmts

    def config_axes(self):
        set_axes(self.axes[0], *self.axis_settings)

    def add(self, x, y):
        if not hasattr(y, "__len__"):
            y = [y]
        n = len(y)
        if not hasattr(x, "__len__"):
            x = [x] * n
        if not self.X:
            self.X = [[] for _ in range(n)]
        if not self.Y:
            self.Y = [[] for _ in range(n)]
        for i, (a, b) in enumerate(zip(x, y)):
            if a is not None and b is not None:
                self.X[i].append(a)
                self.Y[i].append(b)
        self.axes[0].cla()
        for xs, ys, fmt in zip(self.X, self.Y, self.fmts):
            self.axes[0].plot(xs, ys, fmt)
        self.config_axes()
        _show(self.fig)


def plot(X, Y=None, xlabel=None, ylabel=None, legend=None, xlim=None, ylim=None,
         xscale="linear", yscale="linear", fmts=("-", "m--", "g-.", "r:"), figsize=(3.5, 2.5),
         axes=None):
    """The book's ``d2l.plot`` (:func:`d2lrnn.base.plot.plot`), with 0.17's default legend."""
    figures.plot(X, Y, xlabel, ylabel, legend or (), xlim, ylim, xscale, yscale, fmts, figsize,
                 axes)


def _show(fig):
    """Show ``fig`` in place of the last one in Jupyter; outside it, nothing (no window)."""
    try:
        from IPython import display, get_ipython
    except ImportError:
        return
    if get_ipython() is not None:
        display.display(fig)
        display.clear_output(wait=True)


def evaluate_loss(net, data_iter, loss, *, ops):
    """The mean of ``loss`` over every example of ``data_iter`` (8.1's evaluation)."""
    metric = Accumulator(2)  # the summed loss, the number of examples
    for X, y in data_iter:
        out = net(X)
        losses = loss(out, ops.reshape(y, ops.shape(out)))
        metric.add(ops.sum(losses), math.prod(ops.shape(losses)))
    return metric[0] / metric[1]


class RNNModelScratch:
    """A recurrent network from the functions a notebook defines: ``get_params(vocab_size,
    num_hiddens, device)``, ``init_state(batch_size, num_hiddens, device)`` and
    ``forward_fn(inputs, state, params)``; inputs are one-hot, time first, float32 as the
    book's or the parameters' own float type (a float64 network gets float64 inputs: the
    frameworks refuse to mix them in a product)."""

    def __init__(self, vocab_size, num_hiddens, device, get_params, init_state, forward_fn, *,
                 ops):
        self.vocab_size, self.num_hiddens = vocab_size, num_hiddens
        self.params = get_params(vocab_size, num_hiddens, device)
        self.init_state, self.forward_fn = init_state, forward_fn
        self.ops = ops

    def __call__(self, X, state):
        dtype = self.ops.dtype_name(self.params[0]) if self.params else "float32"
        inputs = self.ops.one_hot(self.ops.transpose(X, (1, 0)), self.vocab_size,
                                  dtype if dtype.startswith("float") else "float32")
        return self.forward_fn(inputs, state, self.params)

    def begin_state(self, batch_size, device):
        return self.init_state(batch_size, self.num_hiddens, device)


def predict_ch8(prefix, num_preds, net, vocab, device, *, ops, state_keywords=None):
    """``prefix`` followed by ``num_preds`` characters, each the most likely after those
    before it (the prefix warms the state up). ``state_keywords``: what the framework's
    ``begin_state`` takes besides the batch size (``{"device": device}`` unless given)."""
    num_preds = checks.whole(num_preds, "num_preds", "predict_ch8", least=0)
    if not isinstance(prefix, str) or not prefix:
        raise BadArgument(f"predict_ch8: prefix must be a string of one character or more, "
                          f"got {prefix!r}")
    warn_unknown_characters(prefix, vocab, "predict_ch8", stacklevel=4)
    state = net.begin_state(batch_size=1, **(state_keywords or {"device": device}))
    outputs = [vocab[prefix[0]]]

    def last_output():
        token = ops.asarray([outputs[-1]], "int64")
        token = token if device is None else ops.to_device(token, device)
        return ops.reshape(token, (1, 1))

    for y in prefix[1:]:
        _, state = net(last_output(), state)
        outputs.append(vocab[y])
    for _ in range(num_preds):
        y, state = net(last_output(), state)
        outputs.append(int(ops.to_numpy(ops.argmax(y, 1)).reshape(1)[0]))
    return "".join([vocab.idx_to_token[i] for i in outputs])


def run_epoch_ch8(train_iter, use_random_iter, *, begin_state, detach, step):
    """train_epoch_ch8's loop, the same in every framework: the state from ``begin_state(X)``
    for each random minibatch (or the first one), else ``detach(state)`` of the one before;
    ``step(X, Y, state)`` trains on the minibatch and returns (the mean loss, the number of
    tokens, the state after it). The perplexity and the tokens per second."""
    state, timer = None, Timer()
    metric = Accumulator(2)  # the summed loss, the number of tokens
    for X, Y in train_iter:
        state = begin_state(X) if state is None or use_random_iter else detach(state)
        mean_loss, num_tokens, state = step(X, Y, state)
        metric.add(float(mean_loss) * num_tokens, num_tokens)
    return math.exp(metric[0] / metric[1]), metric[1] / timer.stop()


def checked_training(lr, num_epochs):
    """``train_ch8``'s ``lr`` (a number > 0, as a float) and ``num_epochs`` (a whole number >=
    1: 0.17's has no perplexity to print after none), or a :class:`BadArgument`."""
    return (checks.real(lr, "lr", "train_ch8", above=0),
            checks.whole(num_epochs, "num_epochs", "train_ch8"))


def train_ch8(net, train_iter, vocab, lr, num_epochs, device, use_random_iter=False, *,
              loss, make_updater, train_epoch, predict):
    """Train ``net`` for ``num_epochs`` (the perplexity drawn every ten), then print the
    perplexity, the speed and two predictions. The framework's module passes its ``loss``,
    its updater maker, its ``train_epoch_ch8`` (called as PyTorch's and MXNet's: ``(net,
    train_iter, loss, updater, device, use_random_iter)``) and its ``predict_ch8``."""
    lr, num_epochs = checked_training(lr, num_epochs)
    animator = Animator(xlabel="epoch", ylabel="perplexity", legend=["train"],
                        xlim=[10, num_epochs])
    updater = make_updater(net, lr)

    def predict_50(prefix):
        return predict(prefix, 50, net, vocab, device)

    ppl = speed = math.nan
    for epoch in range(num_epochs):
        ppl, speed = train_epoch(net, train_iter, loss, updater, device, use_random_iter)
        if (epoch + 1) % 10 == 0:
            print(predict_50("time traveller"))
            animator.add(epoch + 1, [ppl])
    print(f"perplexity {ppl:.1f}, {speed:.1f} tokens/sec on {device}")
    print(predict_50("time traveller"))
    print(predict_50("traveller"))
    return ppl
