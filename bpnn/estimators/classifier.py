"""MLPClassifier: scikit-learn's multi-layer perceptron classifier, on any backend."""

from __future__ import annotations

from sklearn.base import ClassifierMixin
from sklearn.metrics import accuracy_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.multiclass import (
    _check_partial_fit_first_call,
    check_classification_targets,
    type_of_target,
    unique_labels,
)
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import column_or_1d

from ..backends import infer_backend_name
from .base import BaseMLP, scoped, stochastic, validated

_OUTPUTS = {"softmax": "softmax", "logistic": "sigmoid", "sigmoid": "sigmoid"}


class MLPClassifier(ClassifierMixin, BaseMLP):
    """Multi-layer perceptron classifier trained by backpropagation, on any backend.

    The parameters, methods and fitted attributes of
    :class:`sklearn.neural_network.MLPClassifier`, with the same meaning and
    defaults, and more: the backend, the dtype, an activation per hidden
    layer (all of :data:`bpnn.ACTIVATIONS`, and ``"rbf"``), the initializer and
    whether to restore the best weights.  It minimizes the log-loss: softmax
    outputs for more than two classes, one logistic output for two, one
    logistic output per label for multilabel indicator targets.

    Parameters
    ----------
    hidden_layer_sizes : int or sequence of int, default (100,)
        The widths of the hidden layers; ``()`` for none (logistic regression).
    activation : str or list of str, default "relu"
        The hidden activation, or one per hidden layer: scikit-learn's
        ``"identity"``, ``"logistic"``, ``"tanh"``, ``"relu"``, and every other
        activation of :data:`bpnn.ACTIVATIONS` (``"softsign"``, ``"gelu"``, ...),
        or ``"rbf"`` for a layer of Gaussian radial basis units.
    solver : {"adam", "sgd", "lbfgs"}, default "adam"
        ``"lbfgs"`` on the numpy backend is scikit-learn's run (SciPy's
        L-BFGS-B, :mod:`bpnn.estimators.scipy_lbfgs`); on the other backends a
        full-batch L-BFGS written against the Array API standard
        (:func:`bpnn.lbfgs.lbfgs`): it runs on the GPU too.
    alpha : float, default 1e-4
        L2 penalty, scikit-learn's convention: each batch minimizes
        ``(sum_i w_i E_i + alpha/2 sum W²) / sum_i w_i``.
    batch_size : int or "auto", default "auto"
        ``min(200, n_samples)`` for ``"auto"``; ignored by lbfgs.
    learning_rate : {"constant", "invscaling", "adaptive"}, default "constant"
        The schedule of ``solver="sgd"``.
    learning_rate_init : float, default 0.001
    power_t : float, default 0.5
        The exponent of ``invscaling``.
    max_iter : int, default 200
        Epochs for sgd and adam, iterations for lbfgs.
    shuffle : bool, default True
    random_state : int, RandomState or None, default None
        Seeds the initial weights, the shuffles and the validation split.
    tol : float, default 1e-4
    verbose : bool or int, default False
        Print scikit-learn's lines: ``Iteration 1, loss = ...`` per epoch, the
        validation score with early stopping, and why the run stopped.
    warm_start : bool, default False
        Continue from the fitted weights on the next ``fit``.
    momentum : float, default 0.9
        In ``[0, 1]``.
    nesterovs_momentum : bool, default True
    early_stopping : bool, default False
        Hold out ``validation_fraction`` of the data (stratified) and stop when
        its accuracy has not improved by ``tol`` for ``n_iter_no_change``
        epochs; the best weights are restored.
    validation_fraction : float, default 0.1
    beta_1, beta_2, epsilon : float, default 0.9, 0.999, 1e-8
        Adam's.
    n_iter_no_change : int or np.inf, default 10
        ``np.inf`` never stops early.
    max_fun : int, default 15000
        The most loss evaluations of lbfgs.
    backend : str, default "auto"
        ``"numpy"``, ``"cupy"``, ``"torch"``, ``"array_api_strict"`` (with an
        optional ``":device"``).  ``"auto"`` follows the training data: a CuPy
        or PyTorch array trains there, NumPy data on the numpy backend.
    dtype : {"float32", "float64"}, optional
        By default float32 for float32 data, else float64.
    output_activation : {"softmax", "logistic"}, optional
        By default softmax for multiclass, logistic for binary and multilabel
        targets; ``"softmax"`` gives binary problems two outputs.
    init : str or Initializer, optional
        The weight initializer (:data:`bpnn.INITIALIZERS`); by default
        scikit-learn's uniform ``±sqrt(6 / (n_in + n_out))`` for weights and
        biases (``±sqrt(2 / ...)`` for logistic units).
    restore_best_weights : bool, optional
        End on the weights of the best epoch (by validation score when there
        is a validation set, else by training loss).  By default only with
        ``early_stopping``, as scikit-learn does.
    distributed : bool, default False
        Data-parallel training over the ranks of an MPI job: every rank calls
        ``fit`` with the same data (see :mod:`bpnn.distributed`); with sgd and
        adam P ranks make the run of one process with ``batch_size`` P times
        as large, with lbfgs the same run.  No ``sample_weight``.

    Attributes
    ----------
    classes_ : ndarray
        The class labels (for multilabel targets, the label indices).
    coefs_, intercepts_ : list of arrays
        The weights and biases of each layer (live arrays of the backend).
    loss_ : float
        The last epoch's mean training loss (penalty included).
    best_loss_ : float or None
        The best training loss (``None`` with early stopping).
    loss_curve_ : list of float
        The training loss of each epoch (of each iteration for lbfgs).
    validation_scores_ : list of float or None
        The validation accuracy of each epoch, when there is a validation set.
    validation_loss_curve_ : list of float or None
        The validation loss of each epoch, when there is a validation set.
    best_validation_score_ : float or None
    t_ : int
        Training samples seen (sgd and adam).
    n_iter_ : int
        Epochs run by the last fit (iterations for lbfgs).
    n_layers_, n_outputs_ : int
    out_activation_ : str
        ``"softmax"`` or ``"logistic"``.
    n_features_in_ : int
    feature_names_in_ : ndarray
        With a DataFrame input whose column names are all strings.
    network_ : Network
        The trained network.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> import bpnn
    >>> X, y = load_iris(return_X_y=True)
    >>> model = make_pipeline(StandardScaler(),
    ...                       bpnn.MLPClassifier((16,), solver="lbfgs", random_state=0))
    >>> model.fit(X, y).score(X, y) > 0.95
    True
    """

    _parameter_constraints: dict = {
        **BaseMLP._parameter_constraints,
        "output_activation": [None, StrOptions(set(_OUTPUTS))],
    }

    # -- targets ----------------------------------------------------------------------
    def _training_data(self, X, y, sample_weight, incremental, reset):
        X, y, on_device = self._validate(X, y, reset=reset)
        if on_device:
            y = self._host_labels(X, y)
        elif y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer().fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start and not incremental:
                if set(classes) != set(self.classes_):
                    raise ValueError("warm_start can only be used where `y` has the same "
                                     f"classes as in the previous call to fit. Previously got "
                                     f"{self.classes_}, `y` has {classes}")
            elif set(classes) - set(self.classes_):
                raise ValueError(f"`y` has classes not in `self.classes_`. `self.classes_` has "
                                 f"{self.classes_}. 'y' has {classes}.")
        T = self._label_binarizer.transform(y).astype("float32")
        w = self._weights(sample_weight, X, on_device)
        return X, T, w, on_device

    def _host_labels(self, X, y):
        """Labels given as a device array, on the host (labels are small beside X)."""
        if y is None:
            raise ValueError("y is required")
        backend = self.network_.backend if hasattr(self, "network_") else None
        if backend is None or not backend.owns(y):
            from ..backends import get_backend

            backend = get_backend(None, like=y)
        labels = backend.to_numpy(y)
        if labels.ndim == 2 and labels.shape[1] == 1:
            labels = column_or_1d(labels, warn=True)
        if labels.shape[0] != X.shape[0]:
            raise ValueError(f"Found input variables with inconsistent numbers of samples: "
                             f"[{X.shape[0]}, {labels.shape[0]}]")
        return labels

    def _strata(self, T):
        """scikit-learn's: the binarized labels as booleans (so a class too small to
        split is named ``'True'`` as there), for one output only (not multilabel)."""
        return T.astype(bool) if self.n_outputs_ == 1 else None

    def _output_and_loss(self, T):
        kind = self._label_binarizer.y_type_
        choice = self.output_activation
        output = _OUTPUTS.get(choice) or ("softmax" if kind == "multiclass" else "sigmoid")
        if output == "sigmoid" and kind == "multiclass":
            raise ValueError("output_activation='logistic' needs binary or multilabel targets; "
                             f"y has {len(self.classes_)} classes: use 'softmax'")
        if output == "softmax" and kind.startswith("multilabel"):
            raise ValueError("output_activation='softmax' cannot give multilabel targets "
                             "(each row may hold several labels): use 'logistic'")
        self._two_column = output == "softmax" and T.shape[1] == 1  # binary: two outputs
        loss = "cross_entropy" if output == "softmax" else "binary_cross_entropy"
        return output, loss, 2 if self._two_column else T.shape[1]

    def _network_targets(self, T):
        """The binarized labels as the network's outputs (device array): a two-output
        softmax on a binary problem gets the complement column first."""
        if self._two_column:
            return self.network_.xp.concat([1.0 - T, T], axis=1)
        return T

    # -- fit -------------------------------------------------------------------------
    @available_if(stochastic)
    @validated
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch over ``(X, y)``, continuing from the current weights.

        Parameters
        ----------
        X, y, sample_weight
            As for :meth:`fit`.
        classes : array-like, optional
            Every class label; required on the first call.

        Returns
        -------
        self
        """
        if _check_partial_fit_first_call(self, classes):
            self._label_binarizer = LabelBinarizer()
            if infer_backend_name(y) not in (None, "numpy"):
                y = self._host_labels(X, y)
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
        return self._fit(X, y, sample_weight, incremental=True)

    # -- predictions -------------------------------------------------------------------
    def _probabilities(self, X):
        Y, on_device = self._forward(X)
        if self.out_activation_ == "logistic" and self.n_outputs_ == 1:
            Y = self.network_.xp.concat([1.0 - Y, Y], axis=1)
        return Y, on_device

    @scoped
    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes), in the input's namespace.

        For multilabel targets, each label's probability of being on.
        """
        Y, on_device = self._probabilities(X)
        return self._output(Y, on_device)

    @scoped  # its scope silences the warning of log(0) = -inf, as scikit-learn gives
    def predict_log_proba(self, X):
        """``log(predict_proba(X))``."""
        Y, on_device = self._probabilities(X)
        return self._output(self.network_.xp.log(Y), on_device)

    @scoped
    def predict(self, X):
        """The predicted labels, in the input's namespace (labels of ``classes_``)."""
        Y, on_device = self._probabilities(X)
        xp = self.network_.xp
        if self._label_binarizer.y_type_.startswith("multilabel"):
            labels = xp.astype(Y > 0.5, xp.int64)
            return self._output(labels, on_device)
        index = xp.argmax(Y, axis=1)
        if on_device and self.classes_.dtype.kind in "biuf":
            return xp.take(self.network_.backend.asarray(self.classes_), index, axis=0)
        # host input; or labels no array library but NumPy holds (strings, objects):
        # those come back as a NumPy array
        return self.classes_[self.network_.backend.to_numpy(index)]

    def to_onnx(self, path=None, *, input_name="X", opset=None):
        """The classifier as an ONNX model (see :mod:`bpnn.export`): input ``(N,
        n_features)`` in the network's dtype; outputs ``label`` (``predict``) and
        ``probabilities`` (``predict_proba``), as skl2onnx names them.  ``path``: also
        write it there; needs ``pip install 'bpnn[onnx]'``.  Returns an ``onnx.ModelProto``."""
        from ..export import estimator_to_onnx

        return estimator_to_onnx(self, path, input_name=input_name, opset=opset)

    def _score_device(self, X, T, w):
        """Accuracy on device arrays (exact-match for multilabel), weighted by ``w``."""
        xp = self.network_.xp
        Y = self.network_.forward(X)
        if T.shape[1] == 1:
            hit = (Y[:, 0] > 0.5) == (T[:, 0] > 0.5)
        elif self.out_activation_ == "softmax":
            hit = xp.argmax(Y, axis=1) == xp.argmax(T, axis=1)
        else:
            hit = xp.all((Y > 0.5) == (T > 0.5), axis=1)
        return self._weighted_mean(xp.astype(hit, Y.dtype), None if w is None else w[:, 0])

    @scoped
    def score(self, X, y, sample_weight=None):
        """Mean accuracy on ``(X, y)`` (subset accuracy for multilabel targets).

        Host data is scored by scikit-learn's ``accuracy_score``; device arrays
        on the device, but for labels only NumPy holds (strings), which are
        compared on the host.
        """
        if infer_backend_name(X) in (None, "numpy"):
            return super().score(X, y, sample_weight=sample_weight)
        xp = self.network_.xp
        predicted = self.predict(X)
        if infer_backend_name(predicted) in (None, "numpy"):  # labels such as strings
            host = self.network_.backend.to_numpy
            labels = y if infer_backend_name(y) in (None, "numpy") else host(y)
            weights = sample_weight if infer_backend_name(sample_weight) in (None, "numpy") \
                else host(sample_weight)
            return float(accuracy_score(labels, predicted, sample_weight=weights))
        labels = self._device(y, predicted.dtype)
        if labels.ndim == 2 and predicted.ndim == 1:
            labels = xp.reshape(labels, (-1,))
        hit = predicted == labels
        if hit.ndim == 2:
            hit = xp.all(hit, axis=1)
        return self._weighted_mean(xp.astype(hit, self.network_.dtype), sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags
