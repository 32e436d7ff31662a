"""Pictures of training: learning curves, fitted curves, decision regions, gradient norms.

Needs matplotlib (``pip install "bpnn[plot]"``); the rest of bpnn works
without it.  Every function draws into ``ax`` when given one (a matplotlib
Axes), else into a new Figure, which is made without pyplot and so needs no
display; with ``path`` the figure is also saved there (the format follows the
extension: ``.png``, ``.svg``, ``.pdf``...).  Each returns the Figure.
"""

from __future__ import annotations

import os

from .errors import InputError, MissingDependency
from .validation import writable_path
from .writing import open_atomic

_INSTALL_HINT = ("bpnn's plots need matplotlib: pip install \"bpnn[plot]\" "
                 "(or pip install matplotlib)")


def require_matplotlib():
    """Import matplotlib, or raise :class:`~bpnn.errors.MissingDependency` (an ``ImportError``)
    that says what to install."""
    try:
        import matplotlib
    except ImportError:
        raise MissingDependency(_INSTALL_HINT) from None
    return matplotlib


def check_path(path, inputs=()):
    """Check, before any training, that a figure can be saved at ``path``.

    Parameters
    ----------
    path : str or path-like
    inputs : iterable of str or path-like or None
        Files the caller reads or writes otherwise: writing over one is refused.

    Raises
    ------
    MissingDependency
        An ``ImportError``: matplotlib is not installed.
    ValueError
        The path cannot be written (:func:`~bpnn.validation.writable_path`) or
        matplotlib cannot write the extension.
    """
    require_matplotlib()
    from matplotlib.backend_bases import FigureCanvasBase

    path = writable_path(path, "the plot", inputs)
    extension = os.path.splitext(path)[1].lstrip(".").lower()
    formats = FigureCanvasBase.get_supported_filetypes()
    if extension not in formats:
        raise InputError(f"cannot save the plot to {path!r}: the extension must be one of "
                         f"{', '.join('.' + name for name in sorted(formats))}")
    return path


def figure(n_columns=1, width=5.0, height=3.8):
    """A new Figure (no pyplot, no display) with ``n_columns`` Axes side by side."""
    require_matplotlib()
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * n_columns, height), layout="constrained")
    axes = fig.subplots(1, n_columns, squeeze=False)[0]
    return fig, list(axes)


def _target(ax):
    if ax is not None:
        return ax.figure, ax
    fig, (ax,) = figure()
    return fig, ax


def _finish(fig, ax, path, title, xlabel, ylabel, legend=True):
    """Label the axes, title them, add the legend, save to ``path``; the figure."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if legend:
        ax.legend()
    if path is not None:
        save_figure(fig, path)
    return fig


def save_figure(fig, path):
    """Save the matplotlib Figure ``fig`` to ``path`` atomically (:mod:`bpnn.writing`),
    in the format its extension names; ``path``."""
    path = check_path(path)
    with open_atomic(path, "the plot") as file:
        fig.savefig(file, format=os.path.splitext(path)[1][1:].lower(), dpi=110)
    return path


def _host_data(model, X, y, n_inputs, function, hint=""):
    """``(X, y)`` as host arrays, after checking the model has ``n_inputs`` inputs."""
    if model.n_features != n_inputs:
        words = {1: "one input", 2: "two inputs"}[n_inputs]
        raise InputError(f"{function} draws networks with {words}; this one has "
                         f"{model.n_features}{hint}")
    with model._scope(X):
        backend = model.backend
        return backend.to_numpy(model._inputs(X)), backend.to_numpy(backend.asarray(y))


def loss_curve(history, ax=None, path=None, log=True, title="Learning curve"):
    """Training (and validation) loss per epoch.

    Parameters
    ----------
    history : History, dict of str to list of float, or list of float
        A ``fit`` result or its ``history`` dict (its ``loss`` and
        ``val_loss`` are drawn), curves by label (e.g. one per network), or
        one curve.
    ax : matplotlib Axes, optional
    path : str, optional
        Save the figure there.
    log : bool, default True
        A logarithmic loss axis.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    curves = getattr(history, "history", history)
    if not isinstance(curves, dict):
        curves = {"loss": list(curves)}
    labels = {"loss": "training loss", "val_loss": "validation loss"}
    if any(key in curves for key in labels):  # a History: its losses, not "lr" or metrics
        curves = {labels[key]: curves[key] for key in labels if key in curves}
    curves = {label: list(values) for label, values in curves.items() if len(values)}
    if not curves:
        raise InputError("the history holds no loss to plot")
    fig, ax = _target(ax)
    for label, values in curves.items():
        ax.plot(range(len(values)), values, label=label, marker="o" if len(values) < 30 else None)
    if log and all(value > 0 for values in curves.values() for value in values):
        ax.set_yscale("log")
    return _finish(fig, ax, path, title, "epoch", "loss")


