"""The book's library surface in MXNet: Gluon-based Module, Classifier and Trainer, and the
helpers the RNN sections call (d2l.ai 3.2, 4.3, 9.5, 9.6)."""
import copy

from ..book.library import (
    ClassifierMixin,
    HyperParameters,
    ModuleMixin,
    TrainerBase,
    device_helpers,
    method_helper,
)
from ..training.train import clip_gradients as clip_by_global_norm
from .ops import mnp, mx, npx, ops

# What this framework adds to the book's library surface (d2lrnn.book.surface lists what
# every framework must): the bases, the device functions, the tensor helpers.
__all__ = ["Module", "Classifier", "Trainer", "LinearRegression", "cpu", "gpu", "num_gpus",
           "try_gpu", "try_all_gpus", "abs", "arange", "argmax", "astype", "batch_matmul",
           "concat", "cos", "cosh", "exp", "expand_dims", "eye", "float32", "float64", "int32",
           "int64", "linspace", "log", "matmul", "meshgrid", "normal", "numpy", "one_hot", "ones",
           "ones_like", "rand", "randn", "reduce_mean", "reduce_sum", "repeat", "reshape",
           "sigmoid", "sin", "sinh", "size", "stack", "swapaxes", "tanh", "tensor", "to",
           "transpose", "zeros", "zeros_like"]

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
            for part in _parts(value):
                params.extend(part.get_scratch_params())
        return params

    def set_scratch_params_device(self, device):
        """Move the arrays held as attributes (here and in sub-modules) to ``device``, with
        their gradients attached, as the book's Trainer does for ``num_gpus=1``."""
        for name, value in list(vars(self).items()):
            if isinstance(value, mnp.ndarray):
                moved = value.as_in_ctx(device)
                moved.attach_grad()
                setattr(self, name, moved)
            for part in _parts(value):
                part.set_scratch_params_device(device)

    def framework_device(self):
        scratch = self.get_scratch_params()
        if scratch:
            return scratch[0].ctx
        gluon_params = list(self.collect_params().values())
        return gluon_params[0].list_ctx()[0] if gluon_params else None

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

    def adam(self, lr):
        params = self.parameters()
        if isinstance(params, list):
            return ArraysOptimizer(params, mx.optimizer.Adam(learning_rate=lr))
        return gluon.Trainer(params, "adam", {"learning_rate": lr})

    def is_training(self):
        return mx.autograd.is_training()

    def layer_forward(self, inputs, H=None):
        if H is None:  # a Gluon layer's state is a list: one array here
            H, = self.rnn.begin_state(inputs.shape[1], ctx=inputs.ctx)
        outputs, (H,) = self.rnn(inputs, (H,))
        return outputs, H

    def make_linear(self, units):
        self.linear = gluon.nn.Dense(units, flatten=False)
        self.initialize()  # every Gluon layer here, the reader's RNN's too (as the book)


def _parts(value):
    """The modules held in an attribute: itself, or those of a list (a deep RNN's layers)."""
    if isinstance(value, Module):
        return [value]
    if isinstance(value, (list, tuple)):
        return [v for v in value if isinstance(v, Module)]
    return []


class SGD(HyperParameters):
    """Plain SGD on scratch arrays, in place (so their attached gradients stay)."""

    def __init__(self, params, lr):
        self.save_hyperparameters()

    def step(self, batch_size=1):
        for param in self.params:
            param[:] = param - self.lr / batch_size * param.grad


class ArraysOptimizer:
    """One of MXNet's optimizers (``mx.optimizer.Adam``) on arrays held as attributes, with
    ``step(batch_size)`` as ``gluon.Trainer`` has on Gluon's parameters."""

    def __init__(self, params, optimizer):
        self.params, self.optimizer = params, optimizer
        self.updater = mx.optimizer.get_updater(optimizer)

    def step(self, batch_size=1):
        self.optimizer.rescale_grad = 1 / batch_size
        for i, param in enumerate(self.params):  # in place: the attached gradients stay
            self.updater(i, param.grad.as_nd_ndarray(), param.as_nd_ndarray())


class Classifier(ClassifierMixin, Module):
    """A model whose loss is the mean cross-entropy of its logits."""


