"""PyTorch: torch tensors and torch.autograd."""
import functools

import numpy as np

from ..base.backend import Ops, import_framework

torch = import_framework("torch", "torch")


class TorchOps(Ops):
    name = "torch"
    layer_learns_input_size = False  # torch.nn.RNN(input_size, hidden_size)

    def accelerators(self):
        found = [("cuda", torch.device(f"cuda:{i}")) for i in range(torch.cuda.device_count())]
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():  # Apple silicon
            found.append(("mps", torch.device("mps")))
        return found

    def missing_accelerator_hint(self):
        if torch.version.cuda is None and not torch.backends.mps.is_built():
            return f"; this PyTorch ({torch.__version__}) is a CPU-only build"
        return ""

    def cpu_device(self):
        return torch.device("cpu")

    def device_of(self, x):
        return x.device

    def to_device(self, x, device):
        return x.to(device)

    def device_name(self, device):
        device = torch.device(device)
        return device.type if device.index is None else f"{device.type}:{device.index}"

    def has_float64(self, device):
        return torch.device(device).type != "mps"

    def full_precision(self):
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
        torch.set_float32_matmul_precision("highest")

    def asarray(self, array, dtype):
        return torch.as_tensor(np.asarray(array), dtype=getattr(torch, dtype),
                               device=self.device)

    def to_numpy(self, x):
        return x.detach().cpu().numpy().copy()

    def is_tensor(self, x):
        return isinstance(x, torch.Tensor)

    def take_rows(self, x, rows):
        return x[torch.as_tensor(rows, device=x.device)]

    def is_concrete(self, x):
        return x.device.type != "meta"  # the meta device holds shapes, no values

    def matmul(self, a, b):
        return torch.matmul(a, b)

    def concat(self, xs, axis):
        return torch.cat(xs, axis)

    def stack(self, xs, axis):
        return torch.stack(xs, axis)

    def zeros(self, shape, dtype):
        return torch.zeros(shape, dtype=getattr(torch, dtype), device=self.device)

    def one_hot(self, ids, depth, dtype):
        ids = ids.long()
        return torch.zeros((*ids.shape, depth), dtype=getattr(torch, dtype),
                           device=ids.device).scatter_(-1, ids[..., None], 1.0)

    def pick(self, logits, ids):
        return logits.gather(1, ids.long()[:, None])[:, 0]

    def logsumexp(self, x, axis):
        return torch.logsumexp(x, axis)

    def activation(self, name):
        return {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid}[name]

    def parameter(self, x):
        return torch.nn.Parameter(x)

    def plain(self, x):
        return x.detach()

    def assign(self, owner, name, value):
        current = getattr(owner, name)
        if isinstance(current, torch.nn.Parameter):
            with torch.no_grad():
                current.copy_(value)
        else:
            setattr(owner, name, value)

    def update(self, value, grad, lr):
        with torch.no_grad():
            return value - lr * grad

    def no_grad(self):
        return torch.no_grad()

    def transpose(self, x, axes):
        return x.permute(axes)

    # The hand-written backward pass in TorchScript, the batch split between the cores
    # (d2lrnn/torch/fused.py): measured 2x faster than d2lrnn.maths.bptt in eager PyTorch, which was
    # ~25% faster than autograd through the Python time loop.
    fast_grads = "fused"

    def choose_threads(self, strategy):
        if strategy == "fused":
            torch.set_num_threads(1)  # one per forked part (fused.py says why)

    def threads(self):
        from . import fused

        intra = f"{torch.get_num_threads()} intra-op thread(s)"
        return f"{fused.parts()} parts forked x {intra}" if torch.get_num_threads() == 1 \
            else intra

    def fused_loss_and_grads(self, params, X, Y):
        from . import fused  # TorchScript compiles it at the first call

        return fused.loss_and_grads(params, X, Y)

    def fused_loss(self, params, X, Y):
        from . import fused

        return fused.loss(params, X, Y)

    def embedding(self, table, ids):
        return torch.nn.functional.embedding(ids, table)

    def log_softmax(self, x):
        return torch.log_softmax(x, -1)

    def embedding_grad(self, ids, grad, num_rows):
        return grad.new_zeros((num_rows, grad.shape[1])).index_add_(0, ids, grad)

    def affine(self, x, W, b):
        if x.ndim == 2:
            return torch.addmm(b, x, W)  # one kernel for the product and the sum
        return torch.matmul(x, W) + b

    def maximum(self, x, y):
        return torch.clamp(x, min=y)

    def rnn_layer(self, params, inputs, state):
        """torch.nn.RNN, called functionally (torch stores the weights transposed)."""
        W_xh, b_h = params["W_xh"], params["b_h"]
        layer = _torch_rnn(*self.shape(W_xh), W_xh.dtype)
        weights = {"weight_ih_l0": W_xh.T, "weight_hh_l0": params["W_hh"].T,
                   "bias_ih_l0": b_h, "bias_hh_l0": torch.zeros_like(b_h)}
        outputs, state = torch.func.functional_call(layer, weights, (inputs, state[None]))
        return outputs, state[0]

    # torch.nn.GRU applies the reset gate after the recurrent product; the weights are packed
    # as cuDNN's (gates r, z, n and i, f, g, o), transposed.
    cell_layers = ("rnn", "gru-after", "lstm")

    def cell_layer(self, cell, params, inputs, state):
        """torch.nn.GRU or torch.nn.LSTM, called functionally on the book's parameters."""
        W_x, W_h, b_ih, b_hh = cell.cudnn_weights(self, params)
        d, h = self.shape(W_x)[0], self.shape(W_h)[0]
        weights = {"weight_ih_l0": W_x.T, "weight_hh_l0": W_h.T, "bias_ih_l0": b_ih,
                   "bias_hh_l0": b_hh}
        layer = _torch_layer(cell.name.upper(), d, h, W_x.dtype)
        initial = tuple(s[None] for s in state)
        outputs, final = torch.func.functional_call(
            layer, weights, (inputs, initial if len(initial) > 1 else initial[0]))
        final = final if isinstance(final, tuple) else (final,)
        return outputs, tuple(s[0] for s in final)

    def value_and_grad(self, fn, params):
        leaves = {k: v.detach().requires_grad_(True) for k, v in params.items()}
        value = fn(leaves)
        grads = torch.autograd.grad(value, list(leaves.values()))
        return value.detach(), dict(zip(leaves, grads))


@functools.lru_cache(maxsize=None)
def _torch_layer(kind, num_inputs, num_hiddens, dtype):
    return getattr(torch.nn, kind)(num_inputs, num_hiddens, dtype=dtype)


@functools.lru_cache(maxsize=None)
def _torch_rnn(num_inputs, num_hiddens, dtype):
    return torch.nn.RNN(num_inputs, num_hiddens, nonlinearity="tanh", dtype=dtype)


ops = TorchOps()
