"""Open registries: a layer defined outside bpnn registers itself with a typed config
(tuples, strings, booleans, lists, nested objects) that model files write and check."""

from __future__ import annotations

import math

import numpy as np
import pytest
from test_hostile_fields import rewrite, setting

import bpnn
from bpnn import ModelFileError
from bpnn.config_types import ConfigTypeError, Optional, check_spec, conform
from bpnn.errors import InputError
from bpnn.layers import LAYERS, Layer, device_of, register_layer
from bpnn.optimizers import OPTIMIZERS, SGD, get_optimizer, register_optimizer
from helpers import host_random


class Window(Layer):
    """A toy layer with the fields of a convolution: ``Y = X * weight`` where ``weight``
    is ``scale`` on the first ``kernel_size[0] * kernel_size[1]`` columns and 1 after;
    ``padding`` "same" or "valid" (valid zeroes the last column)."""

    config_types = {"n_features": int, "kernel_size": (int, int), "padding": str,
                    "bias": bool, "scale": float, "options": {"tags": [str],
                                                              "limit": Optional(float)}}

    def __init__(self, n_features, kernel_size=(3, 3), padding="same", bias=True, scale=2.0,
                 options=None):
        super().__init__()
        if padding not in ("same", "valid"):
            raise InputError(f"padding must be 'same' or 'valid', got {padding!r}")
        self.n_in = self.n_out = n_features
        self.kernel_size, self.padding = tuple(kernel_size), padding
        self.bias, self.scale = bias, scale
        self.options = options or {"tags": [], "limit": None}

    def forward(self, xp, X, *, training=False, rng=None):
        columns = math.prod(self.kernel_size)
        weight = [self.scale if j < columns else 1.0 for j in range(self.n_in)]
        if self.padding == "valid":
            weight[-1] = 0.0
        w = xp.asarray(weight, dtype=X.dtype, device=device_of(X))

        def backprop(dY, need_dX=True):
            return (dY * w if need_dX else None), ()

        return X * w, backprop

    def config(self):
        return {"n_features": self.n_in, "kernel_size": self.kernel_size,
                "padding": self.padding, "bias": self.bias, "scale": self.scale,
                "options": self.options}


@pytest.fixture
def window():
    register_layer(Window)
    yield Window
    del LAYERS["Window"]


def network(backend, layer):
    return bpnn.Network([layer, bpnn.Dense(6, 2), bpnn.Activation("sigmoid"),
                         bpnn.Dense(2, 1)], backend=backend.name, seed=0)


def test_a_registered_layer_is_saved_and_loaded(backend, window, tmp_path):
    layer = Window(6, kernel_size=(2, 1), padding="valid", bias=False, scale=0.5,
                   options={"tags": ["a", "b"], "limit": 1.5})
    net = network(backend, layer)
    X = host_random(0, (5, 6))
    net.fit(X, X[:, :1], epochs=1, batch_size=5)
    net.save(tmp_path / "m.bpnn")
    loaded = bpnn.load(tmp_path / "m.bpnn", backend=backend.name)
    again = loaded.layers[0]
    assert type(again) is Window
    assert again.kernel_size == (2, 1) and isinstance(again.kernel_size, tuple)
    assert (again.padding, again.bias, again.scale) == ("valid", False, 0.5)
    assert again.options == {"tags": ["a", "b"], "limit": 1.5}
    np.testing.assert_array_equal(backend.to_numpy(loaded.predict(X)),
                                  backend.to_numpy(net.predict(X)))


def test_an_unregistered_layer_is_not_saved(backend, tmp_path):
    net = network(backend, Window(6)).build()
    with pytest.raises(InputError, match="register it with bpnn.layers.register_layer"):
        net.save(tmp_path / "m.bpnn")


def test_a_config_that_does_not_fit_its_types_is_not_saved(backend, window, tmp_path):
    layer = Window(6, kernel_size=(2, 1, 1))
    net = network(backend, layer).build()
    with pytest.raises(InputError, match=r"kernel_size must hold 2 items \(\(int, int\)\)"):
        net.save(tmp_path / "m.bpnn")


def test_a_file_naming_an_unregistered_type_is_refused(backend, window, tmp_path):
    path = tmp_path / "m.bpnn"
    network(backend, Window(6)).build().save(path)
    del LAYERS["Window"]
    try:
        with pytest.raises(ModelFileError, match="unknown type 'Window'.*register_layer"):
            bpnn.load(path, backend=backend.name)
    finally:
        LAYERS["Window"] = Window


