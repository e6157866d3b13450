"""The book's idioms, not only its signatures: how the recurrent chapters *use* their library,
written here in our own words (never the book's code), in each framework.

- a class extended in place: ``add_to_class`` replacing ``__init__`` (9.3's TimeMachine), after
  which every other method keeps working;
- a regression ``DataModule`` whose loader is ``get_tensorloader``, fitted with
  ``LinearRegression`` by the ``Trainer`` (9.1);
- a new cell written the book's way on ``d2l.Module`` and given to ``d2l.RNNLMScratch``
  (10.1, 10.2);
- a subclass of ``d2l.RNN`` holding the framework's own layer in ``self.rnn`` and built with
  ``d2l.Module.__init__`` (10.1-10.3), given to ``d2l.RNNLM``; the package's extras that need
  its own equations say so in one line;
- ``d2l.plot`` in a script (pyplot's current figure) and in a Jupyter kernel (an SVG image);
- ``d2l.download`` / ``d2l.extract`` finding files without the network.
"""
import importlib.util
import io
import os
import tarfile
import zipfile

import numpy as np
import pytest
from _backends import run_with_tf_keras

from d2lrnn.base import downloads


def small_data(d2l, corpus):
    return d2l.TimeMachine(batch_size=32, num_steps=8, num_train=320, num_val=64,
                           corpus=corpus)


def trained_down(board_line):
    """Whether a progress board's line ends below where it started."""
    return board_line[-1].y < board_line[0].y


@pytest.fixture
def restore_class():
    """Undo a test's ``add_to_class`` on a library class (classes are shared by the
    process: a notebook's patches would otherwise reach the next test)."""
    saved = []

    def remember(cls):
        saved.append((cls, dict(vars(cls))))
        return cls

    yield remember
    for cls, attributes in saved:
        for name in set(vars(cls)) - set(attributes):
            delattr(cls, name)
        for name, value in attributes.items():
            if vars(cls).get(name) is not value and name not in ("__dict__", "__weakref__"):
                setattr(cls, name, value)


# -- 9.3: replacing __init__ in place; the rest of the class keeps working -------------------


