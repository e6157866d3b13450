"""Reading alongside the book: the library surface the RNN sections call, used the way a
reader's notebook uses it (written here in our own words, not copied from the book)."""
import math

import numpy as np
import pytest
from _backends import run_with_tf_keras


def n_tokens(text):
    """Characters of generated text, '<unk>' counting as one."""
    return len(text.replace("<unk>", "?"))


def small_data(d2l, corpus):
    return d2l.TimeMachine(batch_size=64, num_steps=16, num_train=640, num_val=128,
                           corpus=corpus)


# -- every backend: the library's own models under the book's Trainer -----------------------


def test_trainer_trains_the_library_model(d2l, corpus):
    data = small_data(d2l, corpus)
    rnn = d2l.RNNScratch(num_inputs=len(data.vocab), num_hiddens=16)
    model = d2l.RNNLMScratch(rnn, vocab_size=len(data.vocab), lr=1)
    before = model.perplexity(*next(iter(data.val_dataloader())))
    trainer = d2l.Trainer(max_epochs=3, gradient_clip_val=1)
    trainer.fit(model, data)
    after = model.perplexity(*next(iter(data.val_dataloader())))
    assert after < before - 1
    assert trainer.train_batch_idx == 3 * 10 and trainer.val_batch_idx == 3 * 2
    board = model.board.data
    assert set(board) == {"train_ppl", "val_ppl"}
    assert len(board["train_ppl"]) == 6 and len(board["val_ppl"]) == 3  # 2 and 1 per epoch
    text = model.predict("it has", 20, data.vocab)
    assert n_tokens(text) == 26 and text.startswith("it has")


def test_the_trainer_checks_its_arguments_as_the_command_line(d2l):
    """Trainer(max_epochs, num_gpus, gradient_clip_val) refuses what --epochs and --clip
    refuse, naming the argument (a negative clip clipped nothing; nan trained on)."""
    for kwargs, name in (({"max_epochs": -1}, "max_epochs"), ({"max_epochs": 2.5}, "max_epochs"),
                         ({"num_gpus": -1}, "num_gpus"),
                         ({"gradient_clip_val": -1}, "gradient_clip_val"),
                         ({"gradient_clip_val": float("nan")}, "gradient_clip_val"),
                         ({"gradient_clip_val": 1e308}, "gradient_clip_val")):
        with pytest.raises(ValueError, match=f"Trainer: {name} must be"):
            d2l.Trainer(**{"max_epochs": 1, **kwargs})
    trainer = d2l.Trainer(3, gradient_clip_val=1)
    assert (trainer.max_epochs, trainer.num_gpus, trainer.gradient_clip_val) == (3, 0, 1.0)


@pytest.mark.filterwarnings("error::RuntimeWarning")  # an overflow to inf is its value: no warning
def test_the_trainer_stops_a_fit_that_diverges(d2l, corpus):
    """d2l.Trainer(...).fit raises TrainingDiverged where the loss grows without bound, as
    training.train.fit does, instead of training on to a perplexity of inf."""
    from d2lrnn.training.train import TrainingDiverged

    data = small_data(d2l, corpus)
    model = d2l.RNNLMScratch(d2l.RNNScratch(len(data.vocab), 16), len(data.vocab), lr=1e30)
    trainer = d2l.Trainer(max_epochs=3)
    with pytest.raises(TrainingDiverged, match=r"training diverged in epoch 1, step \d+: the "
                       r"loss (grew|is).*try lr=1\b.*gradient_clip_val=1") as caught:
        trainer.fit(model, data)
    assert caught.value.step == trainer.train_batch_idx < 3 * trainer.num_train_batches


def test_progress_board_is_quiet_outside_jupyter(d2l, capsys, tmp_path):
    board = d2l.ProgressBoard(xlabel="epoch")
    for i in range(10):
        board.draw(i, 10 - i, "loss", every_n=2)
    assert [p.y for p in board.data["loss"]] == [9.5, 7.5, 5.5, 3.5, 1.5]
    assert capsys.readouterr() == ("", "")
    board.save(tmp_path / "board.png")
    assert (tmp_path / "board.png").read_bytes()[:4] == b"\x89PNG"


