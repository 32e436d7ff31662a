"""Tabular data for the command line: reading tables and the model that knows its table.

:mod:`~bpnn.tabular.tables` reads CSV, Parquet, ``.npy``/``.npz`` files and shard
folders on the host (with NumPy, and pyarrow for Parquet) with the checks a shell
user needs; :mod:`~bpnn.tabular.model` holds :class:`TabularModel`, the network with
its column names, classes and standardization that ``bpnn train`` writes and
``bpnn predict`` reads.
"""

from .model import TASKS, TabularModel

__all__ = ["TASKS", "TabularModel"]
