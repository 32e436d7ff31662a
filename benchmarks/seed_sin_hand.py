"""The seed tutorial's 1-3-1 sin regression, written by hand in plain NumPy.

This is the seed's own program ("implemented in Python only, without a deep
learning library"): a ``MiddleLayer`` class (sigmoid) and an ``OutputLayer``
class (identity), each with ``forward``, ``backward`` and ``update``, trained
by online SGD on ``sin x`` for 2001 epochs with ``eta = 0.1``.  It serves as
the baseline that ``bpnn demo sin-regression`` is measured against (see
``compare_seed_sin.py``).

Two changes from the seed, both so that the run can be compared number for
number with bpnn's demo:

* the random numbers come from ``np.random.Generator(np.random.PCG64(seed))``
  instead of the global ``np.random``, drawn in bpnn's order (``W1, b1, W2,
  b2``, then one shuffle of ``arange(63)`` per epoch, which draws exactly what
  ``generator.permutation(63)`` draws);
* the error is summed over every epoch, not only over the logged ones, since
  bpnn records the mean error of every epoch: both then do the same work.

Run ``python benchmarks/seed_sin_hand.py`` for the log and the time, and add
``--check`` to print bpnn's learning curve beside it.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

#: The seed's initial weight scale, ``wb_width``.
WB_WIDTH = 0.01


class MiddleLayer:
    """A sigmoid layer, ``y = 1 / (1 + exp(-(x w + b)))``.

    Parameters
    ----------
    n_upper : int
        Number of inputs (neurons of the layer below).
    n : int
        Number of neurons.
    rng : numpy.random.Generator
        Draws ``w`` then ``b`` as ``0.01 * standard_normal``.
    """

    def __init__(self, n_upper, n, rng):
        self.w = WB_WIDTH * rng.standard_normal((n_upper, n))
        self.b = WB_WIDTH * rng.standard_normal((n,))

    def forward(self, x):
        """Compute and store ``self.y`` for the input ``x`` (kept as ``self.x``)."""
        self.x = x
        u = x @ self.w + self.b
        self.y = 1 / (1 + np.exp(-u))

    def backward(self, grad_y):
        """Gradients of ``w``, ``b`` and the input from ``grad_y = dE/dy``."""
        delta = grad_y * (1 - self.y) * self.y
        self.grad_w = self.x.T @ delta
        self.grad_b = delta.sum(axis=0)
        self.grad_x = delta @ self.w.T

    def update(self, eta):
        """One gradient-descent step with learning rate ``eta``."""
        self.w -= eta * self.grad_w
        self.b -= eta * self.grad_b


class OutputLayer:
    """An identity output layer, ``y = x w + b``, for the squared error.

    Parameters
    ----------
    n_upper : int
        Number of inputs.
    n : int
        Number of outputs.
    rng : numpy.random.Generator
        Draws ``w`` then ``b`` as ``0.01 * standard_normal``.
    """

    def __init__(self, n_upper, n, rng):
        self.w = WB_WIDTH * rng.standard_normal((n_upper, n))
        self.b = WB_WIDTH * rng.standard_normal((n,))

    def forward(self, x):
        """Compute and store ``self.y`` for the input ``x`` (kept as ``self.x``)."""
        self.x = x
        u = x @ self.w + self.b
        self.y = u

    def backward(self, t):
        """Gradients from the target ``t``: the output delta is ``y - t``."""
        delta = self.y - t
        self.grad_w = self.x.T @ delta
        self.grad_b = delta.sum(axis=0)
        self.grad_x = delta @ self.w.T

    def update(self, eta):
        """One gradient-descent step with learning rate ``eta``."""
        self.w -= eta * self.grad_w
        self.b -= eta * self.grad_b


def sin_data():
    """The seed's data: ``x = arange(0, 2 pi, 0.1)`` scaled to ``[-1, 1)``, ``t = sin x``.

    Returns
    -------
    input_data : ndarray, shape (63,)
        ``(x - pi) / pi``.
    correct_data : ndarray, shape (63,)
        ``sin x``.
    """
    input_data = np.arange(0, np.pi * 2, 0.1)
    correct_data = np.sin(input_data)
    input_data = (input_data - np.pi) / np.pi
    return input_data, correct_data


def train(epochs=2001, seed=0, log_every=100, write=print, curve=None):
    """Train the seed's 1-3-1 network on ``sin x`` by online SGD.

    Parameters
    ----------
    epochs : int, default 2001
    seed : int, default 0
        Seed of the ``PCG64`` generator that draws the weights and the
        shuffles (bpnn's demo draws the same numbers for the same seed).
    log_every : int, default 100
        Write ``Epoch:i/epochs Error:e`` when ``i % log_every == 0``.
    write : callable or None, default print
        Receives each log line; ``None`` for silence.
    curve : list, optional
        When given, each epoch's mean error is appended to it.

    Returns
    -------
    error : float
        The last epoch's mean error, ``1/n sum_samples 1/2 sum (y - t)^2``,
        each sample's error taken before its own update.
    seconds : float
        Wall-clock time of the whole run (data, weights and training).
    """
    start = time.perf_counter()
    eta = 0.1
    rng = np.random.Generator(np.random.PCG64(seed))
    input_data, correct_data = sin_data()
    n_data = len(correct_data)

    middle_layer = MiddleLayer(1, 3, rng)
    output_layer = OutputLayer(3, 1, rng)

    total_error = 0.0
    for i in range(epochs):
        index_random = np.arange(n_data)
        rng.shuffle(index_random)
        total_error = 0.0
        for idx in index_random:
            x = input_data[idx:idx + 1].reshape(1, 1)
            t = correct_data[idx:idx + 1].reshape(1, 1)

            middle_layer.forward(x)
            output_layer.forward(middle_layer.y)

            output_layer.backward(t)
            middle_layer.backward(output_layer.grad_x)

            middle_layer.update(eta)
            output_layer.update(eta)

            y = output_layer.y
            total_error += 0.5 * np.sum(np.square(y - t))
        error = total_error / n_data
        if curve is not None:
            curve.append(float(error))
        if write is not None and i % log_every == 0:
            write(f"Epoch:{i}/{epochs} Error:{error}")
    return float(total_error / n_data), time.perf_counter() - start


def bpnn_curve(epochs=2001, seed=0):
    """bpnn's learning curve for the same run: ``sin_regression`` on the NumPy backend.

    Parameters
    ----------
    epochs : int, default 2001
    seed : int, default 0

    Returns
    -------
    list of float
        The mean error of each epoch (``history["loss"]``).
    """
    from bpnn.demos import sin_regression

    result = sin_regression(backend="numpy", seed=seed, epochs=epochs, write=None)
    return list(result.history["loss"])


def compare_curves(hand, reference):
    """The largest absolute and relative difference between two learning curves.

    Parameters
    ----------
    hand, reference : sequence of float
        Per-epoch errors of equal length.

    Returns
    -------
    max_abs, max_rel : float
    """
    a = np.asarray(hand, dtype=np.float64)
    b = np.asarray(reference, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"curves of different lengths: {a.size} and {b.size}")
    diff = np.abs(a - b)
    return float(diff.max()), float((diff / np.abs(b)).max())


def main(argv=None):
    """Run the hand-written loop and print its log and time (and bpnn's curve with ``--check``)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=2001)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--log-every", type=int, default=100)
    parser.add_argument("--check", action="store_true",
                        help="also run bpnn's demo (NumPy backend) and print both curves")
    args = parser.parse_args(argv)

    curve = []
    error, seconds = train(args.epochs, args.seed, args.log_every, curve=curve)
    print(f"final mean error {error:.6g}; {seconds:.2f} s "
          f"({seconds / (args.epochs * 63) * 1e6:.1f} us per step)")
    if args.check:
        reference = bpnn_curve(args.epochs, args.seed)
        print(f"\n{'epoch':>6}  {'hand':>24}  {'bpnn':>24}  {'rel. diff':>9}")
        for i in range(0, args.epochs, args.log_every):
            rel = abs(curve[i] - reference[i]) / abs(reference[i])
            print(f"{i:>6}  {curve[i]!r:>24}  {reference[i]!r:>24}  {rel:9.1e}")
        max_abs, max_rel = compare_curves(curve, reference)
        print(f"over all {args.epochs} epochs: max |hand - bpnn| = {max_abs:.3g}, "
              f"max relative difference = {max_rel:.3g}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
