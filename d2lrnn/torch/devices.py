"""PyTorch's devices: the accelerators it sees, placement, precision, threads."""
from ..base.adapter import Devices
from ..base.backend import import_framework

torch = import_framework("torch", "torch")


class TorchDevices(Devices):
    """PyTorch: the devices it computes on, and its threads."""

    def accelerators(self):
        found = [("cuda", torch.device(f"cuda:{i}")) for i in range(torch.cuda.device_count())]
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():  # Apple silicon
            found.append(("mps", torch.device("mps")))
        return found

    def missing_accelerator_hint(self):
        if torch.version.cuda is None and not torch.backends.mps.is_built():
            return f"; this PyTorch ({torch.__version__}) is a CPU-only build"
        return ""

    def cpu_device(self):
        return torch.device("cpu")

    def device_of(self, x):
        return x.device

    def to_device(self, x, device):
        return x.to(device)

    def device_name(self, device):
        device = torch.device(device)
        return device.type if device.index is None else f"{device.type}:{device.index}"

    def has_float64(self, device):
        return torch.device(device).type != "mps"

    def full_precision(self):
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
        torch.set_float32_matmul_precision("highest")

    def choose_threads(self, strategy):
        if strategy == "fused":
            torch.set_num_threads(1)  # one per forked part (fused.py says why)

    def threads(self):
        from . import fused

        intra = f"{torch.get_num_threads()} intra-op thread(s)"
        return f"{fused.parts()} parts forked x {intra}" if torch.get_num_threads() == 1 \
            else intra
