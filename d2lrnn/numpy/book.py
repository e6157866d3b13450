"""The book's library surface in NumPy, which has no module class and no autograd: ``Module``
is a plain class, and the ``Trainer`` trains the section's language models and the
encoder-decoder with their hand-written gradients (SGD as :mod:`d2lrnn.training.train`, or
the reference's Adam where the model asks for it)."""
from ..base.errors import NotAvailable
from ..book.library import ClassifierMixin, FunctionalTrainer, PlainModule, device_helpers
from ..training.adam import Adam
from .ops import ops

# What NumPy adds to the book's library surface (d2lrnn.book.surface): the bases and the
# device functions (the book has no NumPy tab: no tensor helpers).
__all__ = ["Module", "Classifier", "Trainer", "cpu", "gpu", "num_gpus", "try_gpu", "try_all_gpus"]


class Module(PlainModule):
    ops = ops

    def adam(self, lr):
        """The reference's Adam (PyTorch's formula), which the Trainer steps with the
        model's hand-written gradients (the book's Seq2Seq asks for it)."""
        return Adam(lr)


class Classifier(ClassifierMixin, Module):
    """A model whose loss is the mean cross-entropy of its logits."""


class Trainer(FunctionalTrainer):
    """Minibatch SGD with gradient clipping, for models with ``loss_and_grads_fn`` (Adam where
    the model's ``configure_optimizers`` gives it: the encoder-decoder)."""

    ops = ops


# The book's device functions, so that its code (predict(..., d2l.try_gpu()),
# Trainer(num_gpus=1)) runs on the reference too: NumPy computes on the CPU.
def num_gpus():
    return 0


def cpu():
    return ops.cpu_device()


def gpu(i=0):
    raise NotAvailable(f"NumPy computes on the CPU only: there is no gpu({i}); use "
                       f"try_gpu(), which gives the CPU, or a framework's backend")


try_gpu, try_all_gpus = device_helpers(gpu, cpu, num_gpus)
