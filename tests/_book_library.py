"""Conformance with the book's own library: the ``d2l`` package, version 1.0.3.

The book saves the classes and helpers of its sections into ``d2l/<framework>.py``. This
module reads those files with :mod:`ast` (the book's library is never imported: it pins
numpy==1.23.5 and imports much unrelated code at import time) and checks that each backend
of this package offers what the RNN sections (d2l 1.0, 9.1-9.7, and the data and metric of
10.5-10.7) and the bases they use define, with the same positional parameters in the same
order and the same defaults.

Rules, for a callable the book defines with parameters ``p1, p2=d, *args, **kwargs``:

* ours takes ``p1, p2`` first, in that order, with the same defaults (a list default in the
  book equals the same tuple here: the book's mutable defaults are a bug we do not copy);
* any further positional parameter of ours has a default (or is keyword-only);
* ours takes ``*args`` / ``**kwargs`` where the book does, and the book's keyword-only names;
* a method of ours that only forwards (``(self, *args, **kwargs)``, as a Flax ``__call__``
  routing to ``forward``) is checked through what it forwards to;
* a Flax module's constructor is its dataclass fields, base classes first;
* an alias of a framework function (``tanh = torch.tanh``) must be the very same function;
  an alias written as a lambda must take the same parameters.

The intended differences are listed in :data:`DEVIATIONS`, each with its reason; anything
else the check finds is a bug (``tests/test_book_library_conformance.py`` fails on it, and on
an entry of the list that no longer differs).
"""
import ast
import dataclasses
import importlib
import inspect
import os
import zipfile
from pathlib import Path

BOOK_VERSION = "1.0.3"
FRAMEWORKS = ("torch", "mxnet", "tensorflow", "jax")

# What the RNN sections define, and the bases they build on (d2l 1.0: 3.2 HyperParameters,
# Module, DataModule, Trainer, ProgressBoard; 4.3 Classifier; 6.7 the device helpers the
# Trainer uses; 9.2-9.3 TimeMachine, Vocab; 9.5-9.6 the models; check_len, check_shape), and
# the one model of the modern RNN sections the library keeps (10.3's multilayer GRU), 3.5's
# linear regression, which 9.1 trains, the English-French pairs of 10.5-10.7 and the
# encoder-decoder of 10.6-10.7.
CLASSES = ("HyperParameters", "ProgressBoard", "Module", "DataModule", "Trainer", "Classifier",
           "TimeMachine", "Vocab", "RNNScratch", "RNNLMScratch", "RNN", "RNNLM", "GRU",
           "LinearRegression", "MTFraEng", "Encoder", "Decoder", "EncoderDecoder",
           "Seq2SeqEncoder", "Seq2Seq")
# The functions, with what the RNN sections take from earlier chapters: the figures (2.4; 9.1
# and 9.2 draw with d2l.plot) and the files (5.7; 9.2 downloads the corpus with d2l.download);
# 10.5's histogram of the pairs' lengths and 10.7's BLEU.
FUNCTIONS = ("add_to_class", "check_len", "check_shape", "cpu", "gpu", "num_gpus", "try_gpu",
             "try_all_gpus", "get_key", "plot", "set_figsize", "set_axes", "use_svg_display",
             "download", "extract", "show_list_len_pair_hist", "bleu", "init_seq2seq")
# The module-level aliases (the book's tensor helpers) follow this line in each file.
ALIAS_MARKER = "# Alias defined in config.ini"
# Aliases that name framework classes rather than helpers a notebook calls.
NOT_HELPERS = ("nn_Module",)

_OUT_OF_SCOPE = "outside the RNN sections: the book uses it in chapter {} only"

# Intended differences: {(framework, name): reason}. "*" stands for every framework.
_SAME_FORWARD = ("the deep GRU's forward takes (inputs, H) as every model's here (and the "
                 "book's RNN.forward); the book's {} GRU names them (X, state). The book "
                 "passes them by position, which works the same")
_TRAINING_BY_KEYWORD = ("the encoder-decoder's training field is keyword-only here (default "
                        "True), so that Seq2Seq's own fields, without defaults as the book's, "
                        "may follow it (Flax's dataclasses refuse them otherwise); the book "
                        "passes training by keyword")