def test_hyperparameters_and_add_to_class(d2l):
    class Net(d2l.HyperParameters):
        def __init__(self, width, depth=2, _private=0):
            self.save_hyperparameters(ignore=["depth"])

    net = Net(5)
    assert net.width == 5 and net.hparams == {"width": 5} and not hasattr(net, "depth")

    @d2l.add_to_class(Net)
    def area(self):
        return self.width ** 2

    assert net.area() == 25
    d2l.check_len([1, 2], 2)
    with pytest.raises(AssertionError, match="expected length 3"):
        d2l.check_len([1, 2], 3)
    with pytest.raises(AssertionError, match=r"expected shape \(2, 3\)"):
        d2l.check_shape(np.zeros((3, 2)), (2, 3))


# -- PyTorch: a reader's own classes, as the scratch and concise sections write them --------


def reader_scratch_classes(d2l):
    import torch
    from torch import nn
    from torch.nn import functional as F

    class MyRNN(d2l.Module):
        def __init__(self, num_inputs, num_hiddens, sigma=0.01):
            super().__init__()
            self.save_hyperparameters()
            self.W_xh = nn.Parameter(d2l.randn(num_inputs, num_hiddens) * sigma)
            self.W_hh = nn.Parameter(d2l.randn(num_hiddens, num_hiddens) * sigma)
            self.b_h = nn.Parameter(d2l.zeros(num_hiddens))

    @d2l.add_to_class(MyRNN)
    def forward(self, inputs, state=None):
        if state is None:
            state = d2l.zeros((inputs.shape[1], self.num_hiddens), device=inputs.device)
        hiddens = []
        for X_t in inputs:
            state = d2l.tanh(d2l.matmul(X_t, self.W_xh) + d2l.matmul(state, self.W_hh)
                             + self.b_h)
            hiddens.append(state)
        return hiddens, state

    class MyLM(d2l.Classifier):
        def __init__(self, rnn, vocab_size, lr=0.01):
            super().__init__()
            self.save_hyperparameters()
            self.W_hq = nn.Parameter(d2l.randn(rnn.num_hiddens, vocab_size) * rnn.sigma)
            self.b_q = nn.Parameter(d2l.zeros(vocab_size))

        def training_step(self, batch):
            loss = self.loss(self(*batch[:-1]), batch[-1])
            self.plot("ppl", d2l.exp(loss), train=True)
            return loss

        def validation_step(self, batch):
            self.plot("ppl", d2l.exp(self.loss(self(*batch[:-1]), batch[-1])), train=False)

    @d2l.add_to_class(MyLM)
    def forward(self, X, state=None):
        embs = F.one_hot(X.T, self.vocab_size).type(torch.float32)
        hiddens, _ = self.rnn(embs, state)
        return d2l.stack([d2l.matmul(H, self.W_hq) + self.b_q for H in hiddens], 1)

    return MyRNN, MyLM


@pytest.mark.backends("torch")
def test_reader_scratch_model_trains(d2l, corpus):
    MyRNN, MyLM = reader_scratch_classes(d2l)
    rnn = MyRNN(16, 32)
    outputs, state = rnn(d2l.ones((100, 2, 16)))
    d2l.check_len(outputs, 100)
    d2l.check_shape(outputs[0], (2, 32))
    data = small_data(d2l, corpus)
    model = MyLM(MyRNN(len(data.vocab), 16), len(data.vocab), lr=1)
    d2l.check_shape(model(d2l.ones((2, 16), dtype=d2l.int64)), (2, 16, len(data.vocab)))
    trainer = d2l.Trainer(max_epochs=2, gradient_clip_val=1, num_gpus=1)
    trainer.fit(model, data)
    first, last = model.board.data["train_ppl"][0].y, model.board.data["train_ppl"][-1].y
    assert last < first


