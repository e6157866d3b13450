"""What the language models do with a reader's own RNN: the book's chapter 10 hands its own
GRUs and LSTMs (a ``d2l.Module`` with ``num_hiddens``, or a subclass of ``d2l.RNN`` around the
framework's layer) to ``d2l.RNNLMScratch`` and ``d2l.RNNLM``. Such a model runs the reader's
code as it is; the package's extras that need its own equations (``get_params``,
``set_params``, ``loss_and_grads``, ``fit``, the fast path) each refuse it in one line.
"""
from ..base.errors import BadType
from .model import is_package_model


class ReadersRNN:
    """A language model's support for a reader's RNN (a mixin of
    :class:`~d2lrnn.book.rnn.RNNLMScratch`): W_hq drawn from the RNN's ``num_hiddens`` and
    ``sigma`` (0.01 where it has none), as the book's, or the framework's dense layer as the
    output layer of the concise model; the extras that need the package's equations refused,
    naming what to use instead."""

    # With a reader's RNN, whether the output layer is the framework's own dense layer (the
    # book's concise RNNLM) rather than W_hq, b_q.
    framework_output_layer = False

    @property
    def dtype(self):
        return getattr(self.rnn, "dtype", "float32")  # a reader's RNN may not say

    @property
    def output_sigma(self):
        """σ of W_hq: the RNN's (a reader's may have none: the book's 0.01)."""
        return getattr(self.rnn, "sigma", 0.01)

    @property
    def runs_readers_rnn(self):
        """Whether the RNN is a reader's own (see :func:`~d2lrnn.book.model.is_package_model`)."""
        return not is_package_model(self.rnn)

    @property
    def uses_framework_output(self):
        """Whether the output layer is the framework's dense layer ``self.linear``."""
        return self.framework_output_layer and self.runs_readers_rnn

    def check_any_rnn(self, rnn):
        """Refuse an RNN that is not a model of this backend, and a reader's RNN without the
        ``num_hiddens`` W_hq needs; whether ``rnn`` is the package's own."""
        where = type(self).__name__
        theirs = getattr(rnn, "ops", None)
        if not callable(rnn) or (theirs is not None and theirs is not self.ops):
            raise BadType(f"{where}: rnn must be a model of the {self.ops.name} backend "
                          f"(RNNScratch, RNN or your own d2l.Module), got "
                          f"{type(rnn).__module__}.{type(rnn).__name__}")
        if is_package_model(rnn):
            return True
        if not self.uses_framework_output and getattr(rnn, "num_hiddens", None) is None:
            raise BadType(f"{where}: your {type(rnn).__name__} has no num_hiddens, the "
                          f"width of W_hq: save it in its __init__ "
                          f"(self.save_hyperparameters())")
        return False

    def require_package_maths(self, what):
        """Raise a clear error where ``what`` needs the package's equations and this model
        (or its RNN) runs code of a reader's."""
        if is_package_model(self) and not self.runs_readers_rnn:
            return
        mine = self if not is_package_model(self) else self.rnn
        if what in ("get_params", "set_params"):
            advice = "its parameters are its framework's (model.parameters() in PyTorch, " \
                     "trainer.state.params in JAX, ...)"
        elif self.ops.has_autograd:
            advice = "train it with d2l.Trainer, as the book does, which runs your code"
        else:
            advice = (f"the {self.ops.name} backend has no autograd to differentiate your "
                      f"code: use torch, jax, tensorflow or mxnet")
        raise BadType(f"{what} computes the package's own equations (RNNScratch, RNN, "
                      f"GRUScratch, ...); this {type(self).__name__} runs your own "
                      f"{type(mine).__name__}: {advice}")

    def get_params(self):
        self.require_package_maths("get_params")
        return super().get_params()

    def set_params(self, params):
        self.require_package_maths("set_params")
        return super().set_params(params)
