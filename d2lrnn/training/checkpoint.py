"""Checkpoints: every parameter, the vocabulary and the hyperparameters in one safetensors
file, portable across backends, written atomically; validated as a whole before any use.

A checkpoint may come from anywhere (a download, a damaged disk, a hand-edited file), so
:func:`read` checks it before anything is built from it: a regular file; its metadata's
types (the hyperparameters, a vocabulary of distinct printable characters in the order
``Vocab`` makes it, the training state); the tensors' names, dtypes and shapes against the
model the hyperparameters describe, from the file's header, before any tensor is read; then
their values (finite, and of a sane magnitude). Every problem is one
:class:`CheckpointError` naming the file and what is wrong. A translator's checkpoint
(:func:`save_translator`, :func:`read_translator`: the encoder-decoder of d2l.ai 10.7, its
two vocabularies of words and Adam's moments) is checked the same way.
"""
import collections
import json
import math
from pathlib import Path

import numpy as np

from ..base import checks
from ..base.errors import BadArgument, UserError
from ..base.files import atomic_write
from ..base.vocab import Vocab
from ..cells import KEYWORDS, VARIANTS, Network, cell_named
from .settings import FIELDS, TRANSLATION_FIELDS

FORMAT = "d2lrnn-checkpoint-1"
TRANSLATOR_FORMAT = "d2lrnn-translator-1"  # a translator's (d2lrnn translate train)
EXTENSION = ".safetensors"
MAX_ABS_WEIGHT = 1e6  # trained weights are within ±100; beyond this the logits overflow
TENSOR_DTYPES = {"F32": "float32", "F64": "float64"}
PERPLEXITY = checks.Real(least=1)  # of a run's epochs, as its history and its summary hold it

# ``training_problem``: why a training state present in the file was not usable (None when
# it is, or when there is none): how far such a run trained is unknown.
Checkpoint = collections.namedtuple("Checkpoint", "params vocab hparams training "
                                                  "training_problem", defaults=(None,))


class CheckpointError(UserError, ValueError):
    """A file that is not a usable d2lrnn checkpoint."""


class TrainingStateError(CheckpointError):
    """A checkpoint whose training state is damaged: ``what`` says how, in a few words."""

    def __init__(self, message, what):
        super().__init__(message)
        self.what = what


def save(path, params, vocab, hparams, training=None, make_folder=True):
    """Write ``params`` (NumPy arrays by name), the vocabulary, ``hparams`` (a JSON-able
    dict) and, during training, the ``training`` state (epoch and step counters, history:
    what resuming needs) to ``path``. A partial write never replaces an existing file, and
    non-finite parameters are never written. ``make_folder=False``: the folder must exist
    (a run's folder that disappeared is not made again)."""
    from safetensors.numpy import save as to_bytes

    bad = sorted(k for k, v in params.items() if not np.isfinite(v).all())
    if bad:
        raise CheckpointError(f"not writing {path}: {', '.join(bad)} hold NaN or infinite "
                              f"values (training diverged)")
    metadata = {"format": FORMAT, "vocab": json.dumps(vocab.idx_to_token),
                "hparams": json.dumps(hparams)}
    if training is not None:
        metadata["training"] = json.dumps(training)
    data = to_bytes({k: np.ascontiguousarray(v) for k, v in params.items()}, metadata=metadata)
    atomic_write(path, data, make_folder=make_folder)


def load(path):
    """(params, vocab, hparams) from a checkpoint written by :func:`save`, validated."""
    found = read(path)
    return found.params, found.vocab, found.hparams


def load_training(path):
    """The training state saved with the checkpoint at ``path`` (for resuming), or None
    where it holds none; validated with the rest."""
    return read(path).training


def read(path, resuming=False):
    """The whole checkpoint at ``path``, validated (see the module's docstring). A damaged
    training state leaves ``training`` None and says why in ``training_problem`` (the
    parameters still serve ``generate``), unless ``resuming``, which needs it: then it is
    the error."""
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    size = checks.regular_file(path, "checkpoint", error=CheckpointError)
    _fits_in_memory(path, size)
    try:
        with safe_open(str(path), framework="numpy") as f:
            vocab, hparams, training, training_problem = _metadata(
                path, f.metadata() or {}, resuming)
            params = _tensors(path, f, expected_shapes(hparams, len(vocab)))
    except (SafetensorError, OSError) as err:
        raise CheckpointError(f"{path} is not a readable safetensors file ({err})") from None
    except MemoryError:  # a limit _fits_in_memory could not see
        raise CheckpointError(_too_large(path, size, "more than this process may allocate"
                                         )) from None
    _values(path, params)
    return Checkpoint(params, vocab, hparams, training, training_problem)


