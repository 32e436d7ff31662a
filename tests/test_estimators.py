"""MLPClassifier and MLPRegressor: scikit-learn's results, every backend, labels, errors."""

from __future__ import annotations

import functools
import pickle

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn import neural_network  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_iris  # noqa: E402
from sklearn.exceptions import ConvergenceWarning, NotFittedError  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

import bpnn  # noqa: E402
from bpnn import MLPClassifier, MLPRegressor  # noqa: E402

# Short fits stop before the optimizers converge; that warning is expected there.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

SOLVERS = ["sgd", "adam", "lbfgs"]


def on(backend):
    """MLPClassifier and MLPRegressor with ``backend=`` the backend under test."""
    return (functools.partial(MLPClassifier, backend=backend.name),
            functools.partial(MLPRegressor, backend=backend.name))


def _data(seed=0, n=90, features=4, classes=3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, features))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int) + (X[:, 2] > 0.8) * (classes - 2)
    return X, y, rng.uniform(0.5, 2.0, n)


def _problem(kind):
    """``X, y, w`` and the estimator classes (ours, scikit-learn's) of a comparison: the
    classes of ``_data`` or a smooth regression target."""
    X, y, w = _data()
    if kind == "regressor":
        y = X @ [0.5, -1.0, 0.3, 0.0] + 0.1 * X[:, 1] ** 2
        return X, y, w, MLPRegressor, neural_network.MLPRegressor
    return X, y, w, MLPClassifier, neural_network.MLPClassifier


# -- the same numbers as scikit-learn ------------------------------------------------

@pytest.mark.parametrize("options", [
    pytest.param({"solver": "sgd"}, id="sgd-nesterov"),
    pytest.param({"solver": "sgd", "nesterovs_momentum": False}, id="sgd-momentum"),
    pytest.param({"solver": "sgd", "momentum": 0.0}, id="sgd-plain"),
    pytest.param({"solver": "sgd", "learning_rate": "invscaling", "learning_rate_init": 0.2},
                 id="sgd-invscaling"),
    pytest.param({"solver": "sgd", "learning_rate": "adaptive", "learning_rate_init": 0.05,
                  "n_iter_no_change": 2, "tol": 0.05}, id="sgd-adaptive"),
    pytest.param({"solver": "adam"}, id="adam"),
    pytest.param({"solver": "adam", "n_iter_no_change": 3, "tol": 0.01}, id="adam-stops"),
])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("shuffle", [True, False], ids=["shuffled", "in-order"])
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_training_equals_scikit_learn(options, weighted, shuffle, kind):
    """The same random_state gives scikit-learn's run: its initial weights, its shuffles,
    and every epoch of sgd and adam (momentum, Nesterov, the schedules, the stopping
    rule, alpha, sample weights, a short last batch) to rounding."""
    X, y, w, ours_cls, theirs_cls = _problem(kind)
    settings = {"hidden_layer_sizes": (7, 5), "activation": "tanh", "alpha": 0.01,
                "batch_size": 20, "shuffle": shuffle, "random_state": 0, "max_iter": 25,
                "n_iter_no_change": 1000, **options}
    sample_weight = w if weighted else None
    theirs = theirs_cls(**settings).fit(X, y, sample_weight=sample_weight)
    ours = ours_cls(**settings).fit(X, y, sample_weight=sample_weight)
    assert ours.n_iter_ == theirs.n_iter_ and ours.t_ == theirs.t_
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-10)
    assert ours.best_loss_ == pytest.approx(theirs.best_loss_, rel=1e-10)
    for mine, sk in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(mine, sk, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("labels", [2, 3], ids=["binary-stratified", "multiclass"])
def test_early_stopping_equals_scikit_learn(backend, labels):
    """The validation split, the scores, the stop and the restored weights."""
    Classifier, Regressor = on(backend)
    X, y, _ = _data(n=120, classes=labels)
    settings = {"hidden_layer_sizes": (6,), "solver": "sgd", "learning_rate_init": 0.05,
                "batch_size": 16, "random_state": 3, "max_iter": 200,
                "early_stopping": True, "n_iter_no_change": 4, "tol": 1e-3}
    theirs = neural_network.MLPClassifier(**settings).fit(X, y)
    ours = Classifier(**settings).fit(X, y)
    assert ours.n_iter_ == theirs.n_iter_ < 200
    np.testing.assert_allclose(ours.validation_scores_, theirs.validation_scores_)
    assert ours.best_validation_score_ == theirs.best_validation_score_
    assert ours.best_loss_ is None and theirs.best_loss_ is None
    for mine, sk in zip(ours.coefs_, theirs.coefs_):
        np.testing.assert_allclose(backend.to_numpy(mine), sk, rtol=1e-9, atol=1e-12)
    assert len(ours.validation_loss_curve_) == ours.n_iter_


def test_partial_fit_and_warm_start_equal_scikit_learn(backend):
    Classifier, Regressor = on(backend)
    X, y, _ = _data()
    settings = {"hidden_layer_sizes": (5,), "solver": "sgd", "random_state": 1,
                "batch_size": 25, "learning_rate_init": 0.05}
    ours, theirs = Classifier(**settings), neural_network.MLPClassifier(**settings)
    for model in (ours, theirs):
        model.partial_fit(X[:50], y[:50], classes=[0, 1, 2])
        for _ in range(3):
            model.partial_fit(X, y)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-10)
    settings.update(warm_start=True, max_iter=6)
    ours, theirs = Classifier(**settings), neural_network.MLPClassifier(**settings)
    for model in (ours, theirs):
        model.fit(X, y).fit(X[:70], y[:70])
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-10)
    np.testing.assert_allclose(backend.to_numpy(ours.coefs_[0]), theirs.coefs_[0], rtol=1e-9,
                               atol=1e-12)


