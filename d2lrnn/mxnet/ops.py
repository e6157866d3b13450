"""MXNet: the NumPy-style mx.np arrays and mxnet.autograd."""
import numpy as np

from ..base import legacy as _legacy
from ..base.backend import Ops, import_framework

_legacy.check_mxnet_importable()
mx = import_framework("mxnet", "mxnet")
mx.npx.set_np()  # the NumPy-style API, as the book uses it
mnp, npx = mx.np, mx.npx


class MxnetOps(Ops):
    name = "mxnet"
    layer_learns_input_size = True  # gluon.rnn.RNN(hidden_size): the input size is inferred

    def accelerators(self):
        return [("cuda", mx.gpu(i)) for i in range(mx.context.num_gpus())]

    def missing_accelerator_hint(self):
        if not mx.runtime.Features().is_enabled("CUDA"):
            return ("; this MXNet is a CPU-only build. MXNet 1.9.1 was the last release: its "
                    "GPU builds (mxnet-cu112 and older) need CUDA 11.2 or older, which "
                    "current GPUs and drivers no longer match")
        return ""

    def threads(self):
        import os

        return f"OpenMP threads: {os.environ.get('OMP_NUM_THREADS', 'all cores')}"

    def cpu_device(self):
        return mx.cpu()

    def device_of(self, x):
        return x.ctx

    def to_device(self, x, device):
        return x.as_in_ctx(device)

    def device_name(self, device):
        return "cpu" if device.device_type == "cpu" and not device.device_id else \
            f"{'cuda' if device.device_type == 'gpu' else device.device_type}:{device.device_id}"

    def device_scope(self, device):
        return device  # an mx.Context is the scope that places new arrays

    def asarray(self, array, dtype):
        # mx.np.array keeps float64 only when the dtype is given (else it makes float32).
        return mnp.array(np.asarray(array), dtype=dtype, ctx=self.device)

    def to_numpy(self, x):
        return x.asnumpy()

    def is_tensor(self, x):
        return isinstance(x, mnp.ndarray)

    def take_rows(self, x, rows):
        return x[mnp.array(rows, dtype="int64", ctx=x.ctx)]

    def dtype_name(self, x):
        return np.dtype(x.dtype).name

    def matmul(self, a, b):
        return mnp.matmul(a, b)

    def concat(self, xs, axis):
        return mnp.concatenate(xs, axis)

    def stack(self, xs, axis):
        return mnp.stack(xs, axis)

    def zeros(self, shape, dtype):
        return mnp.zeros(shape, dtype=dtype, ctx=self.device)

    def one_hot(self, ids, depth, dtype):
        return npx.one_hot(ids, depth, dtype=dtype)

    def pick(self, logits, ids):
        return npx.pick(logits, ids, axis=1)

    def logsumexp(self, x, axis):
        # Not x - npx.log_softmax(x), ~8x faster: MXNet's fused log_softmax errs by up to
        # 5e-6 in float32 (max, exp and sum: 7e-7), which put a two-layer network's float32
        # gradients outside the parity bound. The fast path keeps the fused operator.
        m = x.max(axis, keepdims=True)
        return (m + mnp.log(mnp.exp(x - m).sum(axis, keepdims=True))).squeeze(axis)

    def activation(self, name):
        # npx.activation's tanh is ~3x faster than mx.np.tanh on the CPU build
        return {"tanh": lambda x: npx.activation(x, act_type="tanh"), "relu": npx.relu,
                "sigmoid": npx.sigmoid}[name]

    def exp(self, x):
        return mnp.exp(x)

    def embedding(self, table, ids):
        return mnp.take(table, ids, axis=0)

    fast_grads = "bptt"  # measured 2x faster than autograd through the Python time loop

    def log_softmax(self, x):
        return npx.log_softmax(x, axis=-1)

    def softmax(self, x, log_p=None):
        return npx.softmax(x, axis=-1)  # ~3x faster than exp here

    def sum(self, x, axis=None):
        if axis == 0 and x.ndim == 2:  # a product with ones: ~8x faster than the reduction
            return mnp.matmul(mnp.ones((1, x.shape[0]), dtype=x.dtype, ctx=x.ctx), x)[0]
        return x.sum(axis)

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

    def affine(self, x, W, b):
        if b.ndim != 1:
            return mnp.matmul(x, W) + b
        # the fused layer: the gradient of a broadcast "+ b" is a slow reduction in MXNet
        return npx.fully_connected(x, W.T, b, num_hidden=W.shape[1], flatten=False)

    def maximum(self, x, y):
        return mnp.maximum(x, y)

    def rnn_layer(self, params, inputs, state):
        """The fused RNN operator that gluon.rnn.RNN runs, on a flat parameter vector
        (weights transposed, then biases: gluon's packing)."""
        W_xh, W_hh, b_h = params["W_xh"], params["W_hh"], params["b_h"]
        flat = mnp.concatenate([W_xh.T.reshape(-1), W_hh.T.reshape(-1), b_h,
                                mnp.zeros_like(b_h)])
        outputs, state = npx.rnn(data=inputs, parameters=flat, state=state[None],
                                 state_size=self.shape(W_hh)[0], num_layers=1,
                                 mode="rnn_tanh", state_outputs=True)
        return outputs, state[0]

    # MXNet's fused GRU (cuDNN's) applies the reset gate after the recurrent product; the
    # weights are packed as cuDNN's, transposed, in one flat vector.
    cell_layers = ("rnn", "gru-after", "lstm")

    def cell_layer(self, cell, params, inputs, state):
        """The fused operator gluon.rnn.GRU and LSTM run, on a flat parameter vector."""
        W_x, W_h, b_ih, b_hh = cell.cudnn_weights(self, params)
        flat = mnp.concatenate([W_x.T.reshape(-1), W_h.T.reshape(-1), b_ih, b_hh])
        extra = {"state_cell": state[1][None]} if cell.name == "lstm" else {}
        outputs, *final = npx.rnn(data=inputs, parameters=flat, state=state[0][None],
                                  state_size=self.shape(W_h)[0], num_layers=1,
                                  mode=cell.name, state_outputs=True, **extra)
        return outputs, tuple(s[0] for s in final)

    def parameter(self, x):
        x.attach_grad()
        return x

    def assign(self, owner, name, value):
        current = getattr(owner, name, None)
        if isinstance(current, mnp.ndarray) and current.grad is not None:
            current[:] = value  # in place: the attached gradient stays
        else:
            setattr(owner, name, value)

    def value_and_grad(self, fn, params):
        leaves = {k: v.copy() for k, v in params.items()}
        for leaf in leaves.values():
            leaf.attach_grad()
        with mx.autograd.record():
            value = fn(leaves)
        value.backward()
        return value, {k: leaf.grad for k, leaf in leaves.items()}


ops = MxnetOps()