def format_of(path):
    """The format the d2lrnn checkpoint at ``path`` declares (:data:`FORMAT` or
    :data:`TRANSLATOR_FORMAT`), from its header alone; None where it is no readable
    safetensors file (then :func:`read` or :func:`read_translator` says what is wrong)."""
    from safetensors import SafetensorError, safe_open

    try:
        checks.regular_file(Path(path), "checkpoint", error=CheckpointError)
        with safe_open(str(path), framework="numpy") as f:
            return (f.metadata() or {}).get("format")
    except (CheckpointError, SafetensorError, OSError):
        return None


def _metadata(path, metadata, resuming):
    """(vocabulary, hyperparameters, training state, why the state is not usable) from a
    checkpoint's metadata; a damaged training state is the error when ``resuming``."""
    _check_format(path, metadata, FORMAT)
    vocab = _vocabulary(path, _json(path, metadata, "vocab"))
    hparams = _hparams(path, _json(path, metadata, "hparams"), vocab)
    training, training_problem = None, None
    if "training" in metadata:
        try:
            training = _training(path, _json(path, metadata, "training"), hparams)
        except CheckpointError as err:
            if resuming:
                raise
            training_problem = getattr(err, "what", "is not valid JSON")
    return vocab, hparams, training, training_problem


def _check_format(path, metadata, expected):
    """Refuse a file whose metadata's format is not ``expected``: the other kind of d2lrnn
    checkpoint named, with the command that uses it."""
    found = metadata.get("format")
    if found == expected:
        return
    kinds = {FORMAT: ("a language model's checkpoint (d2lrnn train)",
                      f"use it with d2lrnn generate --checkpoint {path.parent}"),
             TRANSLATOR_FORMAT: ("a translator's checkpoint (d2lrnn translate train)",
                                 f"translate with it by d2lrnn translate run --run "
                                 f"{path.parent} SENTENCE")}
    if found in kinds:
        what, use = kinds[found]
        raise CheckpointError(f"{path} is {what}, not {kinds[expected][0].split(' (')[0]}: "
                              f"{use}")
    raise CheckpointError(f"{path} is a safetensors file but not a d2lrnn checkpoint "
                          f"(format {found!r}, expected {expected!r})")


def _tensors(path, f, expected):
    """The parameters of the open safetensors file ``f``, after checking their names, dtypes
    and shapes against ``expected`` ({name: shape}) from the file's header."""
    names = set(f.keys())
    if names != set(expected):
        raise CheckpointError(
            f"{path} holds the parameters {_few(names)}, but its hyperparameters describe a "
            f"model with {_few(expected)} (missing {_few(set(expected) - names)}, unexpected "
            f"{_few(names - set(expected))})")
    for name, shape in expected.items():
        piece = f.get_slice(name)
        dtype, got = piece.get_dtype(), tuple(piece.get_shape())
        if dtype not in TENSOR_DTYPES:
            raise CheckpointError(f"{path}: {name} is of type {dtype}; parameters are float32 "
                                  f"or float64")
        if got != shape:
            raise CheckpointError(f"{path}: {name} has shape {got}, but the model its "
                                  f"hyperparameters describe has {shape}")
    return {name: f.get_tensor(name) for name in expected}


def _values(path, params):
    """Refuse parameters that are not finite, or of a magnitude no trained model has."""
    # each tensor's extremes (NaN and infinities among them), without a copy of its size
    extremes = {k: (float(v.min(initial=0)), float(v.max(initial=0)))
                for k, v in params.items()}
    bad = sorted(k for k, (low, high) in extremes.items()
                 if not (math.isfinite(low) and math.isfinite(high)))
    if bad:
        raise CheckpointError(f"{path} holds NaN or infinite values in {', '.join(bad)}: it "
                              f"comes from a diverged run and cannot be used")
    huge = sorted(k for k, (low, high) in extremes.items()
                  if max(-low, high) > MAX_ABS_WEIGHT)
    if huge:
        raise CheckpointError(f"{path}: {', '.join(huge)} hold values beyond ±{MAX_ABS_WEIGHT:g}"
                              f", which no trained model has: the file is damaged")


