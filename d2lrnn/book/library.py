"""The framework-neutral half of the book's library surface (d2l.ai 3.2, "Object-Oriented
Design for Implementation"): what a reader's notebook calls on ``d2l`` whatever the framework.

Each framework's ``book.py`` adds its ``Module``, ``Classifier`` and ``Trainer`` on top.
"""
import collections
import inspect
import sys
import warnings

import numpy as np

from ..base import checks, ipython
from ..base.adapter import DeviceWarning
from ..base.backend import ops_of
from ..base.downloads import DATA_HUB, DATA_URL, download, extract  # noqa: F401 - the book's
from ..base.errors import BadArgument, BadType, NotAvailable
from ..base.plot import plot, plt, save_figure, set_axes, set_figsize, use_svg_display  # noqa: F401
from ..maths.equations import cross_entropy, token_cross_entropy
from ..training.adam import Adam
from ..training.train import MAX_CLIP, clip_gradients, diverged, step_divergence


def add_to_class(Class):
    """Attach the decorated function to ``Class`` as a method: the book's way of writing a
    class over several notebook cells."""
    def register(function):
        setattr(Class, function.__name__, function)
        return function
    return register


class HyperParameters:
    """``save_hyperparameters()`` stores the arguments of the calling ``__init__`` as
    attributes and in ``self.hparams``, as the book's readers write it (the values come from
    the caller's frame: the book's API takes no arguments)."""

    def save_hyperparameters(self, ignore=()):
        frame = sys._getframe(1)
        local_vars = inspect.getargvalues(frame).locals
        self.hparams = {k: v for k, v in local_vars.items()
                        if k not in {"self", *ignore} and not k.startswith("_")
                        and k != "__class__"}
        for key, value in self.hparams.items():
            setattr(self, key, value)


def method_helper(method, name=None):
    """The book's form of a tensor helper: ``helper(x, *args, **kwargs)`` calls
    ``x.<method>(*args, **kwargs)``, so ``d2l.reshape(x, 1)`` passes the shape on as the
    tensor's own method takes it (a framework function such as ``torch.reshape`` wants a
    tuple)."""
    def helper(x, *args, **kwargs):
        return getattr(x, method)(*args, **kwargs)

    helper.__name__ = helper.__qualname__ = name or method
    helper.__doc__ = f"``x.{method}(*args, **kwargs)``, as the book's d2l.{name or method}."
    return helper


def device_helpers(gpu, cpu, num_gpus):
    """The book's ``try_gpu(i=0)`` and ``try_all_gpus()`` over a framework's ``gpu``, ``cpu``
    and ``num_gpus``."""
    def try_gpu(i=0):
        """GPU ``i`` if there is one, else the CPU."""
        return gpu(i) if num_gpus() >= i + 1 else cpu()

    def try_all_gpus():
        """Every GPU, or ``[cpu()]`` where there is none."""
        return [gpu(i) for i in range(num_gpus())] or [cpu()]

    return try_gpu, try_all_gpus


def check_shape(a, shape):
    """Raise AssertionError unless ``a.shape == shape``."""
    got = tuple(int(s) for s in a.shape)
    if got != tuple(shape):
        raise AssertionError(f"tensor's shape {got} != expected shape {tuple(shape)}")


def check_len(a, n):
    """Raise AssertionError unless ``len(a) == n``."""
    if len(a) != n:
        raise AssertionError(f"list's length {len(a)} != expected length {n}")


Point = collections.namedtuple("Point", ["x", "y"])


