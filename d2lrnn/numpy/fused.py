"""The section's language model, forward and backward fused in one pass: the NumPy
backend's fast path where Numba is installed (``pip install "d2lrnn[numba]"``), and the
package's measure of this machine's limit (``d2lrnn bench`` shows every row as a multiple of
it).

The reference (:mod:`d2lrnn.maths.bptt`) makes whole arrays for every step of the batch and hands
them to BLAS: each product is fast, but the activations of a batch (1024 sequences x 32 steps
x 32 units) leave the cache between the passes. Here LANES (64) sequences go through
together, side by side (the last axis of every array: four vector registers of float32s on
AVX-512): their forward pass keeps H_1..H_T and dLoss/dH_t (from the output layer) in cache, their
backward pass follows at once, and the gradients are added into the thread's own buffers.
Every loop is elementwise across the LANES sequences, so LLVM vectorises all of them,
softmax included, without reordering any sum. The batch is split between the cores at the top
level, groups of LANES sequences per slice, a slice per thread of Numba's pool (``prange``),
which on these small products uses the second core better than a framework's threads inside
each product.

In float32, exp and tanh are polynomials that vectorise (below), and exponentials below
float32's normal range are 0: denormal numbers slow the products that meet them many times
over, and such a term is below the float32 resolution of the gradient anyway. float64 uses
the C library's exp and tanh. The loss is summed in float64.
"""
import numpy as np

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


@numba.njit(**_OPTIONS)
def _forward_step(x, t, W_xh, W_hh, b_h, W_hq, b_q, H, o, tiny):
    """Step t of a group (arrays step-major, a column per sequence: H[step, unit, sequence]):
    H[t + 1] = tanh(x_t W_xh + H[t] W_hh + b_h) (9.4.5); then o[:V] = exp(O_t - max O_t)
    with O_t = H[t + 1] W_hq + b_q (9.4.6), o[V] = max O_t, o[V + 1] = the sum of o[:V]."""
    h, m = H.shape[1], H.shape[2]
    V = W_hq.shape[1]
    for j in range(h):
        for i in range(m):
            H[t + 1, j, i] = W_xh[x[i, t], j] + b_h[j]
    for k in range(h):
        for j in range(h):
            w = W_hh[k, j]
            for i in range(m):
                H[t + 1, j, i] += H[t, k, i] * w
    for j in range(h):
        for i in range(m):
            H[t + 1, j, i] = _tanh(H[t + 1, j, i])
    for v in range(V):
        for i in range(m):
            o[v, i] = b_q[v]
    for k in range(h):
        for v in range(V):
            w = W_hq[k, v]
            for i in range(m):
                o[v, i] += H[t + 1, k, i] * w
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
def _group(x, y, weight, W_xh, W_hh, b_h, W_hq, b_q, scale, tiny, H, dH, o, dA, g_xh, g_hh,
           g_h, g_hq, g_q):
    """Forward and backward of one group of sequences (x, y: (m, T) token ids; ``weight``
    0 for a padding sequence): returns their summed -log p(y_t); adds their gradients
    (times ``scale``) into the g_* buffers, which but W_xh's keep a column per sequence."""
    T, h, m = H.shape[0] - 1, H.shape[1], H.shape[2]
    V = W_hq.shape[1]
    loss = 0.0
    for t in range(T):  # forward, H[0] = 0; the output layer's gradient dO_t at once
        _forward_step(x, t, W_xh, W_hh, b_h, W_hq, b_q, H, o, tiny)
        loss += _step_loss(o, t, y, weight, tiny)
        for i in range(m):  # row V + 1 becomes each sequence's scale / sum
            o[V + 1, i] = scale * weight[i] / o[V + 1, i]
        for v in range(V):  # dLoss/dO_t = (softmax - onehot(y_t)) / (n T)
            for i in range(m):
                o[v, i] *= o[V + 1, i]
        for i in range(m):
            o[y[i, t], i] -= scale * weight[i]
        for v in range(V):
            for i in range(m):
                g_q[v, i] += o[v, i]
        for j in range(h):  # what H[t + 1] receives from O_t
            for i in range(m):
                dH[t, j, i] = 0.0
            for v in range(V):
                w = W_hq[j, v]
                for i in range(m):
                    dH[t, j, i] += o[v, i] * w
        for k in range(h):  # dW_hq += H[t + 1]^T dO_t
            for v in range(V):
                for i in range(m):
                    g_hq[k, v, i] += H[t + 1, k, i] * o[v, i]
    for t in range(T - 1, -1, -1):  # backward through time
        for j in range(h):  # dH[t]: all that H[t + 1] receives, from O_t and step t + 1
            for i in range(m):
                dA[j, i] = dH[t, j, i] * (1.0 - H[t + 1, j, i] * H[t + 1, j, i])
                g_h[j, i] += dA[j, i]
        for i in range(m):
            for j in range(h):
                g_xh[x[i, t], j] += dA[j, i]
        for k in range(h):  # dW_hh += H[t]^T dA_t
            for j in range(h):
                for i in range(m):
                    g_hh[k, j, i] += H[t, k, i] * dA[j, i]
        if t > 0:  # H[t] receives dA_t W_hh^T (H[0] is not learnt)
            for k in range(h):
                for j in range(h):
                    w = W_hh[k, j]
                    for i in range(m):
                        dH[t - 1, k, i] += dA[j, i] * w
    return loss


