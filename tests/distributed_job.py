"""A training job for tests/test_distributed.py, run as ``mpiexec -n P python distributed_job.py
MODE OUT [options]``; rank 0 writes the weights and the loss curve to OUT (.npz)."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys

import numpy as np

import bpnn

OPTIMIZERS = {"sgd": lambda: bpnn.SGD(lr=0.1),
              "momentum": lambda: bpnn.SGD(lr=0.05, momentum=0.9, nesterov=True),
              "adam": lambda: bpnn.Adam(lr=0.01)}


def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(103, 5))  # 103: the last global batch is short and uneven
    return X, np.sin(X[:, :2])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--optimizer", default="sgd")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--single", action="store_true", help="one process, not distributed")
    parser.add_argument("--checkpoint")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--log")
    parser.add_argument("--fail-rank", type=int, default=None)
    parser.add_argument("--die", action="store_true", help="the failing rank is killed (-9)")
    parser.add_argument("--sample-weight", action="store_true")
    parser.add_argument("--iterator", action="store_true", help="a batch iterator as X")
    parser.add_argument("--estimator", help="fit bpnn.MLPRegressor with this solver instead")
    parser.add_argument("--files", help="train from .npy files written to this folder")
    parser.add_argument("--rank1-rows-minus", type=int, default=0,
                        help="rank 1 drops this many of the last rows")
    parser.add_argument("--rank1-nan", action="store_true", help="rank 1 has one NaN in X")
    parser.add_argument("--rank1-perturb", action="store_true",
                        help="rank 1 has one value of X changed (the same shape)")
    parser.add_argument("--rank1-epochs", type=int, default=None)
    parser.add_argument("--rank1-raise", choices=["before", "after"],
                        help="rank 1 raises before or after fit (after: rank 0 then waits "
                        "in a barrier)")
    parser.add_argument("--backend", default=None, help="the network's backend (cupy: one GPU "
                        "per rank; each rank then writes OUT.rankR.txt: its device and the "
                        "devices it made CUDA contexts on, where the stand-in counts them)")
    args = parser.parse_args()

    rank = 0 if args.single else _rank()
    X, T = data()
    changed = _rank1(args, X, T) if rank == 1 else None
    own = changed is not None  # rank 1's data is its own
    if own:
        X, T, args.epochs = changed
    if args.files:  # every rank reads only its rows of each batch
        folder = f"{args.files}/rank1" if own else args.files  # its own copy of the files
        if args.single or rank == 0 or own:
            os.makedirs(folder, exist_ok=True)
            np.save(f"{folder}/X.npy", X)
            np.save(f"{folder}/T.npy", T)
        if not args.single:
            _world().comm.Barrier()
        X, T = f"{folder}/X.npy", f"{folder}/T.npy"
    with _exit_2_on_value_error(rank):
        _train(args, rank, X, T)


@contextlib.contextmanager
def _exit_2_on_value_error(rank):
    """Bad data or options (RanksDisagree included) as the command line treats them: the
    message, and exit code 2; every rank then exits so, with no MPI_Abort."""
    try:
        yield
    except ValueError as error:
        print(f"rank {rank}: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
        sys.exit(2)


def _train(args, rank, X, T):
    if args.estimator:
        model = bpnn.MLPRegressor(hidden_layer_sizes=(6,), solver=args.estimator, alpha=0.01,
                                  batch_size=args.batch_size, max_iter=args.epochs,
                                  random_state=0, distributed=not args.single).fit(X, T)
        model.save(f"{args.out}.bpnn")  # every rank calls it; rank 0 writes
        if args.single or rank == 0:
            np.savez(args.out, *model.coefs_, loss=np.array(model.loss_curve_))
        return
    net = bpnn.mlp([5, 8, 2], activation="tanh", seed=3, backend=args.backend)
    callbacks = [bpnn.CSVLogger(args.log)] if args.log else []
    if args.fail_rank is not None:
        def fail(epoch, logs):
            if rank == args.fail_rank and epoch == 2:
                if args.die:
                    os.kill(os.getpid(), signal.SIGKILL)
                raise RuntimeError("a failure injected on purpose")
        callbacks.append(bpnn.LambdaCallback(on_epoch_end=fail))
    if args.iterator:
        X, T = (lambda: iter([data()])), None
    history = net.fit(X, T, epochs=args.epochs, batch_size=args.batch_size,
                      optimizer=OPTIMIZERS[args.optimizer](), l2=1e-3,
                      distributed=not args.single, checkpoint=args.checkpoint,
                      resume=True if args.resume else None, callbacks=callbacks,
                      sample_weight=np.ones(103) if args.sample_weight else None)
    if args.rank1_raise == "after":
        if rank == 1:
            raise RuntimeError("a failure after fit, injected on purpose")
        _world().comm.Barrier()  # rank 1 never comes: its uncaught error must end the job
    if rank == 0:
        np.savez(args.out, *net.get_weights(), loss=np.array(history["loss"]))
    if args.backend is not None:
        gpu = getattr(sys.modules.get("cupy"), "gpu", None)  # the stand-in's model
        contexts = sorted(gpu.contexts) if gpu is not None else "uncounted"
        with open(f"{args.out}.rank{rank}.txt", "w") as report:
            report.write(f"{net.backend.spec} {contexts}\n")


def _rank1(args, X, T):
    """Rank 1's data and epoch count, made to disagree with rank 0's as the options say;
    None when no option says so."""
    if not (args.rank1_raise or args.rank1_rows_minus or args.rank1_nan or args.rank1_perturb
            or args.rank1_epochs):
        return None
    if args.rank1_raise == "before":
        raise RuntimeError("a failure before fit, injected on purpose")
    if args.rank1_rows_minus:
        X, T = X[:-args.rank1_rows_minus], T[:-args.rank1_rows_minus]
    X = X.copy()
    if args.rank1_nan:
        X[7, 1] = np.nan
    if args.rank1_perturb:
        X[7, 1] += 1e-3
    return X, T, args.rank1_epochs or args.epochs


def _world():
    from bpnn.distributed import Distributed

    return Distributed.world()  # an uncaught error on a rank now ends the whole job


def _rank():
    return _world().rank


if __name__ == "__main__":
    main()
