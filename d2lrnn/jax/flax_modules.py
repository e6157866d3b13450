"""The models written once (:mod:`d2lrnn.book.rnn`, :mod:`d2lrnn.book.modern`) made Flax
modules, as the book's JAX classes are: dataclasses whose fields are the shared constructor's
parameters, and whose parameters live outside them (``model.init``, ``trainer.state.params``).
Each also keeps a copy of its parameters, drawn by NumPy from ``seed`` as in every backend, so
that ``model(X)``, ``get_params`` and ``set_params`` work without ``apply`` like the other
backends. The book's JAX ``Module`` (:mod:`d2lrnn.jax.book`) makes its models here.
"""
import dataclasses
import functools
import inspect
from typing import Any

import numpy as np

from ..base.backend import import_framework
from ..base.errors import BadType
from ..book.model import Model, is_ours, made_by_package
from ..book.rnn import RNNLMScratch
from ..book.seq2seq import EncoderDecoder, Parts, Seq2Seq
from ..maths.equations import cross_entropy
from ..training.decoding import ALPHA
from .ops import jax, jnp, ops

nn = import_framework("flax.linen", "jax")


def classifier_loss(params, X, Y, state, averaged=True):
    """The book's JAX classifier loss ``loss(params, X, Y, state)``: the mean cross-entropy of
    the logits of inputs ``X`` (a tuple) at ``params``, and the updated state ({}: none)."""
    return cross_entropy(ops, state.apply_fn({"params": params}, *X), Y), {}


class OwnParams:
    """What makes a model written once a Flax module here (see :func:`framework_class`):
    its constructor's arguments become the dataclass's fields, and it keeps a copy of its
    parameters by the book's names, drawn by NumPy from ``seed`` as in every backend, so that
    ``model(X)``, ``get_params`` and ``set_params`` work without ``apply``. Inside ``apply``
    (the book's Trainer) its parameters are Flax's."""

    ops = ops  # ahead of the shared classes' placeholder in the method order
    layers_as_parts = False  # a deep RNN holds its layers' parameters by prefixed names

    def __post_init__(self):
        if isinstance(self.parent, (int, float)):  # e.g. RNN(28, 32): 32 lands on Flax's parent
            fields = [f.name for f in dataclasses.fields(self) if f.init and not f.kw_only
                      and f.name not in ("parent", "name")]
            raise BadType(f"{type(self).__name__} takes {len(fields)} positional "
                            f"argument(s) ({', '.join(fields)}), as the book's; pass the "
                            f"others by keyword")
        super().__post_init__()
        self.made()
        if isinstance(getattr(self, "dtype", None), str):
            ops.asarray(np.zeros(0), self.dtype)  # float64 needs x64 mode: say so now

    def setup(self):
        if not (made_by_package(self) and is_ours(type(self).__call__)):
            return  # a reader's Flax subclass with a __call__ of its own makes its own
        if not getattr(self, "built", True):
            return  # its input size is learnt at its first call, which makes them (Lazy*)
        for name, value in OwnParams.own_params(self).items():  # from its own copy
            setattr(self, name, self.param(name, lambda key, v=value: jnp.asarray(v)))

    def own_params(self):
        """The parameter tree used outside ``apply`` (drawn on first use)."""
        if "_own" not in self.__dict__:
            object.__setattr__(self, "_own", {k: ops.asarray(v, self.dtype)
                                              for k, v in self.initial_arrays().items()})
        return self.__dict__["_own"]

    def load_tree(self, tree):
        own = self.own_params()
        own.update({k: tree[k] for k in self.param_names if k in tree and k in own})

    def _set_field(self, name, value):  # a Flax module's fields are frozen after __init__
        object.__setattr__(self, name, value)

    def _init_params(self):
        self.__dict__.pop("_own", None)  # drawn from the fields at first use

    @property
    def book_params(self):
        self.require_built()
        found = {}
        for prefix, model in self.submodels():
            found.update({prefix + k: v for k, v in getattr(model, "book_params", {}).items()})
        own = self.own_params() if self.scope is None else None
        return {name: found[name] if name in found else own[name] if own is not None
                else self._scoped_param(name) for name in self.param_names}

    def _scoped_param(self, name):
        """A parameter inside ``apply``: made by :meth:`setup`, or, where the model learnt
        its input size at this first call (a Lazy* layer inside a reader's Flax module, as
        10.7's encoder holds d2l.GRU), here (its ``__call__`` is compact)."""
        try:
            return getattr(self, name)
        except AttributeError:
            value = self.own_params()[name]
            param = self.param(name, lambda key: jnp.asarray(value))
            object.__setattr__(self, name, param)  # once per bound module: Flax names it once
            return param

    def _set_own_param(self, name, value):
        self.own_params()[name] = value

    _replace_param = _set_own_param  # moving to a device: JAX arrays carry theirs