def test_replacing_init_by_add_to_class(d2l, corpus, restore_class, monkeypatch):
    TimeMachine = restore_class(d2l.TimeMachine)
    monkeypatch.setattr(TimeMachine, "corpus", str(corpus))  # the text to read, not the book
    tensor = getattr(d2l, "tensor", np.array)

    @d2l.add_to_class(TimeMachine)
    def __init__(self, batch_size, num_steps, num_train=200, num_val=40):
        super(TimeMachine, self).__init__()  # DataModule's, as a reader's notebook calls it
        self.save_hyperparameters()
        ids, self.vocab = self.build(self._download())
        windows = tensor([ids[i:i + num_steps + 1] for i in range(num_train + num_val)])
        self.X, self.Y = windows[:, :-1], windows[:, 1:]

    data = TimeMachine(batch_size=16, num_steps=6)
    assert data.root == "../data" and data.num_train == 200
    X_all = np.asarray(d2l.ops.to_numpy(data.X))

    def check(loaders):
        for loader, rows in zip(loaders, (200, 40)):
            batches = list(loader)
            assert len(batches) == len(loader) == -(-rows // 16)
            X, Y = batches[0]
            assert type(X) is type(data.X) and tuple(X.shape) == (16, 6)
            X, Y = (np.asarray(d2l.ops.to_numpy(a)) for a in (X, Y))
            assert (X[:, 1:] == Y[:, :-1]).all()  # targets: the inputs shifted by one
            seen = np.concatenate([d2l.ops.to_numpy(b[0]) for b in batches])
            window = X_all[:200] if rows == 200 else X_all[200:]
            assert sorted(map(tuple, seen)) == sorted(map(tuple, window))  # each row once

    # the library's loaders, on what the reader's __init__ set...
    check([data.train_dataloader(), data.val_dataloader()])

    # ...and the reader's, on get_tensorloader
    @d2l.add_to_class(TimeMachine)
    def get_dataloader(self, train):
        rows = slice(0, self.num_train) if train else slice(
            self.num_train, self.num_train + self.num_val)
        return self.get_tensorloader([self.X, self.Y], train, rows)

    check([data.train_dataloader(), data.val_dataloader()])


# -- 9.1: a regression DataModule with get_tensorloader, fitted by LinearRegression ----------


@pytest.mark.needs("book_tab")
def test_a_regression_datamodule_with_get_tensorloader(d2l):
    name = d2l.ops.name
    rng = np.random.default_rng(0)
    T, lags = 400, 4
    series = (np.sin(0.03 * np.arange(T)) + rng.normal(0, 0.1, T)).astype("float32")

    class Wave(d2l.DataModule):  # the last `lags` values predict the next one
        def __init__(self, batch_size=16, num_train=300):
            super().__init__()
            self.save_hyperparameters()
            x = d2l.tensor(series)
            self.features = d2l.stack([x[i:T - lags + i] for i in range(lags)], 1)
            self.labels = d2l.reshape(x[lags:], (-1, 1))

    @d2l.add_to_class(Wave)
    def get_dataloader(self, train):
        rows = slice(0, self.num_train) if train else slice(self.num_train, None)
        return self.get_tensorloader([self.features, self.labels], train, rows)

    data = Wave()
    loader = data.train_dataloader()
    assert len(loader) == 300 // 16 + 1 and len(data.val_dataloader()) == 6
    model = d2l.LinearRegression(lr=0.05)
    trainer = d2l.Trainer(max_epochs=8)
    trainer.fit(model, data)
    assert trained_down(model.board.data["train_loss"])
    if name == "jax":
        predicted = model.apply({"params": trainer.state.params}, data.features)
    else:
        predicted = model(data.features)
    predicted = np.asarray(d2l.numpy(predicted)).reshape(-1)
    labels = series[lags:]
    assert predicted.shape == labels.shape
    assert np.mean((predicted - labels) ** 2) < 0.1 * np.var(labels)  # it learnt the wave


# -- 10.1, 10.2: a new cell written the book's way, on the library's language model ----------


def minimal_gated_unit(d2l, name):
    """A cell of our own (one forget gate F, a candidate H~), as a reader writes a new cell
    class on d2l.Module in each framework."""
    if name == "jax":
        return jax_minimal_gated_unit(d2l)
    make, zeros = parameter_makers(d2l, name)

    class MGU(d2l.Module):
        def __init__(self, num_inputs, num_hiddens, sigma=0.01):
            super().__init__()
            self.save_hyperparameters()
            self.W_xf, self.W_hf, self.b_f = (make(num_inputs, num_hiddens),
                                              make(num_hiddens, num_hiddens), zeros(num_hiddens))
            self.W_xh, self.W_hh, self.b_h = (make(num_inputs, num_hiddens),
                                              make(num_hiddens, num_hiddens), zeros(num_hiddens))

        def forward(self, inputs, H=None):
            if H is None:
                H = d2l.zeros((inputs.shape[1], self.num_hiddens))
                if name == "mxnet":
                    H = H.as_in_context(inputs.ctx)
            outputs = []
            for X in inputs:
                F = d2l.sigmoid(d2l.matmul(X, self.W_xf) + d2l.matmul(H, self.W_hf) + self.b_f)
                H_tilde = d2l.tanh(d2l.matmul(X, self.W_xh) + d2l.matmul(F * H, self.W_hh)
                                   + self.b_h)
                H = (1 - F) * H + F * H_tilde
                outputs.append(H)
            return outputs, H

    return MGU


def jax_minimal_gated_unit(d2l):
    import jax
    from flax import linen as nn

    class MGU(d2l.Module):
        num_inputs: int
        num_hiddens: int
        sigma: float = 0.01

        def setup(self):
            def weight(name, rows):
                return self.param(name, nn.initializers.normal(self.sigma),
                                  (rows, self.num_hiddens))
            self.W_xf, self.W_hf = weight("W_xf", self.num_inputs), weight(
                "W_hf", self.num_hiddens)
            self.W_xh, self.W_hh = weight("W_xh", self.num_inputs), weight(
                "W_hh", self.num_hiddens)
            self.b_f = self.param("b_f", nn.initializers.zeros, (self.num_hiddens,))
            self.b_h = self.param("b_h", nn.initializers.zeros, (self.num_hiddens,))

        def forward(self, inputs, H=None):
            def step(H, X):
                F = d2l.sigmoid(d2l.matmul(X, self.W_xf) + d2l.matmul(H, self.W_hf)
                                + self.b_f)
                H_tilde = d2l.tanh(d2l.matmul(X, self.W_xh)
                                   + d2l.matmul(F * H, self.W_hh) + self.b_h)
                H = (1 - F) * H + F * H_tilde
                return H, H

            if H is None:
                H = d2l.zeros((inputs.shape[1], self.num_hiddens))
            H, outputs = jax.lax.scan(step, H, inputs)
            return outputs, H

    return MGU


def parameter_makers(d2l, name):
    """(a weight of a shape, a bias of a length) as a reader makes them in ``name``."""
    if name == "torch":
        from torch import nn

        def make(*shape):
            return nn.Parameter(d2l.randn(*shape) * 0.01)

        def zeros(n):
            return nn.Parameter(d2l.zeros(n))
    elif name == "tensorflow":
        import tensorflow as tf

        def make(*shape):
            return tf.Variable(d2l.normal(shape) * 0.01)

        def zeros(n):
            return tf.Variable(d2l.zeros(n))
    else:  # MXNet: arrays, their gradients attached by the Trainer
        def make(*shape):
            return d2l.randn(*shape) * 0.01

        def zeros(n):
            return d2l.zeros(n)
    return make, zeros


def predict_args(d2l, name, trainer):
    """What the book passes as predict's fourth argument in each framework."""
    return (trainer.state.params,) if name == "jax" else (d2l.try_gpu(),)


@pytest.mark.needs("book_tab")
def test_a_new_cell_written_the_books_way(d2l, corpus):
    name = d2l.ops.name
    data = small_data(d2l, corpus)
    V = len(data.vocab)
    cell = minimal_gated_unit(d2l, name)(num_inputs=V, num_hiddens=16)
    model = d2l.RNNLMScratch(cell, vocab_size=V, lr=2)
    trainer = d2l.Trainer(max_epochs=3, gradient_clip_val=1)
    trainer.fit(model, data)
    assert trained_down(model.board.data["train_ppl"])
    text = model.predict("the", 6, data.vocab, *predict_args(d2l, name, trainer))
    assert text.startswith("the") and len(text.replace("<unk>", "?")) == 9


# -- 10.1-10.3: d2l.RNN subclassed around the framework's own layer ---------------------------


def framework_layer_classes(d2l, name):
    """Two RNNs a reader builds on d2l.RNN as the modern chapters do (d2l.Module.__init__,
    save_hyperparameters, the framework's layer in self.rnn): a GRU that keeps d2l.RNN's
    forward, and an LSTM with a forward of its own (its state a pair)."""
    return {"torch": torch_layer_classes, "mxnet": mxnet_layer_classes,
            "tensorflow": tensorflow_layer_classes, "jax": jax_layer_classes}[name](d2l)


def torch_layer_classes(d2l):
    from torch import nn

    class GatedLayer(d2l.RNN):
        def __init__(self, num_inputs, num_hiddens):
            d2l.Module.__init__(self)
            self.save_hyperparameters()
            self.rnn = nn.GRU(num_inputs, num_hiddens)

    class LongShortLayer(d2l.RNN):
        def __init__(self, num_inputs, num_hiddens):
            d2l.Module.__init__(self)
            self.save_hyperparameters()
            self.rnn = nn.LSTM(num_inputs, num_hiddens)

        def forward(self, inputs, H_C=None):
            return self.rnn(inputs, H_C)

    return GatedLayer, LongShortLayer


def mxnet_layer_classes(d2l):
    from mxnet.gluon import rnn

    class GatedLayer(d2l.RNN):
        def __init__(self, num_hiddens):
            d2l.Module.__init__(self)
            self.save_hyperparameters()
            self.rnn = rnn.GRU(num_hiddens)

    class LongShortLayer(d2l.RNN):
        def __init__(self, num_hiddens):
            d2l.Module.__init__(self)
            self.save_hyperparameters()
            self.rnn = rnn.LSTM(num_hiddens)

        def forward(self, inputs, H_C=None):
            if H_C is None:
                H_C = self.rnn.begin_state(inputs.shape[1], ctx=inputs.ctx)
            return self.rnn(inputs, H_C)

    return GatedLayer, LongShortLayer


def tensorflow_layer_classes(d2l):
    import tensorflow as tf

    class GatedLayer(d2l.RNN):
        def __init__(self, num_hiddens):
            d2l.Module.__init__(self)
            self.save_hyperparameters()
            self.rnn = tf.keras.layers.GRU(num_hiddens, return_sequences=True,
                                           return_state=True)

    class LongShortLayer(d2l.RNN):  # Keras 3 is batch-major: transposed around the layer
        def __init__(self, num_hiddens):
            d2l.Module.__init__(self)
            self.save_hyperparameters()
            self.rnn = tf.keras.layers.LSTM(num_hiddens, return_sequences=True,
                                            return_state=True)

        def forward(self, inputs, H_C=None):
            outputs, *H_C = self.rnn(tf.transpose(inputs, (1, 0, 2)), H_C)
            return tf.transpose(outputs, (1, 0, 2)), H_C

    return GatedLayer, LongShortLayer


def jax_layer_classes(d2l):
    import jax
    from flax import linen as nn

    def scanned(cell, features, H, inputs):
        layer = nn.scan(cell, variable_broadcast="params", in_axes=0, out_axes=0,
                        split_rngs={"params": False})(features=features)
        if H is None:  # Flax's own carry, as its current API makes it
            H = cell(features=features, parent=None).initialize_carry(
                jax.random.PRNGKey(0), inputs.shape[1:])
        H, outputs = layer(H, inputs)
        return outputs, H

    class GatedLayer(d2l.RNN):
        num_hiddens: int

        @nn.compact
        def __call__(self, inputs, H=None, training=False):
            return scanned(nn.GRUCell, self.num_hiddens, H, inputs)

    class LongShortLayer(d2l.RNN):
        num_hiddens: int

        @nn.compact
        def __call__(self, inputs, H_C=None, training=False):
            return scanned(nn.OptimizedLSTMCell, self.num_hiddens, H_C, inputs)

    return GatedLayer, LongShortLayer


@pytest.mark.parametrize("layer", ["gru", "lstm"])
@pytest.mark.needs("book_tab")
def test_a_subclass_of_d2l_rnn_on_the_frameworks_layer(d2l, layer, corpus):
    from d2lrnn.training.train import fit

    name = d2l.ops.name
    data = small_data(d2l, corpus)
    V = len(data.vocab)
    cls = framework_layer_classes(d2l, name)[layer == "lstm"]
    rnn = cls(num_inputs=V, num_hiddens=16) if name == "torch" else cls(num_hiddens=16)
    model = d2l.RNNLM(rnn, vocab_size=V, lr=2)
    trainer = d2l.Trainer(max_epochs=3, gradient_clip_val=1)
    trainer.fit(model, data)
    assert trained_down(model.board.data["train_ppl"])
    assert model.board.data["val_ppl"][-1].y < V
    text = model.predict("the", 6, data.vocab, *predict_args(d2l, name, trainer))
    assert text.startswith("the") and len(text.replace("<unk>", "?")) == 9
    # what needs the package's own equations says so, in one line, instead of failing deep
    X, Y = next(iter(data.train_dataloader()))
    for attempt in (model.get_params, lambda: d2l.loss_and_grads(model, X, Y),
                    lambda: fit(model, data, epochs=1, fast=True)):
        with pytest.raises(TypeError, match="your own") as caught:
            attempt()
        assert "\n" not in str(caught.value)


def test_the_package_models_stay_the_package_models(d2l):
    """The library's own classes keep their equations, parameters and fast path."""
    from d2lrnn.book.model import is_package_model
    from d2lrnn.training import fast

    rnn = d2l.RNNScratch(7, 5)
    lm = d2l.RNNLMScratch(rnn, 7)
    assert is_package_model(rnn) and is_package_model(lm) and fast.available(lm)
    assert set(lm.get_params()) == {"W_xh", "W_hh", "b_h", "W_hq", "b_q"}

    class Changed(type(rnn)):  # a reader's forward: no longer the package's equations
        def forward(self, inputs, state=None):
            return super().forward(inputs, state)

    changed = d2l.RNNLMScratch(Changed(7, 5), 7)
    assert not is_package_model(changed.rnn) and not fast.available(changed)
    with pytest.raises(TypeError, match="your own Changed"):
        changed.get_params()
    assert len(changed.predict("ab", 3, d2l.Vocab(list("abcdef")))) == 5  # it still runs


@pytest.mark.needs("book_tab")
def test_a_subclass_of_the_librarys_scratch_rnn_trains(d2l, corpus):
    """A reader's subclass of d2l.RNNScratch with a forward of its own (here: the same
    equations written out again) trains under the book's Trainer and predicts."""
    name = d2l.ops.name
    data = small_data(d2l, corpus)
    V = len(data.vocab)

    class Unrolled(d2l.RNNScratch):
        def forward(self, inputs, state=None):
            H = d2l.zeros((inputs.shape[1], self.num_hiddens)) if state is None else state
            outputs = []
            for X in inputs:
                H = d2l.tanh(d2l.matmul(X, self.W_xh) + d2l.matmul(H, self.W_hh) + self.b_h)
                outputs.append(H)
            return outputs, H

    if name == "jax":  # a Flax module's fields: by keyword past the first ones
        rnn = Unrolled(num_inputs=V, num_hiddens=16)
    else:
        rnn = Unrolled(V, 16)
    model = d2l.RNNLMScratch(rnn, vocab_size=V, lr=2)
    trainer = d2l.Trainer(max_epochs=3, gradient_clip_val=1)
    trainer.fit(model, data)
    assert trained_down(model.board.data["train_ppl"])
    text = model.predict("the", 6, data.vocab, *predict_args(d2l, name, trainer))
    assert text.startswith("the") and len(text.replace("<unk>", "?")) == 9


@pytest.mark.needs("book_tab")
def test_the_way_out_for_int_of_a_one_element_array(d2l):
    """NumPy 2 and JAX refuse int() of a one-element 1-D array, which 9.5's predict takes;
    the README's way out, a 0-D array, converts in every framework."""
    Y = d2l.tensor(np.array([[[0.1, 0.7, 0.2]]], dtype="float32"))  # (1, 1, vocabulary)
    assert int(d2l.reshape(d2l.argmax(Y, axis=2), ())) == 1


# -- 9.1, 9.2: figures in a script and in a kernel ---------------------------------------------


def test_plot_in_a_script(d2l):
    import matplotlib

    matplotlib.use("Agg")
    x = np.arange(1, 101, dtype="float32")
    as_array = getattr(d2l, "tensor", np.asarray)
    d2l.plot(as_array(x), [as_array(np.sin(x / 10)), as_array(np.cos(x / 10))], "time", "x",
             legend=["sin", "cos"], xlim=[1, 100], figsize=(5, 2))
    axes = d2l.plt.gca()
    assert len(axes.lines) == 2 and axes.get_xlabel() == "time" and axes.get_xlim() == (1, 100)
    assert [t.get_text() for t in axes.get_legend().get_texts()] == ["sin", "cos"]
    np.testing.assert_allclose(axes.lines[1].get_ydata(), np.cos(x / 10), rtol=1e-6)
    assert tuple(d2l.plt.rcParams["figure.figsize"]) == (5, 2)
    d2l.plot([5, 3, 2, 1], xlabel="rank", xscale="log", yscale="log")  # against the index
    axes = d2l.plt.gca()
    assert len(axes.lines) == 1 and axes.get_xscale() == axes.get_yscale() == "log"
    d2l.plt.close("all")


def test_plot_in_a_kernel(tmp_path):
    """In Jupyter a figure shows under its cell as an SVG image, as in the book: d2l.plot's,
    and the progress board's that the book's Trainer draws while it trains (made without
    pyplot: shown as an image, not as the text of a Figure)."""
    if importlib.util.find_spec("nbclient") is None:
        if os.environ.get("D2LRNN_NOTEBOOKS"):
            raise AssertionError("the notebooks env must hold nbclient")
        pytest.skip("nbclient is not installed here (the notebooks tox env has it)")
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [  # the board first: before pyplot is imported (which registers its display)
        nbformat.v4.new_code_cell("from d2lrnn import numpy as d2l\n"
                                  "board = d2l.ProgressBoard('epoch')\n"
                                  "for x in range(3):\n"
                                  "    board.draw(x, x * x, 'loss')"),
        nbformat.v4.new_code_cell("d2l.plot(list(range(10)), [i * i for i in range(10)], 'x', "
                                  "'y', figsize=(4, 2))")]
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    for cell in nb.cells:
        kinds = [kind for output in cell.outputs for kind in output.get("data", {})]
        assert "image/svg+xml" in kinds, cell.outputs
        assert all(any(kind.startswith("image/") for kind in output.get("data", {}))
                   for output in cell.outputs if "<Figure size" in str(output)), cell.outputs


# -- 9.2: download and extract, with and without the network ----------------------------------


def test_download_finds_files_without_the_network(tmp_path, monkeypatch):
    import pooch

    def no_network(*args, **kwargs):
        raise ConnectionError("no network here")

    monkeypatch.setattr(pooch, "retrieve", no_network)
    content = b"the time traveller\n"
    digest = __import__("hashlib").sha1(content).hexdigest()
    url = downloads.DATA_URL + "story.txt"
    root = tmp_path / "data"
    root.mkdir()
    (root / "story.txt").write_bytes(content)  # downloaded before: found where asked
    assert downloads.download(url, str(root), digest) == str(root / "story.txt")
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "story.txt").write_bytes(content)
    monkeypatch.setenv("D2LRNN_DATA", str(cache))
    elsewhere = tmp_path / "elsewhere"
    assert downloads.download(url, str(elsewhere), digest) == str(elsewhere / "story.txt")
    assert (elsewhere / "story.txt").read_bytes() == content  # copied from the cache
    (root / "story.txt").write_bytes(b"damaged")
    (cache / "story.txt").write_bytes(b"damaged too")
    with pytest.raises(downloads.DownloadError, match="without a network|Without a network"):
        downloads.download(url, str(root), digest)
    with pytest.raises(downloads.DownloadError, match="neither a URL nor a name"):
        downloads.download("story", str(root))