def regression_fit(model, X, y, ax=None, path=None, n_points=400, title="Fitted curve"):
    """The network's curve over the data of a 1-D regression (the seed's sin picture).

    Parameters
    ----------
    model : Network
        Trained, with one input.
    X : array_like, shape (n_samples, 1)
    y : array_like, shape (n_samples,) or (n_samples, n_outputs)
        The targets; the first output is drawn.
    n_points : int, default 400
        Points of the drawn curve, evenly spaced over the range of ``X``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    x, t = _host_data(model, X, y, 1, "regression_fit", " (use decision_regions for two)")
    backend, xp = model.backend, model.xp
    x = x[:, 0]
    with backend.scope():  # device= too: PyTorch makes arrays without it on the CPU
        grid = xp.reshape(xp.linspace(float(x.min()), float(x.max()), n_points,
                                      dtype=model.dtype, device=backend.device), (-1, 1))
        curve = backend.to_numpy(model.forward(grid))
        grid = backend.to_numpy(grid)
    fig, ax = _target(ax)
    ax.scatter(x, t.reshape(len(x), -1)[:, 0], s=12, color="tab:gray", label="data", zorder=2)
    ax.plot(grid[:, 0], curve[:, 0], color="tab:red", label="network", zorder=3)
    return _finish(fig, ax, path, title, "x", "y")


def decision_regions(model, X, y, ax=None, path=None, resolution=200, title="Decision regions"):
    """The class the network picks over the plane, with the data on top (2-D inputs).

    Parameters
    ----------
    model : Network
        Trained, with two inputs; the class is the largest output (or
        output > 0.5 for one sigmoid output).
    X : array_like, shape (n_samples, 2)
    y : array_like, shape (n_samples,) of class indices, or one-hot (n_samples, n_classes)
    resolution : int, default 200
        Grid points along each axis.

    Returns
    -------
    matplotlib.figure.Figure
    """
    points, labels = _host_data(model, X, y, 2, "decision_regions")
    backend, xp = model.backend, model.xp
    if labels.ndim == 2 and labels.shape[1] > 1:
        labels = labels.argmax(axis=1)
    labels = labels.reshape(-1)
    if labels.shape[0] != points.shape[0]:
        raise InputError(f"y has {labels.shape[0]} rows, X has {points.shape[0]}")
    (x0, y0), (x1, y1) = points.min(axis=0), points.max(axis=0)
    pad_x, pad_y = 0.05 * (x1 - x0 or 1.0), 0.05 * (y1 - y0 or 1.0)
    with backend.scope():  # device= too: PyTorch makes arrays without it on the CPU
        gx = xp.linspace(float(x0 - pad_x), float(x1 + pad_x), resolution, dtype=model.dtype,
                         device=backend.device)
        gy = xp.linspace(float(y0 - pad_y), float(y1 + pad_y), resolution, dtype=model.dtype,
                         device=backend.device)
        GX, GY = xp.meshgrid(gx, gy)
        grid = xp.stack([xp.reshape(GX, (-1,)), xp.reshape(GY, (-1,))], axis=1)
        Y = model.forward(grid)
        picked = Y[:, 0] > 0.5 if Y.shape[1] == 1 else xp.argmax(Y, axis=1)
        regions = backend.to_numpy(xp.reshape(picked, (resolution, resolution)))
        GX, GY = backend.to_numpy(GX), backend.to_numpy(GY)
    n_classes = int(max(labels.max(), regions.max())) + 1
    fig, ax = _target(ax)
    ax.contourf(GX, GY, regions,
                levels=[level - 0.5 for level in range(n_classes + 1)], cmap="coolwarm",
                alpha=0.35)
    ax.scatter(points[:, 0], points[:, 1], c=labels, cmap="coolwarm", s=14,
               vmin=0, vmax=max(n_classes - 1, 1), edgecolors="k", linewidths=0.3)
    return _finish(fig, ax, path, title, "x₁", "x₂", legend=False)


def gradient_norms(norms, ax=None, path=None, title="Error reaching each layer",
                   reference=0.25):
    """``‖δ_l‖`` per layer on a log scale, for one network or several side by side.

    Parameters
    ----------
    norms : GradientNorms, GradientMonitor, or dict of str to either
        One record (a monitor gives its first record, before training), or
        several by label, e.g. ``{"sigmoid": a, "relu": b}``.
    reference : float or None, default 0.25
        Also draw ``reference^k`` decay from the first network's output
        layer back: the seed's bound for sigmoid layers.

    Returns
    -------
    matplotlib.figure.Figure
    """
    series = norms if isinstance(norms, dict) else {"": norms}
    series = {label: getattr(item, "records", [item])[0] for label, item in series.items()}
    fig, ax = _target(ax)
    for label, record in series.items():
        layers = range(1, len(record.error) + 1)
        ax.plot(layers, record.error, marker="o", label=label or None)
    if reference:
        first = next(iter(series.values())).error
        depth = len(first)
        ax.plot(range(1, depth + 1), [first[-1] * reference ** (depth - 1 - index)
                                      for index in range(depth)],
                linestyle=":", color="tab:gray", label=f"{reference:g} per layer (seed bound)")
    ax.set_yscale("log")
    return _finish(fig, ax, path, title, "layer (1 = input side)", "‖error‖ at the layer")
