"""JAX's devices: the accelerators it sees, placement, precision, threads."""
from ..base.adapter import Devices
from ..base.backend import import_framework

jax = import_framework("jax", "jax")
jnp = jax.numpy


class JaxDevices(Devices):
    """JAX: the devices it computes on, and its threads."""

    def accelerators(self):
        found = []
        for platform, kind in (("gpu", "cuda"), ("METAL", "mps")):  # CUDA/ROCm; jax-metal
            try:
                found += [(kind, d) for d in jax.devices(platform)]
            except RuntimeError:  # no such backend in this jaxlib
                pass
        return found

    def missing_accelerator_hint(self):
        return ("; JAX sees GPUs with its CUDA plugin: pip install \"jax[cuda13]\" "
                "(\"jax[cuda12]\" for a driver older than CUDA 13's)")

    def cpu_device(self):
        return jax.devices("cpu")[0]

    def device_of(self, x):
        return next(iter(x.devices())) if self.is_concrete(x) else self.device

    def to_device(self, x, device):
        return jax.device_put(x, device)

    def device_name(self, device):
        kind = {"gpu": "cuda", "cpu": "cpu"}.get(device.platform, device.platform.lower())
        return f"{kind}:{device.id}" if kind != "cpu" or device.id else "cpu"

    def device_scope(self, device):
        return jax.default_device(device)

    def threads(self):
        return f"XLA's CPU thread pool ({jax.local_device_count('cpu')} device)"

    def full_precision(self):
        # float32 products on GPUs use TF32 unless the precision is "highest"; XLA's
        # deterministic kernels are chosen by XLA_FLAGS=--xla_gpu_deterministic_ops=true,
        # which must be set before JAX starts (the package does not set it)
        jax.config.update("jax_default_matmul_precision", "highest")
