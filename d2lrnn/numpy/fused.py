"""A language model on one recurrent layer, forward and backward fused in one pass: the NumPy
backend's fast path where Numba is installed (the ``numba`` extra:
``d2lrnn.base.install.pip_install("numba")`` says how, for your copy of d2lrnn) for the RNN
(9.4), the GRU (10.2, the reset before or after the product) and the LSTM (10.1), and the
package's measure of this machine's limit (``d2lrnn bench`` shows every row as a multiple of
the RNN's).

The reference (:mod:`d2lrnn.maths.bptt`, :mod:`d2lrnn.cells.network`) makes whole arrays for
every step of the batch and hands them to BLAS: each product is fast, but the activations of
a batch (1024 sequences x 32 steps x 32 units) leave the cache between the passes. Here LANES
(64) sequences go through together, side by side (the last axis of every array: four vector
registers of float32s on AVX-512): their forward pass keeps the states, the gates and
dLoss/dH_t (from the output layer) in cache, their backward pass follows at once, and the
gradients are added into the thread's own buffers. Every loop is elementwise across the
LANES sequences, so LLVM vectorises all of them, softmax and the gates included, without
reordering any sum. The batch is split between the cores at the top level, groups of LANES
sequences per slice, the slices on Python threads that the compiled code runs on without the
GIL, which on these small products uses the second core better than a framework's threads
inside each product. (Numba's ``prange`` did the same as fast, but its parallel compilation
took 25 s of a first run's 38 s on a 2-core machine; this compiles in 9.)

The cells share everything but their step (:func:`_recurrent_forward`,
:func:`_recurrent_backward`: a branch per cell, taken once a step): one kernel compiled once,
whose parameters are packed gate by gate, its cells known by ``FUSED_CELL_CODES``. The RNN's
step in it measured as fast as the RNN's own kernel before it (9.5 against 9.8 ms, book
settings, float32); the GRU's took 19.7 ms and the LSTM's 26.2.

In float32, exp and tanh are polynomials that vectorise (below), and exponentials below
float32's normal range are 0: denormal numbers slow the products that meet them many times
over, and such a term is below the float32 resolution of the gradient anyway. float64 uses
the C library's exp and tanh. The loss is summed in float64.
"""
import functools
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..base.adapter.kernels import FUSED_CELL_CODES
from ..base.backend import import_framework
from ..base.errors import BadType

numba = import_framework("numba", "numba")
import_framework("numba.extending", "numba")

LANES = 64  # sequences side by side (four AVX-512 registers of float32)
_OPTIONS = {"nogil": True, "cache": True, "error_model": "numpy"}
# exp(z) for z below this is denormal in float32 (float64's limit is far below any logit)
_TINY_EXPONENT = {np.dtype(np.float32): -87.0, np.dtype(np.float64): -708.0}


# float32 exp and tanh as polynomials (Cephes' coefficients, within about 1.4 ulp), written
# so that LLVM vectorises the loops that call them: the C library's expf and tanhf are called
# one number at a time, and a batch needs about two million of each per step. float64 keeps
# the C library's (the float32 bound is what speed is for).
_LOG2E, _LN2_HI, _LN2_LO = np.float32(1.44269504088896341), np.float32(0.693359375), \
    np.float32(-2.12194440e-4)
_EXP_P = tuple(np.float32(c) for c in (1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3,
                                       4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1))
_TANH_P = tuple(np.float32(c) for c in (-5.70498872745e-3, 2.06390887954e-2,
                                        -5.37397155531e-2, 1.33314422036e-1,
                                        -3.33332819422e-1))


@numba.njit(**_OPTIONS)
def exp32(x):
    """exp of a float32 at most 88.7; 0 below -87.3 (denormal results: see above)."""
    x = max(x, np.float32(-87.3))
    k = np.floor(x * _LOG2E + np.float32(0.5))
    r = x - k * _LN2_HI - k * _LN2_LO
    p = _EXP_P[0]
    for c in _EXP_P[1:]:
        p = p * r + c
    y = p * r * r + r + np.float32(1.0)
    scaled = y * np.int32((np.int32(k) + 127) << 23).view(np.float32)  # y 2^k
    return scaled if x > np.float32(-87.3) else np.float32(0.0)


