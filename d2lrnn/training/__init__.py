"""How a language model learns and speaks: its loss and gradients (``gradients``), one
training loop for every backend (``train``), checkpoints (``checkpoint``), generation
(``generation``).
"""
