"""What machine a measurement was made on: the CPU, its cores and vector width, Python and
NumPy. Timings move with the CPU (an AMD EPYC with AVX2 one day, an Intel Xeon with AVX-512
another), so every figure the package reports comes with this."""
import platform

import numpy as np

from ..base.adapter.devices import usable_cores


def _cpuinfo():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            return info.read()
    except OSError:
        return ""


def describe():
    """{cpu, cores, vector, python, numpy, system} of this machine."""
    info = _cpuinfo()
    cpu = next((line.split(":", 1)[1].strip() for line in info.splitlines()
                if line.startswith("model name")), platform.processor() or platform.machine())
    flags = set(next((line.split(":", 1)[1].split() for line in info.splitlines()
                      if line.startswith("flags")), []))
    vector = ("AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else
              "AVX" if "avx" in flags else platform.machine())
    cores = usable_cores()
    return {"cpu": cpu, "cores": cores, "vector": vector,
            "python": platform.python_version(), "numpy": np.__version__,
            "system": platform.system()}


def line(machine=None):
    """One line: 'AMD EPYC, 2 cores, AVX-512; Python 3.11.7, numpy 2.4.6, Linux'."""
    m = machine or describe()
    return (f"{m['cpu']}, {m['cores']} cores, {m['vector']}; Python {m['python']}, numpy "
            f"{m['numpy']}, {m['system']}")


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
