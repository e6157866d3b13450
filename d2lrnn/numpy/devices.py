"""NumPy's devices: the CPU alone; its threads are BLAS's, or Numba's in the fused kernel."""
from ..base.adapter import Devices


class NumpyDevices(Devices):
    """The CPU, and how the fused kernel shares it."""

    def threads(self):
        strategy = getattr(self, "threads_chosen_for", self.fast_grads)
        if strategy != "fused":  # the plain path, the cells' backward, or no Numba
            return super().threads()
        from . import fused

        return f"{fused.threads()} Numba threads, one slice of the batch each"