@pytest.mark.parametrize("options", [
    pytest.param({"solver": "adam"}, id="adam"),
    pytest.param({"solver": "sgd", "learning_rate": "invscaling"}, id="sgd-invscaling"),
    pytest.param({"solver": "sgd", "learning_rate": "adaptive", "tol": 0.5,
                  "n_iter_no_change": 2}, id="sgd-adaptive"),
])
def test_private_names_give_scikit_learns_values(options):
    """What code written for scikit-learn's MLPs reads of their private state:
    ``_optimizer.learning_rate`` and ``_no_improvement_count``, after a fit and after a
    warm-started one."""
    X, y, _ = _data()
    settings = {"hidden_layer_sizes": (4,), "max_iter": 9, "batch_size": 20,
                "random_state": 0, "warm_start": True, **options}
    theirs = neural_network.MLPClassifier(**settings)
    ours = MLPClassifier(**settings)
    for _ in range(2):
        theirs.fit(X, y)
        ours.fit(X, y)
        assert ours._optimizer.learning_rate == pytest.approx(theirs._optimizer.learning_rate,
                                                              rel=1e-12)
        assert ours._no_improvement_count == theirs._no_improvement_count
        assert ours.n_iter_ == theirs.n_iter_


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_lbfgs_on_numpy_is_scikit_learns_run(kind):
    """On NumPy data solver="lbfgs" is scikit-learn's SciPy L-BFGS-B run: the same
    iterations, loss, weights and, past max_fun, the same warning."""
    X, y, w, ours_cls, theirs_cls = _problem(kind)
    settings = {"hidden_layer_sizes": (6,), "activation": "tanh", "solver": "lbfgs",
                "alpha": 0.01, "random_state": 0, "max_iter": 30}
    theirs = theirs_cls(**settings).fit(X, y, sample_weight=w)
    ours = ours_cls(**settings).fit(X, y, sample_weight=w)
    assert ours.n_iter_ == theirs.n_iter_ == 30
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-9)
    for mine, sk in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(mine, sk, rtol=1e-7, atol=1e-9)
    assert len(ours.loss_curve_) == ours.n_iter_ and ours.loss_curve_[-1] == ours.loss_
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge"):
        ours_cls(**{**settings, "max_fun": 5}).fit(X, y)
    # scikit-learn's objective under its name: the loss and gradient at a packed vector
    theta = np.concatenate([a.ravel() for a in ours.coefs_ + ours.intercepts_])
    targets = ours._label_binarizer.transform(y) if kind == "classifier" else y
    loss, grad = ours._loss_grad_lbfgs(theta, X, targets, w)
    sk_loss, sk_grad = theirs._loss_grad_lbfgs(
        theta, X, targets if targets.ndim == 2 else targets[:, None], w,
        [X] + [None] * (theirs.n_layers_ - 1), [None] * (theirs.n_layers_ - 1),
        [None] * (theirs.n_layers_ - 1), [None] * (theirs.n_layers_ - 1))
    assert loss == pytest.approx(sk_loss, rel=1e-12)
    np.testing.assert_allclose(grad, sk_grad, rtol=1e-9, atol=1e-13)


def test_lbfgs_reaches_scipy_minimum_on_a_convex_problem(backend):
    """Without hidden layers the log-loss is convex: our L-BFGS and SciPy's meet."""
    Classifier, Regressor = on(backend)
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    settings = {"hidden_layer_sizes": (), "solver": "lbfgs", "alpha": 1.0, "max_iter": 500,
                "tol": 1e-8, "random_state": 0}
    theirs = neural_network.MLPClassifier(**settings).fit(X, y)
    ours = Classifier(**settings).fit(X, y)
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-6)
    # the minimum is flat: SciPy stops on its ftol with weights about 1e-3 from ours
    np.testing.assert_allclose(backend.to_numpy(ours.coefs_[0]), theirs.coefs_[0], atol=5e-3)
    # at the minimum the gradient vanishes
    network = ours.network_
    _, grads = network.backward(X, y[:, None], l2=1.0 / len(X))
    assert max(float(np.max(np.abs(backend.to_numpy(g)))) for g in grads) < 1e-5


