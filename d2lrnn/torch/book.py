"""The book's library surface in PyTorch: Module, Classifier, Trainer and the helpers the RNN
sections call (d2l.ai 3.2, 4.3, 9.5, 9.6)."""
from ..book import ClassifierMixin, HyperParameters, ModuleMixin, TrainerBase
from ..train import clip_gradients as clip_by_global_norm
from .ops import ops, torch

nn = torch.nn


class Module(ModuleMixin, nn.Module, HyperParameters):
    """The base of models: an ``nn.Module`` that plots its progress."""

    ops = ops

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.lr)


class Classifier(ClassifierMixin, Module):
    """A model whose loss is the mean cross-entropy of its logits."""


class Trainer(TrainerBase):
    """Minibatch training with the model's optimizer and gradient clipping."""

    def prepare_batch(self, batch):
        return [torch.as_tensor(a) for a in batch]

    def train_batch(self, batch):
        self.model.train()
        loss = self.model.training_step(batch)
        self.optim.zero_grad()
        loss.backward()
        if self.gradient_clip_val > 0:
            self.clip_gradients(self.gradient_clip_val, self.model)
        self.optim.step()

    def validation_batch(self, batch):
        self.model.eval()
        with torch.no_grad():
            self.model.validation_step(batch)

    def clip_gradients(self, grad_clip_val, model):
        """Scale every gradient of ``model`` by θ/‖g‖ when their global norm exceeds θ."""
        params = [p for p in model.parameters() if p.requires_grad and p.grad is not None]
        clipped, _ = clip_by_global_norm(ops, {i: p.grad for i, p in enumerate(params)},
                                         grad_clip_val)
        for i, p in enumerate(params):
            p.grad.copy_(clipped[i])


def num_gpus():
    return torch.cuda.device_count()


def gpu(i=0):
    return torch.device(f"cuda:{i}")


def cpu():
    return torch.device("cpu")


def try_gpu(i=0):
    """GPU ``i`` if there is one, else the CPU."""
    return gpu(i) if num_gpus() >= i + 1 else cpu()


# The tensor functions the book calls as d2l.<name>.
ones, zeros, tensor, arange = torch.ones, torch.zeros, torch.tensor, torch.arange
randn, normal, matmul, tanh, exp, log = torch.randn, torch.normal, torch.matmul, torch.tanh, \
    torch.exp, torch.log
stack, concat, reshape, argmax, swapaxes = torch.stack, torch.cat, torch.reshape, torch.argmax, \
    torch.swapaxes
int32, int64, float32, float64 = torch.int32, torch.int64, torch.float32, torch.float64


def numpy(x):
    return x.detach().cpu().numpy()


def to(x, device):
    return x.to(device)


def transpose(x, axes=None):
    return x.permute(axes) if axes is not None else x.T