@numba.njit(**_OPTIONS)
def tanh32(x):
    """tanh of a float32: a polynomial below 0.625, 1 - 2 / (exp(2|x|) + 1) above."""
    z = x * x
    p = _TANH_P[0]
    for c in _TANH_P[1:]:
        p = p * z + c
    small = p * z * x + x
    big = np.float32(1.0) - np.float32(2.0) / (exp32(min(np.float32(2.0) * abs(x),
                                                         np.float32(88.0))) + np.float32(1.0))
    return small if abs(x) < np.float32(0.625) else (big if x > 0 else -big)


def _tanh(x):
    """tanh32 for float32, the C library's tanh for float64 (chosen as Numba compiles)."""


def _exp(x):
    """exp32 for float32, the C library's exp for float64."""


@numba.extending.overload(_tanh)
def _tanh_of(x):
    return (lambda x: tanh32(x)) if x == numba.float32 else (lambda x: np.tanh(x))


@numba.extending.overload(_exp)
def _exp_of(x):
    return (lambda x: exp32(x)) if x == numba.float32 else (lambda x: np.exp(x))


def _one(x):
    """1 in the dtype of ``x`` (float32 arithmetic stays float32)."""


@numba.extending.overload(_one)
def _one_of(x):
    return (lambda x: np.float32(1.0)) if x == numba.float32 else (lambda x: 1.0)


@numba.njit(**_OPTIONS)
def _sigmoid(x):
    """1 / (1 + exp(-x)) from exp(-|x|): no overflow on either side."""
    one = _one(x)
    e = _exp(-abs(x))
    return one / (one + e) if x >= 0 else e / (one + e)


# The cells' codes (one table for every backend's kernel), as the steps below branch on
# them. The parameters are packed gate by gate in cuDNN's order (``Cell.cudnn_gates``): gate
# g has Wx[g] (V, h), looked up by token, Wh[g] (h, h), b[g].
RNN, GRU_BEFORE, GRU_AFTER, LSTM = (FUSED_CELL_CODES[key] for key in
                                    ("rnn", "gru-before", "gru-after", "lstm"))


# Products of a unit-by-sequence array (a column per sequence) and a weight matrix: the
# innermost loop runs across the LANES sequences, which LLVM vectorises.
@numba.njit(**_OPTIONS)
def _product(P, W, out):
    """out[j, i] += sum_k P[k, i] W[k, j]: (P^T W)^T, sequence by sequence."""
    for k in range(P.shape[0]):
        for j in range(W.shape[1]):
            w = W[k, j]
            for i in range(P.shape[1]):
                out[j, i] += P[k, i] * w


@numba.njit(**_OPTIONS)
def _product_t(D, W, out):
    """out[k, i] += sum_j D[j, i] W[k, j]: what the input of a product receives from its
    output's gradient D (D W^T, sequence by sequence)."""
    for k in range(W.shape[0]):
        for j in range(W.shape[1]):
            w = W[k, j]
            for i in range(D.shape[1]):
                out[k, i] += D[j, i] * w


@numba.njit(**_OPTIONS)
def _outer(P, D, out):
    """out[k, j, i] += P[k, i] D[j, i]: a weight's gradient P^T D, kept a column per
    sequence (summed once at the end, not at every step)."""
    for k in range(P.shape[0]):
        for j in range(D.shape[0]):
            for i in range(P.shape[1]):
                out[k, j, i] += P[k, i] * D[j, i]


