"""The book's library surface in PyTorch: Module, Classifier, Trainer and the helpers the RNN
sections call (d2l.ai 3.2, 4.3, 9.5, 9.6)."""
from ..book.library import (
    ClassifierMixin,
    HyperParameters,
    ModuleMixin,
    TrainerBase,
    device_helpers,
    method_helper,
)
from ..training.train import clip_gradients as clip_by_global_norm
from .ops import ops, torch

# What this framework adds to the book's library surface (d2lrnn.book.surface lists what
# every framework must): the bases, the device functions, the tensor helpers.
__all__ = ["Module", "Classifier", "Trainer", "LinearRegression", "cpu", "gpu", "num_gpus",
           "try_gpu", "try_all_gpus", "abs", "arange", "argmax", "astype", "batch_matmul",
           "concat", "cos", "cosh", "exp", "expand_dims", "eye", "float32", "float64", "int32",
           "int64", "linspace", "log", "matmul", "meshgrid", "normal", "numpy", "ones",
           "ones_like", "rand", "randn", "reduce_mean", "reduce_sum", "repeat", "reshape",
           "sigmoid", "sin", "sinh", "size", "stack", "swapaxes", "tanh", "tensor", "to",
           "transpose", "zeros", "zeros_like"]

nn = torch.nn


class Module(ModuleMixin, nn.Module, HyperParameters):
    """The base of models: an ``nn.Module`` that plots its progress."""

    ops = ops

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.lr)

    def adam(self, lr):
        return torch.optim.Adam(self.parameters(), lr=lr)

    def is_training(self):
        return self.training

    def part_list(self, parts):
        return nn.ModuleList(parts)

    def layer_forward(self, inputs, H=None):
        return self.rnn(inputs, H)

    def make_linear(self, units):
        self.linear = nn.LazyLinear(units)

    def framework_device(self):
        return next((p.device for p in self.parameters()), None)

    def apply_init(self, inputs, init=None):
        """Run ``forward`` once on ``inputs`` (lazy layers take their shapes), then apply
        ``init`` to every submodule of ``self.net``."""
        self.forward(*inputs)
        if init is not None:
            self.net.apply(init)


class Classifier(ClassifierMixin, Module):
    """A model whose loss is the mean cross-entropy of its logits."""


class LinearRegression(Module):
    """Linear regression on PyTorch's layer (d2l.ai 3.5), as section 9.1 trains it: one
    output of a ``LazyLinear`` (its input size taken at the first call), weights drawn from
    N(0, 0.01²) and a zero bias once that size is known, the mean squared error."""

    def __init__(self, lr):
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.LazyLinear(1)

    def forward(self, X):
        if isinstance(self.net.weight, nn.parameter.UninitializedParameter):
            self.net.initialize_parameters(X)  # the input size is now known: draw as the book
            with torch.no_grad():
                self.net.weight.normal_(0, 0.01)
                self.net.bias.fill_(0)
        return self.net(X)

    def loss(self, y_hat, y):
        return nn.functional.mse_loss(y_hat, y)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), self.lr)

    def get_w_b(self):
        return self.net.weight.data, self.net.bias.data


class Trainer(TrainerBase):
    """Minibatch training with the model's optimizer and gradient clipping; with
    ``num_gpus=1`` the model and every batch go to the first GPU (CUDA, else Apple's MPS),
    as the book's."""

    ops = ops

    def prepare_batch(self, batch):
        return [torch.as_tensor(a, device=self.device) for a in batch]

    def prepare_model(self, model):
        super().prepare_model(model)
        if self.gpus:
            model.to(self.gpus[0])

    def train_batch(self, batch):
        self.model.train()
        loss = self.model.training_step(batch)
        self.optim.zero_grad()
        loss.backward()
        if self.gradient_clip_val > 0:
            self.clip_gradients(self.gradient_clip_val, self.model)
        self.optim.step()
        return loss  # checked by TrainerBase.check_step

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
    """CUDA GPUs, or Apple silicon's MPS where there are none (what try_gpu() offers)."""
    return len(ops.accelerators())


def gpu(i=0):
    """GPU ``i``: CUDA's, else Apple's MPS (the book's library knows only ``cuda:i``)."""
    found = ops.accelerators()
    return found[i][1] if i < len(found) else torch.device(f"cuda:{i}")


def cpu():
    return torch.device("cpu")


try_gpu, try_all_gpus = device_helpers(gpu, cpu, num_gpus)

# The tensor helpers the book calls as d2l.<name>: the framework's own functions, or (as the
# book's) helpers that call the tensor's method with the arguments as given.
ones, ones_like, zeros, zeros_like, tensor, arange = torch.ones, torch.ones_like, torch.zeros, \
    torch.zeros_like, torch.tensor, torch.arange
sin, sinh, cos, cosh, tanh, exp, log, abs, sigmoid = torch.sin, torch.sinh, torch.cos, \
    torch.cosh, torch.tanh, torch.exp, torch.log, torch.abs, torch.sigmoid
meshgrid, linspace, eye, normal, rand, randn = torch.meshgrid, torch.linspace, torch.eye, \
    torch.normal, torch.rand, torch.randn
matmul, batch_matmul, concat, stack = torch.matmul, torch.bmm, torch.cat, torch.stack
int32, int64, float32, float64 = torch.int32, torch.int64, torch.float32, torch.float64
reshape, argmax, swapaxes, repeat, to = map(method_helper, ("reshape", "argmax", "swapaxes",
                                                            "repeat", "to"))
size, astype, transpose = method_helper("numel", "size"), method_helper("type", "astype"), \
    method_helper("t", "transpose")
reduce_sum, reduce_mean, expand_dims = method_helper("sum", "reduce_sum"), \
    method_helper("mean", "reduce_mean"), method_helper("unsqueeze", "expand_dims")


def numpy(x, *args, **kwargs):
    """A NumPy copy of ``x``, from whichever device it is on."""
    return x.detach().cpu().numpy(*args, **kwargs)
