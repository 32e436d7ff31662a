"""A network's forward pass as an ONNX graph: the layers' own code run on ndonnx arrays.

ndonnx arrays follow the Array API standard and record every operation as an ONNX
node instead of computing it.  The network's parameters become constants, its input a
symbolic ``(N, n_features)`` argument, and :func:`bpnn.network.run_layers` (the loop
``predict`` runs) builds the graph: there is no per-layer ONNX code.  The graph is then
cleaned by onnxscript's constant folder and onnx-ir's passes (constants folded into
initializers, Identity and unused nodes dropped), its outputs' batch dimension named
like the input's, and checked by onnx with its shapes inferred.

What stays: ndonnx guards each matrix product and each reduction to a maximum with an
``If`` for an input of 0 rows; with ``N`` symbolic their conditions are not constants.
"""

from __future__ import annotations

import copy
import importlib

from ..errors import InputError, MissingDependency
from ..network import run_layers

#: The name of the symbolic batch dimension of every input and output.
BATCH = "N"
#: No size limit on what is folded: the largest constants are the weights themselves.
_NO_LIMIT = 2 ** 62
#: The packages an export needs, by module: what to ``pip install``.
PACKAGES = {"ndonnx": "ndonnx", "onnx": "onnx", "onnxscript": "onnxscript",
            "onnx_ir": "onnx-ir"}


def require(module):
    """Import ``module`` (``"ndonnx"``, ``"onnx"``, ``"onnxscript.optimizer"``...), or raise
    :class:`~bpnn.errors.MissingDependency` saying what to install."""
    try:
        return importlib.import_module(module)
    except ImportError:
        package = PACKAGES[module.split(".")[0]]
        raise MissingDependency(f"exporting to ONNX needs {package}: pip install "
                                f"'bpnn[onnx]' (ndonnx, onnx, onnxscript)") from None


def require_all():
    """The ndonnx namespace, once every package an export needs is known to import."""
    for module in ("onnx", "onnxscript.optimizer", "onnx_ir"):
        require(module)
    return require("ndonnx")


def argument(ndx, n_columns, dtype_name):
    """The symbolic input: ``(N, n_columns)`` rows of ``dtype_name``."""
    return ndx.argument(shape=(BATCH, n_columns), dtype=getattr(ndx, dtype_name))


def network_output(network, ndx, X):
    """``network``'s output for the ndonnx array ``X`` (an inference pass), its weights
    and buffers as constants; ``network`` itself is left as it was."""
    network.build()
    backend = network.backend
    with backend.scope():  # the weights cross to the host on their own device
        layers = [_on_host(layer, backend, ndx) for layer in network.layers]
    if X.dtype != getattr(ndx, network.dtype_name):
        X = ndx.astype(X, getattr(ndx, network.dtype_name))
    return run_layers(layers, ndx, X)


def _on_host(layer, backend, ndx):
    """A shallow copy of ``layer`` whose parameters and buffers are ndonnx constants."""
    host = copy.copy(layer)
    host.params = [ndx.asarray(backend.to_numpy(array, copy=True)) for array in layer.params]
    host.buffers = [ndx.asarray(backend.to_numpy(array, copy=True)) for array in layer.buffers]
    return host


def build(inputs, outputs, *, opset=None):
    """The checked ``onnx.ModelProto`` computing ``outputs`` from ``inputs``.

    Every output's first dimension is the batch: it is named :data:`BATCH`, as the
    input's is (every layer, and every head, maps rows to rows).

    Parameters
    ----------
    inputs, outputs : dict of str to ndonnx arrays
    opset : int, optional
        The ONNX opset of the default domain; by default ndonnx's.
    """
    ndx = require("ndonnx")
    onnx = require("onnx")
    model = simplify(ndx.build(inputs, outputs))
    if opset is not None:
        model = _convert(onnx, model, opset)
    for value in model.graph.output:
        dims = value.type.tensor_type.shape.dim
        dims[0].Clear()
        dims[0].dim_param = BATCH
    # strict: a shape that contradicts the one declared fails here, not in a runtime
    model = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True,
                                              data_prop=True)
    onnx.checker.check_model(model, full_check=True)
    model.producer_name = "bpnn"
    model.producer_version = _version()
    return model


def check_opset(opset):
    """``opset`` if it is ``None`` or a positive integer."""
    if opset is not None and (isinstance(opset, bool) or not isinstance(opset, int)
                              or opset < 1):
        raise InputError(f"opset must be a positive integer, got {opset!r}")
    return opset


def simplify(model):
    """``model`` with its constant subgraphs folded (whatever their size: they are the
    weights) into initializers, its Identity nodes and unused nodes dropped.

    onnxscript's constant folder and onnx-ir's passes; not onnxscript's whole
    ``optimize``, whose pattern rewrites (fusions) take most of its time and change
    nothing in these graphs but a handful of nodes.
    """
    optimizer = require("onnxscript.optimizer")
    ir = require("onnx_ir")
    common = require("onnx_ir.passes.common")
    graph = ir.from_proto(model)
    optimizer.fold_constants_ir(graph, input_size_limit=_NO_LIMIT, output_size_limit=_NO_LIMIT)
    ir.passes.Sequential(
        common.IdentityEliminationPass(), common.RemoveUnusedNodesPass(),
        common.LiftConstantsToInitializersPass(lift_all_constants=True, size_limit=0),
        common.DeduplicateInitializersPass(), common.RemoveUnusedOpsetsPass())(graph)
    return ir.to_proto(graph)


def _convert(onnx, model, opset):
    """``model`` in the default domain's ``opset``."""
    current = next(entry.version for entry in model.opset_import
                   if entry.domain in ("", "ai.onnx"))
    if opset == current:
        return model
    try:
        return onnx.version_converter.convert_version(model, opset)
    except Exception as error:  # onnx raises its own, unexported error types
        raise InputError(f"cannot convert the graph from opset {current} to {opset}: "
                         f"{str(error).splitlines()[0] if str(error) else type(error).__name__}"
                         ) from None


def _version():
    from .._version import __version__

    return __version__