class ProgressBoard(HyperParameters):
    """Points drawn as training goes: live in Jupyter, kept quietly anywhere else.

    ``draw(x, y, label, every_n)`` averages every ``every_n`` points of a label into one.
    In a notebook the figure updates in place; in a script nothing is shown or printed
    (the points stay in ``self.data``, and :meth:`save` writes the figure).
    """

    def __init__(self, xlabel=None, ylabel=None, xlim=None, ylim=None, xscale="linear",
                 yscale="linear", ls=("-", "--", "-.", ":"), colors=("C0", "C1", "C2", "C3"),
                 fig=None, axes=None, figsize=(3.5, 2.5), display=True):
        self.save_hyperparameters()
        self.raw_points = collections.OrderedDict()
        self.data = collections.OrderedDict()
        self._handle = None

    def draw(self, x, y, label, every_n=1):
        points = self.raw_points.setdefault(label, [])
        line = self.data.setdefault(label, [])
        points.append(Point(float(x), float(y)))
        if len(points) < max(int(every_n), 1):
            return
        line.append(Point(sum(p.x for p in points) / len(points),
                          sum(p.y for p in points) / len(points)))
        points.clear()
        if self.display and ipython.in_notebook():
            self._handle = ipython.show(self.figure(), self._handle)

    def figure(self):
        """The current plot as a matplotlib Figure (no global pyplot state)."""
        from matplotlib.figure import Figure

        fig = Figure(figsize=self.figsize, layout="constrained")
        ax = fig.add_subplot()
        for (label, line), ls, color in zip(self.data.items(), self.ls * 4, self.colors * 4):
            ax.plot([p.x for p in line], [p.y for p in line], linestyle=ls, color=color,
                    label=label)
        if self.xlim:
            ax.set_xlim(self.xlim)
        if self.ylim:
            ax.set_ylim(self.ylim)
        ax.set_xlabel(self.xlabel or "")
        ax.set_ylabel(self.ylabel or "")
        ax.set_xscale(self.xscale)
        ax.set_yscale(self.yscale)
        if self.data:
            ax.legend()
        return fig

    def save(self, path):
        save_figure(self.figure(), path)


class ModuleMixin:
    """What every framework's ``Module`` shares: progress plotting and the default steps.
    It comes first among a Module's bases, so its ``__init__`` and ``forward`` are the ones
    used (Flax makes its own ``__init__``: the class attributes serve there)."""

    plot_train_per_epoch = 2
    plot_valid_per_epoch = 1

    @classmethod
    def framework_class(cls, shared, name, module, ops):
        """The class this backend exports as ``name``: the model written once (``shared``)
        on this framework's Module."""
        return type(name, (shared, cls), {"ops": ops, "__module__": module,
                                          "__qualname__": name, "__doc__": shared.__doc__})

    def __init__(self, plot_train_per_epoch=2, plot_valid_per_epoch=1):
        super().__init__()
        self.plot_train_per_epoch = plot_train_per_epoch
        self.plot_valid_per_epoch = plot_valid_per_epoch

    def framework_device(self):
        """Where the framework keeps this module's parameters (None where it keeps none)."""
        return None

    def make_part(self, cls, *args, **kwargs):
        """A model that is part of this one (a layer of a deep RNN)."""
        return cls(*args, **kwargs)

    def part_list(self, parts):
        """Parts held in a list, where the framework finds their parameters."""
        return list(parts)

    # -- the book's concise models on the framework's layers (9.6, and chapter 10's GRU,
    # LSTM): what RNN and RNNLM do with a reader's RNN, in each framework's own way

    def layer_forward(self, inputs, H=None):
        """The book's ``RNN.forward``: the framework's layer in ``self.rnn`` on ``inputs``
        (num_steps, batch_size, num_inputs) from the state ``H`` -> (outputs, state)."""
        raise NotImplementedError(f"{type(self).__name__}: define forward(self, inputs, "
                                  f"H=None) (the {self.ops.name} backend has no layer of "
                                  f"the book's to run)")

    def make_linear(self, units):
        """``self.linear``: the framework's dense layer of ``units`` outputs, its input size
        learnt at the first call (the book's concise RNNLM's output layer)."""
        raise BadType(f"the {self.ops.name} backend has no dense layer of its own: the "
                        f"output layer of a reader's RNN is W_hq, b_q (RNNLMScratch)")

    def is_training(self):
        """Whether the framework's module is training now (dropout then drops): PyTorch's
        ``train()``, MXNet's ``autograd.record()``, Keras' ``training=True``; never here."""
        return False

    def drop(self, x, rate):
        """``x`` through dropout at ``rate`` (the framework's, :meth:`Ops.dropout`)."""
        return self.ops.dropout(x, rate)

    def readers_forward(self, *args, **kwargs):
        """The forward pass of a reader's class that defines only the framework's own name
        for it (Keras' ``call``); none here."""
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def adam(self, lr):
        """The framework's Adam over this module's parameters (the book's Seq2Seq trains
        with it)."""
        raise NotAvailable(f"the {self.ops.name} backend has no Adam of its own")

    def loss(self, y_hat, y):
        raise NotImplementedError(f"{type(self).__name__} has no loss: define "
                                  f"loss(self, y_hat, y) (or derive from d2l.Classifier)")

    def forward(self, X):
        return self.net(X)

    @property
    def board(self):
        if "_board" not in self.__dict__:
            self.__dict__["_board"] = ProgressBoard()
        return self.__dict__["_board"]

    def plot(self, key, value, train):
        """Add a point to the progress board at the current (fractional) epoch."""
        trainer = getattr(self, "trainer", None)
        if trainer is None:
            raise NotAvailable("plot() needs a trainer: call Trainer.fit(model, data)")
        self.board.xlabel = "epoch"
        if train:
            x = trainer.train_batch_idx / trainer.num_train_batches
            n = trainer.num_train_batches / self.plot_train_per_epoch
        else:
            x = trainer.epoch + 1
            n = trainer.num_val_batches / self.plot_valid_per_epoch
        self.board.draw(x, float(self._to_float(value)), ("train_" if train else "val_") + key,
                        every_n=int(n))

    def _to_float(self, value):
        return float(self.ops.to_numpy(value)) if self.ops.is_tensor(value) else float(value)

    def training_step(self, batch):
        loss = self.loss(self(*batch[:-1]), batch[-1])
        self.plot("loss", loss, train=True)
        return loss

    def validation_step(self, batch):
        loss = self.loss(self(*batch[:-1]), batch[-1])
        self.plot("loss", loss, train=False)