def _groups(n, slices):
    """The groups of LANES sequences of each slice: slice p takes groups[p]:groups[p+1]."""
    groups = -(-n // LANES)
    return np.array([p * groups // slices for p in range(slices + 1)], dtype=np.int64)


@numba.njit(parallel=True, **_OPTIONS)
def _loss_and_grads(X, Y, weight, W_xh, W_hh, b_h, W_hq, b_q, bounds, tiny, scale):
    T, m = X.shape[2], weight.shape[1]
    V, h = W_xh.shape
    dtype = W_xh.dtype
    threads = bounds.shape[0] - 1
    # each thread's own gradients (separate arrays: no false sharing between the cores);
    # all but W_xh's keep a column per sequence of a group, summed at the end
    g_xh = np.zeros((threads, V, h), dtype)
    g_hh = np.zeros((threads, h, h, m), dtype)
    g_h = np.zeros((threads, h, m), dtype)
    g_hq = np.zeros((threads, h, V, m), dtype)
    g_q = np.zeros((threads, V, m), dtype)
    losses = np.zeros(threads)
    for p in numba.prange(threads):
        H = np.zeros((T + 1, h, m), dtype)
        dH = np.empty((T, h, m), dtype)
        o, dA = np.empty((V + 2, m), dtype), np.empty((h, m), dtype)
        for g in range(bounds[p], bounds[p + 1]):
            losses[p] += _group(X[g], Y[g], weight[g], W_xh, W_hh, b_h, W_hq, b_q, scale,
                                tiny, H, dH, o, dA, g_xh[p], g_hh[p], g_h[p], g_hq[p],
                                g_q[p])
    return (losses.sum(), g_xh.sum(0), g_hh.sum(0).sum(-1), g_h.sum(0).sum(-1),
            g_hq.sum(0).sum(-1), g_q.sum(0).sum(-1))


@numba.njit(parallel=True, **_OPTIONS)
def _loss(X, Y, weight, W_xh, W_hh, b_h, W_hq, b_q, bounds, tiny):
    T, h, m = X.shape[2], W_hh.shape[0], weight.shape[1]
    V = W_hq.shape[1]
    threads = bounds.shape[0] - 1
    losses = np.zeros(threads)
    for p in numba.prange(threads):
        H = np.zeros((T + 1, h, m), W_xh.dtype)
        o = np.empty((V + 2, m), W_xh.dtype)
        for g in range(bounds[p], bounds[p + 1]):
            for t in range(T):
                _forward_step(X[g], t, W_xh, W_hh, b_h, W_hq, b_q, H, o, tiny)
                losses[p] += _step_loss(o, t, Y[g], weight[g], tiny)
    return losses.sum()


def slices():
    """How many slices the kernels split a batch into, each with gradient buffers of its own:
    one per thread of Numba's pool (NUMBA_NUM_THREADS: every core by default), fixed for the
    process. However many of those threads compute them (:func:`threads`), the slices and
    the order of their sums stay: the numbers do not depend on how busy the machine is."""
    return numba.config.NUMBA_NUM_THREADS


def threads():
    """How many threads compute the slices now (numba.set_num_threads chooses; d2lrnn train
    follows the cores no other process is using)."""
    return numba.get_num_threads()


def _arrays(params, X, Y):
    """The kernels' arguments: X and Y as groups of LANES sequences (padded with weight-0
    sequences to a whole group), the parameters contiguous and of one dtype."""
    names = ("W_xh", "W_hh", "b_h", "W_hq", "b_q")
    weights = [np.ascontiguousarray(params[k]) for k in names]
    dtype = weights[0].dtype
    if any(w.dtype != dtype for w in weights):
        raise BadType(f"the fused kernel takes parameters of one dtype, got "
                        f"{sorted({str(w.dtype) for w in weights})}")
    X, Y = np.asarray(X, np.int64), np.asarray(Y, np.int64)
    n, T = X.shape
    groups = -(-n // LANES)
    pad = ((0, groups * LANES - n), (0, 0))
    keep = np.zeros(groups * LANES, dtype)
    keep[:n] = 1
    return (np.pad(X, pad).reshape(groups, LANES, T), np.pad(Y, pad).reshape(groups, LANES, T),
            keep.reshape(groups, LANES), *weights)


def loss_and_grads(params, X, Y):
    """The language model's mean cross-entropy on token ids X, Y (n, T) from H_0 = 0 and its
    gradient for every parameter: the numbers of :func:`d2lrnn.maths.bptt.lm_loss_and_grads`, in
    one fused pass."""
    arrays = _arrays(params, X, Y)
    dtype = arrays[3].dtype
    scale = dtype.type(1.0 / np.size(X))  # the mean over n T tokens, in the parameters' dtype
    bounds = _groups(len(X), slices())
    loss, *grads = _loss_and_grads(*arrays, bounds, _TINY_EXPONENT[dtype], scale)
    return np.asarray(loss / np.size(X), dtype), dict(zip(("W_xh", "W_hh", "b_h", "W_hq",
                                                          "b_q"), grads))


def loss(params, X, Y):
    """The mean cross-entropy alone (validation), fused likewise."""
    arrays = _arrays(params, X, Y)
    dtype = arrays[3].dtype
    total = _loss(*arrays, _groups(len(X), slices()), _TINY_EXPONENT[dtype])
    return np.asarray(total / np.size(X), dtype)
