"""Training data beyond in-memory arrays: files, memory maps, shard folders, iterators."""

from .epochs import ArrayEpochs, IteratorEpochs, StreamEpochs, batch_bounds, epochs_for
from .stream import IteratorStream, RowStream, is_batch_iterator

__all__ = ["ArrayEpochs", "IteratorEpochs", "IteratorStream", "RowStream", "StreamEpochs",
           "batch_bounds", "epochs_for", "is_batch_iterator"]
