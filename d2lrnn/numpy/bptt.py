"""Back-propagation through time, by hand: the reference gradients.

The forward pass is the shared one of :mod:`d2lrnn.rnn`; this file only adds the backward
pass of the language model (d2l.ai, section 9.7 "Backpropagation Through Time").
"""
import numpy as np

from .. import rnn


def lm_loss_and_grads(ops, params, X, Y):
    """Loss and gradients of the mean cross-entropy of the language model.

    X, Y: token ids (n, T). Returns ``(loss, grads)`` with grads keyed by parameter name.
    """
    W_hh, W_hq = params["W_hh"], params["W_hq"]
    n, T = X.shape
    V = W_hq.shape[1]
    dtype = W_hq.dtype
    E = ops.one_hot(X.T, V, dtype)                                  # (T, n, V)
    H0 = np.zeros((n, W_hh.shape[0]), dtype)
    Hs, _ = rnn.rnn_forward(ops, params, E, H0)
    H = np.stack(Hs)                                                # (T, n, h)
    O = H @ W_hq + params["b_q"]                                    # (T, n, V)
    lse = ops.logsumexp(O, 2)
    Yt = Y.T
    picked = np.take_along_axis(O, Yt[..., None], 2)[..., 0]
    loss = np.mean(lse - picked)

    # dLoss/dO_t = (softmax(O_t) - onehot(y_t)) / (n T)
    dO = np.exp(O - lse[..., None])
    np.put_along_axis(dO, Yt[..., None], np.take_along_axis(dO, Yt[..., None], 2) - 1, 2)
    dO /= n * T
    grads = {"W_hq": H.reshape(-1, H.shape[2]).T @ dO.reshape(-1, V),
             "b_q": dO.sum((0, 1))}
    dA = np.empty_like(H)              # dLoss/d(pre-activation) at each step
    dH_next = np.zeros_like(H0)        # what step t+1 sends back to H_t
    for t in reversed(range(T)):
        dH = dO[t] @ W_hq.T + dH_next
        dA[t] = dH * (1 - H[t] ** 2)   # tanh' = 1 - tanh²
        dH_next = dA[t] @ W_hh.T
    H_prev = np.concatenate([H0[None], H[:-1]])
    h = H.shape[2]
    grads["W_xh"] = E.reshape(-1, V).T @ dA.reshape(-1, h)
    grads["W_hh"] = H_prev.reshape(-1, h).T @ dA.reshape(-1, h)
    grads["b_h"] = dA.sum((0, 1))
    return loss, {name: grads[name] for name in params}