class ClassifierMixin:
    """What every framework's ``Classifier`` shares: the mean cross-entropy of the logits,
    and the accuracy of their argmax."""

    def loss(self, Y_hat, Y, averaged=True):
        """The cross-entropy of the logits ``Y_hat`` against the labels ``Y``: its mean, or
        one value per token, flattened, when not ``averaged`` (the book's masked loss of
        10.7 weighs those)."""
        if not averaged:
            return token_cross_entropy(self.ops, Y_hat, Y)
        return cross_entropy(self.ops, Y_hat, Y)

    def accuracy(self, Y_hat, Y, averaged=True):
        """The fraction of predictions (the argmax of the logits ``Y_hat``) equal to the
        labels ``Y``; one 1.0 or 0.0 per prediction when not ``averaged``."""
        return accuracy(self.ops, Y_hat, Y, averaged)


def accuracy(ops, Y_hat, Y, averaged=True):
    """:meth:`ClassifierMixin.accuracy` for framework arrays (a metric: no gradient)."""
    num_classes = ops.shape(Y_hat)[-1]
    predicted = ops.to_numpy(ops.argmax(ops.reshape(Y_hat, (-1, num_classes)), 1))
    labels = np.asarray(ops.to_numpy(Y) if ops.is_tensor(Y) else Y).reshape(-1)
    if predicted.shape != labels.shape:
        raise BadArgument(f"accuracy: {labels.size} labels for {predicted.size} predictions "
                         f"(logits of shape {ops.shape(Y_hat)})")
    dtype = ops.dtype_name(Y_hat)
    correct = ops.asarray((predicted == labels).astype(dtype), dtype)
    return ops.mean(correct) if averaged else correct


class DataModule(HyperParameters):
    """Data with ``train_dataloader()`` and ``val_dataloader()``, as the book's."""

    root = "../data"  # where the book's cells download to (DataModule(root=...))
    num_workers = 4

    def __init__(self, root="../data", num_workers=4):
        self.save_hyperparameters()

    def get_dataloader(self, train):
        raise NotImplementedError(f"{type(self).__name__} must define get_dataloader(train)")

    def train_dataloader(self):
        return self.get_dataloader(train=True)

    def val_dataloader(self):
        return self.get_dataloader(train=False)

    def get_tensorloader(self, tensors, train, indices=slice(0, None)):
        """Minibatches of ``self.batch_size`` rows of ``tensors`` (arrays of any framework,
        or NumPy, with as many rows each), the rows ``indices`` selects: shuffled on every
        pass when ``train``, in order otherwise; each batch a tuple of the same kind of
        arrays (d2l.ai 3.3)."""
        batch_size = getattr(self, "batch_size", None)
        if batch_size is None:
            raise AttributeError(f"{type(self).__name__}.get_tensorloader: set self.batch_size "
                                 f"first (e.g. save_hyperparameters() of an __init__ taking "
                                 f"batch_size)")
        return TensorLoader([t[indices] for t in tensors], batch_size, shuffle=train)