def test_extract_zip_and_tar_and_refuse_escapes(tmp_path):
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("folder/inside.txt", "zip")
    assert downloads.extract(str(archive)) == str(tmp_path)
    assert (tmp_path / "folder" / "inside.txt").read_text() == "zip"
    archive = tmp_path / "b.tar.gz"
    with tarfile.open(archive, "w:gz") as t:
        info = tarfile.TarInfo("tarred.txt")
        info.size = 3
        t.addfile(info, io.BytesIO(b"tar"))
    downloads.extract(str(archive), str(tmp_path / "out"))
    assert (tmp_path / "out" / "tarred.txt").read_text() == "tar"
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as z:
        z.writestr("../outside.txt", "no")
    with pytest.raises(ValueError, match="outside"):
        downloads.extract(str(evil), str(tmp_path / "safe"))
    assert not (tmp_path / "outside.txt").exists()
    linked = tmp_path / "link.tar"  # a link whose name is inside but which points outside
    with tarfile.open(linked, "w") as t:
        info = tarfile.TarInfo("innocent")
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        t.addfile(info)
    with pytest.raises(ValueError, match="unsafe to unpack"):
        downloads.extract(str(linked), str(tmp_path / "safe2"))
    assert not (tmp_path / "safe2" / "innocent").is_symlink()
    with pytest.raises(ValueError, match="not a .zip"):
        downloads.extract(str(tmp_path / "plain.txt"))


