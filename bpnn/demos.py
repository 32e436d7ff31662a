"""The seed tutorial's two examples, as documented demos.

* ``sin_regression``: a 1-3-1 network (sigmoid hidden, identity output,
  squared error) learns ``y = sin x`` by online SGD, lr 0.1, 2001 epochs,
  weights and biases drawn as ``0.01 * randn``.
* ``sin_classification``: a 2-6-2 network (sigmoid hidden, softmax output,
  cross-entropy) learns which side of a sine wave a point lies on, online SGD,
  lr 0.1, 101 epochs.
* ``vanishing_gradient``: the seed's warning made visible.  Ten sigmoid
  hidden layers and ten ReLU hidden layers on the sine-boundary task: the
  error reaching each layer, layer by layer, against the 0.25 bound, and
  which of the two networks learned.

They log in the seed's form, ``Epoch:100/2001 Error:0.0165``; each result
draws its picture with ``result.plot("file.png")`` (needs matplotlib).
"""

from __future__ import annotations

import time

from . import datasets
from .builders import mlp
from .callbacks import GradientMonitor, LambdaCallback
from .initializers import Normal
from .optimizers import SGD

#: The default seed of the demos (the seed document gives none).
DEFAULT_SEED = 0


class DemoResult:
    """What a demo returns: the trained network, its history and its final figures.

    ``result["error"]`` and the like read :attr:`figures`; :meth:`plot` draws
    the demo's picture.
    """

    def __init__(self, network, history, seconds, plotter=None, **figures):
        self.network = network
        self.history = history
        self.seconds = seconds
        self.figures = figures
        self._plotter = plotter

    def __getitem__(self, key):
        return self.figures[key]

    def plot(self, path=None):
        """Draw the demo's picture (and save it to ``path``); returns the matplotlib Figure."""
        from . import plot

        fig = self._plotter(plot)
        if path is not None:
            plot.save_figure(fig, path)
        return fig


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

    def plotter(plot):
        fig, (left, right) = plot.figure(2)
        plot.regression_fit(network, X, T, ax=left, title="y = sin x, 1-3-1 network")
        plot.loss_curve(history, ax=right)
        return fig

    return DemoResult(network, history, seconds, plotter, error=history["loss"][-1])


def accuracy(network, X, T):
    """The fraction of rows whose largest output is the one-hot target's class."""
    xp = network.xp
    with network.backend.scope():
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

    def plotter(plot):
        fig, (left, right) = plot.figure(2)
        plot.decision_regions(network, X, T, ax=left, title="Above or below the sine, 2-6-2")
        plot.loss_curve(history, ax=right)
        return fig

    return DemoResult(network, history, seconds, plotter, error=history["loss"][-1],
                      accuracy=accuracy(network, X, T))


def vanishing_gradient(backend=None, seed=DEFAULT_SEED, epochs=300, lr=0.02, depth=10,
                       width=16, log_every=50, dtype="float64", write=print):
    """Deep sigmoid against deep ReLU: the seed's vanishing gradient, measured.

    Two networks of ``depth`` hidden layers of ``width`` units, one with
    sigmoid and one with ReLU (each with its suited initializer: Glorot,
    He), learn the sine-boundary task with SGD (momentum 0.9, batch 16).
    Before training the demo measures the error reaching each layer (see
    :mod:`bpnn.diagnostics`), prints it layer by layer with its ratio to the
    next layer's and the activation's bound (0.25 for sigmoid), then trains
    both and says which learned.

    Parameters
    ----------
    backend, seed, dtype, write
        As for :func:`sin_regression`.
    epochs : int, default 300
    lr : float, default 0.02
    depth : int, default 10
    width : int, default 16
    log_every : int, default 50

    Returns
    -------
    DemoResult
        ``network`` and ``history`` are the ReLU network's;
        ``result["sigmoid"]`` and ``result["relu"]`` hold for each network
        ``network``, ``history``, ``accuracy``, ``error`` and ``monitor``
        (a :class:`GradientMonitor` with the norms before training and after
        every ``log_every`` epochs).
    """
    X, T = datasets.sin_classification()
    say = write or (lambda line: None)
    runs = {}
    start = time.perf_counter()
    for name in ("sigmoid", "relu"):
        network = mlp([2, *[width] * depth, 2], activation=name, loss="cross_entropy",
                      backend=backend, dtype=dtype, seed=seed)
        monitor = GradientMonitor(X, T, every=log_every)
        callbacks = [monitor]
        if write is not None:
            callbacks.append(_epoch_logger(epochs, log_every, lambda line, name=name: say(
                f"{name:<7} {line}")))
        history = network.fit(X, T, epochs=epochs, batch_size=16,
                              optimizer=SGD(lr=lr, momentum=0.9), callbacks=callbacks)
        runs[name] = {"network": network, "history": history, "monitor": monitor,
                      "error": history["loss"][-1], "accuracy": accuracy(network, X, T)}
    seconds = time.perf_counter() - start

    chance = max(sum(row[0] for row in T), sum(row[1] for row in T)) / len(T)
    for name, run in runs.items():
        before = run["monitor"].records[0]
        say("")
        say(f"{name} network, {depth} hidden layers of {width}: the error reaching each layer "
            "before training (layer 1 = input side)")
        say(before.table())
        shrink = before.error[0] / before.error[-1]
        say(f"from the output back to layer 1 the error shrank to {shrink:.3g} of its size "
            f"(the seed's 0.25 per sigmoid layer: 0.25^{depth} = {0.25 ** depth:.3g})")
    say("")
    for name, run in runs.items():
        verdict = "learned" if run["accuracy"] >= 0.9 else (
            f"did not learn (always answering the larger class gives {chance:.2f})")
        say(f"{name:<7} after {epochs} epochs: loss {run['error']:.4f}, "
            f"accuracy {run['accuracy']:.4f} - {verdict}")

    def plotter(plot):
        fig, (left, right) = plot.figure(2)
        plot.gradient_norms({f"{name} (before training)": run["monitor"]
                             for name, run in runs.items()}, ax=left)
        plot.loss_curve({f"{name} network": run["history"]["loss"]
                         for name, run in runs.items()}, ax=right,
                        title=f"Learning curves, {depth} hidden layers")
        return fig

    relu = runs["relu"]
    return DemoResult(relu["network"], relu["history"], seconds, plotter, **runs)


#: The demos by their command-line names.
DEMOS = {"sin-regression": sin_regression, "sin-classification": sin_classification,
         "vanishing-gradient": vanishing_gradient}
