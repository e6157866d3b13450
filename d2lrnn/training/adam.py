"""Adam (d2l.ai 12.10), the optimizer of the encoder–decoder in 10.7 (the book's
``Seq2Seq.configure_optimizers``), written once over the array adapter, with the gradient
clipping by global norm of the package's SGD (:func:`~d2lrnn.training.train.clip_gradients`).

The formula is PyTorch's ``torch.optim.Adam`` with its defaults (the book's PyTorch tab):
bias-corrected moments and ε added after the square root of the corrected second moment,

    m_t = β1 m_{t-1} + (1 - β1) g_t,    v_t = β2 v_{t-1} + (1 - β2) g_t²,
    θ_t = θ_{t-1} - (lr / (1 - β1^t)) m_t / (√v_t / √(1 - β2^t) + ε),

with β1 = 0.9, β2 = 0.999, ε = 1e-8, computed in PyTorch's order (its rounding) so that the
two agree to the last bits. Optax's ``optax.adam`` (the book's JAX tab) has the same formula
and defaults (``eps=1e-8``, ``eps_root=0``). Keras' ``Adam`` (the TensorFlow tab) and MXNet's
``adam`` add ε to √v_t before the bias correction ("epsilon hat" in Kingma and Ba's paper),
with ε = 1e-7 in Keras, 1e-8 in MXNet: another function, which parity does not use; every
backend trains by this one.
"""
import dataclasses
import math

from ..base import checks
from ..base.errors import BadArgument
from .train import MAX_CLIP, clip_gradients

BETAS = (0.9, 0.999)
EPS = 1e-8
# A moment's decay rate β: 1 would leave the bias correction 1 - β^t at 0.
DECAY = checks.Satisfies(lambda beta: checks.Real(least=0).holds(beta) and beta < 1,
                         "a number from 0 up to, not including, 1")


@dataclasses.dataclass(frozen=True)
class AdamState:
    """How far Adam has gone: the steps taken and each parameter's moments (by its name)."""

    step: int
    m: dict
    v: dict


@dataclasses.dataclass(frozen=True)
class Adam:
    """Adam with the learning rate ``lr``, ``betas``, ``eps`` and gradient clipping by global
    norm to ``clip`` (0: none; the book's ``gradient_clip_val``), on a dict of parameters:
    :meth:`init` gives the state, :meth:`step` the next parameters and state."""

    lr: float
    betas: tuple = BETAS
    eps: float = EPS
    clip: float = 0.0

    def __post_init__(self):
        where = "Adam"
        object.__setattr__(self, "lr", checks.real(self.lr, "lr", where, above=0))
        object.__setattr__(self, "betas", tuple(
            float(DECAY.check(beta, f"betas[{i}]", where))
            for i, beta in enumerate(_pair(self.betas))))
        object.__setattr__(self, "eps", checks.real(self.eps, "eps", where, least=0))
        object.__setattr__(self, "clip", checks.real(self.clip, "clip", where, least=0,
                                                     most=MAX_CLIP))

    def init(self, ops, params):
        """No step taken: both moments zero, shaped as each parameter."""
        zeros = {name: ops.zeros(ops.shape(value), ops.dtype_name(value))
                 for name, value in params.items()}
        return AdamState(0, zeros, dict(zeros))

    def step(self, ops, params, grads, state):
        """One step from ``params`` by ``grads`` (dicts by the same names), the gradients
        clipped first: (new parameters, new :class:`AdamState`, the gradients' norm before
        clipping)."""
        grads, norm = clip_gradients(ops, grads, self.clip)
        (beta1, beta2), t = self.betas, state.step + 1
        step_size = self.lr / (1 - beta1 ** t)
        root_correction = math.sqrt(1 - beta2 ** t)
        new_params, m, v = {}, {}, {}
        with ops.no_grad():
            for name, value in params.items():
                g = grads[name]
                # PyTorch's order: m moves towards g (its lerp), v decays and takes g².
                m[name] = state.m[name] + (1 - beta1) * (g - state.m[name])
                v[name] = state.v[name] * beta2 + (1 - beta2) * g * g
                denominator = v[name] ** 0.5 / root_correction + self.eps
                new_params[name] = value - step_size * (m[name] / denominator)
        return new_params, AdamState(t, m, v), norm

    def run(self, ops, loss_and_grads, params, batches):
        """Training steps from ``params``, one per batch of ``batches``:
        ``loss_and_grads(params, batch) -> (loss, {name: gradient})`` (the encoder-decoder's
        reference: :func:`d2lrnn.maths.seq2seq.loss_and_grads`). Returns (the parameters
        after the last step, each step's loss as a float, each step's gradient norm before
        clipping)."""
        state, losses, norms = self.init(ops, params), [], []
        for batch in batches:
            loss, grads = loss_and_grads(params, batch)
            params, state, norm = self.step(ops, params, grads, state)
            losses.append(float(ops.to_numpy(loss)))
            norms.append(norm)
        return params, losses, norms


def _pair(betas):
    betas = tuple(betas) if isinstance(betas, (tuple, list)) else (betas,)
    if len(betas) != 2:
        raise BadArgument(f"Adam: betas must be two numbers (β1, β2), as (0.9, 0.999); "
                          f"got {betas!r}")
    return betas
