"""scikit-learn estimators: :class:`MLPClassifier` and :class:`MLPRegressor` on any backend.

They take every parameter of :mod:`sklearn.neural_network`'s estimators
and give the same fitted attributes, so they drop into pipelines,
``cross_val_score`` and ``GridSearchCV``; the network underneath runs on
NumPy, CuPy, PyTorch or array-api-strict.
"""

from .classifier import MLPClassifier
from .regressor import MLPRegressor

__all__ = ["MLPClassifier", "MLPRegressor"]
