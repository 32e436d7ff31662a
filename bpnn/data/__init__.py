"""Training data beyond in-memory arrays: files, memory maps, shard folders, iterators.

:mod:`~bpnn.data.rows` reads rows on the host (with NumPy), :mod:`~bpnn.data.stream`
streams them batch by batch, and :mod:`~bpnn.data.epochs` gives the training loop one
epoch's device batches, for arrays and streams alike.
"""

from .epochs import ArrayEpochs, IteratorEpochs, StreamEpochs, batch_bounds, epochs_for
from .stream import IteratorStream, RowStream, is_batch_iterator

__all__ = ["ArrayEpochs", "IteratorEpochs", "IteratorStream", "RowStream", "StreamEpochs",
           "batch_bounds", "epochs_for", "is_batch_iterator"]