@pytest.mark.parametrize(("name", "load", "cls", "options"), [
    ("digits", load_digits, "classifier", {"hidden_layer_sizes": (64,), "max_iter": 200}),
    ("breast_cancer", load_breast_cancer, "classifier", {"hidden_layer_sizes": (32,),
                                                         "max_iter": 300}),
    ("iris", load_iris, "classifier", {"hidden_layer_sizes": (16,), "max_iter": 1000}),
    ("diabetes", load_diabetes, "regressor", {"hidden_layer_sizes": (16,), "solver": "lbfgs",
                                              "alpha": 10.0, "max_iter": 1000}),
])
def test_cross_validation_scores_match_scikit_learn(name, load, cls, options):
    """5-fold accuracy / R² in a StandardScaler pipeline: at least scikit-learn's - 0.01."""
    X, y = load(return_X_y=True)
    if cls == "regressor":
        y = y / 100.0
        ours, theirs = MLPRegressor, neural_network.MLPRegressor
    else:
        ours, theirs = MLPClassifier, neural_network.MLPClassifier
    scores = {}
    for label, estimator in (("ours", ours), ("theirs", theirs)):
        model = make_pipeline(StandardScaler(), estimator(random_state=0, **options))
        scores[label] = cross_val_score(model, X, y, cv=5).mean()
    assert scores["ours"] >= scores["theirs"] - 0.01, scores


def test_grid_search_over_hidden_layer_sizes_and_alpha():
    X, y = load_iris(return_X_y=True)
    grid = GridSearchCV(make_pipeline(StandardScaler(), MLPClassifier(
        solver="lbfgs", max_iter=200, random_state=0)),
        {"mlpclassifier__hidden_layer_sizes": [(4,), (16,)],
         "mlpclassifier__alpha": [1e-4, 1.0]}, cv=3)
    grid.fit(X, y)
    assert len(grid.cv_results_["params"]) == 4
    assert grid.best_score_ > 0.9
    assert grid.best_estimator_[-1].hidden_layer_sizes in [(4,), (16,)]


# -- every backend gives the numpy backend's numbers -----------------------------------

@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_backends_agree_with_numpy(backend, solver, dtype):
    X, y, w = _data()
    X = X.astype(dtype)
    # float32 rounding differs between libraries' kernels; L-BFGS's line searches
    # amplify it, so its run is kept short
    settings = {"hidden_layer_sizes": (8,), "solver": solver, "random_state": 0,
                "max_iter": 8 if solver == "lbfgs" else 20, "batch_size": 32}
    # on NumPy data lbfgs is SciPy's L-BFGS-B, scikit-learn's run; every other backend
    # runs bpnn's L-BFGS, whose reference is array_api_strict (NumPy underneath)
    where = "array_api_strict" if solver == "lbfgs" else "numpy"
    if backend.name == "numpy" and solver == "lbfgs":
        pytest.skip("numpy's lbfgs is scikit-learn's: test_lbfgs_on_numpy_is_scikit_learns_run")
    reference = MLPClassifier(**settings, backend=where).fit(X, y, sample_weight=w)
    ours = MLPClassifier(**settings, backend=backend.name).fit(X, y, sample_weight=w)
    tolerance = {"rtol": 1e-7, "atol": 1e-10} if dtype == "float64" else \
        {"rtol": 1e-4, "atol": 1e-6}
    assert ours.network_.backend.name == backend.name
    probabilities = ours.predict_proba(X)
    assert isinstance(probabilities, np.ndarray) and probabilities.dtype == np.dtype(dtype)
    np.testing.assert_allclose(probabilities, reference.predict_proba(X), **tolerance)
    np.testing.assert_allclose(ours.loss_curve_, reference.loss_curve_, **tolerance)
    for mine, theirs in zip(ours.coefs_, reference.coefs_):
        np.testing.assert_allclose(backend.to_numpy(mine), theirs, **tolerance)


def test_regressor_backends_agree_with_numpy(backend):
    X, _, _ = _data()
    Y = np.stack([X[:, 0] - X[:, 1], X[:, 2] ** 2], axis=1)
    settings = {"hidden_layer_sizes": (8, 4), "activation": "tanh", "max_iter": 30,
                "random_state": 1}
    reference = MLPRegressor(**settings, backend="numpy").fit(X, Y)
    ours = MLPRegressor(**settings, backend=backend.name).fit(X, Y)
    np.testing.assert_allclose(ours.predict(X), reference.predict(X), rtol=1e-7, atol=1e-10)


