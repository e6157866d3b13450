"""MXNet's compilation and fast kernels."""
from ..base.adapter import Kernels
from ..base.backend import import_framework

mx = import_framework("mxnet", "mxnet")
mnp, npx = mx.np, mx.npx


class MxnetKernels(Kernels):
    """MXNet: its compilation and fast kernels."""

    fast_grads = "bptt"  # measured 2x faster than autograd through the Python time loop

    def scan_tanh(self, P, state, W_hh):
        """The fused RNN operator with an identity input weight (P I = P exactly); a single
        step (generation) is quicker without packing its weights."""
        if P.shape[0] == 1:
            return super().scan_tanh(P, state, W_hh)
        h = self.shape(W_hh)[0]
        zeros = mnp.zeros((h,), dtype=W_hh.dtype, ctx=W_hh.ctx)
        flat = mnp.concatenate([mnp.eye(h, dtype=W_hh.dtype, ctx=W_hh.ctx).reshape(-1),
                                W_hh.T.reshape(-1),
                                zeros, zeros])
        outputs, state = npx.rnn(data=P, parameters=flat, state=state[None], state_size=h,
                                 num_layers=1, mode="rnn_tanh", state_outputs=True)
        return outputs, state[0]
