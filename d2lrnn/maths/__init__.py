"""The section's equations as functions of ``(ops, params, arrays)`` (``equations``),
and the RNN's backward pass through time written by hand (``bptt``).
"""
