"""The ``backend`` fixture: every test that touches arrays runs on every available backend.

Narrow it with ``pytest --backend numpy,torch`` or ``BPNN_TEST_BACKENDS=numpy``.
A backend that cannot run here (CuPy without a CUDA device, PyTorch not
installed) is skipped with the reason.
"""

from __future__ import annotations

import os

# scikit-learn's estimator checks feed array-api-strict and PyTorch arrays to the estimators
# (check_array_api_input) only when SciPy's array API support is on; it must be set before
# SciPy is first imported.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import pytest  # noqa: E402

from hypothesis import HealthCheck, settings

from bpnn.backends import BACKENDS, get_backend

# Property tests (tests/test_properties.py): 1000 examples per property and backend by
# default, as CI runs them; `pytest --hypothesis-profile nightly` for 20000, `dev` for 100.
_PROFILE = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow],
            "print_blob": True}
settings.register_profile("ci", max_examples=1000, **_PROFILE)
settings.register_profile("nightly", max_examples=20000, **_PROFILE)
settings.register_profile("dev", max_examples=100, **_PROFILE)
settings.load_profile("ci")

ALL_BACKENDS = list(BACKENDS)


def pytest_addoption(parser):
    parser.addoption("--backend", action="store", default=None,
                     help="comma-separated backends to test (default: every available one; "
                          "also BPNN_TEST_BACKENDS)")


def selected_backends(config):
    spec = config.getoption("--backend") or os.environ.get("BPNN_TEST_BACKENDS", "")
    names = [name.strip() for name in spec.split(",") if name.strip()]
    unknown = [name for name in names if name not in BACKENDS]
    if unknown:
        raise pytest.UsageError(f"unknown backend(s) {unknown}; known: {ALL_BACKENDS}")
    return names or ALL_BACKENDS


def pytest_generate_tests(metafunc):
    if "backend_name" in metafunc.fixturenames:
        metafunc.parametrize("backend_name", selected_backends(metafunc.config))


@pytest.fixture
def backend_name(request):  # replaced by parametrization above
    return request.param


@pytest.fixture
def backend(backend_name):
    """The :class:`bpnn.backends.Backend` under test (skipped with a reason if unavailable)."""
    available, reason = BACKENDS[backend_name].availability()
    if not available:
        pytest.skip(reason)
    return get_backend(backend_name)


@pytest.fixture
def xp(backend):
    """The Array API namespace of the backend under test."""
    return backend.xp