@pytest.mark.parametrize(("keys", "value", "field"), [
    (("kernel_size",), [3], r"invalid kernel_size \[3\]: it must hold 2 items"),
    (("kernel_size",), [3, "3"], r"invalid kernel_size\[1\] '3': it must be an integer"),
    (("kernel_size",), "33", "invalid kernel_size '33': it must be a list"),
    (("kernel_size",), [3, 2 ** 40], r"invalid kernel_size\[1\]"),
    (("padding",), 1, "invalid padding 1: it must be a string"),
    (("padding",), "full", "padding must be 'same' or 'valid'"),
    (("bias",), 1, "invalid bias 1: it must be true or false"),
    (("scale",), "__1e400__", r"network.layers\[0\].scale must be a finite number"),
    (("scale",), True, "invalid scale True"),
    (("options",), [], "invalid options"),
    (("options", "tags"), ["a", 2], r"invalid options.tags\[1\] 2"),
    (("options", "limit"), "x", "invalid options.limit 'x'"),
    (("options", "extra"), 1, "invalid options .*: it must hold exactly the keys"),
    (("os.system",), 1, "needs exactly the keys"),
])
def test_hostile_fields_of_a_registered_layer(backend, window, tmp_path, keys, value, field):
    path = tmp_path / "m.bpnn"
    network(backend, Window(6, options={"tags": ["a"], "limit": 1.0})).build().save(path)
    rewrite(path, setting(("network", "layers", 0, *keys), value))
    with pytest.raises(ModelFileError, match=field) as error:
        bpnn.load(path, backend=backend.name)
    assert str(path) in str(error.value)


def test_registration_checks_the_class_and_its_types():
    with pytest.raises(InputError, match="subclass of Layer"):
        register_layer(int)
    with pytest.raises(InputError, match="name 'Dense' is taken"):
        register_layer(type("Dense", (Layer,), {}))
    with pytest.raises(TypeError, match="not a config type"):
        register_layer(type("Odd", (Layer,), {"config_types": {"x": complex}}))
    assert "Odd" not in LAYERS
    assert register_layer(bpnn.Dense) is bpnn.Dense  # the same class again is a no-op


def test_registration_under_a_name(backend, tmp_path):
    @register_layer(name="Conv2DLike")
    class Renamed(Window):
        pass

    try:
        net = network(backend, Renamed(6, kernel_size=(1, 1))).build()
        net.save(tmp_path / "m.bpnn")
        assert type(bpnn.load(tmp_path / "m.bpnn").layers[0]) is Renamed
    finally:
        del LAYERS["Conv2DLike"]


@pytest.mark.parametrize(("spec", "value", "expected"), [
    ((int, ...), [1, 2, 3], (1, 2, 3)),
    ((int, ...), [], ()),
    ([float], [1, 2.5], [1.0, 2.5]),
    ((str, bool), ["a", True], ("a", True)),
    ({"a": (int, int)}, {"a": [1, 2]}, {"a": (1, 2)}),
    (Optional(int), None, None),
    (float, 3, 3.0),
])
def test_conform(spec, value, expected):
    result = conform(spec, value, "f")
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize(("spec", "value", "field"), [
    (int, True, "f"), (int, 1.0, "f"), (float, math.nan, "f"), ((int, ...), [1, "2"], "f[1]"),
    ({"a": {"b": int}}, {"a": {"b": "x"}}, "f.a.b"), (Optional(int), "x", "f"),
])
def test_conform_refuses(spec, value, field):
    with pytest.raises(ConfigTypeError) as error:
        conform(spec, value, "f")
    assert error.value.field == field


@pytest.mark.parametrize("spec", [complex, (), [int, int], {1: int}, None, "int"])
def test_check_spec_refuses_what_is_not_a_type(spec):
    with pytest.raises(TypeError):
        check_spec(spec)


def test_the_optimizer_registry_is_open():
    @register_optimizer
    class HalfSGD(SGD):
        name = "Half_SGD"

    try:
        assert OPTIMIZERS["half_sgd"] is HalfSGD  # lookups are case-insensitive
        assert type(get_optimizer("Half_SGD", lr=0.2)) is HalfSGD
        assert type(get_optimizer("half_sgd")) is HalfSGD
        with pytest.raises(InputError, match="name 'sgd' is taken"):
            register_optimizer(type("Other", (SGD,), {"name": "sgd"}))
    finally:
        del OPTIMIZERS["half_sgd"]
    with pytest.raises(InputError, match="unknown optimizer"):
        get_optimizer("half_sgd")


