"""The book's library surface in MXNet: Gluon-based Module, Classifier and Trainer, and the
helpers the RNN sections call (d2l.ai 3.2, 4.3, 9.5, 9.6)."""
from ..book import ClassifierMixin, HyperParameters, ModuleMixin, TrainerBase
from ..train import clip_gradients as clip_by_global_norm
from .ops import mnp, mx, npx, ops

gluon = mx.gluon


class Module(ModuleMixin, gluon.nn.Block, HyperParameters):
    """The base of models: a Gluon ``Block`` whose parameters are Gluon parameters or, in
    scratch models, arrays held as attributes."""

    ops = ops

    def get_scratch_params(self):
        """The arrays held as attributes, here and in sub-modules."""
        params = []
        for value in list(vars(self).values()):
            if isinstance(value, mnp.ndarray):
                params.append(value)
            elif isinstance(value, Module):
                params.extend(value.get_scratch_params())
        return params

    def parameters(self):
        """Gluon's ParameterDict if the model has Gluon parameters, else the list of its
        scratch arrays (the two shapes the book's MXNet code expects)."""
        params = self.collect_params()
        return params if len(params.keys()) else self.get_scratch_params()

    def configure_optimizers(self):
        params = self.parameters()
        if isinstance(params, list):
            return SGD(params, self.lr)
        return gluon.Trainer(params, "sgd", {"learning_rate": self.lr})


class SGD(HyperParameters):
    """Plain SGD on scratch arrays, in place (so their attached gradients stay)."""

    def __init__(self, params, lr):
        self.save_hyperparameters()

    def step(self, batch_size=1):
        for param in self.params:
            param[:] = param - self.lr / batch_size * param.grad


class Classifier(ClassifierMixin, Module):
    """A model whose loss is the mean cross-entropy of its logits."""


class Trainer(TrainerBase):
    """Minibatch training under ``autograd.record`` with gradient clipping."""

    def prepare_batch(self, batch):
        return [mnp.array(a, dtype=a.dtype) for a in batch]

    def prepare_model(self, model):
        for param in model.get_scratch_params():
            if param.grad is None:  # a reader's arrays: attach gradients, as the book does
                param.attach_grad()
        super().prepare_model(model)

    def train_batch(self, batch):
        with mx.autograd.record():
            loss = self.model.training_step(batch)
        loss.backward()
        if self.gradient_clip_val > 0:
            self.clip_gradients(self.gradient_clip_val, self.model)
        self.optim.step(1)

    def clip_gradients(self, grad_clip_val, model):
        """Scale every gradient of ``model`` by θ/‖g‖ when their global norm exceeds θ."""
        params = model.parameters()
        if not isinstance(params, list):
            params = [p.data() for p in params.values()]
        clipped, _ = clip_by_global_norm(ops, {i: p.grad for i, p in enumerate(params)},
                                         grad_clip_val)
        for i, p in enumerate(params):
            p.grad[:] = clipped[i]


def num_gpus():
    return mx.context.num_gpus()


def gpu(i=0):
    return mx.gpu(i)


def cpu():
    return mx.cpu()


def try_gpu(i=0):
    """GPU ``i`` if there is one, else the CPU."""
    return gpu(i) if num_gpus() >= i + 1 else cpu()


# The array functions the book calls as d2l.<name>.
ones, zeros, tensor, arange, randn = mnp.ones, mnp.zeros, mnp.array, mnp.arange, \
    mnp.random.randn
normal, matmul, tanh, exp, log = mnp.random.normal, mnp.dot, mnp.tanh, mnp.exp, mnp.log
stack, concat, reshape, argmax, swapaxes = mnp.stack, mnp.concatenate, mnp.reshape, \
    mnp.argmax, mnp.swapaxes
int32, int64, float32, float64 = mnp.int32, mnp.int64, mnp.float32, mnp.float64
one_hot = npx.one_hot


def numpy(x):
    return x.asnumpy()


def to(x, device):
    return x.as_in_ctx(device)


def transpose(x, axes=None):
    return mnp.transpose(x, axes)