class LanguageModel:
    """The language models' Flax side: their RNN is a submodule (its parameters under
    ``"rnn"``), and the book's JAX training steps call ``loss(params, X, Y, state)``."""

    def setup(self):
        if self.uses_framework_output:  # a reader's RNN: the book's concise output layer
            self.linear = nn.Dense(self.vocab_size)
        else:
            OwnParams.setup(self)

    def make_linear(self, units):
        """Made in :meth:`setup`, where Flax makes submodules."""

    def own_params(self):
        tree = OwnParams.own_params(self)
        if not self.runs_readers_rnn:
            tree["rnn"] = self.rnn.own_params()
        return tree

    def load_tree(self, tree):
        OwnParams.load_tree(self, tree)
        if not self.runs_readers_rnn and "rnn" in tree:
            self.rnn.load_tree(tree["rnn"])

    def loss(self, *args, **kwargs):
        """``loss(Y_hat, Y)`` as in every backend, or the Flax form ``loss(params, X, Y,
        state)`` -> (loss, {}) that the book's JAX training steps call."""
        if len(args) + len(kwargs) >= 4:
            return classifier_loss(*args, **kwargs)
        return RNNLMScratch.loss(self, *args, **kwargs)

    def training_step(self, params, batch, state):
        (loss, aux), grads = self._compiled("grad", jax.value_and_grad(self.loss, has_aux=True))(
            params, batch[:-1], batch[-1], state)
        self.plot("ppl", jnp.exp(loss), train=True)
        return (loss, aux), grads

    def validation_step(self, params, batch, state):
        loss, _ = self._compiled("loss", self.loss)(params, batch[:-1], batch[-1], state)
        self.plot("ppl", jnp.exp(loss), train=False)

    def _compiled(self, name, fn):
        """``fn`` compiled once per model (the plotting stays outside, in Python)."""
        cache = self.__dict__.setdefault("_compiled_fns", {})
        if name not in cache:
            cache[name] = jax.jit(fn)
        return cache[name]

    def predict(self, prefix, num_preds, vocab, params=None, **kwargs):
        """As every backend's; ``params`` (e.g. ``trainer.state.params``) as the book passes
        them in JAX, else the model's own copy (a device there, as the other frameworks'
        books pass, is taken as the device)."""
        if isinstance(params, jax.Device):
            return RNNLMScratch.predict(self, prefix, num_preds, vocab, params, **kwargs)
        if params is not None and self.scope is None:
            return self.bind({"params": params}).predict(prefix, num_preds, vocab, **kwargs)
        return RNNLMScratch.predict(self, prefix, num_preds, vocab, **kwargs)


