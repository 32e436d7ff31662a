"""The seed tutorial's two examples, as documented demos.

* ``sin_regression``: a 1-3-1 network (sigmoid hidden, identity output,
  squared error) learns ``y = sin x`` by online SGD, lr 0.1, 2001 epochs,
  weights and biases drawn as ``0.01 * randn``.
* ``sin_classification``: a 2-6-2 network (sigmoid hidden, softmax output,
  cross-entropy) learns which side of a sine wave a point lies on, online SGD,
  lr 0.1, 101 epochs.

Both log in the seed's form, ``Epoch:100/2001 Error:0.0165``.
"""

from __future__ import annotations

import time

from . import datasets
from .builders import mlp
from .callbacks import LambdaCallback
from .initializers import Normal
from .optimizers import SGD

#: The default seed of the demos (the seed document gives none).
DEFAULT_SEED = 0


class DemoResult:
    """What a demo returns: the trained network, its history and its final figures."""

    def __init__(self, network, history, seconds, **figures):
        self.network = network
        self.history = history
        self.seconds = seconds
        self.figures = figures

    def __getitem__(self, key):
        return self.figures[key]


def _epoch_logger(epochs, log_every, write, extra=None):
    def on_epoch_end(epoch, logs):
        if epoch % log_every == 0 or epoch == epochs - 1:
            line = f"Epoch:{epoch}/{epochs} Error:{logs['loss']:.6g}"
            if extra is not None:
                line += extra()
            write(line)

    return LambdaCallback(on_epoch_end=on_epoch_end)


def sin_regression(backend=None, seed=DEFAULT_SEED, epochs=2001, lr=0.1, log_every=100,
                   dtype="float64", write=print):
    """Train the seed's 1-3-1 sin regression and log its learning curve.

    Parameters
    ----------
    backend : str, optional
        Backend name; by default ``BPNN_BACKEND`` or ``"auto"``.
    seed : int, default 0
    epochs : int, default 2001
    lr : float, default 0.1
    log_every : int, default 100
    dtype : {"float64", "float32"}
    write : callable
        Receives each log line (``print`` by default; ``None`` for silence).

    Returns
    -------
    DemoResult
        ``result["error"]`` is the last epoch's mean error.
    """
    X, T = datasets.sin_regression()
    network = mlp([1, 3, 1], activation="sigmoid", loss="squared_error", init=Normal(0.01),
                  backend=backend, dtype=dtype, seed=seed)
    callbacks = [] if write is None else [_epoch_logger(epochs, log_every, write)]
    start = time.perf_counter()
    history = network.fit(X, T, epochs=epochs, batch_size=1, optimizer=SGD(lr=lr),
                          callbacks=callbacks)
    seconds = time.perf_counter() - start
    return DemoResult(network, history, seconds, error=history["loss"][-1])


def accuracy(network, X, T):
    """The fraction of rows whose largest output is the one-hot target's class."""
    xp = network.xp
    Y = network.forward(X)
    T = network.backend.asarray(T)
    hits = xp.argmax(Y, axis=1) == xp.argmax(T, axis=1)
    return float(xp.mean(xp.astype(hits, network.dtype)))


def sin_classification(backend=None, seed=DEFAULT_SEED, epochs=101, lr=0.1, log_every=10,
                       dtype="float64", write=print):
    """Train the seed's 2-6-2 sine-boundary classifier and log error and accuracy.

    Parameters are those of :func:`sin_regression`; ``log_every`` defaults to 10.

    Returns
    -------
    DemoResult
        ``result["error"]`` (last epoch's mean cross-entropy) and
        ``result["accuracy"]`` (training accuracy after the last epoch).
    """
    X, T = datasets.sin_classification()
    network = mlp([2, 6, 2], activation="sigmoid", loss="cross_entropy", init=Normal(0.01),
                  backend=backend, dtype=dtype, seed=seed)
    callbacks = []
    if write is not None:
        callbacks.append(_epoch_logger(epochs, log_every, write,
                                       extra=lambda: f" Accuracy:{accuracy(network, X, T):.4f}"))
    start = time.perf_counter()
    history = network.fit(X, T, epochs=epochs, batch_size=1, optimizer=SGD(lr=lr),
                          callbacks=callbacks)
    seconds = time.perf_counter() - start
    return DemoResult(network, history, seconds, error=history["loss"][-1],
                      accuracy=accuracy(network, X, T))


#: The demos by their command-line names.
DEMOS = {"sin-regression": sin_regression, "sin-classification": sin_classification}