@numba.njit(**_OPTIONS)
def _recurrent_forward(kind, x, t, Wx, Wh, b, b_hh, H, E, A):
    """Step t of a group (arrays step-major, a column per sequence: H[step, unit, sequence]):
    A[t, g] each gate's activation, H[t + 1] the new state; E[t + 1] what the backward step
    needs beside them: the LSTM's memory C_t, or the GRU's inner term (R_t ⊙ H_{t-1} where
    the reset comes before the product, H_{t-1} W_hh + b_hh where it comes after)."""
    G, h, m = A.shape[1], H.shape[1], H.shape[2]
    one = _one(H[0, 0, 0])
    for g in range(G):  # each gate's input term X_t W_x + b, looked up
        for j in range(h):
            for i in range(m):
                A[t, g, j, i] = Wx[g, x[i, t], j] + b[g, j]
    gru = kind == GRU_BEFORE or kind == GRU_AFTER
    for g in range(G - 1 if gru else G):  # the gates whose product takes H_{t-1} as it is
        _product(H[t], Wh[g], A[t, g])
    if kind == RNN:  # (9.4.5)
        for j in range(h):
            for i in range(m):
                H[t + 1, j, i] = A[t, 0, j, i] = _tanh(A[t, 0, j, i])
    elif kind == LSTM:  # (10.1)
        for j in range(h):
            for i in range(m):
                I, F = _sigmoid(A[t, 0, j, i]), _sigmoid(A[t, 1, j, i])
                C_tilde, O = _tanh(A[t, 2, j, i]), _sigmoid(A[t, 3, j, i])
                A[t, 0, j, i], A[t, 1, j, i], A[t, 2, j, i], A[t, 3, j, i] = I, F, C_tilde, O
                E[t + 1, j, i] = F * E[t, j, i] + I * C_tilde
                H[t + 1, j, i] = O * _tanh(E[t + 1, j, i])
    else:  # (10.2)
        for g in range(2):
            for j in range(h):
                for i in range(m):
                    A[t, g, j, i] = _sigmoid(A[t, g, j, i])
        if kind == GRU_BEFORE:
            for j in range(h):
                for i in range(m):
                    E[t + 1, j, i] = A[t, 0, j, i] * H[t, j, i]
            _product(E[t + 1], Wh[2], A[t, 2])
        else:
            for j in range(h):
                for i in range(m):
                    E[t + 1, j, i] = b_hh[j]
            _product(H[t], Wh[2], E[t + 1])
            for j in range(h):
                for i in range(m):
                    A[t, 2, j, i] += A[t, 0, j, i] * E[t + 1, j, i]
        for j in range(h):
            for i in range(m):
                H_tilde = A[t, 2, j, i] = _tanh(A[t, 2, j, i])
                Z = A[t, 1, j, i]
                H[t + 1, j, i] = Z * H[t, j, i] + (one - Z) * H_tilde


