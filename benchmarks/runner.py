"""Run workloads, print the table, write JSON and plots: what ``bpnn bench`` does."""

from __future__ import annotations

import contextlib
import json
import sys

from ..writing import open_atomic
from . import crossover, estimators, large, mlp, panel, seed_sin, serve, timing

WORKLOADS = ("seed-sin", "mlp", "crossover", "large", "estimators", "serve", "panel")
PEERS = ("numpy-hand", "torch", "torch-cuda", "sklearn", "jax")


#: The default sizes (a few minutes in all) and those of ``--full`` (the published runs).
SIZES = {False: {"seed_sin_epochs": 201, "mlp_samples": 20000, "mlp_dtypes": ("float32",)},
         True: {"seed_sin_epochs": seed_sin.EPOCHS, "mlp_samples": 60000,
                "mlp_dtypes": ("float32", "float64")}}


def run(workloads, backends, peers, repeats=5, quick=False, write=print, full=False):
    """Result rows of every workload, in order; ``quick`` shrinks the sizes (a check that
    everything runs, not a measurement), ``full`` takes those of :data:`SIZES` ``[True]``
    (the seed's 2001 epochs, 60,000 samples in float32 and float64)."""
    rows = []
    for workload in workloads:
        write(f"running {workload} ...")
        with _bar(workload):
            rows += _run_one(workload, backends, peers, repeats, quick, SIZES[bool(full)])
    return rows


@contextlib.contextmanager
def _bar(workload):
    """A progress bar on stderr counting the workload's timed runs (the panel's splits)
    while it runs, with the time spent."""
    from tqdm.auto import tqdm

    bar = tqdm(desc=workload, unit=" runs", leave=False, file=sys.stderr, dynamic_ncols=True)
    timing.PROGRESS = lambda: bar.update(1)
    try:
        yield bar
    finally:
        timing.PROGRESS = None
        bar.close()


def _run_one(workload, backends, peers, repeats, quick, sizes):
    """The result rows of one workload."""
    if workload == "seed-sin":
        return seed_sin.run(backends, peers, repeats,
                            epochs=51 if quick else sizes["seed_sin_epochs"])
    if workload == "mlp":
        return mlp.run(backends, peers, repeats,
                       n_samples=2048 if quick else sizes["mlp_samples"],
                       batch_sizes=(128,) if quick else (128, 1024),
                       dtypes=("float32",) if quick else sizes["mlp_dtypes"])
    if workload == "crossover":
        return crossover.run(backends, repeats, quick=quick, steps=4 if quick else 20)
    if workload == "large":
        return large.run(backends, repeats, samples=4096 if quick else large.SAMPLES,
                         cpu_samples=4096 if quick else large.CPU_SAMPLES, peers=peers)
    if workload == "estimators":
        return estimators.run(backends, repeats, quick=quick)
    if workload == "serve":
        return serve.run(backends, repeats, quick=quick)
    # panel: scores, not times; one run on the first backend
    return panel.run(quick=quick, backend=backends[0], write=None)


def table(rows):
    """The rows as aligned text, one block per workload."""
    lines = []
    for workload in dict.fromkeys(row["workload"] for row in rows):
        block = [row for row in rows if row["workload"] == workload]
        lines.append(f"\n{workload}")
        who_width, columns = COLUMNS[workload]
        lines.append(f"  {'':<{who_width}}" + "".join(f"{title:>{width}}"
                                                       for title, _, width, _ in columns))
        for row in block:
            lines.append(f"  {row['who']:<{who_width}}" + "".join(
                f"{row[key]:>{width}{form}}" for _, key, width, form in columns))
        if workload in LEGENDS:
            lines.append(f"  ({LEGENDS[workload]})")
    return "\n".join(lines)


#: What each workload's ratio (or score) column means, printed under its table.
LEGENDS = {
    "seed-sin": "x hand loop: the time of a step over that of the hand-written NumPy loop "
                "of the seed; 1.00 is as fast, lower is faster",
    "mlp": "of bound: samples/s as a fraction of the GEMM-only bound (the same matrix "
           "products timed alone); 1.00 is no overhead beyond them",
    "large": "of bound: samples/s as a fraction of the GEMM-only bound (the same matrix "
             "products timed alone); 1.00 is no overhead beyond them",
    "estimators": "x sklearn: bpnn's fit time over scikit-learn's on the same settings; "
                  "1.00 is as fast, lower is faster",
    "serve": "x bpnn: the speed (calls or samples per second) over that of bpnn's predict on "
             "the first backend; above 1.00 is faster",
    "panel": "test scores on a 25% split, accuracy or R², higher is better: bpnn train with "
             "no options against make_pipeline(StandardScaler(), MLPClassifier/MLPRegressor())"
             "; splits: the mean of that many splits",
}


