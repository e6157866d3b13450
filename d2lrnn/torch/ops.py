"""PyTorch: torch tensors and torch.autograd."""

import numpy as np

from ..base.adapter import Arrays, Ops
from ..base.backend import import_framework
from .devices import TorchDevices
from .kernels import TorchKernels
from .layers import TorchLayers

torch = import_framework("torch", "torch")


class TorchArrays(Arrays):
    name = "torch"

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

    def not_equal(self, x, value, dtype):
        return (x != value).to(getattr(torch, dtype))

    def value_and_grad(self, fn, params):
        leaves = {k: v.detach().requires_grad_(True) for k, v in params.items()}
        value = fn(leaves)
        grads = torch.autograd.grad(value, list(leaves.values()))
        return value.detach(), dict(zip(leaves, grads))


class TorchOps(TorchKernels, TorchLayers, TorchDevices, TorchArrays, Ops):
    """PyTorch: its arrays, devices, layers, kernels, as one adapter."""


ops = TorchOps()
