"""Conformance with the book's own library (d2l 1.0.3), which tox downloads and this suite
reads with ast (never imports): every class, method, helper and Flax field of the RNN
sections and their bases, in every framework this env holds."""
import dataclasses
import types

import _book_library as conformance
import pytest
from _backends import load_or_skip


@pytest.fixture(scope="module")
def book_library():
    location = conformance.find_book_library()
    if location is None:
        pytest.skip("D2LRNN_BOOK_LIB is not set: tox downloads the book's library "
                    "(pip download --no-deps d2l==1.0.3) and points it there")
    return location


@pytest.mark.parametrize("framework", conformance.FRAMEWORKS)
def test_backend_offers_the_book_library_surface(framework, book_library):
    load_or_skip(framework)
    found = conformance.deviations(framework, book_library)
    intended = conformance.intended(framework)
    unexpected = {name: problems for name, problems in found.items() if name not in intended}
    assert not unexpected, "differences from the book's library that no entry of " \
        "conformance.DEVIATIONS explains:\n" + "\n".join(
            f"  {name}: {'; '.join(problems)}" for name, problems in unexpected.items())
    stale = sorted(set(intended) - set(found))
    assert not stale, f"listed as deviations but no longer different: {stale}"


@pytest.mark.parametrize("framework", conformance.FRAMEWORKS)
def test_the_scope_is_read_from_the_book(framework, book_library):
    """The reader finds what the check is about, so an empty scope cannot pass."""
    items = conformance.read_book(conformance.read_source(book_library, framework))
    for name in ("RNNScratch", "RNNLMScratch", "RNN", "RNNLM", "Trainer", "TimeMachine",
                 "Vocab", "RNNLMScratch.predict", "Trainer.clip_gradients", "reshape",
                 "try_gpu", "check_shape"):
        assert name in items, name
    assert items["reshape"].kind == "alias" and items["Vocab.unk"].kind == "property"
    rnn = items["RNN"].signature.describe()
    assert rnn == ("(self, num_inputs, num_hiddens)" if framework == "torch"
                   else "(num_hiddens)" if framework == "jax" else "(self, num_hiddens)")
    gru = items["GRU"].signature.describe()  # the deep GRU of 10.3, which 10.4 builds on
    assert gru == ("(self, num_inputs, num_hiddens, num_layers, dropout=0)"
                   if framework == "torch" else "(num_hiddens, num_layers, dropout=0)"
                   if framework == "jax" else "(self, num_hiddens, num_layers, dropout=0)")
    assert items["Seq2SeqEncoder"].signature.describe() == (  # the encoder of 10.7
        "(vocab_size, embed_size, num_hiddens, num_layers, dropout=0)" if framework == "jax"
        else "(self, vocab_size, embed_size, num_hiddens, num_layers, dropout=0)")
    if framework == "jax":  # fields defined again keep their place, as in a dataclass
        assert items["Seq2Seq"].signature.describe() == (
            "(encoder, decoder, training, tgt_pad, lr)")
    assert "AttentionDecoder" not in items  # chapter 11: out of scope
    assert all(reason for reason in conformance.intended(framework).values())


# -- the checker itself can fail ---------------------------------------------------------------

def book_signature(text):
    """A Signature from a ``def f(...)`` line, parsed as the reader parses the book."""
    import ast

    return conformance._signature(ast.parse(f"def f{text}: pass").body[0].args)


@pytest.mark.parametrize("book, ours, problem", [
    ("(self, inputs, H=None)", lambda self, inputs, state=None: 0, "parameter 2 is 'state'"),
    ("(self, num_hiddens)", lambda self, num_inputs, num_hiddens: 0, "parameter 1 is"),
    ("(x, *args, **kwargs)", lambda a, shape: 0, "parameter 0 is 'a'"),
    ("(x, *args, **kwargs)", lambda x, shape: 0, "takes no *args"),
    ("(self, lr=0.01)", lambda self, lr=0.1: 0, "defaults to 0.1"),
    ("(self, a)", lambda self, a, b: 0, "requires 'b'"),
    ("(self, ignore=[])", lambda self, ignore=None: 0, "defaults to None"),
])
def test_signature_differences_are_found(book, ours, problem):
    problems = conformance.compare_signature(book_signature(book), ours)
    assert any(problem in p for p in problems), problems


@pytest.mark.parametrize("book, ours", [
    ("(self, inputs, H=None)", lambda self, inputs, H=None, training=None: 0),
    ("(self, ignore=[])", lambda self, ignore=(): 0),
    ("(x, *args, **kwargs)", lambda x, *args, **kwargs: 0),
    ("(self, num_hiddens)", lambda self, num_hiddens, *, num_inputs=None: 0),
])
def test_compatible_signatures_pass(book, ours):
    assert conformance.compare_signature(book_signature(book), ours) == []


def test_a_missing_member_or_other_alias_is_found():
    item = conformance.BookItem("tanh", "alias", expression="np.tanh")
    import numpy as np

    backend = types.SimpleNamespace(tanh=np.sinh)
    namespace = {"np": ("numpy", None)}
    assert conformance.check_item(item, backend, namespace) != []
    assert conformance.check_item(item, types.SimpleNamespace(tanh=np.tanh), namespace) == []
    assert "missing" in conformance.check_item(item, types.SimpleNamespace(), namespace)[0]


def test_flax_fields_are_compared_in_order():
    book = conformance.BookItem("RNNLM", "fields", conformance.Signature(
        [("rnn", None), ("vocab_size", None), ("lr", "0.01"), ("training", "True")]))

    @dataclasses.dataclass
    class Ours:
        rnn: object
        vocab_size: int
        lr: float = 0.01
        seed: int = None

    problems = conformance.check_item(book, types.SimpleNamespace(RNNLM=Ours), {})
    assert problems == ["parameter 4 is 'seed', the book's is 'training'"]
