"""PyTorch: torch tensors and torch.autograd."""
import numpy as np

from ..backend import Ops, import_framework

torch = import_framework("torch", "torch")


class TorchOps(Ops):
    name = "torch"

    def asarray(self, array, dtype):
        return torch.as_tensor(np.asarray(array), dtype=getattr(torch, dtype))

    def to_numpy(self, x):
        return x.detach().cpu().numpy().copy()

    def is_tensor(self, x):
        return isinstance(x, torch.Tensor)

    def matmul(self, a, b):
        return torch.matmul(a, b)

    def concat(self, xs, axis):
        return torch.cat(xs, axis)

    def stack(self, xs, axis):
        return torch.stack(xs, axis)

    def zeros(self, shape, dtype):
        return torch.zeros(shape, dtype=getattr(torch, dtype))

    def one_hot(self, ids, depth, dtype):
        return torch.nn.functional.one_hot(ids.long(), depth).to(getattr(torch, dtype))

    def pick(self, logits, ids):
        return logits.gather(1, ids.long()[:, None])[:, 0]

    def logsumexp(self, x, axis):
        return torch.logsumexp(x, axis)

    def activation(self, name):
        return {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid}[name]

    def transpose(self, x, axes):
        return x.permute(axes)

    def value_and_grad(self, fn, params):
        leaves = {k: v.detach().requires_grad_(True) for k, v in params.items()}
        value = fn(leaves)
        grads = torch.autograd.grad(value, list(leaves.values()))
        return value.detach(), dict(zip(leaves, grads))


ops = TorchOps()
