"""JAX: jax.numpy arrays and jax.value_and_grad; Flax for the recurrent layer."""

import numpy as np

from ..base.adapter import Arrays, Ops
from ..base.backend import import_framework
from ..base.errors import BadType
from .devices import JaxDevices
from .kernels import JaxKernels
from .layers import JaxLayers

jax = import_framework("jax", "jax")
jnp = jax.numpy


class JaxArrays(Arrays):
    name = "jax"

    def asarray(self, array, dtype):
        array, dtype = np.asarray(array), np.dtype(dtype)
        if dtype.itemsize == 8 and not jax.config.read("jax_enable_x64"):
            if dtype.kind in "iu":  # token ids: 32 bits are plenty
                dtype = np.dtype(np.int32)
            else:
                raise BadType(
                    f"JAX makes {dtype} arrays only with 64-bit mode on: call "
                    "jax.config.update('jax_enable_x64', True) (or set JAX_ENABLE_X64=1) "
                    "before creating any array, or use dtype='float32'")
        return jnp.asarray(array, dtype=dtype)  # on the device of on()'s jax.default_device

    def is_concrete(self, x):
        return not isinstance(x, jax.core.Tracer)

    def to_numpy(self, x):
        return np.array(x)

    def is_tensor(self, x):
        return isinstance(x, jax.Array)

    def matmul(self, a, b):
        return jnp.matmul(a, b)

    def concat(self, xs, axis):
        return jnp.concatenate(xs, axis)

    def stack(self, xs, axis):
        return jnp.stack(xs, axis)

    def zeros(self, shape, dtype):
        return jnp.zeros(shape, dtype)

    def one_hot(self, ids, depth, dtype):
        return jax.nn.one_hot(ids, depth, dtype=dtype)

    def pick(self, logits, ids):
        return jnp.take_along_axis(logits, ids[:, None], 1)[:, 0]

    def logsumexp(self, x, axis):
        return jax.nn.logsumexp(x, axis)

    def activation(self, name):
        return {"tanh": jnp.tanh, "relu": jax.nn.relu, "sigmoid": jax.nn.sigmoid}[name]

    def exp(self, x):
        return jnp.exp(x)

    def embedding(self, table, ids):
        return jnp.take(table, ids, axis=0)

    def log_softmax(self, x):
        return jax.nn.log_softmax(x, -1)

    def embedding_grad(self, ids, grad, num_rows):
        return jnp.zeros((num_rows, grad.shape[1]), grad.dtype).at[ids].add(grad)

    def maximum(self, x, y):
        return jnp.maximum(x, y)

    def value_and_grad(self, fn, params):
        return jax.value_and_grad(fn)(params)

    def value_and_grad_fn(self, fn):
        return jax.value_and_grad(fn)


class JaxOps(JaxKernels, JaxLayers, JaxDevices, JaxArrays, Ops):
    """JAX: its arrays, devices, layers, kernels, as one adapter."""


ops = JaxOps()
