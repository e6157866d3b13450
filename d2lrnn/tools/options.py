"""What the commands' options are: argparse types made from the rules of
:mod:`d2lrnn.base.checks` (a whole number, a finite real, a device, a path that is not
empty), the settings of a run as flags, the options several commands share (the backend, the
device, which backends and models to run), and the help format."""
import argparse

from ..base import checks
from ..base.backend import BACKENDS, MODEL_KINDS
from ..base.errors import did_you_mean
from ..book.data import MAX_CORPUS_MB
from ..training.settings import FIELDS, option


class HELP(argparse.ArgumentDefaultsHelpFormatter):
    """Every option's help shows its default, except where there is none to show (a flag,
    or an option whose help says what leaving it out does)."""

    def _get_help_string(self, action):
        if action.default is None or action.nargs == 0:
            return action.help
        return super()._get_help_string(action)


def typed(rule):
    """An argparse type: an option's text as ``rule`` takes it, checked by the rule (the
    Python API's own: one rule, and one wording, for both). The rule stays with the type
    (``parse.rule``)."""
    def parse(text):
        value = rule.parse(text)
        if not rule.holds(value):  # argparse names the option: "argument --seed: must be ..."
            raise argparse.ArgumentTypeError(rule.refusal(value))
        return rule.take(value)
    parse.__name__, parse.rule = rule.kind, rule
    return parse


def whole(least):
    """An argparse type: a whole number >= ``least``."""
    return typed(checks.Whole(least))


# A path: empty or blank text (an unset shell variable), which would otherwise mean the
# current folder, is refused. A device: "cuda:1", ...
path, device = typed(checks.PathText()), typed(checks.Device())


def add_backend(parser, default="numpy", help="the framework to compute with"):
    parser.add_argument("--backend", choices=BACKENDS, default=default, help=help)


def add_device(parser):
    parser.add_argument("--device", type=device, default="auto",
                        help="where to compute: auto (the first accelerator the framework "
                             "sees, else the CPU), cpu, cuda (cuda:1, ...), mps (Apple "
                             "silicon, PyTorch) or gpu (any accelerator); a device the "
                             "framework lacks here falls back to the CPU with a warning")


def add_selection(parser):
    parser.add_argument("--backends", nargs="+", choices=BACKENDS,
                        help="backends to run (default: every backend installed here)")
    parser.add_argument("--models", nargs="+", choices=MODEL_KINDS, default=list(MODEL_KINDS),
                        help="model kinds to run")


def add_max_corpus(parser):
    parser.add_argument("--max-corpus-mb", type=whole(1), default=MAX_CORPUS_MB,
                        help="the largest corpus file read, in MB (the book is 0.18 MB)")


def add_run_folder(parser, figure):
    """The options of a training run's folder (``--out``, ``--overwrite``, ``--resume``) and
    its output (``--json``, ``--quiet``); ``figure``: the file of its curve."""
    parser.add_argument("--out", type=path,
                        help=f"folder for checkpoint.safetensors (written after every epoch) "
                             f"and {figure} (default: write nothing)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the run in --out (refused without it)")
    parser.add_argument("--resume", metavar="DIR", type=path,
                        help="continue the run in DIR from its last completed epoch, with its "
                             "own settings (--epochs, --lr and --clip may change)")
    parser.add_argument("--json", action="store_true",
                        help="print the final figures as one JSON object on the last line")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def add_seed(parser, help):
    parser.add_argument("--seed", type=whole(0), default=0, help=help)


# -- a run's settings as flags ------------------------------------------------------------


def add_settings(parser, names, fields=FIELDS):
    """Add the flags of the settings ``names`` (of ``fields``: a settings class's fields by
    name) to ``parser``, each with its default, help line and rule."""
    for name in names:
        field = fields[name]
        meta = field.metadata
        if name == "fast":
            parser.add_argument("--plain", dest="fast", action="store_false",
                                help="run the book's code path step by step (the same numbers "
                                     "as the default fast path, computed later)")
            parser.add_argument("--fast", dest="fast", action="store_true", help=meta["help"])
            parser.set_defaults(fast=field.default)
        elif isinstance(meta["rule"], checks.Flag):
            parser.add_argument(option(name, fields), dest=name, action="store_true",
                                help=meta["help"])
        elif isinstance(meta["rule"], checks.OneOf):
            parser.add_argument(option(name, fields), dest=name, default=field.default,
                                choices=meta["rule"].choices, help=meta["help"])
        else:
            parser.add_argument(option(name, fields), dest=name, default=field.default,
                                type=typed(meta["rule"]), help=meta["help"])


def given_settings(args, argv, fields=FIELDS):
    """{name: value} of the settings (of ``fields``) whose flags ``argv`` gives."""
    found = {}
    for name in fields:
        flags = ("--plain", "--fast") if name == "fast" else (option(name, fields),)
        if any(word == flag or word.startswith(flag + "=") for word in argv
               for flag in flags) and hasattr(args, name):
            found[name] = getattr(args, name)
    return found


def shared_settings(args):
    """The flags bench and compare pass on to each run they start (the shared settings)."""
    words = []
    for name, field in FIELDS.items():
        value = getattr(args, name, None)
        if field.metadata["shared"] and value is not None:
            words += [option(name), str(value)]
    return words


class Parser(argparse.ArgumentParser):
    """argparse's parser, whose refusal of a choice names the near miss (``--backend
    pytorch``: did you mean 'torch'?), for options and subcommands alike (Python 3.14's
    ``suggest_on_error`` does the same; the Pythons supported here lack it)."""

    def _check_value(self, action, value):
        if action.choices is not None and value not in action.choices:
            raise argparse.ArgumentError(
                action, f"invalid choice: {value!r}{did_you_mean(value, action.choices)}; "
                        f"choose from {', '.join(map(str, action.choices))}")
        super()._check_value(action, value)