def test_device_input_keeps_its_namespace(backend):
    """An array of the backend's library trains there (backend="auto") and predictions come
    back in that library; NumPy input to the same model gives NumPy."""
    X, y, _ = _data()
    Xd = backend.asarray(X)
    yd = backend.asarray(y)
    model = MLPClassifier((6,), max_iter=30, random_state=0).fit(Xd, yd)
    assert model.network_.backend.name == backend.name
    labels = model.predict(Xd)
    assert backend.owns(labels)
    np.testing.assert_array_equal(backend.to_numpy(labels), model.predict(X))
    proba = model.predict_proba(Xd)
    assert backend.owns(proba) and tuple(proba.shape) == (90, 3)
    assert model.score(Xd, yd) == pytest.approx(model.score(X, y))
    regressor = MLPRegressor(hidden_layer_sizes=(6,), max_iter=30, random_state=0).fit(Xd, Xd[:, 0])
    prediction = regressor.predict(Xd)
    assert backend.owns(prediction) and tuple(prediction.shape) == (90,)
    assert regressor.score(Xd, Xd[:, 0]) == pytest.approx(regressor.score(X, X[:, 0]))


def test_input_of_another_library_is_refused_with_both_named(backend):
    """A model on one backend refuses an array of another library (not host data)."""
    other = bpnn.get_backend("cupy" if backend.name == "array_api_strict" else
                             "array_api_strict")
    X, y, _ = _data()
    model = MLPClassifier((4,), max_iter=5, random_state=0, backend=backend.name).fit(X, y)
    with pytest.raises(ValueError, match=f"fitted on the {backend.name!r} backend.*"
                                         f"{other.name}"):
        model.predict(other.asarray(X))


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_pickle_and_clone_on_every_backend(backend, kind):
    X, y, _ = _data()
    cls = MLPClassifier if kind == "classifier" else MLPRegressor
    model = cls(hidden_layer_sizes=(5,), max_iter=10, random_state=0,
                backend=backend.name).fit(X, y)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict(X), model.predict(X))
    assert restored.network_.backend is model.network_.backend
    restored.partial_fit(X, y)  # the optimizer state came along
    fresh = clone(model)
    assert fresh.get_params() == model.get_params() and not hasattr(fresh, "network_")


# -- labels and targets ---------------------------------------------------------------

@pytest.mark.parametrize("labels", [
    pytest.param(np.array(["cat", "dog", "emu"]), id="strings"),
    pytest.param(np.array([-5, 2, 40]), id="ints"),
    pytest.param(np.array([False, True]), id="booleans"),
    pytest.param(np.array([-1.0, 1.0]), id="float-labels"),
])
def test_any_labels_round_trip(backend, labels):
    Classifier, Regressor = on(backend)
    X, y, _ = _data(classes=len(labels))
    y = labels[np.minimum(y, len(labels) - 1)]
    model = Classifier((16,), solver="lbfgs", max_iter=200, random_state=0).fit(X, y)
    np.testing.assert_array_equal(model.classes_, np.unique(labels))
    predicted = model.predict(X)
    assert predicted.dtype == y.dtype and set(predicted) <= set(labels)
    assert model.score(X, y) > 0.9
    proba = model.predict_proba(X)
    assert proba.shape == (len(X), len(labels))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_allclose(np.exp(model.predict_log_proba(X)), proba, rtol=1e-12)
    assert model.out_activation_ == ("logistic" if len(labels) == 2 else "softmax")
    assert model.n_outputs_ == (1 if len(labels) == 2 else len(labels))


def test_binary_with_a_softmax_output_has_two_units(backend):
    Classifier, Regressor = on(backend)
    X, y, _ = _data(classes=2)
    model = Classifier((8,), solver="lbfgs", output_activation="softmax", max_iter=100,
                          random_state=0).fit(X, y)
    assert model.n_outputs_ == 2 and model.out_activation_ == "softmax"
    assert model.score(X, y) > 0.9


def test_multilabel_indicator_targets(backend):
    Classifier, Regressor = on(backend)
    X, _, _ = _data()
    Y = np.stack([X[:, 0] > 0, X[:, 1] > 0, X[:, 0] + X[:, 1] > 1], axis=1).astype(int)
    model = Classifier((16,), solver="lbfgs", max_iter=300, random_state=0).fit(X, Y)
    assert model.out_activation_ == "logistic" and model.n_outputs_ == 3
    predicted = model.predict(X)
    assert predicted.shape == Y.shape and set(np.unique(predicted)) <= {0, 1}
    assert (predicted == Y).mean() > 0.95
    assert model.predict_proba(X).shape == Y.shape


