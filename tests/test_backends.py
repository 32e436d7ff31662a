"""The backend adapters and the selector."""

from __future__ import annotations

import numpy as np
import pytest

from bpnn.backends import (
    BACKENDS,
    BackendError,
    HostRandom,
    available_backends,
    backend_names,
    get_backend,
    infer_backend_name,
)
from helpers import assert_on_backend


# -- the selector -------------------------------------------------------------
def test_known_names_and_availability():
    assert backend_names() == ["numpy", "cupy", "array_api_strict", "torch", "jax"]
    assert {"numpy", "array_api_strict"} <= set(available_backends())


def test_select_by_name_and_alias():
    assert get_backend("numpy").name == "numpy"
    assert get_backend("np") is get_backend("numpy")
    assert get_backend("strict").name == "array_api_strict"
    assert get_backend(" NumPy ").name == "numpy"


def test_a_backend_object_is_returned_as_it_is():
    backend = get_backend("numpy")
    assert get_backend(backend) is backend


def test_unknown_backend_lists_the_available_ones():
    with pytest.raises(BackendError, match=r"unknown backend 'tensorflow'.*numpy.*array_api_strict"):
        get_backend("tensorflow")


def test_unavailable_backend_says_why_and_lists_the_available_ones(monkeypatch):
    monkeypatch.setattr(BACKENDS["cupy"], "availability",
                        classmethod(lambda cls: (False, "no CUDA device")))
    with pytest.raises(BackendError, match=r"'cupy' is not available: no CUDA device.*numpy"):
        get_backend("cupy")


def test_auto_is_cupy_with_a_gpu_else_numpy(monkeypatch):
    monkeypatch.setattr(BACKENDS["cupy"], "availability", classmethod(lambda cls: (False, "x")))
    assert get_backend("auto").name == "numpy"
    monkeypatch.delenv("BPNN_BACKEND", raising=False)
    assert get_backend().name == "numpy"


def test_environment_variable_names_the_default(monkeypatch):
    monkeypatch.setenv("BPNN_BACKEND", "array_api_strict")
    assert get_backend().name == "array_api_strict"
    assert get_backend("numpy").name == "numpy"  # an explicit name wins
    monkeypatch.setenv("BPNN_BACKEND", "nonsense")
    with pytest.raises(BackendError, match="nonsense"):
        get_backend()


def test_bad_device_is_a_backend_error():
    with pytest.raises(BackendError, match="CPU only"):
        get_backend("numpy:cuda")


def test_inferred_from_arrays(backend, monkeypatch):
    monkeypatch.setenv("BPNN_BACKEND", "numpy")
    x = backend.asarray([1.0, 2.0])
    assert get_backend(like=x).name == backend.name
    assert infer_backend_name(x).split(":")[0] == backend.name
    # host data does not decide: the environment variable does
    monkeypatch.setenv("BPNN_BACKEND", "array_api_strict")
    assert get_backend(like=np.ones(2)).name == "array_api_strict"
    assert infer_backend_name([1.0]) is None


# -- each adapter ----------------------------------------------------------------
def test_describe_names_library_and_device(backend):
    text = backend.describe()
    assert isinstance(text, str) and text
    library = {"numpy": "NumPy", "cupy": "CuPy", "array_api_strict": "array-api-strict",
               "torch": "PyTorch", "jax": "JAX"}[backend.name]
    assert library in text


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_round_trip_keeps_values_namespace_and_dtype(backend, dtype):
    host = np.arange(12, dtype=np.float64).reshape(3, 4) / 7
    x = backend.asarray(host, dtype=backend.dtype(dtype))
    assert_on_backend(backend, x, dtype)
    assert backend.xp.sum(x).shape == ()
    back = backend.to_numpy(x)
    assert isinstance(back, np.ndarray) and back.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(back, host.astype(dtype))


def test_asarray_of_own_array_is_not_copied_when_dtype_matches(backend):
    x = backend.asarray([1.0, 2.0], dtype=backend.dtype("float64"))
    assert backend.asarray(x, dtype=backend.dtype("float64")) is x
    y = backend.asarray(x, dtype=backend.dtype("float32"))
    assert_on_backend(backend, y, "float32")