class Cube(bpnn.activations.ActivationFunction):
    """``f(x) = x³/3``, ``f' = x²``: an activation defined outside bpnn."""

    name = "Cube_Test"

    def forward(self, xp, X):
        return X * X * X / 3.0

    def backward(self, xp, dY, X, Y):
        return dY * X * X


class TwiceSquaredError(bpnn.losses.SquaredError):
    """Twice the seed's loss: a loss defined outside bpnn (its delta from the value's math)."""

    name = "twice_sse_test"

    def value(self, xp, Y, T, w=None):
        return 2.0 * super().value(xp, Y, T, w)

    def gradient(self, xp, Y, T, w=None, scale=1.0):
        return super().gradient(xp, Y, T, w, 2.0 * scale)

    def value_and_delta(self, xp, Z, T, w=None, scale=1.0):
        return self.value(xp, Z, T, w), self.gradient(xp, Z, T, w, scale)


class Constant(bpnn.initializers.Initializer):
    """Every weight ``value``: an initializer defined outside bpnn."""

    name = "constant_test"

    def __init__(self, value=0.1):
        self.value = float(value)

    def __call__(self, rng, shape, dtype, fans=None):
        return rng.normal(tuple(shape), dtype, scale=0.0) + self.value

    bias = __call__

    def config(self):
        return {"value": self.value}


@pytest.fixture
def outside_parts():
    bpnn.register_activation(Cube)
    bpnn.register_loss(TwiceSquaredError)
    bpnn.register_initializer(Constant)
    yield
    del bpnn.ACTIVATIONS["cube_test"], bpnn.LOSSES["twice_sse_test"]
    del bpnn.INITIALIZERS["constant_test"]


def test_registered_activation_loss_and_initializer_train_save_and_load(backend, outside_parts,
                                                                        tmp_path):
    net = bpnn.Network([bpnn.Dense(2, 3, init="Constant_Test"), bpnn.Activation("cube_test"),
                        bpnn.Dense(3, 1, init=Constant(0.2))], loss="TWICE_SSE_TEST",
                       backend=backend.name, seed=0)
    X = host_random(1, (8, 2))
    T = X[:, :1] - X[:, 1:]
    net.build(backend.name, "float64")
    weights = net.get_weights()
    np.testing.assert_array_equal(weights[0], np.full((2, 3), 0.1))  # by name, any case
    np.testing.assert_array_equal(weights[2], np.full((3, 1), 0.2))  # an instance
    # the gradient through the outside activation and loss: central differences
    loss, grads = net.backward(X, T)
    eps = 1e-6
    for i, j in [(0, 0), (1, 2)]:
        moved = []
        for sign in (1.0, -1.0):
            trial = [W.copy() for W in weights]
            trial[0][i, j] += sign * eps
            net.set_weights(trial)
            moved.append(net.evaluate(X, T))
        assert backend.to_numpy(grads[0])[i, j] == pytest.approx(
            (moved[0] - moved[1]) / (2 * eps), rel=1e-5, abs=1e-9)
    net.set_weights(weights)
    net.fit(X, T, epochs=2, batch_size=4)
    net.save(tmp_path / "m.bpnn")
    loaded = bpnn.load(tmp_path / "m.bpnn", backend=backend.name)
    assert type(loaded.layers[1].function) is Cube and type(loaded.loss) is TwiceSquaredError
    np.testing.assert_array_equal(backend.to_numpy(loaded.forward(X)),
                                  backend.to_numpy(net.forward(X)))


def test_a_file_naming_an_unregistered_activation_is_refused(outside_parts, tmp_path):
    net = bpnn.Network([bpnn.Dense(2, 1), bpnn.Activation("cube_test")], backend="numpy")
    net.build()
    net.save(tmp_path / "m.bpnn")
    del bpnn.ACTIVATIONS["cube_test"]
    try:
        with pytest.raises(ModelFileError, match="unknown activation .Cube_Test."):
            bpnn.load(tmp_path / "m.bpnn")
    finally:
        bpnn.register_activation(Cube)


def test_the_activation_loss_and_initializer_registries_refuse_clashes():
    with pytest.raises(InputError, match="name 'relu' is taken"):
        bpnn.register_activation(type("Other", (bpnn.activations.ActivationFunction,),
                                      {"name": "ReLU"}))
    with pytest.raises(InputError, match="subclass of Loss"):
        bpnn.register_loss(Cube)
    with pytest.raises(InputError, match="name 'normal' is taken"):
        bpnn.register_initializer(Constant, name="Normal")
    assert "constant_test" not in bpnn.INITIALIZERS
    with pytest.raises(InputError, match="unknown activation 'cube_test'"):
        bpnn.get_activation("cube_test")
