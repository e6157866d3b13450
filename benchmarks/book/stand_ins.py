"""Stand-ins for the book's library classes that the package does not have yet, so that
``run_cells.py --stand-ins`` can run the sections that need them (for now 10.7, which trains
on ``d2l.MTFraEng``): each is put on a backend only where the backend lacks the name.

``MTFraEng`` here has the book's constructor and the members 10.7 uses (``src_vocab``,
``tgt_vocab``, ``num_steps``, ``get_dataloader``, ``build``) on a small English-French corpus
made up here, in the book's format (tokens split by spaces, punctuation its own token);
nothing is downloaded. It is not the book's data: losses and translations mean nothing.
"""
import itertools

import numpy as np

# (English, French) words of a made-up corpus: pronoun, verb, object.
PRONOUNS = (("i", "je", 0), ("you", "tu", 1), ("he", "il", 2), ("she", "elle", 2),
            ("we", "nous", 3), ("they", "ils", 4))
VERBS = (("see", ("vois", "vois", "voit", "voyons", "voient")),
         ("take", ("prends", "prends", "prend", "prenons", "prennent")))
OBJECTS = (("the cat", "le chat"), ("the dog", "le chien"), ("the book", "le livre"),
           ("the train", "le train"), ("the garden", "le jardin"))


def pairs():
    """Every sentence of the corpus and its translation, tokenized ("i see the cat .")."""
    return [(f"{en} {verb} {obj} .", f"{fr} {forms[person]} {obj_fr} .")
            for (en, fr, person), (verb, forms), (obj, obj_fr)
            in itertools.product(PRONOUNS, VERBS, OBJECTS)]


def install(d2l):
    """Put the stand-ins on backend module ``d2l`` where it lacks them."""
    if not hasattr(d2l, "MTFraEng"):
        d2l.MTFraEng = translation_data(d2l)


def translation_data(d2l):
    class MTFraEng(d2l.DataModule):
        """English-French pairs as the book's MTFraEng gives them (a stand-in)."""

        def __init__(self, batch_size, num_steps=9, num_train=512, num_val=128):
            super().__init__()
            self.save_hyperparameters()
            corpus = pairs()
            rows = [corpus[i % len(corpus)] for i in range(num_train + num_val)]
            src = [s.split(" ") + ["<eos>"] for s, _ in rows]
            tgt = [t.split(" ") + ["<eos>"] for _, t in rows]
            reserved = ["<pad>", "<bos>", "<eos>"]
            self.src_vocab = d2l.Vocab(src, reserved_tokens=reserved)
            self.tgt_vocab = d2l.Vocab(tgt, reserved_tokens=reserved)
            self.arrays = self._arrays(src, tgt)

        def _arrays(self, src, tgt):
            def padded(sentences, vocab, bos):
                ids = [vocab[(["<bos>"] if bos else []) + s][:self.num_steps]
                       for s in sentences]
                return np.array([row + [vocab["<pad>"]] * (self.num_steps - len(row))
                                 for row in ids], dtype="int64")

            source = padded(src, self.src_vocab, False)
            target = padded(tgt, self.tgt_vocab, True)
            label = padded(tgt, self.tgt_vocab, False)
            valid = (source != self.src_vocab["<pad>"]).sum(1)
            return tuple(d2l.tensor(a) for a in (source, target, valid, label))

        def get_dataloader(self, train):
            rows = slice(0, self.num_train) if train else slice(self.num_train, None)
            return self.get_tensorloader(self.arrays, train, rows)

        def build(self, src_sentences, tgt_sentences):
            src = [s.split(" ") + ["<eos>"] for s in src_sentences]
            tgt = [t.split(" ") + ["<eos>"] for t in tgt_sentences]
            return self._arrays(src, tgt)

    return MTFraEng
