"""bpnn: backpropagation neural networks, written once against the Array API standard.

The same math runs on NumPy (CPU), CuPy (CUDA GPU), PyTorch and
array-api-strict; :mod:`bpnn.backends` picks one.

Examples
--------
>>> import bpnn
>>> X, T = bpnn.datasets.sin_regression()          # the seed's 63 points of sin(x)
>>> net = bpnn.mlp([1, 3, 1], activation="sigmoid", init=bpnn.Normal(0.01), seed=0)
>>> history = net.fit(X, T, epochs=100, batch_size=1, optimizer=bpnn.SGD(lr=0.1))
>>> history["loss"][-1] < 0.2 * history["loss"][0]
True
"""

import importlib

from ._version import __version__
from . import activations, callbacks, datasets, diagnostics, files, initializers, losses, plot
from . import training  # noqa: F401 - it registers what Network.fit calls (files: .save)
from . import export  # noqa: F401 - it registers what Network.to_onnx calls
from .activations import ACTIVATIONS, get_activation, register_activation
from .backends import available_backends, get_backend
from .builders import mlp
from .callbacks import (
    CSVLogger,
    Callback,
    EarlyStopping,
    GradientMonitor,
    History,
    LambdaCallback,
    LearningRateScheduler,
    ReduceLROnPlateau,
)
from .diagnostics import GradientNorms, gradient_norms
from .initializers import (
    INITIALIZERS,
    GlorotNormal,
    GlorotUniform,
    HeNormal,
    HeUniform,
    Normal,
    get_initializer,
    register_initializer,
)
from .layers import LAYERS, RBF, Activation, Dense, Dropout, Layer, register_layer
from .losses import LOSSES, get_loss, register_loss
from .network import Network
from .optimizers import SGD, Adam, Optimizer, RMSprop, get_optimizer, register_optimizer
from .divergence import DivergenceError
from .files import ModelFileError, WriteError, load, save


def __getattr__(name):
    # the estimators import scikit-learn: only when they are asked for
    if name in ("MLPClassifier", "MLPRegressor", "estimators"):
        estimators = importlib.import_module(".estimators", __name__)
        return estimators if name == "estimators" else getattr(estimators, name)
    raise AttributeError(f"module 'bpnn' has no attribute {name!r}")


__all__ = [
    "ACTIVATIONS",
    "INITIALIZERS",
    "LAYERS",
    "LOSSES",
    "RBF",
    "SGD",
    "Activation",
    "Adam",
    "CSVLogger",
    "Callback",
    "Dense",
    "DivergenceError",
    "Dropout",
    "EarlyStopping",
    "GlorotNormal",
    "GlorotUniform",
    "GradientMonitor",
    "GradientNorms",
    "HeNormal",
    "HeUniform",
    "History",
    "LambdaCallback",
    "Layer",
    "LearningRateScheduler",
    "MLPClassifier",
    "MLPRegressor",
    "ModelFileError",
    "Network",
    "Normal",
    "Optimizer",
    "RMSprop",
    "ReduceLROnPlateau",
    "WriteError",
    "activations",
    "available_backends",
    "callbacks",
    "datasets",
    "diagnostics",
    "files",
    "get_activation",
    "get_backend",
    "get_initializer",
    "get_loss",
    "get_optimizer",
    "gradient_norms",
    "initializers",
    "load",
    "losses",
    "mlp",
    "plot",
    "register_activation",
    "register_initializer",
    "register_layer",
    "register_loss",
    "register_optimizer",
    "save",
]
