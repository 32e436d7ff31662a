"""The ``estimators`` workload: fit time of MLPClassifier on scikit-learn's digits.

The estimator of bpnn on each backend beside scikit-learn's own, with the same
settings and ``random_state``: for sgd and adam the two runs are the same run
(the same weights after every epoch), so the ratio of the times is the ratio
of the costs of one run; for lbfgs the two take their own paths.
"""

from __future__ import annotations

import warnings

from .timing import summary, timed

SOLVERS = ("adam", "sgd", "lbfgs")


def _data(quick):
    from sklearn.datasets import load_digits
    from sklearn.preprocessing import StandardScaler

    X, y = load_digits(return_X_y=True)
    if quick:
        X, y = X[:200], y[:200]
    return StandardScaler().fit_transform(X), y


def _fit(cls, settings, X, y):
    def run():
        with warnings.catch_warnings():  # a fixed max_iter: not converging is expected
            warnings.simplefilter("ignore")
            cls(**settings).fit(X, y)

    return run


def run(backends, repeats, quick=False):
    """Result rows: the median seconds of one fit per solver for bpnn on each backend and
    scikit-learn, with bpnn's time as a fraction of scikit-learn's."""
    from sklearn.neural_network import MLPClassifier as SklearnMLP

    from bpnn import MLPClassifier
    from bpnn.backends import get_backend

    X, y = _data(quick)
    rows = []
    for solver in SOLVERS:
        settings = {"hidden_layer_sizes": (64,), "solver": solver, "random_state": 0,
                    "max_iter": 5 if quick else 200}
        config = {"workload": "estimators", "solver": solver, "samples": X.shape[0]}
        reference = summary(timed(_fit(SklearnMLP, settings, X, y), repeats=repeats))
        rows.append({**config, "who": "scikit-learn", "seconds": reference["median"],
                     "best_seconds": reference["min"], "of_sklearn": 1.0})
        for name in backends:
            sync = get_backend(name).synchronize
            result = summary(timed(_fit(MLPClassifier, {**settings, "backend": name}, X, y),
                                   sync, repeats))
            rows.append({**config, "who": f"bpnn {name}", "seconds": result["median"],
                         "best_seconds": result["min"],
                         "of_sklearn": result["median"] / reference["median"]})
    return rows
