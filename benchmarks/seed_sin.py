"""The ``seed-sin`` workload: the seed's 1-3-1 online-SGD sin regression, time per step."""

from __future__ import annotations

from .timing import summary, timed

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
    with the ratio to the hand-written NumPy loop (timed in the same run)."""
    steps = epochs * STEPS_PER_EPOCH
    config = {"workload": "seed-sin", "epochs": epochs, "steps": steps}
    hand = summary(timed(hand_run(epochs), repeats=repeats), per=steps)
    rows = []
    for name in backends:
        call, sync = bpnn_run(name, epochs)
        rows.append(_row(config, f"bpnn {name}", summary(timed(call, sync, repeats), per=steps),
                         hand))
    if "torch" in peers:
        rows.append(_row(config, "torch", summary(timed(torch_run(epochs), repeats=repeats),
                                                  per=steps), hand))
    rows.append(_row(config, "numpy-hand", hand, hand))
    return rows


def _row(config, who, timing, hand):
    return {**config, "who": who, "us_per_step": timing["median"] * 1e6,
            "best_us_per_step": timing["min"] * 1e6, "runs": timing["runs"],
            "of_hand": timing["median"] / hand["median"]}
