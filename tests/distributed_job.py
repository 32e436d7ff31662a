"""A training job for tests/test_distributed.py, run as ``mpiexec -n P python distributed_job.py
MODE OUT [options]``; rank 0 writes the weights and the loss curve to OUT (.npz)."""

from __future__ import annotations

import argparse
import os
import signal

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
    parser.add_argument("--backend", default=None, help="the network's backend (cupy: one GPU "
                        "per rank; each rank then writes OUT.rankR.txt: its device and the "
                        "devices it made CUDA contexts on, where the stand-in counts them)")
    args = parser.parse_args()

    X, T = data()
    if args.files:  # every rank reads only its rows of each batch
        if args.single or _rank() == 0:
            np.save(f"{args.files}/X.npy", X)
            np.save(f"{args.files}/T.npy", T)
        if not args.single:
            from mpi4py import MPI

            MPI.COMM_WORLD.Barrier()
        X, T = f"{args.files}/X.npy", f"{args.files}/T.npy"
    if args.estimator:
        model = bpnn.MLPRegressor(hidden_layer_sizes=(6,), solver=args.estimator, alpha=0.01,
                                  batch_size=args.batch_size, max_iter=args.epochs,
                                  random_state=0, distributed=not args.single).fit(X, T)
        model.save(f"{args.out}.bpnn")  # every rank calls it; rank 0 writes
        if args.single or _rank() == 0:
            np.savez(args.out, *model.coefs_, loss=np.array(model.loss_curve_))
        return
    net = bpnn.mlp([5, 8, 2], activation="tanh", seed=3, backend=args.backend)
    callbacks = [bpnn.CSVLogger(args.log)] if args.log else []
    rank = 0 if args.single else _rank()
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
    if rank == 0:
        np.savez(args.out, *net.get_weights(), loss=np.array(history["loss"]))
    if args.backend is not None:
        import sys

        gpu = getattr(sys.modules.get("cupy"), "gpu", None)  # the stand-in's model
        contexts = sorted(gpu.contexts) if gpu is not None else "uncounted"
        with open(f"{args.out}.rank{rank}.txt", "w") as report:
            report.write(f"{net.backend.spec} {contexts}\n")


def _rank():
    from mpi4py import MPI

    return MPI.COMM_WORLD.Get_rank()


if __name__ == "__main__":
    main()
