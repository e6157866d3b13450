"""NumPy's devices: the CPU alone; its threads are BLAS's, or the fused kernel's."""
from ..base.adapter import Devices


class NumpyDevices(Devices):
    """The CPU, and how the fused kernel shares it."""

    @property
    def _fused(self):
        return getattr(self, "threads_chosen_for", self.fast_grads) == "fused"

    # The fused kernel's slices of a batch are fixed; the threads computing them follow the
    # cores no other process uses. Measured on 2 cores (10 epochs of the section's model): 1.6
    # s idle, 5.0 s with both threads beside a process spinning on one core.
    adapts_threads = True

    def adapt_threads(self, free_cores):
        if self._fused:
            from . import fused

            fused.set_threads(max(1, min(free_cores, fused.slices())))

    def threads(self):
        if not self._fused:  # the plain path, the cells' backward, or no Numba
            return super().threads()
        from . import fused

        return (f"{fused.threads()} thread(s) over {fused.slices()} slices of the batch, "
                f"one per free core")
