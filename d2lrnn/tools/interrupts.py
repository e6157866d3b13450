"""Ctrl-C, remembered. The command's handler raises KeyboardInterrupt as Python's own does,
and also notes the press: a press that code in between swallows (a library that catches
every exception while it loads, say) still stops the command where it next looks
(:func:`raise_if_pressed`) instead of being lost."""
import signal
import threading

_pressed = threading.Event()


def _remember_and_raise(signum, frame):
    _pressed.set()
    raise KeyboardInterrupt


def remember_presses():
    """From now on, a Ctrl-C raises KeyboardInterrupt and is remembered (the main thread
    only: signal handlers live there)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _remember_and_raise)


def raise_if_pressed():
    """KeyboardInterrupt where a press was remembered (and perhaps swallowed on its way)."""
    if _pressed.is_set():
        raise KeyboardInterrupt
