"""PyTorch tensors through array-api-compat's wrapper."""

from __future__ import annotations

import contextlib

from ..errors import InputError
from .base import Backend, select


class TorchBackend(Backend):
    """PyTorch on the CPU (default) or on a CUDA device (``"torch:cuda"``)."""

    name = "torch"
    library = "torch"

    @classmethod
    def availability(cls):
        try:
            import torch  # noqa: F401
            import array_api_compat.torch  # noqa: F401
        except ImportError:
            return False, ("PyTorch is not installed (pip install torch; without a GPU, "
                           "pip install torch --index-url "
                           "https://download.pytorch.org/whl/cpu installs the CPU build)")
        return True, ""

    @property
    def spec(self):
        return "torch" if self.device.type == "cpu" else f"torch:{self.device}"

    def for_local_rank(self, local_rank):
        if self.device.type != "cuda":
            return self
        backend = select(f"torch:cuda:{local_rank % self._torch.cuda.device_count()}")
        self._torch.cuda.set_device(backend.device)  # the rank's GPU, for good (as CuPy's)
        return backend

    def __init__(self, device=None):
        import array_api_compat.torch as xp
        import torch

        self._torch = torch
        self.xp = xp
        self.device = torch.device("cpu" if device is None else device)
        if self.device.type == "cuda":
            if not torch.cuda.is_available():
                raise RuntimeError("torch cannot see a CUDA device here")
            if self.device.index is None:  # "cuda" means the current device, by its index
                self.device = torch.device("cuda", torch.cuda.current_device())
            count = torch.cuda.device_count()
            if self.device.index >= count:  # torch itself fails only at the first array
                raise RuntimeError(f"there is no CUDA device {self.device.index} here "
                                   f"({count} device{'s' if count != 1 else ''})")
        self.asynchronous = self.device.type != "cpu"

    def owns(self, x):
        return isinstance(x, self._torch.Tensor)

    def _check_device(self, x):
        if x.device != self.device:
            raise InputError(f"the tensor is on {x.device}, the model on {self.device}")

    def _from_host(self, host, dtype):
        return self._torch.as_tensor(host, dtype=dtype, device=self.device)

    def to_numpy(self, x, copy=False):
        host = x.detach().cpu().numpy()
        return host.copy() if copy and x.device.type == "cpu" else host

    def free_memory(self):
        if self.device.type != "cuda":
            return None
        return int(self._torch.cuda.mem_get_info(self.device)[0])

    def device_current(self):
        if self.device.type != "cuda":
            return contextlib.nullcontext()
        return self._torch.cuda.device(self.device)

    def scope(self):
        # PyTorch never warns (errstate does nothing): the device alone, without the cost
        # of an ExitStack on every public call
        return self.device_current()

    def synchronize(self):
        if self.device.type == "cuda":
            self._torch.cuda.synchronize(self.device)

    @contextlib.contextmanager
    def limit_threads(self, threads):
        """PyTorch's intra-op pool at ``threads`` inside the block, as it was after it."""
        torch = self._torch
        before = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            yield
        finally:
            torch.set_num_threads(before)

    def describe(self):
        torch = self._torch
        where = "the CPU" if self.device.type == "cpu" else torch.cuda.get_device_name(self.device)
        threads = f", {torch.get_num_threads()} threads" if self.device.type == "cpu" else ""
        return f"PyTorch {torch.__version__} on {where}{threads}"
