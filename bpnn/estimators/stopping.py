"""scikit-learn's stopping rule for its MLPs, as a callback of bpnn's training loop."""

from __future__ import annotations

from ..callbacks import MonitorCallback

#: scikit-learn's ``adaptive`` schedule divides the rate by this, and stops once the
#: rate is at most ``ADAPTIVE_FLOOR``.
ADAPTIVE_DIVISOR = 5.0
ADAPTIVE_FLOOR = 1e-6


class NoImprovement(MonitorCallback):
    """Stop (or cut the learning rate) when ``logs[monitor]`` stops improving by ``tol``.

    scikit-learn's rule, which differs from :class:`bpnn.EarlyStopping` in two
    ways: the best value follows every improvement, however small, while only
    an improvement by more than ``tol`` resets the count; and the run stops
    when the count *exceeds* ``n_iter_no_change``.  With ``adaptive`` the
    rate is divided by 5 instead, until it is at most 1e-6.

    The state (best value, count, best weights) persists across fits, for
    ``warm_start`` and ``partial_fit``; :meth:`reset` forgets it.

    Parameters
    ----------
    monitor : {"loss", "val_score"}
        The training loss (lower is better) or the validation score (higher).
    tol : float
    n_iter_no_change : int or math.inf
        ``inf`` never stops (scikit-learn accepts ``np.inf``).
    adaptive : bool
    keep_best : bool
        Keep a copy of the weights of the best epoch (on the device) in
        :attr:`best_weights`.
    verbose : bool
        Print why the run stopped or the rate was cut.
    """

    def __init__(self, monitor, tol, n_iter_no_change, adaptive=False, keep_best=False,
                 verbose=False):
        # min_delta (tol), patience (n_iter_no_change), adaptive, keep_best and verbose
        # may be set again between fits: the estimator's parameters can change
        self.adaptive = bool(adaptive)
        self.keep_best = bool(keep_best)
        self.verbose = bool(verbose)
        super().__init__(monitor, "auto", tol, 0)
        self.patience = n_iter_no_change  # an int, or inf

    def reset(self):
        super().reset()
        self.best_weights = None
        self.converged = False

    def on_train_begin(self, logs=None):
        self.converged = False  # the rest carries over from the previous fit

    def on_epoch_end(self, epoch, logs=None):
        value = self.current(logs)
        # scikit-learn's comparisons, which also decide a NaN (after a divergence under
        # early stopping): it is not "worse" (the count restarts), nor better than the best
        if self.mode == "min":
            worse, better = value > self.best - self.min_delta, value < self.best
        else:
            worse, better = value < self.best + self.min_delta, value > self.best
        self.wait = self.wait + 1 if worse else 0
        if better:
            self.best = value
            if self.keep_best:
                self.best_weights = self.model.copy_parameters(out=self.best_weights)
        if self.wait <= self.patience:
            return
        what = ("Validation score" if self.monitor == "val_score" else "Training loss")
        message = (f"{what} did not improve more than tol={self.min_delta:f} for "
                   f"{self.patience} consecutive epochs.")
        optimizer = self.model.optimizer
        if self.adaptive and optimizer.lr > ADAPTIVE_FLOOR:
            optimizer.lr /= ADAPTIVE_DIVISOR
            self.wait = 0
            if self.verbose:
                print(f"{message} Setting learning rate to {optimizer.lr:f}")
            return
        if self.verbose:
            print(f"{message} Stopping.")
        self.converged = True
        self.model.stop_training = True
