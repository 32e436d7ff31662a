"""The ``mlp`` workload: 784-256-256-10 ReLU, softmax cross-entropy, plain SGD.

Training samples per second over one epoch (after a warm-up epoch), for bpnn
on each backend and for the peers a user would otherwise pick, each reported
as a fraction of the **GEMM-only bound**: the samples per second the same step
would reach if it were nothing but its eight matrix products (three forward,
five backward: no input gradient for the first layer), timed with the same
backend's matmul in the same run.
"""

from __future__ import annotations

import time

import numpy as np

from bpnn.callbacks import Callback

from .gemm_bound import gemm_epoch
from .timing import paired, ratios, summary, timed

SIZES = (784, 256, 256, 10)


def make_data(n_samples, dtype="float32", seed=0):
    """Gaussian inputs; labels from a random linear map, one-hot."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, SIZES[0])).astype(dtype)
    labels = np.argmax(X @ rng.standard_normal((SIZES[0], SIZES[-1])), axis=1)
    return X, np.eye(SIZES[-1], dtype=dtype)[labels], labels


def bpnn_epoch(backend_name, X, T, batch_size, dtype, repeats, bound):
    """``(seconds, bound_seconds)``: each epoch of one ``fit`` of ``repeats + 1`` epochs
    (the first is the warm-up), the data already on the device, and the epoch of
    ``bound`` run right after it: the steady state a long run sees, without the
    one-off validation of the data at the start of ``fit``."""
    import bpnn
    from bpnn.backends import get_backend

    backend = get_backend(backend_name)
    Xd = backend.asarray(X, dtype=backend.dtype(dtype))
    Td = backend.asarray(T, dtype=backend.dtype(dtype))
    net = bpnn.mlp(list(SIZES), activation="relu", loss="cross_entropy", backend=backend,
                   dtype=dtype, seed=0)
    clock = EpochClock(backend.synchronize, between=bound)
    net.fit(Xd, Td, epochs=repeats + 1, batch_size=batch_size, optimizer=bpnn.SGD(lr=0.01),
            callbacks=[clock])
    return clock.seconds[1:], clock.between_seconds[1:]


class EpochClock(Callback):
    """A callback that times every epoch, the device synchronized at both ends, and
    after each runs and times ``between`` (outside the epoch's time)."""

    def __init__(self, synchronize, between=None):
        self.synchronize = synchronize
        self.between = between
        self.seconds = []
        self.between_seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self.synchronize()
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.synchronize()
        self.seconds.append(time.perf_counter() - self.start)
        if self.between is not None:
            self.between_seconds.extend(timed(self.between, self.synchronize, 1, warmup=0))


def numpy_hand_epoch(X, T, batch_size):
    """One epoch of a hand-written NumPy loop in the tutorials' style (one class per
    layer, new arrays for every result): a callable to time."""
    rng = np.random.default_rng(0)
    dtype = X.dtype
    weights = [((rng.standard_normal((a, b)) * np.sqrt(2.0 / a)).astype(dtype),
                np.zeros(b, dtype)) for a, b in zip(SIZES[:-1], SIZES[1:])]  # dtype kept
    n = len(X)

    def epoch():
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            rows = order[start:start + batch_size]
            x, t = X[rows], T[rows]
            h1 = np.maximum(x @ weights[0][0] + weights[0][1], 0)
            h2 = np.maximum(h1 @ weights[1][0] + weights[1][1], 0)
            z = h2 @ weights[2][0] + weights[2][1]
            z = z - z.max(axis=1, keepdims=True)
            y = np.exp(z)
            y /= y.sum(axis=1, keepdims=True)
            d3 = (y - t) / len(rows)
            d2 = (d3 @ weights[2][0].T) * (h2 > 0)
            d1 = (d2 @ weights[1][0].T) * (h1 > 0)
            grads = [(x.T @ d1, d1.sum(0)), (h1.T @ d2, d2.sum(0)), (h2.T @ d3, d3.sum(0))]
            for (W, bias), (dW, db) in zip(weights, grads):
                W -= 0.01 * dW
                bias -= 0.01 * db

    return epoch


def torch_epoch(X, labels, batch_size, device="cpu", sizes=SIZES):
    """One epoch of PyTorch eager (nn.Sequential of Linear and ReLU, CrossEntropyLoss,
    torch.optim.SGD) on ``device``, the data already there: a callable to time,
    synchronized on a GPU."""
    import torch

    dtype = torch.float32 if X.dtype == np.float32 else torch.float64
    torch.manual_seed(0)
    layers = []
    for index, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(torch.nn.Linear(a, b))
        if index < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers).to(device=device, dtype=dtype)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = torch.nn.CrossEntropyLoss()
    Xt = torch.as_tensor(X, device=device)
    yt = torch.as_tensor(labels, device=device)
    n = len(X)

    def epoch():
        order = torch.randperm(n, device=device)
        for start in range(0, n, batch_size):
            rows = order[start:start + batch_size]
            optimizer.zero_grad()
            loss = loss_fn(model(Xt[rows]), yt[rows])
            loss.backward()
            optimizer.step()

    if device == "cpu":
        return epoch

    def synchronized():
        epoch()
        torch.cuda.synchronize()

    return synchronized