def test_multi_output_regression_and_the_poisson_loss(backend):
    Classifier, Regressor = on(backend)
    X, _, _ = _data()
    Y = np.stack([X[:, 0], np.sin(X[:, 1])], axis=1)
    model = Regressor(hidden_layer_sizes=(16,), solver="lbfgs", max_iter=300, random_state=0).fit(X, Y)
    assert model.predict(X).shape == (90, 2) and model.score(X, Y) > 0.9
    counts = np.random.default_rng(1).poisson(np.exp(0.5 * X[:, 0]))
    poisson = Regressor(hidden_layer_sizes=(8,), loss="poisson", solver="lbfgs", max_iter=200,
                           random_state=0).fit(X, counts)
    assert poisson.out_activation_ == "exp" and (poisson.predict(X) > 0).all()
    with pytest.raises(ValueError, match="negative which is not allowed for Poisson"):
        Regressor(loss="poisson").fit(X, counts - 1)


@pytest.mark.parametrize("activation", ["softsign", ["tanh", "rbf"], ["relu", "gelu"]])
def test_every_core_activation_and_rbf_layers(backend, activation):
    Classifier, Regressor = on(backend)
    X, y, _ = _data()
    model = Classifier((12, 12), activation=activation, solver="lbfgs", max_iter=200,
                          random_state=0).fit(X, y)
    assert model.score(X, y) > 0.9
    assert [tuple(W.shape) for W in model.coefs_] == [(4, 12), (12, 12), (12, 3)]


def test_partial_fit_needs_classes_first_and_refuses_new_labels(backend):
    Classifier, Regressor = on(backend)
    X, y, _ = _data()
    model = Classifier((8,), random_state=0)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        model.partial_fit(X, y)
    model.partial_fit(X[:40], y[:40], classes=[0, 1, 2])
    for _ in range(5):
        model.partial_fit(X, y)
    assert model.n_iter_ == 1 and model.t_ == 40 + 5 * 90 and len(model.loss_curve_) == 6
    with pytest.raises(ValueError, match="`y` has classes not in `self.classes_`"):
        model.partial_fit(X, np.where(y == 2, 7, y))
    with pytest.raises(ValueError, match="does not support early_stopping"):
        Classifier(early_stopping=True).partial_fit(X, y, classes=[0, 1, 2])
    assert not hasattr(MLPClassifier(solver="lbfgs"), "partial_fit")


def test_warm_start_continues_and_checks_classes(backend):
    Classifier, Regressor = on(backend)
    X, y, _ = _data()
    model = Classifier((8,), max_iter=5, warm_start=True, random_state=0).fit(X, y)
    before = [backend.to_numpy(W, copy=True) for W in model.coefs_]
    model.fit(X, y)
    assert len(model.loss_curve_) == 10 and model.t_ == 10 * 90
    assert model.loss_curve_[5] < model.loss_curve_[0]
    assert not np.array_equal(before[0], backend.to_numpy(model.coefs_[0]))
    with pytest.raises(ValueError, match="warm_start can only be used where `y` has the same"):
        model.fit(X, np.minimum(y, 1))


def test_restore_best_weights_and_the_validation_loss_curve(backend):
    """The restored weights are those after the best epoch: a run stopped right there,
    without restoring, ends on the same weights (the runs are deterministic)."""
    Classifier, Regressor = on(backend)
    coefs = backend.to_numpy
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    settings = {"hidden_layer_sizes": (32,), "learning_rate_init": 0.01,
                "early_stopping": True, "n_iter_no_change": 5, "random_state": 0}
    model = Classifier(**settings, max_iter=60).fit(X, y)
    assert len(model.validation_loss_curve_) == len(model.validation_scores_) == model.n_iter_
    assert model.best_validation_score_ == max(model.validation_scores_)
    best = int(np.argmax(model.validation_scores_))
    assert best < model.n_iter_ - 1  # it stopped after the best epoch: restoring matters
    at_best = Classifier(**settings, max_iter=best + 1, restore_best_weights=False)
    at_best.fit(X, y)
    np.testing.assert_array_equal(coefs(model.coefs_[0]), coefs(at_best.coefs_[0]))
    kept = Classifier(**settings, max_iter=60, restore_best_weights=False).fit(X, y)
    assert not np.array_equal(coefs(kept.coefs_[0]), coefs(model.coefs_[0]))
    # without a validation set, restore_best_weights keeps the epoch of the best training loss
    settings = {"hidden_layer_sizes": (8,), "solver": "sgd", "learning_rate_init": 0.5,
                "random_state": 0}
    plain = Regressor(**settings, max_iter=40, restore_best_weights=True).fit(X, X[:, 9])
    best = int(np.argmin(plain.loss_curve_))
    assert plain.best_loss_ == min(plain.loss_curve_) and best < 39
    at_best = Regressor(**settings, max_iter=best + 1).fit(X, X[:, 9])
    np.testing.assert_array_equal(coefs(plain.coefs_[0]), coefs(at_best.coefs_[0]))


# -- bad input --------------------------------------------------------------------------

