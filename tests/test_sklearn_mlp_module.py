"""scikit-learn's own MLP test module, run against bpnn's estimators.

At test time ``sklearn/neural_network/tests/test_mlp.py`` is copied out of the
installed scikit-learn, the one line that imports its two estimators is
rewritten to import bpnn's, and pytest runs it in a child process with
scikit-learn's own ``conftest`` as a plugin (its ``global_random_seed``
fixture) and its warnings-as-errors setting.  Every test of the module must
pass: a scikit-learn upgrade that changes the contract (or the import line)
fails here, not in a user's code.  The estimators run on NumPy data, so on the
numpy backend; the module's own parametrizations are left as they are.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

sklearn = pytest.importorskip("sklearn")

IMPORT = "from sklearn.neural_network import MLPClassifier, MLPRegressor\n"
OURS = "from bpnn import MLPClassifier, MLPRegressor\n"


#: A conftest run after scikit-learn's (which sets the BLAS threads to the physical cores):
#: the module's products are small, and one thread is the fastest on a shared machine.
ONE_THREAD = """import pytest
from threadpoolctl import threadpool_limits


@pytest.hookimpl(trylast=True)
def pytest_configure(config):
    threadpool_limits(1)
"""


def bpnn_copy(folder):
    """scikit-learn's module, copied into ``folder`` with bpnn's estimators imported."""
    source = Path(sklearn.__file__).parent / "neural_network" / "tests" / "test_mlp.py"
    text = source.read_text(encoding="utf-8")
    count = text.count(IMPORT)
    assert count == 1, (f"{source} (scikit-learn {sklearn.__version__}) imports its "
                        f"estimators {count} times with {IMPORT.strip()!r}; expected once")
    target = folder / "test_mlp.py"
    target.write_text(text.replace(IMPORT, OURS), encoding="utf-8")
    (folder / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")  # not bpnn's settings
    (folder / "conftest.py").write_text(ONE_THREAD, encoding="utf-8")
    return target


def test_scikit_learns_mlp_tests_pass_against_bpnn(tmp_path):
    module = bpnn_copy(tmp_path)
    report = tmp_path / "report.xml"
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("BPNN_", "PYTEST_"))}
    env["SKLEARN_WARNINGS_AS_ERRORS"] = "1"  # as scikit-learn's CI runs its tests
    run = subprocess.run(
        [sys.executable, "-m", "pytest", str(module), "-p", "sklearn.conftest",
         "-p", "no:cacheprovider", "-q", "--no-header", f"--junitxml={report}",
         f"--rootdir={tmp_path}"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    output = run.stdout[-6000:] + run.stderr[-2000:]
    assert report.exists(), output
    suite = ElementTree.parse(report).getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    counts = {key: int(suite.get(key)) for key in ("tests", "failures", "errors", "skipped")}
    assert run.returncode == 0, output
    assert counts["tests"] >= 59, (counts, output)  # scikit-learn 1.9's module holds 59
    assert counts["failures"] == counts["errors"] == counts["skipped"] == 0, (counts, output)
