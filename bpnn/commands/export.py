"""``bpnn export MODEL OUT``: any bpnn model file as an ONNX model, for serving."""

from __future__ import annotations

import sys

from ..validation import writable_path
from .common import positive_int


def add_parser(commands):
    export = commands.add_parser(
        "export", help="write a model as ONNX, for serving with onnxruntime",
        description="Write MODEL (a network, an MLPClassifier or MLPRegressor, or a model of "
                    "bpnn train) as an ONNX model to OUT: the network's forward pass with a "
                    "symbolic batch dimension N; estimators and bpnn train models give "
                    "'label' and 'probabilities' (classification) or 'variable' "
                    "(regression), and bpnn train models take raw float64 rows. Needs "
                    "pip install 'bpnn[onnx]'.")
    export.add_argument("model", help="a bpnn model file")
    export.add_argument("out", help="the ONNX file to write (replaced atomically)")
    export.add_argument("--input-name", default="X", help="the graph's input (default X)")
    export.add_argument("--opset", type=positive_int, default=None,
                        help="the ONNX opset (default: ndonnx's)")
    export.set_defaults(run=run)


def run(args):
    kind, model = export_file(args.model, args.out, input_name=args.input_name,
                              opset=args.opset)
    inputs = ", ".join(f"{value.name} {_shape(value)}" for value in model.graph.input)
    outputs = ", ".join(f"{value.name} {_shape(value)}" for value in model.graph.output)
    print(f"{kind} exported to {args.out}: {len(model.graph.node)} nodes; "
          f"{inputs} -> {outputs}", file=sys.stderr)
    return 0


def export_file(source, path, *, input_name="X", opset=None):
    """Write the ONNX model of the bpnn model file ``source`` (a network, an estimator
    or a ``bpnn train`` model, told apart by what the file holds) to ``path``; returns
    ``(kind, model)``.

    Raises
    ------
    ModelFileError
        ``source`` is not a bpnn model file, or is damaged.
    WriteError
        ``path`` cannot be written (checked before ``source`` is read).
    """
    from .. import estimators, export
    from ..files import ModelFileError
    from ..files.model_file import read_model
    from ..tabular import TabularModel

    writable_path(path, export.WHAT, inputs=[source])
    network, extra = read_model(source, backend="numpy")
    extra = extra if isinstance(extra, dict) else {}
    options = {"input_name": input_name, "opset": opset}
    if "estimator" in extra:
        name = str(extra["estimator"])
        if name not in estimators.__all__:
            raise ModelFileError(f"{source}: unknown estimator {name!r}")
        estimator = getattr(estimators, name).load(source, backend="numpy")
        kind, model = name, export.estimator_to_onnx(estimator, **options)
    elif "tabular" in extra:
        model = export.tabular_to_onnx(TabularModel.load(source, backend="numpy"), **options)
        kind = "bpnn train model"
    else:
        kind, model = "network", export.network_to_onnx(network, **options)
    export.save(model, path, inputs=[source])
    return kind, model


def _shape(value):
    dims = value.type.tensor_type.shape.dim
    return "(" + ", ".join(dim.dim_param or str(dim.dim_value) for dim in dims) + ")"