@pytest.mark.backends("torch")
def test_reader_concise_model_on_the_library_lm(d2l, corpus):
    from torch import nn

    class MyConciseRNN(d2l.Module):
        def __init__(self, num_inputs, num_hiddens):
            super().__init__()
            self.save_hyperparameters()
            self.rnn = nn.RNN(num_inputs, num_hiddens)

        def forward(self, inputs, H=None):
            return self.rnn(inputs, H)

    class MyConciseLM(d2l.RNNLMScratch):
        def init_params(self):
            self.linear = nn.LazyLinear(self.vocab_size)

        def output_layer(self, hiddens):
            return d2l.swapaxes(self.linear(hiddens), 0, 1)

    data = small_data(d2l, corpus)
    model = MyConciseLM(MyConciseRNN(len(data.vocab), 16), vocab_size=len(data.vocab), lr=1)
    untrained = model.predict("it has", 20, data.vocab, d2l.try_gpu())
    assert n_tokens(untrained) == 26
    d2l.Trainer(max_epochs=2, gradient_clip_val=1, num_gpus=1).fit(model, data)
    assert model.board.data["val_ppl"][-1].y < len(data.vocab)


@pytest.mark.backends("torch")
def test_clipping_scales_the_step_by_the_global_norm(d2l, corpus):
    import torch

    data = small_data(d2l, corpus)
    X, Y = (torch.as_tensor(a) for a in next(iter(data.train_dataloader())))

    def gradients(theta):
        torch.manual_seed(0)
        model = d2l.RNNLMScratch(d2l.RNNScratch(len(data.vocab), 16, sigma=0.5, seed=1),
                                 len(data.vocab), lr=1, seed=2)
        trainer = d2l.Trainer(max_epochs=1, gradient_clip_val=theta)
        model.loss(model(X), Y).backward()
        if theta:
            trainer.clip_gradients(theta, model)
        return [p.grad.clone() for p in model.parameters()]

    raw = gradients(0)
    norm = math.sqrt(sum(float((g ** 2).sum()) for g in raw))
    assert norm > 0.5, "the test needs a gradient that clipping changes"
    clipped = gradients(norm / 3)
    for g, c in zip(raw, clipped):
        np.testing.assert_allclose(c.numpy(), g.numpy() / 3, rtol=1e-6, atol=1e-9)
    untouched = gradients(norm * 2)
    for g, u in zip(raw, untouched):
        np.testing.assert_array_equal(u.numpy(), g.numpy())


# -- MXNet and TensorFlow: a reader's own classes in those frameworks' idioms ---------------


@pytest.mark.backends("mxnet")
def test_reader_mxnet_models_train(d2l, corpus):
    from mxnet import npx

    class MyRNN(d2l.Module):
        def __init__(self, num_inputs, num_hiddens, sigma=0.01):
            super().__init__()
            self.save_hyperparameters()
            self.W_xh = d2l.randn(num_inputs, num_hiddens) * sigma
            self.W_hh = d2l.randn(num_hiddens, num_hiddens) * sigma
            self.b_h = d2l.zeros(num_hiddens)

        def forward(self, inputs, state=None):
            if state is None:
                state = d2l.zeros((inputs.shape[1], self.num_hiddens), ctx=inputs.ctx)
            hiddens = []
            for X_t in inputs:
                state = d2l.tanh(d2l.matmul(X_t, self.W_xh) + d2l.matmul(state, self.W_hh)
                                 + self.b_h)
                hiddens.append(state)
            return hiddens, state

    class MyLM(d2l.Classifier):
        def __init__(self, rnn, vocab_size, lr=0.01):
            super().__init__()
            self.save_hyperparameters()
            self.W_hq = d2l.randn(rnn.num_hiddens, vocab_size) * rnn.sigma
            self.b_q = d2l.zeros(vocab_size)
            for param in self.get_scratch_params():
                param.attach_grad()

        def forward(self, X, state=None):
            hiddens, _ = self.rnn(npx.one_hot(X.T, self.vocab_size), state)
            return d2l.stack([d2l.matmul(H, self.W_hq) + self.b_q for H in hiddens], 1)

    data = small_data(d2l, corpus)
    model = MyLM(MyRNN(len(data.vocab), 16), len(data.vocab), lr=1)
    assert len(model.get_scratch_params()) == 5
    d2l.Trainer(max_epochs=2, gradient_clip_val=1, num_gpus=1).fit(model, data)
    assert model.board.data["val_loss"][-1].y < math.log(len(data.vocab))  # Module's default


