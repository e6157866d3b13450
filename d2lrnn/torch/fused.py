"""PyTorch's fast path for the section's model: the hand-written backward pass (the numbers of
:mod:`d2lrnn.maths.bptt`) in TorchScript, the batch split into one part per core run in parallel
(``torch.jit.fork``), each part on one thread. At the end, the encoder-decoder's GRU recurrence
(10.7) the same way: ``layers.GRUFromGates`` calls it.

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
import atexit
import time
import warnings
from typing import List, Tuple

import torch
import torch.nn.functional as F

from ..base.adapter.devices import usable_cores
from ..base.adapter.kernels import FUSED_CELL_CODES

Tensor = torch.Tensor


def _script(fn):
    """``torch.jit.script``, without the deprecation warning it gives since PyTorch 2.13 (a
    DeprecationWarning; from 2.14 a FutureWarning, which Python shows to every user: twelve
    lines at every run): it is about this module's choice of compiler, not the reader's code
    (TorchScript measured fastest here: its ``torch.jit.fork`` runs the batch's parts in
    parallel, where eager PyTorch runs them one after the other; ``torch.compile`` took 45 s
    to compile the RNN)."""
    with warnings.catch_warnings():
        for category in (DeprecationWarning, FutureWarning):
            warnings.filterwarnings("ignore", message="`torch.jit.script`",
                                    category=category)
        return torch.jit.script(fn)


# The cells' codes are base.adapter.kernels.FUSED_CELL_CODES (one table for every
# backend's kernel); TorchScript reads no module constants, so the branches below write them
# as numbers: 1 the GRU with the reset before the product, 2 after, 3 the LSTM (0, the RNN,
# has its own kernel). Parameters come packed side by side in cuDNN's gate order.


@_script
def _output_grads(H: Tensor, Yt: Tensor, W_hq: Tensor, b_q: Tensor,
                  scale: float) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """The output layer (9.4.6) over the states H (T + 1, n, h; H_0 first) and the targets
    Yt (T, n): (the summed loss times ``scale``, W_hq's and b_q's gradients, what each H_t
    receives from O_t (T, n, h))."""
    T, n, h = H.shape[0] - 1, H.shape[1], H.shape[2]
    Hs = H[1:].reshape(-1, h)
    log_p = torch.log_softmax(torch.addmm(b_q, Hs, W_hq), -1)
    y = Yt.reshape(-1, 1)
    loss = -log_p.gather(1, y).sum() * scale
    dO = log_p.exp_()  # dLoss/dO = (softmax - onehot(y)) * scale
    dO.scatter_add_(1, y, torch.full_like(y, -1, dtype=dO.dtype))
    dO.mul_(scale)
    return loss, Hs.t().mm(dO), dO.sum(0), dO.mm(W_hq.t()).view(T, n, h)


@_script
def _rnn_grads(X: Tensor, Y: Tensor, W_xh: Tensor, W_hh: Tensor, b_h: Tensor, W_hq: Tensor,
               b_q: Tensor, scale: float) -> List[Tensor]:
    """The RNN's :func:`_lm_grads`, its own code: its arrays made once and filled in place
    (the gated cells' way, below, took 6.4 ms a step against 5.7 in one measurement here)."""
    n, T = X.shape[0], X.shape[1]
    h = W_hh.shape[0]
    Xt, Yt = X.t().contiguous(), Y.t().contiguous()
    P = F.embedding(Xt, W_xh) + b_h  # X_t W_xh + b_h for every step: a lookup
    H = torch.empty(T + 1, n, h, dtype=W_hh.dtype, device=W_hh.device)
    H[0].zero_()
    for t in range(T):  # (9.4.5)
        torch.tanh(torch.addmm(P[t], H[t], W_hh), out=H[t + 1])
    loss, g_hq, g_q, dH = _output_grads(H, Yt, W_hq, b_q, scale)
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
    return [loss, g_xh, g_hh, dA2.sum(0), b_h[:0], g_hq, g_q]


@_script
def _rnn_loss(X: Tensor, Y: Tensor, W_xh: Tensor, W_hh: Tensor, b_h: Tensor, W_hq: Tensor,
              b_q: Tensor) -> Tensor:
    """The RNN's :func:`_lm_loss`."""
    Xt = X.t()
    P = F.embedding(Xt, W_xh) + b_h
    H = torch.zeros(X.shape[0], W_hh.shape[0], dtype=W_hh.dtype, device=W_hh.device)
    total = torch.zeros((), dtype=torch.float64, device=W_hh.device)
    for t in range(X.shape[1]):
        H = torch.tanh(torch.addmm(P[t], H, W_hh))
        log_p = torch.log_softmax(torch.addmm(b_q, H, W_hq), -1)
        total -= log_p.gather(1, Y[:, t:t + 1]).sum().double()
    return total


@_script
def _step(kind: int, P_t: Tensor, H: Tensor, E: Tensor, W_h: Tensor, b_hh: Tensor,
          H_t: Tensor, acts: Tensor, E_t: Tensor):
    """One step of a gated cell from the looked-up input terms P_t (n, G h) and the state
    H, E, written into H_t, the gates' activations ``acts`` (side by side) and E_t: the
    LSTM's C_t, or the GRU's inner term (R ⊙ H_{t-1} where the reset comes before the
    product, H_{t-1} W_hh + b_hh where it comes after), which the backward step needs.
    Written in place into arrays made once: making them step by step and joining them
    (torch.cat) took a quarter of the time."""
    h = H.shape[1]
    if kind == 3:  # the LSTM (10.1), gates i, f, c, o
        A = torch.addmm(P_t, H, W_h)
        torch.sigmoid(A, out=acts)  # the candidate's lane replaced next
        C_tilde = acts[:, 2 * h:3 * h]
        torch.tanh(A[:, 2 * h:3 * h], out=C_tilde)
        torch.add(acts[:, h:2 * h] * E, acts[:, :h] * C_tilde, out=E_t)
        torch.mul(acts[:, 3 * h:], torch.tanh(E_t), out=H_t)
        return
    RZ, H_tilde = acts[:, :2 * h], acts[:, 2 * h:]  # the GRU (10.2), gates r, z, h
    if kind == 1:  # the reset before the product
        torch.sigmoid(torch.addmm(P_t[:, :2 * h], H, W_h[:, :2 * h]), out=RZ)
        torch.mul(RZ[:, :h], H, out=E_t)
        torch.tanh(torch.addmm(P_t[:, 2 * h:], E_t, W_h[:, 2 * h:]), out=H_tilde)
    else:  # after
        M = H.mm(W_h)
        torch.sigmoid(P_t[:, :2 * h] + M[:, :2 * h], out=RZ)
        torch.add(M[:, 2 * h:], b_hh, out=E_t)
        torch.tanh(P_t[:, 2 * h:] + RZ[:, :h] * E_t, out=H_tilde)
    torch.lerp(H_tilde, H, RZ[:, h:], out=H_t)  # Z ⊙ H + (1 - Z) ⊙ H̃, one operation


@_script
def _step_backward(kind: int, dH: Tensor, dC: Tensor, H: Tensor, acts: Tensor, E: Tensor,
                   E_t: Tensor, W_hT: Tensor, dA: Tensor, dI: Tensor) -> Tuple[Tensor, Tensor]:
    """Back through one step of a gated cell from dH (all H_t receives) and dC (what the
    LSTM's C_t receives from the next step): writes each gate's pre-activation gradient into
    dA and, where the GRU's reset comes after the product, its inner term's into dI;
    returns what H_{t-1} and C_{t-1} receive."""
    h = H.shape[1]
    if kind == 3:  # the LSTM
        I, F, C_tilde, O = acts[:, :h], acts[:, h:2 * h], acts[:, 2 * h:3 * h], acts[:, 3 * h:]
        tanh_C = torch.tanh(E_t)
        dC = dC + dH * O * (1 - tanh_C * tanh_C)
        torch.mul(dC * C_tilde * I, 1 - I, out=dA[:, :h])
        torch.mul(dC * E * F, 1 - F, out=dA[:, h:2 * h])
        torch.mul(dC * I, 1 - C_tilde * C_tilde, out=dA[:, 2 * h:3 * h])
        torch.mul(dH * tanh_C * O, 1 - O, out=dA[:, 3 * h:])
        return dA.mm(W_hT), dC * F
    R, Z, H_tilde = acts[:, :h], acts[:, h:2 * h], acts[:, 2 * h:]
    dA_h = dA[:, 2 * h:]
    torch.mul(dH * (1 - Z), 1 - H_tilde * H_tilde, out=dA_h)
    torch.mul(dH * (H - H_tilde) * Z, 1 - Z, out=dA[:, h:2 * h])
    if kind == 1:  # the reset before: dA_h W_hh^T reaches R ⊙ H_{t-1}
        d_inner = dA_h.mm(W_hT[2 * h:])
        torch.mul(d_inner * H * R, 1 - R, out=dA[:, :h])
        return dH * Z + d_inner * R + dA[:, :2 * h].mm(W_hT[:2 * h]), dC
    torch.mul(dA_h, R, out=dI)  # after: dA_h ⊙ R reaches H_{t-1} W_hh + b_hh
    torch.mul(dA_h * E_t * R, 1 - R, out=dA[:, :h])
    return dH * Z + dA[:, :2 * h].mm(W_hT[:2 * h]) + dI.mm(W_hT[2 * h:]), dC


@_script
def _gated_forward(kind: int, Xt: Tensor, W_x: Tensor, W_h: Tensor, b: Tensor,
                   b_hh: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
    """A gated cell over token ids Xt (T, n) from zero states: H (T + 1, n, h) with H_0, E
    likewise, and the activations (T, n, G h)."""
    T, n, h = Xt.shape[0], Xt.shape[1], W_h.shape[0]
    W_xb = W_x + b  # a token's row: X_t W_x + b, looked up step by step (X_t is one-hot)
    H = torch.empty(T + 1, n, h, dtype=W_h.dtype, device=W_h.device)
    E = torch.empty(T + 1, n, h, dtype=W_h.dtype, device=W_h.device)
    acts = torch.empty(T, n, W_h.shape[1], dtype=W_h.dtype, device=W_h.device)
    H[0].zero_()
    E[0].zero_()
    for t in range(T):
        _step(kind, F.embedding(Xt[t], W_xb), H[t], E[t], W_h, b_hh, H[t + 1], acts[t],
              E[t + 1])
    return H, E, acts


@_script
def _gated_grads(kind: int, X: Tensor, Y: Tensor, W_x: Tensor, W_h: Tensor, b: Tensor,
                 b_hh: Tensor, W_hq: Tensor, b_q: Tensor, scale: float) -> List[Tensor]:
    """The gated cells' :func:`_lm_grads`."""
    n, T = X.shape[0], X.shape[1]
    h = W_h.shape[0]
    Xt, Yt = X.t().contiguous(), Y.t().contiguous()
    H, E, acts = _gated_forward(kind, Xt, W_x, W_h, b, b_hh)
    loss, g_hq, g_q, dH_out = _output_grads(H, Yt, W_hq, b_q, scale)
    W_hT = W_h.t().contiguous()
    dA = torch.empty_like(acts)
    dI = torch.empty(T if kind == 2 else 0, n, h, dtype=W_h.dtype, device=W_h.device)
    dH = torch.zeros(n, h, dtype=W_h.dtype, device=W_h.device)
    dC = dH
    for t in range(T - 1, -1, -1):  # back through time
        dH, dC = _step_backward(kind, dH_out[t] + dH, dC, H[t], acts[t], E[t], E[t + 1], W_hT,
                                dA[t], dI[t] if kind == 2 else dI)
    dA2 = dA.view(-1, W_h.shape[1])
    g_x = torch.zeros(W_x.shape[0], W_x.shape[1], dtype=W_h.dtype,
                      device=W_h.device).index_add_(0, Xt.reshape(-1), dA2)
    H_prev = H[:-1].reshape(-1, h)  # H_0 = 0 adds nothing
    g_hh = b_hh
    if kind == 3:
        g_h = H_prev.t().mm(dA2)
    elif kind == 1:  # the candidate's product takes R ⊙ H_{t-1}
        g_h = torch.cat([H_prev.t().mm(dA2[:, :2 * h]),
                         E[1:].reshape(-1, h).t().mm(dA2[:, 2 * h:])], 1)
    else:  # and here H_{t-1}, the gradient dI
        dI2 = dI.view(-1, h)
        g_h = torch.cat([H_prev.t().mm(dA2[:, :2 * h]), H_prev.t().mm(dI2)], 1)
        g_hh = dI2.sum(0)
    return [loss, g_x, g_h, dA2.sum(0), g_hh, g_hq, g_q]


@_script
def _gated_loss(kind: int, X: Tensor, Y: Tensor, W_x: Tensor, W_h: Tensor, b: Tensor,
                b_hh: Tensor, W_hq: Tensor, b_q: Tensor) -> Tensor:
    """The gated cells' :func:`_lm_loss`."""
    H, _, _ = _gated_forward(kind, X.t().contiguous(), W_x, W_h, b, b_hh)
    log_p = torch.log_softmax(torch.addmm(b_q, H[1:].reshape(-1, H.shape[2]), W_hq), -1)
    return -log_p.gather(1, Y.t().reshape(-1, 1)).double().sum()


@_script
def _lm_grads(kind: int, X: Tensor, Y: Tensor, W_x: Tensor, W_h: Tensor, b: Tensor,
              b_hh: Tensor, W_hq: Tensor, b_q: Tensor, scale: float) -> List[Tensor]:
    """Summed loss times ``scale`` and the gradients (times ``scale``) of a batch's part:
    [loss, W_x, W_h, b (each the gates side by side), b_hh, W_hq, b_q]."""
    if kind == 0:  # the RNN
        return _rnn_grads(X, Y, W_x, W_h, b, W_hq, b_q, scale)
    return _gated_grads(kind, X, Y, W_x, W_h, b, b_hh, W_hq, b_q, scale)


@_script
def _lm_loss(kind: int, X: Tensor, Y: Tensor, W_x: Tensor, W_h: Tensor, b: Tensor,
             b_hh: Tensor, W_hq: Tensor, b_q: Tensor) -> Tensor:
    """The summed loss of a batch's part (the forward pass alone)."""
    if kind == 0:  # the RNN
        return _rnn_loss(X, Y, W_x, W_h, b, W_hq, b_q)
    return _gated_loss(kind, X, Y, W_x, W_h, b, b_hh, W_hq, b_q)


@_script
def _split_grads(kind: int, X: Tensor, Y: Tensor, W_x: Tensor, W_h: Tensor, b: Tensor,
                 b_hh: Tensor, W_hq: Tensor, b_q: Tensor, parts: int) -> List[Tensor]:
    scale = 1.0 / (X.shape[0] * X.shape[1])
    futures = [torch.jit.fork(_lm_grads, kind, x, y, W_x, W_h, b, b_hh, W_hq, b_q, scale)
               for x, y in zip(X.chunk(parts), Y.chunk(parts))]
    out = torch.jit.wait(futures[0])
    for future in futures[1:]:
        out = [a + b for a, b in zip(out, torch.jit.wait(future))]
    return out


@_script
def _split_loss(kind: int, X: Tensor, Y: Tensor, W_x: Tensor, W_h: Tensor, b: Tensor,
                b_hh: Tensor, W_hq: Tensor, b_q: Tensor, parts: int) -> Tensor:
    futures = [torch.jit.fork(_lm_loss, kind, x, y, W_x, W_h, b, b_hh, W_hq, b_q)
               for x, y in zip(X.chunk(parts), Y.chunk(parts))]
    total = torch.jit.wait(futures[0])
    for future in futures[1:]:
        total = total + torch.jit.wait(future)
    return total / (X.shape[0] * X.shape[1])


# A process that ends just after a forked step (a run that diverged, a refused setting) must
# leave PyTorch's inter-op threads a moment: one of them still takes the GIL once after its
# part, and where the interpreter has begun to shut down, Python ends that thread, which
# PyTorch's thread pool turns into "terminate called without an active exception" and SIGABRT
# (9 of 16 diverging runs on a terminal; 0 of 16 with this pause, which releases the GIL).
atexit.register(time.sleep, 0.05)


def parts():
    """How many parts a batch is split into: where PyTorch computes on one intra-op thread
    (as ``d2lrnn train`` sets it), one per core this process may use, at most PyTorch's
    inter-op threads, which run them; else one. Forked parts whose operations each start
    intra-op threads of their own ask for more threads than there are cores, and a process
    that had run them often aborted at exit ("terminate called without an active
    exception": 4 of 5 scripts that fitted an LSTM, 1 of 5 the RNN, with PyTorch's default
    threads)."""
    if torch.get_num_threads() > 1:
        return 1
    return max(1, min(usable_cores(), torch.get_num_interop_threads()))


def _arrays(params, cell):
    """The kernels' parameter arguments: the cell's code, its weights packed as cuDNN packs
    them (gates side by side), the GRU's recurrent bias (else an empty tensor), W_hq, b_q."""
    W_x, W_h, b = (torch.cat([params[f"{prefix}{g}"] for g in cell.cudnn_gates], -1)
                   for prefix in ("W_x", "W_h", "b_"))
    b_hh = params["b_hh"] if cell.key == "gru-after" else W_h.new_zeros(0)
    return FUSED_CELL_CODES[cell.key], W_x, W_h, b, b_hh, params["W_hq"], params["b_q"]


def loss_and_grads(params, X, Y, cell):
    """The mean cross-entropy of a language model on one layer of ``cell`` (a cell of
    ``FUSED_CELL_CODES``) and its gradient for every parameter."""
    with torch.no_grad():  # the gradients are written out: autograd records nothing
        kind, *weights = _arrays(params, cell)
        split = parts() if X.device.type == "cpu" else 1  # a GPU's kernels need no split
        if split == 1:  # nothing forked
            loss, g_x, g_h, g_b, g_hh, g_hq, g_q = _lm_grads(kind, X, Y, *weights,
                                                             1.0 / X.numel())
        else:
            loss, g_x, g_h, g_b, g_hh, g_hq, g_q = _split_grads(kind, X, Y, *weights, split)
        h = g_h.shape[0]
        grads = {"W_hq": g_hq, "b_q": g_q, "b_hh": g_hh}
        for i, g in enumerate(cell.cudnn_gates):
            grads.update({f"W_x{g}": g_x[:, i * h:(i + 1) * h],
                          f"W_h{g}": g_h[:, i * h:(i + 1) * h], f"b_{g}": g_b[i * h:(i + 1) * h]})
        return loss, {name: grads[name] for name in params}


def loss(params, X, Y, cell):
    """The mean cross-entropy alone (validation)."""
    with torch.no_grad():
        kind, *weights = _arrays(params, cell)
        split = parts() if X.device.type == "cpu" else 1
        if split == 1:
            return (_lm_loss(kind, X, Y, *weights) / X.numel()).to(weights[0].dtype)
        return _split_loss(kind, X, Y, *weights, split).to(weights[0].dtype)


# -- the encoder-decoder's GRU recurrence (d2l.ai 10.7) -------------------------------------
# torch.nn.GRU's recurrence (the reset after the recurrent product) from its input side's
# products, made by the caller (``layers.GRUFromGates``, the autograd Function of the
# seq2seq fast path). In TorchScript, as the language model's kernels: about forty small
# operations a step, which eager PyTorch dispatched from Python one by one; and forked over
# the batch's parts as they are (the rows of a batch are independent in the recurrence).


@_script
def _gru_gates_forward(gates: Tensor, H0: Tensor, W_h: Tensor,
                       b_hh: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
    """From gates (T, n, 3h) = X W_x + b_ih (r, z, n side by side) and H0 (n, h): the states
    H (T + 1, n, h; H0 first), the activations (T, n, 3h: R, Z, the candidate) and the
    recurrent products (T, n, 3h: H_{t-1} W_h + b_hh), which the backward pass reads."""
    T, n, h = gates.shape[0], gates.shape[1], H0.shape[1]
    H = torch.empty(T + 1, n, h, dtype=H0.dtype, device=H0.device)
    H[0].copy_(H0)
    acts = torch.empty_like(gates)
    recurrent = torch.empty_like(gates)
    for t in range(T):
        torch.addmm(b_hh, H[t], W_h, out=recurrent[t])
        RZ = acts[t, :, :2 * h]
        torch.sigmoid(torch.add(gates[t, :, :2 * h], recurrent[t, :, :2 * h]), out=RZ)
        candidate = acts[t, :, 2 * h:]
        torch.tanh(torch.addcmul(gates[t, :, 2 * h:], RZ[:, :h], recurrent[t, :, 2 * h:]),
                   out=candidate)
        torch.lerp(candidate, H[t], RZ[:, h:], out=H[t + 1])  # Z H + (1 - Z) candidate
    return H, acts, recurrent


@_script
def _gru_gates_backward(d_outputs: Tensor, d_final: Tensor, H: Tensor, acts: Tensor,
                        recurrent: Tensor, W_h: Tensor) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """Back through :func:`_gru_gates_forward` from what the outputs H_1..H_T (T, n, h) and
    the final state (n, h) receive: what the gates (T, n, 3h), H0, W_h and b_hh receive. The
    gates' gradient and the recurrent products' differ in the lane n only, where the reset
    gate multiplies the product; W_h's is one product over all steps, after the loop."""
    T, n, h = acts.shape[0], acts.shape[1], H.shape[2]
    W_hT = W_h.t().contiguous()
    d_recurrent = torch.empty_like(acts)
    d_candidates = torch.empty_like(d_outputs)
    dH = d_final.clone()
    for t in range(T - 1, -1, -1):
        dH.add_(d_outputs[t])
        R, Z, candidate = acts[t, :, :h], acts[t, :, h:2 * h], acts[t, :, 2 * h:]
        d_candidate = d_candidates[t]
        torch.mul(dH * (1 - Z), 1 - candidate * candidate, out=d_candidate)
        torch.mul(d_candidate, R, out=d_recurrent[t, :, 2 * h:])
        torch.mul(d_candidate * recurrent[t, :, 2 * h:] * R, 1 - R, out=d_recurrent[t, :, :h])
        torch.mul(dH * (H[t] - candidate) * Z, 1 - Z, out=d_recurrent[t, :, h:2 * h])
        dH = torch.addmm(dH * Z, d_recurrent[t], W_hT)
    d_gates = torch.cat([d_recurrent[:, :, :2 * h], d_candidates], 2)
    flat = d_recurrent.view(T * n, 3 * h)
    return d_gates, dH, H[:-1].reshape(T * n, h).t().mm(flat), flat.sum(0)


@_script
def _gru_gates_forward_split(gates: Tensor, H0: Tensor, W_h: Tensor, b_hh: Tensor,
                             parts: int) -> Tuple[Tensor, Tensor, Tensor]:
    """:func:`_gru_gates_forward` on ``parts`` parts of the batch, forked."""
    futures = [torch.jit.fork(_gru_gates_forward, g, h0, W_h, b_hh)
               for g, h0 in zip(gates.chunk(parts, 1), H0.chunk(parts, 0))]
    done = [torch.jit.wait(future) for future in futures]
    return (torch.cat([d[0] for d in done], 1), torch.cat([d[1] for d in done], 1),
            torch.cat([d[2] for d in done], 1))


@_script
def _gru_gates_backward_split(d_outputs: Tensor, d_final: Tensor, H: Tensor, acts: Tensor,
                              recurrent: Tensor, W_h: Tensor,
                              parts: int) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """:func:`_gru_gates_backward` on ``parts`` parts of the batch, forked; the weights'
    gradients of the parts summed."""
    futures = [torch.jit.fork(_gru_gates_backward, d_o, d_f, h, a, r, W_h)
               for d_o, d_f, h, a, r in zip(d_outputs.chunk(parts, 1), d_final.chunk(parts, 0),
                                            H.chunk(parts, 1), acts.chunk(parts, 1),
                                            recurrent.chunk(parts, 1))]
    done = [torch.jit.wait(future) for future in futures]
    g_h, g_hh = done[0][2], done[0][3]
    for d in done[1:]:
        g_h, g_hh = g_h + d[2], g_hh + d[3]
    return (torch.cat([d[0] for d in done], 1), torch.cat([d[1] for d in done], 0), g_h,
            g_hh)


def gru_gates_forward(gates, H0, W_h, b_hh):
    """:func:`_gru_gates_forward`, the batch split into :func:`parts` (H, acts,
    recurrent)."""
    split = parts() if gates.device.type == "cpu" else 1
    if split == 1 or gates.shape[1] < split:
        return _gru_gates_forward(gates, H0, W_h, b_hh)
    return _gru_gates_forward_split(gates, H0, W_h, b_hh, split)


def gru_gates_backward(d_outputs, d_final, H, acts, recurrent, W_h):
    """:func:`_gru_gates_backward`, the batch split into :func:`parts` (each row on its own:
    the forward pass may have split it otherwise)."""
    split = parts() if acts.device.type == "cpu" else 1
    if split == 1 or acts.shape[1] < split:
        return _gru_gates_backward(d_outputs, d_final, H, acts, recurrent, W_h)
    return _gru_gates_backward_split(d_outputs, d_final, H, acts, recurrent, W_h, split)
