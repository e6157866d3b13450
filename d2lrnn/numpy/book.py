"""The book's library surface in NumPy, which has no module class and no autograd: ``Module``
is a plain class, and the ``Trainer`` trains the section's language models with their
hand-written gradients (the training loop of :mod:`d2lrnn.train`)."""
from ..book import ClassifierMixin, FunctionalTrainer, PlainModule
from .ops import ops


class Module(PlainModule):
    ops = ops


class Classifier(ClassifierMixin, Module):
    """A model whose loss is the mean cross-entropy of its logits."""


class Trainer(FunctionalTrainer):
    """Minibatch SGD with gradient clipping, for models with ``loss_and_grads_fn``."""