@numba.njit(**_OPTIONS)
def _recurrent_backward(kind, x, t, Wh, H, E, A, dH, dC, dA, dI, g_x, g_h, g_b, g_bhh):
    """Back through step t of a group: from dH[t] (all that H[t + 1] receives) and dC (what
    the LSTM's C_t receives from step t + 1, then C_{t-1}'s), the gradient of each gate's
    pre-activation (dA) and of the GRU's inner term (dI); adds the parameters' gradients
    into the g_* buffers and what H[t] receives into dH[t - 1]."""
    G, h, m = A.shape[1], H.shape[1], H.shape[2]
    one = _one(H[0, 0, 0])
    gru = kind == GRU_BEFORE or kind == GRU_AFTER
    if kind == RNN:  # tanh' = 1 - tanh²
        for j in range(h):
            for i in range(m):
                dA[0, j, i] = dH[t, j, i] * (one - H[t + 1, j, i] * H[t + 1, j, i])
    elif kind == LSTM:
        for j in range(h):
            for i in range(m):
                I, F, C_tilde, O = A[t, 0, j, i], A[t, 1, j, i], A[t, 2, j, i], A[t, 3, j, i]
                tanh_C, dH_t = _tanh(E[t + 1, j, i]), dH[t, j, i]
                dC_t = dC[j, i] + dH_t * O * (one - tanh_C * tanh_C)
                dA[0, j, i] = dC_t * C_tilde * I * (one - I)
                dA[1, j, i] = dC_t * E[t, j, i] * F * (one - F)
                dA[2, j, i] = dC_t * I * (one - C_tilde * C_tilde)
                dA[3, j, i] = dH_t * tanh_C * O * (one - O)
                dC[j, i] = dC_t * F
    else:
        for j in range(h):
            for i in range(m):
                Z, H_tilde, dH_t = A[t, 1, j, i], A[t, 2, j, i], dH[t, j, i]
                dA[1, j, i] = dH_t * (H[t, j, i] - H_tilde) * Z * (one - Z)
                dA[2, j, i] = dH_t * (one - Z) * (one - H_tilde * H_tilde)
        if kind == GRU_BEFORE:  # dI = dA_h W_hh^T reaches R ⊙ H_{t-1}
            dI[:] = 0
            _product_t(dA[2], Wh[2], dI)
            for j in range(h):
                for i in range(m):
                    R = A[t, 0, j, i]
                    dA[0, j, i] = dI[j, i] * H[t, j, i] * R * (one - R)
        else:  # dI = dA_h ⊙ R reaches H_{t-1} W_hh + b_hh
            for j in range(h):
                for i in range(m):
                    R = A[t, 0, j, i]
                    dI[j, i] = dA[2, j, i] * R
                    dA[0, j, i] = dA[2, j, i] * E[t + 1, j, i] * R * (one - R)
                    g_bhh[j, i] += dI[j, i]
    for i in range(m):  # the input weights' rows of this step's tokens
        for g in range(G):
            for j in range(h):
                g_x[g, x[i, t], j] += dA[g, j, i]
    for g in range(G):
        for j in range(h):
            for i in range(m):
                g_b[g, j, i] += dA[g, j, i]
    if t == 0:  # H[0] = 0: no recurrent weight's gradient, nothing to send further back
        return
    direct = G - 1 if gru else G
    for g in range(direct):
        _outer(H[t], dA[g], g_h[g])
        _product_t(dA[g], Wh[g], dH[t - 1])
    if gru:
        for j in range(h):
            for i in range(m):
                dH[t - 1, j, i] += dH[t, j, i] * A[t, 1, j, i]  # through Z ⊙ H_{t-1}
        if kind == GRU_BEFORE:
            _outer(E[t + 1], dA[2], g_h[2])
            for j in range(h):
                for i in range(m):
                    dH[t - 1, j, i] += dI[j, i] * A[t, 0, j, i]
        else:
            _outer(H[t], dI, g_h[2])
            _product_t(dI, Wh[2], dH[t - 1])


@numba.njit(**_OPTIONS)
def _output_forward(H_t, W_hq, b_q, o, tiny):
    """The output layer at one step (9.4.6): o[:V] = exp(O_t - max O_t) with
    O_t = H_t W_hq + b_q, o[V] = max O_t, o[V + 1] = the sum of o[:V]."""
    V, m = W_hq.shape[1], o.shape[1]
    for v in range(V):
        for i in range(m):
            o[v, i] = b_q[v]
    _product(H_t, W_hq, o)
    for i in range(m):
        o[V, i] = o[0, i]
        o[V + 1, i] = 0.0
    for v in range(1, V):
        for i in range(m):
            o[V, i] = max(o[V, i], o[v, i])
    for v in range(V):
        for i in range(m):
            z = o[v, i] - o[V, i]
            o[v, i] = _exp(z) if z > tiny else 0.0
            o[V + 1, i] += o[v, i]


@numba.njit(**_OPTIONS)
def _step_loss(o, t, y, weight, tiny):
    """Step t's summed -log p(y_t) over a group: the log of the product of the sums of
    exponentials (each in [1, V]: the product of 64 is far from overflowing a float64) minus
    the targets' log terms."""
    V = o.shape[0] - 2
    product, picked = 1.0, 0.0
    for i in range(o.shape[1]):
        if weight[i]:
            product *= o[V + 1, i]
            e = o[y[i, t], i]  # exp(O_y - max O)
            picked += np.log(e) if e > 0 else tiny
    return np.log(product) - picked


