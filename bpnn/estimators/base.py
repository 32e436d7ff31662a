"""What MLPClassifier and MLPRegressor share: parameters, data handling and the solvers.

The estimators hold a :class:`bpnn.Network` (``network_``) and train it with
:func:`bpnn.training.fit` (``sgd``, ``adam``) or :func:`bpnn.lbfgs.lbfgs`, so
they run on every backend.  scikit-learn's conventions are kept where they
decide results:

* the loss of a batch is ``(sum_i w_i E_i + alpha/2 sum W²) / sum_i w_i``
  (``l2_shared``), with ``E`` the squared error for regression and the
  log-loss for classification;
* the initial weights and biases are uniform in ``±sqrt(6 / (n_in + n_out))``
  (``±sqrt(2 / ...)`` for logistic hidden units);
* batches of ``min(200, n_samples)`` by default, the stopping rule on ``tol``
  and ``n_iter_no_change``, the ``invscaling`` and ``adaptive`` schedules, and
  the validation split of ``early_stopping``;
* one ``RandomState`` per fit draws the weights, the split and the shuffles in
  scikit-learn's order, so the same ``random_state`` gives scikit-learn's run;
* on NumPy data ``solver="lbfgs"`` is scikit-learn's own SciPy L-BFGS-B run
  (:mod:`bpnn.estimators.scipy_lbfgs`); on other backends bpnn's L-BFGS;
* the parameters are checked by scikit-learn's ``_parameter_constraints``, so
  its messages and accepted values hold by construction;
* the names of scikit-learn's private state that code written for its MLPs
  reads (``_no_improvement_count``, ``_optimizer.learning_rate``,
  ``_loss_grad_lbfgs``) give the same quantities here.
"""

from __future__ import annotations

import functools
import math
from numbers import Integral, Real

from sklearn import config_context, get_config
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)

from ..activations import ACTIVATIONS
from ..backends import FLOAT_DTYPES, infer_backend_name
from ..builders import mlp
from ..caller import warn
from ..distributed import Start
from ..divergence import DivergenceError
from ..initializers import FanSumUniform, Initializer, get_initializer
from ..lbfgs import lbfgs
from ..optimizers import SGD, Adam
from ..validation import weight_column
from . import weights as parameters
from .epochs import InverseScaling, Progress, ValidationScore
from .scipy_lbfgs import NON_FINITE, objective, scipy_lbfgs
from .stopping import NoImprovement

#: scikit-learn's names of the output activations, by bpnn name.
SKLEARN_NAMES = {"sigmoid": "logistic"}


def _fail(estimator, name, requirement, value):
    raise ValueError(f"The {name!r} parameter of {type(estimator).__name__} must be "
                     f"{requirement}. Got {value!r} instead.")


def _is_number(value, integral=False):
    kind = Integral if integral else Real
    return isinstance(value, kind) and not isinstance(value, bool)


def stochastic(estimator):
    """Whether ``partial_fit`` is available: for sgd and adam, as in scikit-learn."""
    if estimator.solver not in ("sgd", "adam"):
        raise AttributeError(f"partial_fit is only available for stochastic optimizers. "
                             f"{estimator.solver} is not stochastic.")
    return True


def validated(method):
    """A fit method with its parameters checked first by scikit-learn's ``_validate_params``
    (what its ``_fit_context(prefer_skip_nested_validation=True)`` does, in a frame of
    bpnn's own, so that warnings still point at the caller's line): skipped where
    scikit-learn's config says ``skip_parameter_validation``, and skipped for the
    scikit-learn functions the fit calls."""
    @functools.wraps(method)
    def run(self, *args, **kwargs):
        if not get_config()["skip_parameter_validation"]:
            self._validate_params()
        with config_context(skip_parameter_validation=True):
            return method(self, *args, **kwargs)

    return run


