"""``bpnn train DATA --target COL``: fit a network to a table and save it."""

from __future__ import annotations

import contextlib
import time

from ..backends import get_backend
from ..data.rows import ArrayRows, RowSource
from ..tabular.tables import (
    DataError,
    StandardizedRows,
    classes_of,
    column_stats,
    encode_labels,
    infer_task,
    numeric_target,
    read_table,
    standardize_block,
    standardized,
)
from ..builders import mlp
from ..distributed import Start
from ..divergence import DivergenceError
from ..errors import InputError, OutOfMemory
from ..optimizers import get_optimizer
from ..tabular import TabularModel
from ..validation import writable_path
from .common import (
    non_negative_float,
    parameter_count,
    positive_int,
    positive_ints,
    print_scores,
)


def add_parser(commands):
    train = commands.add_parser(
        "train", help="train a network on a table and save it",
        description="Train a multi-layer perceptron on a table (CSV with a header row, Parquet, "
                    ".npy, .npz, or a folder of .npy shards) and save it with its "
                    "standardization and labels.")
    train.add_argument("data", help="the training data")
    train.add_argument("--target", required=True,
                       help="the target column (a header name; for arrays a column number)")
    train.add_argument("--task", choices=["auto", "regression", "classification"], default="auto",
                       help="auto: labels (text, or up to 20 distinct integers) mean "
                            "classification")
    train.add_argument("--hidden", type=positive_ints, default=[64, 64], metavar="N,N,...",
                       help="hidden layer widths (default 64,64)")
    train.add_argument("--activation", default="relu", help="hidden activation (default relu)")
    train.add_argument("--solver", choices=["adam", "sgd"], default="adam")
    train.add_argument("--lr", type=non_negative_float, default=None,
                       help="learning rate (default 0.001 for adam, 0.01 for sgd)")
    train.add_argument("--epochs", type=positive_int, default=100)
    train.add_argument("--batch-size", type=positive_int, default=32)
    train.add_argument("--validation-fraction", type=float, default=0.1,
                       help="rows held out to report the validation loss (default 0.1; 0 for none)")
    train.add_argument("--backend", default=None, help="auto, numpy, cupy, torch, ...")
    train.add_argument("--dtype", choices=["float32", "float64"], default=None)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--no-standardize", action="store_true",
                       help="train on the raw columns (and raw targets)")
    train.add_argument("--out", default="model.bpnn", help="where to save the model")
    train.add_argument("--checkpoint", default=None, help="write the training state there")
    train.add_argument("--resume", default=None, help="continue from this checkpoint")
    train.add_argument("--plot", metavar="FILE", default=None,
                       help="save the learning curves there (needs matplotlib)")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.add_argument("--distributed", action="store_true",
                       help="data-parallel over the ranks of an MPI job (mpiexec -n P bpnn "
                            "train ... --distributed): the global batch is P times "
                            "--batch-size, each rank reads its rows of each batch (from "
                            ".npy files and shard folders; a CSV is parsed by every rank), "
                            "rank 0 prints and saves")
    train.set_defaults(run=run)


def run(args):
    dist = None
    if args.distributed:
        from ..distributed import Distributed

        dist = Distributed.world()
    with contextlib.ExitStack() as stack:
        # Up to the ranks' agreement in fit, an error on one rank (a missing file, a NaN in
        # its copy of the table) reaches every rank instead of leaving them waiting.
        stack.enter_context(Start(dist))
        _check_outputs(args)
        if not 0.0 <= args.validation_fraction < 1.0:
            raise InputError("--validation-fraction must be in [0, 1), got "
                             f"{args.validation_fraction}")
        backend = get_backend(args.backend)
        table = stack.enter_context(contextlib.closing(read_table(args.data, args.target)))
        model, history, fitted = _fit(args, backend, table, dist)
    if dist is not None and not dist.writer:
        return 0
    return _report(args, model, history, fitted)


def _check_outputs(args):
    """Refuse, before any work, an output that cannot be written or that would
    overwrite an input (the data, the checkpoint resumed from) or another output."""
    writable_path(args.out, "the model", inputs=[args.data, args.resume, args.checkpoint])
    if args.checkpoint is not None:  # resuming from it and writing it again is the usual run
        writable_path(args.checkpoint, "the checkpoint", inputs=[args.data])
    if args.plot is not None:
        from ..plot import check_path

        check_path(args.plot, inputs=[args.data, args.resume, args.checkpoint, args.out])


def _say(args, dist):
    """``print`` for the progress lines, or nothing (``--quiet``, and ranks other than 0)."""
    quiet = args.quiet or (dist is not None and not dist.writer)
    return (lambda *a, **k: None) if quiet else print


