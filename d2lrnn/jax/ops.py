"""JAX: jax.numpy arrays and jax.value_and_grad; Flax for the recurrent layer."""
import functools

import numpy as np

from ..base.backend import Ops, import_framework
from ..base.errors import BadType

jax = import_framework("jax", "jax")
jnp = jax.numpy


class JaxOps(Ops):
    name = "jax"
    layer_learns_input_size = True  # flax.linen.SimpleCell(features): shapes from the first input

    def accelerators(self):
        found = []
        for platform, kind in (("gpu", "cuda"), ("METAL", "mps")):  # CUDA/ROCm; jax-metal
            try:
                found += [(kind, d) for d in jax.devices(platform)]
            except RuntimeError:  # no such backend in this jaxlib
                pass
        return found

    def missing_accelerator_hint(self):
        return "; JAX sees GPUs with its CUDA plugin: pip install \"jax[cuda12]\""

    def cpu_device(self):
        return jax.devices("cpu")[0]

    def device_of(self, x):
        return next(iter(x.devices())) if self.is_concrete(x) else self.device

    def to_device(self, x, device):
        return jax.device_put(x, device)

    def device_name(self, device):
        kind = {"gpu": "cuda", "cpu": "cpu"}.get(device.platform, device.platform.lower())
        return f"{kind}:{device.id}" if kind != "cpu" or device.id else "cpu"

    def device_scope(self, device):
        return jax.default_device(device)

    def threads(self):
        return f"XLA's CPU thread pool ({jax.local_device_count('cpu')} device)"

    def full_precision(self):
        # float32 products on GPUs use TF32 unless the precision is "highest"; XLA's
        # deterministic kernels are chosen by XLA_FLAGS=--xla_gpu_deterministic_ops=true,
        # which must be set before JAX starts (the package does not set it)
        jax.config.update("jax_default_matmul_precision", "highest")

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

    def rnn_layer(self, params, inputs, state):
        """flax.linen.RNN over a SimpleCell (its input Dense holds the bias)."""
        layer = _flax_rnn(self.shape(params["W_hh"])[0], self.dtype_name(params["W_hh"]))
        cell = {"i": {"kernel": params["W_xh"], "bias": params["b_h"]},
                "h": {"kernel": params["W_hh"]}}
        state, outputs = layer.apply({"params": {"cell": cell}}, inputs, initial_carry=state)
        return outputs, state

    # Flax's GRUCell applies the reset gate after the recurrent product; every gate has a
    # Dense of its own (the input side holds the bias, except the GRU's candidate, whose
    # recurrent side has one too; the LSTM's biases sit on the recurrent side).
    cell_layers = ("rnn", "gru-after", "lstm")

    def cell_layer(self, cell, params, inputs, state):
        """flax.linen.RNN over a GRUCell or an LSTMCell, on the book's parameters."""
        h = self.shape(params["b_" + ("z" if cell.name == "gru" else "i")])[0]
        layer = _flax_layer(cell.name, h, self.dtype_name(inputs))
        if cell.name == "gru":
            tree = {f"i{g}": {"kernel": params[f"W_x{b}"], "bias": params[f"b_{b}"]}
                    for g, b in (("r", "r"), ("z", "z"), ("n", "h"))}
            tree.update({"hr": {"kernel": params["W_hr"]}, "hz": {"kernel": params["W_hz"]},
                         "hn": {"kernel": params["W_hh"], "bias": params["b_hh"]}})
            carry = state[0]
        else:
            tree = {}
            for g, b in (("i", "i"), ("f", "f"), ("g", "c"), ("o", "o")):
                tree[f"i{g}"] = {"kernel": params[f"W_x{b}"]}
                tree[f"h{g}"] = {"kernel": params[f"W_h{b}"], "bias": params[f"b_{b}"]}
            carry = (state[1], state[0])  # Flax's LSTM carries (C, H)
        carry, outputs = layer.apply({"params": {"cell": tree}}, inputs, initial_carry=carry)
        return outputs, (carry,) if cell.name == "gru" else (carry[1], carry[0])

    fast_grads = "bptt"  # compiled with the step; measured ~30% faster than jax.grad here

    def embedding(self, table, ids):
        return jnp.take(table, ids, axis=0)

    def log_softmax(self, x):
        return jax.nn.log_softmax(x, -1)

    def embedding_grad(self, ids, grad, num_rows):
        return jnp.zeros((num_rows, grad.shape[1]), grad.dtype).at[ids].add(grad)

    def scan_tanh(self, P, state, W_hh):
        """lax.scan, unrolled: XLA then fuses across steps (measured fastest on CPU)."""
        def cell(H, P_t):
            H = jnp.tanh(P_t + H @ W_hh)
            return H, H
        state, outputs = jax.lax.scan(cell, state, P, unroll=self.shape(P)[0])
        return outputs, state

    def maximum(self, x, y):
        return jnp.maximum(x, y)

    def scan(self, body, carry, xs):
        return jax.lax.scan(body, carry, xs)  # unrolled: 2x (unroll 2) to 4x slower for a GRU

    # jax.grad of the padded (weighted) mean made each step ~2x slower: pad only for bptt
    pad_last_batch = ("bptt",)

    def compile(self, fn):
        return jax.jit(fn)

    def value_and_grad(self, fn, params):
        return jax.value_and_grad(fn)(params)

    def value_and_grad_fn(self, fn):
        return jax.value_and_grad(fn)

    # JAX traces Python on every eager call; compiling the loss once per model kind keeps
    # training from re-tracing at each step (d2lrnn.training.gradients).
    traces_eagerly = True


@functools.lru_cache(maxsize=None)
def _flax_layer(kind, num_hiddens, dtype):
    nn = import_framework("flax.linen", "jax")
    cell = {"gru": nn.GRUCell, "lstm": nn.LSTMCell}[kind](
        features=num_hiddens, dtype=dtype, param_dtype=dtype, parent=None)
    return nn.RNN(cell, time_major=True, return_carry=True, parent=None)


@functools.lru_cache(maxsize=None)
def _flax_rnn(num_hiddens, dtype):
    nn = import_framework("flax.linen", "jax")
    # parent=None: a free-standing layer, even when first built inside another module's apply
    cell = nn.SimpleCell(features=num_hiddens, dtype=dtype, param_dtype=dtype, parent=None)
    return nn.RNN(cell, time_major=True, return_carry=True, parent=None)


ops = JaxOps()