def scoped(method):
    """Run an estimator's public method with its network's device current and warnings
    silent (:meth:`bpnn.backends.Backend.scope`); before a fit, as it is (it then
    raises scikit-learn's ``NotFittedError``)."""
    @functools.wraps(method)
    def run(self, *args, **kwargs):
        network = getattr(self, "network_", None)
        if network is None or not network.built:
            return method(self, *args, **kwargs)
        with network.backend.scope():
            return method(self, *args, **kwargs)

    return run


class BaseMLP(BaseEstimator):
    """Base class of :class:`MLPClassifier` and :class:`MLPRegressor` (see them)."""

    #: scikit-learn's constraints of its MLPs' parameters (checked by its
    #: ``_validate_params``), widened where bpnn offers more (an activation per layer,
    #: any registered activation, no hidden layer), and bpnn's own parameters'.
    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [str, list, tuple],  # the names are checked against the registry
        "solver": [StrOptions({"lbfgs", "sgd", "adam"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"),
                             Options(Real, {math.inf})],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        # bpnn's own
        "backend": [str],  # a backend name, with an optional ":device"
        "dtype": [None, StrOptions(set(FLOAT_DTYPES))],
        "output_activation": [None, str],  # each estimator checks the name
        "init": [None, str, Initializer],
        "restore_best_weights": [None, "boolean"],
        "distributed": ["boolean"],
    }

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 backend="auto", dtype=None, output_activation=None, init=None,
                 restore_best_weights=None, distributed=False):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.backend = backend
        self.dtype = dtype
        self.output_activation = output_activation
        self.init = init
        self.restore_best_weights = restore_best_weights
        self.distributed = distributed

    # -- parameters -------------------------------------------------------------
    def _hidden_sizes(self):
        sizes = self.hidden_layer_sizes
        sizes = [sizes] if _is_number(sizes, integral=True) else sizes
        try:
            sizes = list(sizes)
        except TypeError:
            sizes = None
        if sizes is None or not all(_is_number(size, integral=True) and size > 0
                                    for size in sizes):
            _fail(self, "hidden_layer_sizes", "a positive int or a sequence of them",
                  self.hidden_layer_sizes)
        return [int(size) for size in sizes]

    def _hidden_activations(self, n_hidden):
        names = self.activation
        names = [names] * n_hidden if isinstance(names, str) else list(names)
        known = sorted(set(ACTIVATIONS) - {"softmax"}) + ["rbf"]
        if len(names) != n_hidden or not all(isinstance(name, str) and name.lower() in known
                                             for name in names):
            _fail(self, "activation", f"one of {known} or a list of them, one per hidden "
                  f"layer ({n_hidden})", self.activation)
        return [name.lower() for name in names]

    def _architecture(self):
        """The hidden widths and activations, checked (their types were checked by
        ``_validate_params``): every width a positive int, every activation known."""
        hidden = self._hidden_sizes()
        return hidden, self._hidden_activations(len(hidden))

    def _initializer(self, activations):
        if self.init is not None:
            try:
                return get_initializer(self.init)
            except ValueError as error:
                raise ValueError(f"The 'init' parameter of {type(self).__name__}: {error}") \
                    from None
        # scikit-learn's: gain 2 for logistic units, 6 otherwise, biases drawn too
        logistic = activations and all(ACTIVATIONS.get(name) is ACTIVATIONS["sigmoid"]
                                       for name in activations)
        return FanSumUniform(2.0 if logistic else 6.0)

    # -- data -------------------------------------------------------------------
    def _validate(self, X, y=None, reset=True, **options):
        """Host data through scikit-learn's checks (dense, finite, 2-D, float); device
        arrays through the network's own.  Returns ``(X, y, on_device)``."""
        on_device = infer_backend_name(X) not in (None, "numpy")
        if on_device:  # the values are checked on the device by the network
            if getattr(X, "ndim", 0) != 2:
                raise ValueError(f"X must be 2-D (n_samples, n_features); got shape "
                                 f"{tuple(X.shape)}")
            validate_data(self, X, reset=reset, skip_check_array=True)  # n_features_in_
            return X, y, True
        kwargs = dict(accept_sparse=["csr", "csc"], dtype=["float64", "float32"], reset=reset)
        if y is None:
            X = validate_data(self, X, **kwargs)
        else:
            X, y = validate_data(self, X, y, multi_output=True, **kwargs, **options)
        if hasattr(X, "toarray"):  # the math is dense: sparse rows are densified
            X = X.toarray()
        return X, y, False

    def _weights(self, sample_weight, X, on_device):
        """Sample weights checked by scikit-learn for host data (by ``fit`` on a device)."""
        if sample_weight is None or on_device:
            return sample_weight
        return _check_sample_weight(sample_weight, X, dtype=X.dtype, ensure_non_negative=True)

    def _backend_spec(self, X):
        """``backend="auto"`` follows the input's library (NumPy data: the numpy backend)."""
        if self.backend == "auto":
            return infer_backend_name(X) or "numpy"
        return self.backend

    def _device(self, X, dtype):
        """``X`` on the network's backend, with an error naming both sides on a mismatch."""
        network = self.network_
        try:
            return network.backend.asarray(X, dtype=dtype)
        except ValueError as error:
            where = infer_backend_name(X)
            raise ValueError(f"{type(self).__name__} was fitted on the "
                             f"{network.backend.name!r} backend ({network.backend.device}); X "
                             f"is {where or 'host'} data: {error}") from None

    def _output(self, A, on_device):
        """A result in the input's namespace: NumPy for host input."""
        return A if on_device else self.network_.backend.to_numpy(A)

    def _forward(self, X):
        """The network's outputs for ``X`` (device array) and whether X was a device array."""
        check_is_fitted(self, "network_")
        self._adopt_assigned()
        X, _, on_device = self._validate(X, reset=False)
        return self.network_.forward(self._device(X, self.network_.dtype)), on_device

    # -- fitting ------------------------------------------------------------------
    @validated
    def fit(self, X, y, sample_weight=None):
        """Fit the model to ``X`` and ``y``.

        Parameters
        ----------
        X : array-like or sparse matrix, shape (n_samples, n_features)
            A NumPy (or list, DataFrame, SciPy sparse) input, or an array of
            the backend's library (CuPy, PyTorch...), which the model keeps.
        y : array-like, shape (n_samples,) or (n_samples, n_outputs)
            Class labels of any kind, or a multilabel indicator matrix, for the
            classifier; targets for the regressor.
        sample_weight : array-like, shape (n_samples,), optional
            Non-negative weights: each batch minimizes the weighted mean loss.

        Returns
        -------
        self

        Raises
        ------
        DivergenceError
            A ``ValueError`` (scikit-learn's "Solver produced non-finite parameter
            weights") naming where the loss or a weight became NaN or infinite;
            the model keeps its last finite weights.  With ``early_stopping`` the
            fit goes on instead, as scikit-learn's does: the validation scores
            turn NaN and the best weights are restored.
        """
        return self._fit(X, y, sample_weight)

    def _check_params(self):
        """Every parameter checked as ``fit`` checks it (scikit-learn's constraints, then
        the widths and activation names); returns the hidden widths and activations."""
        self._validate_params()
        return self._architecture()

    def _first_pass(self, incremental):
        """scikit-learn's rule: draw new weights unless there are weights (fitted or
        assigned to ``coefs_``) and this is a warm start or ``partial_fit``."""
        has_weights = hasattr(self, "network_") or self._assigned() is not None
        return not has_weights or (not self.warm_start and not incremental)

    def _fit(self, X, y, sample_weight=None, incremental=False):
        dist = None
        if self.distributed:
            from ..distributed import Distributed

            dist = Distributed.world()
        # distributed, an error on one rank before the ranks agree (in the network's fit, or
        # in lbfgs) reaches every rank; one after it aborts the job
        with Start(dist):
            return self._fit_checked(X, y, sample_weight, incremental)

    def _fit_checked(self, X, y, sample_weight, incremental):
        hidden, activations = self._architecture()
        if incremental and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y "
                             "is None.")
        first = self._first_pass(incremental)
        X, T, w, on_device = self._training_data(X, y, sample_weight, incremental, reset=first)
        # one RandomState per fit draws the weights, the validation split and every
        # shuffle, in scikit-learn's order: the same random_state gives scikit-learn's run
        self._random_state = check_random_state(self.random_state)
        if first or not hasattr(self, "network_"):
            self._build(X, T, hidden, activations, assigned=None if first else self._assigned())
        else:
            self._adopt_assigned()
            self.network_.rng = self.network_.backend.random(self._random_state)
        with self.network_.backend.scope():  # the rest of the fit on the network's device
            self._fit_built(X, T, w, incremental)
        return self

    def _fit_built(self, X, T, w, incremental):
        """The fit once the network exists: the data moved to its device, then the solver."""
        strata = self._strata(T)
        dtype = self.network_.dtype
        X, T = self._device(X, dtype), self._network_targets(self._device(T, dtype))
        if T.shape[1] != self.n_outputs_:
            raise ValueError(f"y has {T.shape[1]} outputs, but {type(self).__name__} was "
                             f"fitted with {self.n_outputs_}")
        self._check_targets(T)
        if w is not None:
            w = weight_column(self.network_.backend, w, dtype, X.shape[0])
        if self.solver == "lbfgs":
            self._fit_lbfgs(X, T, w)
        else:
            self._fit_stochastic(X, T, strata, w, incremental)

    def _strata(self, T):
        """What the validation split of ``early_stopping`` is stratified by (host), or
        ``None``."""
        return None

    def _build(self, X, T, hidden, activations, assigned=None):
        """Make the network: freshly drawn weights (first fit, or a fit without
        ``warm_start``), or the ``(coefs, intercepts)`` assigned to an estimator that had
        none (then the records the user set are kept)."""
        output, loss, n_outputs = self._output_and_loss(T)
        dtype = self.dtype or ("float32" if str(getattr(X, "dtype", "")).endswith("float32")
                               else "float64")
        network = mlp([X.shape[1], *hidden, n_outputs], activation=activations,
                      output_activation=output, loss=loss,
                      init=self._initializer(activations), backend=self._backend_spec(X),
                      dtype=dtype, seed=self._random_state)
        if self.distributed:  # one GPU per rank of a node
            from ..distributed import Distributed

            Distributed.world().place(network, like=X)
        weights = None
        if assigned is not None:
            weights = parameters.check_shapes(parameters.trained_layers(network), *assigned)
        network.build(like=X, weights=weights)
        self.__dict__.pop("_assigned_weights", None)
        self.network_ = network
        self.n_outputs_ = n_outputs
        self.n_layers_ = len(hidden) + 2
        self.out_activation_ = SKLEARN_NAMES.get(output, output)
        records = {"n_iter_": 0, "t_": 0, "loss_curve_": [], "validation_loss_curve_": None,
                   "validation_scores_": None, "best_validation_score_": None,
                   "best_loss_": None, "_optimizer": None, "_stopping": None}
        for name, value in records.items():
            if assigned is None or name not in self.__dict__:
                setattr(self, name, value)

    def _network_targets(self, T):
        """The targets (a device array) as the network's outputs."""
        return T

    def _check_targets(self, T):
        """Refuse targets outside the loss's domain (device array)."""

    def _weighted_mean(self, values, w):
        """The mean of a device vector as a float, weighted by ``w`` (host or device)."""
        xp = self.network_.xp
        if w is None:
            return float(xp.mean(values))
        w = self._device(w, values.dtype)
        return float(xp.sum(values * xp.reshape(w, (-1,))) / xp.sum(w))

    def _new_optimizer(self):
        if self.solver == "sgd":
            return SGD(lr=self.learning_rate_init, momentum=self.momentum,
                       nesterov=bool(self.nesterovs_momentum))
        return Adam(lr=self.learning_rate_init, beta_1=self.beta_1, beta_2=self.beta_2,
                    eps=self.epsilon)

    def _split(self, X, T, strata, w):
        """scikit-learn's validation split for ``early_stopping`` (stratified by the
        binarized labels for a classifier with one output), as row indices applied on
        the device."""
        n = X.shape[0]
        train, val = train_test_split(list(range(n)), random_state=self._random_state,
                                      test_size=self.validation_fraction, stratify=strata)
        if len(val) < 2:
            raise ValueError("The validation set is too small. Increase 'validation_fraction' "
                             "or the size of your dataset.")
        backend = self.network_.backend
        xp = backend.xp

        def rows(A, index):
            return None if A is None else xp.take(A, backend.asarray(index), axis=0)

        return (rows(X, train), rows(T, train), rows(w, train)), \
            (rows(X, val), rows(T, val), rows(w, val))

    def _stopping_rule(self, monitor, restore):
        """The stopping rule, its best value and count carried over (warm start,
        partial_fit), its settings the current parameters'."""
        if self._stopping is None or self._stopping.monitor != monitor:
            self._stopping = NoImprovement(monitor, self.tol, self.n_iter_no_change)
        stopping = self._stopping
        stopping.min_delta, stopping.patience = float(self.tol), self.n_iter_no_change
        stopping.adaptive = self.solver == "sgd" and self.learning_rate == "adaptive"
        stopping.keep_best, stopping.verbose = bool(restore), bool(self.verbose)
        if restore and stopping.best_weights is None:  # scikit-learn's: the initial weights
            stopping.best_weights = self.network_.copy_parameters()
        return stopping

    def _fit_stochastic(self, X, T, strata, w, incremental):
        network = self.network_
        train, val = (X, T, w), None
        if self.early_stopping:
            train, val = self._split(X, T, strata, w)
        X, T, w = train
        n = X.shape[0]
        if self.batch_size == "auto":
            batch_size = min(200, n)
        else:
            if self.batch_size > n:
                warn("Got `batch_size` less than 1 or larger than sample size. It is going to "
                     "be clipped", UserWarning)
            batch_size = min(self.batch_size, n)

        network.rng.reset_order()  # scikit-learn's shuffles start from the identity each fit
        fresh = not incremental or self._optimizer is None
        if fresh:
            self._optimizer = self._new_optimizer()
        restore = self.early_stopping if self.restore_best_weights is None \
            else self.restore_best_weights
        monitor = "loss" if val is None else "val_score"
        stopping = self._stopping_rule(monitor, restore)
        callbacks = []
        if val is not None:
            callbacks.append(ValidationScore(lambda: self._score_device(*val)))
        if self.verbose:
            callbacks.append(Progress())
        callbacks.append(stopping)
        if self.solver == "sgd" and self.learning_rate == "invscaling":
            callbacks.append(InverseScaling(float(self.learning_rate_init),
                                            float(self.power_t), self.t_, n))

        epochs = 1 if incremental else self.max_iter
        previous = network.history
        try:
            # with early stopping scikit-learn trains on through a divergence (the
            # validation scores turn NaN) and restores the best weights; without, bpnn
            # stops at the failing step with the weights from before it
            network.fit(X, T, epochs=epochs, batch_size=batch_size, optimizer=self._optimizer,
                        shuffle=bool(self.shuffle), l2=float(self.alpha), l2_shared=True,
                        sample_weight=None if w is None else w[:, 0],
                        validation_data=None if val is None else val,
                        callbacks=callbacks, verbose=0,
                        on_divergence="continue" if self.early_stopping else "raise",
                        distributed=bool(self.distributed))
        except DivergenceError as error:
            raise DivergenceError(f"{NON_FINITE} {error}", epoch=error.epoch,
                                  step=error.step) from None
        finally:  # also after a divergence: the record up to it, the last finite weights
            if network.history is not previous:  # not when fit refused to start
                self._record(network.history, n, val is not None, monitor)
        if restore and stopping.best_weights is not None:
            network.restore_parameters(stopping.best_weights)
        if not parameters.all_finite(network):  # continued through a divergence, nothing kept
            raise DivergenceError(f"{NON_FINITE} The loss became NaN or infinite and "
                                  "early stopping kept no finite weights.")
        if not incremental and not stopping.converged and self.n_iter_ == self.max_iter:
            warn(f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and the "
                 "optimization hasn't converged yet.", ConvergenceWarning)

    def _record(self, history, n, has_validation, monitor):
        """The scikit-learn attributes from the record of one fit."""
        losses = list(history["loss"]) if "loss" in history else []
        self.n_iter_ = len(losses)
        self.t_ += n * len(losses)
        self.loss_curve_ = list(self.loss_curve_) + losses
        if losses:
            self.loss_ = losses[-1]
        if has_validation:
            self.validation_loss_curve_ = list(self.validation_loss_curve_ or []) + \
                list(history["val_loss"])
            self.validation_scores_ = list(self.validation_scores_ or []) + \
                list(history["val_score"])
        stopping = self._stopping
        if monitor == "val_score":
            self.best_validation_score_ = stopping.best if self.validation_scores_ else None
            self.best_loss_ = None
        else:
            self.best_loss_ = stopping.best if losses else None

    def _fit_lbfgs(self, X, T, w):
        network = self.network_
        distributed = None
        if self.distributed:
            from ..distributed import Distributed

            distributed = Distributed.world()
        options = {"max_iter": self.max_iter, "max_fun": self.max_fun}
        if network.backend.name == "numpy":
            result = scipy_lbfgs(network, X, T, w=w, alpha=float(self.alpha), tol=self.tol,
                                 distributed=distributed, **options)
        else:
            try:
                result = lbfgs(network, X, T, w=w, l2=float(self.alpha), l2_shared=True,
                               gtol=self.tol, distributed=distributed, **options)
            except DivergenceError as error:
                raise DivergenceError(f"{NON_FINITE} {error}", epoch=error.epoch,
                                      step=error.step) from None
        self.n_iter_ = result.n_iter
        self.loss_ = result.loss
        self.loss_curve_ = list(result.losses)
        self.best_loss_ = min(self.loss_curve_, default=result.loss)
        if not result.converged:
            warn(f"lbfgs failed to converge after {result.n_iter} iteration(s): "
                 f"{result.message}. Increase the number of iterations (max_iter) or scale the "
                 "data (sklearn.preprocessing.StandardScaler).", ConvergenceWarning)

    def _loss_grad_lbfgs(self, packed_coef_inter, X, y, sample_weight=None, *buffers):
        """The loss and its gradient at a flat parameter vector: scikit-learn's objective
        of L-BFGS, under its name and signature (kept for scikit-learn compatibility).

        Parameters
        ----------
        packed_coef_inter : ndarray
            Every ``coefs_`` entry, then every ``intercepts_`` entry, flattened;
            written into the network's parameters.
        X : array, shape (n_samples, n_features)
        y : array, shape (n_samples, n_outputs)
            The binarized labels (classifier) or the targets.
        sample_weight : array, shape (n_samples,), optional
        *buffers
            scikit-learn's work arrays (activations, deltas, gradients); not
            needed here, and ignored.

        Returns
        -------
        loss : float
            The mean loss, ``alpha`` shared as in training.
        grad : ndarray
            Its gradient, packed as ``packed_coef_inter``.
        """
        check_is_fitted(self, "network_")
        network = self.network_
        with network.backend.scope():
            dtype = network.dtype
            X = self._device(X, dtype)
            T = self._device(y, dtype)
            T = network.xp.reshape(T, (-1, 1)) if T.ndim == 1 else T
            w = None if sample_weight is None else \
                weight_column(network.backend, sample_weight, dtype, X.shape[0])
            return objective(network, X, self._network_targets(T), w,
                             float(self.alpha))(packed_coef_inter)

    # -- files ------------------------------------------------------------------------
    def save(self, path):
        """Write the fitted estimator to ``path``: a pickle-free bpnn model file holding
        the weights, the parameters and the fitted attributes (see
        :mod:`bpnn.estimators.files`); :meth:`load` reads it on any backend."""
        from .files import save_estimator

        if hasattr(self, "network_"):
            self._adopt_assigned()
        save_estimator(self, path)

    @classmethod
    def load(cls, path, backend=None):
        """Read an estimator written by :meth:`save`, its network on ``backend`` (by default
        the one :func:`bpnn.backends.get_backend` picks).

        Raises
        ------
        ModelFileError
            Not a model file, or not one of this estimator class.
        """
        from .files import load_estimator

        return load_estimator(cls, path, backend=backend)

    # -- fitted attributes ----------------------------------------------------------
    @property
    def coefs_(self):
        """The weight matrices ``W`` (n_in, n_out) of each layer, the network's own arrays
        (NumPy arrays on the numpy backend, else the backend's); an RBF layer's are its
        centres.

        Assignable, as in scikit-learn: ``model.coefs_ = [...]`` (or setting one
        entry, ``model.coefs_[0] = W``) puts those values in the network, shapes
        checked, for ``predict``, ``partial_fit`` or a ``warm_start`` fit; on an
        estimator not fitted yet, with ``intercepts_``, they are the initial weights
        of the next ``partial_fit`` or ``warm_start`` fit.
        """
        return self._layer_arrays(parameters.COEFS)

    @coefs_.setter
    def coefs_(self, value):
        self._assign(parameters.COEFS, value)

    @property
    def intercepts_(self):
        """The bias vectors ``b`` (n_out,) of each layer (an RBF layer's widths);
        assignable as :attr:`coefs_` is."""
        return self._layer_arrays(parameters.INTERCEPTS)

    @intercepts_.setter
    def intercepts_(self, value):
        self._assign(parameters.INTERCEPTS, value)

    def _layer_arrays(self, kind):
        assigned = self.__dict__.get("_assigned_weights", {})
        if kind in assigned:  # the very list assigned, so that its items may be set
            return assigned[kind]
        check_is_fitted(self, "network_")
        return parameters.LayerArrays(self.network_, kind)

    def _assign(self, kind, value):
        self.__dict__.setdefault("_assigned_weights", {})[kind] = value

    def _assigned(self):
        """``(coefs, intercepts)`` assigned to an estimator that has no network yet (both
        needed), or ``None``."""
        assigned = self.__dict__.get("_assigned_weights", {})
        if parameters.COEFS in assigned and parameters.INTERCEPTS in assigned:
            return assigned[parameters.COEFS], assigned[parameters.INTERCEPTS]
        return None

    def _adopt_assigned(self):
        """Copy assigned ``coefs_``/``intercepts_`` into the network (before it is used)."""
        assigned = self.__dict__.get("_assigned_weights")
        if assigned and hasattr(self, "network_"):
            parameters.adopt(self.network_, assigned.get(parameters.COEFS),
                             assigned.get(parameters.INTERCEPTS))
            del self.__dict__["_assigned_weights"]

    @property
    def _no_improvement_count(self):
        """scikit-learn's name (private, read by code written for its MLPs; kept for that
        compatibility) of the stopping rule's count: epochs in a row without an
        improvement by ``tol``."""
        stopping = getattr(self, "_stopping", None)
        return 0 if stopping is None else stopping.wait

    @_no_improvement_count.setter
    def _no_improvement_count(self, value):
        if getattr(self, "_stopping", None) is None:
            self._stopping = NoImprovement("val_score" if self.early_stopping else "loss",
                                           self.tol, self.n_iter_no_change)
        self._stopping.wait = value

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