@numba.njit(**_OPTIONS)
def _output_backward(o, t, y, weight, scale, W_hq, H_t, dH_t, g_hq, g_q):
    """From the output layer's exponentials at step t: dLoss/dO_t = (softmax - onehot(y_t))
    scale; adds W_hq's and b_q's gradients; dH_t = what H_t receives from O_t."""
    V, m = W_hq.shape[1], o.shape[1]
    for i in range(m):  # row V + 1 becomes each sequence's scale / sum
        o[V + 1, i] = scale * weight[i] / o[V + 1, i]
    for v in range(V):
        for i in range(m):
            o[v, i] *= o[V + 1, i]
    for i in range(m):
        o[y[i, t], i] -= scale * weight[i]
    for v in range(V):
        for i in range(m):
            g_q[v, i] += o[v, i]
    dH_t[:] = 0
    _product_t(o[:V], W_hq, dH_t)
    _outer(H_t, o[:V], g_hq)


@numba.njit(**_OPTIONS)
def _group(kind, x, y, weight, Wx, Wh, b, b_hh, W_hq, b_q, scale, tiny, H, E, A, o, dH, dC,
           dA, dI, g_x, g_h, g_b, g_bhh, g_hq, g_q):
    """Forward and backward of one group of sequences (x, y: (m, T) token ids; ``weight``
    0 for a padding sequence): returns their summed -log p(y_t); adds their gradients
    (times ``scale``) into the g_* buffers, which but the input weights' keep a column per
    sequence."""
    T = H.shape[0] - 1
    loss = 0.0
    for t in range(T):  # forward from zero states; the output layer's gradient at once
        _recurrent_forward(kind, x, t, Wx, Wh, b, b_hh, H, E, A)
        _output_forward(H[t + 1], W_hq, b_q, o, tiny)
        loss += _step_loss(o, t, y, weight, tiny)
        _output_backward(o, t, y, weight, scale, W_hq, H[t + 1], dH[t], g_hq, g_q)
    dC[:] = 0
    for t in range(T - 1, -1, -1):  # backward through time
        _recurrent_backward(kind, x, t, Wh, H, E, A, dH, dC, dA, dI, g_x, g_h, g_b, g_bhh)
    return loss


