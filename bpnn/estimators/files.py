"""Saving a fitted estimator as a bpnn model file (pickle-free), and loading it back.

The file is a :mod:`bpnn.files` model file: the network's weights, plus, as
its JSON ``extra``, the estimator's class, its parameters and its fitted
attributes (the class labels among them).  It loads on any backend.  The
optimizer's moments are not kept: a loaded estimator predicts and scores
exactly as the saved one; ``partial_fit`` or a ``warm_start`` fit after
loading starts its optimizer afresh.
"""

from __future__ import annotations

import functools
import math

import sys

from sklearn.base import is_classifier
from sklearn.preprocessing import LabelBinarizer

from ..backends import get_backend
from ..files import ModelFileError, schema
from ..files.model_file import read_model, save_model

#: The fitted attributes kept, besides the weights and the classes.
FITTED = ("n_features_in_", "n_outputs_", "n_layers_", "out_activation_", "n_iter_", "t_",
          "loss_", "best_loss_", "loss_curve_", "validation_scores_", "validation_loss_curve_",
          "best_validation_score_")
_JSON = (str, int, float, bool, type(None))


def _plain(value):
    """``value`` as JSON (lists for tuples and arrays), or ``None`` when it has no JSON form
    (a RandomState, an initializer object)."""
    if isinstance(value, _JSON):
        return value
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        items = [_plain(item) for item in value]
        kept = all(item is not None or old is None for item, old in zip(items, value))
        return items if kept else None  # a list holding something without a JSON form
    return None


#: The fitted curves, whose epochs after a divergence under early stopping are NaN.
CURVES = ("loss_curve_", "validation_scores_", "validation_loss_curve_")


