"""Optimizer updates against the formulas computed by hand on the host."""

from __future__ import annotations

import numpy as np
import pytest

from bpnn import SGD, Adam, RMSprop, get_optimizer
from bpnn.update import writable
from helpers import assert_on_backend, host_random


def device_copies(backend, arrays, dtype="float64"):
    return [backend.asarray(np.array(a, copy=True), dtype=backend.dtype(dtype)) for a in arrays]


def run(backend, optimizer, params, grads_per_step, dtype="float64"):
    live = device_copies(backend, params, dtype)
    buffers = list(live)
    for grads in grads_per_step:
        optimizer.step(backend.xp, live, device_copies(backend, grads, dtype))
    if writable(backend.xp):  # no copies where the library writes in place
        assert all(a is b for a, b in zip(live, buffers)), "updates must be in place"
    else:  # immutable arrays: the list holds the new ones, the old are unchanged
        assert all(a is not b for a, b in zip(live, buffers))
        np.testing.assert_array_equal(backend.to_numpy(buffers[0]), params[0].astype(dtype))
    for array in live:
        assert_on_backend(backend, array, dtype)
    return [backend.to_numpy(a) for a in live]


PARAMS = [host_random(0, (3, 2)), host_random(1, (2,))]
GRADS = [[host_random(10 + s, (3, 2)), host_random(20 + s, (2,))] for s in range(3)]


def test_plain_sgd(backend):
    result = run(backend, SGD(lr=0.1), PARAMS, GRADS)
    for k, W in enumerate(PARAMS):
        expected = W - 0.1 * sum(g[k] for g in GRADS)
        np.testing.assert_allclose(result[k], expected, rtol=1e-13)


@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum(backend, nesterov):
    lr, mu = 0.05, 0.9
    result = run(backend, SGD(lr=lr, momentum=mu, nesterov=nesterov), PARAMS, GRADS)
    for k, W in enumerate(PARAMS):
        W, V = W.copy(), np.zeros_like(W)
        for g in GRADS:
            V = mu * V - lr * g[k]
            W = W + (mu * V - lr * g[k] if nesterov else V)
        np.testing.assert_allclose(result[k], W, rtol=1e-12)


def test_adam(backend):
    lr, b1, b2, eps = 0.01, 0.8, 0.99, 1e-7
    result = run(backend, Adam(lr=lr, beta_1=b1, beta_2=b2, eps=eps), PARAMS, GRADS)
    for k, W in enumerate(PARAMS):
        W, M, S = W.copy(), np.zeros_like(W), np.zeros_like(W)
        for t, g in enumerate(GRADS, start=1):
            M = b1 * M + (1 - b1) * g[k]
            S = b2 * S + (1 - b2) * g[k] ** 2
            W = W - lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t) * M / (np.sqrt(S) + eps)
        np.testing.assert_allclose(result[k], W, rtol=1e-12)


def rmsprop_by_hand(W, grads, lr, rho, eps, momentum, centered):
    """PyTorch's RMSprop update, written out on the host."""
    W, S, G, B = W.copy(), np.zeros_like(W), np.zeros_like(W), np.zeros_like(W)
    for g in grads:
        S = rho * S + (1 - rho) * g * g
        if centered:
            G = rho * G + (1 - rho) * g
        D = np.sqrt(S - G * G) + eps
        if momentum:
            B = momentum * B + g / D
            W = W - lr * B
        else:
            W = W - lr * g / D
    return W


RMSPROP_CASES = [dict(lr=0.01, rho=0.99, eps=1e-8, momentum=0.0, centered=False),
                 dict(lr=0.02, rho=0.9, eps=1e-6, momentum=0.0, centered=True),
                 dict(lr=0.01, rho=0.95, eps=1e-8, momentum=0.8, centered=False),
                 dict(lr=0.005, rho=0.9, eps=1e-7, momentum=0.5, centered=True)]


@pytest.mark.parametrize("options", RMSPROP_CASES, ids=lambda o: "-".join(map(str, o.values())))
def test_rmsprop(backend, options):
    result = run(backend, RMSprop(**options), PARAMS, GRADS)
    for k, W in enumerate(PARAMS):
        expected = rmsprop_by_hand(W, [g[k] for g in GRADS], **options)
        np.testing.assert_allclose(result[k], expected, rtol=1e-12)


