"""Export to ONNX: the network's own forward code run on ndonnx, checked in onnxruntime.

Every export is compared with bpnn's ``predict`` on NumPy, to 1e-6 in float32 and
1e-12 in float64, at batch sizes 1 and 1000 (one model, two runs: the batch dimension
is symbolic).  Networks are tiny and few: one network holds every activation, so the
file costs a few exports in all.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

pytest.importorskip("ndonnx", reason="ONNX export needs ndonnx (the onnx extra)")
pytest.importorskip("onnxscript", reason="ONNX export needs onnxscript (the onnx extra)")
onnx = pytest.importorskip("onnx", reason="ONNX export needs onnx (the onnx extra)")
ort = pytest.importorskip("onnxruntime", reason="the exports are checked in onnxruntime")

import bpnn  # noqa: E402
from bpnn.cli import main  # noqa: E402
from bpnn.errors import InputError, MissingDependency  # noqa: E402
from bpnn.layers import RBF, Activation, Dense, Standardize  # noqa: E402

TOLERANCE = {"float32": 1e-6, "float64": 1e-12}
#: Every activation once (aliases aside), chained without Dense layers between them (a
#: Dense layer is the dearest to build): those that keep the sign first, so each sees
#: both signs up to relu, the smooth ones after it; softmax last as cross-entropy's link.
HIDDEN = ["leaky_relu", "elu", "tanh", "softsign", "gelu", "swish", "identity", "relu",
          "gaussian", "softplus", "sigmoid", "exp"]


def rows(n, width, dtype, seed=0):
    return np.random.default_rng(seed).normal(0.5, 1.5, size=(n, width)).astype(dtype)


def run(model, X, output=None):
    """onnxruntime's outputs of ``model`` for ``X``: one array, or all as a dict."""
    session = ort.InferenceSession(model.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    results = session.run(None, {session.get_inputs()[0].name: X})
    named = dict(zip([value.name for value in session.get_outputs()], results))
    return named if output is None else named[output]


def assert_close(got, expected, dtype):
    assert got.dtype == np.dtype(dtype) and got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOLERANCE[dtype])


def assert_clean(model, n_inputs):
    """Checked with full shape inference, batch dimension symbolic, constants folded."""
    onnx.checker.check_model(model, full_check=True)
    for value in [*model.graph.input, *model.graph.output]:
        dims = value.type.tensor_type.shape.dim
        assert dims[0].dim_param == "N", value
    assert [dim.dim_value for dim in model.graph.input[0].type.tensor_type.shape.dim][1:] == \
        [n_inputs]
    constant = {init.name for init in model.graph.initializer}
    constant |= {out for node in model.graph.node if node.op_type == "Constant"
                 for out in node.output}
    foldable = [node.op_type for node in model.graph.node
                if node.op_type != "Constant" and node.input and set(node.input) <= constant]
    assert foldable == [], f"nodes of constants only are left: {foldable}"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_every_activation_rbf_and_standardize(dtype):
    layers = [Standardize(3, mean=[0.5, -1.0, 2.0], scale=[2.0, 0.5, 4.0]), RBF(3, 6),
              Dense(6, 5, init=bpnn.Normal(2.0)), *[Activation(name) for name in HIDDEN],
              Dense(5, 4), Activation("softmax")]
    net = bpnn.Network(layers, loss="cross_entropy", seed=1, dtype=dtype, backend="numpy")
    model = net.to_onnx()
    assert_clean(model, 3)
    for n in (1, 1000):
        X = rows(n, 3, dtype, seed=n)
        assert_close(run(model, X, "Y"), net.predict(X), dtype)


@pytest.mark.parametrize("loss, dtype", [("mse", "float32"), ("binary_cross_entropy", "float64"),
                                         ("poisson", "float64")])