def _fit(args, backend, table, dist):
    """Check the table, build the network and train it: the model, the history and what
    the report needs (seconds, validation rows and their targets in the user's units)."""
    say = _say(args, dist)
    table.check_finite()
    task = infer_task(table.y) if args.task == "auto" else args.task
    info = {"task": task, "features": table.features, "target": table.target}
    values = None
    if task == "classification":
        info["classes"] = classes_of(table.y)
        if len(info["classes"]) < 2:
            raise DataError(f"{table.where}: the target {table.target!r} has a single class "
                            f"{info['classes']}; nothing to classify")
        T = encode_labels(table.y, info["classes"], table.where)
    else:
        values = numeric_target(table.y, table.where, table.target, table.locate)
        T, info["y_mean"], info["y_scale"] = standardized(values)
        if args.no_standardize:
            T, info["y_mean"], info["y_scale"] = values.reshape(-1, 1), 0.0, 1.0
    train_rows, val_rows = table.split(args.validation_fraction, args.seed)
    X_train = table.features_of(train_rows)  # in memory, or streamed from the files
    X_val = table.X.take(val_rows) if len(val_rows) else None
    X_train_fit, X_val_fit = X_train, X_val
    if not args.no_standardize:
        # standardized on the host in float64 before the network's dtype (float32 too)
        # sees them: a narrow column on a large offset keeps its digits
        rows = X_train if isinstance(X_train, RowSource) else ArrayRows(X_train)
        info["x_mean"], info["x_scale"] = column_stats(rows)
        X_train_fit = StandardizedRows(rows, info["x_mean"], info["x_scale"])
        if not isinstance(X_train, RowSource):  # in memory it stays in memory
            X_train_fit = X_train_fit.take(slice(None))
        if X_val is not None:
            X_val_fit = standardize_block(X_val, info["x_mean"], info["x_scale"])

    n_out = T.shape[1]
    sizes = [len(table.features), *args.hidden, n_out]
    with _plainly(sizes, backend):
        network = mlp(sizes, activation=args.activation,
                      loss="cross_entropy" if task == "classification" else "mse",
                      backend=backend, dtype=args.dtype, seed=args.seed)
    optimizer = get_optimizer(args.solver, **({} if args.lr is None else {"lr": args.lr}))
    validation = None if X_val is None else (X_val_fit, T[val_rows])
    say(f"bpnn train {table.where}: {task}, {table.n_rows} rows ({len(train_rows)} train, "
        f"{len(val_rows)} validation), {len(table.features)} features -> "
        + (f"{len(info['classes'])} classes" if task == "classification" else table.target))
    say(f"network {len(table.features)}-{'-'.join(map(str, args.hidden))}-{n_out} "
        f"{args.activation}, {args.solver}, backend {backend.name} ({backend.describe()})")
    if dist is not None:  # what fit cannot see: the table's names (its data is in fit's digest)
        dist.agree({"columns": table.features, "target": table.target, "task": task,
                    "classes": info.get("classes")})
    start = time.perf_counter()
    with _plainly(sizes, backend):
        history = network.fit(X_train_fit, T[train_rows], epochs=args.epochs,
                              batch_size=args.batch_size, optimizer=optimizer,
                              validation_data=validation, verbose=0 if args.quiet else 1,
                              checkpoint=args.checkpoint, resume=args.resume,
                              distributed=args.distributed)
    seconds = time.perf_counter() - start
    truth = None
    if X_val is not None:
        truth = values[val_rows] if task == "regression" else T[val_rows]
    return TabularModel(network, info), history, (seconds, X_val, truth)


def _report(args, model, history, fitted):
    """Save the model (rank 0 only), then print its summary and plot its curves."""
    say = _say(args, None)
    seconds, X_val, truth = fitted
    model.save(args.out)
    last = f"loss {history['loss'][-1]:.6g}"
    if "val_loss" in history:
        last += f", validation loss {history['val_loss'][-1]:.6g}"
    say(f"{len(history)} epochs in {seconds:.1f} s: {last}")
    if X_val is not None:  # raw rows, as predict gets them
        say("validation: ", end="")
        print_scores(model.evaluate(ArrayRows(X_val), truth), say)
    if args.plot is not None:
        from ..plot import loss_curve

        loss_curve(history, path=args.plot)
        say(f"learning curves saved to {args.plot}")
    say(f"model saved to {args.out}")
    return 0


@contextlib.contextmanager
def _plainly(sizes, backend):
    """Say a failed allocation and a diverged training as a shell user can act on them:
    :class:`~bpnn.errors.OutOfMemory` (from ``MemoryError``, CuPy's and PyTorch's
    out-of-memory errors) and a :class:`~bpnn.divergence.DivergenceError` naming the
    command's options."""
    try:
        yield
    except DivergenceError as error:
        raise DivergenceError(_diverged(error), epoch=error.epoch, step=error.step) from None
    except (MemoryError, RuntimeError) as error:
        if not (isinstance(error, MemoryError) or type(error).__name__ == "OutOfMemoryError"):
            raise
        raise OutOfMemory(f"not enough memory for a network of {parameter_count(sizes):,} "
                          f"parameters ({'-'.join(map(str, sizes))}) on {backend.name}; use "
                          "narrower --hidden layers or a smaller --batch-size") from None


def _diverged(error):
    """A diverged training's message in the command's terms."""
    where = "" if error.epoch is None else f" in epoch {error.epoch + 1}"
    if error.epoch is not None and error.step is not None:
        where += f", step {error.step + 1}"
    return (f"training diverged{where}: the loss or the weights became NaN or infinite. "
            "Try a smaller --lr (or --solver adam), and standardized columns (no "
            "--no-standardize)")