class TensorLoader:
    """Minibatches of rows of the same arrays, as ``DataModule.get_tensorloader`` makes them:
    the arrays' own kind out (PyTorch, TensorFlow, JAX, MXNet or NumPy), ``len()`` batches
    per pass, the last one shorter where the rows do not divide evenly."""

    def __init__(self, tensors, batch_size, shuffle):
        tensors = [t if hasattr(t, "shape") else np.asarray(t) for t in tensors]
        sizes = {int(t.shape[0]) for t in tensors}
        if len(sizes) != 1:
            raise BadArgument(f"get_tensorloader: the arrays must have as many rows each, got "
                             f"{sorted(sizes)}")
        self.tensors, self.batch_size, self.shuffle = tensors, int(batch_size), shuffle
        self.num_rows = sizes.pop()
        self.rng = np.random.default_rng()

    def __len__(self):
        return -(-self.num_rows // self.batch_size)

    def __iter__(self):
        if not self.shuffle:
            for start in range(0, self.num_rows, self.batch_size):
                yield tuple(t[start:start + self.batch_size] for t in self.tensors)
            return
        order = self.rng.permutation(self.num_rows)
        for start in range(0, self.num_rows, self.batch_size):
            rows = order[start:start + self.batch_size]
            yield tuple(ops_of(t).take_rows(t, rows) for t in self.tensors)


class TrainerBase(HyperParameters):
    """The book's ``Trainer``: ``fit(model, data)`` runs ``max_epochs`` of ``fit_epoch()``.

    A framework's Trainer supplies ``prepare_batch`` (NumPy batches to its tensors),
    ``train_batch`` (one step: the model's ``training_step``, backward, clipping, update)
    and ``clip_gradients`` with the book's signature for that framework.
    """

    ops = None  # the framework's array adapter, set by each framework's Trainer

    def __init__(self, max_epochs, num_gpus=0, gradient_clip_val=0):
        self.save_hyperparameters()
        checked = {"max_epochs": checks.whole(max_epochs, "max_epochs", "Trainer"),
                   "num_gpus": checks.whole(num_gpus, "num_gpus", "Trainer", least=0),
                   "gradient_clip_val": checks.real(gradient_clip_val, "gradient_clip_val",
                                                    "Trainer", least=0, most=MAX_CLIP)}
        self.hparams.update(checked)
        for name, value in checked.items():
            setattr(self, name, value)
        self.first_loss = self.last_finite_loss = None
        self.gpus = self.find_gpus(self.num_gpus)

    def model_compiles_step(self):
        """Whether the model lets this trainer compile its whole step
        (``Seq2Seq.compiles_training_step``; other models train as the book's): the
        Trainers that can (JAX's, TensorFlow's) ask it in ``train_batch``."""
        allows = getattr(self.model, "compiles_training_step", None)
        return allows is not None and allows(self)

    def find_gpus(self, num_gpus):
        """The book's ``[gpu(i) for i in range(min(num_gpus, num_gpus()))]`` (PyTorch's
        accelerators: CUDA, then Apple's MPS), with a warning where there are fewer than
        asked: training then runs on what there is (the CPU where there is none)."""
        found = [device for _, device in self.ops.accelerators()][:num_gpus]
        if num_gpus > len(found):
            where = ", ".join(self.ops.device_name(d) for d in found) or "the CPU"
            warnings.warn(f"Trainer(num_gpus={num_gpus}): {self.ops.name} sees {len(found)} "
                          f"GPU(s) here{self.ops.missing_accelerator_hint()}; training on "
                          f"{where}", DeviceWarning, stacklevel=3)
        return found

    @property
    def device(self):
        """Where this trainer computes: its first GPU, or None (where the model is)."""
        return self.gpus[0] if self.gpus else None

    def prepare_data(self, data):
        self.train_dataloader = data.train_dataloader()
        self.val_dataloader = data.val_dataloader()
        self.num_train_batches = len(self.train_dataloader)
        self.num_val_batches = len(self.val_dataloader) if self.val_dataloader is not None else 0

    def prepare_model(self, model):
        model.trainer = self
        model.board.xlim = [0, self.max_epochs]
        self.model = model

    def fit(self, model, data):
        self.prepare_data(data)
        self.prepare_model(model)
        self.optim = self.configure_optimizer(model)
        self.epoch = self.train_batch_idx = self.val_batch_idx = 0
        with self.ops.on(self.device):
            for self.epoch in range(self.max_epochs):
                self.fit_epoch()

    def place_model(self, model):
        """Move the model to the trainer's GPU, as the book's Trainer does with num_gpus=1:
        ``model.to(gpu)`` where the framework has it, our ``place`` elsewhere."""
        if self.device is not None and hasattr(model, "place"):
            model.place(self.device)

    def configure_optimizer(self, model):
        return model.configure_optimizers()

    def fit_epoch(self):
        for batch in self.train_dataloader:
            loss = self.train_batch(self.prepare_batch(batch))
            self.train_batch_idx += 1
            self.check_step(loss)
        if self.val_dataloader is None:
            return
        for batch in self.val_dataloader:
            self.validation_batch(self.prepare_batch(batch))
            self.val_batch_idx += 1

    def validation_batch(self, batch):
        self.model.validation_step(batch)

    def check_step(self, loss):
        """Stop with :class:`~d2lrnn.training.train.TrainingDiverged` where a step's ``loss``
        (what ``train_batch`` returned: None where it returns nothing) says training diverged,
        as ``training.train.fit`` does: not finite, or grown far beyond the first step's."""
        if loss is None:
            return
        if isinstance(loss, (tuple, list)):  # JAX's classifiers: (loss, auxiliary state)
            loss = loss[0]
        value = float(self.ops.to_numpy(loss)) if self.ops.is_tensor(loss) else float(loss)
        if self.train_batch_idx == 1:  # this fit's first step
            self.first_loss = value
        what = step_divergence(value, first=self.first_loss)
        if what is None:
            self.last_finite_loss = value
            return
        raise diverged(f"{what} (the model's parameters took that step: make the model again)",
                       {}, self.epoch + 1, self.train_batch_idx,
                       getattr(self, "last_finite_loss", None), getattr(self.model, "lr", None),
                       self.gradient_clip_val, flags=False, clip_name="gradient_clip_val")


class PlainModule(ModuleMixin, HyperParameters):
    """A ``Module`` for a framework without a module class of its own here (NumPy), or whose
    own is not wired in yet: parameters are attributes, ``__call__`` runs ``forward``."""

    ops = None  # set by each backend's subclass

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)