class LinearRegression(Module):
    """Linear regression on Gluon's layer (d2l.ai 3.5), as section 9.1 trains it: one output
    of a ``Dense`` layer (its input size taken at the first call), weights from N(0, 0.01²),
    half the squared error (Gluon's ``L2Loss``), averaged."""

    def __init__(self, lr):
        super().__init__()
        self.save_hyperparameters()
        self.net = gluon.nn.Dense(1)
        self.net.initialize(mx.init.Normal(sigma=0.01))

    def forward(self, X):
        return self.net(X)

    def loss(self, y_hat, y):
        return gluon.loss.L2Loss()(y_hat, y).mean()

    def configure_optimizers(self):
        return gluon.Trainer(self.collect_params(), "sgd", {"learning_rate": self.lr})

    def get_w_b(self):
        return self.net.weight.data(), self.net.bias.data()


class Trainer(TrainerBase):
    """Minibatch training under ``autograd.record`` with gradient clipping; with
    ``num_gpus=1`` the model's parameters and every batch go to the first GPU, as the
    book's."""

    ops = ops

    def prepare_batch(self, batch):
        return [mnp.array(a, dtype=a.dtype, ctx=self.device) for a in batch]

    def prepare_model(self, model):
        for param in model.get_scratch_params():
            if param.grad is None:  # a reader's arrays: attach gradients, as the book does
                param.attach_grad()
        super().prepare_model(model)
        if self.gpus:  # the book's way: Gluon's parameters, then the scratch arrays
            model.collect_params().reset_ctx(self.gpus[0])
            model.set_scratch_params_device(self.gpus[0])

    def configure_optimizer(self, model):
        """The model's optimizer; where it is a ``gluon.Trainer`` and the model also holds
        arrays as attributes (the library's GRU inside a reader's Gluon model, as 10.7's),
        the same optimizer steps those too (``self.arrays_optim``)."""
        optim = super().configure_optimizer(model)
        arrays = model.get_scratch_params()
        self.arrays_optim = (ArraysOptimizer(arrays, copy.deepcopy(optim.optimizer))
                             if isinstance(optim, gluon.Trainer) and arrays else None)
        return optim

    def train_batch(self, batch):
        with mx.autograd.record():
            loss = self.model.training_step(batch)
        loss.backward()
        if self.gradient_clip_val > 0:
            self.clip_gradients(self.gradient_clip_val, self.model)
        self.optim.step(1)
        if self.arrays_optim is not None:
            self.arrays_optim.step(1)
        return loss  # checked by TrainerBase.check_step

    def clip_gradients(self, grad_clip_val, model):
        """Scale every gradient of ``model`` (Gluon's parameters' and its arrays') by θ/‖g‖
        when their global norm exceeds θ."""
        params = model.parameters()
        if not isinstance(params, list):
            params = [p.data() for p in params.values()] + model.get_scratch_params()
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


try_gpu, try_all_gpus = device_helpers(gpu, cpu, num_gpus)

# The array helpers the book calls as d2l.<name>: mxnet.np's functions, or (as the book's)
# helpers that call the array's method with the arguments as given.
ones, ones_like, zeros, zeros_like, tensor, arange = mnp.ones, mnp.ones_like, mnp.zeros, \
    mnp.zeros_like, mnp.array, mnp.arange
sin, sinh, cos, cosh, tanh, exp, log, abs, sigmoid = mnp.sin, mnp.sinh, mnp.cos, mnp.cosh, \
    mnp.tanh, mnp.exp, mnp.log, mnp.abs, npx.sigmoid
meshgrid, linspace, eye, expand_dims = mnp.meshgrid, mnp.linspace, mnp.eye, mnp.expand_dims
normal, rand, randn = mnp.random.normal, mnp.random.rand, mnp.random.randn
matmul, batch_matmul, concat, stack = mnp.dot, npx.batch_dot, mnp.concatenate, mnp.stack
int32, int64, float32, float64 = mnp.int32, mnp.int64, mnp.float32, mnp.float64
reshape, argmax, astype, swapaxes, repeat = map(method_helper, ("reshape", "argmax", "astype",
                                                                "swapaxes", "repeat"))
reduce_sum, reduce_mean = method_helper("sum", "reduce_sum"), method_helper("mean", "reduce_mean")
numpy, to = method_helper("asnumpy", "numpy"), method_helper("as_in_context", "to")
one_hot = npx.one_hot


def transpose(a):
    return a.T


def size(a):
    return a.size
