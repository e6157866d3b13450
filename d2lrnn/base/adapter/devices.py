"""The adapter's part about devices: where arrays are made (a thread-local scope), which
accelerators the framework sees, falling back to the CPU with a warning, TF32 off for exact
products, and the threads the framework computes with. The default is a CPU-only framework
(NumPy); a backend with accelerators replaces what differs."""
import contextlib
import os
import threading
import warnings

from .. import checks


class DeviceWarning(UserWarning):
    """A device was asked for that this framework does not have here: computing on the CPU."""


class Devices:
    """Devices and threads; mixed into :class:`~d2lrnn.base.adapter.Ops`."""

    @property
    def device(self):
        """Where the arrays this adapter makes are made, in this thread: a device of the
        framework, or None for the framework's own default (the CPU for PyTorch and MXNet;
        the first GPU for JAX and TensorFlow where they have one). Models compute inside
        ``on(their device)``; each thread has its own (two threads training on two devices
        do not see each other's)."""
        return getattr(self._thread_scope(), "device", None)

    @device.setter
    def device(self, value):
        self._thread_scope().device = value

    def _thread_scope(self):
        scope = self.__dict__.get("_scope")
        if scope is None:
            scope = self.__dict__.setdefault("_scope", threading.local())
        return scope

    def accelerators(self):
        """The accelerators this framework can compute on here: [(kind, device)], kind
        "cuda" or "mps" (what PyTorch calls them; the others' GPUs are "cuda")."""
        return []

    def cpu_device(self):
        """The framework's CPU device."""
        return "cpu"

    def device_of(self, x):
        """The device an array lives on."""
        return self.cpu_device()

    def to_device(self, x, device):
        """A copy of ``x`` on ``device`` (``x`` itself if it is there already)."""
        return x

    def device_name(self, device):
        """A short name: "cpu", "cuda:0", "mps"."""
        return "cpu"

    def device_scope(self, device):
        """The framework's own context placing new arrays on ``device``."""
        return contextlib.nullcontext()

    @contextlib.contextmanager
    def on(self, device):
        """Make arrays on ``device`` inside the block (None: leave the placement as it is)."""
        if device is None:
            yield
            return
        previous, self.device = self.device, device
        try:
            with self.device_scope(device):
                yield
        finally:
            self.device = previous

    def has_float64(self, device):
        """Whether ``device`` computes in float64 (Apple's MPS does not)."""
        return True

    def find_device(self, spec="auto"):
        """The device ``spec`` names: "auto" (the first accelerator, else the CPU), "cpu",
        "cuda", "cuda:1", "mps" or "gpu" (any accelerator). Where this framework has no such
        device here, the CPU, with a warning that names what was asked and what there is."""
        kind, index = checks.device_spec(spec)
        if kind == "cpu":
            return self.cpu_device()
        found = [device for k, device in self.accelerators() if kind in ("auto", "gpu", k)]
        number = index or 0
        if number < len(found):
            return found[number]
        if kind != "auto":
            seen = ", ".join(self.device_name(d) for _, d in self.accelerators()) or "none"
            warnings.warn(f"{self.name}: no {spec} device here (accelerators seen: {seen}"
                          f"{self.missing_accelerator_hint()}); computing on the CPU",
                          DeviceWarning, stacklevel=2)
        return self.cpu_device()

    def missing_accelerator_hint(self):
        """Why this framework may see no accelerator here (a CPU-only build, ...)."""
        return ""

    def choose_threads(self, strategy):
        """Set the framework's CPU threads for training by ``strategy`` (a model's
        ``fast_grads``, or "plain"), where that choice is the package's to make: ``d2lrnn
        train`` calls it, owning its process (a reader's ``fit`` leaves the framework's
        settings alone). The default: the BLAS and OpenMP pools loaded in this process
        compute each product on one thread (threadpoolctl). Measured on 2 cores
        (docs/performance.md, "Threads chosen"): a second thread gained nothing at this
        model's sizes on an idle machine, and cost 2.5 times when another process held a core
        (the pools' workers spin)."""
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
        self.threads_chosen_for = strategy

    # Whether adapt_threads() changes the framework's threads while it trains (d2lrnn train
    # then calls it as the machine's load changes: ThreadGovernor, below).
    adapts_threads = False

    def adapt_threads(self, free_cores):
        """Compute with ``free_cores`` threads from now on (the cores no other process is
        using), where the framework can change its threads while it runs."""

    def threads(self):
        """How this framework uses the CPU's cores now, in a few words (for d2lrnn bench):
        the threads of each BLAS and OpenMP pool loaded (threadpoolctl)."""
        from threadpoolctl import threadpool_info

        pools = sorted({f"{p['internal_api']} {p['num_threads']}" for p in threadpool_info()})
        return "threads: " + (", ".join(pools) or "no BLAS or OpenMP pool loaded")

    def full_precision(self):
        """Make float32 matrix products exact on accelerators (no TF32, which JAX,
        TensorFlow and PyTorch's cuDNN use by default on NVIDIA GPUs) and prefer the
        framework's deterministic kernels: what the parity bounds need. Global for the
        framework; the package calls it for parity, compare and training."""


def usable_cores():
    """The cores this process may run on (its affinity where the system says)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


class ThreadGovernor:
    """Keeps a framework's threads to the cores no other process is using, while it trains:
    every ``period`` seconds (from ``poll()``, called at each step) it compares the CPU time
    the whole system and this process used since the last look, and where the cores left
    free changed, tells the adapter (``ops.adapt_threads``). A laptop is rarely idle: a
    thread that waits for a core another program holds costs far more than it gains."""

    def __init__(self, ops, period=0.5, first=0.1):
        self.ops, self.period, self.cores = ops, period, usable_cores()
        self.free = self.cores
        self.last = self._times()
        self.wait = first  # the first look soon: a busy machine is known after a few steps

    @staticmethod
    def _times():
        import time

        import psutil

        system = psutil.cpu_times()
        busy = sum(getattr(system, f, 0.0) for f in
                   ("user", "nice", "system", "irq", "softirq", "steal"))
        own = psutil.Process().cpu_times()
        return time.monotonic(), busy, own.user + own.system

    def poll(self):
        import time

        if time.monotonic() - self.last[0] < self.wait:
            return
        self.wait = self.period
        now, busy, own = self._times()
        wall = now - self.last[0]
        others = max(0.0, (busy - self.last[1]) - (own - self.last[2])) / wall  # in cores
        self.last = (now, busy, own)
        free = max(1, self.cores - int(others + 0.5))
        if free != self.free:
            self.free = free
            self.ops.adapt_threads(free)
