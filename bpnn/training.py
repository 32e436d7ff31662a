"""The training loop: online, minibatch and full-batch gradient descent."""

from __future__ import annotations

import math
import os

from .callbacks import Callback, EpochLogger, History, ProgressBar, overrides
from .data import epochs_for
from .distributed import Start, start_record
from .divergence import DivergenceError, Snapshot, all_finite, locate
from .errors import InputError
from .files.checkpoint import resume_record
from .network import delegate
from .optimizers import get_optimizer
from .steps import TrainStep
from .validation import non_negative_float, positive_int, weight_column, writable_path

#: What ``on_divergence="reduce_lr"`` multiplies the learning rate by, and how
#: many times it may do so in one fit.
DIVERGENCE_FACTOR = 0.1
DIVERGENCE_RETRIES = 5

__all__ = ["DivergenceError", "Run", "fit"]


@delegate("fit")
def fit(network, X, T, *, epochs=1, batch_size=32, optimizer="sgd", shuffle=True, l2=0.0,
        validation_data=None, callbacks=(), verbose=0, checkpoint=None, checkpoint_every=1,
        resume=None, on_divergence="raise", memory_budget=None, sample_weight=None,
        l2_shared=False, distributed=False):
    """Train ``network`` on ``(X, T)``.

    Each epoch draws a permutation of the samples from the network's seeded
    host stream (when ``shuffle``), cuts it into batches and takes one
    optimizer step per batch on the mean loss of the batch.

    Parameters
    ----------
    network : Network
    X : array_like, shape (n_samples, n_features); or a data source
        An array of any backend's library; or, for data larger than memory, a
        NumPy memory map, a ``.npy`` file, or a folder of ``.npy`` shards (rows
        in file-name order), read batch by batch from the host in the same
        order as an array would be (see :mod:`bpnn.data`); or a function
        returning an iterator of ``(X, T)`` batches, called once per epoch
        (then ``T`` is ``None`` and the iterator sets the order).
    T : array_like, shape (n_samples, n_outputs) or (n_samples,); or a data source
        Targets; one-hot rows for cross-entropy.
    epochs : int, default 1
        The epoch count of the whole run (a resumed run continues up to it).
    batch_size : int or None, default 32
        1 is online learning (the seed's), ``None`` full-batch gradient
        descent; a size above ``n_samples`` means full batch too.
    optimizer : str or Optimizer, default "sgd"
        ``"sgd"``, ``"adam"``, or an instance such as ``SGD(lr=0.1, momentum=0.9)``.
        An instance keeps its state (moments) across calls.  During the run it
        is ``network.optimizer``, where callbacks change its ``lr``.
    shuffle : bool, default True
        Reshuffle the samples every epoch.
    l2 : float, default 0.0
        L2 penalty ``l2/2 sum W²`` on the weights (not the biases), added to
        each batch's mean loss.
    validation_data : tuple (X_val, T_val) or (X_val, T_val, w_val), optional
        Evaluated after every epoch as ``"val_loss"`` (weighted by ``w_val``).
    callbacks : Callback or sequence of Callback
        See :mod:`bpnn.callbacks`: early stopping, CSV logging, learning-rate
        schedules, gradient monitoring, or your own.
    verbose : {0, 1, 2}, default 0
        0 shows nothing, 1 a progress bar (epoch, batch, loss, validation
        loss, time left) on stderr, 2 one line per epoch on stdout.
    checkpoint : str or path-like, optional
        Write the whole training state there (atomically) every
        ``checkpoint_every`` epochs and after the last one: weights,
        optimizer moments, epoch, random stream, history, callback states.
    checkpoint_every : int, default 1
    resume : str, path-like or True, optional
        Continue the run saved in this checkpoint (``True``: in ``checkpoint``
        if that file exists, else start afresh).  The data and the settings
        other than ``epochs`` must be the same; the callbacks too, in order.
        On NumPy the result is bit-identical to a run never interrupted.
    memory_budget : int, optional
        Bytes of GPU memory streamed data may take to be moved there once
        (default: half the free device memory); larger data stays streamed.
        On the CPU, files and memory maps are always streamed.
    on_divergence : {"raise", "reduce_lr", "continue"}, default "raise"
        When a loss or weight becomes NaN or infinite: raise
        :class:`DivergenceError` naming the epoch and step (the network keeps
        the weights from before that step), or go back to the start of the
        epoch, multiply the learning rate by 0.1 and train the epoch again
        (at most 5 times per fit; each retry is listed in
        ``network.divergences``); or, ``"continue"``, train on without checking,
        as scikit-learn's MLPs do (the losses, the weights and what callbacks
        log become NaN; a callback keeping the best weights can restore them).
    sample_weight : array_like, shape (n_samples,), optional
        Non-negative weights of the samples (arrays only, not streams): each
        batch's loss is the weighted mean ``sum w_i E_i / sum w_i``, so an
        integer weight counts a sample that many times.
    l2_shared : bool, default False
        Share the penalty among the batch's samples, scikit-learn's
        convention for ``alpha``: each batch's loss is then
        ``(sum w_i E_i + l2/2 sum W²) / sum w_i``.
    distributed : bool or Distributed, default False
        Data-parallel training over the ranks of an MPI job (``mpiexec -n P``;
        see :mod:`bpnn.distributed`): every rank calls ``fit`` with the same
        arrays, works on its piece of each batch of ``P * batch_size`` rows, and
        the gradients are summed with one ``Allreduce`` per step.  Only rank 0
        writes checkpoints, logs and progress.  Before the first step the ranks
        check that they agree on the data (rows, a digest) and the options; a
        difference, or an error on one rank while starting, raises
        :class:`~bpnn.distributed.RanksDisagree` on every rank.  An error
        during training aborts the job.  Needs ``pip install "bpnn[distributed]"``.

    Returns
    -------
    History
        ``history["loss"]``: the mean training loss of each epoch, each
        sample's loss taken before its own update (the seed's ``Error``);
        ``history["lr"]``, and ``history["val_loss"]`` with validation data.

    Raises
    ------
    ValueError
        Bad data or options, or a checkpoint of another run.
    RanksDisagree
        Distributed: the ranks differ in their data or options, or one failed while
        starting (a ``ValueError``).
    ModelFileError
        ``resume`` names a file that is not a sound checkpoint.
    DivergenceError
        The loss or a weight became NaN or infinite.
    """
    dist = None
    if distributed:
        from .distributed import Distributed

        dist = distributed if isinstance(distributed, Distributed) else Distributed.world()
    # distributed, an error on one rank before the ranks agree reaches every rank; one
    # after it aborts the job (see bpnn.distributed.Start)
    with Start(dist) as start:
        epochs = positive_int(epochs, "epochs")
        batch_size = positive_int(batch_size, "batch_size", allow_none=True)
        l2 = non_negative_float(l2, "l2")
        optimizer = get_optimizer(optimizer)
        checkpoint_every = positive_int(checkpoint_every, "checkpoint_every")
        _check_choices(verbose, on_divergence)
        callbacks = _checked_callbacks(callbacks)
        if resume is True:
            if checkpoint is None:
                raise InputError("resume=True resumes from checkpoint=...; give the checkpoint "
                                 "path")
            resume = checkpoint if os.path.exists(checkpoint) else None
        if checkpoint is not None:
            writable_path(checkpoint, "the checkpoint")
        if memory_budget is not None:
            memory_budget = positive_int(memory_budget, "memory_budget", allow_zero=True)
        if dist is not None:
            dist.place(network, like=X)
        network.distributed = dist
        try:
            # the provider builds the network from the data (its first rows, for a stream),
            # with the backend's device current; the run then keeps it current throughout
            data = epochs_for(network, X, T, batch_size, memory_budget, sample_weight, dist)
            try:
                with network.backend.scope():
                    run = Run(network, data, epochs=epochs, batch_size=batch_size,
                              optimizer=optimizer, shuffle=bool(shuffle), l2=l2,
                              l2_shared=bool(l2_shared), validation_data=validation_data,
                              callbacks=callbacks, verbose=verbose, checkpoint=checkpoint,
                              checkpoint_every=checkpoint_every, resume=resume,
                              on_divergence=on_divergence)
                    return run.train(start)
            finally:
                data.close()
        finally:
            network.distributed = None