@pytest.mark.parametrize("options", RMSPROP_CASES, ids=lambda o: "-".join(map(str, o.values())))
def test_rmsprop_is_pytorchs(options):
    """The same trajectory as ``torch.optim.RMSprop`` (``alpha`` is bpnn's ``rho``)."""
    torch = pytest.importorskip("torch")
    options = dict(options)
    live = [np.array(W, copy=True) for W in PARAMS]
    mine = RMSprop(**options)
    tensors = [torch.tensor(W, requires_grad=True) for W in PARAMS]
    theirs = torch.optim.RMSprop(tensors, alpha=options.pop("rho"), **options)
    import numpy  # the host's arrays: the numpy namespace here, whatever the suite's backend

    for grads in GRADS:
        mine.step(numpy, live, [np.array(g, copy=True) for g in grads])
        for tensor, g in zip(tensors, grads):
            tensor.grad = torch.tensor(g)
        theirs.step()
    for W, tensor in zip(live, tensors):
        np.testing.assert_allclose(W, tensor.detach().numpy(), rtol=1e-14, atol=1e-16)


def test_rmsprop_state_round_trip(backend):
    """Saved and loaded state (as a checkpoint does) continues the same run."""
    options = RMSPROP_CASES[3]
    whole = run(backend, RMSprop(**options), PARAMS, GRADS)
    first = RMSprop(**options)
    live = device_copies(backend, PARAMS)
    for grads in GRADS[:2]:
        first.step(backend.xp, live, device_copies(backend, grads))
    second = RMSprop(**options)
    second.load_state(live, first.state_scalars(), first.state_arrays())
    second.step(backend.xp, live, device_copies(backend, GRADS[2]))
    for done, expected in zip(live, whole):
        np.testing.assert_array_equal(backend.to_numpy(done), expected)
    with pytest.raises(ValueError, match="RMSprop keeps 3 arrays per parameter"):
        RMSprop(**options).load_state(live, {}, first.state_arrays()[:4])


@pytest.mark.parametrize("optimizer", [SGD(lr=0.1), SGD(lr=0.1, momentum=0.5, nesterov=True),
                                       Adam(), RMSprop(momentum=0.5, centered=True)],
                         ids=repr)
def test_float32_stays_float32(backend, optimizer):
    optimizer.reset()
    run(backend, optimizer, PARAMS, GRADS, dtype="float32")


def test_reset_forgets_state(backend):
    adam = Adam()
    run(backend, adam, PARAMS, GRADS[:1])
    assert adam.t == 1 and adam.moments is not None
    adam.reset()
    assert adam.t == 0 and adam.moments is None
    sgd = SGD(momentum=0.9)
    run(backend, sgd, PARAMS, GRADS[:1])
    sgd.reset()
    assert sgd.velocities is None


def test_lookup_and_errors():
    assert isinstance(get_optimizer("adam"), Adam)
    assert get_optimizer("SGD", lr=0.5).lr == 0.5
    sgd = SGD()
    assert get_optimizer(sgd) is sgd
    assert isinstance(get_optimizer("RMSprop", rho=0.9), RMSprop)
    with pytest.raises(ValueError, match="unknown optimizer 'adagrad'.*adam, rmsprop, sgd"):
        get_optimizer("adagrad")
    with pytest.raises(ValueError, match=r"rho must be in \[0, 1\)"):
        RMSprop(rho=1.0)
    with pytest.raises(ValueError, match=r"momentum must be a finite number >= 0"):
        RMSprop(momentum=-0.1)
    with pytest.raises(ValueError, match="optimizer 'sgd'.*beta_1"):
        get_optimizer("sgd", beta_1=0.9)
    with pytest.raises(ValueError, match="lr must be a finite number >= 0"):
        SGD(lr=-1)
    with pytest.raises(ValueError, match="lr must be a finite number"):
        Adam(lr=float("nan"))
    with pytest.raises(ValueError, match=r"momentum must be in \[0, 1\]"):
        SGD(momentum=1.5)
    assert SGD(momentum=1.0).momentum == 1.0 == SGD(lr=0.5, momentum=1.0).config()["momentum"]
    assert SGD(lr=0.25).learning_rate == 0.25  # scikit-learn's name
    adam = Adam(lr=0.1)
    assert adam.learning_rate == 0.1
    adam.advance(), adam.advance()  # scikit-learn's bias-corrected rate after two steps
    assert adam.learning_rate == pytest.approx(0.1 * (1 - 0.999 ** 2) ** 0.5 / (1 - 0.9 ** 2))
    with pytest.raises(ValueError, match=r"beta_2 must be in \[0, 1\)"):
        Adam(beta_2=1.0)
    assert repr(SGD(lr=0.1)) == "SGD(lr=0.1, momentum=0.0, nesterov=False)"


def test_one_optimizer_serves_two_parameter_sets_in_turn(backend):
    adam = Adam(lr=0.1)
    first = run(backend, adam, PARAMS, GRADS[:2])
    run(backend, adam, [p * 2 for p in PARAMS], GRADS[:1])  # other arrays: state starts afresh
    assert adam.t == 1
    fresh = run(backend, Adam(lr=0.1), PARAMS, GRADS[:2])
    np.testing.assert_array_equal(first[0], fresh[0])