@pytest.mark.backends("mxnet")
def test_reader_mxnet_concise_models_train(d2l, corpus):
    from mxnet.gluon import nn, rnn

    class MyConciseRNN(d2l.Module):
        def __init__(self, num_hiddens):
            super().__init__()
            self.save_hyperparameters()
            self.rnn = rnn.RNN(num_hiddens)

        def forward(self, inputs, H=None):
            if H is None:
                H, = self.rnn.begin_state(inputs.shape[1], ctx=inputs.ctx)
            outputs, (H, ) = self.rnn(inputs, (H, ))
            return outputs, H

    class MyConciseLM(d2l.RNNLMScratch):
        def init_params(self):
            self.linear = nn.Dense(self.vocab_size, flatten=False)
            self.initialize()

        def output_layer(self, hiddens):
            return d2l.swapaxes(self.linear(hiddens), 0, 1)

    data = small_data(d2l, corpus)
    model = MyConciseLM(MyConciseRNN(num_hiddens=16), vocab_size=len(data.vocab), lr=1)
    assert n_tokens(model.predict("it has", 20, data.vocab, d2l.try_gpu())) == 26
    d2l.Trainer(max_epochs=2, gradient_clip_val=1, num_gpus=1).fit(model, data)
    from mxnet import gluon
    assert isinstance(model.trainer.optim, gluon.Trainer)  # Gluon parameters: Gluon's SGD
    assert model.board.data["val_ppl"][-1].y < len(data.vocab)


@pytest.mark.backends("tensorflow")
def test_reader_tensorflow_models_train(d2l, corpus):
    import tensorflow as tf

    class MyRNN(d2l.Module):
        def __init__(self, num_inputs, num_hiddens, sigma=0.01):
            super().__init__()
            self.save_hyperparameters()
            self.W_xh = tf.Variable(d2l.normal((num_inputs, num_hiddens)) * sigma)
            self.W_hh = tf.Variable(d2l.normal((num_hiddens, num_hiddens)) * sigma)
            self.b_h = tf.Variable(d2l.zeros(num_hiddens))

        def forward(self, inputs, state=None):
            if state is None:
                state = d2l.zeros((inputs.shape[1], self.num_hiddens))
            hiddens = []
            for X_t in inputs:
                state = d2l.tanh(d2l.matmul(X_t, self.W_xh) + d2l.matmul(state, self.W_hh)
                                 + self.b_h)
                hiddens.append(state)
            return hiddens, state

    class MyLM(d2l.Classifier):
        def __init__(self, rnn, vocab_size, lr=0.01):
            super().__init__()
            self.save_hyperparameters()
            self.W_hq = tf.Variable(d2l.normal((rnn.num_hiddens, vocab_size)) * rnn.sigma)
            self.b_q = tf.Variable(d2l.zeros(vocab_size))

        def forward(self, X, state=None):
            hiddens, _ = self.rnn(tf.one_hot(tf.transpose(X), self.vocab_size), state)
            return d2l.stack([d2l.matmul(H, self.W_hq) + self.b_q for H in hiddens], 1)

    data = small_data(d2l, corpus)
    with d2l.try_gpu():
        model = MyLM(MyRNN(len(data.vocab), 16), len(data.vocab), lr=1)
    assert len(model.trainable_variables) == 5
    d2l.Trainer(max_epochs=2, gradient_clip_val=1).fit(model, data)
    assert model.board.data["val_loss"][-1].y < math.log(len(data.vocab))

    class MyConciseRNN(d2l.Module):  # Keras 3 has no time_major: transpose around the layer
        def __init__(self, num_hiddens):
            super().__init__()
            self.save_hyperparameters()
            self.rnn = tf.keras.layers.SimpleRNN(num_hiddens, return_sequences=True,
                                                 return_state=True)

        def forward(self, inputs, H=None):
            outputs, H = self.rnn(d2l.transpose(inputs, (1, 0, 2)), H)
            return d2l.transpose(outputs, (1, 0, 2)), H

    class MyConciseLM(d2l.RNNLMScratch):
        def init_params(self):
            self.linear = tf.keras.layers.Dense(self.vocab_size)

        def output_layer(self, hiddens):
            return d2l.transpose(self.linear(hiddens), (1, 0, 2))

    model = MyConciseLM(MyConciseRNN(num_hiddens=16), vocab_size=len(data.vocab), lr=1)
    assert n_tokens(model.predict("it has", 20, data.vocab)) == 26
    assert len(model.trainable_variables) == 5  # kernel, recurrent kernel, bias; Dense's two
    d2l.Trainer(max_epochs=2, gradient_clip_val=1).fit(model, data)
    assert model.board.data["val_ppl"][-1].y < len(data.vocab)


