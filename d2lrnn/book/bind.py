"""The models every backend exports, bound to one backend: the section's (:mod:`d2lrnn.book.rnn`)
and chapter 10's (:mod:`d2lrnn.book.modern`), each put on that backend's book ``Module``."""
from ..cells import CELLS
from . import modern, rnn

# The models every backend exports, in this order: the section's (9.4-9.6), each cell's
# scratch and concise models by the book's names (found by discovery: a new cell's appear
# here), the deep and bidirectional networks (10.3, 10.4). Where a framework's layers learn
# their input size at the first call, a concise model's Lazy<Name> variant stands in for
# it, with the book's signature there (RNN(num_hiddens) in MXNet, TensorFlow and JAX).
EXPORTED = tuple(dict.fromkeys([
    "MLP", "RNNScratch", "RNNLMScratch", "RNN", "RNNLM",
    *(name for cell in CELLS.values() for name in (cell.scratch_name, cell.concise_name)
      if name),
    "StackedRNNScratch", "BiRNNScratch"]))

# What every backend module exports, in this order: its adapter, the models, two functions.
BACKEND_API = ("ops", *EXPORTED, "concat_demo", "loss_and_grads")

SHARED = {name: getattr(module, name) for module in (rnn, modern) for name in dir(module)
          if isinstance(getattr(module, name), type) and issubclass(getattr(module, name),
                                                                    rnn.Model)}


def shared_class(name, ops):
    """The class written once that backend ``ops`` exports as ``name``."""
    if ops.layer_learns_input_size and f"Lazy{name}" in SHARED:
        return SHARED[f"Lazy{name}"]
    return SHARED[name]


def bind(ops, Module, Classifier):
    """{name: class or function} of :data:`BACKEND_API` for one backend, the models built
    on that backend's book ``Module`` and ``Classifier`` by ``Module.framework_class``."""
    module = type(ops).__module__.rsplit(".", 1)[0]
    family = {}
    for name in EXPORTED:
        cls = shared_class(name, ops)
        base = Classifier if issubclass(cls, rnn.RNNLMScratch) else Module
        family[name] = base.framework_class(cls, name, module, ops)
    for cls in family.values():
        cls.family = family  # a deep RNN makes its layers from its own backend's classes
    concat, gradients = rnn.bind_functions(ops)
    return {"ops": ops, **family, "concat_demo": concat, "loss_and_grads": gradients}
