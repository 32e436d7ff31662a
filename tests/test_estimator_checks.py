"""scikit-learn's own estimator checks, over both estimators, with no expected failures."""

from __future__ import annotations

import pytest

pytest.importorskip("sklearn")

from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from bpnn import MLPClassifier, MLPRegressor  # noqa: E402

# max_iter=100 (scikit-learn's own setting for its MLPs in these checks) does not converge on
# the checks' data; scikit-learn's suite ignores this warning for them too.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

#: What scikit-learn's own test suite sets for its MLPs (max_iter=100), one instance per
#: solver family: the stochastic default (adam) and the full-batch lbfgs.
ESTIMATORS = [
    MLPClassifier(max_iter=100),
    MLPClassifier(solver="lbfgs", max_iter=100),
    MLPRegressor(max_iter=100),
    MLPRegressor(solver="lbfgs", max_iter=100),
]


@parametrize_with_checks(ESTIMATORS)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)
