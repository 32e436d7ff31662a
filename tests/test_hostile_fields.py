"""Hostile fields: every field of a model file, an estimator file and a checkpoint is
checked before use, and a bad one is a ModelFileError naming the file and the field.

Each file here is well formed (its checksum recomputed after the edit): only the
field lies.  A resumed run that would change the run (another seed, learning rate,
or data of the same size) is refused.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from test_files import join, split

import bpnn
from bpnn import ModelFileError
from bpnn.cli import main
from bpnn.estimators import MLPClassifier, MLPRegressor
from bpnn.files.container import encode, read
from bpnn.layers import Standardize
from bpnn.tabular import TabularModel

#: A string that :func:`rewrite` turns into the JSON number ``1e400`` (read as infinity).
HUGE_FLOAT = "__1e400__"
MISSING = object()
X = np.random.default_rng(0).uniform(-1.0, 1.0, (40, 2))
LABELS = (X[:, 0] > 0).astype(np.int64)
ONE_HOT = np.eye(2)[LABELS]


def rewrite(path, change):
    """Apply ``change(content, arrays)`` to the file at ``path`` and re-seal it (a valid
    checksum); :data:`HUGE_FLOAT` becomes ``1e400`` in the JSON."""
    content, arrays = read(path, ("model", "checkpoint"))
    change(content, arrays)
    kind = "checkpoint" if "training" in content else "model"
    header, body = split(encode(kind, content, arrays))
    text = header["__metadata__"]["bpnn"]
    header["__metadata__"]["bpnn"] = text.replace(f'"{HUGE_FLOAT}"', "1e400")
    path.write_bytes(join(header, body))


def setting(keys, value):
    """A change that sets (or, with :data:`MISSING`, deletes) the field at ``keys``."""
    def change(content, arrays):
        node = content
        for key in keys[:-1]:
            node = node[key]
        if value is MISSING:
            del node[keys[-1]]
        else:
            node[keys[-1]] = value
    return change


def poisoned(name, value=np.nan):
    """A change that puts ``value`` (NaN, infinity) into the array ``name``."""
    def change(content, arrays):
        array = arrays[name].copy()
        array.reshape(-1)[0] = value
        arrays[name] = array
    return change


def cases(prefix, table):
    """pytest params ``(change, field regex)`` from ``{keys: [(value, regex), ...]}``."""
    params = []
    for keys, values in table.items():
        for value, regex in values:
            label = "MISSING" if value is MISSING else repr(value)[:20]
            params.append(pytest.param(setting((*prefix, *keys), value), regex,
                                       id=f"{'.'.join(map(str, keys))}={label}"))
    return params


def bad_numbers(regex, low=-1):
    """The usual hostile values of a numeric field."""
    return [(MISSING, regex), ("1", regex), (low, regex), (HUGE_FLOAT, regex),
            (10 ** 400, regex)]


NETWORK = cases(("network",), {
    ("layers",): [(MISSING, "'layers'"), ("x", "'layers'"), ([], "no layers")],
    ("layers", 0, "n_in"): bad_numbers("n_in"),
    ("layers", 0, "n_out"): [(4, "layer below gives 4|n_out"), (2.5, "n_out")],
    ("layers", 1, "activation"): [("nope", "activation 'nope'"),
                                  (3, "invalid activation 3: it must be a string"),
                                  (MISSING, r"needs exactly the keys \['activation'\]")],
    ("layers", 0, "type"): [("Lambda", "unknown type 'Lambda'")],
    ("loss",): [("nope", "loss"), (MISSING, "'loss'"), (1, "'loss'")],
    ("dtype",): [("float16", "dtype 'float16'"), (MISSING, "'dtype'")],
    ("seed",): [(-1, "network.seed"), (10 ** 400, "network.seed"),
                (HUGE_FLOAT, "network.seed"), ("1", "network.seed")],
}) + [pytest.param(poisoned("layers.0.W"), "layers.0.W holds NaN", id="W=nan"),
      pytest.param(poisoned("layers.0.b", np.inf), "layers.0.b holds NaN or inf", id="b=inf")]


@pytest.fixture(scope="module")
def model_bytes(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "model.bpnn"
    bpnn.mlp([2, 3, 2], activation="sigmoid", loss="cross_entropy", backend="numpy",
             seed=0).build().save(path)
    return path.read_bytes()


@pytest.mark.parametrize(("change", "field"), NETWORK)
def test_model_file_fields(model_bytes, tmp_path, backend, change, field):
    path = tmp_path / "m.bpnn"
    path.write_bytes(model_bytes)
    rewrite(path, change)
    with pytest.raises(ModelFileError, match=field) as error:
        bpnn.load(path, backend=backend.name)
    assert str(path) in str(error.value)


# -- bpnn train models: the table description -------------------------------------------
TABLE = cases(("extra", "tabular"), {
    ("task",): [(MISSING, "tabular.task"), ("x", "tabular.task"), (1, "tabular.task")],
    ("features",): [(MISSING, "tabular.features"), ("ab", "tabular.features"),
                    (["a"], "tabular.features must hold 2"), ([1, 2], r"features\[0\]"),
                    (["a", "a"], "tabular.features names a column twice")],
    ("target",): [(3, "tabular.target")],
    ("classes",): [(MISSING, "tabular.classes"), (["x"], "tabular.classes must hold 2"),
                   (["x", "x"], "tabular.classes"), ([HUGE_FLOAT, 1], "classes"),
                   ([[1], 2], r"classes\[0\]")],
})
REGRESSION = cases(("extra", "tabular"), {
    ("y_mean",): [(MISSING, "y_mean"), ("0", "y_mean"), (HUGE_FLOAT, "y_mean")],
    ("y_scale",): [(MISSING, "y_scale"), (0, "y_scale"), (-1, "y_scale"),
                   (HUGE_FLOAT, "y_scale")],
})


def tabular_model(path, task):
    outputs = 2 if task == "classification" else 1
    body = bpnn.mlp([2, 3, outputs], activation="tanh",
                    loss="cross_entropy" if task == "classification" else "mse")
    network = bpnn.Network([Standardize(2, [0.0, 0.0], [1.0, 1.0]), *body.layers],
                           loss=body.loss, backend="numpy", seed=0).build()
    info = {"task": task, "features": ["a", "b"], "target": "y"}
    info.update({"classes": ["no", "yes"]} if outputs == 2 else {"y_mean": 0.5, "y_scale": 2.0})
    TabularModel(network, info).save(path)


def predict(capsys, tmp_path, task, change, backend):
    model = tmp_path / "model.bpnn"
    tabular_model(model, task)
    rewrite(model, change)
    (tmp_path / "new.csv").write_text("a,b\n0.5,1.5\n-1,2\n")
    code = main(["predict", str(model), str(tmp_path / "new.csv"), "--backend", backend.name])
    return code, capsys.readouterr()


@pytest.mark.parametrize(("change", "field"), TABLE)
def test_train_model_fields(tmp_path, capsys, backend, change, field):
    code, captured = predict(capsys, tmp_path, "classification", change, backend)
    assert code == 2
    assert "Traceback" not in captured.err
    assert re.search(field, captured.err), captured.err


@pytest.mark.parametrize(("change", "field"), REGRESSION)
def test_train_regression_fields(tmp_path, backend, change, field):
    tabular_model(tmp_path / "model.bpnn", "regression")
    rewrite(tmp_path / "model.bpnn", change)
    with pytest.raises(ModelFileError, match=field):
        TabularModel.load(tmp_path / "model.bpnn", backend=backend.name)


def test_predict_refuses_nan_weights_with_exit_2(tmp_path, capsys, backend):
    code, captured = predict(capsys, tmp_path, "regression", poisoned("layers.1.W"), backend)
    assert code == 2
    assert "layers.1.W holds NaN" in captured.err and "Traceback" not in captured.err


def test_sound_train_model_predicts(tmp_path, capsys, backend):
    code, captured = predict(capsys, tmp_path, "classification", lambda c, a: None, backend)
    assert code == 0, captured.err


# -- estimator files --------------------------------------------------------------------
ESTIMATOR = cases(("extra",), {
    ("params",): [(MISSING, "extra.params"), ([], "extra.params")],
    ("params", "alpha"): [(-1, "alpha"), (HUGE_FLOAT, "alpha"), ("x", "alpha")],
    ("params", "random_state"): [(-1, "random_state"), (10 ** 400, "random_state")],
    ("params", "hidden_layer_sizes"): [("x", "hidden_layer_sizes")],
    ("params", "activation"): [("nope", "activation")],
    ("fitted",): [(MISSING, "extra.fitted")],
    ("fitted", "n_features_in_"): bad_numbers("n_features_in_") + [(3, "n_features_in_")],
    ("fitted", "n_outputs_"): [(MISSING, "n_outputs_"), (0, "n_outputs_"),
                               (10 ** 400, "n_outputs_")],
    ("fitted", "out_activation_"): [(3, "out_activation_")],
    ("fitted", "t_"): [(-1, r"fitted\.t_"), (10 ** 400, r"fitted\.t_")],
    ("fitted", "loss_"): [("x", "loss_")],
    ("fitted", "loss_curve_"): [("x", "loss_curve_"), (["x"], r"loss_curve_\[0\]")],
    ("fitted", "feature_names_in_"): [(["a"], "feature_names_in_")],
    ("fitted", "classes_"): [(MISSING, "classes_"), ([0], "classes_"), ([0, 0], "classes_"),
                             ([0, 1, 2], "classes_")],
    ("fitted", "label_type"): [("x", "label_type"), (MISSING, "label_type")],
    ("fitted", "two_column"): [("x", "two_column")],
}) + [pytest.param(poisoned("layers.2.W"), "layers.2.W holds NaN", id="W=nan")]


@pytest.fixture(scope="module")
def estimator_bytes(tmp_path_factory):
    path = tmp_path_factory.mktemp("estimator") / "clf.bpnn"
    MLPClassifier((3,), max_iter=5, tol=1e9, n_iter_no_change=1, random_state=0,
                  backend="numpy").fit(X, LABELS).save(path)
    return path.read_bytes()


@pytest.mark.parametrize(("change", "field"), ESTIMATOR)
def test_estimator_file_fields(estimator_bytes, tmp_path, backend, change, field):
    path = tmp_path / "clf.bpnn"
    path.write_bytes(estimator_bytes)
    rewrite(path, change)
    with pytest.raises(ModelFileError, match=field) as error:
        MLPClassifier.load(path, backend=backend.name)
    assert str(path) in str(error.value)


THREE = np.digitize(X[:, 0], [-0.3, 0.3])
SOUND = {
    "binary": (MLPClassifier, {}, LABELS),
    "binary softmax": (MLPClassifier, {"output_activation": "softmax"}, LABELS),
    "multiclass": (MLPClassifier, {}, np.array(["a", "b", "c"])[THREE]),
    "multilabel": (MLPClassifier, {}, np.eye(3, dtype=np.int64)[THREE]),
    "two targets": (MLPRegressor, {}, X[:, ::-1]),
}


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("kind", SOUND)
def test_sound_estimator_files_load(tmp_path, backend, kind):
    cls, options, y = SOUND[kind]
    model = cls(hidden_layer_sizes=(3,), max_iter=3, random_state=0, backend="numpy",
                **options).fit(X, y)
    model.save(tmp_path / "model.bpnn")
    loaded = cls.load(tmp_path / "model.bpnn", backend=backend.name)
    assert loaded.score(X, y) == pytest.approx(model.score(X, y), rel=1e-9)


# -- checkpoints ----------------------------------------------------------------------
CHECKPOINT = cases(("training",), {
    ("optimizer", "config", "lr"): [(-1, "lr"), (HUGE_FLOAT, "lr"), ("x", "lr"),
                                    (MISSING, "config")],
    ("optimizer", "config", "beta_1"): [(2, "beta_1"), (-0.5, "beta_1")],
    ("optimizer", "config", "eps"): [(-1, "eps")],
    ("optimizer", "scalars", "t"): [(10 ** 400, r"scalars\.t"), (-1, r"scalars\.t"),
                                    (1.5, r"scalars\.t"), (MISSING, "scalars")],
    ("next_epoch",): [(0, "next_epoch"), (10 ** 400, "next_epoch"), ("1", "next_epoch"),
                      (MISSING, "next_epoch")],
    ("steps_per_epoch",): [(-1, "steps_per_epoch")],
    ("stopped",): [("x", "stopped")],
    ("settings",): [(MISSING, "training.settings")],
    ("history", "epoch"): [(["x"], r"history\.epoch\[0\]"), (MISSING, r"history\.epoch")],
    ("history", "logs", "loss"): [(["x"], r"logs\.loss\[0\]"), ([HUGE_FLOAT], "loss")],
    ("rng",): [("x", "training.rng"), ({}, "training.rng")],
    ("callbacks", 0, "arrays"): [(-1, "arrays"), (10 ** 400, "arrays")],
    ("callbacks", 0, "values"): [("x", "values"), ({"wait": HUGE_FLOAT}, "wait")],
}) + [pytest.param(poisoned("optimizer.m.0"), "optimizer.m.0 holds NaN", id="moment=nan"),
      pytest.param(poisoned("layers.0.W"), "layers.0.W holds NaN", id="W=nan"),
      pytest.param(lambda content, arrays: arrays.update({"optimizer.v.1": np.zeros((4, 3))}),
                   r"Adam's state of parameter 1 has shape \(4, 3\), the parameter \(4,\)",
                   id="moment-shape")]


def fit(backend, path, resume=None, seed=0, lr=0.01, data=X, epochs=2):
    net = bpnn.mlp([2, 4, 2], activation="tanh", loss="cross_entropy", backend=backend.name,
                   seed=seed)
    return net.fit(data, ONE_HOT, epochs=epochs, batch_size=10,
                   optimizer=bpnn.optimizers.Adam(lr=lr), checkpoint=path, resume=resume,
                   callbacks=[bpnn.EarlyStopping(monitor="loss")])


@pytest.fixture(scope="module")
def checkpoint_bytes(tmp_path_factory):
    from helpers import numpy_backend

    path = tmp_path_factory.mktemp("checkpoint") / "run.ckpt"
    fit(numpy_backend(), path)
    return path.read_bytes()


@pytest.mark.parametrize(("change", "field"), CHECKPOINT)
def test_checkpoint_fields(checkpoint_bytes, tmp_path, backend, change, field):
    path = tmp_path / "run.ckpt"
    path.write_bytes(checkpoint_bytes)
    rewrite(path, change)
    with pytest.raises(ModelFileError, match=field) as error:
        fit(backend, tmp_path / "next.ckpt", resume=path, epochs=3)
    assert str(path) in str(error.value)


@pytest.mark.parametrize(("change", "message"), [
    ({"seed": 1}, "seed=0; this fit has seed=1"),
    ({"lr": 0.5}, "'lr': 0.01.*'lr': 0.5"),
    ({"data": X[::-1].copy()}, "the data of digest"),
])
def test_resume_refuses_another_run(checkpoint_bytes, tmp_path, backend, change, message):
    path = tmp_path / "run.ckpt"
    path.write_bytes(checkpoint_bytes)
    with pytest.raises(ValueError, match=message) as error:
        fit(backend, path, resume=path, epochs=3, **change)
    assert "start afresh" in str(error.value)


def test_resume_of_the_same_run_continues(checkpoint_bytes, tmp_path, backend):
    path = tmp_path / "run.ckpt"
    path.write_bytes(checkpoint_bytes)
    assert len(fit(backend, path, resume=path, epochs=3)) == 3