@pytest.mark.parametrize(("X", "message"), [
    pytest.param([[1.0, np.nan, 0.0, 1.0]] * 4, "Input X contains NaN", id="nan"),
    pytest.param([[1.0, np.inf, 0.0, 1.0]] * 4, "Input X contains infinity", id="inf"),
    pytest.param(np.empty((0, 4)), "0 sample", id="empty"),
    pytest.param([1.0, 2.0, 3.0, 4.0], "Expected 2D array", id="1-D"),
    pytest.param(np.ones((4, 4, 1)), "Found array with dim 3", id="3-D"),
    pytest.param(np.ones((4, 4)) * 1j, "Complex data not supported", id="complex"),
    pytest.param(np.array([["a", "b", "c", "d"]] * 4, dtype=object), "could not convert",
                 id="object"),
])
def test_bad_training_input_is_refused_clearly(backend, X, message):
    Classifier, Regressor = on(backend)
    with pytest.raises(ValueError, match=message):
        Classifier().fit(X, [0, 1, 0, 1][:len(X)] if len(X) else [])


def test_bad_parameters_name_themselves(backend):
    Classifier, Regressor = on(backend)
    X, y, _ = _data()
    for params, name in [({"alpha": -1}, "alpha"), ({"solver": "newton"}, "solver"),
                         ({"hidden_layer_sizes": (4, 0)}, "hidden_layer_sizes"),
                         ({"activation": "nope"}, "activation"),
                         ({"activation": ["relu"], "hidden_layer_sizes": (3, 3)}, "activation"),
                         ({"batch_size": 0}, "batch_size"), ({"momentum": 1.5}, "momentum"),
                         ({"learning_rate": "cyclic"}, "learning_rate"),
                         ({"validation_fraction": 1.0}, "validation_fraction"),
                         ({"dtype": "float16"}, "dtype"), ({"backend": "tpu"}, "backend"),
                         ({"init": "zeros"}, "init"), ({"output_activation": "relu"},
                                                       "output_activation")]:
        with pytest.raises(ValueError, match=name):
            Classifier(**params).fit(X, y)
    with pytest.raises(ValueError, match="loss"):
        Regressor(loss="huber").fit(X, X[:, 0])


def test_predict_before_fit_and_wrong_width(backend):
    Classifier, Regressor = on(backend)
    X, y, _ = _data()
    with pytest.raises(NotFittedError):
        Classifier().predict(X)
    model = Classifier((4,), max_iter=5).fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features, but MLPClassifier is expecting 4"):
        model.predict(X[:, :3])


def test_sparse_input_is_densified(backend):
    Classifier, Regressor = on(backend)
    scipy_sparse = pytest.importorskip("scipy.sparse")
    X, y, _ = _data()
    settings = {"hidden_layer_sizes": (6,), "max_iter": 20, "random_state": 0}
    dense = Classifier(**settings).fit(X, y)
    sparse = Classifier(**settings).fit(scipy_sparse.csr_matrix(X), y)
    np.testing.assert_array_equal(sparse.predict_proba(scipy_sparse.csc_matrix(X)),
                                  dense.predict_proba(X))


def test_divergence_stops_with_a_clear_error_and_finite_weights(backend):
    Classifier, Regressor = on(backend)
    X, y, _ = _data()
    model = Regressor(hidden_layer_sizes=(16,), solver="sgd", learning_rate_init=1e6, momentum=0.0,
                         max_iter=50, random_state=0)
    with pytest.raises(ValueError, match="Solver produced non-finite parameter weights.*"
                                         "diverged") as caught:
        model.fit(X * 1e3, y * 1e3)
    assert isinstance(caught.value, bpnn.DivergenceError)
    assert all(np.isfinite(backend.to_numpy(W)).all() for W in model.coefs_ + model.intercepts_)
    assert all(np.isfinite(model.loss_curve_))
    assert np.isfinite(model.predict(X)).all()


def test_early_stopping_trains_on_through_a_divergence(backend, tmp_path):
    """scikit-learn's behaviour: no error, NaN validation scores from the divergence on,
    and the best weights restored (finite); the model saves and loads (NaN epochs too)."""
    Classifier, Regressor = on(backend)
    X, y, _ = _data()
    model = Regressor(hidden_layer_sizes=(8,), activation="identity", solver="sgd",
                      learning_rate_init=1.0, max_iter=12, early_stopping=True,
                      n_iter_no_change=20, random_state=0).fit(X * 10, y)
    scores = model.validation_scores_
    assert model.n_iter_ == 12 and np.isnan(scores[-1]) and isinstance(scores[-1], float)
    assert model.best_validation_score_ == max(s for s in scores if np.isfinite(s))
    assert all(np.isfinite(backend.to_numpy(a)).all() for a in model.coefs_ + model.intercepts_)
    assert np.isfinite(model.predict(X)).all()
    model.save(tmp_path / "diverged.bpnn")
    loaded = MLPRegressor.load(tmp_path / "diverged.bpnn")
    def read_back(curve):  # a non-finite epoch is stored as null, read back as NaN
        return np.where(np.isfinite(curve), curve, np.nan)

    np.testing.assert_array_equal(loaded.validation_scores_, read_back(scores))
    np.testing.assert_array_equal(loaded.loss_curve_, read_back(model.loss_curve_))


