"""Back-propagation through time, by hand (d2l.ai section 9.7), written once for every backend.

NumPy has no autograd: these are its gradients, the reference every framework's autograd is
tested against (and they are checked against central differences). On some frameworks they
are also the fastest way to the same numbers (see ``Ops.fast_grads``): a few large products
over all time steps replace autograd's per-step bookkeeping.
"""
from .equations import embed, pick_tokens, token_mean


def lm_loss_and_grads(ops, params, X, Y, weights=None):
    """Loss and gradients of the language model's mean cross-entropy, from H_0 = 0.

    X, Y: token ids (n, T); ``weights`` (n,) keeps sequences, as in
    :func:`~d2lrnn.maths.equations.lm_loss_fast`. Returns ``(loss, grads)`` keyed by parameter name.
    """
    W_hh, W_hq = params["W_hh"], params["W_hq"]
    (n, T), V, h = ops.shape(X), ops.shape(W_hq)[1], ops.shape(W_hh)[0]
    dtype = ops.dtype_name(W_hq)
    X_tm, Y_tm = ops.transpose(X, (1, 0)), ops.transpose(Y, (1, 0))
    H0 = ops.zeros((n, h), dtype)
    H, _ = ops.scan_tanh(embed(ops, params, X_tm), H0, W_hh)       # (T, n, h), by (9.4.5)
    O = ops.affine(H, W_hq, params["b_q"])                          # (T, n, V), by (9.4.6)
    log_p = ops.log_softmax(O)                                      # log softmax(O_t)
    loss = token_mean(ops, -pick_tokens(ops, log_p, Y_tm), weights)

    # dLoss/dO_t = (softmax(O_t) - onehot(y_t)) / (n T), for the kept sequences only
    scale = 1.0 / (n * T) if weights is None else \
        ops.reshape(weights, (1, n, 1)) / (ops.sum(weights) * T)
    dO = (ops.softmax(O, log_p) - ops.one_hot(Y_tm, V, dtype)) * scale
    grads = {"W_hq": weight_grad(ops, H, dO), "b_q": ops.sum(ops.reshape(dO, (-1, V)), 0)}
    # Back through time. Only dH_t -> dA_t -> dH_{t-1} is sequential: every product that
    # does not feed the next step is taken over all steps at once.
    dH = ops.matmul(dO, ops.transpose(W_hq, (1, 0)))               # what O_t sends to H_t
    tanh_grad = 1 - H * H                                           # tanh' = 1 - tanh²
    W_hh_T = ops.transpose(W_hh, (1, 0))
    dA = [None] * T                                                 # dLoss/d(pre-activation)
    dA[T - 1] = dH[T - 1] * tanh_grad[T - 1]
    for t in range(T - 1, 0, -1):                                   # H_{t-1} gets dA_t W_hh^T
        dA[t - 1] = ops.affine(dA[t], W_hh_T, dH[t - 1]) * tanh_grad[t - 1]
    dA = ops.stack(dA, 0)
    dA_flat = ops.reshape(dA, (-1, h))
    grads["W_xh"] = ops.embedding_grad(ops.reshape(X_tm, (-1,)), dA_flat, V)
    # H_0 = 0 contributes nothing to dW_hh = sum_t H_{t-1}^T dA_t
    grads["W_hh"] = weight_grad(ops, H[:-1], dA[1:])
    grads["b_h"] = ops.sum(dA_flat, 0)
    return loss, {name: grads[name] for name in params}


def weight_grad(ops, inputs, grads):
    """The gradient of W in ``inputs @ W`` applied at every step: the sum over steps of
    inputs_t^T grads_t, for inputs (T, n, a) and grads (T, n, b), as one product."""
    a, b = ops.shape(inputs)[-1], ops.shape(grads)[-1]
    return ops.matmul(ops.transpose(ops.reshape(inputs, (-1, a)), (1, 0)),
                      ops.reshape(grads, (-1, b)))
