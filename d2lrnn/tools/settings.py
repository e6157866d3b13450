"""A training run's settings, each written once: its name (in Python and in the checkpoint),
its command-line flag, its default, its help line and its check.

``d2lrnn train`` makes its flags from here, ``bench`` and ``compare`` pass the shared ones on
to every run they start, the run folder checks and resumes by them, the training run takes
them, and the checkpoint records them under the same names (old checkpoints keep loading:
a name it lacks takes its default).
"""
import argparse
import dataclasses
import math
import numbers

from ..base.backend import BACKENDS, FLOAT_DTYPES, MODEL_KINDS
from ..base.errors import BadArgument, not_one_of
from ..cells import CELLS
from ..training.train import MAX_CLIP

# The book's settings (d2l.ai section 9.5), which are the defaults.
BOOK = {"batch_size": 1024, "num_steps": 32, "num_hiddens": 32, "lr": 1.0, "clip": 1.0,
        "epochs": 100, "num_train": 10000, "num_val": 5000}


def setting(default, help, *, flag=None, choices=None, least=None, above=None, most=None,
            real=False, shared=True, resumable=False):
    """A field of :class:`Settings`: its default and, as metadata, how the command line
    writes it (``flag``; ``--name`` by default), what it may be (``choices``; a whole
    number >= ``least``; a ``real`` number >= ``least`` or > ``above``, and <= ``most``),
    whether bench and compare pass it on to their runs (``shared``), whether ``--resume``
    may change it."""
    return dataclasses.field(default=default, metadata={
        "help": help, "flag": flag, "choices": choices, "least": least, "above": above,
        "most": most, "real": real, "shared": shared, "resumable": resumable})


@dataclasses.dataclass(frozen=True)
class Settings:
    """What defines a training run (the book's settings by default)."""

    backend: str = setting("numpy", "the framework to compute with", choices=BACKENDS,
                           shared=False)
    model: str = setting("scratch", "scratch: the RNN written from the equations; concise: "
                                    "the framework's own recurrent layer on the same weights",
                         choices=MODEL_KINDS, shared=False)
    cell: str = setting("rnn", "the recurrent cell: the section's RNN, the GRU (10.2) or the "
                               "LSTM (10.1), each on the fast path (a concise GRU is the "
                               "frameworks' own: the reset gate after the product)",
                        choices=tuple(CELLS))
    layers: int = setting(1, "recurrent layers, each one's outputs the next one's inputs (the "
                             "deep RNN of 10.3)",
                          least=1)
    epochs: int = setting(BOOK["epochs"], "passes over the training windows", least=1)
    batch_size: int = setting(BOOK["batch_size"], "sequences per minibatch", least=1)
    num_steps: int = setting(BOOK["num_steps"], "characters per sequence (time steps)",
                             least=1)
    num_hiddens: int = setting(BOOK["num_hiddens"], "hidden units of the RNN",
                               flag="--hiddens", least=1)
    num_train: int = setting(BOOK["num_train"], "training windows (the first ones of the "
                                                "corpus)", least=1)
    num_val: int = setting(BOOK["num_val"], "validation windows (the ones after the training "
                                            "windows)", least=1)
    lr: float = setting(BOOK["lr"], "learning rate of SGD", real=True, above=0,
                        resumable=True)
    clip: float = setting(BOOK["clip"], "gradient clipping threshold θ on the global norm "
                                        "(0: off)", real=True, least=0, most=MAX_CLIP,
                          resumable=True)
    seed: int = setting(0, "seed of the initial weights and of the batch order", least=0)
    dtype: str = setting("float32", "float type of the weights and the computation",
                         choices=FLOAT_DTYPES)
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


def option(name):
    """The command-line option of setting ``name``, for messages."""
    return FIELDS[name].metadata["flag"] or "--" + name.replace("_", "-")


def check(field, value):
    """``value`` as setting ``field`` takes it, or a :class:`BadArgument` naming its flag."""
    meta, flag = field.metadata, option(field.name)
    if meta["choices"] is not None:
        if value not in meta["choices"]:
            raise BadArgument(not_one_of(flag, value, meta["choices"]))
        return value
    if isinstance(field.default, bool):
        if not isinstance(value, bool):
            raise BadArgument(f"{flag} must be true or false, got {value!r}")
        return value
    if field.name == "corpus":
        if value is not None and not str(value).strip():
            raise BadArgument(f"{flag} got an empty path ({value!r}); give a file")
        return None if value is None else str(value)
    if meta["real"]:
        ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and \
            math.isfinite(value) and (meta["least"] is None or value >= meta["least"]) and \
            (meta["above"] is None or value > meta["above"]) and \
            (meta["most"] is None or value <= meta["most"])
        if not ok:
            bound = (f">= {meta['least']:g}" if meta["least"] is not None else
                     f"> {meta['above']:g}") + \
                (f" and <= {meta['most']:g}" if meta["most"] is not None else "")
            raise BadArgument(f"{flag} must be a finite number {bound}, got {value!r}")
        return float(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or \
            value < meta["least"]:
        raise BadArgument(f"{flag} must be a whole number >= {meta['least']}, got {value!r}")
    return int(value)


DEFAULTS = Settings().as_dict()


# -- the command line ---------------------------------------------------------------------


def add_flags(parser, names):
    """Add the flags of the settings ``names`` to an argparse ``parser``, each with its
    default, help line and check."""
    for name in names:
        field = FIELDS[name]
        meta = field.metadata
        if name == "fast":
            parser.add_argument("--plain", dest="fast", action="store_false",
                                help="run the book's code path step by step (the same numbers "
                                     "as the default fast path, computed later)")
            parser.add_argument("--fast", dest="fast", action="store_true", help=meta["help"])
            parser.set_defaults(fast=field.default)
        elif isinstance(field.default, bool):
            parser.add_argument(option(name), dest=name, action="store_true",
                                help=meta["help"])
        else:
            parser.add_argument(option(name), dest=name, default=field.default,
                                type=argument_type(field), help=meta["help"],
                                **({"choices": meta["choices"]} if meta["choices"] else {}))


def argument_type(field):
    """An argparse type: the text as the setting's kind, checked as the setting checks it."""
    def parse(text):
        if field.metadata["choices"] is not None:
            return text
        if field.name == "corpus":
            value = text
        else:
            try:
                value = float(text) if field.metadata["real"] else int(text)
            except ValueError:
                kind = "a number" if field.metadata["real"] else "a whole number"
                raise argparse.ArgumentTypeError(f"expected {kind}, got {text!r}") from None
        try:
            return check(field, value)
        except BadArgument as err:  # argparse names the flag: "argument --lr: must be ..."
            raise argparse.ArgumentTypeError(str(err).partition(" ")[2]) from None
    parse.__name__ = field.name
    return parse


def given(args, argv):
    """{name: value} of the settings whose flags ``argv`` gives."""
    found = {}
    for name, field in FIELDS.items():
        flags = ("--plain", "--fast") if name == "fast" else (option(name),)
        if any(word == flag or word.startswith(flag + "=") for word in argv
               for flag in flags) and hasattr(args, name):
            found[name] = getattr(args, name)
    return found


def shared_flags(args):
    """The flags bench and compare pass on to each run they start (the shared settings)."""
    words = []
    for name, field in FIELDS.items():
        value = getattr(args, name, None)
        if field.metadata["shared"] and value is not None:
            words += [option(name), str(value)]
    return words
