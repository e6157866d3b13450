"""NumPy: the plain reference every other backend is tested against."""
import numpy as np

from ..base.adapter import Arrays, Ops
from .devices import NumpyDevices
from .kernels import NumpyKernels

_ACTIVATIONS = {
    "tanh": np.tanh,
    "relu": lambda x: np.maximum(x, 0),
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
}


class NumpyArrays(Arrays):
    """NumPy's arrays: the reference's own."""

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
        with np.errstate(over="ignore"):  # a diverged run's perplexity: inf is its value
            return np.exp(x)


class NumpyOps(NumpyKernels, NumpyDevices, NumpyArrays, Ops):
    """NumPy: its arrays, its devices (the CPU), its fused kernel, as one adapter."""


ops = NumpyOps()
