"""Child processes of the test suite (MPI jobs, command lines) find this module on
``PYTHONPATH`` (``tests/conftest.py`` puts it there) and, where the suite runs the cupy
backend on the CPU stand-in, install the stand-in before anything imports CuPy."""

import os

if os.environ.get("BPNN_TEST_CUPY") == "standin":
    import cupy_standin

    cupy_standin.install()