DEVIATIONS = {
    ("*", "Classifier.layer_summary"): _OUT_OF_SCOPE.format("7 (LeNet)"),
    ("tensorflow", "EncoderDecoder.call"): (
        "Keras' call is every model's call(X, *args, **kwargs) here, which forwards to "
        "forward(enc_X, dec_X, *args); the book passes them by position"),
    ("jax", "EncoderDecoder"): _TRAINING_BY_KEYWORD,
    ("jax", "Seq2Seq"): _TRAINING_BY_KEYWORD,
    ("tensorflow", "GRU.forward"): _SAME_FORWARD.format("TensorFlow"),
    ("jax", "GRU.__call__"): _SAME_FORWARD.format("JAX"),
}


@dataclasses.dataclass
class Signature:
    """The parameters of a callable, as the book writes them."""

    positional: list  # [(name, default source or None)]
    varargs: bool = False
    kwonly: tuple = ()
    varkw: bool = False

    def describe(self):
        parts = [n if d is None else f"{n}={d}" for n, d in self.positional]
        parts += ["*args"] if self.varargs else []
        parts += list(self.kwonly) + (["**kwargs"] if self.varkw else [])
        return "(" + ", ".join(parts) + ")"


@dataclasses.dataclass
class BookItem:
    name: str  # "RNN.forward", "reshape", "Trainer"
    kind: str  # "method", "property", "function", "constructor", "fields", "alias"
    signature: Signature = None
    expression: str = None  # an alias's right-hand side


# -- reading the book's library --------------------------------------------------------------


def find_book_library():
    """The book library's wheel or folder named by ``$D2LRNN_BOOK_LIB`` (tox downloads it),
    or None where it is not set."""
    path = os.environ.get("D2LRNN_BOOK_LIB")
    return Path(path) if path else None


def read_source(location, framework, version=BOOK_VERSION):
    """The text of ``d2l/<framework>.py`` from the wheel of the book library's ``version``,
    or a folder holding that wheel (beside the other edition's) or the unpacked ``d2l/``
    package."""
    location = Path(location)
    if location.is_dir():
        wheels = sorted(location.glob(f"d2l-{version}-*.whl"))
        if not wheels and (location / "d2l" / f"{framework}.py").is_file():
            return (location / "d2l" / f"{framework}.py").read_text(encoding="utf-8")
        if not wheels:
            raise FileNotFoundError(f"no d2l-{version} wheel in {location}; get it with "
                                    f"pip download --no-deps d2l=={version} -d {location}")
        location = wheels[-1]
    with zipfile.ZipFile(location) as wheel:
        return wheel.read(f"d2l/{framework}.py").decode("utf-8")


def _default_source(node):
    if node is None:
        return None
    try:
        value = ast.literal_eval(node)
    except ValueError:
        return ast.unparse(node)
    return repr(tuple(value) if isinstance(value, list) else value)


def _signature(args):
    positional = [*args.posonlyargs, *args.args]
    defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    return Signature([(a.arg, _default_source(d)) for a, d in zip(positional, defaults)],
                     args.vararg is not None, tuple(a.arg for a in args.kwonlyargs),
                     args.kwarg is not None)


def _is_flax(cls_node, classes):
    """Whether a book class is a Flax module (JAX): it, or a book base, has fields."""
    if any(isinstance(n, ast.AnnAssign) for n in cls_node.body):
        return True
    return any(_is_flax(classes[b], classes) for b in _book_bases(cls_node) if b in classes)


def _book_bases(cls_node):
    return [ast.unparse(b).replace("d2l.", "") for b in cls_node.bases]


def _fields(cls_node, classes):
    """A Flax module's constructor parameters: its init fields, base classes' first."""
    fields = []
    for base in _book_bases(cls_node):
        if base in classes:
            fields += _fields(classes[base], classes)
    for node in cls_node.body:
        if not isinstance(node, ast.AnnAssign):
            continue
        value = node.value
        if isinstance(value, ast.Call) and ast.unparse(value.func).endswith("field"):
            keywords = {k.arg: k.value for k in value.keywords}
            if "init" in keywords and not ast.literal_eval(keywords["init"]):
                continue
            value = keywords.get("default")
        field = (node.target.id, _default_source(value))
        names = [name for name, _ in fields]
        if field[0] in names:  # a field defined again keeps its place (as dataclasses do)
            fields[names.index(field[0])] = field
        else:
            fields.append(field)
    return fields


