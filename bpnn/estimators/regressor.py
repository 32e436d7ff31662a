"""MLPRegressor: scikit-learn's multi-layer perceptron regressor, on any backend."""

from __future__ import annotations

import math

from sklearn.base import RegressorMixin
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import column_or_1d

from ..backends import infer_backend_name
from .base import BaseMLP, scoped, stochastic, validated

#: The regressor's losses and the output activation each pairs with.
LOSSES = {"squared_error": "identity", "poisson": "exp"}


class MLPRegressor(RegressorMixin, BaseMLP):
    """Multi-layer perceptron regressor trained by backpropagation, on any backend.

    The parameters, methods and fitted attributes of
    :class:`sklearn.neural_network.MLPRegressor`, with the same meaning and
    defaults, and more (see :class:`MLPClassifier` for the parameters they
    share).  It minimizes half the squared error with an identity output, or
    half the Poisson deviance with an exponential output.

    Parameters
    ----------
    loss : {"squared_error", "poisson"}, default "squared_error"
        ``"poisson"`` is for counts and rates (``y >= 0``); the output is
        ``exp(z)``, always positive.
    hidden_layer_sizes, activation, solver, alpha, batch_size, learning_rate, \
learning_rate_init, power_t, max_iter, shuffle, random_state, tol, verbose, warm_start, \
momentum, nesterovs_momentum, early_stopping, validation_fraction, beta_1, beta_2, epsilon, \
n_iter_no_change, max_fun, backend, dtype, init, restore_best_weights, distributed
        As for :class:`MLPClassifier`; ``early_stopping`` watches the R² of
        the held-out data (not stratified).
    output_activation : str, optional
        Any activation of :data:`bpnn.ACTIVATIONS` for the output units
        instead of the loss's (e.g. ``"tanh"`` for targets in (-1, 1)).

    Attributes
    ----------
    coefs_, intercepts_, loss_, best_loss_, loss_curve_, validation_scores_, \
validation_loss_curve_, best_validation_score_, t_, n_iter_, n_layers_, n_outputs_, \
out_activation_, n_features_in_, feature_names_in_, network_
        As for :class:`MLPClassifier`; the validation scores are R².

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.model_selection import cross_val_score
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> import bpnn
    >>> X, y = load_diabetes(return_X_y=True)
    >>> model = make_pipeline(StandardScaler(), bpnn.MLPRegressor(
    ...     hidden_layer_sizes=(16,), solver="lbfgs", alpha=10.0, max_iter=1000,
    ...     random_state=0))
    >>> float(cross_val_score(model, X, y / 100, cv=5).mean()) > 0.45
    True
    """

    def __init__(self, loss="squared_error", hidden_layer_sizes=(100,), activation="relu", *,
                 solver="adam", alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 backend="auto", dtype=None, output_activation=None, init=None,
                 restore_best_weights=None, distributed=False):
        super().__init__(
            hidden_layer_sizes, activation, solver=solver, alpha=alpha, batch_size=batch_size,
            learning_rate=learning_rate, learning_rate_init=learning_rate_init,
            power_t=power_t, max_iter=max_iter, shuffle=shuffle, random_state=random_state,
            tol=tol, verbose=verbose, warm_start=warm_start, momentum=momentum,
            nesterovs_momentum=nesterovs_momentum, early_stopping=early_stopping,
            validation_fraction=validation_fraction, beta_1=beta_1, beta_2=beta_2,
            epsilon=epsilon, n_iter_no_change=n_iter_no_change, max_fun=max_fun,
            backend=backend, dtype=dtype, output_activation=output_activation, init=init,
            restore_best_weights=restore_best_weights, distributed=distributed)
        self.loss = loss

    # -- targets ----------------------------------------------------------------------
    _parameter_constraints: dict = {
        **BaseMLP._parameter_constraints,
        "loss": [StrOptions(set(LOSSES))],
    }

    def _training_data(self, X, y, sample_weight, incremental, reset):
        X, y, on_device = self._validate(X, y, reset=reset, y_numeric=True)
        if not on_device and y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if on_device and (y is None or getattr(y, "shape", (None,))[0] != X.shape[0]):
            raise ValueError("y must be an array with one row per sample of X")
        w = self._weights(sample_weight, X, on_device)
        T = y if on_device or y.ndim == 2 else y.reshape(-1, 1)
        return X, T, w, on_device

    def _output_and_loss(self, T):
        output = self.output_activation or LOSSES[self.loss]
        return output, self.loss, T.shape[1] if T.ndim == 2 else 1

    def _network_targets(self, T):
        return self.network_.xp.reshape(T, (-1, 1)) if T.ndim == 1 else T

    def _check_targets(self, T):
        if self.loss == "poisson" and bool(self.network_.xp.any(T < 0)):
            raise ValueError("Some value(s) of y are negative which is not allowed for Poisson "
                             "regression.")

    # -- fit -------------------------------------------------------------------------
    @available_if(stochastic)
    @validated
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over ``(X, y)``, continuing from the current weights.

        Returns
        -------
        self
        """
        return self._fit(X, y, sample_weight, incremental=True)

    # -- predictions -------------------------------------------------------------------
    @scoped
    def predict(self, X):
        """Predictions, shape (n_samples,) for one output, else (n_samples, n_outputs),
        in the input's namespace."""
        Y, on_device = self._forward(X)
        if self.n_outputs_ == 1:
            Y = self.network_.xp.reshape(Y, (-1,))
        return self._output(Y, on_device)

    def to_onnx(self, path=None, *, input_name="X", opset=None):
        """The regressor as an ONNX model (see :mod:`bpnn.export`): input ``(N,
        n_features)`` in the network's dtype; output ``variable`` of shape ``(N,
        n_outputs)``, as skl2onnx gives it.  ``path``: also write it there; needs
        ``pip install 'bpnn[onnx]'``.  Returns an ``onnx.ModelProto``."""
        from ..export import estimator_to_onnx

        return estimator_to_onnx(self, path, input_name=input_name, opset=opset)

    def _score_device(self, X, T, w):
        """R² on device arrays, averaged over the outputs, weighted by ``w``; NaN for
        predictions that are not all finite (scikit-learn's, after a divergence)."""
        Y = self.network_.forward(X)
        xp = self.network_.xp
        if not bool(xp.all(xp.isfinite(Y))):
            return math.nan
        return self._r2(Y, T, w)

    def _r2(self, Y, T, w):
        """scikit-learn's ``r2_score`` (uniform average over outputs; 1.0 for a perfect
        fit of a constant target, 0.0 for an imperfect one)."""
        xp = self.network_.xp
        if w is None:
            w = xp.ones((T.shape[0], 1), dtype=T.dtype, device=self.network_.backend.device)
        total = xp.sum(w)
        mean = xp.sum(w * T, axis=0) / total
        residual = xp.sum(w * (T - Y) ** 2, axis=0)
        spread = xp.sum(w * (T - mean) ** 2, axis=0)
        scores = []
        for numerator, denominator in zip(self.network_.backend.to_numpy(residual).tolist(),
                                          self.network_.backend.to_numpy(spread).tolist()):
            if denominator != 0.0:
                scores.append(1.0 - numerator / denominator)
            else:
                scores.append(1.0 if numerator == 0.0 else 0.0)
        return sum(scores) / len(scores)

    @scoped
    def score(self, X, y, sample_weight=None):
        """R² of the predictions for ``X`` (averaged over outputs).

        Host data is scored by scikit-learn's ``r2_score``; device arrays on
        the device.
        """
        if infer_backend_name(X) in (None, "numpy"):
            return super().score(X, y, sample_weight=sample_weight)
        Y, _ = self._forward(X)
        T = self._network_targets(self._device(y, Y.dtype))
        w = None if sample_weight is None else \
            self.network_.xp.reshape(self._device(sample_weight, Y.dtype), (-1, 1))
        return self._r2(Y, T, w)