class PartsParams:
    """The Flax side of a model made of named parts (the encoder-decoder, its encoder and
    decoder): the parts are its submodules (made again in :meth:`setup`, from the same seeds,
    where Flax registers them), their trees under their names in its own."""

    def setup(self):
        OwnParams.setup(self)
        if made_by_package(self) and hasattr(self, "make_parts"):
            for name, part in self.make_parts().items():
                setattr(self, name, part)

    def own_params(self):
        return {**OwnParams.own_params(self), **{prefix.split(".")[0]: part.own_params()
                                                 for prefix, part in self.submodels()}}

    def _set_own_param(self, name, value):
        OwnParams.own_params(self)[name] = value

    def load_tree(self, tree):
        own = OwnParams.own_params(self)
        own.update({name: tree[name] for name in own if name in tree})
        for prefix, part in self.submodels():
            if prefix.split(".")[0] in tree:
                part.load_tree(tree[prefix.split(".")[0]])


class EncoderDecoderSteps:
    """The book's JAX encoder-decoder: its ``training`` field goes to the encoder and the
    decoder (dropout); ``predict_step`` takes the parameters first."""

    def forward(self, enc_X, dec_X, *args):
        enc_all_outputs = self.encoder(enc_X, *args, training=self.training)
        dec_state = self.decoder.init_state(enc_all_outputs, *args)
        return self.decoder(dec_X, dec_state, training=self.training)[0]

    def predict_step(self, params, batch, num_steps, save_attention_weights=False):
        """Greedy decoding (10.7) at ``params`` (``trainer.state.params``; None: the
        package's model's own copy): (token ids (batch_size, num_steps), (the decoder's
        attention weights of each step, the encoder's): none here)."""
        if params is None:
            params = self.own_params()
        bound = self.bind({"params": params}) if self.scope is None else self
        preds, weights = EncoderDecoder.predict_step(bound, batch, None, num_steps,
                                                     save_attention_weights)
        return preds, (weights, [])

    inference = {"training": False}  # decoding drops nothing

    def beam_search(self, batch, num_steps, beam_size, *, alpha=ALPHA, eos=None, params=None):
        """Beam search (10.8), as every backend's :meth:`EncoderDecoder.beam_search`, at
        ``params`` (``trainer.state.params``; None: the package's model's own copy)."""
        if self.scope is not None:  # inside a reader's apply: its decoder, eagerly
            return EncoderDecoder.beam_search(self, batch, num_steps, beam_size, alpha=alpha,
                                              eos=eos)
        bound = self.bind({"params": self.own_params() if params is None else params})
        # The decoder's step compiled once per model, kept where the model keeps its others:
        # run eagerly, Flax made its RNN again at every step (about 1 s each).
        bound.__dict__["_compiled_fns"] = self.__dict__.setdefault("_compiled_fns", {})
        return EncoderDecoder.beam_search(bound, batch, num_steps, beam_size, alpha=alpha,
                                          eos=eos)

    def decoding_step(self):
        """The decoder's step, compiled (jax.jit of :meth:`decode_one` at the parameters as
        an argument) where :meth:`beam_search` bound the model, eager elsewhere."""
        if "_compiled_fns" not in self.__dict__:
            return EncoderDecoder.decoding_step(self)
        unbound, variables = self.unbind()
        compiled = LanguageModel._compiled(
            self, "decode_one", lambda params, state, ids: unbound.apply(
                {"params": params}, state, ids, method=EncoderDecoder.decode_one))
        return functools.partial(compiled, variables["params"])


class Seq2SeqSteps:
    """The package's Seq2Seq in the book's JAX training steps: ``loss(params, X, Y, state)``
    -> (its masked loss, {}), and ``validation_step(params, batch, state)``."""

    def loss(self, *args, **kwargs):
        if len(args) + len(kwargs) < 4:
            return Seq2Seq.loss(self, *args, **kwargs)
        params, X, Y, state = args[:4]
        Y_hat = state.apply_fn({"params": params}, *X, rngs={"dropout": state.dropout_rng})
        return Seq2Seq.loss(self, Y_hat, Y), {}

    def training_step(self, params, batch, state):
        (loss, aux), grads = LanguageModel._compiled(
            self, "grad", jax.value_and_grad(self.loss, has_aux=True))(
            params, batch[:-1], batch[-1], state)
        self.plot("loss", loss, train=True)
        return (loss, aux), grads

    def validation_step(self, params, batch, state):
        loss, _ = LanguageModel._compiled(self, "loss", self.loss)(params, batch[:-1],
                                                                   batch[-1], state)
        self.plot("loss", loss, train=False)


