"""``bpnn train DATA --target COL``: fit a network to a table and save it."""

from __future__ import annotations

import contextlib
import os
import sys
import time

import numpy as np

from ..backends import get_backend
from ..data.rows import ArrayRows, RowSource
from ..tabular.tables import (
    DataError,
    FilledRows,
    StandardizedRows,
    classes_of,
    column_stats,
    encode_labels,
    fill_values,
    infer_task,
    numeric_target,
    read_table,
    standardize_block,
    standardized,
)
from ..builders import mlp
from ..callbacks import Callback, EarlyStopping
from ..distributed import Start
from ..divergence import DivergenceError
from ..errors import InputError, OutOfMemory
from ..optimizers import get_optimizer
from ..tabular import TabularModel
from ..validation import writable_path
from .threads import choose as choose_threads
from .threads import limited as limited_threads
from .common import (
    column_names,
    non_negative_float,
    parameter_count,
    positive_int,
    positive_ints,
    print_scores,
)


#: The defaults of the options a resumed run takes from its checkpoint where not given,
#: and of the others; chosen on the panel of benchmarks/panel.py (see the README).
_DEFAULTS = {"task": "auto", "hidden": [100], "activation": "relu", "solver": "adam",
             "lr": None, "l2": 0.0, "batch_size": 32, "seed": 0, "dtype": None, "patience": 20,
             "validation_fraction": 0.1, "sep": None, "drop": [], "id": None, "epochs": 200}
#: The learning rate of each solver where --lr is not given.
_LR = {"adam": 0.003, "sgd": 0.01}
#: The switches a checkpoint keeps too (on when on in the checkpointed run or now).
_SWITCHES = ("impute", "no_early_stopping", "no_standardize")
#: A final validation loss this many times its best is said (without early stopping).
_OVERFIT_RATIO = 1.2


def add_parser(commands):
    train = commands.add_parser(
        "train", help="train a network on a table and save it",
        description="Train a multi-layer perceptron on a table (CSV with a header row, Parquet, "
                    ".npy, .npz, or a folder of .npy shards) and save it with its "
                    "standardization and labels.")
    train.add_argument("data", help="the training data")
    train.add_argument("--target", required=True,
                       help="the target column (a header name; for arrays a column number)")
    train.add_argument("--drop", type=column_names, default=None, metavar="COL,COL,...",
                       help="columns to leave out (CSV and Parquet)")
    train.add_argument("--id", default=None, metavar="COL",
                       help="a column that names the rows: not a feature, and written beside "
                            "the predictions of bpnn predict")
    train.add_argument("--sep", default=None, metavar="CHAR",
                       help="the CSV field separator (default ',', a tab for .tsv)")
    train.add_argument("--impute", action="store_true",
                       help="fill missing feature values (empty cells, NaN) with the training "
                            "rows' median (the mode for a column of a few whole numbers), "
                            "saved in the model for predict; without it a missing value is "
                            "an error")
    train.add_argument("--task", choices=["auto", "regression", "classification"], default=None,
                       help="auto: labels (text, or up to 20 distinct integers) mean "
                            "classification")
    train.add_argument("--hidden", type=positive_ints, default=None, metavar="N,N,...",
                       help="hidden layer widths (default 100, one layer)")
    train.add_argument("--activation", default=None, help="hidden activation (default relu)")
    train.add_argument("--solver", choices=["adam", "sgd"], default=None,
                       help="the optimizer (default adam)")
    train.add_argument("--lr", type=non_negative_float, default=None,
                       help=f"learning rate (default {_LR['adam']} for adam, {_LR['sgd']} for "
                            "sgd)")
    train.add_argument("--epochs", type=positive_int, default=_DEFAULTS["epochs"],
                       help="the most epochs to train (default %(default)s); early stopping "
                            "usually ends the run sooner")
    train.add_argument("--patience", type=positive_int, default=None,
                       help="early stopping: stop after this many epochs without a better "
                            "validation loss, and keep the best epoch's weights (default "
                            f"{_DEFAULTS['patience']})")
    train.add_argument("--no-early-stopping", action="store_true",
                       help="train all --epochs and keep the last epoch's weights")
    train.add_argument("--l2", type=non_negative_float, default=None,
                       help=f"L2 penalty on the weights, shared by each batch's rows as "
                            f"scikit-learn's alpha (default {_DEFAULTS['l2']})")
    train.add_argument("--batch-size", type=positive_int, default=None,
                       help=f"rows per step (default {_DEFAULTS['batch_size']})")
    train.add_argument("--validation-fraction", type=float, default=None,
                       help="rows held out for the validation loss and early stopping, "
                            "stratified by class for classification (default 0.1; 0 for "
                            "none: early stopping then watches the training loss)")
    train.add_argument("--backend", default=None, help="auto, numpy, cupy, torch, ...")
    train.add_argument("--dtype", choices=["float32", "float64"], default=None)
    train.add_argument("--seed", type=int, default=None, help="random seed (default 0)")
    train.add_argument("--no-standardize", action="store_true",
                       help="train on the raw columns (and raw targets)")
    train.add_argument("--out", default="model.bpnn", help="where to save the model")
    train.add_argument("--checkpoint", default=None, metavar="FILE",
                       help="write the training state there (with this command's options)")
    train.add_argument("--checkpoint-every", type=positive_int, default=None, metavar="N",
                       help="write the checkpoint every N epochs and after the last (default: "
                            "every tenth of --epochs, at most 10)")
    train.add_argument("--resume", nargs="?", const=True, default=None, metavar="FILE",
                       help="continue the run in this checkpoint (without FILE: the one of "
                            "--checkpoint); the options not given come from it")
    train.add_argument("--plot", metavar="FILE", default=None,
                       help="save the learning curves there (needs matplotlib)")
    train.add_argument("--threads", type=positive_int, default=None, metavar="N",
                       help="threads of the BLAS and PyTorch pools (default: 1 for a small "
                            "network, every core for a large one; bpnn info says the rule)")
    train.add_argument("--quiet", action="store_true",
                       help="no progress bar (the summary is still printed)")
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
        if args.checkpoint is not None:  # Ctrl-C ends the job in fit: say it there
            dist.last_words = lambda error: (isinstance(error, KeyboardInterrupt)
                                             and _interrupted(args, dist.size))
    _check_resume(args)
    try:
        with contextlib.ExitStack() as stack:
            # Up to the ranks' agreement in fit, an error on one rank (a missing file, a NaN
            # in its copy of the table) reaches every rank instead of leaving them waiting.
            stack.enter_context(Start(dist))
            _check_outputs(args)
            _settings(args)
            if not 0.0 <= args.validation_fraction < 1.0:
                raise InputError("--validation-fraction must be in [0, 1), got "
                                 f"{args.validation_fraction}")
            backend = get_backend(args.backend)
            table = stack.enter_context(contextlib.closing(read_table(
                args.data, args.target, sep=args.sep, drop=args.drop, id_column=args.id,
                missing=args.impute)))
            model, history, fitted = _fit(args, backend, table, dist)
    except KeyboardInterrupt:
        if args.checkpoint is None or (dist is not None and not dist.writer):
            raise
        return _interrupted(args, None if dist is None else dist.size)
    if dist is not None and not dist.writer:
        return 0
    return _report(args, model, history, fitted, dist)


