"""array-api-strict: the standard's reference implementation.

Slow, but it refuses everything the standard does not define, so the suite
running on it proves the math uses nothing library-specific.
"""

from __future__ import annotations

import numpy as np

from .base import Backend


class StrictBackend(Backend):
    """Arrays of ``array_api_strict`` on its default (CPU) device."""

    name = "array_api_strict"
    library = "array_api_strict"

    @classmethod
    def availability(cls):
        try:
            import array_api_strict  # noqa: F401
        except ImportError:
            return False, "array-api-strict is not installed (pip install array-api-strict)"
        return True, ""

    def __init__(self, device=None):
        import array_api_strict as xp

        self.xp = xp
        self.device = xp.Device() if device is None else device
        self._array_type = type(xp.asarray(0.0))

    def owns(self, x):
        return isinstance(x, self._array_type)

    def to_numpy(self, x, copy=False):
        # The standard's route off a device is DLPack; copy so the result owns its memory.
        return np.array(np.from_dlpack(x), copy=True)

    def errstate(self):
        """NumPy's ``errstate`` with overflow, invalid and divide ignored (bpnn checks
        for non-finite results itself)."""
        return np.errstate(over="ignore", invalid="ignore", divide="ignore")

    def describe(self):
        import array_api_strict as xp

        return (f"array-api-strict {xp.__version__} (Array API {xp.__array_api_version__}) "
                f"on {self.device}")