def test_every_trainer_clips_by_the_global_norm(d2l, corpus):
    """One step of the book's Trainer: with clipping the update is the unclipped update
    times θ/‖g‖ exactly, in every backend's Trainer."""
    data = d2l.TimeMachine(batch_size=64, num_steps=16, num_train=64, num_val=64,
                           corpus=corpus)
    V = len(data.vocab)

    def step(theta):
        model = d2l.RNNLMScratch(d2l.RNNScratch(V, 16, sigma=0.5, dtype="float64", seed=1),
                                 V, lr=1, seed=2)
        before = model.get_params()
        d2l.Trainer(max_epochs=1, gradient_clip_val=theta).fit(model, data)
        after = model.get_params()
        return {k: after[k] - before[k] for k in before}, model

    unclipped, model = step(0)
    from d2lrnn import numpy as ref
    probe = ref.RNNLMScratch(ref.RNNScratch(V, 16, sigma=0.5, dtype="float64", seed=1), V,
                             seed=2)
    X, Y = next(iter(data.train_dataloader()))
    _, grads = ref.loss_and_grads(probe, X, Y)
    norm = math.sqrt(sum(float((g ** 2).sum()) for g in grads.values()))
    assert norm > 0.3
    clipped, _ = step(norm / 4)
    for k in unclipped:
        np.testing.assert_allclose(clipped[k], unclipped[k] / 4, rtol=1e-9, atol=1e-15)
        np.testing.assert_allclose(unclipped[k], -grads[k], rtol=1e-9, atol=1e-15)


# -- JAX: Flax modules, parameters outside them, trainer.state.params -------------------------


