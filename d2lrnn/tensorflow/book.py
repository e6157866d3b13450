"""The book's library surface in TensorFlow: Module, Classifier and Trainer over tf.Module and
tf.GradientTape, and the helpers the RNN sections call (d2l.ai 3.2, 4.3, 9.5, 9.6).

Keras 3 no longer tracks raw ``tf.Variable`` attributes of a ``keras.Model``, so ``Module`` is
a ``tf.Module`` (which does) that also collects the variables of any Keras layer it holds.
"""
from ..book.library import (
    ClassifierMixin,
    HyperParameters,
    ModuleMixin,
    TrainerBase,
    device_helpers,
    method_helper,
)
from ..training.gradients import clipped
from ..training.train import clip_gradients as clip_by_global_norm
from .ops import ops, tf

# What this framework adds to the book's library surface (d2lrnn.book.surface lists what
# every framework must): the bases, the device functions, the tensor helpers.
__all__ = ["Module", "Classifier", "Trainer", "LinearRegression", "cpu", "gpu", "num_gpus",
           "try_gpu", "try_all_gpus", "abs", "arange", "argmax", "astype", "batch_matmul",
           "concat", "cos", "cosh", "exp", "expand_dims", "eye", "float32", "float64", "int32",
           "int64", "linspace", "log", "matmul", "meshgrid", "normal", "numpy", "ones",
           "ones_like", "rand", "randn", "reduce_mean", "reduce_sum", "repeat", "reshape",
           "sigmoid", "sin", "sinh", "size", "stack", "swapaxes", "tanh", "tensor", "transpose",
           "zeros", "zeros_like"]


class Module(ModuleMixin, tf.Module, HyperParameters):
    """The base of models: a ``tf.Module`` that plots its progress."""

    ops = ops

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def call(self, X, *args, **kwargs):
        """Keras' name for the forward pass; ``training=`` is kept in ``self.training``."""
        if "training" in kwargs:
            self.training = kwargs.pop("training")
        return self.forward(X, *args, **kwargs)

    @property
    def trainable_variables(self):
        """tf.Variables held here or in sub-modules, and the weights of Keras layers."""
        found, seen = [], set()

        def add(variables):
            for v in variables:
                if id(v) not in seen:
                    seen.add(id(v))
                    found.append(v)

        add(super().trainable_variables)
        for value in vars(self).values():
            if isinstance(value, Module):
                add(value.trainable_variables)
            elif hasattr(value, "trainable_weights") and not isinstance(value, tf.Module):
                add(value.trainable_variables)
        return found

    def configure_optimizers(self):
        return SGD(self.lr)

    def adam(self, lr):
        return tf.keras.optimizers.Adam(learning_rate=lr)

    def is_training(self):
        return bool(self.__dict__.get("training"))

    def readers_forward(self, *args, training=None, **kwargs):
        """A reader's Keras-style class defines ``call``: run it, as Keras would."""
        if type(self).call is Module.call:
            return super().readers_forward(*args, **kwargs)
        if training is not None:
            self.training = training
        return self.call(*args, **kwargs)

    def layer_forward(self, inputs, H=None):
        outputs, H = self.rnn(inputs, H)
        return outputs, H

    def make_linear(self, units):
        self.linear = tf.keras.layers.Dense(units)

    def framework_device(self):
        return next((ops.device_of(v) for v in self.trainable_variables), None)


class SGD:
    """Plain SGD: ``apply_gradients`` as a Keras optimizer, on any variables."""

    def __init__(self, lr):
        self.lr = lr

    def apply_gradients(self, grads_and_vars):
        for grad, var in grads_and_vars:
            var.assign_sub(self.lr * tf.convert_to_tensor(grad))


class Classifier(ClassifierMixin, Module):
    """A model whose loss is the mean cross-entropy of its logits."""


class LinearRegression(Module):
    """Linear regression on Keras' layer (d2l.ai 3.5), as section 9.1 trains it: one output
    of a ``Dense`` layer (its input size taken at the first call), weights from N(0, 0.01²),
    the mean squared error."""

    def __init__(self, lr):
        super().__init__()
        self.save_hyperparameters()
        self.net = tf.keras.layers.Dense(
            1, kernel_initializer=tf.keras.initializers.RandomNormal(stddev=0.01))

    def forward(self, X):
        return self.net(X)

    def loss(self, y_hat, y):
        return tf.reduce_mean(tf.square(tf.cast(y, y_hat.dtype) - y_hat))

    def get_w_b(self):
        return self.net.kernel, self.net.bias


