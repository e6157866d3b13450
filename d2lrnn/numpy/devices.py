"""NumPy's devices: the CPU alone; its threads are BLAS's, or Numba's in the fused kernel."""
from ..base.adapter import Devices


class NumpyDevices(Devices):
    """The CPU, and how the fused kernel shares it."""

    def threads(self):
        if self.fast_grads != "fused":  # no Numba (the kernels' part of the adapter says)
            return "NumPy's BLAS threads"
        from . import fused

        return f"{fused.threads()} Numba threads, one slice of the batch each"
