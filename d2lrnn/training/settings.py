"""A training run's settings, each written once: its name (in Python and in the checkpoint),
its command-line flag, its default, its help line and its rule (:mod:`d2lrnn.base.checks`).

``d2lrnn train`` makes its flags from here (:mod:`d2lrnn.tools.options`), ``bench`` and
``compare`` pass the shared ones on to every run they start, the run folder checks and
resumes by them, the training run takes them, and the checkpoint records them under the same
names and validates them by the same rules (old checkpoints keep loading: a name it lacks
takes its default). A new setting is one field; a new bound, one keyword of it.
"""
import dataclasses

from ..base import checks
from ..base.backend import BACKENDS, FLOAT_DTYPES, MODEL_KINDS
from ..base.errors import BadArgument
from ..cells import CELLS, CHOICES
from .train import MAX_CLIP

# Bounds no run needs to pass, past which a checkpoint would describe a model nobody trained
# (and refused to build from a file: ``checkpoint.read``).
MAX_LAYERS = 64
MAX_HIDDENS = 1 << 16

# The book's settings (d2l.ai section 9.5), which are the defaults.
BOOK = {"batch_size": 1024, "num_steps": 32, "num_hiddens": 32, "lr": 1.0, "clip": 1.0,
        "epochs": 100, "num_train": 10000, "num_val": 5000}


def setting(default, help, *, flag=None, choices=None, least=None, above=None, most=None,
            shared=True, resumable=False):
    """A field of :class:`Settings`: its default and, as metadata, how the command line
    writes it (``flag``; ``--name`` by default), its rule (``choices``; else by the
    default's type: a flag, a whole number >= ``least`` (1 unless given), a real number >=
    ``least`` or > ``above``, and <= ``most``; a path for the corpus), whether bench and
    compare pass it on to their runs (``shared``), whether ``--resume`` may change it."""
    if choices is not None:
        rule = checks.OneOf(choices)
    elif isinstance(default, bool):
        rule = checks.Flag()
    elif isinstance(default, int):
        rule = checks.Whole(1 if least is None else least, most)
    elif isinstance(default, float):
        rule = checks.Real(least, above, most)
    else:
        rule = checks.OrNone(checks.PathText())
    return dataclasses.field(default=default, metadata={
        "help": help, "flag": flag, "rule": rule, "shared": shared, "resumable": resumable})


def seed_setting():
    return setting(0, "seed of the initial weights and of the batch order", least=0)


def dtype_setting():
    return setting("float32", "float type of the weights and the computation",
                   choices=FLOAT_DTYPES)


@dataclasses.dataclass(frozen=True)
class Settings:
    """What defines a training run (the book's settings by default)."""

    backend: str = setting("numpy", "the framework to compute with", choices=BACKENDS,
                           shared=False)
    model: str = setting("scratch", "scratch: the RNN written from the equations; concise: "
                                    "the framework's own recurrent layer on the same weights",
                         choices=MODEL_KINDS, shared=False)
    cell: str = setting("rnn", "the recurrent cell, each on the fast path: " + ", ".join(
        cell.describe() for cell in CELLS.values()), choices=CHOICES)
    layers: int = setting(1, "recurrent layers, each one's outputs the next one's inputs (the "
                             "deep RNN of 10.3)",
                          least=1, most=MAX_LAYERS)
    epochs: int = setting(BOOK["epochs"], "passes over the training windows", least=1)
    batch_size: int = setting(BOOK["batch_size"], "sequences per minibatch", least=1)
    num_steps: int = setting(BOOK["num_steps"], "characters per sequence (time steps)",
                             least=1)
    num_hiddens: int = setting(BOOK["num_hiddens"], "hidden units of the RNN",
                               flag="--hiddens", least=1, most=MAX_HIDDENS)
    num_train: int = setting(BOOK["num_train"], "training windows (the first ones of the "
                                                "corpus)", least=1)
    num_val: int = setting(BOOK["num_val"], "validation windows (the ones after the training "
                                            "windows)", least=1)
    lr: float = setting(BOOK["lr"], "learning rate of SGD", above=0,
                        resumable=True)
    clip: float = setting(BOOK["clip"], "gradient clipping threshold θ on the global norm "
                                        "(0: off)", least=0, most=MAX_CLIP,
                          resumable=True)
    seed: int = seed_setting()
    dtype: str = dtype_setting()
    corpus: str = setting(None, "a local text file to train on (default: the book, downloaded "
                                "once; see D2LRNN_DATA)")
    whole_book: bool = setting(False, "train on every window of the corpus but the last "
                                      "--num-val, not the first --num-train", shared=False)
    fast: bool = setting(True, "the fast path: the same numbers, computed sooner (--plain: "
                               "the book's code path, step by step)", flag="--plain / --fast",
                         shared=False)

    def __post_init__(self):
        for field in dataclasses.fields(self):
            object.__setattr__(self, field.name, check(field, getattr(self, field.name)))
        if self.layers > 1 and self.cell == "rnn" and self.model == "concise":
            raise BadArgument("--layers > 1 needs --model scratch (the book's "
                              "StackedRNNScratch) or a concise --cell gru / lstm (the book "
                              "library's GRU(num_layers=...)): the book's concise RNN is one "
                              "layer")

    @classmethod
    def of(cls, mapping):
        """Settings from a mapping (a checkpoint's hyperparameters: names it lacks take their
        defaults, names that are not settings are left out)."""
        names = {field.name for field in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in mapping.items() if k in names})

    def as_dict(self):
        return dataclasses.asdict(self)

    def replace(self, **changes):
        unknown = sorted(set(changes) - {field.name for field in dataclasses.fields(self)})
        if unknown:
            raise BadArgument(f"unknown training settings {unknown}; the settings are "
                              f"{sorted(f.name for f in dataclasses.fields(self))}")
        return dataclasses.replace(self, **changes)


