"""The ``d2lrnn`` command's entry point: Ctrl-C (or SIGTERM, SIGHUP) while the command line
loads (its imports take a moment) ends quietly, as it does once the command runs; a press is
remembered, so that one swallowed on its way still stops the command, and the exit code says
which signal it was (:mod:`d2lrnn.tools.interrupts`)."""
import os
import sys

from . import interrupts

INTERRUPTED = 130  # the shell's code for a command ended by Ctrl-C (128 + SIGINT)
# The frameworks' native start-up logs, silenced for our commands unless the user sets them:
# TensorFlow's C++ and XLA log their INFO and WARNING lines (oneDNN, CPU features, the XLA
# service) on every command; the block its import prints before logging starts is dropped by
# d2lrnn.base.quiet. A reader's own `import tensorflow` is left as it is.
QUIET_NATIVE_LOGS = {"TF_CPP_MIN_LOG_LEVEL": "2"}


def main():
    interrupts.remember_presses()  # first: a press from here on ends the command quietly
    try:
        from ..base import quiet

        if "TF_CPP_MIN_LOG_LEVEL" not in os.environ:  # the user's own setting shows what it asks
            quiet.quiet_imports()
        for name, value in QUIET_NATIVE_LOGS.items():
            os.environ.setdefault(name, value)
        from .cli import main as run

        interrupts.raise_if_pressed()
        code = run()
        if code == 0:
            interrupts.raise_if_pressed()  # pressed, and lost on its way: say so
    except KeyboardInterrupt as stop:  # before the command's own handling begins, or after
        signum = interrupts.signal_of(stop)
        interrupts.tell(f"\ninterrupted{interrupts.by(signum)}")
        code = interrupts.exit_code(signum)
    if code == INTERRUPTED:  # a command's "interrupted": by the signal that came
        code = interrupts.exit_code()
    if code in STOPPED:
        leave_interrupted(code)
    return code


# What a command stopped by a signal returns (130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP)
STOPPED = {interrupts.exit_code(signum) for signum in interrupts.STOPPING}


def leave_interrupted(code=INTERRUPTED):
    """End the process now with ``code``, its output written. Its own clean-up has run as
    the interrupt unwound; the interpreter's shutdown, skipped here, sometimes ended such a
    process killed by SIGINT instead (about 1 run in 20 measured, with ``python -m``)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a terminal closed (SIGHUP), a pipe no one reads
            pass
    os._exit(code)