def _finite(value):
    """A fitted value with NaN and infinity (JSON has neither) as ``None``: in a curve
    the epochs after a divergence under early stopping, read back as NaN (an infinite
    one too)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value


def save_estimator(estimator, path):
    """Write a fitted estimator to ``path`` (atomically); in a distributed job, from rank 0
    only (every rank holds the same model)."""
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(estimator, "network_")
    if estimator.distributed and "mpi4py" in sys.modules:  # in an MPI job: rank 0 writes
        from ..distributed import Distributed

        if not Distributed.world().writer:
            return
    fitted = {name: _finite(_plain(getattr(estimator, name, None))) for name in FITTED}
    if hasattr(estimator, "feature_names_in_"):
        fitted["feature_names_in_"] = _plain(estimator.feature_names_in_)
    if hasattr(estimator, "classes_"):
        fitted["classes_"] = _plain(estimator.classes_)
        fitted["label_type"] = estimator._label_binarizer.y_type_
        fitted["two_column"] = bool(estimator._two_column)
    params = {name: _plain(value) for name, value in estimator.get_params().items()}
    if params["n_iter_no_change"] == math.inf:  # scikit-learn's "never stop": JSON has no inf
        params["n_iter_no_change"] = "inf"
    extra = {"estimator": type(estimator).__name__, "params": params, "fitted": fitted}
    save_model(estimator.network_, path, extra=extra)


def load_estimator(cls, path, backend=None):
    """An estimator of class ``cls`` read from ``path``, its network on ``backend``.

    Raises
    ------
    ModelFileError
        The file is not a model file, holds no estimator of this class, or a
        parameter or fitted attribute that is invalid or does not fit the
        network (the message names the field).
    """
    network, extra = read_model(path, backend=backend)
    if not isinstance(extra, dict) or extra.get("estimator") != cls.__name__:
        found = extra.get("estimator") if isinstance(extra, dict) else None
        raise ModelFileError(f"{path}: the file holds no {cls.__name__} "
                             f"({'a ' + found if found else 'a plain network'})")
    params = schema.mapping(path, extra.get("params"), "extra.params")
    fitted = schema.mapping(path, extra.get("fitted"), "extra.fitted")
    estimator = _with_params(cls, path, params)
    _check_fitted(path, fitted, network, is_classifier(estimator))
    for name in FITTED:
        value = fitted.get(name)
        if name in CURVES and value is not None:
            value = [math.nan if item is None else item for item in value]
        setattr(estimator, name, value)
    names = fitted.get("feature_names_in_")
    if names is not None:  # scikit-learn compares them as a host array
        estimator.feature_names_in_ = get_backend("numpy").to_numpy(names)
    if "classes_" in fitted:
        _restore_labels(estimator, fitted)
    estimator.network_ = network
    estimator._optimizer = None
    estimator._stopping = None
    return estimator


def _with_params(cls, path, params):
    """An unfitted ``cls`` with the saved ``params``, each checked as ``fit`` checks it."""
    known = cls().get_params()
    params = {name: value for name, value in params.items() if name in known}
    for name, value in params.items():
        schema.finite_json(path, value, f"extra.params.{name}")
    schema.integer(path, params.get("random_state"), "extra.params.random_state",
                   high=2 ** 32 - 1, allow_none=True)
    if params.get("n_iter_no_change") == "inf":
        params["n_iter_no_change"] = math.inf
    estimator = schema.built(path, "extra.params", cls, **params)
    if isinstance(estimator.hidden_layer_sizes, list):
        estimator.hidden_layer_sizes = tuple(estimator.hidden_layer_sizes)
    schema.built(path, "extra.params", estimator._check_params)
    return estimator


def _check_fitted(path, fitted, network, classifier):
    """Check the fitted attributes' types and ranges, and that they fit ``network``
    (and a ``classifier``'s labels)."""
    def field(name, check, *args, **kwargs):
        return check(path, fitted.get(name), f"extra.fitted.{name}", *args, **kwargs)

    n_features = field("n_features_in_", schema.integer, network.n_features, network.n_features)
    n_outputs = field("n_outputs_", schema.integer, network.n_outputs, network.n_outputs)
    field("n_layers_", schema.integer, 2)
    field("out_activation_", schema.text)
    for name in ("n_iter_", "t_"):
        field(name, schema.integer, allow_none=True)
    for name in ("loss_", "best_loss_", "best_validation_score_"):
        field(name, schema.number, allow_none=True)
    for name in CURVES:  # an epoch after a divergence under early stopping is None (NaN)
        if fitted.get(name) is not None:
            field(name, schema.sequence, item=functools.partial(schema.number, allow_none=True))
    if fitted.get("feature_names_in_") is not None:
        field("feature_names_in_", schema.sequence, n_features, schema.text)
    if classifier:
        _check_labels(path, fitted, n_outputs)


def _check_labels(path, fitted, n_outputs):
    """A classifier's labels: their kind, and their count against the network's outputs
    (a binary problem has one output, or two with ``two_column``)."""
    kind = schema.text(path, fitted.get("label_type"), "extra.fitted.label_type",
                       ("binary", "multiclass", "multilabel-indicator"))
    two = schema.boolean(path, fitted.get("two_column"), "extra.fitted.two_column")
    binary = kind == "binary"
    classes = schema.labels(path, fitted.get("classes_"), "extra.fitted.classes_",
                            2 if binary else n_outputs)
    if not (n_outputs == (2 if two else 1) if binary else not two):
        raise schema.refuse(path, "extra.fitted.classes_", f"({kind}, {len(classes)} labels) "
                                                           f"do not fit the {n_outputs} outputs")


def _restore_labels(estimator, fitted):
    classes = fitted["classes_"]
    binarizer = LabelBinarizer()
    if str(fitted.get("label_type", "")).startswith("multilabel"):
        binarizer.fit([[1] * len(classes), [0] * len(classes)])
    else:
        binarizer.fit(classes)
    estimator._label_binarizer = binarizer
    estimator.classes_ = binarizer.classes_
    estimator._two_column = bool(fitted.get("two_column"))
