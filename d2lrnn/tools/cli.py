"""The ``d2lrnn`` command (also ``python -m d2lrnn``): its subcommands are the modules of
:mod:`d2lrnn.tools.commands`, each in one place (its options and what it runs)."""
import contextlib
import os
import sys
import tempfile
import traceback
import warnings

from .._version import __version__
from ..base.checks import printable
from ..base.errors import UserError
from .commands import COMMANDS
from .options import HELP, Parser


def build_parser():
    parser = Parser(
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


# D2LRNN_DEBUG: unset (or 0), every error is one line; "bugs", a bug's traceback shows while
# user errors stay one line (what the tests set: a bug of ours must fail them visibly, in a
# subprocess too); anything else, every error shows its traceback.
DEBUG = "D2LRNN_DEBUG"


def shows_traceback(err):
    """Whether the error ``err`` escaping a command is raised with its traceback, as
    D2LRNN_DEBUG asks."""
    debug = os.environ.get(DEBUG, "")
    if debug in ("", "0"):
        return False
    return debug != "bugs" or not isinstance(err, (UserError, OSError))


def main(argv=None):
    """Run a command: its exit code. What the user can fix (a :class:`UserError`: an
    argument, the corpus, a checkpoint, a missing framework) is one line and exit 2; a bug of
    ours is one line too (``internal error``, exit 1) that says where its traceback was
    written; D2LRNN_DEBUG shows tracebacks instead (see :data:`DEBUG`)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    with safe_output():  # argparse's own messages quote what was typed
        args = build_parser().parse_args(argv)
        args.argv = argv
        return run(args)


def run(args):
    """``args.run(args)``, each way it can end turned into an exit code (see :func:`main`)."""
    try:
        with warnings.catch_warnings():
            warnings.showwarning = show_warning
            return args.run(args)
    except UserError as err:
        if shows_traceback(err):
            raise
        print(f"d2lrnn: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # a full disk, a folder that went away
        if shows_traceback(err):
            raise
        print(f"d2lrnn: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    except Exception as err:  # noqa: BLE001 - the last resort: a bug of ours, in one line
        if shows_traceback(err):
            raise
        report_bug(err, args.argv)
        return 1


def report_bug(err, argv):
    """Say in one line that ``err`` is a bug of ours, and where its traceback is: a file a
    user can attach to a bug report (written in the temporary folder), or D2LRNN_DEBUG=1."""
    where = ""
    try:
        with tempfile.NamedTemporaryFile("w", prefix="d2lrnn-bug-", suffix=".txt",
                                         delete=False, encoding="utf-8") as f:
            f.write(f"d2lrnn {__version__} on Python {sys.version.split()[0]} "
                    f"({sys.platform})\ncommand: d2lrnn {' '.join(argv)}\n\n")
            f.write("".join(traceback.format_exception(err)))
        where = f"its traceback is in {f.name} (attach it to a bug report); "
    except OSError:  # no temporary folder to write to: the variable still shows it
        pass
    print(f"d2lrnn: internal error: {type(err).__name__}: "
          f"{printable(str(err).strip(), most=300)}. This is a bug in d2lrnn, not in what "
          f"you gave it: {where}run again with {DEBUG}=1 to see the traceback here",
          file=sys.stderr)


@contextlib.contextmanager
def safe_output():
    """Our output streams write what their encoding cannot (a non-ASCII path on an ASCII
    terminal, LC_ALL=C) as escapes, instead of failing once the work is done."""
    changed = []
    for stream in (sys.stdout, sys.stderr):
        if getattr(stream, "errors", None) == "strict" and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
            changed.append(stream)
    try:
        yield
    finally:
        for stream in changed:
            stream.reconfigure(errors="strict")
