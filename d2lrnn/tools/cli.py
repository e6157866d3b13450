"""The ``d2lrnn`` command (also ``python -m d2lrnn``): its subcommands are the modules of
:mod:`d2lrnn.tools.commands`, each in one place (its options and what it runs)."""
import argparse
import os
import sys
import warnings

from .._version import __version__
from ..base.errors import UserError
from .commands import COMMANDS
from .options import HELP


def build_parser():
    parser = argparse.ArgumentParser(
        prog="d2lrnn", formatter_class=HELP,
        description="The RNN section of Dive into Deep Learning, in five frameworks that "
                    "compute the same numbers.")
    parser.add_argument("--version", action="version", version=f"d2lrnn {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        child = sub.add_parser(command.NAME, help=command.HELP, description=command.HELP,
                               formatter_class=HELP, epilog=getattr(command, "EPILOG", None))
        command.arguments(child)
        child.set_defaults(run=command.run)
    return parser


def show_warning(message, category, filename, lineno, file=None, line=None):
    """Warnings as one line a user reads (a missing device, a character not in the
    vocabulary), not a source location."""
    print(f"d2lrnn: warning: {message}", file=sys.stderr)


def main(argv=None):
    """Run a command: its exit code. What the user can fix (a :class:`UserError`: an
    argument, the corpus, a checkpoint, a missing framework) is one line and exit 2; a bug
    shows its traceback (so do user errors with the environment variable D2LRNN_DEBUG=1)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.argv = argv
    try:
        with warnings.catch_warnings():
            warnings.showwarning = show_warning
            return args.run(args)
    except UserError as err:
        if os.environ.get("D2LRNN_DEBUG"):
            raise
        print(f"d2lrnn: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # a full disk, a folder that went away
        print(f"d2lrnn: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