class Trainer(TrainerBase):
    """Minibatch training with tf.GradientTape and gradient clipping; with ``num_gpus=1``
    training runs under the first GPU's ``tf.device`` (where a reader's Keras layers make
    their variables) and the section's models move there."""

    ops = ops

    def prepare_batch(self, batch):
        with ops.on(self.device):  # NumPy batches, or tensors (a reader's get_tensorloader)
            return [tf.identity(tf.convert_to_tensor(a)) for a in batch]

    def prepare_model(self, model):
        super().prepare_model(model)
        self.place_model(model)

    def train_batch(self, batch):
        if self.model_compiles_step():
            return self.compiled_train_batch(batch)
        with tf.GradientTape() as tape:
            loss = self.model.training_step(batch)
        variables = self.model.trainable_variables
        grads = dense_gradients(tape.gradient(loss, variables))
        if self.gradient_clip_val > 0:
            grads = self.clip_gradients(self.gradient_clip_val, grads)
        self.optim.apply_gradients(zip(grads, variables))
        return loss  # checked by TrainerBase.check_step

    def compiled_train_batch(self, batch):
        """The step of :meth:`train_batch` compiled whole (``tf.function`` with XLA, made
        once per model, optimizer and clipping; traced once per batch shape: a shorter last
        batch traces once more): the forward pass, the loss, the tape's gradients made dense,
        clipping and the optimizer's update. The loss is plotted here, as the model's
        ``training_step`` does."""
        model, clip, optim = self.model, self.gradient_clip_val, self.optim
        model.check_step_batch(batch)
        variables = model.trainable_variables
        key = (id(model), id(optim), clip, tuple(id(v) for v in variables))
        steps = self.__dict__.setdefault("compiled_steps", {})
        if key not in steps:
            if not getattr(optim, "built", True):
                optim.build(variables)  # its slots made eagerly: compiled code makes none

            def step(*batch):
                with tf.GradientTape() as tape:
                    loss = model.loss(model(*batch[:-1]), batch[-1])
                grads = dense_gradients(tape.gradient(loss, variables))
                if clip > 0:
                    scaled = clipped(ops, dict(enumerate(grads)), clip)
                    grads = [scaled[i] for i in range(len(grads))]
                optim.apply_gradients(zip(grads, variables))
                return loss
            steps[key] = ops.compile(step)
        loss = steps[key](*batch)
        model.plot("loss", loss, train=True)
        return loss

    def clip_gradients(self, grad_clip_val, grads):
        """The gradients scaled by θ/‖g‖ where their global norm exceeds θ."""
        grads = dense_gradients(grads)  # a reader may pass the tape's own
        clipped, _ = clip_by_global_norm(ops, dict(enumerate(grads)), grad_clip_val)
        return [clipped[i] for i in range(len(grads))]


def dense_gradients(grads):
    """The gradients as dense tensors. The tape gives an embedding's as ``tf.IndexedSlices``
    with one row per lookup, a row looked up twice listed twice: Keras' Adam, handed those,
    moved such a row by up to 2 lr in a step; made dense, the rows are summed."""
    return [tf.convert_to_tensor(g) for g in grads]


def num_gpus():
    return len(tf.config.list_physical_devices("GPU"))


def gpu(i=0):
    return tf.device(f"/GPU:{i}")


def cpu():
    return tf.device("/CPU:0")


# Device scopes: GPU i if there is one, else the CPU (``with d2l.try_gpu():``).
try_gpu, try_all_gpus = device_helpers(gpu, cpu, num_gpus)

# The tensor helpers the book calls as d2l.<name>.
ones, ones_like, zeros, zeros_like, tensor, arange = tf.ones, tf.ones_like, tf.zeros, \
    tf.zeros_like, tf.constant, tf.range
sin, sinh, cos, cosh, tanh, exp, log, abs, sigmoid = tf.sin, tf.sinh, tf.cos, tf.cosh, \
    tf.tanh, tf.exp, tf.math.log, tf.abs, tf.sigmoid
meshgrid, linspace, eye, normal, rand = tf.meshgrid, tf.linspace, tf.eye, tf.random.normal, \
    tf.random.uniform
matmul, batch_matmul, concat, stack = tf.matmul, tf.matmul, tf.concat, tf.stack
reshape, argmax, transpose, expand_dims, repeat, astype = tf.reshape, tf.argmax, tf.transpose, \
    tf.expand_dims, tf.repeat, tf.cast
reduce_sum, reduce_mean = tf.reduce_sum, tf.reduce_mean
int32, int64, float32, float64 = tf.int32, tf.int64, tf.float32, tf.float64


def randn(*shape):
    return tf.random.normal(shape)


def swapaxes(x, axis1, axis2):
    axes = list(range(len(x.shape)))
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return tf.transpose(x, axes)


def size(a):
    return int(tf.size(a).numpy())


numpy = method_helper("numpy")
