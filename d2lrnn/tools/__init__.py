"""The command line and what it runs: ``d2lrnn train`` and its runs (``experiment``,
``runs``), ``parity``, ``bench``/``compare``, ``doctor``, the machine's description;
``entry`` is the console script.
"""
