"""A network with what it knows about its table: the model that ``bpnn train`` writes.

It adds to the network the task, the feature and target column names, the
class labels (classification), the target's standardization (regression) and the
features' standardization (``x_mean``, ``x_scale``), applied on the host in float64
before the rows reach the network, so a float32 network keeps a narrow column on a
large offset.  (Models of bpnn 0.1 standardized in the network's first layer,
:class:`~bpnn.layers.Standardize`; they load and predict as before.)  All of it is
saved in one model file.
"""

from __future__ import annotations

import math

from ..errors import InputError
from ..files import schema
from ..files.model_file import read_model, save_model
from .tables import StandardizedRows

TASKS = ("regression", "classification")
_BATCH = 65536


class TabularModel:
    """A trained network and its table description.

    Parameters
    ----------
    network : Network
        Takes standardized feature rows (or raw rows where ``info`` has no
        ``x_mean``).
    info : dict
        ``task``, ``features``, ``target``, optionally ``x_mean``/``x_scale`` (the
        features' standardization), ``impute`` (what fills each feature's missing
        values), ``dropped`` and ``id`` (the columns set aside, and the one naming the
        rows), and ``classes`` (classification) or ``y_mean``/``y_scale``
        (regression).
    """

    def __init__(self, network, info):
        if info.get("task") not in TASKS:
            raise InputError(f"task must be one of {TASKS}, got {info.get('task')!r}")
        self.network = network
        self.info = info

    @property
    def task(self):
        return self.info["task"]

    def save(self, path):
        save_model(self.network, path, extra={"tabular": self.info})

    @classmethod
    def load(cls, path, backend=None):
        """Read a model written by ``bpnn train``; a plain network file is refused.

        Raises
        ------
        ModelFileError
            Not a model of ``bpnn train``, or a table description that does not fit
            its network (the message names the field).
        """
        from ..files import ModelFileError

        network, extra = read_model(path, backend=backend)
        info = (extra or {}).get("tabular") if isinstance(extra, dict) else None
        if not isinstance(info, dict):
            raise ModelFileError(f"{path}: a bpnn network without a table description (not "
                                 "written by bpnn train); load it with bpnn.load in Python")
        return cls(network, table_info(path, info, network))

    # -- predictions ----------------------------------------------------------------
    def outputs(self, rows):
        """The network's outputs for a row source of raw rows, batch by batch, as device
        arrays (standardized on the host first, as in training)."""
        if "x_mean" in self.info:
            rows = StandardizedRows(rows, self.info["x_mean"], self.info["x_scale"])
        n = rows.shape[0]
        for start in range(0, n, _BATCH):
            yield self.network.predict(rows.take(range(start, min(start + _BATCH, n))))

    def predictions(self, rows):
        """``(header, rows)`` of the prediction table: the predicted target, and for
        classification one probability column per class."""
        backend = self.network.backend
        xp = backend.xp
        target = self.info.get("target") or "prediction"
        # each batch is computed inside the backend's scope, and the rows are yielded
        # outside it: a generator must not hold the device current across its yields
        if self.task == "regression":
            header = [target]
            mean, scale = self.info["y_mean"], self.info["y_scale"]
            for Y in self.outputs(rows):
                with backend.scope():
                    values = backend.to_numpy(Y[:, :1] * scale + mean).tolist()
                for (value,) in values:
                    yield header, [value]
            return
        classes = self.info["classes"]
        header = [target, *[f"p({label})" for label in classes]]
        for Y in self.outputs(rows):
            with backend.scope():
                picked = backend.to_numpy(xp.argmax(Y, axis=1)).tolist()
                probabilities = backend.to_numpy(Y).tolist()
            for index, row in zip(picked, probabilities):
                yield header, [classes[index], *row]

    # -- evaluation -------------------------------------------------------------------
    def evaluate(self, rows, y_host):
        """Scores on rows and their true targets (numbers for regression, one-hot rows
        for classification, both host arrays)."""
        with self.network.backend.scope():
            return self._scores(rows, y_host)

    def _scores(self, rows, y_host):
        """:meth:`evaluate` inside the backend's scope."""
        backend = self.network.backend
        xp = backend.xp
        Y = xp.concat(list(self.outputs(rows)), axis=0)
        T = backend.asarray(y_host, dtype=self.network.dtype)
        n = float(Y.shape[0])
        if self.task == "regression":
            pred = Y[:, 0] * self.info["y_scale"] + self.info["y_mean"]
            true = xp.reshape(T, (-1,))
            error = pred - true
            ss_res = float(xp.sum(error * error))
            centred = true - xp.mean(true)
            ss_tot = float(xp.sum(centred * centred))
            return {"r2": 1.0 - ss_res / ss_tot if ss_tot > 0 else math.nan,
                    "rmse": math.sqrt(ss_res / n),
                    "mae": float(xp.mean(xp.abs(error))),
                    "n": int(n)}
        k = T.shape[1]
        picked = xp.argmax(Y, axis=1)
        truth = xp.argmax(T, axis=1)
        tiny = xp.finfo(Y.dtype).smallest_normal  # the standard's name (NumPy's "tiny")
        log_loss = -float(xp.sum(T * xp.log(xp.maximum(Y, tiny)))) / n
        onehot_pred = xp.astype(picked[:, None] == xp.arange(k, device=backend.device)[None, :],
                                Y.dtype)
        confusion = backend.to_numpy(xp.astype(xp.round(T.T @ onehot_pred), xp.int64)).tolist()
        return {"accuracy": float(xp.mean(xp.astype(picked == truth, Y.dtype))),
                "log_loss": log_loss, "confusion": confusion, "classes": self.info["classes"],
                "n": int(n)}


def table_info(path, info, network):
    """``info`` (the ``tabular`` content of a model file) after checking every field
    against ``network``; a bad field is a :class:`~bpnn.files.ModelFileError` naming it."""
    where = "extra.tabular"
    task = schema.text(path, info.get("task"), f"{where}.task", TASKS)
    features = schema.sequence(path, info.get("features"), f"{where}.features",
                               network.n_features, schema.text)
    if len(set(features)) != len(features):
        raise schema.refuse(path, f"{where}.features", "names a column twice")
    schema.text(path, info.get("target"), f"{where}.target", allow_none=True)
    if "x_mean" in info or "x_scale" in info:  # absent: the network takes raw rows
        schema.sequence(path, info.get("x_mean"), f"{where}.x_mean", network.n_features,
                        schema.number)
        schema.sequence(path, info.get("x_scale"), f"{where}.x_scale", network.n_features,
                        lambda *a: schema.number(*a, positive=True))
    if "impute" in info:  # --impute: what fills each feature's missing values
        schema.sequence(path, info.get("impute"), f"{where}.impute", network.n_features,
                        schema.number)
    if "dropped" in info:  # --drop: columns set aside
        schema.sequence(path, info.get("dropped"), f"{where}.dropped", None, schema.text)
    schema.text(path, info.get("id"), f"{where}.id", allow_none=True)  # --id: the rows' names
    if task == "classification":
        schema.labels(path, info.get("classes"), f"{where}.classes", network.n_outputs)
        if network.n_outputs < 2:
            raise schema.refuse(path, f"{where}.classes", "must name two or more classes")
    else:
        schema.number(path, info.get("y_mean"), f"{where}.y_mean")
        schema.number(path, info.get("y_scale"), f"{where}.y_scale", positive=True)
    return info