def test_each_loss_output_link(loss, dtype):
    """Identity, sigmoid and exp outputs (softmax above; the other dtype of each is in
    the estimators' tests below: identity in float64 is the squared-error regressor's,
    sigmoid in float32 the binary classifier's, exp in float32 the Poisson regressor's;
    squared_error's link is mse's)."""
    link = bpnn.get_loss(loss).link
    layers = [Dense(4, 8), Activation("tanh"), Dense(8, 2)]
    if link != "identity":
        layers.append(Activation(link))
    net = bpnn.Network(layers, loss=loss, seed=2, dtype=dtype, backend="numpy")
    model = net.to_onnx()
    assert_clean(model, 4)
    for n in (1, 1000):
        X = rows(n, 4, dtype, seed=n)
        assert_close(run(model, X, "Y"), net.predict(X), dtype)


def test_a_network_of_any_backend_exports(backend):
    """The weights cross to the host: a network built on any backend gives the graph of
    the same network on NumPy."""
    net = bpnn.mlp([3, 4, 2], activation="gelu", seed=3, backend=backend, dtype="float64")
    net.build()
    X = rows(5, 3, "float64")
    expected = bpnn.mlp([3, 4, 2], activation="gelu", backend="numpy", dtype="float64")
    expected.build(weights=net.get_weights())
    assert_close(run(net.to_onnx(input_name="rows"), X, "Y"), expected.predict(X), "float64")


def test_written_atomically_and_named(tmp_path):
    net = bpnn.mlp([2, 3, 1], activation="relu", seed=0, backend="numpy", dtype="float32")
    path = tmp_path / "net.onnx"
    model = net.to_onnx(path, input_name="features", opset=20)
    assert path.read_bytes() == model.SerializeToString()
    assert [value.name for value in model.graph.input] == ["features"]
    assert [entry.version for entry in model.opset_import if entry.domain == ""] == [20]
    X = rows(3, 2, "float32")
    assert_close(run(model, X, "Y"), net.predict(X), "float32")


@pytest.mark.parametrize("options, message", [
    ({"input_name": ""}, "input_name must be a non-empty string"),
    ({"input_name": "Y"}, "is the name of an output"),
    ({"opset": 0}, "opset must be a positive integer"),
    ({"opset": True}, "opset must be a positive integer"),
])
def test_bad_options_are_clear_errors(options, message):
    net = bpnn.mlp([2, 3, 1], seed=0, backend="numpy")
    with pytest.raises(InputError, match=message):
        net.to_onnx(**options)


def test_bad_destination_fails_before_the_work(tmp_path):
    net = bpnn.mlp([2, 3, 1], seed=0, backend="numpy")
    with pytest.raises(InputError, match="folder"):
        net.to_onnx(tmp_path)


def test_missing_package_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "ndonnx", None)  # import ndonnx now raises ImportError
    net = bpnn.mlp([2, 3, 1], seed=0, backend="numpy")
    with pytest.raises(MissingDependency, match=r"pip install 'bpnn\[onnx\]'"):
        net.to_onnx()


# -- estimators --------------------------------------------------------------------------
def fitted(cls, X, y, **options):
    return cls(hidden_layer_sizes=(6,), max_iter=30, random_state=0, backend="numpy",
               **options).fit(X, y)


@pytest.mark.parametrize("labels, dtype, options", [
    (np.array(["cat", "dog"]), "float32", {}),  # one logistic output: two columns
    (np.array([3, 7, 11]), "float64", {}),  # softmax over three integer classes
])
def test_classifier_labels_and_probabilities(labels, dtype, options):
    from sklearn.exceptions import ConvergenceWarning

    X = rows(60, 3, dtype)
    y = labels[np.argmax(X[:, :len(labels)], axis=1) % len(labels)]
    with pytest.warns(ConvergenceWarning):
        clf = fitted(bpnn.MLPClassifier, X, y, dtype=dtype, **options)
    model = clf.to_onnx()
    assert_clean(model, 3)
    assert [value.name for value in model.graph.output] == ["label", "probabilities"]
    for n in (1, 1000):
        X = rows(n, 3, dtype, seed=n)
        out = run(model, X)
        np.testing.assert_array_equal(out["label"], clf.predict(X))
        # onnxruntime gives strings as Python str objects, numbers in the labels' dtype
        assert out["label"].dtype == (object if clf.classes_.dtype.kind == "U"
                                      else clf.classes_.dtype)
        assert_close(out["probabilities"], clf.predict_proba(X), dtype)