def _groups(n, slices):
    """The groups of LANES sequences of each slice: slice p takes groups[p]:groups[p+1]."""
    groups = -(-n // LANES)
    return np.array([p * groups // slices for p in range(slices + 1)], dtype=np.int64)


@numba.njit(**_OPTIONS)
def _slice_loss_and_grads(kind, X, Y, weight, Wx, Wh, b, b_hh, W_hq, b_q, first, stop, tiny,
                          scale, g_x, g_h, g_b, g_bhh, g_hq, g_q):
    """Groups first:stop, one after the other, with working arrays of their own: their summed
    loss; their gradients added into the slice's g_* buffers."""
    T, m = X.shape[2], weight.shape[1]
    G, V, h = Wx.shape
    dtype = Wx.dtype
    H, E = np.zeros((T + 1, h, m), dtype), np.zeros((T + 1, h, m), dtype)
    A, dH = np.empty((T, G, h, m), dtype), np.empty((T, h, m), dtype)
    o, dC, dI = np.empty((V + 2, m), dtype), np.empty((h, m), dtype), np.empty((h, m), dtype)
    dA = np.empty((G, h, m), dtype)
    loss = 0.0
    for g in range(first, stop):
        loss += _group(kind, X[g], Y[g], weight[g], Wx, Wh, b, b_hh, W_hq, b_q, scale, tiny, H,
                       E, A, o, dH, dC, dA, dI, g_x, g_h, g_b, g_bhh, g_hq, g_q)
    return loss


@numba.njit(**_OPTIONS)
def _slice_loss(kind, X, Y, weight, Wx, Wh, b, b_hh, W_hq, b_q, first, stop, tiny):
    """The summed loss of groups first:stop, forward only."""
    T, m = X.shape[2], weight.shape[1]
    G, V, h = Wx.shape
    dtype = Wx.dtype
    H, E = np.zeros((T + 1, h, m), dtype), np.zeros((T + 1, h, m), dtype)
    A, o = np.empty((T, G, h, m), dtype), np.empty((V + 2, m), dtype)
    loss = 0.0
    for g in range(first, stop):
        for t in range(T):
            _recurrent_forward(kind, X[g], t, Wx, Wh, b, b_hh, H, E, A)
            _output_forward(H[t + 1], W_hq, b_q, o, tiny)
            loss += _step_loss(o, t, Y[g], weight[g], tiny)
    return loss


def _on_threads(work, count):
    """``work(p)`` for p in range(count), on :func:`threads` threads at a time (the kernels
    release the GIL): thread k takes p = k, k + threads, ...; the calling thread is one of
    them. Returns the results in order of p."""
    workers = max(1, min(threads(), count))
    if workers == 1:
        return [work(p) for p in range(count)]
    results = [None] * count

    def run(k):
        for p in range(k, count, workers):
            results[p] = work(p)

    futures = [_pool().submit(run, k) for k in range(1, workers)]
    try:
        run(0)
    finally:  # the others finish before their buffers are dropped, or their error is raised
        for future in futures:
            future.result()
    return results


@functools.cache
def _pool():
    """The threads the slices run on besides the caller's (made once, at first need)."""
    return ThreadPoolExecutor(max_workers=max(1, slices() - 1),
                              thread_name_prefix="d2lrnn-fused")


def _loss_and_grads(kind, X, Y, weight, Wx, Wh, b, b_hh, W_hq, b_q, bounds, tiny, scale):
    m = weight.shape[1]
    G, V, h = Wx.shape
    dtype = Wx.dtype
    count = bounds.shape[0] - 1
    # each slice's own gradients (separate arrays: no false sharing between the cores);
    # all but the input weights' keep a column per sequence of a group, summed at the end
    g_x, g_h, g_b, g_bhh, g_hq, g_q = (_zeros((count, *shape), dtype) for shape in (
        (G, V, h), (G, h, h, m), (G, h, m), (h, m), (h, V, m), (V, m)))
    losses = _on_threads(lambda p: _slice_loss_and_grads(
        kind, X, Y, weight, Wx, Wh, b, b_hh, W_hq, b_q, bounds[p], bounds[p + 1], tiny, scale,
        g_x[p], g_h[p], g_b[p], g_bhh[p], g_hq[p], g_q[p]), count)
    return (sum(losses), g_x.sum(0), g_h.sum(0).sum(-1), g_b.sum(0).sum(-1),
            g_bhh.sum(0).sum(-1), g_hq.sum(0).sum(-1), g_q.sum(0).sum(-1))


def _zeros(shape, dtype):
    """Zeros written here, not zero pages mapped lazily (np.zeros): the slices' threads would
    otherwise take their page faults in the kernel, contending for the process's memory map."""
    array = np.empty(shape, dtype)
    array.fill(0)
    return array


def _loss(kind, X, Y, weight, Wx, Wh, b, b_hh, W_hq, b_q, bounds, tiny):
    return sum(_on_threads(lambda p: _slice_loss(kind, X, Y, weight, Wx, Wh, b, b_hh, W_hq, b_q,
                                                 bounds[p], bounds[p + 1], tiny),
                           bounds.shape[0] - 1))


def slices():
    """How many slices the kernels split a batch into, each with gradient buffers of its own:
    one per core (NUMBA_NUM_THREADS, which is every core unless set), fixed for the process.
    However many threads compute them (:func:`threads`), the slices and the order of their
    sums stay: the numbers do not depend on how busy the machine is."""
    return numba.config.NUMBA_NUM_THREADS


_threads = []  # set_threads' choice; none: one per slice


def threads():
    """How many threads compute the slices now (:func:`set_threads`; d2lrnn train follows
    the cores no other process is using)."""
    return _threads[-1] if _threads else slices()


def set_threads(count):
    """Compute the slices on ``count`` threads (1 to :func:`slices`)."""
    if not 1 <= count <= slices():
        raise ValueError(f"the fused kernel runs on 1 to {slices()} threads, not {count}")
    _threads[:] = [count]


def _arrays(cell, params, X, Y):
    """The kernels' arguments: the cell's code, X and Y as groups of LANES sequences (padded
    with weight-0 sequences to a whole group), the parameters packed gate by gate, contiguous
    and of one dtype."""
    if cell.key not in FUSED_CELL_CODES:
        raise BadType(f"the fused kernel computes the cells {sorted(FUSED_CELL_CODES)}, not "
                      f"{cell.key!r}")
    kind, gates = FUSED_CELL_CODES[cell.key], cell.cudnn_gates
    dtypes = {np.asarray(value).dtype for value in params.values()}
    if len(dtypes) > 1:
        raise BadType(f"the fused kernel takes parameters of one dtype, got "
                      f"{sorted(str(d) for d in dtypes)}")
    dtype, = dtypes
    Wx, Wh, b = (np.stack([params[f"{prefix}{g}"] for g in gates])
                 for prefix in ("W_x", "W_h", "b_"))
    b_hh = np.ascontiguousarray(params["b_hh"] if kind == GRU_AFTER else np.zeros(
        Wh.shape[-1], dtype))
    X, Y = np.asarray(X, np.int64), np.asarray(Y, np.int64)
    n, T = X.shape
    groups = -(-n // LANES)
    pad = ((0, groups * LANES - n), (0, 0))
    keep = np.zeros(groups * LANES, dtype)
    keep[:n] = 1
    return (kind, np.pad(X, pad).reshape(groups, LANES, T),
            np.pad(Y, pad).reshape(groups, LANES, T), keep.reshape(groups, LANES), Wx, Wh, b,
            b_hh, np.ascontiguousarray(params["W_hq"]), np.ascontiguousarray(params["b_q"]))


def loss_and_grads(params, X, Y, cell):
    """The language model on ``cell`` (a :class:`~d2lrnn.cells.Cell` of ``FUSED_CELL_CODES``' keys):
    its mean cross-entropy on token ids X, Y (n, T) from zero states and its gradient for
    every parameter, the numbers of :func:`d2lrnn.cells.network.lm_loss_and_grads` (and of
    :func:`d2lrnn.maths.bptt.lm_loss_and_grads` for the RNN), in one fused pass."""
    arrays = _arrays(cell, params, X, Y)
    dtype = arrays[4].dtype
    scale = dtype.type(1.0 / np.size(X))  # the mean over n T tokens, in the parameters' dtype
    bounds = _groups(len(X), slices())
    loss, g_x, g_h, g_b, g_bhh, g_hq, g_q = _loss_and_grads(*arrays, bounds,
                                                           _TINY_EXPONENT[dtype], scale)
    grads = {"W_hq": g_hq, "b_q": g_q, "b_hh": g_bhh}
    for index, g in enumerate(cell.cudnn_gates):
        grads.update({f"W_x{g}": g_x[index], f"W_h{g}": g_h[index], f"b_{g}": g_b[index]})
    return np.asarray(loss / np.size(X), dtype), {name: grads[name] for name in params}


def loss(params, X, Y, cell):
    """The mean cross-entropy alone (validation), fused likewise."""
    arrays = _arrays(cell, params, X, Y)
    dtype = arrays[4].dtype
    total = _loss(*arrays, _groups(len(X), slices()), _TINY_EXPONENT[dtype])
    return np.asarray(total / np.size(X), dtype)
