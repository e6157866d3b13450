"""The book's library written once for every backend: the ``Module``/``Trainer`` bases
(``library``), The Time Machine (``data``), the models' ground floor (``model``), the section's
models (``rnn``, with ``readers``: a reader's own RNN in them), chapter 10's (``modern``), the
names every backend exports (``surface``), and the one way a backend is made (``bind``).
"""
