"""The adapter's required part: the arrays of one framework and what the section computes
with them. Every method takes and returns the framework's own arrays, except :meth:`asarray`
(from NumPy) and :meth:`to_numpy` (to NumPy); the abstract ones are what a new backend must
write, the others have a plain default it may replace with its framework's faster own."""
import abc
import contextlib

import numpy as np

from ..errors import BadType


class Arrays(abc.ABC):
    """Conversion, the array operations of the section's equations, parameters, autograd."""

    name = None  # the backend's name, one of BACKENDS

    # -- conversion ---------------------------------------------------------------------
    @abc.abstractmethod
    def asarray(self, array, dtype):
        """A framework array holding ``array`` (NumPy or nested lists) as ``dtype``, on
        :attr:`device` (the framework's default where None)."""

    @abc.abstractmethod
    def to_numpy(self, x):
        """A NumPy copy of a framework array."""

    @abc.abstractmethod
    def is_tensor(self, x):
        """Whether ``x`` is this framework's array type."""

    def is_concrete(self, x):
        """Whether ``x`` holds values now (not a placeholder traced for compilation)."""
        return True

    def dtype_name(self, x):
        """'float32', 'float64', 'int64', ... for a framework array."""
        return np.dtype(str(x.dtype).rsplit(".", 1)[-1]).name

    def shape(self, x):
        return tuple(int(s) for s in x.shape)

    def take_rows(self, x, rows):
        """``x[rows]`` for a 1-D NumPy array of row numbers (a minibatch of a data set)."""
        return x[rows]

    # -- maths --------------------------------------------------------------------------
    @abc.abstractmethod
    def matmul(self, a, b): ...

    @abc.abstractmethod
    def concat(self, xs, axis): ...

    @abc.abstractmethod
    def stack(self, xs, axis): ...

    @abc.abstractmethod
    def zeros(self, shape, dtype): ...

    @abc.abstractmethod
    def one_hot(self, ids, depth, dtype):
        """(..., ) integer ids -> (..., depth) one-hot vectors of ``dtype``."""

    @abc.abstractmethod
    def pick(self, logits, ids):
        """``logits[i, ids[i]]`` for a 2-D ``logits`` and 1-D integer ``ids``."""

    @abc.abstractmethod
    def logsumexp(self, x, axis): ...

    @abc.abstractmethod
    def activation(self, name):
        """The elementwise function φ called ``name``: 'tanh', 'relu' or 'sigmoid'."""

    def parameter(self, x):
        """``x`` as a trainable parameter of a model (an nn.Parameter, a tf.Variable, ...)."""
        return x

    def plain(self, x):
        """A parameter's value as a plain array (compiled code is traced once for those)."""
        return x

    def assign(self, owner, name, value):
        """Set the parameter ``owner.<name>`` to ``value`` (in place where the framework
        keeps parameters as objects)."""
        setattr(owner, name, value)

    def update(self, value, grad, lr):
        """One plain SGD update, recorded by no autograd: value - lr * grad."""
        return value - lr * grad

    def no_grad(self):
        """A context in which the framework records nothing for autograd."""
        return contextlib.nullcontext()

    def transpose(self, x, axes):
        return x.transpose(axes)

    def reshape(self, x, shape):
        return x.reshape(shape)

    def mean(self, x):
        return x.mean()

    def sum(self, x, axis=None):
        return x.sum() if axis is None else x.sum(axis)

    def exp(self, x):
        return x.exp()

    def max_abs(self, x):
        """max |x| as a Python float."""
        return float(np.max(np.abs(self.to_numpy(x))))

    @property
    def has_autograd(self):
        return type(self).value_and_grad is not Arrays.value_and_grad

    def sum_squares(self, x):
        """sum(x²) as a Python float."""
        return float((self.to_numpy(x).astype(np.float64) ** 2).sum())

    # -- what the fast path's equations use (d2lrnn.maths.equations.lm_loss_fast) --------
    def embedding(self, table, ids):
        """Rows ``table[ids]``, which is ``one_hot(ids) @ table`` without the product."""
        return table[ids]

    def affine(self, x, W, b):
        """x W + b over the last axis of ``x`` (``b``: a bias, or an array shaped as x W)."""
        return self.matmul(x, W) + b

    def log_softmax(self, x):
        """log softmax over the last axis: x - logsumexp(x)."""
        return x - self.reshape(self.logsumexp(x, -1), (*self.shape(x)[:-1], 1))

    def softmax(self, x, log_p=None):
        """softmax over the last axis; ``log_p``, if given, is log_softmax(x) already."""
        return self.exp(self.log_softmax(x) if log_p is None else log_p)

    def embedding_grad(self, ids, grad, num_rows):
        """The gradient of the lookup ``table[ids]`` for the rows' gradient ``grad`` (m, h):
        ``one_hot(ids)^T grad``, which frameworks can do as a scatter-add."""
        return self.matmul(self.transpose(self.one_hot(ids, num_rows, self.dtype_name(grad)),
                                          (1, 0)), grad)

    def argmax(self, x, axis):
        return x.argmax(axis)

    def maximum(self, x, y):
        """Elementwise max of an array and a number."""
        return np.maximum(x, y)

    def not_equal(self, x, value, dtype):
        """1 where the array ``x`` differs from the number ``value``, else 0, as ``dtype``
        (a mask of the labels that are not ``<pad>``, without their one-hot vectors)."""
        return (x != value).astype(dtype)

    # -- autograd -----------------------------------------------------------------------
    def value_and_grad(self, fn, params):
        """``fn(params)`` and its gradient with respect to each entry of the dict ``params``.

        Returns ``(value, grads)``: the scalar value as a framework array and a dict with the
        same keys as ``params``, computed by the framework's own automatic differentiation.
        """
        raise BadType(f"the {self.name} backend has no automatic differentiation; the "
                        f"language model's gradients are written by hand there "
                        f"(d2lrnn.training.gradients)")

    def value_and_grad_fn(self, fn):
        """``params -> (fn(params), gradients)`` as one function (which can be compiled)."""
        return lambda params: self.value_and_grad(fn, params)
