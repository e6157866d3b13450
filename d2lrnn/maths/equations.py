"""The section's maths as functions, written once for every backend: (ops, params, arrays)
-> arrays, generic over an :class:`~d2lrnn.base.adapter.Ops` adapter.

Equation numbers are those of d2l.ai, section 9.4 "Recurrent Neural Networks". Shapes follow
the book: RNN inputs are time-major ``(num_steps, batch_size, num_inputs)``, token ids are
batch-major ``(batch_size, num_steps)``, logits ``(batch_size, num_steps, V)``.
"""
import functools

# -- the functional core: (ops, params, arrays) -> arrays --------------------------------


def mlp_forward(ops, params, X, phi="tanh"):
    """H = φ(X W_xh + b_h) (9.4.3) and O = H W_hq + b_q (9.4.4): no hidden state."""
    H = ops.activation(phi)(ops.matmul(X, params["W_xh"]) + params["b_h"])
    return H, ops.matmul(H, params["W_hq"]) + params["b_q"]


def rnn_step(ops, params, X_t, H_prev):
    """H_t = tanh(X_t W_xh + H_{t-1} W_hh + b_h) (9.4.5)."""
    return ops.activation("tanh")(ops.matmul(X_t, params["W_xh"])
                                  + ops.matmul(H_prev, params["W_hh"]) + params["b_h"])


def rnn_forward(ops, params, inputs, state=None):
    """Run (9.4.5) over the time steps of ``inputs`` from ``state`` (zeros if None); return
    [H_1 .. H_T] and H_T."""
    state = zero_state(ops, params, inputs) if state is None else state
    outputs = []
    for t in range(ops.shape(inputs)[0]):
        state = rnn_step(ops, params, inputs[t], state)
        outputs.append(state)
    return outputs, state


def zero_state(ops, params, inputs):
    """H_0 = 0 for a batch of ``inputs`` (T, n, d), or token ids (T, n), sized by ``W_hh``."""
    return ops.zeros((ops.shape(inputs)[1], ops.shape(params["W_hh"])[0]),
                     ops.dtype_name(params["W_hh"]))


def output_layer(ops, params, rnn_outputs):
    """O_t = H_t W_hq + b_q (9.4.6) for every step, batch-major: (n, T, V).

    ``rnn_outputs`` is the list [H_1 .. H_T] of the scratch RNN or the stacked (T, n, h)
    array of a framework's layer (then one product serves every step).
    """
    if isinstance(rnn_outputs, (list, tuple)):
        return ops.stack([ops.matmul(H, params["W_hq"]) + params["b_q"] for H in rnn_outputs],
                         1)
    return ops.transpose(ops.matmul(rnn_outputs, params["W_hq"]) + params["b_q"], (1, 0, 2))


def lm_forward(ops, params, X, state=None, recurrence=None):
    """Token ids (n, T) -> one-hot (T, n, V) -> hidden states -> logits (n, T, V).

    ``recurrence(params, inputs, state)`` runs the RNN: the scratch loop by default.
    """
    recurrence = recurrence or functools.partial(rnn_forward, ops)
    vocab_size = ops.shape(params["W_hq"])[1]
    dtype = ops.dtype_name(params["W_hq"])
    embs = ops.one_hot(ops.transpose(X, (1, 0)), vocab_size, dtype)
    rnn_outputs, _ = recurrence(params, embs, state)  # state None: zeros
    return output_layer(ops, params, rnn_outputs)


def token_cross_entropy(ops, logits, Y):
    """-log softmax(O)[y] = logsumexp(O) - O[y] of each of the n*T tokens, flattened."""
    vocab_size = ops.shape(logits)[-1]
    O = ops.reshape(logits, (-1, vocab_size))
    y = ops.reshape(Y, (-1,))
    return ops.logsumexp(O, 1) - ops.pick(O, y)


def cross_entropy(ops, logits, Y):
    """Mean over all n*T tokens of -log softmax(O)[y] = logsumexp(O) - O[y]."""
    return ops.mean(token_cross_entropy(ops, logits, Y))


def lm_loss(ops, params, X, Y, recurrence=None):
    """The language model's mean cross-entropy; perplexity is its exponential."""
    return cross_entropy(ops, lm_forward(ops, params, X, None, recurrence), Y)


# -- the fast path: the same numbers with fewer, larger operations -----------------------
# Time-major throughout (ids (T, n), logits (T, n, V)), so nothing is transposed per step.


def embed(ops, params, X_tm):
    """X_t W_xh + b_h for every step at once, (T, n, h). X_t is one-hot, so X_t W_xh is
    the row of W_xh at the token's index: a lookup, not a product."""
    return ops.embedding(params["W_xh"], X_tm) + params["b_h"]


def lm_forward_fast(ops, params, X_tm, state, fast_recurrence):
    """Token ids (T, n) -> logits (T, n, V) and the final state: the RNN by
    ``fast_recurrence`` (params, X_tm, state) -> (stacked outputs, final state), ``state``
    None for zeros, then (9.4.6) as one product."""
    Hs, state = fast_recurrence(params, X_tm, state)
    return ops.affine(Hs, params["W_hq"], params["b_q"]), state


def lm_loss_fast(ops, params, X, Y, fast_recurrence, weights=None):
    """:func:`lm_loss` computed by :func:`lm_forward_fast` (X, Y batch-major as there).

    ``weights`` (n,): 1 for the batch's sequences, 0 for padding. Compiling frameworks pad
    the last, shorter batch so that one compiled shape serves every batch; the padding adds
    exact zeros to every sum, so the numbers are those of the unpadded batch."""
    logits, _ = lm_forward_fast(ops, params, ops.transpose(X, (1, 0)), None, fast_recurrence)
    log_p = ops.log_softmax(logits)
    return token_mean(ops, -pick_tokens(ops, log_p, ops.transpose(Y, (1, 0))), weights)


def pick_tokens(ops, values, Y_tm):
    """``values[t, i, Y[t, i]]`` for (T, n, V) values and (T, n) ids: (T, n)."""
    T, n, V = ops.shape(values)
    return ops.reshape(ops.pick(ops.reshape(values, (-1, V)), ops.reshape(Y_tm, (-1,))), (T, n))


def token_mean(ops, token_values, weights=None):
    """The mean of (T, n) per-token values over the sequences that ``weights`` keeps."""
    if weights is None:
        return ops.mean(token_values)
    return ops.sum(token_values * weights) / (ops.sum(weights) * ops.shape(token_values)[0])
