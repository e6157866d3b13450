"""The texts tests train on: the book, fetched and verified by the package's own download
where it is not here yet (``D2LRNN_DATA``, else the package's cache: once, then kept), else,
offline, a text of our own that a model learns from as fast as from the book."""
import functools
import os
from pathlib import Path

import pytest


@functools.cache
def _the_book():
    """(the verified book's path, None) or (None, why it could not be had); asked once."""
    from d2lrnn.book import data

    folder = os.environ.get("D2LRNN_DATA")
    if folder and (Path(folder) / data.FILENAME).is_file():
        path = Path(folder) / data.FILENAME
        assert data.sha1_of(path) == data.SHA1, f"{path} is not the book's timemachine.txt"
        return path, None
    try:
        return data.download_timemachine(), None  # $D2LRNN_DATA, else the user's cache
    except data.CorpusError as err:
        return None, str(err)


def book_path():
    """The verified book, or, where it cannot be had (offline), a skip that says why: only
    for tests of the book itself (the others train on :func:`book_or_synthetic`)."""
    path, why = _the_book()
    if path is None:
        pytest.skip(f"the book cannot be had here: {why}")
    return path


def synthetic_corpus(folder, words=4000, seed=0):
    """A text file of pseudo-random words (letters, spaces, punctuation, capitals) for tests
    that must run without the book. The words come as in English, a few often and most
    rarely (Zipf's law: the k-th with probability proportional to 1/k), so that a model's
    loss falls in the training-parity tests' 50 steps as on the book (the GRU's by 0.54,
    0.48 on the book); drawn uniformly, it fell by 0.28, under those tests' guard of 0.3."""
    import numpy as np

    rng = np.random.default_rng(seed)
    vocabulary = ("the of and a to in was it that he had his as with at we for but not said "
                  "time has very one from by machine traveller little were odd Filby is "
                  "psychologist upon came then like light thing world").split()
    weights = 1 / np.arange(1, len(vocabulary) + 1)
    text = " ".join(rng.choice(vocabulary, words, p=weights / weights.sum())) + ".\n"
    path = folder / "synthetic.txt"
    path.write_text(text.replace(" of ", ", of ").replace(" we ", "; We "), encoding="utf-8")
    return path


def book_or_synthetic(folder):
    """The book where it can be had, else a synthetic text written into ``folder``."""
    path, _ = _the_book()
    return path if path is not None else synthetic_corpus(folder)


# -- a parallel corpus of our own, in the format of the book's fra-eng/fra.txt -----------------
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


def parallel_pairs(pairs=800, seed=0):
    """``pairs`` lines ``English<TAB>French`` of the grammar above (joined by newlines, the
    last one ended too), the same for a seed on every machine."""
    import random

    rng = random.Random(seed)
    return "".join(f"{english}\t{french}\n" for english, french in
                   (_pair(rng) for _ in range(pairs)))


def parallel_corpus(folder, pairs=800, seed=0):
    """Write the stand-in pairs into ``folder`` as the book ships them, ``fra-eng.zip``
    holding ``fra-eng/fra.txt``; return (the archive's path, its SHA-1)."""
    import hashlib
    import zipfile

    archive = Path(folder) / "fra-eng.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr("fra-eng/fra.txt", parallel_pairs(pairs, seed))
    return archive, hashlib.sha1(archive.read_bytes()).hexdigest()
