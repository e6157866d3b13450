"""PyTorch's devices: the accelerators it sees, placement, precision, threads."""
from ..base.adapter import Devices
from ..base.adapter.devices import usable_cores
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
        super().choose_threads(strategy)
        if strategy == "fused":
            torch.set_num_threads(1)  # one per forked part (fused.py says why)
        else:  # as many as cores are free, re-chosen as the load changes (adapt_threads)
            torch.set_num_threads(usable_cores())

    # PyTorch's intra-op threads can change between operations. Measured on 2 cores with the
    # scratch GRU (3 epochs): 2 threads 2.0 s and 1 thread 3.2 s on an idle machine; with
    # another process spinning on one core, 2 threads took 25-36 s (its OpenMP workers spin
    # waiting for the busy core) and 1 thread 2.8-3.1 s. So: every free core, never more.
    adapts_threads = True

    @property
    def _adapting(self):  # the package chose the threads, for a path that is not forked
        return getattr(self, "threads_chosen_for", "fused") != "fused"

    def adapt_threads(self, free_cores):
        if self._adapting:
            torch.set_num_threads(max(1, free_cores))

    def threads(self):
        from . import fused

        intra = f"{torch.get_num_threads()} intra-op thread(s)"
        if self._adapting:
            return f"{intra} at the start, one per free core as the load changes"
        return f"{fused.parts()} parts forked x {intra}" if torch.get_num_threads() == 1 \
            else intra
