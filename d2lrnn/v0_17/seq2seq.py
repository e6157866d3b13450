"""The d2l 0.17 library's chapter 9 written once (zh.d2l.ai 9.5-9.7): the English-French
pairs as 0.17 reads, cuts and batches them, the training loop of ``train_seq2seq`` and the
greedy ``predict_seq2seq``. Names, parameters, order and defaults are the 0.17 package's
(d2l==0.17.6); functions that make tensors take the backend's adapter as the keyword-only
``ops``, bound by each framework's module, which adds the models and the autograd step.

The pairs are the package's (:mod:`d2lrnn.book.translation`): one download of the book's
archive (``$D2LRNN_DATA`` first), one parser (a line without a tab or with an empty side is
refused in one line, where 0.17 skips it or keeps an empty sentence), one BLEU, one
histogram."""
import math
import os

import numpy as np

from ..base import checks
from ..base.downloads import cache_dir, extract, local_copy
from ..base.errors import BadArgument, BadType
from ..book.translation import (
    bleu,  # noqa: F401 (offered by each framework's module: SHARED)
    read_book_pairs,
    show_list_len_pair_hist,  # noqa: F401
    space_marks,
    split_pairs,
)
from .common import DATA_HUB, Accumulator, Animator, Timer, Vocab, download, minibatch_sizes

DATA_FOLDER = os.path.join("..", "data")  # 0.17's cache, beside the notebook's folder
RESERVED_TOKENS = ("<pad>", "<bos>", "<eos>")  # both vocabularies', in 0.17's order

# The type of the token ids made here, by the adapter's name: what 0.17's ``d2l.tensor`` makes
# of a list of ints in each framework (MXNet's np.array float32, TensorFlow's tf.constant
# int32). The book's cells concatenate ids they make that way to these (9.7's <bos>), which
# MXNet and TensorFlow refuse across types.
ID_TYPES = {"torch": "int64", "mxnet": "float32", "tensorflow": "int32"}


# The names a framework's module offers as they are (the others take its adapter: bind.py).
SHARED = ("download_extract", "read_data_nmt", "preprocess_nmt", "tokenize_nmt", "truncate_pad",
          "bleu", "show_list_len_pair_hist")


def download_extract(name, folder=None):
    """``DATA_HUB[name]`` downloaded (see :func:`.common.download`) and unpacked beside it:
    the folder it unpacks to (the archive's name without its extension), or ``folder``
    there. Without the archive in ``../data`` or the package's cache, a folder already
    unpacked in that cache (``$D2LRNN_DATA/fra-eng/``) is taken, as :func:`read_data_nmt`
    takes one: so 9.5's own reading of ``fra.txt`` runs offline too."""
    url, sha1_hash = DATA_HUB.get(name, (None, None))  # download refuses a name not there
    archive = local_copy(url, DATA_FOLDER, sha1_hash) if url else None  # hashed once
    if archive is None:
        unpacked = cache_dir() / os.path.splitext(url.rsplit("/", 1)[-1])[0] if url else None
        if unpacked is not None and unpacked.is_dir():
            return str(unpacked / folder) if folder else str(unpacked)
        archive = download(name)
    extract(archive)
    base_dir = os.path.dirname(archive)
    return os.path.join(base_dir, folder) if folder else os.path.splitext(archive)[0]


def read_data_nmt():
    """The raw text of the English-French pairs (``fra-eng/fra.txt``), from the archive
    ``DATA_HUB['fra-eng']`` names, in ``../data`` as 0.17 reads it, or the package's cache
    (``$D2LRNN_DATA``)."""
    return read_book_pairs(DATA_FOLDER, hub=DATA_HUB)


def preprocess_nmt(text):
    """No-break spaces made plain, lower case, a space before each ``,.!?`` that follows
    anything but a space."""
    return space_marks(text)


def tokenize_nmt(text, num_examples=None):
    """(source sentences, target sentences) as lists of words, of the lines ``0 ..
    num_examples`` (all where None); blank lines are skipped."""
    return split_pairs(text, _checked_examples(num_examples, "tokenize_nmt"))


