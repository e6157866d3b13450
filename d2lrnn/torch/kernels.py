"""PyTorch's compilation and fast kernels."""
from ..base.adapter import Kernels


class TorchKernels(Kernels):
    """PyTorch: its compilation and fast kernels."""

    # The hand-written backward pass in TorchScript, the batch split between the cores
    # (d2lrnn/torch/fused.py): measured 2x faster than d2lrnn.maths.bptt in eager PyTorch, which was
    # ~25% faster than autograd through the Python time loop.
    fast_grads = "fused"
    # One SGD step of the section's GRU (1024 x 32 steps, 32 units, float32) took 54 ms by
    # the cells' hand-written backward and 70 ms by autograd (the LSTM: 68 and 81 ms).
    cell_grads = "cells"

    def fused_loss_and_grads(self, params, X, Y):
        from . import fused  # TorchScript compiles it at the first call

        return fused.loss_and_grads(params, X, Y)

    def fused_loss(self, params, X, Y):
        from . import fused

        return fused.loss(params, X, Y)
