"""What the translation chapter (d2l.ai 10.5-10.8) needs beyond the book's names: the book's
English-French pairs, or where they cannot be had (offline, with no copy in ``D2LRNN_DATA``) a
stand-in corpus of our own in the same format; and the NumPy reference trained as the
frameworks' ``Seq2Seq`` is (it has no autograd: its backward is written by hand, its Adam is
the package's)."""
import logging
import random
import tempfile
from pathlib import Path

from ..base.downloads import DownloadError
from ..book.seq2seq import CELL
from ..maths import seq2seq
from ..training.adam import Adam

# A parallel corpus of our own, in the format of the book's fra-eng/fra.txt (the tests train
# on it too, tests/_corpora.py).
#
# A small grammar: a subject, a verb in the present, an object (a noun with or without an
# adjective), at times a word of time; a statement, a question or an exclamation. Each part
# has its French by rule: the verb conjugated for the subject, "je" elided before a vowel,
# the adjective agreeing with the noun's gender, before it (grand, petit) or after (rouge),
# a space (some of them no-break, as in the real file) before "!" and "?".

_SUBJECTS = [("I", "je", 0), ("you", "tu", 1), ("he", "il", 2), ("she", "elle", 2),
             ("we", "nous", 3), ("they", "ils", 4)]
# English (base, third person), French by person: je, tu, il/elle, nous, ils
_VERBS = [("see", "sees", ["vois", "vois", "voit", "voyons", "voient"]),
          ("like", "likes", ["aime", "aimes", "aime", "aimons", "aiment"]),
          ("want", "wants", ["veux", "veux", "veut", "voulons", "veulent"]),
          ("have", "has", ["ai", "as", "a", "avons", "ont"]),
          ("eat", "eats", ["mange", "manges", "mange", "mangeons", "mangent"]),
          ("find", "finds", ["trouve", "trouves", "trouve", "trouvons", "trouvent"])]
# English, French, feminine
_NOUNS = [("cat", "chat", False), ("dog", "chien", False), ("book", "livre", False),
          ("house", "maison", True), ("apple", "pomme", True), ("car", "voiture", True),
          ("bread", "pain", False), ("letter", "lettre", True)]
# English, French masculine, feminine, before the noun
_ADJECTIVES = [("big", "grand", "grande", True), ("small", "petit", "petite", True),
               ("red", "rouge", "rouge", False), ("new", "nouveau", "nouvelle", True),
               ("calm", "calme", "calme", False)]
# (with "calm" and "home", each sentence 10.7 translates has a word the corpus knows)
_TIMES = [("today", "aujourd'hui"), ("now", "maintenant"), ("again", "encore"),
          ("at home", "à la maison")]
_COMMANDS = [("Go.", "Va !"), ("Run!", "Cours !"), ("Stop!", "Arrête !"), ("Wait.", "Attends."),
             ("Come in.", "Entre."), ("Help!", "À l'aide !")]


def _pair(rng):
    """One (English, French) sentence pair of the grammar, drawn by ``rng``."""
    if rng.random() < 0.08:
        return rng.choice(_COMMANDS)
    subject, sujet, person = rng.choice(_SUBJECTS)
    base, third, forms = rng.choice(_VERBS)
    noun, nom, feminine = rng.choice(_NOUNS)
    definite = rng.random() < 0.6
    article = "the" if definite else ("an" if noun[0] in "aeiou" else "a")
    article_fr = ("la" if feminine else "le") if definite else ("une" if feminine else "un")
    english, french = [noun], [nom]
    if rng.random() < 0.5:
        adjective, masculine, feminine_form, before = rng.choice(_ADJECTIVES)
        english.insert(0, adjective)
        french.insert(0 if before else 1, feminine_form if feminine else masculine)
        if article == "an":
            article = "a"
    verb = forms[person]
    english = [subject, third if person == 2 else base, article, *english]
    french = [f"j'{verb}" if sujet == "je" and verb[0] in "aeiou" else f"{sujet} {verb}",
              article_fr, *french]
    if rng.random() < 0.3:
        time, temps = rng.choice(_TIMES)
        english.append(time)
        french.append(temps)
    kind, end, fin = rng.random(), ".", "."
    if kind < 0.2:  # a question: "do you ...?" -> "est-ce que tu ... ?"
        english = ["does" if person == 2 else "do", english[0], base, *english[2:]]
        french[0] = ("est-ce qu'" if french[0][0] in "aeiou" else "est-ce que ") + french[0]
        end, fin = "?", rng.choice([" ?", "\u202f?"])
    elif kind < 0.35:
        end, fin = "!", rng.choice([" !", "\u202f!", "\xa0!"])
    english[0], french[0] = english[0][0].upper() + english[0][1:], french[0].capitalize()
    return " ".join(english) + end, " ".join(french) + fin


def stand_in_pairs(pairs=800, seed=0):
    """``pairs`` lines ``English<TAB>French`` of the grammar above (joined by newlines, the
    last one ended too), the same for a seed on every machine."""
    rng = random.Random(seed)
    return "".join(f"{english}\t{french}\n" for english, french in
                   (_pair(rng) for _ in range(pairs)))


def translation_data(d2l, **settings):
    """``d2l.MTFraEng(**settings)`` on the book's pairs where they can be had, else on the
    stand-in pairs; returns (the data, its raw text, which corpus it is)."""
    import pooch

    pooch_log = pooch.get_logger()
    level = pooch_log.level
    pooch_log.setLevel(logging.WARNING)  # its "Downloading ..." line: the download may fail
    try:
        data = d2l.MTFraEng(**settings)
        return data, data._download(), "the book's fra-eng"
    except DownloadError as err:  # offline without a copy, or a file to move away: it says
        print(f"The book's pairs cannot be had here, so the stand-in corpus is used: {err}")
    finally:
        pooch_log.setLevel(level)
    text = stand_in_pairs()
    with tempfile.TemporaryDirectory() as folder:
        corpus = Path(folder) / "fra.txt"
        corpus.write_text(text, encoding="utf-8")
        return d2l.MTFraEng(**settings, corpus=corpus), text, "the stand-in"


def train_reference(d2l, model, data, max_epochs, gradient_clip_val):
    """Train NumPy's ``Seq2Seq`` as a framework's ``Trainer`` does (Adam at ``model.lr``,
    gradients clipped by their global norm), by the reference's hand-written backward: the
    model evaluated without dropout (the reference has none). Returns the board with each
    epoch's mean training loss and validation loss."""
    ops, reset = d2l.ops, CELL.reset
    board = d2l.ProgressBoard(xlabel="epoch", display=False)
    optimizer = Adam(model.lr, clip=gradient_clip_val)
    params = model.get_params()
    state = optimizer.init(ops, params)
    for epoch in range(1, max_epochs + 1):
        losses = []
        for batch in data.train_dataloader():
            loss, grads = seq2seq.loss_and_grads(ops, params, batch, reset=reset,
                                                 pad=model.tgt_pad)
            params, state, _ = optimizer.step(ops, params, grads, state)
            losses.append(float(loss))
        board.draw(epoch, sum(losses) / len(losses), "train_loss")
        val = [float(seq2seq.loss(ops, params, batch, reset=reset, pad=model.tgt_pad))
               for batch in data.val_dataloader()]
        board.draw(epoch, sum(val) / len(val), "val_loss")
    model.set_params(params)
    return board
