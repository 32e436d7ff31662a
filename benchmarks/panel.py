"""The ``panel`` workload: ``bpnn train`` with its defaults against scikit-learn's MLP.

On each table of the panel (scikit-learn's bundled tables, and synthetic ones of
10^5 rows), a seeded 25% test split; on the other 75%, ``bpnn train`` with no
options (written to a file and trained through the command line, as a user
would) and ``make_pipeline(StandardScaler(), MLPClassifier())`` (or
``MLPRegressor``) with scikit-learn's defaults.  Both are scored on the test
rows: accuracy for classification, R² for regression.

A score on a table of 150 rows moves by a row's worth with the split, so each
bundled table is split :data:`SPLITS` times (seeds 0, 1, ...) and the mean
score of each side is reported.  The 10^5-row tables are there for scale: one
split each, and both runs get an epoch ceiling of :data:`LARGE_EPOCHS`
(``--epochs`` and ``max_iter``) so that the panel runs in minutes on a laptop;
every other table uses the defaults.  ``quick`` keeps iris, diabetes and a
synthetic table of 300 rows, with one split and a ceiling of 5 epochs (a check
that it runs, not a measurement).
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import time
import warnings

import numpy as np

from bpnn.benchmarks import timing  # absolute: the file also runs as a script

#: The epoch ceiling of both runs on the 10^5-row tables (and nowhere else).
LARGE_EPOCHS = 20
LARGE_ROWS = 100_000
#: Splits of each bundled table (one for the large ones).
SPLITS = 5


def tables(quick=False):
    """``(name, task, X, y, large)`` of every table of the panel."""
    from sklearn import datasets

    if quick:
        X, y = datasets.make_regression(n_samples=300, n_features=5, noise=1.0,
                                        random_state=0)
        return [("iris", "classification", *datasets.load_iris(return_X_y=True), False),
                ("diabetes", "regression", *datasets.load_diabetes(return_X_y=True), False),
                ("regression 0.3k", "regression", X, y, True)]
    rows = LARGE_ROWS
    panel = []
    for name in ("iris", "wine", "breast_cancer", "digits"):
        X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
        panel.append((name, "classification", X, y, False))
    X, y = datasets.make_classification(n_samples=rows, n_features=20, n_informative=10,
                                        random_state=0)
    panel.append((f"classification {rows // 1000}k", "classification", X, y, True))
    X, y = datasets.load_diabetes(return_X_y=True)
    panel.append(("diabetes", "regression", X, y, False))
    X, y = datasets.make_regression(n_samples=rows, n_features=20, n_informative=10,
                                    noise=10.0, random_state=0)
    panel.append((f"regression {rows // 1000}k", "regression", X, y, True))
    X, y = datasets.make_friedman1(n_samples=rows, noise=1.0, random_state=0)
    panel.append((f"friedman1 {rows // 1000}k", "regression", X, y, True))
    return panel


def _bpnn(folder, task, X_train, y_train, X_test, y_test, epochs, backend, options):
    """The test score of ``bpnn train`` (defaults, plus ``options``) run on a file."""
    from bpnn.cli import main
    from bpnn.data.rows import ArrayRows
    from bpnn.tabular import TabularModel

    data = os.path.join(folder, "train.npy")
    model_path = os.path.join(folder, "model.bpnn")
    np.save(data, np.column_stack([X_train, y_train]).astype(np.float64))
    argv = ["train", data, "--target", str(X_train.shape[1]), "--out", model_path, "--quiet",
            "--task", task, *options]
    if backend is not None:
        argv += ["--backend", backend]
    if epochs is not None:
        argv += ["--epochs", str(epochs)]
    said, warned = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(said), contextlib.redirect_stderr(warned):
        code = main(argv)
    if code != 0:
        raise RuntimeError(f"bpnn train exited with {code}: {warned.getvalue()}")
    model = TabularModel.load(model_path, backend=backend)
    predicted = [row[0] for _, row in model.predictions(ArrayRows(X_test))]
    warnings_said = [line for line in warned.getvalue().splitlines() if "warning" in line]
    return _score(task, y_test, np.asarray(predicted, dtype=np.float64)), warnings_said


def _sklearn(task, X_train, y_train, X_test, y_test, epochs):
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    estimator = MLPClassifier() if task == "classification" else MLPRegressor()
    if epochs is not None:
        estimator.set_params(max_iter=epochs)
    estimator.set_params(random_state=0)
    pipeline = make_pipeline(StandardScaler(), estimator)
    with warnings.catch_warnings():  # not converging within max_iter: its own default
        warnings.simplefilter("ignore")
        pipeline.fit(X_train, y_train)
    return _score(task, y_test, pipeline.predict(X_test))


def _score(task, truth, predicted):
    if task == "classification":
        return float(np.mean(np.asarray(truth) == np.asarray(predicted)))
    from sklearn.metrics import r2_score

    return float(r2_score(truth, predicted))


def run(quick=False, backend="numpy", options=(), write=print, only=None):
    """Result rows: for each table, the mean test score of ``bpnn train`` and of
    scikit-learn's pipeline over the splits, and the seconds of each."""
    from sklearn.model_selection import train_test_split

    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name, task, X, y, large in tables(quick):
            if only is not None and name not in only:
                continue
            epochs = 5 if quick else LARGE_EPOCHS if large else None
            ours, theirs, said, seconds = [], [], [], [0.0, 0.0]
            for seed in range(1 if large or quick else SPLITS):
                X_train, X_test, y_train, y_test = train_test_split(
                    X, y, test_size=0.25, random_state=seed,
                    stratify=y if task == "classification" else None)
                split = (X_train, y_train, X_test, y_test)
                start = time.perf_counter()
                score, warned = _bpnn(folder, task, *split, epochs, backend, options)
                ours.append(score)
                said += warned
                middle = time.perf_counter()
                theirs.append(_sklearn(task, *split, epochs))
                if timing.PROGRESS is not None:  # bpnn bench's bar
                    timing.PROGRESS()
                seconds[0] += middle - start
                seconds[1] += time.perf_counter() - middle
            row = {"workload": "panel", "who": name, "task": task,
                   "metric": "accuracy" if task == "classification" else "R²",
                   "rows": int(X.shape[0]), "splits": len(ours),
                   "bpnn": float(np.mean(ours)), "sklearn": float(np.mean(theirs)),
                   "bpnn_each": ours, "sklearn_each": theirs,
                   "bpnn_s": seconds[0], "sklearn_s": seconds[1],
                   "epochs": "default" if epochs is None else f"<= {epochs}",
                   "warnings": said}
            row["difference"] = row["bpnn"] - row["sklearn"]
            rows.append(row)
            if write is not None:
                write(f"  {name}: bpnn {row['bpnn']:.4f}, scikit-learn {row['sklearn']:.4f}"
                      f" (mean of {len(ours)} splits)" + (f"; {len(said)} warnings" if said
                                                          else ""))
    return rows


def markdown(rows):
    """The rows as a Markdown table (the README's)."""
    lines = ["| table | rows | metric | splits | `bpnn train` | scikit-learn | epochs |",
             "|---|---:|---|---:|---:|---:|---|"]
    for row in rows:
        lines.append(f"| {row['who']} | {row['rows']:,} | {row['metric']} | {row['splits']} "
                     f"| {row['bpnn']:.3f} | {row['sklearn']:.3f} | {row['epochs']} |")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    import argparse
    import json

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--backend", default="numpy")
    parser.add_argument("--json", default=None)
    parser.add_argument("--option", action="append", default=[],
                        help="an extra option of bpnn train (repeat it)")
    parser.add_argument("--tables", default=None, help="comma-separated names: only those")
    args = parser.parse_args()
    result = run(quick=args.quick, backend=args.backend, options=args.option,
                 only=None if args.tables is None else args.tables.split(","))
    print(markdown(result))
    if args.json:
        with open(args.json, "w") as file:
            json.dump(result, file, indent=1)