@pytest.mark.backends("jax")
def test_reader_flax_models_train(d2l, corpus):
    import jax
    from flax import linen as nn

    class MyRNN(nn.Module):
        num_inputs: int
        num_hiddens: int
        sigma: float = 0.01

        def setup(self):
            normal = nn.initializers.normal(self.sigma)
            self.W_xh = self.param("W_xh", normal, (self.num_inputs, self.num_hiddens))
            self.W_hh = self.param("W_hh", normal, (self.num_hiddens, self.num_hiddens))
            self.b_h = self.param("b_h", nn.initializers.zeros, (self.num_hiddens,))

    @d2l.add_to_class(MyRNN)
    def __call__(self, inputs, state=None):
        if state is None:
            state = d2l.zeros((inputs.shape[1], self.num_hiddens))
        hiddens = []
        for X_t in inputs:
            state = d2l.tanh(d2l.matmul(X_t, self.W_xh) + d2l.matmul(state, self.W_hh)
                             + self.b_h)
            hiddens.append(state)
        return hiddens, state

    (outputs, state), _ = MyRNN(16, 32).init_with_output(d2l.get_key(), d2l.ones((100, 2, 16)))
    d2l.check_len(outputs, 100)
    d2l.check_shape(state, (2, 32))

    class MyLM(d2l.Classifier):
        rnn: nn.Module
        vocab_size: int
        lr: float = 0.01

        def setup(self):
            self.W_hq = self.param("W_hq", nn.initializers.normal(self.rnn.sigma),
                                   (self.rnn.num_hiddens, self.vocab_size))
            self.b_q = self.param("b_q", nn.initializers.zeros, (self.vocab_size,))

        def training_step(self, params, batch, state):
            value, grads = jax.value_and_grad(self.loss, has_aux=True)(
                params, batch[:-1], batch[-1], state)
            self.plot("ppl", d2l.exp(value[0]), train=True)
            return value, grads

        def validation_step(self, params, batch, state):
            loss, _ = self.loss(params, batch[:-1], batch[-1], state)
            self.plot("ppl", d2l.exp(loss), train=False)

        def forward(self, X, state=None):
            hiddens, _ = self.rnn(jax.nn.one_hot(X.T, self.vocab_size), state)
            return d2l.stack([d2l.matmul(H, self.W_hq) + self.b_q for H in hiddens], 1)

    data = small_data(d2l, corpus)
    V = len(data.vocab)
    model = MyLM(MyRNN(V, 16), V, lr=1)
    logits, _ = model.init_with_output(d2l.get_key(), d2l.ones((2, 16), dtype=d2l.int32))
    d2l.check_shape(logits, (2, 16, V))
    trainer = d2l.Trainer(max_epochs=2, gradient_clip_val=1, num_gpus=1)
    trainer.fit(model, data)
    assert set(trainer.state.params) == {"rnn", "W_hq", "b_q"}
    ppl = model.board.data["val_ppl"]
    assert ppl[-1].y < ppl[0].y * 1.01 and ppl[-1].y < V


@pytest.mark.backends("jax")
def test_library_flax_models_with_the_book_idioms(d2l, corpus):
    from flax import linen as nn

    class MyConciseLM(d2l.RNNLMScratch):  # the concise section: a Dense output layer
        def setup(self):
            self.linear = nn.Dense(self.vocab_size)

        def output_layer(self, hiddens):
            return d2l.swapaxes(self.linear(hiddens), 0, 1)

    data = small_data(d2l, corpus)
    V = len(data.vocab)
    for model in (d2l.RNNLMScratch(d2l.RNNScratch(V, 16), V, lr=1),
                  d2l.RNNLM(d2l.RNN(16), V, lr=1),
                  MyConciseLM(d2l.RNN(num_hiddens=16), vocab_size=V, lr=1)):
        trainer = d2l.Trainer(max_epochs=2, gradient_clip_val=1, num_gpus=1)
        trainer.fit(model, data)
        text = model.predict("it has", 20, data.vocab, trainer.state.params)
        assert n_tokens(text) == 26 and text.startswith("it has")
        assert model.board.data["val_ppl"][-1].y < V
    # the library's own model also keeps the trained weights for use outside apply
    lm = d2l.RNNLMScratch(d2l.RNNScratch(V, 16), V, lr=1)
    trainer = d2l.Trainer(max_epochs=1, gradient_clip_val=1)
    trainer.fit(lm, data)
    np.testing.assert_array_equal(lm.get_params()["W_hh"],
                                  np.asarray(trainer.state.params["rnn"]["W_hh"]))
    assert lm.predict("it has", 10, data.vocab) == \
        lm.predict("it has", 10, data.vocab, trainer.state.params)


@pytest.mark.needs("book_tab")
def test_the_concatenation_cells_with_the_book_aliases(d2l):
    name = d2l.ops.name
    if name == "tensorflow":
        X, W_xh, H, W_hh = (d2l.normal(s) for s in ((3, 1), (1, 4), (3, 4), (4, 4)))
    elif name == "jax":
        import jax
        X, W_xh, H, W_hh = (jax.random.normal(d2l.get_key(), s)
                            for s in ((3, 1), (1, 4), (3, 4), (4, 4)))
    else:
        X, W_xh, H, W_hh = (d2l.randn(*s) for s in ((3, 1), (1, 4), (3, 4), (4, 4)))
    separate = d2l.matmul(X, W_xh) + d2l.matmul(H, W_hh)
    joined = d2l.matmul(d2l.concat((X, H), 1), d2l.concat((W_xh, W_hh), 0))
    d2l.check_shape(joined, (3, 4))
    np.testing.assert_allclose(d2l.numpy(joined), d2l.numpy(separate), rtol=1e-5, atol=1e-5)
    assert np.abs(d2l.numpy(separate)).max() > 0.1


