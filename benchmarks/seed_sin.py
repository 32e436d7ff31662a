"""The ``seed-sin`` workload: the seed's 1-3-1 online-SGD sin regression, time per step."""

from __future__ import annotations

from .timing import paired, ratios, summary, timed

EPOCHS = 2001
STEPS_PER_EPOCH = 63


def bpnn_run(backend_name, epochs):
    from bpnn.backends import get_backend
    from bpnn.demos import sin_regression

    backend = get_backend(backend_name)
    return lambda: sin_regression(backend=backend_name, epochs=epochs, write=None), \
        backend.synchronize


def hand_run(epochs):
    from .seed_sin_hand import train

    return lambda: train(epochs=epochs, write=None)


def torch_run(epochs):
    """PyTorch eager, the way its tutorials write it: nn.Sequential, MSELoss, optim.SGD."""
    import torch

    from bpnn.datasets import sin_regression

    X, T = sin_regression()
    Xt, Tt = torch.tensor(X, dtype=torch.float64), torch.tensor(T, dtype=torch.float64)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(1, 3), torch.nn.Sigmoid(),
                                torch.nn.Linear(3, 1)).double()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)

    def run():
        for _ in range(epochs):
            for row in torch.randperm(len(Xt)).tolist():
                optimizer.zero_grad()
                loss = 0.5 * ((model(Xt[row:row + 1]) - Tt[row:row + 1]) ** 2).sum()
                loss.backward()
                optimizer.step()

    return run


def run(backends, peers, repeats, epochs=EPOCHS):
    """Result rows: microseconds per SGD step for bpnn on each backend and each peer,
    with the ratio to the hand-written NumPy loop, timed in turn with each of them
    (the median over those pairs: the drift of a shared machine's speed cancels)."""
    steps = epochs * STEPS_PER_EPOCH
    config = {"workload": "seed-sin", "epochs": epochs, "steps": steps}
    hand = hand_run(epochs)
    runs = [(f"bpnn {name}", *bpnn_run(name, epochs)) for name in backends]
    if "torch" in peers:
        runs.append(("torch", torch_run(epochs), lambda: None))
    rows, hand_seconds = [], []
    for who, call, sync in runs:
        seconds, beside = paired(call, hand, sync, repeats)
        hand_seconds += beside
        rows.append(_row(config, who, seconds, beside, steps))
    if not hand_seconds:
        hand_seconds = timed(hand, repeats=repeats)
    rows.append(_row(config, "numpy-hand", hand_seconds, hand_seconds, steps))
    return rows


def _row(config, who, seconds, hand_seconds, steps):
    timing = summary(seconds, per=steps)
    return {**config, "who": who, "us_per_step": timing["median"] * 1e6,
            "best_us_per_step": timing["min"] * 1e6, "runs": timing["runs"],
            "of_hand": 1.0 / ratios(seconds, hand_seconds)}
