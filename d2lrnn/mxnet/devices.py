"""MXNet's devices: the accelerators it sees, placement, precision, threads."""
from ..base.adapter import Devices
from ..base.backend import import_framework

mx = import_framework("mxnet", "mxnet")
mnp, npx = mx.np, mx.npx


class MxnetDevices(Devices):
    """MXNet: the devices it computes on, and its threads."""

    def accelerators(self):
        return [("cuda", mx.gpu(i)) for i in range(mx.context.num_gpus())]

    def missing_accelerator_hint(self):
        if not mx.runtime.Features().is_enabled("CUDA"):
            return ("; this MXNet is a CPU-only build. MXNet 1.9.1 was the last release: its "
                    "GPU builds (mxnet-cu112 and older) need CUDA 11.2 or older, which "
                    "current GPUs and drivers no longer match")
        return ""

    def cpu_device(self):
        return mx.cpu()

    def device_of(self, x):
        return x.ctx

    def to_device(self, x, device):
        return x.as_in_ctx(device)

    def device_name(self, device):
        return "cpu" if device.device_type == "cpu" and not device.device_id else \
            f"{'cuda' if device.device_type == 'gpu' else device.device_type}:{device.device_id}"

    def device_scope(self, device):
        return device  # an mx.Context is the scope that places new arrays
