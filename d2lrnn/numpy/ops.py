"""NumPy: the plain reference every other backend is tested against."""
import importlib.util

import numpy as np

from ..base.backend import Ops

_ACTIVATIONS = {
    "tanh": np.tanh,
    "relu": lambda x: np.maximum(x, 0),
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
}


class NumpyOps(Ops):
    name = "numpy"

    def asarray(self, array, dtype):
        return np.array(array, dtype=dtype)

    def to_numpy(self, x):
        return np.array(x)

    def is_tensor(self, x):
        return isinstance(x, np.ndarray)

    def dtype_name(self, x):
        return x.dtype.name

    def matmul(self, a, b):
        return a @ b

    def concat(self, xs, axis):
        return np.concatenate(xs, axis)

    def stack(self, xs, axis):
        return np.stack(xs, axis)

    def zeros(self, shape, dtype):
        return np.zeros(shape, dtype)

    def one_hot(self, ids, depth, dtype):
        return np.eye(depth, dtype=dtype)[ids]

    def pick(self, logits, ids):
        return logits[np.arange(len(ids)), ids]

    def logsumexp(self, x, axis):
        m = x.max(axis, keepdims=True)
        return (m + np.log(np.exp(x - m).sum(axis, keepdims=True))).squeeze(axis)

    def activation(self, name):
        return _ACTIVATIONS[name]

    def exp(self, x):
        return np.exp(x)

    @property
    def fast_grads(self):
        """NumPy has no autograd: by hand, in the fused kernel where Numba is installed (4x
        faster than the reference's products here: d2lrnn bench), else as the reference."""
        return "fused" if has_numba() else "bptt"

    def threads(self):
        if not has_numba():
            return "NumPy's BLAS threads"
        from . import fused

        return f"{fused.threads()} Numba threads, one slice of the batch each"

    def fused_loss_and_grads(self, params, X, Y):
        from . import fused  # imports Numba: only when the fast path runs

        return fused.loss_and_grads(params, X, Y)

    def fused_loss(self, params, X, Y):
        from . import fused

        return fused.loss(params, X, Y)


def has_numba():
    """Whether Numba is installed (found, not imported: it takes half a second)."""
    return importlib.util.find_spec("numba") is not None


ops = NumpyOps()
