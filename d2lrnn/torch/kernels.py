"""PyTorch's compilation and fast kernels."""
from ..base.adapter import Kernels
from ..base.adapter.kernels import FUSED_CELL_CODES


class TorchKernels(Kernels):
    """PyTorch: its compilation and fast kernels."""

    # The hand-written backward pass in TorchScript, the batch split between the cores
    # (d2lrnn/torch/fused.py): measured 2x faster than d2lrnn.maths.bptt in eager PyTorch, which was
    # ~25% faster than autograd through the Python time loop.
    fast_grads = "fused"
    # The gated cells too: the fused kernel's GRU took 18-20 ms a step and its LSTM 22-24 (book
    # settings, float32, two forked parts here), where the cells' hand-written backward in
    # eager PyTorch took 54 and 68 ms, and autograd 70 and 81.
    fused_cells = tuple(FUSED_CELL_CODES)
    # (no gated cell is left to cell_grads; "cells" measured faster than autograd)
    cell_grads = "cells"

    def fused_loss_and_grads(self, params, X, Y, cell):
        from . import fused  # TorchScript compiles it at the first call

        return fused.loss_and_grads(params, X, Y, cell)

    def fused_loss(self, params, X, Y, cell):
        from . import fused

        return fused.loss(params, X, Y, cell)
