"""Experiments that answer the section's exercises, for any backend (d2l.ai 9.4 exercises)."""
import time

import numpy as np

from ..maths.equations import rnn_forward
from ..numpy.ops import ops as numpy_ops


def with_spectral_radius(matrix, radius):
    """``matrix`` scaled so that its largest |eigenvalue| is ``radius``."""
    current = np.max(np.abs(np.linalg.eigvals(matrix)))
    return matrix * (radius / current)


def state_gradient_norm(d2l, W_hh, num_steps, batch_size=1, seed=0):
    """‖∂(Σ H_T)/∂H_0‖ for the RNN H_t = tanh(H_{t-1} W_hh) run ``num_steps`` steps.

    Inputs are zero (so only the recurrence matters) and H_0 is small and random. NumPy
    multiplies the Jacobians back by hand; the other backends use their autograd.
    """
    rng = np.random.default_rng(seed)
    h = W_hh.shape[0]
    H0 = rng.normal(0, 0.01, (batch_size, h))
    ops = d2l.ops
    params = {"W_xh": ops.asarray(np.zeros((1, h)), "float64"),
              "W_hh": ops.asarray(W_hh, "float64"), "b_h": ops.asarray(np.zeros(h), "float64")}
    inputs = ops.asarray(np.zeros((num_steps, batch_size, 1)), "float64")
    if not ops.has_autograd:
        states, _ = rnn_forward(ops, params, inputs, H0)
        grad = np.ones((batch_size, h))
        for H_t in reversed(states):  # ∂H_t/∂H_{t-1} = diag(1 - H_t²) W_hh, transposed
            grad = (grad * (1 - H_t ** 2)) @ W_hh.T
        return float(np.linalg.norm(grad))

    def total(p):
        _, last = rnn_forward(ops, params, inputs, p["H0"])
        return ops.sum(last)

    _, grads = ops.value_and_grad(total, {"H0": ops.asarray(H0, "float64")})
    return float(np.linalg.norm(ops.to_numpy(grads["H0"])))


def gradient_norms(d2l, radii=(0.5, 0.9, 1.0, 1.1, 1.5), lengths=(1, 2, 5, 10, 20, 50, 100),
                   num_hiddens=16, seed=0):
    """{radius: [norm for each length]} for W_hh with the given spectral radii."""
    base = np.random.default_rng(seed).normal(size=(num_hiddens, num_hiddens))
    return {r: [state_gradient_norm(d2l, with_spectral_radius(base, r), T) for T in lengths]
            for r in radii}


def early_token_influence(lm, vocab, text, position=0, replacement=None):
    """How far the predicted distribution at each later step moves when the token at
    ``position`` of ``text`` changes: total variation distance per step."""
    ids = np.array([vocab[list(text)]])
    other = ids.copy()
    choices = [i for i in range(len(vocab)) if i != ids[0, position]]
    other[0, position] = vocab[replacement] if replacement else choices[0]
    p, q = (_softmax(lm.ops.to_numpy(lm(x))[0]) for x in (ids, other))
    return 0.5 * np.abs(p - q).sum(-1)


def _softmax(logits):
    z = np.exp(logits - logits.max(-1, keepdims=True))
    return z / z.sum(-1, keepdims=True)


def forward_seconds(lm, lengths, batch_size=32, repeats=3):
    """Median wall time of one forward pass for each sequence length: it grows linearly."""
    seconds = []
    for T in lengths:
        X = np.zeros((batch_size, T), dtype=np.int64)
        lm(X)  # warm-up
        runs = []
        for _ in range(repeats):
            start = time.perf_counter()
            lm.ops.to_numpy(lm(X))
            runs.append(time.perf_counter() - start)
        seconds.append(float(np.median(runs)))
    return seconds


# -- the gated cells (d2l.ai 10.1-10.2), from a model's weights --------------------------------

def _cell_run(lm, vocab, text):
    """The model's cell run in NumPy on its own weights over ``text``: (cell, params,
    one-hot inputs (T, 1, V), states [state_1 .. state_T], caches)."""
    ops = numpy_ops
    cell = lm.rnn.cell
    params = {k: v.astype(np.float64) for k, v in lm.get_params().items()}
    inputs = np.eye(lm.vocab_size)[vocab[list(text)]][:, None, :]
    state = cell.zero_state(ops, 1, lm.rnn.num_hiddens, "float64")
    states, caches = [], []
    for x in inputs:
        state, cache = cell.step(ops, params, x, state)
        states.append(state)
        caches.append(cache)
    return cell, params, states, caches


def gate_activations(lm, vocab, text):
    """{gate name: (len(text), num_hiddens) values} of a GRU (reset R, update Z) or an LSTM
    (input I, forget F, output O) reading ``text``, from the model's weights."""
    cell, _, _, caches = _cell_run(lm, vocab, text)
    where = {"gru": {"reset R": 2, "update Z": 3},
             "lstm": {"input I": 3, "forget F": 4, "output O": 5}}[cell.name]
    return {name: np.stack([c[i][0] for c in caches]) for name, i in where.items()}


def state_gradient_norms_along(lm, vocab, text, lengths):
    """‖∂(Σ H_T)/∂state_0‖ for T in ``lengths``, the model reading ``text`` from the state
    it reached there: how much of the gradient survives T steps back. Any cell, by its
    hand-written step backward (NumPy, on the model's weights)."""
    ops = numpy_ops
    cell, params, states, caches = _cell_run(lm, vocab, text)
    norms = []
    for T in lengths:
        start = len(text) - T  # the last T steps of the text
        dstate = tuple(np.ones_like(states[-1][0]) if i == 0 else np.zeros_like(s)
                       for i, s in enumerate(states[-1]))
        for t in range(len(text) - 1, start - 1, -1):
            dstate, _ = cell.step_backward(ops, params, caches[t], dstate, {})
        norms.append(float(np.sqrt(sum((d ** 2).sum() for d in dstate))))
    return norms
