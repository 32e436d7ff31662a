"""What the exported graphs of estimators and ``bpnn train`` models give: their
predictions as scikit-learn users know them from skl2onnx, built on the network's graph.

* classifier: ``label`` (the class labels as given: integers, floats, booleans or
  strings; for multilabel targets, 0/1 int64 columns) and ``probabilities``
  (``predict_proba``'s columns);
* regressor: ``variable``, shape ``(N, n_outputs)`` (skl2onnx's shape: one column for
  one output, where ``predict`` gives a vector);
* ``bpnn train`` model: the same, with its host steps inside the graph: the features'
  standardization in float64 before the network, the target's scaling after it.

Each function takes the ndonnx namespace and the symbolic input and mirrors, operation
for operation, the method it stands for, so the runtime computes the same numbers.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from .graph import network_output


def classifier(estimator, ndx, X):
    """``{"label", "probabilities"}`` of a fitted :class:`~bpnn.MLPClassifier`."""
    Y = network_output(estimator.network_, ndx, X)
    if estimator.out_activation_ == "logistic" and estimator.n_outputs_ == 1:
        Y = ndx.concat([1.0 - Y, Y], axis=1)  # predict_proba's two columns of a binary problem
    if estimator._label_binarizer.y_type_.startswith("multilabel"):
        return {"label": ndx.astype(Y > 0.5, ndx.int64), "probabilities": Y}
    return {"label": _labels(ndx, estimator.classes_, ndx.argmax(Y, axis=1)), "probabilities": Y}


def regressor(estimator, ndx, X):
    """``{"variable"}`` of a fitted :class:`~bpnn.MLPRegressor`, shape ``(N, n_outputs)``."""
    return {"variable": network_output(estimator.network_, ndx, X)}


def tabular(model, ndx, X):
    """The outputs of a :class:`~bpnn.tabular.TabularModel` for raw float64 rows ``X``:
    ``{"label", "probabilities"}`` or ``{"variable"}`` (the target in its own units)."""
    info = model.info
    if "x_mean" in info:  # standardize_block's float64 arithmetic: (x/2 - mean/2) / scale * 2
        mean = ndx.asarray(np.asarray(info["x_mean"], dtype=np.float64))
        scale = ndx.asarray(np.asarray(info["x_scale"], dtype=np.float64))
        X = (X / 2.0 - mean / 2.0) / scale * 2.0
    Y = network_output(model.network, ndx, X)
    if model.task == "regression":
        return {"variable": Y[:, :1] * info["y_scale"] + info["y_mean"]}
    return {"label": _labels(ndx, info["classes"], ndx.argmax(Y, axis=1)), "probabilities": Y}


def _labels(ndx, classes, index):
    """``classes[index]``: the labels picked by ``index``, in the labels' own dtype."""
    values = np.asarray(classes)
    if values.dtype.kind == "O":  # strings from a DataFrame's object column
        if not all(isinstance(value, str) for value in values):
            raise InputError("cannot export class labels of mixed or non-string Python types "
                             f"{sorted({type(value).__name__ for value in values})}")
        values = values.astype(str)
    if values.dtype.kind not in "biufU":
        raise InputError(f"cannot export class labels of dtype {values.dtype}")
    return ndx.take(ndx.asarray(values), index, axis=0)


#: The output names each head gives.
NAMES = {classifier: ("label", "probabilities"), regressor: ("variable",)}
