"""``bpnn predict MODEL DATA``: predictions of a trained model for a table, as CSV."""

from __future__ import annotations

import csv
import sys

from ..errors import InputError
from ..files import ModelFileError
from ..files.model_file import read_model
from ..tabular.tables import (
    ColumnRows,
    DataError,
    FilledRows,
    encode_labels,
    numeric_target,
    read_table,
)
from ..tabular import TabularModel
from ..validation import writable_path
from ..writing import open_atomic
from .common import print_scores


def add_parser(commands):
    predict = commands.add_parser("predict", help="predict a table with a trained model",
                                  description="Write the model's predictions for each row of "
                                              "DATA as CSV (to --out, or to the screen).")
    predict.add_argument("model", help="a model file written by bpnn train")
    predict.add_argument("data", help="the rows to predict (the target column may be there)")
    predict.add_argument("--out", default=None, help="CSV file (default: standard output)")
    predict.add_argument("--backend", default=None)
    predict.add_argument("--sep", default=None, metavar="CHAR",
                         help="the CSV field separator (default ',', a tab for .tsv)")
    predict.set_defaults(run=run)

    evaluate = commands.add_parser("evaluate", help="score a trained model on a table",
                                   description="R², RMSE and MAE (regression), or accuracy, "
                                               "log loss and the confusion matrix "
                                               "(classification) on DATA.")
    evaluate.add_argument("model", help="a model file written by bpnn train")
    evaluate.add_argument("data", help="rows with their true target")
    evaluate.add_argument("--target", default=None,
                          help="the target column (default: the one the model was trained on)")
    evaluate.add_argument("--backend", default=None)
    evaluate.add_argument("--sep", default=None, metavar="CHAR",
                          help="the CSV field separator (default ',', a tab for .tsv)")
    evaluate.set_defaults(run=run_evaluate)


def _model_and_table(args, require_target):
    """The model, and DATA's table with the model's feature columns in the model's order.

    For ``predict`` the target column may be in DATA or not; ``evaluate`` needs it.
    """
    model = _load(args)
    features, trained = model.info["features"], model.info.get("target")
    # the columns the model set aside (--drop, --id), where DATA has them; its imputation
    layout = {"sep": args.sep, "drop": model.info.get("dropped", []),
              "id_column": model.info.get("id"), "missing": "impute" in model.info,
              "optional": True}
    if require_target:
        table = read_table(args.data, getattr(args, "target", None) or trained, **layout)
    else:  # the target column, where DATA has it, is set aside (and not parsed as a feature)
        table = read_table(args.data, trained, require_target=False, **layout)
        if table.by_position and table.target is not None and \
                len(table.features) != len(features):  # an array's column number: a feature
            table = read_table(args.data, None, require_target=False, **layout)
    if table.by_position and len(table.features) == len(features):
        table.features = list(features)  # unnamed columns: the model's, in its order
    if table.features != features:
        missing = [name for name in features if name not in table.features]
        if missing or len(table.features) != len(features):
            raise DataError(f"{table.where}: the model takes the columns {_short(features)}; "
                            + (f"missing {_short(missing)}" if missing else
                               f"the data has {_short(table.features)}"))
        order = [table.features.index(name) for name in features]  # same columns, reordered
        table.X, table.features = ColumnRows(table.X, order), features
    table.check_finite(missing="impute" in model.info)
    if "impute" in model.info:
        table.X = FilledRows(table.X, model.info["impute"])
    return model, table


def _load(args):
    """The model of ``args.model``; a table there and a model in ``args.data`` (the two
    swapped) is said so."""
    try:
        return TabularModel.load(args.model, backend=args.backend)
    except ModelFileError as error:
        if not _is_model(args.data):
            raise error from None
        raise InputError(f"{args.model} is not a model, and {args.data} is one: the model "
                         f"comes first (bpnn {args.command} MODEL DATA)") from None


def _is_model(path):
    """Whether ``path`` holds a bpnn model (read on NumPy)."""
    try:
        read_model(path, backend="numpy")
    except (ModelFileError, OSError):
        return False
    return True


def _short(names):
    return names if len(names) <= 10 else [*names[:10], f"... {len(names)} in all"]


def run(args):
    inputs = [args.model, args.data]
    if args.out:  # before the model is read: a bad destination must not cost the work
        writable_path(args.out, "the predictions", inputs)
    model, table = _model_and_table(args, require_target=False)
    try:
        if args.out:
            with open_atomic(args.out, "the predictions", text=True, inputs=inputs) as out:
                _write_predictions(model, table, out)
        else:
            _write_predictions(model, table, sys.stdout)
    finally:
        table.close()
    if args.out:
        print(f"{table.n_rows} predictions written to {args.out}", file=sys.stderr)
    return 0


def _write_predictions(model, table, out):
    """The header, then one CSV row per row of ``table``, to the text file ``out``."""
    writer = csv.writer(out)
    wrote_header = False
    ids = table.ids  # the --id column of training, where DATA has it: the rows' names
    for index, (header, row) in enumerate(model.predictions(table.X)):
        if not wrote_header:
            writer.writerow(header if ids is None else [model.info["id"], *header])
            wrote_header = True
        cells = [_cell(value) for value in row]
        writer.writerow(cells if ids is None else [ids[index], *cells])


def _cell(value):
    return repr(value) if isinstance(value, float) else value


def run_evaluate(args):
    model, table = _model_and_table(args, require_target=True)
    try:
        if model.task == "classification":
            truth = encode_labels(table.y, model.info["classes"], table.where)
        else:
            truth = numeric_target(table.y, table.where, table.target, table.locate)
        print(f"bpnn evaluate {args.model} on {table.where}: ", end="")
        print_scores(model.evaluate(table.X, truth), target=table.target)
    finally:
        table.close()
    return 0