@pytest.mark.backends("mxnet")
def test_mxnet_parameters_have_the_shapes_the_book_expects(d2l):
    from mxnet import gluon

    scratch = d2l.RNNLMScratch(d2l.RNNScratch(5, 3), 5)
    assert isinstance(scratch.parameters(), list) and len(scratch.parameters()) == 5

    class Dense(d2l.Module):
        def __init__(self):
            super().__init__()
            self.net = gluon.nn.Dense(2)
            self.initialize()

    model = Dense()
    assert isinstance(model.parameters(), gluon.parameter.ParameterDict)


# -- the library's classes and helpers, called as the book calls them ------------------------

@pytest.mark.needs("book_tab")
def test_the_concise_rnn_as_the_book_builds_it(d2l, corpus):
    """PyTorch's book RNN takes (num_inputs, num_hiddens); MXNet's, TensorFlow's and JAX's
    take num_hiddens only and learn the input size, positional or keyword."""
    name = d2l.ops.name
    data = small_data(d2l, corpus)
    V = len(data.vocab)
    if name == "torch":
        rnns = [d2l.RNN(V, 16), d2l.RNN(num_inputs=V, num_hiddens=16)]
    else:
        rnns = [d2l.RNN(16), d2l.RNN(num_hiddens=16)]
    for rnn in rnns:
        model = d2l.RNNLM(rnn, vocab_size=V, lr=1)
        assert rnn.num_inputs == V and model.get_params()["W_xh"].shape == (V, 16)
        trainer = d2l.Trainer(max_epochs=2, gradient_clip_val=1)
        trainer.fit(model, data)
        assert model.board.data["val_ppl"][-1].y < V
        args = (trainer.state.params,) if name == "jax" else ()
        text = model.predict("it has", 20, data.vocab, *args)
        assert n_tokens(text) == 26 and text.startswith("it has")


@pytest.mark.backends("mxnet", "tensorflow", "jax")  # torch's book RNN takes num_inputs
def test_a_lazy_rnn_learns_its_input_size_at_the_first_call(d2l):
    rnn = d2l.RNN(8, seed=0)
    with pytest.raises(RuntimeError, match="learnt at the first call"):
        rnn.get_params()
    X = np.random.default_rng(0).normal(size=(3, 2, 5)).astype("float32")
    outputs, H = rnn(X)
    assert rnn.num_inputs == 5 and d2l.ops.shape(outputs) == (3, 2, 8)
    assert d2l.ops.shape(H) == (2, 8)
    # the state goes back in alone or, as the book passes it, in a one-element tuple
    np.testing.assert_array_equal(d2l.ops.to_numpy(rnn(X, H)[0]),
                                  d2l.ops.to_numpy(rnn(X, (H,))[0]))
    eager = d2l.RNN(8, num_inputs=5, seed=0)  # the same seed draws the same weights
    np.testing.assert_array_equal(eager.get_params()["W_xh"], rnn.get_params()["W_xh"])


