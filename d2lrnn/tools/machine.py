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