def _checked_examples(num_examples, where):
    """None (every pair), or a whole number >= 1 (0.17 reads 0 as every pair, and a negative
    number as none)."""
    return None if num_examples is None else checks.whole(num_examples, "num_examples", where)


def truncate_pad(line, num_steps, padding_token):
    """``line`` cut to its first ``num_steps`` tokens, or padded to ``num_steps`` with
    ``padding_token``."""
    num_steps = checks.whole(num_steps, "num_steps", "truncate_pad")
    if len(line) > num_steps:
        return line[:num_steps]
    return line + [padding_token] * (num_steps - len(line))


def build_array_nmt(lines, vocab, num_steps, *, ops):
    """(ids (sentences, num_steps), valid lengths (sentences,)): each sentence's ids with
    ``<eos>`` appended, cut or padded with ``<pad>`` (in the framework's type of
    ``ID_TYPES``); a valid length counts the ids that are not ``<pad>`` (int32, as 0.17's)."""
    rows = [truncate_pad(vocab[line] + [vocab["<eos>"]], num_steps, vocab["<pad>"])
            for line in lines]
    array = np.asarray(rows, dtype=np.int64).reshape(len(rows), num_steps)
    valid_len = (array != vocab["<pad>"]).sum(axis=1).astype(np.int32)
    return ops.asarray(array, ID_TYPES[ops.name]), ops.asarray(valid_len, "int32")


def load_data_nmt_over(load_array, ops, module):
    """0.17's ``load_data_nmt`` for a framework: its minibatches made by ``load_array`` (the
    framework module's), its tensors by ``ops``, presented as defined in ``module``."""

    def load_data_nmt(batch_size, num_steps, num_examples=600):
        """The shuffled minibatches ``(X, X_valid_len, Y, Y_valid_len)`` of the first pairs
        (lines ``0 .. num_examples``; the framework's iterator of ``load_array``) and the
        source and target vocabularies (the words seen at least twice, after ``<unk>``,
        ``<pad>``, ``<bos>``, ``<eos>``)."""
        minibatch_sizes(batch_size, num_steps, "load_data_nmt")  # before the pairs are read
        _checked_examples(num_examples, "load_data_nmt")
        source, target = tokenize_nmt(preprocess_nmt(read_data_nmt()), num_examples)
        src_vocab = Vocab(source, min_freq=2, reserved_tokens=list(RESERVED_TOKENS))
        tgt_vocab = Vocab(target, min_freq=2, reserved_tokens=list(RESERVED_TOKENS))
        src_array, src_valid_len = build_array_nmt(source, src_vocab, num_steps, ops=ops)
        tgt_array, tgt_valid_len = build_array_nmt(target, tgt_vocab, num_steps, ops=ops)
        data_iter = load_array((src_array, src_valid_len, tgt_array, tgt_valid_len),
                               batch_size)
        return data_iter, src_vocab, tgt_vocab

    load_data_nmt.__module__, load_data_nmt.__qualname__ = module, "load_data_nmt"
    return load_data_nmt


def encoder_decoder_classes(base, module):
    """0.17's ``Encoder``, ``Decoder`` and ``EncoderDecoder`` on ``base`` (PyTorch's
    ``nn.Module``, Gluon's ``nn.Block``: both run ``forward``), presented as defined in
    ``module`` (the framework's). TensorFlow's, on Keras layers, pass ``**kwargs`` on: its
    module writes them."""

    class Encoder(base):
        """The encoder of an encoder-decoder: ``forward(X, *args)``."""

        def __init__(self, **kwargs):
            super().__init__(**kwargs)

        def forward(self, X, *args):
            raise NotImplementedError

    class Decoder(base):
        """The decoder of an encoder-decoder: ``init_state(enc_outputs, *args)`` makes its
        state of the encoder's outputs, ``forward(X, state)`` gives (outputs, state)."""

        def __init__(self, **kwargs):
            super().__init__(**kwargs)

        def init_state(self, enc_outputs, *args):
            raise NotImplementedError

        def forward(self, X, state):
            raise NotImplementedError

    class EncoderDecoder(base):
        """An encoder and a decoder: ``forward(enc_X, dec_X, *args)`` is the decoder's
        (outputs, state) on ``dec_X`` from the state the encoder's outputs give."""

        def __init__(self, encoder, decoder, **kwargs):
            super().__init__(**kwargs)
            self.encoder = encoder
            self.decoder = decoder

        def forward(self, enc_X, dec_X, *args):
            enc_outputs = self.encoder(enc_X, *args)
            dec_state = self.decoder.init_state(enc_outputs, *args)
            return self.decoder(dec_X, dec_state)

    for cls in (Encoder, Decoder, EncoderDecoder):
        cls.__module__, cls.__qualname__ = module, cls.__name__
    return Encoder, Decoder, EncoderDecoder


