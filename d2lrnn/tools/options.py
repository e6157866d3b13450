"""What the commands' options are: argparse types that check a value as the option takes it
(a whole number, a finite real, a path that is not empty), the options several commands
share (the backend, the device, which backends and models to run), and the help format."""
import argparse
import math

from ..base.backend import BACKENDS, DEVICE_KINDS, MODEL_KINDS
from ..base.errors import did_you_mean
from ..book.data import MAX_CORPUS_MB


class HELP(argparse.ArgumentDefaultsHelpFormatter):
    """Every option's help shows its default, except where there is none to show (a flag,
    or an option whose help says what leaving it out does)."""

    def _get_help_string(self, action):
        if action.default is None or action.nargs == 0:
            return action.help
        return super()._get_help_string(action)


def path(option):
    """An argparse type for a path option: empty or blank text (an unset shell variable) is
    refused, where it would otherwise mean the current folder."""
    def parse(text):
        if not text.strip():
            raise argparse.ArgumentTypeError(f"an empty path ({text!r}); give a file or "
                                             f"folder (an unset shell variable?)")
        return text
    parse.__name__ = option.lstrip("-")
    return parse


def whole(least):
    """An argparse type: a whole number >= ``least``."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"expected a whole number >= {least}, got {text}")
        return value
    parse.__name__ = "whole number"
    return parse


def real(least=None, above=None, most=None):
    """An argparse type: a finite number within the bounds given."""
    bound = " and ".join(b for b in (f">= {least:g}" if least is not None else "",
                                     f"> {above:g}" if above is not None else "",
                                     f"<= {most:g}" if most is not None else "") if b)

    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not math.isfinite(value) or (least is not None and value < least) or (
                above is not None and value <= above) or (most is not None and value > most):
            raise argparse.ArgumentTypeError(f"expected a finite number {bound}, got {text}")
        return value
    parse.__name__ = "number"
    return parse


def checked(check):
    """An argparse type: the text as a number, checked by ``check(value, name)``, the Python
    API's own check (one rule, and one wording, for both)."""
    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        try:
            return check(value, "it")
        except ValueError as err:  # argparse names the option: "argument --temperature: ..."
            raise argparse.ArgumentTypeError(str(err)) from None
    parse.__name__ = "number"
    return parse


def device(text):
    kind, colon, index = text.partition(":")
    if kind not in DEVICE_KINDS or (colon and not (index.isdigit()
                                                   and kind in ("cuda", "gpu"))):
        raise argparse.ArgumentTypeError(f"expected one of {', '.join(DEVICE_KINDS)} (cuda "
                                          f"and gpu may take an index: cuda:1), got {text!r}"
                                          + did_you_mean(kind, DEVICE_KINDS))
    return text


def add_backend(parser):
    parser.add_argument("--backend", choices=BACKENDS, default="numpy",
                        help="the framework to compute with")


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
