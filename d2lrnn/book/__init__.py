"""The book's library written once for every backend: the ``Module``/``Trainer`` bases
(``library``), The Time Machine (``data``), the section's models (``rnn``), chapter 10's
(``modern``), and the one way a backend makes them (``bind``).
"""