def train_seq2seq_epochs(data_iter, num_epochs, device, train_batch):
    """The epochs of 0.17's ``train_seq2seq``: ``train_batch(batch)`` takes one optimisation
    step and gives (the batch's summed loss, its number of valid tokens); their ratio over
    an epoch is drawn every ten epochs, the last epoch's printed with its speed, and
    returned. As 0.17's, that ratio is the loss per valid token divided by ``num_steps``
    (each sequence's loss is a mean over all its steps, padding included)."""
    animator = Animator(xlabel="epoch", ylabel="loss", xlim=[10, num_epochs])
    metric, timer = Accumulator(2), Timer()  # the summed loss, the number of tokens
    for epoch in range(num_epochs):
        timer, metric = Timer(), Accumulator(2)
        for batch in data_iter:
            metric.add(*train_batch(batch))
        if (epoch + 1) % 10 == 0:
            animator.add(epoch + 1, (metric[0] / metric[1],))
    loss = metric[0] / metric[1] if metric[1] else math.nan
    print(f"loss {loss:.3f}, {metric[1] / timer.stop():.1f} tokens/sec on {device}")
    return loss


def predict_seq2seq(net, src_sentence, src_vocab, tgt_vocab, num_steps, device,
                    save_attention_weights=False, *, ops):
    """The greedy translation of ``src_sentence`` (lower-cased, split at spaces, ``<eos>``
    appended, cut or padded to ``num_steps``): each step's most likely token fed back, until
    ``<eos>`` or ``num_steps`` tokens. Returns (the translation, a string of tokens; the
    decoder's ``attention_weights`` of each step where ``save_attention_weights``, else
    [])."""
    if not isinstance(src_sentence, str):
        raise BadType(f"predict_seq2seq: src_sentence must be a sentence (a string), "
                             f"got {type(src_sentence).__name__}")

    def tensor(ids):  # on ``device``; None (TensorFlow's 0.17 has no device): the default
        array = ops.asarray(ids, ID_TYPES[ops.name])
        return array if device is None else ops.to_device(array, device)

    words = src_sentence.lower().split(" ")
    src_tokens = src_vocab[words] + [src_vocab["<eos>"]]
    if all(token == src_vocab.unk for token in src_tokens[:-1]):
        known = 1 + len(RESERVED_TOKENS)  # the first word after <unk> and the reserved
        raise BadArgument(f"predict_seq2seq: none of the words of {src_sentence!r} is in the "
                          f"source vocabulary (the training pairs' words seen twice or more, "
                          f"e.g. {' '.join(src_vocab.idx_to_token[known:known + 5])!r}): write the "
                          f"sentence in those, lower-case, a space before . , ! ?")
    enc_valid_len = tensor([len(src_tokens)])
    enc_X = tensor([truncate_pad(src_tokens, num_steps, src_vocab["<pad>"])])
    enc_outputs = net.encoder(enc_X, enc_valid_len)
    dec_state = net.decoder.init_state(enc_outputs, enc_valid_len)
    dec_X = tensor([[tgt_vocab["<bos>"]]])
    output_seq, attention_weight_seq = [], []
    for _ in range(num_steps):
        Y, dec_state = net.decoder(dec_X, dec_state)
        dec_X = ops.argmax(Y, 2)
        pred = int(ops.to_numpy(dec_X).reshape(-1)[0])
        if save_attention_weights:
            attention_weight_seq.append(net.decoder.attention_weights)
        if pred == tgt_vocab["<eos>"]:
            break
        output_seq.append(pred)
    return " ".join(tgt_vocab.to_tokens(output_seq)), attention_weight_seq