def test_scikit_learns_accepted_values(backend, tmp_path):
    """n_iter_no_change=inf never stops (scikit-learn's count still kept), momentum=1
    and validation_fraction=0 (without early stopping) are taken; values outside
    scikit-learn's constraints are refused in its words."""
    Classifier, Regressor = on(backend)
    X, y, _ = _data()
    model = Classifier((4,), solver="sgd", max_iter=15, tol=1e9, n_iter_no_change=np.inf,
                       momentum=1.0, validation_fraction=0.0, random_state=0).fit(X, y)
    assert model.n_iter_ == 15 and model._no_improvement_count == 14
    assert model._optimizer.learning_rate == model._optimizer.lr == 0.001
    model.save(tmp_path / "model.bpnn")
    assert MLPClassifier.load(tmp_path / "model.bpnn").n_iter_no_change == np.inf
    with pytest.raises(ValueError, match="The 'momentum' parameter of MLPClassifier must be a "
                                         r"float in the range \[0.0, 1.0\]. Got 1.5 instead."):
        Classifier(momentum=1.5).fit(X, y)
    with pytest.raises(ValueError, match="The 'n_iter_no_change' parameter"):
        Classifier(n_iter_no_change=0.5).fit(X, y)


def test_assigned_weights_reach_the_network(backend):
    """coefs_ and intercepts_ are assignable as in scikit-learn: the start of partial_fit
    or a warm start on an estimator not fitted yet, and written into a fitted one."""
    Classifier, Regressor = on(backend)
    X, y, _ = _data()
    settings = {"hidden_layer_sizes": (5,), "solver": "sgd", "max_iter": 3, "random_state": 0,
                "warm_start": True}
    first = Classifier(**settings).fit(X, y)
    start = [backend.to_numpy(a, copy=True) for a in first.coefs_ + first.intercepts_]
    first.fit(X, y)
    second = Classifier(**settings)
    second.coefs_ = start[:2]
    second.coefs_[1] = start[1]  # items of the assigned list may be set, as in scikit-learn
    second.intercepts_ = start[2:]
    second.fit(X, y)  # the continued run: 3 more epochs from those weights
    for mine, theirs in zip(second.coefs_ + second.intercepts_, first.coefs_ + first.intercepts_):
        np.testing.assert_allclose(backend.to_numpy(mine), backend.to_numpy(theirs), rtol=1e-12)
    second.coefs_[0] = np.zeros((4, 5))  # into the fitted network
    assert not np.any(backend.to_numpy(second.network_.parameters[0]))
    second.intercepts_ = [np.zeros(5), np.full(3, 7.0)]
    np.testing.assert_allclose(second.predict_proba(X), 1 / 3)
    with pytest.raises(ValueError, match=r"coefs_\[1\] must have shape \(5, 3\), got \(5, 2\)"):
        second.coefs_[1] = np.zeros((5, 2))
    fresh = Classifier(**settings)
    fresh.coefs_, fresh.intercepts_ = start[:2], start[2:3]
    with pytest.raises(ValueError, match="intercepts_ must hold one array per layer"):
        fresh.fit(X, y)


def test_labels_only_numpy_holds_on_a_device(backend):
    """Strings as labels of device data: the fit keeps them on the host, predict gives
    them back as a NumPy array, score compares them there."""
    X, y, _ = _data()
    labels = np.array(["cat", "dog", "emu"])[y]
    model = MLPClassifier((6,), max_iter=30, random_state=0).fit(backend.asarray(X), labels)
    predicted = model.predict(backend.asarray(X))
    assert isinstance(predicted, np.ndarray) and predicted.dtype.kind == "U"
    np.testing.assert_array_equal(predicted, model.predict(X))
    assert model.score(backend.asarray(X), labels) == pytest.approx(model.score(X, labels))


def test_not_converged_warns(backend):
    """Each warning points at the caller's line (here), not inside bpnn."""
    Classifier, Regressor = on(backend)
    X, y, _ = _data()
    with pytest.warns(ConvergenceWarning, match="Maximum iterations \\(3\\)") as caught:
        Classifier((4,), max_iter=3).fit(X, y)
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge") as caught_lbfgs:
        Classifier((4,), solver="lbfgs", max_iter=2).fit(X, y)
    with pytest.warns(UserWarning, match="batch_size") as caught_batch:
        Classifier((4,), max_iter=1, batch_size=10**6).fit(X, y)
    for record in [*caught, *caught_lbfgs, *caught_batch]:
        assert record.filename == __file__, (record.filename, str(record.message))