# Fields the book's JAX classes have beyond the constructor written once: {class: {field:
# default}} (RNNLM's ``training``, passed on to its RNN; these have no dropout), and those
# taken by keyword only (the encoder-decoder's ``training``, which the book passes by
# keyword: its subclass Seq2Seq adds fields without defaults after it).
BOOK_FIELDS = {"RNNLM": {"training": True}}
BOOK_KEYWORD_FIELDS = {"EncoderDecoder": {"training": True}}


def _fields(shared_class, name):
    """A Flax dataclass's annotations and defaults from the constructor of the class written
    once: its parameters in order, keyword-only ones as keyword-only fields."""
    annotations, defaults, kinds = {}, {}, inspect.Parameter
    parameters = list(inspect.signature(shared_class.__init__).parameters.values())[1:]
    extra = [inspect.Parameter(n, kinds.POSITIONAL_OR_KEYWORD, default=d)
             for n, d in BOOK_FIELDS.get(name, {}).items()]
    keywords = [inspect.Parameter(n, kinds.KEYWORD_ONLY, default=d)
                for n, d in BOOK_KEYWORD_FIELDS.get(name, {}).items()]
    positional = [p for p in parameters if p.kind is kinds.POSITIONAL_OR_KEYWORD]
    for p in positional + extra + [p for p in parameters if p.kind is kinds.KEYWORD_ONLY] \
            + keywords:
        annotations[p.name] = Any
        if p.kind is kinds.KEYWORD_ONLY:
            defaults[p.name] = dataclasses.field(default=p.default, kw_only=True)
        elif p.default is not p.empty:
            defaults[p.name] = p.default
    return annotations, defaults


def framework_class(base, shared_class, name, module, ops):
    """The Flax module this backend exports as ``name``, on its book's ``base`` (``Module``,
    ``Classifier``): the constructor's parameters of the class written once are its fields
    (in order; keyword-only ones by keyword), and it keeps a copy of its parameters
    (:class:`OwnParams`)."""
    annotations, defaults = _fields(shared_class, name)
    mixins = (LanguageModel, OwnParams) if issubclass(shared_class, RNNLMScratch) \
        else (PartsParams, OwnParams) if issubclass(shared_class, Parts) else (OwnParams,)
    setup = mixins[0].setup
    if issubclass(shared_class, EncoderDecoder):
        mixins = (EncoderDecoderSteps, *mixins)
    if issubclass(base, OwnParams):  # a bound interface (d2l.Encoder) brings the mixins
        mixins = tuple(m for m in mixins if not issubclass(base, m))
    if issubclass(shared_class, Seq2Seq):
        mixins = (Seq2SeqSteps, *mixins)
    namespace = {"__call__": shared_class.__call__}
    if shared_class.__name__.startswith("Lazy"):  # parameters made at its first call, in apply too
        namespace = {"__call__": lazy_call, "call_in_apply": nn.compact(functools.wraps(
            shared_class.__call__)(lambda self, *a, **k: shared_class.__call__(self, *a, **k)))}
    # __call__ and setup in the class's own namespace, where Flax wraps them: they then run
    # as the bound module, so that the submodules setup makes (the output layer after a
    # reader's RNN) are its children
    return type(name, (*mixins, shared_class, base),
                {"__annotations__": annotations, **defaults, "ops": ops, "__module__": module,
                 "__qualname__": name, "__doc__": shared_class.__doc__,
                 **namespace, "setup": setup})


def lazy_call(self, *args, **kwargs):
    """A Lazy* layer's call: on its own copy outside ``apply``; inside, its compact
    ``call_in_apply``, where it makes its parameters once it knows its input size."""
    if self.scope is None:
        return Model.__call__(self, *args, **kwargs)
    return self.call_in_apply(*args, **kwargs)
