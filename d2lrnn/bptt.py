"""Back-propagation through time, by hand (d2l.ai section 9.7), written once for every backend.

NumPy has no autograd: these are its gradients, the reference every framework's autograd is
tested against (and they are checked against central differences). On some frameworks they
are also the fastest way to the same numbers (see ``Ops.fast_grads``): a few large products
over all time steps replace autograd's per-step bookkeeping.
"""
from .rnn import cross_entropy, embed


def lm_loss_and_grads(ops, params, X, Y):
    """Loss and gradients of the language model's mean cross-entropy.

    X, Y: token ids (n, T). Returns ``(loss, grads)`` with grads keyed by parameter name.
    """
    W_hh, W_hq = params["W_hh"], params["W_hq"]
    (n, T), V, h = ops.shape(X), ops.shape(W_hq)[1], ops.shape(W_hh)[0]
    dtype = ops.dtype_name(W_hq)
    X_tm, Y_tm = ops.transpose(X, (1, 0)), ops.transpose(Y, (1, 0))
    H0 = ops.zeros((n, h), dtype)
    H, _ = ops.scan_tanh(embed(ops, params, X_tm), H0, W_hh)       # (T, n, h), by (9.4.5)
    O = ops.matmul(H, W_hq) + params["b_q"]                         # (T, n, V), by (9.4.6)
    loss = cross_entropy(ops, O, Y_tm)

    # dLoss/dO_t = (softmax(O_t) - onehot(y_t)) / (n T)
    lse = ops.reshape(ops.logsumexp(O, 2), (T, n, 1))
    dO = (ops.exp(O - lse) - ops.one_hot(Y_tm, V, dtype)) * (1.0 / (n * T))
    dO_flat, H_flat = ops.reshape(dO, (-1, V)), ops.reshape(H, (-1, h))
    grads = {"W_hq": ops.matmul(ops.transpose(H_flat, (1, 0)), dO_flat),
             "b_q": ops.sum(dO_flat, 0)}
    # back through time: only dH_t -> dA_t -> dH_{t-1} is sequential; every product that
    # does not feed the next step is taken over all steps at once
    dH_out = ops.matmul(dO, ops.transpose(W_hq, (1, 0)))           # what O_t sends to H_t
    W_hh_T = ops.transpose(W_hh, (1, 0))
    dA, dH_next = [None] * T, H0                                    # H0 is zeros
    for t in reversed(range(T)):
        dA[t] = (dH_out[t] + dH_next) * (1 - H[t] * H[t])           # tanh' = 1 - tanh²
        dH_next = ops.matmul(dA[t], W_hh_T)
    dA = ops.reshape(ops.stack(dA, 0), (-1, h))                     # dLoss/d(pre-activation)
    H_prev = ops.reshape(ops.concat([ops.reshape(H0, (1, n, h)), H[:-1]], 0), (-1, h))
    E = ops.reshape(ops.one_hot(X_tm, V, dtype), (-1, V))
    grads["W_xh"] = ops.matmul(ops.transpose(E, (1, 0)), dA)
    grads["W_hh"] = ops.matmul(ops.transpose(H_prev, (1, 0)), dA)
    grads["b_h"] = ops.sum(dA, 0)
    return loss, {name: grads[name] for name in params}