def _methods(cls_node, classes):
    """{name: FunctionDef} of a book class, through its book bases (later ones win, as in
    a class body)."""
    methods = {}
    for base in _book_bases(cls_node):
        if base in classes:
            methods.update(_methods(classes[base], classes))
    methods.update({n.name: n for n in cls_node.body if isinstance(n, ast.FunctionDef)})
    return methods


def read_book(source, class_names=CLASSES, function_names=FUNCTIONS):
    """The items of the book's library that this package must offer: {name: BookItem}."""
    tree = ast.parse(source)
    classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
    items = {}
    for name in class_names:
        node = classes[name]
        if _is_flax(node, classes):
            items[name] = BookItem(name, "fields", Signature(_fields(node, classes)))
        else:
            init = _methods(node, classes).get("__init__")
            if init is not None:
                items[name] = BookItem(name, "constructor", _signature(init.args))
        for method in node.body:
            if isinstance(method, ast.FunctionDef) and method.name != "__init__":
                is_property = any(ast.unparse(d) == "property" for d in method.decorator_list)
                items[f"{name}.{method.name}"] = BookItem(
                    f"{name}.{method.name}", "property" if is_property else "method",
                    _signature(method.args))
    marker = source.find(ALIAS_MARKER)
    alias_lines = source[:marker].count("\n") + 1 if marker >= 0 else float("inf")
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name in function_names:
            items[node.name] = BookItem(node.name, "function", _signature(node.args))
        elif (isinstance(node, ast.Assign) and len(node.targets) == 1
              and isinstance(node.targets[0], ast.Name)):
            name = node.targets[0].id
            if name in NOT_HELPERS or (node.lineno < alias_lines and name not in function_names):
                continue
            value = node.value
            items[name] = BookItem(name, "alias", _signature(value.args)
                                   if isinstance(value, ast.Lambda) else None,
                                   ast.unparse(value))
    return items


# The packages whose names an alias of each framework's file may use.
_ROOTS = {"torch": {"torch", "numpy"}, "mxnet": {"mxnet", "numpy"},
          "tensorflow": {"tensorflow", "numpy"}, "jax": {"jax", "flax", "numpy"}}


def framework_namespace(source, framework):
    """The names the book's file binds by importing its framework (``torch``, ``np``, ``tf``,
    ``jnp``, ``npx``, ...), each as the (module, attribute) it names, so that an alias can
    be resolved to the object it stands for. Imports of anything else (plotting, pandas,
    other frameworks for data loading) are skipped; nothing is imported until an alias
    needs it (``import flax`` alone fails beside numpy 1.23)."""
    roots = _ROOTS[framework]
    namespace = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in roots:
                    bound = alias.asname or alias.name.split(".")[0]
                    namespace[bound] = (alias.name if alias.asname else bound, None)
        elif isinstance(node, ast.ImportFrom) and node.module.split(".")[0] in roots:
            for alias in node.names:
                namespace[alias.asname or alias.name] = (node.module, alias.name)
    return namespace


def _bound(entry):
    """The object an import of the book's file binds (see :func:`framework_namespace`)."""
    module, attr = entry
    if attr is None:
        return importlib.import_module(module)
    value = getattr(importlib.import_module(module), attr, None)
    return value if value is not None else importlib.import_module(f"{module}.{attr}")


def _resolve(expression, namespace):
    """The object an alias's right-hand side names (``torch.tanh``), or None where it names
    something outside the framework."""
    node = ast.parse(expression, mode="eval").body
    chain = []
    while isinstance(node, ast.Attribute):
        chain.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name) or node.id not in namespace:
        return None
    value = _bound(namespace[node.id])
    for attr in reversed(chain):
        value = getattr(value, attr)
    return value


# -- checking ours ---------------------------------------------------------------------------