def _check_resume(args):
    """``--resume`` without a file continues ``--checkpoint``, which it then needs."""
    if args.resume is True:
        if args.checkpoint is None:
            raise InputError("--resume without a file continues the run of --checkpoint FILE; "
                             "give --checkpoint (or --resume FILE)")
        args.resume = args.checkpoint if os.path.exists(args.checkpoint) else None
        if args.resume is None:
            print(f"bpnn: no checkpoint at {args.checkpoint} yet: starting afresh",
                  file=sys.stderr)


def _settings(args):
    """Fill the options not given: from the checkpoint resumed (the command's options it
    keeps, else its network and fit settings), else the defaults."""
    saved = _checkpoint_settings(args.resume) if args.resume else {}
    args.initial_epoch = saved.pop("next_epoch", 0)
    for name, default in _DEFAULTS.items():
        if getattr(args, name, None) is None:
            setattr(args, name, saved.get(name, default))
    for name in _SWITCHES:
        setattr(args, name, bool(getattr(args, name) or saved.get(name)))
    args.kept = _CommandSettings({name: getattr(args, name) for name in
                                  [*_DEFAULTS, *_SWITCHES] if name != "epochs"})
    if args.checkpoint_every is None:  # a small run is not slowed by a file every epoch,
        args.checkpoint_every = max(1, min(10, args.epochs // 10))  # a long one loses little


def _checkpoint_settings(path):
    """The command's options as the checkpoint at ``path`` records them: the network
    (hidden widths, activation, dtype, seed) and the fit (solver, lr, batch size, l2),
    and the epoch it continues from; what it does not record is left out."""
    from ..files.container import read

    content, _ = read(path, "checkpoint")
    network = content.get("network") or {}
    layers = network.get("layers") or []
    saved = {}
    dense = [layer for layer in layers if isinstance(layer, dict) and layer.get("type") == "Dense"]
    if dense:
        saved["hidden"] = [layer.get("n_out") for layer in dense[:-1]]
    activations = [layer.get("activation") for layer in layers
                   if isinstance(layer, dict) and layer.get("type") == "Activation"]
    if len(activations) > 1:
        saved["activation"] = activations[0]
    for key in ("dtype", "seed"):
        if network.get(key) is not None:
            saved[key] = network[key]
    training = content.get("training") or {}
    settings = training.get("settings") or {}
    optimizer = settings.get("optimizer") or {}
    if optimizer.get("name") in ("adam", "sgd"):
        saved["solver"] = optimizer["name"]
        saved["lr"] = optimizer.get("lr")
    for key in ("batch_size", "l2"):
        if settings.get(key) is not None:
            saved[key] = settings[key]
    if isinstance(training.get("next_epoch"), int):
        saved["next_epoch"] = training["next_epoch"]
    for entry in training.get("callbacks") or []:  # the command's own record, where kept
        if isinstance(entry, dict) and entry.get("class") == _CommandSettings.__name__ and \
                isinstance(entry.get("values"), dict):
            saved.update({name: value for name, value in entry["values"].items()
                          if name in _DEFAULTS or name in _SWITCHES})
    return saved


class _CommandSettings(Callback):
    """The command's options, kept in the checkpoint (as this callback's state) so that
    ``--resume`` needs none of them repeated; it does nothing during training."""

    def __init__(self, settings):
        self.settings = settings

    def get_state(self):
        return dict(self.settings), []

    def set_state(self, values, arrays):
        """The options were read from the file before the run (``_checkpoint_settings``)."""


def _interrupted(args, ranks=None):
    """Ctrl-C during training: where the checkpoint is and the command that resumes it
    (under ``mpiexec -n ranks`` for a distributed run)."""
    import shlex

    argv = list(getattr(args, "argv", None) or [])
    kept, skip = [], False
    for position, token in enumerate(argv):
        if skip:
            skip = False
            continue
        if token.startswith("--resume="):
            continue
        if token == "--resume":
            following = argv[position + 1] if position + 1 < len(argv) else None
            skip = following is not None and not following.startswith("-")
            continue
        kept.append(token)
    launcher = "" if ranks is None else f"mpiexec -n {ranks} "
    print(f"bpnn: interrupted; the checkpoint {args.checkpoint} holds the run up to its last "
          f"saved epoch. Continue it with:\n  {launcher}bpnn " + shlex.join([*kept, "--resume"]),
          file=sys.stderr)
    return 130


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
    """``print`` for the run's lines, or nothing on ranks other than 0 (``--quiet``
    removes the progress bar only)."""
    quiet = dist is not None and not dist.writer
    return (lambda *a, **k: None) if quiet else print


def _warn(message):
    print(f"bpnn: warning: {message}", file=sys.stderr)


def _fit(args, backend, table, dist):
    """Check the table, build the network and train it: the model, the history and what
    the report needs (seconds, validation rows and their targets in the user's units,
    the early stopping)."""
    say = _say(args, dist)
    table.check_finite(missing=args.impute)
    task = infer_task(table.y) if args.task == "auto" else args.task
    info = {"task": task, "features": table.features, "target": table.target}
    if args.drop:
        info["dropped"] = list(args.drop)
    if args.id is not None:
        info["id"] = args.id
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
    # classification: a stratified split (each class in the validation rows in its share)
    train_rows, val_rows = table.split(args.validation_fraction, args.seed,
                                       labels=T.argmax(axis=1) if task == "classification"
                                       else None)
    X_train = table.features_of(train_rows)  # in memory, or streamed from the files
    X_val = table.X.take(val_rows) if len(val_rows) else None
    filled = None
    if args.impute:  # the training rows' medians (modes) fill the gaps of every row
        X_train, X_val, info["impute"], filled = _imputed(X_train, X_val)
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
    optimizer = get_optimizer(args.solver, lr=_LR[args.solver] if args.lr is None else args.lr)
    validation = None if X_val is None else (X_val_fit, T[val_rows])
    stopping = None
    if not args.no_early_stopping:
        # without validation rows, the training loss with scikit-learn's tol (1e-4)
        stopping = EarlyStopping(monitor="val_loss" if validation else "loss",
                                 patience=args.patience, restore_best_weights=True,
                                 min_delta=0.0 if validation else 1e-4)
    say(f"bpnn train {table.where}: {task}, {table.n_rows} rows ({len(train_rows)} train, "
        f"{len(val_rows)} validation), {len(table.features)} features -> "
        + (f"{len(info['classes'])} classes" if task == "classification" else table.target))
    say(f"network {len(table.features)}-{'-'.join(map(str, args.hidden))}-{n_out} "
        f"{args.activation}, {args.solver}, backend {backend.name} ({backend.describe()})")
    if filled is not None:
        say(f"{filled} missing values filled with the training columns' medians (modes)")
    say(f"at most {args.epochs} epochs, "
        + ("all of them (no early stopping)" if stopping is None else
           f"stopping after {args.patience} without a better "
           f"{'validation' if validation else 'training'} loss and keeping the best epoch")
        + (f", l2 {args.l2:g}" if args.l2 else ""))
    if task == "regression":
        say("losses: mean squared error of the standardized target (1 is predicting the "
            "mean; RMSE in the target's units in the summary)" if not args.no_standardize
            else "losses: mean squared error of the raw target")
    threads, why = choose_threads(sizes, args.batch_size or len(train_rows), args.threads)
    say(f"{threads} thread{'s' if threads > 1 else ''} ({why})")
    if dist is not None:  # what fit cannot see: the table's names (its data is in fit's digest)
        dist.agree({"columns": table.features, "target": table.target, "task": task,
                    "classes": info.get("classes")})
    start = time.perf_counter()
    with _plainly(sizes, backend), limited_threads(threads, backend):
        history = network.fit(X_train_fit, T[train_rows], epochs=args.epochs,
                              batch_size=args.batch_size, optimizer=optimizer, l2=args.l2,
                              l2_shared=True, validation_data=validation,
                              callbacks=[args.kept, *([] if stopping is None else [stopping])],
                              verbose=0 if args.quiet else 1,
                              checkpoint=args.checkpoint, checkpoint_every=args.checkpoint_every,
                              resume=args.resume, distributed=args.distributed)
    seconds = time.perf_counter() - start
    truth = None
    if X_val is not None:
        truth = values[val_rows] if task == "regression" else T[val_rows]
    return TabularModel(network, info), history, (seconds, X_val, truth, stopping)


def _imputed(X_train, X_val):
    """The training and validation rows with their missing values filled from the
    training rows' :func:`~bpnn.tabular.tables.fill_values`, those values, and the count
    of values filled."""
    streamed = isinstance(X_train, RowSource)
    block = X_train.take(np.arange(X_train.shape[0])) if streamed else X_train
    values = fill_values(block)
    missing = int(np.isnan(block).sum()) + (0 if X_val is None else int(np.isnan(X_val).sum()))
    if streamed:
        X_train = FilledRows(X_train, values)
    else:
        X_train = FilledRows(ArrayRows(X_train), values).take(slice(None))
    if X_val is not None:
        X_val = FilledRows(ArrayRows(X_val), values).take(slice(None))
    return X_train, X_val, values, missing


def _report(args, model, history, fitted, dist=None):
    """Save the model (rank 0 only), then print its summary and plot its curves."""
    say = _say(args, None)
    seconds, X_val, truth, stopping = fitted
    model.save(args.out)
    trained = len(history) - args.initial_epoch  # this run's, after a resume
    where = "" if dist is None else f" on {dist.size} ranks"
    scale = " (standardized target)" if model.task == "regression" and \
        not args.no_standardize else ""
    losses = history.history
    last = f"loss {losses['loss'][-1]:.6g}"
    if "val_loss" in losses:
        last += f", validation loss {losses['val_loss'][-1]:.6g}"
    say(f"{trained} epochs{where} in {seconds:.1f} s: {last}{scale}"
        + (f" (epochs {args.initial_epoch + 1}-{len(history)} of the run resumed)"
           if args.initial_epoch else ""))
    if stopping is not None and stopping.best_epoch is not None:
        monitor = "validation loss" if stopping.monitor == "val_loss" else "loss"
        said = ("stopped early" if stopping.stopped_epoch is not None
                else f"reached --epochs {args.epochs}")
        say(f"{said}; kept epoch {stopping.best_epoch + 1}, the best {monitor} "
            f"{stopping.best:.6g}")
    elif "val_loss" in losses and len(losses["val_loss"]) > 1:
        best = min(losses["val_loss"])
        final = losses["val_loss"][-1]
        if best > 0 and final > _OVERFIT_RATIO * best:
            epoch = losses["val_loss"].index(best) + 1
            _warn(f"the validation loss ended at {final:.4g}, {final / best:.2f} times its "
                  f"best ({best:.4g}, epoch {epoch}): the network overfits; early stopping "
                  "(the default, without --no-early-stopping) keeps the best epoch")
    if X_val is not None:  # raw rows, as predict gets them
        scores = model.evaluate(ArrayRows(X_val), truth)
        say("validation: ", end="")
        print_scores(scores, say, target=model.info.get("target"))
        if "r2" in scores and scores["r2"] < 0:
            _warn(f"the validation R² is {scores['r2']:.4f}, below 0: the model predicts "
                  "worse than the mean of the target would")
    if args.plot is not None:
        from ..plot import loss_curve

        loss_curve(history, path=args.plot, title="Learning curve" + (
            " (MSE of the standardized target)" if scale else ""))
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
