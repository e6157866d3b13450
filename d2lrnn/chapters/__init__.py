"""What the notebooks in ``chapters/`` import: the chapter's set-up (``chapter``), its
figures, the exercises' computations and the section's small demo.
"""
