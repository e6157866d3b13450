"""The adapter's optional part for speed: compilation (jax.jit, tf.function) with a bounded
cache, a scan over time steps, the fused time loop of the RNN and the backend's own fused
kernels, and how the fast path differentiates by default. Every default is the plain way,
so a backend that offers none of these still trains, slower."""
import collections

from ..errors import BadType


# The code by which every backend's fused kernel (``<backend>/fused.py``) knows a cell, by
# the cell's key; its parameters come packed gate by gate in cuDNN's order
# (``Cell.cudnn_gates``). A new cell in a fused kernel: a code here and a branch there.
FUSED_CELL_CODES = {"rnn": 0, "gru-before": 1, "gru-after": 2, "lstm": 3}


class Kernels:
    """Compilation and fast kernels; mixed into :class:`~d2lrnn.base.adapter.Ops`."""

    def scan_tanh(self, P, state, W_hh):
        """H_t = tanh(P_t + H_{t-1} W_hh) over the steps of ``P`` (T, n, h): (9.4.5) with
        the input term P_t = X_t W_xh + b_h already computed for every step. Returns the
        stacked states (T, n, h) and H_T: the plain loop unless the framework has a faster
        one (a fused kernel)."""
        outputs = []
        for t in range(self.shape(P)[0]):
            state = self.activation("tanh")(self.affine(state, W_hh, P[t]))
            outputs.append(state)
        return self.stack(outputs, 0), state

    def scan(self, body, carry, xs, reverse=False):
        """``body(carry, x_t) -> (carry, y_t)`` over the leading axis of the arrays of the
        dict ``xs``, from the last step back where ``reverse``: (final carry, the y_t stacked
        in the order of the xs). A loop here; lax.scan in JAX."""
        steps = range(self.shape(next(iter(xs.values())))[0])
        ys = {}
        for t in (reversed(steps) if reverse else steps):
            carry, ys[t] = body(carry, {k: v[t] for k, v in xs.items()})
        return carry, self.stack([ys[t] for t in steps], 0)

    # Where compile() specialises to array shapes, the fast path can pad the last, shorter
    # batch instead of compiling a second time for it: for these ways of differentiating
    # ("bptt", "autograd"), whichever measured faster padded.
    pad_last_batch = ()

    def compile(self, fn):
        """``fn`` (a function of arrays that touches nothing else) compiled by the framework
        (jax.jit, tf.function); frameworks without a compiler run it as it is."""
        return fn

    @staticmethod
    def kind(recurrence):
        """What a compiled function built around ``recurrence`` depends on: the class of the
        model it is a method of and the network of cells it runs (the parameters come as
        arguments, and the sizes from them), not the instance."""
        owner = getattr(recurrence, "__self__", None)
        if owner is None:
            return recurrence
        return type(owner), recurrence.__func__, getattr(owner, "network", None)

    # Compiled functions kept (least recently used out first): a sweep over learning rates
    # compiles one step per rate, which must not pile up for ever.
    cache_size = 32

    def cached(self, key, build):
        """``self.compile(build())``, built once per ``key``: compiling costs seconds."""
        cache = self.__dict__.setdefault("_cache", collections.OrderedDict())
        if key in cache:
            cache.move_to_end(key)
        else:
            cache[key] = self.compile(build())
            while len(cache) > self.cache_size:
                cache.popitem(last=False)
        return cache[key]

    # How the fast path differentiates the scratch RNN (d2lrnn.training.gradients): "autograd" (the
    # framework's), "bptt" (the hand-written backward pass of d2lrnn.maths.bptt, in its arrays) or
    # "fused" (a kernel of the backend's own: fused_loss_and_grads), whichever measured
    # faster; all give the reference's numbers (tests/test_parity.py). The concise RNN is
    # always differentiated by its framework.
    fast_grads = "autograd"

    # How the fast path differentiates the scratch gated cells (GRU, LSTM, ...): "autograd"
    # (the framework's, over the cells' fast forward) or "cells" (their step backward written
    # by hand, d2lrnn.cells.network, in the framework's arrays), whichever measured faster.
    # Frameworks without autograd always take "cells".
    cell_grads = "autograd"

    # The cells (their keys: "rnn", "gru-before", ...) the backend's fused kernel computes,
    # where ``fast_grads`` is "fused": a one-layer model on such a cell trains in it. Each
    # has its code in FUSED_CELL_CODES, the one table the backends' kernels branch on.
    fused_cells = ()

    def fused_loss_and_grads(self, params, X, Y, cell):
        """A language model's loss and gradients in one fused kernel (where ``fast_grads``
        is "fused"), its recurrent layer one ``cell`` of :attr:`fused_cells`."""
        raise BadType(f"the {self.name} backend has no fused kernel")

    def fused_loss(self, params, X, Y, cell):
        """Its loss alone, fused likewise."""
        raise BadType(f"the {self.name} backend has no fused kernel")

    # Whether the framework traces Python on every eager call (JAX): code that runs at every
    # step is then compiled once per model kind (d2lrnn.training.gradients), or each step re-traces.
    traces_eagerly = False
