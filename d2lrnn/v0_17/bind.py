"""The one binding of :mod:`.common` to a framework: every function of ``common`` that takes
the array adapter as the keyword-only ``ops`` (and every class whose constructor does), found
by discovery, bound to one framework's adapter and shown with the 0.17 signature (no ``ops``:
``inspect.signature``, ``help()`` and the conformance check see the book's parameters); with
them ``common``'s shared names and the devices and tensor aliases of the framework's 1.0
backend. A framework module takes them all with ``globals().update(library(...))`` and
defines after that only what needs its framework (a definition of its own replaces a bound
one)."""
import functools
import inspect

from . import common


def _takes_ops(function):
    parameter = inspect.signature(function).parameters.get("ops")
    return parameter is not None and parameter.kind is inspect.Parameter.KEYWORD_ONLY


def _without_ops(function):
    signature = inspect.signature(function)
    return signature.replace(parameters=[p for name, p in signature.parameters.items()
                                         if name != "ops"])


def _bound_function(function, ops, module):
    @functools.wraps(function)
    def bound_to_ops(*args, **kwargs):
        return function(*args, **kwargs, ops=ops)

    bound_to_ops.__signature__ = _without_ops(function)
    bound_to_ops.__module__ = module
    del bound_to_ops.__wrapped__  # inspect.signature would follow it back to ``ops``
    return bound_to_ops


def _bound_class(cls, ops, module):
    def __init__(self, *args, **kwargs):
        cls.__init__(self, *args, **kwargs, ops=ops)

    __init__.__signature__ = _without_ops(cls.__init__)
    __init__.__doc__ = cls.__init__.__doc__
    return type(cls.__name__, (cls,), {"__init__": __init__, "__module__": module,
                                       "__doc__": cls.__doc__,
                                       "__qualname__": cls.__qualname__})


# The devices and tensor aliases the 0.17 library defines (d2l/<framework>.py after "Alias
# defined in config.ini"), taken from the framework's 1.0 backend: one place for each. A
# name the backend lacks (TensorFlow's ``to``, which 0.17's has not either) is left out.
BACKEND_NAMES = ("cpu", "gpu", "num_gpus", "try_gpu", "try_all_gpus", "ones", "zeros", "tensor",
                 "arange", "meshgrid", "sin", "sinh", "cos", "cosh", "tanh", "linspace", "exp",
                 "log", "normal", "rand", "matmul", "int32", "float32", "concat", "stack", "abs",
                 "eye", "numpy", "size", "reshape", "to", "reduce_sum", "argmax", "astype",
                 "transpose")


def library(ops, module, backend, sources=(common,)):
    """{name: value} of what a framework's module offers before its own definitions: the
    shared names of each of ``sources`` (the modules written once: :mod:`.common`, and
    :mod:`.seq2seq` where the framework has chapter 9), their functions and classes bound to
    ``ops`` (see :func:`bound`), and the names of ``BACKEND_NAMES`` that ``backend`` (the
    framework's 1.0 ``book`` module) has."""
    return {**{name: getattr(source, name) for source in sources for name in source.SHARED},
            **{name: getattr(backend, name) for name in BACKEND_NAMES if hasattr(backend, name)},
            **{name: value for source in sources for name, value in
               bound(ops, module, source).items()}}


def bound(ops, module, source=common):
    """{name: the function or class of ``source`` bound to ``ops``}, each presented as
    defined in ``module`` (the framework's module, by its ``__name__``)."""
    names = {}
    for name, value in vars(source).items():
        if name.startswith("_") or getattr(value, "__module__", None) != source.__name__:
            continue
        if inspect.isclass(value) and _takes_ops(value.__init__):
            names[name] = _bound_class(value, ops, module)
        elif inspect.isfunction(value) and _takes_ops(value):
            names[name] = _bound_function(value, ops, module)
    return names
