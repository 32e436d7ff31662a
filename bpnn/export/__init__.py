"""Export to ONNX: the network's own forward code run on ndonnx arrays.

bpnn's layers are written against the Array API standard, and ndonnx's arrays, which
follow it, record an ONNX graph instead of computing.  So the export of a network is
its ``predict`` run once on a symbolic batch: no converter per layer.  The graph is
folded, checked by onnx (``full_check``, shapes inferred) and has a symbolic batch
dimension ``N``.

* :func:`network_to_onnx` — what :meth:`bpnn.Network.to_onnx` calls: input ``X``,
  output ``Y``;
* :func:`estimator_to_onnx` — :class:`~bpnn.MLPClassifier` (outputs ``label``,
  ``probabilities``) and :class:`~bpnn.MLPRegressor` (``variable``);
* :func:`tabular_to_onnx` — a model of ``bpnn train``, its standardization and
  target scaling inside the graph, so it takes raw float64 rows;
* :func:`save` — write a model atomically (``bpnn export`` writes any bpnn model
  file with it).

Needs the ``onnx`` extra (``pip install 'bpnn[onnx]'``: ndonnx, onnx, onnxscript),
imported only when an export is asked for.
"""

from __future__ import annotations

from ..errors import InputError
from ..network import delegate
from ..validation import writable_path
from ..writing import write_atomic
from . import graph, heads

WHAT = "the ONNX model"


@delegate("to_onnx")
def network_to_onnx(network, path=None, *, input_name="X", opset=None):
    """The ONNX model of ``network``'s forward pass (see :meth:`bpnn.Network.to_onnx`)."""
    def outputs(ndx, X):
        return {"Y": graph.network_output(network, ndx, X)}

    network.build()
    return _export(outputs, ("Y",), network.n_features, network.dtype_name, path, input_name,
                   opset)


def estimator_to_onnx(estimator, path=None, *, input_name="X", opset=None):
    """The ONNX model of a fitted :class:`~bpnn.MLPClassifier` or
    :class:`~bpnn.MLPRegressor` (see their ``to_onnx``)."""
    from sklearn.base import is_classifier
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(estimator, "network_")
    head = heads.classifier if is_classifier(estimator) else heads.regressor
    network = estimator.network_
    return _export(lambda ndx, X: head(estimator, ndx, X), heads.NAMES[head],
                   network.n_features, network.dtype_name, path, input_name, opset)


def tabular_to_onnx(model, path=None, *, input_name="X", opset=None):
    """The ONNX model of a ``bpnn train`` model (:class:`~bpnn.tabular.TabularModel`):
    raw float64 rows of its feature columns, in its order, to ``label`` and
    ``probabilities`` (classification) or ``variable`` (regression)."""
    names = heads.NAMES[heads.regressor if model.task == "regression" else heads.classifier]
    return _export(lambda ndx, X: heads.tabular(model, ndx, X), names,
                   model.network.n_features, "float64", path, input_name, opset)


def save(model, path, inputs=()):
    """Write the ``onnx.ModelProto`` ``model`` to ``path`` atomically."""
    write_atomic(writable_path(path, WHAT, inputs=inputs), model.SerializeToString(), WHAT)


def _export(outputs, names, n_features, dtype_name, path, input_name, opset):
    """Build the graph of ``outputs(ndx, X)`` (a dict with the keys ``names``) on a
    symbolic ``(N, n_features)`` input, write it to ``path`` when given, and return it."""
    if not isinstance(input_name, str) or not input_name:
        raise InputError(f"input_name must be a non-empty string, got {input_name!r}")
    if input_name in names:
        raise InputError(f"input_name {input_name!r} is the name of an output "
                         f"({', '.join(names)}); choose another")
    graph.check_opset(opset)
    if path is not None:  # a bad destination fails before the work
        writable_path(path, WHAT)
    ndx = graph.require_all()
    X = graph.argument(ndx, n_features, dtype_name)
    results = outputs(ndx, X)
    model = graph.build({input_name: X}, results, opset=opset)
    if path is not None:
        save(model, path)
    return model
