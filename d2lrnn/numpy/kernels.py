"""NumPy's fast kernels: its fast path differentiates by hand, in the fused kernel of
``fused.py`` where Numba is installed (the ``numba`` extra), else as the reference."""
import importlib.util

from ..base.adapter import Kernels
from ..base.adapter.kernels import FUSED_CELL_CODES


def has_numba():
    """Whether Numba is installed (found, not imported: it takes half a second)."""
    return importlib.util.find_spec("numba") is not None


class NumpyKernels(Kernels):
    """The fused kernel behind the fast path (NumPy has no autograd to fall back on)."""

    @property
    def fast_grads(self):
        """By hand: in the fused kernel where Numba is installed (3 to 4 times faster than
        the reference's products here: d2lrnn bench), else as the reference."""
        return "fused" if has_numba() else "bptt"

    # The GRU's step in the fused kernel took 19.7 ms and the LSTM's 26.2 (the RNN's 9.5)
    # where the cells' backward by hand took about 56 and 67 (book settings, float32, here).
    fused_cells = tuple(FUSED_CELL_CODES)

    def fused_loss_and_grads(self, params, X, Y, cell):
        from . import fused  # imports Numba: only when the fast path runs

        return fused.loss_and_grads(params, X, Y, cell)

    def fused_loss(self, params, X, Y, cell):
        from . import fused

        return fused.loss(params, X, Y, cell)