class FunctionalTrainer(TrainerBase):
    """A ``Trainer`` for the section's language models in any backend: the training loop of
    :mod:`d2lrnn.training.train` (SGD with global-norm clipping) behind the book's interface;
    and for a model whose ``configure_optimizers`` gives :class:`~d2lrnn.training.adam.Adam`
    (NumPy's Seq2Seq), Adam's steps on the clipped gradients."""

    def configure_optimizer(self, model):
        """The model's optimizer where it names one (Adam), else None: SGD at its ``lr``."""
        configure = getattr(model, "configure_optimizers", None)
        self.optim_state = None
        return configure() if configure is not None else None

    def prepare_model(self, model):
        if not hasattr(model, "loss_and_grads_fn"):
            raise NotAvailable(f"the {self.ops.name} backend's Trainer trains the language "
                               f"models, by their gradients written by hand; a "
                               f"{type(model).__name__} has none here: train it in a "
                               f"framework's backend (its own autograd and Adam)")
        super().prepare_model(model)
        self.place_model(model)

    def prepare_batch(self, batch):
        with self.ops.on(self.model.device):
            return [self.ops.asarray(a, "int64") for a in batch]

    def train_batch(self, batch):
        model = self.model
        loss, grads = model.loss_and_grads_fn(model.book_params, *batch)
        if self.gradient_clip_val > 0:
            grads = self.clip_gradients(self.gradient_clip_val, grads)
        if isinstance(self.optim, Adam):
            if self.optim_state is None:
                self.optim_state = self.optim.init(model.ops, model.book_params)
            params, self.optim_state, _ = self.optim.step(model.ops, model.book_params, grads,
                                                          self.optim_state)
            model.assign(params)
            model.plot("loss", loss, train=True)  # as the model's training_step plots it
            return loss
        model.assign({name: model.ops.update(value, grads[name], model.lr)
                      for name, value in model.book_params.items()})
        model.plot("ppl", model.ops.exp(loss), train=True)
        return loss

    def validation_batch(self, batch):
        with self.model.ops.no_grad():
            self.model.validation_step(batch)

    def clip_gradients(self, grad_clip_val, grads):
        """The gradients scaled by θ/‖g‖ where their global norm exceeds θ."""
        return clip_gradients(self.model.ops, grads, grad_clip_val)[0]
