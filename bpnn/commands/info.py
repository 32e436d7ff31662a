"""``bpnn info``: the backends, devices and libraries here."""

from __future__ import annotations

import os
import platform

from .._version import __version__
from ..backends import availability_report, get_backend
from . import threads


def add_parser(commands):
    info = commands.add_parser("info", help="list the backends, devices and versions here")
    info.set_defaults(run=run)


def run(args):
    print(f"bpnn {__version__} on Python {platform.python_version()} "
          f"({platform.system()} {platform.machine()}), {os.cpu_count()} CPU threads"
          + _thread_limits())
    for name, (available, reason) in availability_report().items():
        if not available:
            print(f"  {name:<17} no   {reason}")
            continue
        backend = get_backend(name)
        free = backend.free_memory()
        memory = "" if free is None else f"; {free / 2 ** 30:.1f} GiB free on the device"
        print(f"  {name:<17} yes  {backend.describe()}{memory}")
    print(f"default (auto): {get_backend('auto').name}")
    print(f"threads: bpnn train gives the BLAS and PyTorch pools 1 thread for a network "
          f"under {threads.SMALL_FLOPS:.0e} flops a step (6 x batch x weights), else "
          f"{threads.cores()} (the cores this process may use); --threads N sets it. "
          f"Pools here now: {threads.describe()}" + _torch_threads())
    return 0


def _torch_threads():
    """``, torch N`` where PyTorch is loaded."""
    import sys

    torch = sys.modules.get("torch")
    return "" if torch is None else f", torch {torch.get_num_threads()}"


def _thread_limits():
    """The thread-count variables that BLAS libraries obey, where set."""
    names = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
    limits = [f"{name}={os.environ[name]}" for name in names if name in os.environ]
    return f" ({', '.join(limits)})" if limits else ""
