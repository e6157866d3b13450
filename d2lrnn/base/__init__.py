"""The foundations every other part stands on, framework-free: the array adapter's
interface and the backends' declarations (``backend``), the user errors and argument
checks, atomic files, the vocabulary, figures, downloads.
"""