def _fits_in_memory(path, size):
    """Refuse a checkpoint this process has no room to read: the file is mapped, and its
    tensors copied out of the map (about twice its size at the peak)."""
    need, left, free = 2 * size, checks.address_space_left(), checks.available_memory()
    if left is not None and need > left:
        raise CheckpointError(_too_large(path, size, f"this process may map {left / 2**20:,.0f}"
                                         f" MB more (a limit such as ulimit -v)"))
    if free is not None and size > free:
        raise CheckpointError(_too_large(path, size, f"{free / 2**20:,.0f} MB of memory are "
                                         f"available"))


def _too_large(path, size, room):
    return (f"{path} holds {size / 2**20:,.1f} MB, and reading it needs about "
            f"{2 * size / 2**20:,.0f} MB of memory; {room}: raise the limit, or read it on a "
            f"machine with more memory")


def cell_of(hparams):
    """The cell (the variant: :data:`d2lrnn.cells.VARIANTS`) a checkpoint's model computes:
    its ``cell_key``; where that is missing (older files), its ``cell`` and the keywords
    recorded beside it (a GRU's ``reset``), else what its model makes of the cell's name."""
    if hparams.get("cell_key"):
        return VARIANTS[hparams["cell_key"]]
    return cell_named(hparams.get("cell", "rnn"), hparams.get("model", "scratch"),
                      **{keyword: hparams.get(keyword) for keyword in KEYWORDS})


def expected_shapes(hparams, vocab_size):
    """{parameter name: shape} of the model a checkpoint's hyperparameters describe."""
    hiddens = hparams["num_hiddens"]
    network = Network.layered(cell_of(hparams), hparams.get("layers", 1))
    return {**network.shapes(vocab_size, hiddens), "W_hq": (network.num_outputs(hiddens),
                                                             vocab_size), "b_q": (vocab_size,)}


# -- the metadata, checked field by field -------------------------------------------------


def _json(path, metadata, key):
    try:
        return json.loads(metadata[key])
    except KeyError:
        raise CheckpointError(f"{path} has no {key!r} in its metadata") from None
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"{path}: its {key!r} metadata is not valid JSON ({err})") from None


def _few(names, most=6):
    names = sorted(names)
    return ", ".join(names[:most]) + (f" and {len(names) - most} more" if len(names) > most
                                      else "") if names else "none"


def _vocabulary(path, tokens):
    if not isinstance(tokens, list) or not tokens:
        raise CheckpointError(f"{path}: its vocabulary is not a list of tokens")
    bad = [t for t in tokens if not isinstance(t, str) or not (
        t == "<unk>" or (len(t) == 1 and t.isprintable()))]
    if bad:
        raise CheckpointError(f"{path}: its vocabulary holds {len(bad)} token(s) that are not "
                              f"single printable characters (the first: "
                              f"{ascii(bad[0])[:40]}); a d2lrnn vocabulary holds characters "
                              f"and <unk>")
    if "<unk>" not in tokens or len(set(tokens)) != len(tokens) or tokens != sorted(tokens):
        raise CheckpointError(f"{path}: its vocabulary is not one d2lrnn makes (distinct "
                              f"tokens, <unk> among them, in sorted order): the file was "
                              f"altered")
    return Vocab.from_tokens(tokens)


def _count(number, one, many):
    return f"{number} {one if number == 1 else many}"


# What each hyperparameter must be: a run's settings by the rules they are given by
# (``Settings``), and what a run records beside them; those marked required must be present
# (older checkpoints lack the others: their defaults hold).
_HPARAMS = {
    **{name: field.metadata["rule"] for name, field in FIELDS.items()},
    "cell_key": checks.OneOf(VARIANTS),
    **{keyword: checks.OrNone(checks.OneOf(values)) for keyword, values in KEYWORDS.items()},
    "vocab_size": checks.Whole(2),
    "corpus_sha1": checks.Satisfies(lambda v: isinstance(v, str) and len(v) == 40,
                                    "a SHA-1 in hex"),
    "train_ppl": PERPLEXITY, "val_ppl": PERPLEXITY,
    "device": checks.Text("a device's name", printable=True),
    "strategy": checks.Text("a strategy's name", printable=True),
    "threads": checks.Text("a description", printable=True),
}
_REQUIRED = ("num_hiddens",)