# -- the way out for Keras 3's removed time_major: tf-keras, through this library -------------

TF_KERAS_READER_CLASSES = '''
import os, sys
os.environ["TF_USE_LEGACY_KERAS"] = "1"  # tf.keras is Keras 2 (the tf-keras package)
from d2lrnn import tensorflow as d2l
import tensorflow as tf

class TimeMajorLSTM(d2l.RNN):  # a d2l.RNN subclass on Keras 2's time-major layer
    def __init__(self, num_hiddens):
        d2l.Module.__init__(self)
        self.save_hyperparameters()
        self.rnn = tf.keras.layers.LSTM(num_hiddens, return_sequences=True,
                                        return_state=True, time_major=True)

    def forward(self, inputs, H_C=None):
        outputs, *H_C = self.rnn(inputs, H_C)
        return outputs, H_C

class TwoLevels(d2l.RNN):  # two GRU cells stacked in one time-major Keras 2 RNN
    def __init__(self, num_hiddens, num_layers):
        d2l.Module.__init__(self)
        self.save_hyperparameters()
        cells = [tf.keras.layers.GRUCell(num_hiddens) for _ in range(num_layers)]
        self.rnn = tf.keras.layers.RNN(cells, return_sequences=True, return_state=True,
                                       time_major=True)

    def forward(self, X, state=None):
        outputs, *state = self.rnn(X, state)
        return outputs, state

data = d2l.TimeMachine(batch_size=32, num_steps=8, num_train=320, num_val=64,
                       corpus=sys.argv[1])
for rnn in (TimeMajorLSTM(num_hiddens=16), TwoLevels(num_hiddens=16, num_layers=2)):
    with d2l.try_gpu():
        model = d2l.RNNLM(rnn, vocab_size=len(data.vocab), lr=2)
    d2l.Trainer(max_epochs=2, gradient_clip_val=1).fit(model, data)
    line = model.board.data["train_ppl"]
    print(type(rnn).__name__, line[0].y > line[-1].y, model.predict("the", 5, data.vocab))
print(tf.keras.layers.LSTM.__module__)
'''


def test_tf_keras_runs_the_time_major_reader_classes(corpus, tmp_path):
    """The README's way out for the cells Keras 3 cannot run (time_major=True), with the
    reader's classes of the modern chapters going through d2l.RNNLM and the Trainer."""
    lines = run_with_tf_keras(TF_KERAS_READER_CLASSES, tmp_path, corpus).strip().splitlines()
    assert [line.split()[:2] for line in lines[:2]] == [["TimeMajorLSTM", "True"],
                                                        ["TwoLevels", "True"]]
    assert all(line.split(maxsplit=2)[2].startswith("the") for line in lines[:2])
    assert lines[2].startswith("tf_keras")
