"""The ``serve`` workload: predictions of an exported network in onnxruntime beside
bpnn's own ``predict``.

One tabular-sized MLP (64 features, two hidden layers of 256 ReLU units, 10 softmax
outputs) in float32 and float64, exported with :meth:`bpnn.Network.to_onnx`.  Latency:
the time of one call at batch 1 (many calls per timed run, the median run divided by
its calls).  Throughput: rows per second at batch 1024.  onnxruntime runs on the CPU
with its default threads (one per core) and with one thread; bpnn on each chosen
backend (the input starts on the host, as a server's request does, and the output comes
back to it), and on numpy also with its BLAS limited to one thread.
"""

from __future__ import annotations

import time

import numpy as np

from .timing import summary, timed

SIZES = (64, 256, 256, 10)
QUICK_SIZES = (8, 16, 4)
BATCHES = (1, 1024)


def _calls(batch, quick):
    """Calls per timed run: enough that one run lasts well over the clock's resolution."""
    if quick:
        return 2
    return 500 if batch == 1 else 20


def run(backends, repeats, quick=False):
    """Result rows: per dtype and batch, bpnn's ``predict`` on each backend and
    onnxruntime on the exported graph, with each one's speed as a multiple of bpnn's
    on the first backend."""
    import bpnn
    from bpnn.backends import get_backend
    from bpnn.export.graph import require

    from threadpoolctl import threadpool_limits  # scikit-learn's dependency

    require("ndonnx")
    try:
        import onnxruntime as ort
    except ImportError:
        from bpnn.errors import MissingDependency

        raise MissingDependency("the serve workload needs onnxruntime: pip install "
                                "onnxruntime") from None
    sizes = QUICK_SIZES if quick else SIZES
    rows = []
    for dtype in ("float32",) if quick else ("float32", "float64"):
        host = bpnn.mlp(list(sizes), activation="relu", output_activation="softmax",
                        loss="cross_entropy", seed=0, backend="numpy", dtype=dtype)
        start = time.perf_counter()
        model = host.to_onnx()
        export_seconds = time.perf_counter() - start
        sessions = {"onnxruntime": _session(ort, model, threads=0),  # its default: all cores
                    "onnxruntime 1 thread": _session(ort, model, threads=1)}
        runners = []
        for name in backends:
            backend = get_backend(name)
            net = bpnn.mlp(list(sizes), activation="relu", output_activation="softmax",
                           loss="cross_entropy", backend=name, dtype=dtype)
            net.build(weights=host.get_weights())

            def predict(X, net=net, backend=backend):
                return backend.to_numpy(net.predict(X))

            runners.append((f"bpnn {name}", predict, backend.synchronize, None))
            if name == "numpy":  # beside onnxruntime's one thread: BLAS on one thread
                runners.append(("bpnn numpy 1 thread", predict, backend.synchronize, 1))
        for who, session in sessions.items():
            runners.append((who, lambda X, session=session: session.run(None, {"X": X})[0],
                            lambda: None, None))
        for batch in BATCHES:
            X = np.random.default_rng(1).normal(size=(batch, sizes[0])).astype(dtype)
            calls = _calls(batch, quick)
            reference = None
            for who, predict, synchronize, blas_threads in runners:
                def repeat(predict=predict, X=X, calls=calls, blas_threads=blas_threads):
                    with threadpool_limits(blas_threads, user_api="blas"):  # None: no limit
                        for _ in range(calls):
                            predict(X)

                result = summary(timed(repeat, synchronize, repeats=repeats), per=calls)
                reference = reference or result["median"]
                row = {"workload": "serve", "who": who, "dtype": dtype, "batch": batch,
                       "us_per_call": result["median"] * 1e6,
                       "best_us_per_call": result["min"] * 1e6,
                       "samples_per_s": batch / result["median"],
                       "of_bpnn": reference / result["median"], "runs": result["runs"],
                       "layers": len(host.layers), "sizes": list(sizes)}
                if who.startswith("onnxruntime"):
                    row.update(nodes=len(model.graph.node), export_s=export_seconds)
                rows.append(row)
    return rows


def _session(ort, model, threads):
    """An onnxruntime session of ``model`` on the CPU with ``threads`` threads per
    operator (0: onnxruntime's default, one per core)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    return ort.InferenceSession(model.SerializeToString(), options,
                                providers=["CPUExecutionProvider"])