def test_asarray_refuses_non_numeric_data(backend):
    with pytest.raises(ValueError, match="expected real numbers.*<U"):
        backend.asarray(np.array(["a", "b"]))
    with pytest.raises(ValueError, match="expected real numbers.*complex"):
        backend.asarray(np.array([1 + 2j]))
    with pytest.raises(ValueError, match="expected real numbers.*object"):
        backend.asarray(np.array([{}, None], dtype=object))
    with pytest.raises(ValueError, match="rectangular"):
        backend.asarray([[1.0, 2.0], [3.0]])


def test_asarray_refuses_another_librarys_array(backend):
    other = "array_api_strict" if backend.name != "array_api_strict" else "torch"
    if not BACKENDS[other].is_available():
        pytest.skip(f"{other} not installed")
    foreign = get_backend(other).asarray([1.0])
    with pytest.raises(ValueError, match=f"array of {other}.*'{backend.name}' backend"):
        backend.asarray(foreign)


def test_dtype_lookup(backend):
    assert backend.dtype("float32") == backend.xp.float32
    assert backend.dtype_name(backend.xp.float64) == "float64"
    with pytest.raises(ValueError, match="dtype must be one of"):
        backend.dtype("float16")


def test_synchronize_returns(backend):
    backend.asarray([1.0]) * 2.0
    assert backend.synchronize() is None


# -- host-drawn randomness ---------------------------------------------------------
def test_random_draws_equal_numpy_pcg64_on_every_backend(backend):
    rng = backend.random(42)
    assert isinstance(rng, HostRandom)
    normal = backend.to_numpy(rng.normal((3, 2), backend.dtype("float64"), scale=0.5))
    uniform = backend.to_numpy(rng.uniform((4,), backend.dtype("float64"), low=-2.0, high=3.0))
    perm = backend.to_numpy(rng.permutation(10))
    reference = np.random.Generator(np.random.PCG64(42))
    np.testing.assert_array_equal(normal, 0.5 * reference.standard_normal((3, 2)))
    np.testing.assert_array_equal(uniform, reference.uniform(-2.0, 3.0, (4,)))
    np.testing.assert_array_equal(perm, reference.permutation(10))


def test_random_state_round_trips(backend):
    rng = backend.random(7)
    state = rng.state
    first = backend.to_numpy(rng.permutation(20))
    rng.state = state
    np.testing.assert_array_equal(backend.to_numpy(rng.permutation(20)), first)


def test_float32_draws_are_the_float64_draws_rounded(backend):
    a = backend.to_numpy(backend.random(3).normal((5,), backend.dtype("float32")))
    b = get_backend("numpy").random(3).normal((5,), np.float64)
    assert a.dtype == np.float32
    np.testing.assert_array_equal(a, b.astype(np.float32))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.bool_])
@pytest.mark.parametrize("axis, keepdims", [(None, False), (0, False), (1, True), (-1, False)])
def test_numpy_namespace_reductions_equal_numpys(dtype, axis, keepdims):
    xp = get_backend("numpy").xp
    x = (np.arange(12).reshape(3, 4) - 5).astype(dtype)
    for ours, theirs in ((xp.sum, np.sum), (xp.max, np.max)):
        a, b = ours(x, axis=axis, keepdims=keepdims), theirs(x, axis=axis, keepdims=keepdims)
        assert np.asarray(a).dtype == np.asarray(b).dtype
        np.testing.assert_array_equal(a, b)
    assert xp.sum(x, dtype=np.float64).dtype == np.float64
    assert xp.exp is np.exp and xp.float32 is np.float32


def test_every_namespace_implements_the_standard_version_bpnn_needs(backend):
    """bpnn's math needs the 2024.12 standard (Python scalars in elementwise functions);
    array-api-strict is pinned to exactly that version by the suite's conftest."""
    from bpnn.backends import ARRAY_API_VERSION

    declared = backend.xp.__array_api_version__
    assert declared >= ARRAY_API_VERSION  # "YYYY.MM" strings order as dates
    if backend.name == "array_api_strict":
        assert declared == ARRAY_API_VERSION