@pytest.mark.needs("book_tab")
def test_tensor_helpers_take_arguments_as_the_book_passes_them(d2l):
    name = d2l.ops.name
    Y = d2l.tensor(np.arange(10, dtype="float32").reshape(1, 2, 5))
    index = d2l.reshape(d2l.argmax(Y, axis=2), -1)
    assert d2l.numpy(index).tolist() == [4, 4]
    if name != "tensorflow":  # tf.reshape is the book's TensorFlow helper: a shape argument
        assert tuple(d2l.reshape(Y, 5, 2).shape) == (5, 2)
        assert d2l.numpy(d2l.swapaxes(Y, 0, 1)).shape == (2, 1, 5)
    assert tuple(d2l.reshape(Y, (2, 5)).shape) == (2, 5)
    assert float(d2l.numpy(d2l.reduce_sum(Y))) == 45.0
    assert d2l.size(Y) == 10
    assert d2l.numpy(d2l.transpose(d2l.reshape(Y, (2, 5)))).shape == (5, 2)
    first = d2l.reshape(d2l.argmax(Y[:, :1], axis=2), 1)
    # the book's predict: int() of a one-element 1-D tensor. PyTorch and MXNet take it; JAX
    # and TensorFlow on NumPy 2 refuse it, whatever the helper (README)
    if name in ("torch", "mxnet") or (name == "tensorflow" and np.__version__ < "2"):
        assert int(first) == 4
    else:
        with pytest.raises(TypeError):
            int(first)
    assert int(d2l.reshape(first, -1)[0]) == 4  # the README's way out, in every framework
    assert isinstance(d2l.try_all_gpus(), list) and len(d2l.try_all_gpus()) >= 1


@pytest.mark.backends("torch", "mxnet", "tensorflow")
def test_classifier_accuracy(d2l):
    lm = d2l.RNNLMScratch(d2l.RNNScratch(4, 3), 4)
    logits = d2l.ops.asarray(np.array([[[0, 1, 0, 0], [2, 0, 0, 0], [0, 0, 0, 3]]],
                                      dtype="float32"), "float32")
    Y = np.array([[1, 0, 2]])
    assert float(d2l.ops.to_numpy(lm.accuracy(logits, Y))) == pytest.approx(2 / 3)
    assert d2l.ops.to_numpy(lm.accuracy(logits, Y, averaged=False)).tolist() == [1, 1, 0]


TF_KERAS_CELL = '''
import os, sys
os.environ["TF_USE_LEGACY_KERAS"] = "1"  # tf.keras is then Keras 2, from the tf-keras package
from d2lrnn import tensorflow as d2l
import tensorflow as tf

class RNN(d2l.Module):  # the concise section's time-major layer, which Keras 3 removed
    def __init__(self, num_hiddens):
        super().__init__()
        self.save_hyperparameters()
        self.rnn = tf.keras.layers.SimpleRNN(num_hiddens, return_sequences=True,
                                             return_state=True, time_major=True)

    def forward(self, inputs, H=None):
        outputs, H = self.rnn(inputs, H)
        return outputs, H

class RNNLM(d2l.RNNLMScratch):
    def init_params(self):
        self.linear = tf.keras.layers.Dense(self.vocab_size)

    def output_layer(self, hiddens):
        return d2l.transpose(self.linear(hiddens), (1, 0, 2))

data = d2l.TimeMachine(batch_size=64, num_steps=16, num_train=640, num_val=128,
                       corpus=sys.argv[1])
model = RNNLM(RNN(num_hiddens=16), vocab_size=len(data.vocab), lr=1)
d2l.Trainer(max_epochs=2, gradient_clip_val=1).fit(model, data)
library = d2l.RNNLM(d2l.RNN(16), vocab_size=len(data.vocab), lr=1)  # ours, beside Keras 2
d2l.Trainer(max_epochs=1, gradient_clip_val=1).fit(library, data)
print(tf.keras.layers.SimpleRNN.__module__, model.board.data["val_ppl"][-1].y,
      model.predict("it has", 10, data.vocab))
'''


def test_keras_2_through_tf_keras_runs_the_time_major_cell(corpus, tmp_path):
    """The README's way out for the book's TensorFlow concise cell: tf-keras (the tox
    tensorflow env installs it) with TF_USE_LEGACY_KERAS=1."""
    module, ppl, text = run_with_tf_keras(TF_KERAS_CELL, tmp_path, corpus).split(maxsplit=2)
    assert module.startswith("tf_keras") and float(ppl) < 27 and text.startswith("it has")
