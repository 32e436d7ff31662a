"""The ``backend`` fixture: every test that touches arrays runs on every available backend.

Narrow it with ``pytest --backend numpy,torch`` or ``BPNN_TEST_BACKENDS=numpy``; a
backend may name its device (``--backend cupy:1,torch:cuda``).  A backend that cannot
run here (PyTorch not installed) is skipped with the reason.

Where no CUDA device answers, the cupy backend runs on the CPU stand-in for CuPy
(``tests/cupy_standin``), installed here before anything imports CuPy; where one
does, on the real CuPy, with the same tests.  ``BPNN_TEST_CUPY=standin`` forces the
stand-in, ``BPNN_TEST_CUPY=real`` the real package.
"""

from __future__ import annotations

import os

# scikit-learn's estimator checks feed array-api-strict and PyTorch arrays to the estimators
# (check_array_api_input) only when SciPy's array API support is on; it must be set before
# SciPy is first imported.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import pathlib  # noqa: E402

import pytest  # noqa: E402

import cupy_standin  # noqa: E402


def _cupy_kind():
    """``"real"`` or ``"standin"``: what the cupy backend runs on in this session."""
    choice = os.environ.get("BPNN_TEST_CUPY", "").strip().lower()
    if choice in ("real", "standin"):
        return choice
    return "real" if cupy_standin.real_cupy_usable() else "standin"


# A test that names no backend runs on NumPy on every machine (on a GPU machine "auto"
# would pick CuPy); the tests of "auto" and of the variable set or remove it themselves.
os.environ.setdefault("BPNN_BACKEND", "numpy")

CUPY_KIND = _cupy_kind()
if CUPY_KIND == "standin":
    cupy_standin.install()
    # child processes the tests start (MPI jobs) install it too: see sitecustomize.py
    _here = str(pathlib.Path(__file__).parent)
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [_here] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])
    os.environ["BPNN_TEST_CUPY"] = "standin"

from hypothesis import HealthCheck, settings  # noqa: E402

from bpnn.backends import ARRAY_API_VERSION, BACKENDS, get_backend  # noqa: E402

# array-api-strict checks the version of the standard bpnn declares it needs (Python
# scalars in elementwise functions came in 2024.12), not the newest it knows: a use of
# anything newer fails here.
try:
    import array_api_strict  # noqa: E402
except ImportError:
    pass
else:
    array_api_strict.set_array_api_strict_flags(api_version=ARRAY_API_VERSION)

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
    unknown = [name for name in names if name.partition(":")[0] not in BACKENDS]
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
    available, reason = BACKENDS[backend_name.partition(":")[0]].availability()
    if not available:
        pytest.skip(reason)
    backend = get_backend(backend_name)
    with backend.device_current():  # a test's own array code runs on the backend's device,
        yield backend  # as a user's does inside `with cupy.cuda.Device(1):`


def pytest_report_header(config):
    return f"cupy backend: {'the real CuPy' if CUPY_KIND == 'real' else 'the CPU stand-in'}"


@pytest.fixture
def xp(backend):
    """The Array API namespace of the backend under test."""
    return backend.xp
