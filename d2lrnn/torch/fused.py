"""PyTorch's fast path for the section's model: the hand-written backward pass (the numbers of
:mod:`d2lrnn.maths.bptt`) in TorchScript, the batch split into one part per core run in parallel
(``torch.jit.fork``), each part on one thread.

Measured on this project's 2-core machine (book settings, float32, one step; these timings
move by 20% between runs): the backward pass written against the array adapter in eager
PyTorch took 14.4 ms with PyTorch's two intra-op threads; in TorchScript 13.1 ms on one thread
(no Python between the operations, buffers filled in place); split in two halves forked on
two threads, each with one intra-op thread, 7.3 to 8.5 ms; the same halves with PyTorch's two
intra-op threads each, 10.8 to 12.5 ms (four threads on two cores). So ``d2lrnn train``, which
owns its process, sets PyTorch's intra-op threads to 1 (``TorchOps.choose_threads``); a reader's
``fit(fast=True)`` leaves them as they are. Changing them back and forth around every step
made the process abort at exit now and then ("terminate called without an active
exception"): they are set once, never toggled. ``torch.compile`` fused more but took about
45 s to compile.
"""
from typing import List

import torch
import torch.nn.functional as F

from ..base.adapter.devices import usable_cores

Tensor = torch.Tensor


@torch.jit.script
def _lm_grads(X: Tensor, Y: Tensor, W_xh: Tensor, W_hh: Tensor, b_h: Tensor, W_hq: Tensor,
              b_q: Tensor, scale: float) -> List[Tensor]:
    """Summed loss times ``scale`` and the gradients (times ``scale``) of a batch's part."""
    n, T = X.shape[0], X.shape[1]
    h = W_hh.shape[0]
    Xt, Yt = X.t().contiguous(), Y.t().contiguous()
    P = F.embedding(Xt, W_xh) + b_h  # X_t W_xh + b_h for every step: a lookup
    H = torch.empty(T + 1, n, h, dtype=W_hh.dtype, device=W_hh.device)
    H[0].zero_()
    for t in range(T):  # (9.4.5)
        torch.tanh(torch.addmm(P[t], H[t], W_hh), out=H[t + 1])
    Hs = H[1:].reshape(-1, h)
    log_p = torch.log_softmax(torch.addmm(b_q, Hs, W_hq), -1)  # (9.4.6)
    y = Yt.reshape(-1, 1)
    loss = -log_p.gather(1, y).sum() * scale
    dO = log_p.exp_()  # dLoss/dO = (softmax - onehot(y)) * scale
    dO.scatter_add_(1, y, torch.full_like(y, -1, dtype=dO.dtype))
    dO.mul_(scale)
    g_hq, g_q = Hs.t().mm(dO), dO.sum(0)
    dH = dO.mm(W_hq.t()).view(T, n, h)  # what O_t sends to H_t
    dA = torch.empty(T, n, h, dtype=W_hh.dtype, device=W_hh.device)
    one_minus = 1 - H[1:] * H[1:]  # tanh'
    W_hhT = W_hh.t().contiguous()
    carry = torch.zeros(n, h, dtype=W_hh.dtype, device=W_hh.device)
    for t in range(T - 1, -1, -1):  # back through time: H_{t-1} receives dA_t W_hh^T
        torch.mul(dH[t] + carry, one_minus[t], out=dA[t])
        carry = dA[t].mm(W_hhT)
    dA2 = dA.view(-1, h)
    g_xh = torch.zeros(W_xh.shape[0], h, dtype=W_hh.dtype,
                       device=W_hh.device).index_add_(0, Xt.reshape(-1), dA2)
    g_hh = H[:-1].reshape(-1, h).t().mm(dA2)  # H_0 = 0 adds nothing
    return [loss, g_xh, g_hh, dA2.sum(0), g_hq, g_q]


@torch.jit.script
def _lm_loss(X: Tensor, Y: Tensor, W_xh: Tensor, W_hh: Tensor, b_h: Tensor, W_hq: Tensor,
             b_q: Tensor) -> Tensor:
    """The summed loss of a batch's part (the forward pass alone)."""
    Xt = X.t()
    P = F.embedding(Xt, W_xh) + b_h
    H = torch.zeros(X.shape[0], W_hh.shape[0], dtype=W_hh.dtype, device=W_hh.device)
    total = torch.zeros((), dtype=torch.float64, device=W_hh.device)
    for t in range(X.shape[1]):
        H = torch.tanh(torch.addmm(P[t], H, W_hh))
        log_p = torch.log_softmax(torch.addmm(b_q, H, W_hq), -1)
        total -= log_p.gather(1, Y[:, t:t + 1]).sum().double()
    return total


@torch.jit.script
def _split_grads(X: Tensor, Y: Tensor, W_xh: Tensor, W_hh: Tensor, b_h: Tensor,
                 W_hq: Tensor, b_q: Tensor, parts: int) -> List[Tensor]:
    scale = 1.0 / (X.shape[0] * X.shape[1])
    futures = [torch.jit.fork(_lm_grads, x, y, W_xh, W_hh, b_h, W_hq, b_q, scale)
               for x, y in zip(X.chunk(parts), Y.chunk(parts))]
    out = torch.jit.wait(futures[0])
    for future in futures[1:]:
        out = [a + b for a, b in zip(out, torch.jit.wait(future))]
    return out


@torch.jit.script
def _split_loss(X: Tensor, Y: Tensor, W_xh: Tensor, W_hh: Tensor, b_h: Tensor,
                W_hq: Tensor, b_q: Tensor, parts: int) -> Tensor:
    futures = [torch.jit.fork(_lm_loss, x, y, W_xh, W_hh, b_h, W_hq, b_q)
               for x, y in zip(X.chunk(parts), Y.chunk(parts))]
    total = torch.jit.wait(futures[0])
    for future in futures[1:]:
        total = total + torch.jit.wait(future)
    return total / (X.shape[0] * X.shape[1])


def parts():
    """How many parts a batch is split into: one per core this process may use, at most
    PyTorch's inter-op threads, which run them."""
    return max(1, min(usable_cores(), torch.get_num_interop_threads()))


_NAMES = ("W_xh", "W_hh", "b_h", "W_hq", "b_q")


def loss_and_grads(params, X, Y):
    """The language model's mean cross-entropy and its gradient for every parameter."""
    with torch.no_grad():  # the gradients are written out: autograd records nothing
        return _loss_and_grads(params, X, Y)


def _loss_and_grads(params, X, Y):
    if X.device.type != "cpu":  # a GPU's kernels need no split: one part
        loss, *grads = _lm_grads(X, Y, *(params[k] for k in _NAMES), 1.0 / X.numel())
    else:
        loss, *grads = _split_grads(X, Y, *(params[k] for k in _NAMES), parts())
    return loss, dict(zip(_NAMES, grads))


def loss(params, X, Y):
    """The mean cross-entropy alone (validation)."""
    weights = [params[k] for k in _NAMES]
    with torch.no_grad():
        if X.device.type != "cpu":
            return (_lm_loss(X, Y, *weights) / X.numel()).to(weights[0].dtype)
        return _split_loss(X, Y, *weights, parts()).to(weights[0].dtype)
