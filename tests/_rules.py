"""Values that break a rule of :mod:`d2lrnn.base.checks`, found from the rule itself: the
tests walk every command-line option and every setting of a run with them, so an option or a
setting added later is covered without a list to edit."""
import math

from d2lrnn.base import checks


def refused(rule):
    """A few values ``rule`` must refuse: just past each of its bounds, the wrong kind of
    value, and what is not finite."""
    if isinstance(rule, checks.OrNone):
        return refused(rule.rule)
    if isinstance(rule, checks.Whole):
        return [rule.least - 1, 1.5, "x", True, *([rule.most + 1] if rule.most else [])]
    if isinstance(rule, checks.Real):
        return [math.nan, math.inf, "x", True,
                *([rule.least - 1] if rule.least is not None else []),
                *([rule.above] if rule.above is not None else []),
                *([rule.most * 10] if rule.most is not None else [])]
    if isinstance(rule, checks.OneOf):
        return ["x", None]
    if isinstance(rule, checks.Flag):
        return [1, "true"]
    if isinstance(rule, checks.PathText):
        return ["", "  "]
    if isinstance(rule, checks.Device):
        return ["tpu", "cuda:x", "cpu:0", "cuda:-1"]
    raise AssertionError(f"no values known to break {rule!r}: say here which")


def refused_texts(rule):
    """What :func:`refused` gives, as a user types it on the command line."""
    return [str(value) for value in refused(rule) if not isinstance(value, bool)
            and value is not None]