def _our_signature(obj):
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return None
    params = list(sig.parameters.values())
    kinds = inspect.Parameter
    positional = [(p.name, p.default) for p in params
                  if p.kind in (kinds.POSITIONAL_ONLY, kinds.POSITIONAL_OR_KEYWORD)]
    return (positional, any(p.kind == kinds.VAR_POSITIONAL for p in params),
            {p.name for p in params if p.kind == kinds.KEYWORD_ONLY},
            any(p.kind == kinds.VAR_KEYWORD for p in params))


def _same_default(book, ours):
    if ours is inspect.Parameter.empty:
        return False
    try:
        value = ast.literal_eval(book)
    except ValueError:  # an expression: ours need only have a default
        return True
    normal = tuple(ours) if isinstance(ours, list) else ours
    return type(value) is type(normal) and value == normal or (
        isinstance(value, float) and isinstance(normal, (int, float)) and value == normal)


def _positional_problems(book, positional, varargs):
    """Problems of our positional parameters (name, default) against the book's."""
    problems = []
    for i, (name, default) in enumerate(book.positional):
        if i >= len(positional):
            if not varargs:
                problems.append(f"takes no parameter {name!r} at position {i}")
            break
        got, got_default = positional[i]
        if got != name:
            problems.append(f"parameter {i} is {got!r}, the book's is {name!r}")
        elif default is None and got_default is not inspect.Parameter.empty:
            pass  # a default where the book has none accepts every call the book makes
        elif default is not None and not _same_default(default, got_default):
            shown = "none" if got_default is inspect.Parameter.empty else repr(got_default)
            problems.append(f"{name!r} defaults to {shown}, the book's to {default}")
    return problems


def compare_signature(book, ours):
    """Problems of ``ours`` (a callable) against the book's :class:`Signature`: a list."""
    theirs = _our_signature(ours)
    if theirs is None:
        return [f"its signature cannot be read; the book's is {book.describe()}"]
    positional, varargs, kwonly, varkw = theirs
    problems = _positional_problems(book, positional, varargs)
    for name, default in positional[len(book.positional):]:
        if default is inspect.Parameter.empty:
            problems.append(f"requires {name!r}, which the book does not have")
    if book.varargs and not varargs:
        problems.append("takes no *args, the book's does")
    if book.varkw and not varkw:
        problems.append("takes no **kwargs, the book's does")
    for name in book.kwonly:
        if name not in kwonly and not varkw:
            problems.append(f"takes no keyword {name!r}")
    return problems


def _forwards(method):
    """Whether ``method`` is a pass-through ``(self, *args, **kwargs)``."""
    theirs = _our_signature(method)
    return theirs is not None and [n for n, _ in theirs[0]] == ["self"] and theirs[1] and \
        theirs[3]


def _unbound_methods(cls, name):
    """The function ``cls.name`` (``forward`` where a Flax ``__call__`` only forwards)."""
    method = inspect.getattr_static(cls, name, None)
    for _ in range(3):
        if isinstance(method, (staticmethod, classmethod)):
            method = method.__func__
        if isinstance(method, property):
            return None
        if method is not None and name == "__call__" and _forwards(method):
            method, name = inspect.getattr_static(cls, "forward", None), "forward"
            continue
        break
    return method


def check_item(item, backend, namespace):
    """Problems of ``backend`` (a d2lrnn backend module) with one book item: a list."""
    owner, _, member = item.name.partition(".")
    ours = getattr(backend, owner, None)
    if ours is None:
        return [f"missing: the book's library defines {owner}"]
    if item.kind == "alias":
        if item.signature is not None:  # a lambda: our helper must take the same parameters
            return compare_signature(item.signature, ours)
        target = _resolve(item.expression, namespace)
        if target is None:
            return []  # names something outside the framework (e.g. a Python builtin)
        if ours is not target:
            return [f"is {getattr(ours, '__module__', '')}.{getattr(ours, '__name__', ours)}, "
                    f"the book's is {item.expression}"]
        return []
    if item.kind == "function":
        return compare_signature(item.signature, ours)
    if item.kind in ("constructor", "fields"):
        if item.kind == "fields" and not dataclasses.is_dataclass(ours):
            return [f"is not a Flax module with fields {item.signature.describe()}"]
        return compare_signature(_with_self(item.signature, item.kind), ours.__init__)
    if item.kind == "property":
        if not isinstance(inspect.getattr_static(ours, member, None), property):
            return [f"{owner}.{member} is not a property, as the book's is"]
        return []
    method = _unbound_methods(ours, member)
    if method is None:
        return [f"missing: {owner} has no method {member!r}"]
    return compare_signature(item.signature, method)