def test_multilabel_classifier_gives_indicator_labels():
    from sklearn.exceptions import ConvergenceWarning

    X = rows(40, 3, "float64")
    Y = (X[:, :2] > 0.5).astype(int)
    with pytest.warns(ConvergenceWarning):
        clf = fitted(bpnn.MLPClassifier, X, Y)
    out = run(clf.to_onnx(), X)
    np.testing.assert_array_equal(out["label"], clf.predict(X))
    assert out["label"].dtype == np.int64
    assert_close(out["probabilities"], clf.predict_proba(X), "float64")


@pytest.mark.parametrize("loss, dtype, width", [("squared_error", "float64", 2),
                                                ("poisson", "float32", 1)])
def test_regressor_variable(loss, dtype, width):
    from sklearn.exceptions import ConvergenceWarning

    X = rows(50, 3, dtype)
    y = np.abs(X[:, :width]) if width > 1 else np.abs(X[:, 0])
    with pytest.warns(ConvergenceWarning):
        reg = fitted(bpnn.MLPRegressor, X, y, loss=loss, dtype=dtype)
    model = reg.to_onnx()
    assert_clean(model, 3)
    for n in (1, 1000):
        X = rows(n, 3, dtype, seed=n)
        assert_close(run(model, X, "variable"), reg.predict(X).reshape(n, width), dtype)


def test_unfitted_estimator_is_refused():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        bpnn.MLPRegressor().to_onnx()


# -- the command line ----------------------------------------------------------------------
SERVE = textwrap.dedent("""
    import json, sys
    import numpy as np
    import onnxruntime as ort
    session = ort.InferenceSession(sys.argv[1], providers=["CPUExecutionProvider"])
    X = np.asarray(json.loads(sys.argv[2]), dtype=np.float64)
    names = [value.name for value in session.get_outputs()]
    out = dict(zip(names, session.run(None, {"X": X})))
    print(json.dumps({name: value.tolist() for name, value in out.items()}))
    print("bpnn" in sys.modules, file=sys.stderr)
""")


def test_bpnn_train_model_exported_serves_raw_rows_without_bpnn(tmp_path, capsys):
    """``bpnn train`` then ``bpnn export``: a fresh process that never imports bpnn
    gives ``bpnn predict``'s labels and probabilities for raw rows."""
    from bpnn.tabular import TabularModel
    from bpnn.data.rows import ArrayRows

    X = rows(80, 3, "float64") * [1.0, 100.0, 0.01] + [0.0, 1000.0, 5.0]  # unscaled columns
    label = np.where(X[:, 0] + (X[:, 1] - 1000) / 100 > 1, "high", "low")
    table = tmp_path / "train.csv"
    table.write_text("a,b,c,kind\n" + "".join(f"{a!r},{b!r},{c!r},{k}\n"
                                              for (a, b, c), k in zip(X.tolist(), label)))
    assert main(["train", str(table), "--target", "kind", "--hidden", "5", "--epochs", "3",
                 "--backend", "numpy", "--dtype", "float32", "--out",
                 str(tmp_path / "m.bpnn")]) == 0
    assert main(["export", str(tmp_path / "m.bpnn"), str(tmp_path / "m.onnx")]) == 0
    assert "bpnn train model exported to" in capsys.readouterr().err
    done = subprocess.run([sys.executable, "-c", SERVE, str(tmp_path / "m.onnx"),
                           json.dumps(X[:7].tolist())], capture_output=True, text=True,
                          check=True)
    assert done.stderr.strip() == "False"  # onnxruntime alone, bpnn never imported
    served = json.loads(done.stdout)
    model = TabularModel.load(tmp_path / "m.bpnn", backend="numpy")
    expected = [row for _, row in model.predictions(ArrayRows(X[:7]))]
    assert served["label"] == [row[0] for row in expected]
    np.testing.assert_allclose(served["probabilities"], [row[1:] for row in expected],
                               rtol=0, atol=1e-6)


