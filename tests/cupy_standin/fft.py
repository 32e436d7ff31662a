"""Stand-in for ``cupy.fft``: nothing of it is used by bpnn; present because the Array API
wrapper imports it."""

__all__: list = []
