"""Callbacks of :meth:`Network.fit`: the protocol, the history, and the built-ins.

=====================  ===========================================================
:class:`Callback`      the protocol: ``on_train_begin``, ``on_epoch_begin``,
                       ``on_batch_end``, ``on_epoch_end``, ``on_train_end``
:class:`History`       the per-epoch logs (``fit`` returns one)
:class:`EarlyStopping` stop when a figure stops improving; keep the best weights
:class:`CSVLogger`     one CSV row per epoch
:class:`LearningRateScheduler`, :class:`ReduceLROnPlateau`  learning-rate control
:class:`GradientMonitor`  per-layer gradient norms every epoch
:class:`ProgressBar`, :class:`EpochLogger`  what ``verbose=1`` and ``verbose=2`` show
=====================  ===========================================================
"""

from .base import Callback, History, LambdaCallback, overrides
from .csv_logger import CSVLogger
from .early_stopping import EarlyStopping
from .gradient_monitor import GradientMonitor
from .monitor import MonitorCallback
from .progress import EpochLogger, ProgressBar
from .schedules import LearningRateScheduler, ReduceLROnPlateau

__all__ = [
    "CSVLogger",
    "Callback",
    "EarlyStopping",
    "EpochLogger",
    "GradientMonitor",
    "History",
    "LambdaCallback",
    "LearningRateScheduler",
    "MonitorCallback",
    "ProgressBar",
    "ReduceLROnPlateau",
    "overrides",
]