def test_export_of_a_regression_model_and_of_an_estimator_file(tmp_path):
    """``variable`` in the target's units for a ``bpnn train`` regression model;
    an estimator file exports with its labels."""
    from bpnn.tabular import TabularModel
    from bpnn.data.rows import ArrayRows

    net = bpnn.mlp([2, 4, 1], activation="tanh", seed=0, backend="numpy", dtype="float32")
    net.build()
    info = {"task": "regression", "features": ["u", "v"], "target": "w",
            "x_mean": [10.0, -3.0], "x_scale": [2.0, 0.25], "y_mean": 50.0, "y_scale": 7.5}
    TabularModel(net, info).save(tmp_path / "r.bpnn")
    assert main(["export", str(tmp_path / "r.bpnn"), str(tmp_path / "r.onnx")]) == 0
    X = rows(1000, 2, "float64") * [2.0, 0.25] + [10.0, -3.0]
    expected = [row[0] for _, row in TabularModel(net, info).predictions(ArrayRows(X))]
    got = run(onnx.load(tmp_path / "r.onnx"), X, "variable")
    assert got.shape == (1000, 1)
    np.testing.assert_allclose(got[:, 0], expected, rtol=0, atol=1e-6 * 50)

    from sklearn.exceptions import ConvergenceWarning

    X = rows(40, 2, "float64")
    with pytest.warns(ConvergenceWarning):
        clf = fitted(bpnn.MLPClassifier, X, np.where(X[:, 0] > 0.5, "b", "a"))
    clf.save(tmp_path / "c.bpnn")
    assert main(["export", str(tmp_path / "c.bpnn"), str(tmp_path / "c.onnx")]) == 0
    np.testing.assert_array_equal(run(onnx.load(tmp_path / "c.onnx"), X, "label"),
                                  clf.predict(X))


def test_export_command_errors(tmp_path, capsys):
    net = bpnn.mlp([2, 3, 1], seed=0, backend="numpy")
    net.build()
    net.save(tmp_path / "n.bpnn")
    (tmp_path / "notes.txt").write_text("not a model")
    cases = [
        ([str(tmp_path / "missing.bpnn"), str(tmp_path / "o.onnx")], "missing.bpnn"),
        ([str(tmp_path / "notes.txt"), str(tmp_path / "o.onnx")], "notes.txt"),
        ([str(tmp_path / "n.bpnn"), str(tmp_path)], "folder"),
        ([str(tmp_path / "n.bpnn"), str(tmp_path / "n.bpnn")], "n.bpnn"),
        ([str(tmp_path / "n.bpnn"), str(tmp_path / "no" / "o.onnx")], "no"),
    ]
    for argv, named in cases:
        assert main(["export", *argv]) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("bpnn: error: ") and named in err, err
    assert not (tmp_path / "o.onnx").exists()
    assert main(["export", str(tmp_path / "n.bpnn"), str(tmp_path / "o.onnx")]) == 0
    assert "network exported to" in capsys.readouterr().err


def test_serve_workload_runs():
    """The ``serve`` workload of ``bpnn bench`` at tiny sizes (a check that it runs and
    tabulates; the timings are not asserted)."""
    from bpnn.benchmarks import runner

    rows = runner.run(["serve"], ["numpy"], [], repeats=1, quick=True, write=lambda _: None)
    runners = ["bpnn numpy", "bpnn numpy 1 thread", "onnxruntime", "onnxruntime 1 thread"]
    assert [(row["who"], row["batch"]) for row in rows] == [
        (who, batch) for batch in (1, 1024) for who in runners]
    assert all(row["samples_per_s"] > 0 and row["dtype"] == "float32" for row in rows)
    assert rows[2]["nodes"] > 0 and "\nserve\n" in runner.table(rows)
