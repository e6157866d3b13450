"""Token <-> index maps, as the book's ``Vocab`` (d2l.ai section 9.2, "Converting Raw Text
into Sequence Data")."""
import collections

from .errors import BadArgument


class Vocab:
    """The vocabulary of a list of tokens (or of lists of tokens).

    Indices follow the sorted order of the tokens, ``'<unk>'`` and any ``reserved_tokens``
    included, keeping only tokens seen at least ``min_freq`` times. Unknown tokens map to
    ``'<unk>'``.
    """

    def __init__(self, tokens=(), min_freq=0, reserved_tokens=()):
        tokens = list(tokens)
        if tokens and isinstance(tokens[0], (list, tuple)):
            tokens = [token for line in tokens for token in line]
        counter = collections.Counter(tokens)
        self.token_freqs = sorted(counter.items(), key=lambda kv: kv[1], reverse=True)
        kept = {token for token, freq in self.token_freqs if freq >= min_freq}
        self.idx_to_token = sorted({"<unk>", *(reserved_tokens or ()), *kept})
        self.token_to_idx = {token: idx for idx, token in enumerate(self.idx_to_token)}

    def __len__(self):
        return len(self.idx_to_token)

    def __getitem__(self, tokens):
        """The index of a token, or the list of indices of a list of tokens."""
        if isinstance(tokens, (list, tuple)):
            return [self[token] for token in tokens]
        return self.token_to_idx.get(tokens, self.unk)

    def to_tokens(self, indices):
        if hasattr(indices, "__len__") and not isinstance(indices, str):
            return [self.idx_to_token[int(index)] for index in indices]
        return self.idx_to_token[int(indices)]

    @property
    def unk(self):
        return self.token_to_idx["<unk>"]

    @classmethod
    def from_counts(cls, counts, min_freq=0, reserved_tokens=()):
        """The vocabulary ``Vocab(tokens)`` makes, from ``[(token, count)]`` in the order of
        the tokens' first occurrence (as ``collections.Counter`` lists them)."""
        vocab = cls(min_freq=min_freq, reserved_tokens=reserved_tokens)
        vocab.token_freqs = sorted(counts, key=lambda kv: kv[1], reverse=True)
        kept = {token for token, freq in vocab.token_freqs if freq >= min_freq}
        vocab.idx_to_token = sorted({"<unk>", *(reserved_tokens or ()), *kept})
        vocab.token_to_idx = {token: idx for idx, token in enumerate(vocab.idx_to_token)}
        return vocab

    @classmethod
    def from_tokens(cls, idx_to_token):
        """The vocabulary whose index order is ``idx_to_token`` (e.g. from a checkpoint)."""
        if "<unk>" not in idx_to_token or len(set(idx_to_token)) != len(idx_to_token):
            raise BadArgument("a vocabulary needs distinct tokens, '<unk>' among them")
        vocab = cls()
        vocab.idx_to_token = list(idx_to_token)
        vocab.token_to_idx = {token: idx for idx, token in enumerate(vocab.idx_to_token)}
        return vocab
