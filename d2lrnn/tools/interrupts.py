"""Ctrl-C, and the signals that mean the same, remembered. SIGTERM (what ``kill``,
``timeout``, Docker and Slurm send) and SIGHUP (a closed terminal) stop a command as Ctrl-C
(SIGINT) does: the handler raises :class:`Interrupted` (a KeyboardInterrupt, so every
``except KeyboardInterrupt`` treats them alike) and notes the signal, so that one that code in
between swallows (a library that catches every exception while it loads, say) still stops the
command where it next looks (:func:`raise_if_pressed`), and the command ends with the code a
shell expects of it (:func:`exit_code`: 128 + the signal's number; 130 for Ctrl-C). A signal
the process was started to ignore (``nohup`` ignores SIGHUP) stays ignored."""
import signal
import sys
import threading

# The signals that stop a command, as Ctrl-C does (SIGHUP does not exist on Windows).
STOPPING = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP")
                 if hasattr(signal, name))

_received = []  # the signals that came, in order


class Interrupted(KeyboardInterrupt):
    """A command stopped by the signal ``signum`` (SIGINT, SIGTERM or SIGHUP)."""

    def __init__(self, signum=signal.SIGINT):
        super().__init__()
        self.signum = signum


def note(signum):
    """Remember that the signal ``signum`` came (for :func:`raise_if_pressed` and the exit
    code)."""
    _received.append(signum)


def answered():
    """The signals noted so far have been answered (the command said where it stopped and
    returns its code): a later command in this process starts afresh."""
    _received.clear()


def _remember_and_raise(signum, frame):
    note(signum)
    raise Interrupted(signum)


def on_stop(handler):
    """Make ``handler(signum, frame)`` answer every stopping signal the process does not
    ignore (the main thread only: signal handlers live there); returns {signal: handler
    before}, for :func:`restore`."""
    before = {}
    if threading.current_thread() is not threading.main_thread():
        return before
    for signum in STOPPING:
        if signal.getsignal(signum) != signal.SIG_IGN:
            before[signum] = signal.signal(signum, handler)
    return before


def restore(before):
    """Put back the handlers :func:`on_stop` replaced."""
    for signum, handler in before.items():
        signal.signal(signum, handler)


def remember_presses():
    """From now on, a stopping signal raises :class:`Interrupted` and is remembered."""
    on_stop(_remember_and_raise)


def raise_if_pressed():
    """:class:`Interrupted` where a signal was remembered (and perhaps swallowed on its
    way)."""
    if _received:
        raise Interrupted(_received[-1])


def signal_of(interrupt):
    """The signal that raised the KeyboardInterrupt ``interrupt`` (SIGINT where it does not
    say: Python's own handler, or a test)."""
    return getattr(interrupt, "signum", signal.SIGINT)


def exit_code(signum=None):
    """What a command stopped by ``signum`` (default: the last signal that came, else SIGINT)
    returns: 128 + its number, as a shell reports a process it ended (130 for Ctrl-C, 143 for
    SIGTERM, 129 for SIGHUP)."""
    if signum is None:
        signum = _received[-1] if _received else signal.SIGINT
    return 128 + int(signum)


def by(signum):
    """' by SIGTERM' for the message of a command that stopped; nothing for Ctrl-C."""
    return "" if signum == signal.SIGINT else f" by {signal.Signals(signum).name}"


def tell(text):
    """Print a line to stderr where it can go: after SIGHUP the terminal may be gone, and
    the run's state must still be left in order (the line is then lost, not the exit)."""
    try:
        print(text, file=sys.stderr, flush=True)
    except (OSError, ValueError):  # a closed terminal (EIO), a closed pipe or stream
        pass