def test_verbose_prints_scikit_learns_lines(backend, capsys):
    """scikit-learn's lines: the loss of each epoch (counted from 1 in every fit), the
    validation score under early stopping, and why the run stopped."""
    Classifier, Regressor = on(backend)
    X, y, _ = _data()
    model = Classifier((4,), max_iter=3, verbose=True).fit(X, y)
    assert capsys.readouterr().out.splitlines() == [
        "Iteration %d, loss = %.8f" % (epoch + 1, loss)
        for epoch, loss in enumerate(model.loss_curve_)]
    model = Classifier((4,), max_iter=50, verbose=1, early_stopping=True, tol=10.0,
                       n_iter_no_change=2, random_state=0).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert lines[:2] == ["Iteration 1, loss = %.8f" % model.loss_curve_[0],
                         "Validation score: %f" % model.validation_scores_[0]]
    assert lines[-1] == ("Validation score did not improve more than tol=10.000000 for 2 "
                         "consecutive epochs. Stopping.")
    assert model.n_iter_ == 4 and len(lines) == 2 * 4 + 1  # the first epoch sets the best


# -- files -------------------------------------------------------------------------------

@pytest.mark.parametrize("target", ["strings", "multilabel", "regression"])
def test_save_and_load_give_the_same_predictions(tmp_path, backend, target):
    X, y, _ = _data()
    if target == "strings":
        y, model = np.array(["no", "yes", "maybe"])[y], MLPClassifier((6,), max_iter=20)
    elif target == "multilabel":
        y, model = np.stack([X[:, 0] > 0, X[:, 1] > 0], axis=1).astype(int), MLPClassifier(
            (6,), max_iter=20)
    else:
        y, model = X[:, 0] ** 2, MLPRegressor(loss="poisson", hidden_layer_sizes=(6,),
                                              max_iter=20, activation=["softsign"])
    model.set_params(random_state=0).fit(X, y)
    model.save(tmp_path / "model.bpnn")
    loaded = type(model).load(tmp_path / "model.bpnn", backend=backend.name)
    assert loaded.network_.backend.name == backend.name
    assert loaded.get_params() == model.get_params()
    assert loaded.loss_curve_ == model.loss_curve_ and loaded.n_iter_ == model.n_iter_
    # bit-identical on numpy, to rounding on the other backends' kernels
    if target == "regression":
        np.testing.assert_allclose(loaded.predict(X), model.predict(X), rtol=1e-13)
    else:
        np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
        np.testing.assert_array_equal(loaded.classes_, model.classes_)
        np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X),
                                   rtol=1e-12, atol=1e-15)
    assert loaded.score(X, y) == pytest.approx(model.score(X, y), rel=1e-12)
    loaded.partial_fit(X, y)  # trains on, with a fresh optimizer


def test_loading_the_wrong_file_is_a_clear_error(backend, tmp_path):
    Classifier, Regressor = on(backend)
    X, y, _ = _data()
    Regressor(hidden_layer_sizes=(4,), max_iter=3).fit(X, y).save(tmp_path / "r.bpnn")
    with pytest.raises(bpnn.ModelFileError, match="holds no MLPClassifier \\(a MLPRegressor\\)"):
        MLPClassifier.load(tmp_path / "r.bpnn")
    bpnn.mlp([4, 3, 1], seed=0, backend=backend.name).build().save(tmp_path / "net.bpnn")
    with pytest.raises(bpnn.ModelFileError, match="a plain network"):
        MLPRegressor.load(tmp_path / "net.bpnn")
    with pytest.raises(NotFittedError):
        Classifier().save(tmp_path / "unfitted.bpnn")


def test_a_refused_partial_fit_changes_no_record(backend):
    Classifier, Regressor = on(backend)
    X, y, _ = _data()
    model = Classifier((4,), random_state=0).partial_fit(X, y, classes=[0, 1, 2])
    curve, seen = list(model.loss_curve_), model.t_
    with pytest.raises(ValueError, match="sample_weight"):
        model.partial_fit(X, y, sample_weight=np.ones(len(X) - 1))
    assert model.loss_curve_ == curve and model.t_ == seen


def test_changed_stopping_parameters_apply_to_the_next_warm_fit(backend):
    Classifier, Regressor = on(backend)
    X, y, _ = _data()
    model = Classifier((4,), max_iter=50, warm_start=True, tol=0.0, n_iter_no_change=50,
                          random_state=0).fit(X, y)
    assert model.n_iter_ == 50
    model.set_params(tol=10.0, n_iter_no_change=2).fit(X, y)
    assert model.n_iter_ == 3  # no epoch improves by 10: it stops once 2 are exceeded
