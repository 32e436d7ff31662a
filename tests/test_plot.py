"""The plots: each writes a real PNG without a display, on every backend; a clear
message when matplotlib is missing or the path is bad."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import bpnn
from bpnn import plot
from bpnn.cli import main

pytest.importorskip("matplotlib", reason="the plots need matplotlib (pip install 'bpnn[plot]')")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def no_display(monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.delenv("DISPLAY", raising=False)


def assert_png(path, min_bytes=5000):
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert len(data) > min_bytes  # axes, curves and labels, not an empty canvas


def trained_regression(backend):
    X, T = bpnn.datasets.sin_regression()
    net = bpnn.mlp([1, 6, 1], activation="tanh", backend=backend.name, seed=0)
    history = net.fit(X, T, epochs=30, optimizer="adam", validation_data=(X[::3], T[::3]))
    return net, history, X, T


def test_loss_curve_writes_a_png(backend, tmp_path):
    _, history, _, _ = trained_regression(backend)
    fig = plot.loss_curve(history, path=tmp_path / "loss.png")
    assert_png(tmp_path / "loss.png")
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.get_lines()] == ["training loss", "validation loss"]
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), history["loss"])


def test_regression_fit_draws_the_networks_curve(backend, tmp_path):
    net, _, X, T = trained_regression(backend)
    fig = plot.regression_fit(net, X, T, path=tmp_path / "fit.png", n_points=50)
    assert_png(tmp_path / "fit.png")
    line = fig.axes[0].get_lines()[0]
    x, y = line.get_xdata(), line.get_ydata()
    assert len(x) == 50 and x[0] == pytest.approx(-1.0) and x[-1] == pytest.approx(max(X)[0])
    expected = backend.to_numpy(net.forward(np.reshape(x, (-1, 1))))[:, 0]
    np.testing.assert_allclose(y, expected, rtol=1e-12)


def test_decision_regions_writes_a_png(backend, tmp_path):
    X, T = bpnn.datasets.sin_classification()
    net = bpnn.mlp([2, 6, 2], activation="sigmoid", loss="cross_entropy", backend=backend.name,
                   seed=0)
    net.fit(X, T, epochs=5, batch_size=8, optimizer=bpnn.SGD(lr=0.5))
    plot.decision_regions(net, X, T, path=tmp_path / "regions.png", resolution=40)
    assert_png(tmp_path / "regions.png")
    labels = [row.index(1) for row in T]  # class indices work as well as one-hot rows
    plot.decision_regions(net, X, labels, path=tmp_path / "labels.png", resolution=40)
    assert_png(tmp_path / "labels.png")


def test_gradient_norms_plot_writes_a_png(backend, tmp_path):
    X, T = bpnn.datasets.sin_classification()
    records = {}
    for name in ("sigmoid", "relu"):
        net = bpnn.mlp([2, 8, 8, 8, 2], activation=name, loss="cross_entropy",
                       backend=backend.name, seed=0)
        records[name] = bpnn.gradient_norms(net, X, T)
    fig = plot.gradient_norms(records, path=tmp_path / "norms.png")
    assert_png(tmp_path / "norms.png")
    lines = fig.axes[0].get_lines()
    np.testing.assert_allclose(lines[0].get_ydata(), records["sigmoid"].error)
    assert lines[-1].get_label().startswith("0.25 per layer")


def test_plots_draw_into_given_axes():
    fig, (left, right) = plot.figure(2)
    net = bpnn.mlp([1, 3, 1], backend="numpy", seed=0)
    X, T = bpnn.datasets.sin_regression()
    history = net.fit(X, T, epochs=3)
    assert plot.loss_curve(history, ax=left) is fig
    assert plot.regression_fit(net, X, T, ax=right) is fig
    assert len(left.get_lines()) == 1 and len(right.get_lines()) == 1


def test_plots_refuse_networks_of_the_wrong_width():
    net = bpnn.mlp([2, 3, 1], backend="numpy", seed=0)
    with pytest.raises(ValueError, match="one input; this one has 2"):
        plot.regression_fit(net, [[0.0, 1.0]], [0.0])
    net = bpnn.mlp([1, 3, 2], backend="numpy", seed=0)
    with pytest.raises(ValueError, match="two inputs; this one has 1"):
        plot.decision_regions(net, [[0.0]], [0])


def test_empty_history_is_a_clear_error():
    with pytest.raises(ValueError, match="no loss to plot"):
        plot.loss_curve([])


@pytest.mark.parametrize(("name", "message"), [
    ("missing/out.png", "the folder .* does not exist"),
    ("out.xyz", "the extension must be one of .*\\.png"),
])
def test_bad_paths_are_refused(tmp_path, name, message):
    with pytest.raises(ValueError, match=message):
        plot.check_path(tmp_path / name)


def test_without_matplotlib_the_message_says_what_to_install(monkeypatch):
    for module in [name for name in sys.modules if name.startswith("matplotlib")]:
        monkeypatch.delitem(sys.modules, module)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now fails
    with pytest.raises(ImportError, match=r"pip install \"bpnn\[plot\]\""):
        plot.loss_curve([1.0, 0.5])


@pytest.mark.parametrize(("demo", "options"), [
    ("sin-regression", ["--epochs", "50"]),
    ("sin-classification", ["--epochs", "3"]),
    ("vanishing-gradient", ["--epochs", "2"]),
])
def test_every_demo_saves_its_picture(tmp_path, capsys, demo, options):
    path = tmp_path / f"{demo}.png"
    assert main(["demo", demo, "--backend", "numpy", *options, "--plot", str(path)]) == 0
    assert f"picture saved to {path}" in capsys.readouterr().out
    assert_png(path, min_bytes=20000)


def test_demo_with_a_bad_plot_path_fails_before_training(tmp_path, capsys):
    code = main(["demo", "sin-regression", "--plot", str(tmp_path / "no" / "x.png")])
    captured = capsys.readouterr()
    assert code == 2 and "does not exist" in captured.err
    assert "Epoch" not in captured.out  # refused before any work was done
