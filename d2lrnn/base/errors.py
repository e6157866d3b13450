"""The mistakes a user can fix, as one family of exceptions.

The command line prints a :class:`UserError` in one line (``d2lrnn: ...``) and exits 2;
anything else escaping a command is a bug of ours and shows its traceback. Each class is
also the built-in exception its Python callers expect (``BadArgument`` is a ``ValueError``).
"""


class UserError(Exception):
    """Something the user can fix: an argument, a file, a missing framework."""


class BadArgument(UserError, ValueError):
    """An argument outside what a function or command accepts."""


class BadType(UserError, TypeError):
    """An argument of a kind a function does not take (or a model it cannot serve)."""


class BadKey(UserError, KeyError):
    """Names that do not match (a KeyError whose message reads as a sentence)."""

    def __str__(self):
        return str(self.args[0]) if self.args else ""


class MissingFramework(UserError, ImportError):
    """A backend's framework is not installed, or cannot be imported here."""


class NotAvailable(UserError, RuntimeError):
    """Something this machine or model does not have yet (a GPU, parameters)."""


def did_you_mean(value, choices):
    """' (did you mean 'torch'?)' where ``value`` is a near miss of one of ``choices`` (a
    typo, a capital, a framework's other name: 'pytorch'), else ''."""
    import difflib

    close = difflib.get_close_matches(str(value).lower(), [str(c) for c in choices], n=1,
                                      cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def not_one_of(name, value, choices):
    """The message for ``value`` of ``name`` outside ``choices``, with a near miss's
    :func:`did_you_mean`."""
    return (f"{name} must be one of {', '.join(str(c) for c in choices)}, got {value!r}"
            + did_you_mean(value, choices))