def _with_self(signature, kind):
    if kind == "fields":  # a dataclass __init__ takes self, then the fields
        return dataclasses.replace(signature, positional=[("self", None), *signature.positional])
    return signature


@dataclasses.dataclass(frozen=True)
class Edition:
    """One edition of the book's library: its package's version, the module of ours that
    offers it per framework, what of it the recurrent chapters use, and the intended
    differences."""

    version: str
    package: str  # ours: "<package>.<framework>"
    frameworks: tuple
    classes: tuple
    functions: tuple
    deviations: dict


EDITION_1_0 = Edition(BOOK_VERSION, "d2lrnn", FRAMEWORKS, CLASSES, FUNCTIONS, DEVIATIONS)

# d2l 0.17 (zh.d2l.ai chapters 8-9, ``from d2lrnn.v0_17 import torch as d2l``): what chapter
# 8 calls (8.1's arrays and loss, 8.2-8.3's data, 8.5-8.6's models and training) and the
# helpers of earlier chapters it leans on (3.1's Timer, 3.2's sgd, 3.6's Accumulator and
# Animator, 4.10's download, 5.6's devices, 2.4's figures), in each of the edition's
# frameworks (d2l/torch.py, mxnet.py, tensorflow.py of the wheel).
EDITION_0_17 = Edition(
    "0.17.6", "d2lrnn.v0_17", ("torch", "mxnet", "tensorflow"),
    ("Vocab", "SeqDataLoader", "RNNModelScratch", "RNNModel", "Timer", "Accumulator",
     "Animator"),
    ("read_time_machine", "tokenize", "count_corpus", "load_corpus_time_machine",
     "seq_data_iter_random", "seq_data_iter_sequential", "load_data_time_machine",
     "predict_ch8", "grad_clipping", "train_epoch_ch8", "train_ch8", "sgd", "download",
     "try_gpu", "try_all_gpus", "cpu", "gpu", "num_gpus", "plot", "set_figsize", "set_axes",
     "use_svg_display", "load_array", "evaluate_loss"),
    {})

# ... and what chapter 9 calls (9.5's pairs, 9.6's encoder-decoder, 9.7's seq2seq and BLEU),
# in the frameworks that have it so far.
EDITION_0_17_CHAPTER_9 = Edition(
    "0.17.6", "d2lrnn.v0_17", ("torch", "mxnet", "tensorflow"),
    ("Encoder", "Decoder", "EncoderDecoder", "Seq2SeqEncoder", "MaskedSoftmaxCELoss"),
    ("download_extract", "read_data_nmt", "preprocess_nmt", "tokenize_nmt",
     "show_list_len_pair_hist", "truncate_pad", "build_array_nmt", "load_data_nmt",
     "sequence_mask", "train_seq2seq", "predict_seq2seq", "bleu"),
    {})


def deviations(framework, location, edition=EDITION_1_0):
    """{item name: [problems]} of our module of ``framework`` against the book's library of
    ``edition`` at ``location`` (its wheel, or a folder holding it), intended deviations
    included."""
    source = read_source(location, framework, edition.version)
    backend = importlib.import_module(f"{edition.package}.{framework}")
    namespace = framework_namespace(source, framework)
    found = {}
    for name, item in read_book(source, edition.classes, edition.functions).items():
        problems = check_item(item, backend, namespace)
        if problems:
            found[name] = problems
    return found


def intended(framework, edition=EDITION_1_0):
    """{item name: reason} of the deviations listed for ``framework``."""
    return {name: reason for (fw, name), reason in edition.deviations.items()
            if fw in ("*", framework)}