FIELDS = {field.name: field for field in dataclasses.fields(Settings)}

# The book's settings of 10.7 (the RNN encoder-decoder on the English-French pairs), which are
# the translator's defaults; the book's MTFraEng reads 512 training and 128 validation pairs.
BOOK_SEQ2SEQ = {"embed_size": 256, "num_hiddens": 256, "layers": 2, "batch_size": 128,
                "num_steps": 9, "lr": 0.005, "epochs": 30, "clip": 1.0, "num_train": 512,
                "num_val": 128}


@dataclasses.dataclass(frozen=True)
class TranslationSettings:
    """What defines a translator's training run (``d2lrnn translate train``): the book's
    settings of 10.7 by default. It trains without dropout (the function every backend
    computes alike), with Adam and gradient clipping."""

    backend: str = setting("numpy", "the framework to compute with", choices=BACKENDS)
    epochs: int = setting(BOOK_SEQ2SEQ["epochs"], "passes over the training pairs")
    batch_size: int = setting(BOOK_SEQ2SEQ["batch_size"], "sentence pairs per minibatch")
    num_steps: int = setting(BOOK_SEQ2SEQ["num_steps"], "tokens per sentence (longer ones are "
                                                        "cut, shorter ones padded)")
    embed_size: int = setting(BOOK_SEQ2SEQ["embed_size"], "size of the token embeddings",
                              most=MAX_HIDDENS)
    num_hiddens: int = setting(BOOK_SEQ2SEQ["num_hiddens"], "hidden units of each GRU layer",
                               flag="--hiddens", most=MAX_HIDDENS)
    layers: int = setting(BOOK_SEQ2SEQ["layers"], "GRU layers of the encoder and the decoder",
                          most=MAX_LAYERS)
    num_train: int = setting(BOOK_SEQ2SEQ["num_train"], "training pairs (the first ones)")
    num_val: int = setting(BOOK_SEQ2SEQ["num_val"], "validation pairs (the book reads one "
                                                    "more)")
    lr: float = setting(BOOK_SEQ2SEQ["lr"], "learning rate of Adam", above=0, resumable=True)
    clip: float = setting(BOOK_SEQ2SEQ["clip"], "gradient clipping threshold on the global "
                                                "norm (0: off)", least=0, most=MAX_CLIP,
                          resumable=True)
    seed: int = seed_setting()
    dtype: str = dtype_setting()
    corpus: str = setting(None, "a local file of English<TAB>French pairs to train on "
                                "(default: the book's fra-eng.zip, downloaded once; see "
                                "D2LRNN_DATA)")

    def __post_init__(self):
        for field in dataclasses.fields(self):
            object.__setattr__(self, field.name, check(field, getattr(self, field.name)))

    of, as_dict, replace = classmethod(Settings.of.__func__), Settings.as_dict, Settings.replace


TRANSLATION_FIELDS = {field.name: field for field in dataclasses.fields(TranslationSettings)}


def option(name, fields=FIELDS):
    """The command-line option of setting ``name``, for messages."""
    return fields[name].metadata["flag"] or "--" + name.replace("_", "-")


def check(field, value, name=None):
    """``value`` as setting ``field`` takes it, or a :class:`BadArgument` naming it as
    ``name`` (by default its flag)."""
    return field.metadata["rule"].check(value, name or field.metadata["flag"]
                                        or "--" + field.name.replace("_", "-"))