def _check_choices(verbose, on_divergence):
    if verbose not in (0, 1, 2) or isinstance(verbose, float):
        raise InputError(f"verbose must be 0, 1 or 2, got {verbose!r}")
    if on_divergence not in ("raise", "reduce_lr", "continue"):
        raise InputError("on_divergence must be 'raise', 'reduce_lr' or 'continue', got "
                         f"{on_divergence!r}")


def _checked_callbacks(callbacks):
    if isinstance(callbacks, Callback):
        callbacks = [callbacks]
    callbacks = list(callbacks)
    for callback in callbacks:
        if not isinstance(callback, Callback):
            raise TypeError("callbacks must be bpnn Callback objects, got "
                            f"{type(callback).__name__}")
    return callbacks


class Run:
    """One training run of :func:`fit`: its settings, and its state while it trains.

    :func:`fit` checks its options, builds the data provider and a ``Run`` of
    them, and calls :meth:`train`; the epoch loop, the step loop, the divergence
    handling and the checkpoints are this object's methods and read the run from
    it.  A new training feature is an option of :func:`fit`, checked there, and
    an attribute here that the methods read.

    Conventions: the settings are the checked options of :func:`fit` under their
    own names, set once here and never changed by the run; the state
    (``history``, ``step``, ``snapshot``, ``start_epoch``...) is set by
    :meth:`train` as the run starts.  Two records are dicts because others read
    them by key: :meth:`record` (what a checkpoint stores and a resume compares,
    :data:`bpnn.files.checkpoint.SETTINGS`; the file format) and :meth:`params`
    (what callbacks get in ``set_params``).  The hot loop (:meth:`_steps`) binds
    what it reads to locals before its first step.

    Parameters
    ----------
    network : Network
        Built (by the data provider), with ``network.distributed`` set.
    data : provider
        From :func:`bpnn.data.epochs_for`: ``n_samples``, ``bounds``,
        ``weighted``, ``epoch(shuffle)``.
    epochs, batch_size, optimizer, shuffle, l2, l2_shared, callbacks, verbose,
    checkpoint, checkpoint_every, resume, on_divergence : keyword-only
        As checked by :func:`fit` (``optimizer`` an instance, ``callbacks`` a
        list, ``resume`` a path or ``None``).
    validation_data : tuple or None, keyword-only
        As given to :func:`fit`; checked and moved to the device here.

    Attributes
    ----------
    validation : tuple (X_val, T_val, w_val) or None
        The validation data on the device.
    steps : int or None
        Steps per epoch (``None`` for a batch iterator).
    history : History
    settings : dict
        :meth:`record`, taken as the run starts: what its checkpoints store.
    start_epoch : int
        The first epoch this call trains (after a resume, the checkpoint's next).
    step : TrainStep
        The run's training step, shared with the divergence replay.
    snapshot : Snapshot
        The state at the start of the epoch, to go back to if it diverges.
    """

    def __init__(self, network, data, *, epochs, batch_size, optimizer, shuffle, l2,
                 l2_shared, validation_data, callbacks, verbose, checkpoint, checkpoint_every,
                 resume, on_divergence):
        self.network, self.data = network, data
        self.epochs, self.batch_size, self.optimizer = epochs, batch_size, optimizer
        self.shuffle, self.l2, self.l2_shared = shuffle, l2, l2_shared
        self.callbacks, self.verbose = callbacks, verbose
        self.checkpoint, self.checkpoint_every, self.resume = checkpoint, checkpoint_every, resume
        self.on_divergence = on_divergence
        self.validation = _validation(network, validation_data)
        self.steps = None if data.bounds is None else len(data.bounds)
        self.dist = network.distributed
        self.xp = network.backend.xp
        #: only rank 0 writes files and progress
        self.writer = self.dist is None or self.dist.writer

    def record(self):
        """The run as a checkpoint stores it and a resume compares it (a dict whose
        keys are the file's: see :mod:`bpnn.files.checkpoint`)."""
        dist, batch_size = self.dist, self.batch_size
        # a distributed run records its global batch: another number of ranks with the
        # same global batch resumes it
        global_batch = batch_size if dist is None or batch_size is None \
            else batch_size * dist.size
        return {"batch_size": global_batch, "shuffle": self.shuffle, "l2": self.l2,
                "l2_shared": self.l2_shared, "samples": self.data.n_samples,
                "weighted": self.data.weighted, "steps": self.steps,
                **resume_record(self.network, self.optimizer, self.data,
                                self.checkpoint or self.resume)}

    def params(self):
        """What every callback gets in ``set_params``."""
        return {"epochs": self.epochs, "initial_epoch": self.start_epoch, "steps": self.steps,
                "samples": self.data.n_samples, "batch_size": self.batch_size,
                "validation": self.validation is not None, "verbose": self.verbose}

    def train(self, start):
        """Run the epochs from the start (or the checkpoint's next) to ``epochs``.

        ``start`` is :func:`fit`'s :class:`~bpnn.distributed.Start`, where a
        distributed run's ranks agree before the first step.  Returns the
        :class:`~bpnn.callbacks.History`.
        """
        network, optimizer, callbacks = self.network, self.optimizer, self.callbacks
        self.history = history = History()
        shown = {1: ProgressBar, 2: EpochLogger}.get(self.verbose) if self.writer else None
        shown = [] if shown is None else [shown()]
        network.history = history
        network.optimizer = optimizer
        network.stop_training = False
        network.divergences = []
        for callback in [*callbacks, *shown, history]:
            callback.set_model(network)
        self.settings = self.record()
        self.start_epoch, stopped = 0, False
        if self.resume is not None:
            from .files.checkpoint import restore_checkpoint

            self.start_epoch, stopped = restore_checkpoint(self.resume, network, optimizer,
                                                           callbacks, history, self.settings)
        if self.dist is not None:
            start.agree(start_record(network, self.data, epochs=self.epochs,
                                     batch_size=self.batch_size, optimizer=optimizer,
                                     shuffle=self.shuffle, l2=self.l2, l2_shared=self.l2_shared,
                                     validation=self.validation is not None,
                                     initial_epoch=self.start_epoch))
            self.dist.synchronize_start(network)
        # History last: it records what every other callback added to the logs.
        everyone = [*callbacks, *shown, history]
        try:
            params = self.params()
            for callback in everyone:
                callback.set_params(params)
            for callback in everyone:
                if not (self.resume is not None and callback is history):  # keep the restored
                    callback.on_train_begin({})
            if not stopped:
                # a step's freed memory is reused (NaN and inf are checked for, not warned
                # about: fit's scope silences the library's warnings)
                with network.backend.training_memory():
                    self._epochs(everyone)
            for callback in everyone:
                callback.on_train_end({})
        finally:
            for callback in shown:
                callback.close()
        return history

    def _epochs(self, callbacks):
        """The epoch loop; ``callbacks`` all of the run's, History last."""
        network, optimizer, xp = self.network, self.optimizer, self.xp
        params = network.parameters
        self.per_batch = [callback for callback in callbacks
                          if overrides(callback, "on_batch_end")]
        # The state at the start of the epoch, to go back to if it diverges;
        # its buffers are allocated once and refreshed in place every epoch.
        optimizer.follow(params)  # an optimizer last used on another network starts afresh
        self.snapshot = snapshot = Snapshot(network, optimizer)
        self.step = TrainStep(network, optimizer, l2=self.l2, l2_shared=self.l2_shared,
                              distributed=self.dist)
        saves = self.checkpoint is not None and self.writer
        checks = self.on_divergence != "continue"
        epochs = range(self.start_epoch, self.epochs)
        last = epochs[-1] if len(epochs) else None
        for epoch in epochs:
            snapshot.take()
            for callback in callbacks:
                callback.on_epoch_begin(epoch, {})
            batches = self.data.epoch(self.shuffle)  # the same batches each time it is called
            snapshot.take_stream()  # a replayed or retried epoch draws the same dropout masks
            while True:
                lr = optimizer.lr
                total, seen = self._steps(batches())
                epoch_loss = float(total) / seen
                # the parameters fetched anew: where arrays are immutable the step made new ones
                if not checks or (math.isfinite(epoch_loss)
                                  and all_finite(xp, network.parameters)):
                    break
                self._diverged(batches, epoch)
            logs = {"loss": epoch_loss}
            if self.validation is not None:
                X_val, T_val, w_val = self.validation
                logs["val_loss"] = float(network.loss_value(xp, X_val, T_val, l2=self.l2,
                                                            w=w_val, l2_shared=self.l2_shared))
            logs["lr"] = lr
            for callback in callbacks:
                callback.on_epoch_end(epoch, logs)
            if saves and ((epoch + 1) % self.checkpoint_every == 0 or epoch == last
                          or network.stop_training):
                self._save(epoch)
            if network.stop_training:
                break

    def _steps(self, batches):
        """One pass over the batches with the run's :class:`~bpnn.steps.TrainStep`: the loss
        summed over the samples (on the device) and the number of samples.  A batch is
        ``(X, T)``, or ``(X, T, w)`` with sample weights."""
        # the hot loop: what it reads is bound here, once per epoch
        step, xp, per_batch, dist = self.step, self.xp, self.per_batch, self.dist
        params = self.network.parameters
        # The sum of the batch losses weighted by their sizes, kept on the device in units
        # of the first batch's size: one addition per step (most batches have that size).
        total, unit = 0.0, None
        seen = 0
        for batch, arrays in enumerate(batches):
            loss = step(xp, params, arrays)
            size = arrays[0].shape[0] if dist is None else arrays[3]  # the global batch's
            if unit is None:
                unit = size
            seen += size
            total = total + (loss if size == unit else loss * (size / unit))
            if per_batch:
                logs = {"size": size, "loss": total * (unit / seen)}
                for callback in per_batch:
                    callback.on_batch_end(batch, logs)
        if not seen:
            raise InputError("the epoch had no data (the batch iterator yielded nothing)")
        return total * unit, seen

    def _diverged(self, batches, epoch):
        """Find the failing step; then raise, or cut the learning rate for a retry."""
        network, optimizer, snapshot = self.network, self.optimizer, self.snapshot
        snapshot.restore()
        found = locate(network, self.xp, batches(), self.step)
        step, what = found if found is not None else (None, "the loss or a weight became NaN "
                                                            "or infinite")
        where = f"epoch {epoch}" + (f", step {step}" if step is not None else "")
        if self.on_divergence == "reduce_lr" and len(network.divergences) < DIVERGENCE_RETRIES:
            snapshot.restore()
            old = optimizer.lr
            optimizer.lr = old * DIVERGENCE_FACTOR
            network.divergences.append({"epoch": epoch, "step": step, "lr": old,
                                        "new_lr": optimizer.lr})
            return
        kept = "from before that step" if step is not None else "from the start of that epoch"
        if found is None:
            snapshot.restore()
        optimizer.reset()
        hint = ("the learning rate was already cut "
                f"{len(network.divergences)} times" if self.on_divergence == "reduce_lr" else
                "fit(..., on_divergence='reduce_lr') retries with a lower rate")
        raise DivergenceError(
            f"training diverged in {where}: {what}. The network keeps its weights {kept}. "
            f"Lower the learning rate (optimizer {optimizer!r}) or scale the data; {hint}.",
            epoch=epoch, step=step)

    def _save(self, epoch):
        """Write the checkpoint after ``epoch`` (rank 0 only: the caller checks)."""
        from .files.checkpoint import save_checkpoint

        save_checkpoint(self.checkpoint, self.network, self.optimizer, self.callbacks,
                        self.history, epoch, self.settings,
                        stopped=self.network.stop_training)


def _validation(network, validation_data):
    """``(X_val, T_val, w_val)`` on the device, or ``None``."""
    if validation_data is None:
        return None
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
        raise InputError("validation_data must be a pair (X_val, T_val) or a triple "
                         "(X_val, T_val, w_val)")
    X_val, T_val = network._data(*validation_data[:2])
    w_val = None
    if len(validation_data) == 3 and validation_data[2] is not None:
        w_val = weight_column(network.backend, validation_data[2], network.dtype,
                              X_val.shape[0], name="w_val")
    return X_val, T_val, w_val