def _hparams(path, hparams, vocab):
    if not isinstance(hparams, dict):
        raise CheckpointError(f"{path}: its hyperparameters are {type(hparams).__name__}, "
                              f"not a mapping of names to values")
    for name in _REQUIRED:
        if name not in hparams:
            raise CheckpointError(f"{path}: its hyperparameters lack {name!r}")
    for name, value in hparams.items():
        if name in _HPARAMS and not _HPARAMS[name].holds(value):
            raise CheckpointError(f"{path}: hyperparameter {name!r} is {ascii(value)[:60]}; "
                                  f"it must be {_HPARAMS[name].words}")
    if "vocab_size" in hparams and hparams["vocab_size"] != len(vocab):
        raise CheckpointError(f"{path}: its hyperparameters say vocab_size "
                              f"{hparams['vocab_size']}, its vocabulary holds {len(vocab)}")
    _cell(path, hparams)
    return hparams


def _cell(path, hparams):
    """Refuse a cell_key, cell and variant keywords (a GRU's reset) that name different
    functions."""
    named = {keyword: hparams.get(keyword) for keyword in KEYWORDS}
    try:
        cell = cell_named(hparams.get("cell", "rnn"), hparams.get("model", "scratch"), **named)
    except BadArgument as err:
        raise CheckpointError(f"{path}: its cell and {', '.join(KEYWORDS)} disagree ({err})"
                              ) from None
    key = hparams.get("cell_key")
    if key and (VARIANTS[key].name != cell.name or any(
            value is not None and VARIANTS[key].options().get(keyword) != value
            for keyword, value in named.items())):
        raise CheckpointError(f"{path}: cell_key {key!r} is not a variant of its cell "
                              f"{hparams.get('cell', 'rnn')!r}")


# Each list of a run's history: (the counter of the training state its length must equal,
# what each entry must be). And its totals.
_HISTORY_LISTS = {
    "epoch": ("epoch", checks.Whole(1)),
    "train_ppl": ("epoch", PERPLEXITY),
    "val_ppl": ("epoch", PERPLEXITY),
    "epoch_seconds": ("epoch", checks.Real(least=0)),
    "step_loss": ("step", checks.Real(least=0)),
}
_HISTORY_TOTALS = {"train_seconds": checks.Real(least=0), "tokens": checks.Whole(0)}
_COUNTER = checks.Whole(0)


def _training(path, state, hparams):
    """The training state: {"epoch", "step", "history": {lists of numbers, totals}}."""
    def fail(what):
        raise TrainingStateError(
            f"{path}: its training state {what}; the run cannot be resumed from it (d2lrnn "
            f"generate can still use the parameters, if the rest is sound)", what)

    if not isinstance(state, dict) or not isinstance(state.get("history"), dict):
        fail("is not a mapping with a history")
    if not _COUNTER.holds(state.get("epoch")) or not _COUNTER.holds(state.get("step")):
        fail("lacks whole-number epoch and step counters")
    if "epochs" in hparams and state["epoch"] > hparams["epochs"]:
        fail(f"says epoch {state['epoch']} of {hparams['epochs']}")
    history = state["history"]
    for key, (counter, rule) in _HISTORY_LISTS.items():
        values = history.get(key)
        if not checks.Each(rule).holds(values):
            fail(f"has no list {key!r} whose entries are each {rule.words}")
        if len(values) != state[counter]:
            fail(f"has {_count(len(values), 'entry', 'entries')} in {key!r} for its "
                 f"{_count(state[counter], counter, counter + 's')}")
    if history["epoch"] != list(range(1, state["epoch"] + 1)):
        fail(f"numbers its epochs other than 1 to {state['epoch']}")
    for key, rule in _HISTORY_TOTALS.items():
        if not rule.holds(history.get(key)):
            fail(f"has no total {key!r} that is {rule.words}")
    return state


# -- a translator's checkpoint (d2lrnn translate train) -------------------------------------

ADAM = ("adam.m.", "adam.v.")  # Adam's moments, stored beside the parameters they follow

# The translator: its parameters, its two vocabularies (tokens in id order), its settings
# and what it recorded, Adam's state ({"step", "m", "v"}) and the training state ({"epoch",
# "history"}; None where the file holds none).
Translator = collections.namedtuple("Translator", "params src_tokens tgt_tokens hparams adam "
                                                  "training")


