"""What the numbers were measured on: CPU, threads, BLAS, GPU, library versions."""

from __future__ import annotations

import os
import platform


def cpu_model():
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe(backends=()):
    """A dict of the machine's facts, and each available backend's description."""
    import numpy

    from bpnn import __version__
    from bpnn.backends import availability_report, get_backend

    facts = {"bpnn": __version__, "python": platform.python_version(), "cpu": cpu_model(),
             "cpu_threads": os.cpu_count(), "numpy": numpy.__version__,
             "blas": get_backend("numpy").describe()}
    try:
        import torch

        facts["torch"] = f"{torch.__version__}, {torch.get_num_threads()} threads"
    except ImportError:
        pass
    report = availability_report()
    facts["backends"] = {name: get_backend(name).describe() for name in backends
                         if report.get(name.split(":")[0], (False, ""))[0]}
    return facts