def jax_epoch(X, T, batch_size):
    """One epoch of a hand-written JAX step compiled with ``jax.jit`` (the same network,
    loss and plain SGD; the batch gathered outside the step, as bpnn gathers it), the
    data already on JAX's CPU device: a callable to time, blocking on its result."""
    import jax
    import jax.numpy as jnp

    from bpnn.backends import get_backend

    device = get_backend("jax").device  # turns on float64 in JAX, as bpnn's adapter does
    rng = np.random.default_rng(0)
    dtype = X.dtype
    params = [(jax.device_put((rng.standard_normal((a, b)) * np.sqrt(2.0 / a)).astype(dtype),
                              device), jax.device_put(np.zeros(b, dtype), device))
              for a, b in zip(SIZES[:-1], SIZES[1:])]
    Xd, Td = jax.device_put(X, device), jax.device_put(T, device)

    def loss(params, x, t):
        h = x
        for W, bias in params[:-1]:
            h = jax.nn.relu(h @ W + bias)
        z = h @ params[-1][0] + params[-1][1]
        return -jnp.mean(jnp.sum(t * jax.nn.log_softmax(z), axis=1))

    @jax.jit
    def step(params, x, t):
        value, grads = jax.value_and_grad(loss)(params, x, t)
        return [(W - 0.01 * dW, bias - 0.01 * db)
                for (W, bias), (dW, db) in zip(params, grads)], value

    n = len(X)
    state = {"params": params}

    def epoch():
        order = rng.permutation(n)
        value = None
        for start in range(0, n, batch_size):
            rows = order[start:start + batch_size]
            state["params"], value = step(state["params"], Xd[rows], Td[rows])
        value.block_until_ready()

    return epoch


def sklearn_epoch(X, labels, batch_size):
    """One epoch of ``partial_fit`` of scikit-learn's MLPClassifier (plain SGD): a
    callable to time."""
    from sklearn.neural_network import MLPClassifier

    model = MLPClassifier(hidden_layer_sizes=SIZES[1:-1], solver="sgd", momentum=0.0,
                          learning_rate_init=0.01, batch_size=batch_size, random_state=0)
    classes = np.arange(SIZES[-1])
    return lambda: model.partial_fit(X, labels, classes=classes)


PEERS = {
    "numpy-hand": lambda X, T, labels, batch: numpy_hand_epoch(X, T, batch),
    "torch": lambda X, T, labels, batch: torch_epoch(X, labels, batch),
    "torch-cuda": lambda X, T, labels, batch: torch_epoch(X, labels, batch, device="cuda"),
    "sklearn": lambda X, T, labels, batch: sklearn_epoch(X, labels, batch),
    "jax": lambda X, T, labels, batch: jax_epoch(X, T, batch),
}
#: The backend whose GEMM-only bound each peer is measured against.
PEER_BOUNDS = {"numpy-hand": "numpy", "torch": "numpy", "torch-cuda": "torch:cuda",
               "sklearn": "numpy", "jax": "jax"}


def run(backends, peers, repeats, n_samples=60000, batch_sizes=(128, 1024),
        dtypes=("float32", "float64")):
    """Result rows: samples/s of bpnn per backend and of each peer, with the fraction
    of the GEMM-only bound of the backend they run on (:data:`PEER_BOUNDS` for the
    peers).

    Every timed epoch is followed by an epoch of its bound, and the fraction is
    the median over those pairs: the drift of a shared machine's speed cancels.
    """
    from bpnn.backends import get_backend

    rows = []
    for dtype in dtypes:
        X, T, labels = make_data(n_samples, dtype)
        for batch in batch_sizes:
            config = {"workload": "mlp", "dtype": dtype, "batch": batch, "samples": n_samples}
            bound_runs = {name: gemm_epoch(name, SIZES, n_samples, batch, dtype)
                          for name in dict.fromkeys([*backends, "numpy",
                                                     *(PEER_BOUNDS[peer] for peer in peers)])}
            bound_seconds = {name: [] for name in bound_runs}
            for name in backends:
                seconds, bound = bpnn_epoch(name, X, T, batch, dtype, repeats, bound_runs[name])
                bound_seconds[name] += bound
                rows.append(_row(config, f"bpnn {name}", seconds, bound, n_samples))
            for peer in peers:
                name = PEER_BOUNDS[peer]
                seconds, bound = paired(PEERS[peer](X, T, labels, batch), bound_runs[name],
                                        get_backend(name).synchronize, repeats)
                bound_seconds[name] += bound
                rows.append(_row(config, peer, seconds, bound, n_samples))
            for name, seconds in bound_seconds.items():
                if not seconds:  # numpy's, when only GPU backends ran and no CPU peer
                    seconds = timed(bound_runs[name], get_backend(name).synchronize, repeats)
                rows.append(_row(config, f"GEMM-only bound ({name})", seconds, seconds,
                                 n_samples))
    return rows


def _row(config, who, seconds, bound_seconds, n_samples):
    timing = summary(seconds)
    return {**config, "who": who, "samples_per_s": n_samples / timing["median"],
            "best_samples_per_s": n_samples / timing["min"], "runs": timing["runs"],
            "of_bound": ratios(seconds, bound_seconds)}