def save_translator(path, params, src_tokens, tgt_tokens, hparams, adam, training,
                    make_folder=True):
    """Write a translator (see :data:`Translator`) to ``path`` atomically; non-finite
    parameters are never written."""
    from safetensors.numpy import save as to_bytes

    bad = sorted(k for k, v in params.items() if not np.isfinite(v).all())
    if bad:
        raise CheckpointError(f"not writing {path}: {', '.join(bad)} hold NaN or infinite "
                              f"values (training diverged)")
    tensors = {**params, **{prefix + k: v for prefix, moments in zip(ADAM, (adam["m"],
                                                                            adam["v"]))
                            for k, v in moments.items()}}
    metadata = {"format": TRANSLATOR_FORMAT, "src_vocab": json.dumps(list(src_tokens)),
                "tgt_vocab": json.dumps(list(tgt_tokens)), "hparams": json.dumps(hparams),
                "training": json.dumps({**training, "adam_step": adam["step"]})}
    data = to_bytes({k: np.ascontiguousarray(v) for k, v in tensors.items()},
                    metadata=metadata)
    atomic_write(path, data, make_folder=make_folder)


def read_translator(path):
    """The translator at ``path`` (a :data:`Translator`), validated as :func:`read` validates
    a language model's checkpoint: the format, the vocabularies, the settings by their rules,
    every tensor's name and shape from the header, then their values."""
    from safetensors import SafetensorError, safe_open

    from ..maths.seq2seq import param_shapes

    path = Path(path)
    size = checks.regular_file(path, "checkpoint", error=CheckpointError)
    _fits_in_memory(path, size)
    try:
        with safe_open(str(path), framework="numpy") as f:
            metadata = f.metadata() or {}
            _check_format(path, metadata, TRANSLATOR_FORMAT)
            src, tgt = (_tokens(path, _json(path, metadata, key), key)
                        for key in ("src_vocab", "tgt_vocab"))
            hparams = _translator_hparams(path, _json(path, metadata, "hparams"))
            training = _json(path, metadata, "training")
            shapes = param_shapes(len(src), len(tgt), hparams["embed_size"],
                                  hparams["num_hiddens"], hparams["layers"], reset="after")
            tensors = _tensors(path, f, {**shapes, **{prefix + k: shape for prefix in ADAM
                                                      for k, shape in shapes.items()}})
    except (SafetensorError, OSError) as err:
        raise CheckpointError(f"{path} is not a readable safetensors file ({err})") from None
    _values(path, tensors)
    _translator_training(path, training)
    params = {k: tensors[k] for k in shapes}
    adam = {"step": training["adam_step"],
            **{key: {k: tensors[prefix + k] for k in shapes} for key, prefix in
               zip(("m", "v"), ADAM)}}
    return Translator(params, src, tgt, hparams, adam, training)


def _translator_training(path, training):
    """A translator's training state: epoch and Adam's step counters, and a history of
    losses (one per epoch, one per step), its epochs numbered 1 to ``epoch``."""
    history = training.get("history") if isinstance(training, dict) else None
    losses = checks.Each(checks.Real(least=0))
    if not (isinstance(history, dict) and _COUNTER.holds(training.get("epoch"))
            and _COUNTER.holds(training.get("adam_step"))
            and history.get("epoch") == list(range(1, training["epoch"] + 1))
            and all(losses.holds(history.get(key)) and len(history[key]) == training["epoch"]
                    for key in ("train_loss", "val_loss"))
            and losses.holds(history.get("step_loss"))
            and checks.Real(least=0).holds(history.get("train_seconds"))):
        raise CheckpointError(f"{path}: its training state is not a translator's (whole-"
                              f"number epoch and adam_step counters, a history of losses for "
                              f"epochs 1 to epoch): the file was altered")


def _tokens(path, tokens, key):
    if not (isinstance(tokens, list) and tokens and all(isinstance(t, str) and t and
                                                        t.isprintable() for t in tokens)
            and len(set(tokens)) == len(tokens) and {"<unk>", "<pad>", "<eos>"} <= set(tokens)):
        raise CheckpointError(f"{path}: its {key} is not a list of distinct printable tokens "
                              f"holding <unk>, <pad> and <eos>: the file was altered")
    return tokens


def _translator_hparams(path, hparams):
    if not isinstance(hparams, dict):
        raise CheckpointError(f"{path}: its hyperparameters are {type(hparams).__name__}, "
                              f"not a mapping of names to values")
    for name, field in TRANSLATION_FIELDS.items():
        if name not in hparams or not field.metadata["rule"].holds(hparams[name]):
            raise CheckpointError(f"{path}: hyperparameter {name!r} is "
                                  f"{ascii(hparams.get(name))[:60]}; it must be "
                                  f"{field.metadata['rule'].words}")
    return hparams