#: The table of each workload: the runner column's width, then (title, key, width, format).
COLUMNS = {
    "seed-sin": (28, [("us/step", "us_per_step", 10, ".2f"),
                      ("best", "best_us_per_step", 10, ".2f"),
                      ("x hand loop", "of_hand", 13, ".2f")]),
    "mlp": (34, [("dtype", "dtype", 8, ""), ("batch", "batch", 7, ""),
                 ("samples/s", "samples_per_s", 12, ",.0f"),
                 ("best", "best_samples_per_s", 12, ",.0f"), ("of bound", "of_bound", 10, ".2f")]),
    "large": (22, [("samples", "samples", 11, ",d"), ("samples/s", "samples_per_s", 12, ",.0f"),
                   ("best", "best_samples_per_s", 12, ",.0f"), ("of bound", "of_bound", 10, ".2f"),
                   ("epoch", "epoch", 11, "")]),
    "crossover": (22, [("width", "width", 7, ""), ("batch", "batch", 7, ""),
                       ("samples/s", "samples_per_s", 14, ",.0f")]),
    "panel": (22, [("metric", "metric", 10, ""), ("splits", "splits", 8, ""),
                   ("bpnn train", "bpnn", 12, ".4f"), ("scikit-learn", "sklearn", 14, ".4f"),
                   ("epochs", "epochs", 10, "")]),
    "estimators": (22, [("solver", "solver", 8, ""), ("fit s", "seconds", 10, ".3f"),
                        ("best", "best_seconds", 10, ".3f"), ("x sklearn", "of_sklearn", 11, ".2f")]),
    "serve": (22, [("dtype", "dtype", 8, ""), ("batch", "batch", 7, ""),
                   ("us/call", "us_per_call", 11, ",.1f"), ("best", "best_us_per_call", 11, ",.1f"),
                   ("samples/s", "samples_per_s", 13, ",.0f"), ("x bpnn", "of_bpnn", 8, ".2f")]),
}


def write_json(path, facts, rows):
    """The machine's facts and the result rows as JSON at ``path``, replaced atomically
    (an interrupted run leaves the previous file whole)."""
    with open_atomic(path, "the results", text=True) as file:
        json.dump({"machine": facts, "results": rows}, file, indent=1)


def plot(path, rows):
    """Bars of the speed of every runner per configuration; the crossover as heat maps."""
    from bpnn import plot as bpnn_plot

    panels = [workload for workload in ("seed-sin", "mlp", "crossover")
              if any(row["workload"] == workload for row in rows)]
    if not panels:
        raise ValueError("nothing to plot: run seed-sin, mlp or crossover")
    crossover_backends = sorted({row["who"] for row in rows if row["workload"] == "crossover"})
    fig, axes = bpnn_plot.figure(len(panels) + max(len(crossover_backends) - 1, 0), 6.0, 4.2)
    axes = iter(axes)
    for workload in panels:
        block = [row for row in rows if row["workload"] == workload]
        if workload == "crossover":
            for who in crossover_backends:
                _heat_map(next(axes), [row for row in block if row["who"] == who], who)
            continue
        ax = next(axes)
        key = "us_per_step" if workload == "seed-sin" else "samples_per_s"
        labels = [row["who"] if workload == "seed-sin" else
                  f"{row['who']}\n{row['dtype']} b{row['batch']}" for row in block]
        ax.barh(range(len(block)), [row[key] for row in block], color="tab:blue")
        ax.set_yticks(range(len(block)), labels, fontsize=7)
        ax.invert_yaxis()
        ax.set_xlabel("µs per step (lower is better)" if workload == "seed-sin"
                      else "samples per second")
        ax.set_title(workload)
    bpnn_plot.save_figure(fig, path)


def _heat_map(ax, block, who):
    widths = sorted({row["width"] for row in block})
    batches = sorted({row["batch"] for row in block})
    speed = {(row["width"], row["batch"]): row["samples_per_s"] for row in block}
    from matplotlib.colors import LogNorm

    grid = [[speed[(width, batch)] for batch in batches] for width in widths]
    image = ax.imshow(grid, cmap="viridis", aspect="auto", origin="lower", norm=LogNorm())
    ax.set_xticks(range(len(batches)), [str(b) for b in batches])
    ax.set_yticks(range(len(widths)), [str(w) for w in widths])
    ax.set_xlabel("batch size")
    ax.set_ylabel("hidden width")
    ax.set_title(f"crossover: {who}, samples/s")
    ax.figure.colorbar(image, ax=ax)
