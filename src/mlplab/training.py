"""The training loop: ``Trainer``, and the batch sources it draws mini-batches from.

The lecture's mini-batch gradient descent, as ``Trainer.fit`` runs it::

    for epoch = initial_epoch, ..., epochs - 1:                        Trainer.fit
        for each mini-batch B = (X_B, Y_B, w_B) of the batch source:   Trainer.run_epoch
            1. forward pass        P = f(X_B; theta), layer by layer   Trainer.train_step
            2. objective           J = sum_i w_i loss(p_i, y_i) / sum_i w_i  (+ penalty)
            3. back-propagation    dJ/dtheta by the chain rule, from the last layer to the first
            4. update              theta <- theta - lr * (the optimizer's direction)
        validation loss and metrics, then the epoch's callbacks (early stopping, checkpoints)

Steps 1-3 are ``model.loss_and_grad`` (``forward``, the loss, ``backward``) and step 4 is
``optimizer.step(model)``: ``train_step`` is those two calls and a guard against divergence,
and a loop written by hand from them gives, with the same seed, bit for bit the weights of
``fit`` (README).

A batch source (``mlplab.batches``) gives the mini-batches of one epoch: ``ArraySource`` from
arrays in memory (validation split, sample and class weights, shuffling, the row gather),
``ChunkSource`` from an iterable of (X, y[, w]) chunks, e.g. read from a ``numpy.memmap``
larger than the memory training may use. Augmentation, a Trainer option, is applied to each training batch as the
source gives it.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import signal
import threading
import warnings

import numpy as np

from . import io, optim, regularizers, schedules
from ._validation import (
    as_rng,
    check_bool,
    check_callable,
    check_instance,
    check_int,
    check_list,
    check_path,
    fail,
)
from .backend import all_finite, blas_threads, l2_norm, xp
from .batches import ArraySource, BatchSource, ChunkSource, as_source
from .callbacks import Callback, CallbackList, ProgressBar
from .errors import ArgumentError, DivergenceError, ModelFileError
from .history import History
from .layers import Dropout
from .metrics import DEFAULT_METRICS
from .model import Sequential

__all__ = ["Trainer", "BatchSource", "ArraySource", "ChunkSource", "as_source"]

_OPTIMIZER = "given to the optimizer, not to fit: optimizer=ml.optim.{}({}=...)"
#: where the arguments of other libraries' fit go in mlplab's
FIT_HINTS = {
    "lr": _OPTIMIZER.format("SGD", "lr"),
    "learning_rate": _OPTIMIZER.format("SGD", "lr"),
    "momentum": _OPTIMIZER.format("SGD", "momentum"),
    "weight_decay": _OPTIMIZER.format("AdamW", "weight_decay"),
    "betas": _OPTIMIZER.format("Adam", "betas"),
    "criterion": "passed as loss= (a name, e.g. loss='cross_entropy', or a mlplab Loss)",
    "loss_fn": "passed as loss= (a name, e.g. loss='cross_entropy', or a mlplab Loss)",
    "max_iter": "passed as epochs= (fit's name for the number of passes over the data)",
    "n_epochs": "passed as epochs= (fit's name for the number of passes over the data)",
    "num_epochs": "passed as epochs= (fit's name for the number of passes over the data)",
}


# -- the trainer -------------------------------------------------------------------------------
_NO_SIGNAL = {"interrupted": False}
_MODEL_KEYS = itertools.count()  # which model an optimizer's state belongs to (_claim)


@contextlib.contextmanager
def _interruptible():
    """Turn the first Ctrl-C into a flag that the loop checks after each batch; a second one
    raises KeyboardInterrupt as usual."""
    state = {"interrupted": False}
    if threading.current_thread() is not threading.main_thread():
        yield state
        return

    def handler(signum, frame):
        if state["interrupted"]:
            raise KeyboardInterrupt
        state["interrupted"] = True

    old = signal.signal(signal.SIGINT, handler)
    try:
        yield state
    finally:
        signal.signal(signal.SIGINT, old)


def _quiet():
    """Overflow on the way to a NaN loss is the divergence guard's business, not a warning's."""
    return np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore")


def _claim(optimizer, model, resumed=False):
    """Mark ``optimizer``'s state as ``model``'s, refusing one whose moments and update count
    belong to another model: torch binds an optimizer to its parameters, Keras 3 refuses
    variables it was not built with; stepping a second model would mix the two states."""
    key = model.__dict__.setdefault("_optimizer_key", next(_MODEL_KEYS))  # copied with the model
    owner = getattr(optimizer, "_model_key", None)
    if not resumed and owner is not None and owner != key and (optimizer.t or optimizer.state):
        raise fail(
            "optimizer",
            "a new optimizer or the one that trained this model (its state is per model, as in torch and Keras)",
            got=f"{type(optimizer).__name__} that made {optimizer.t} updates of another model",
        )
    optimizer._model_key = key


def _check_schedule(optimizer, steps, epochs, initial_epoch):
    """Before training: a schedule defined at the run's last update (or epoch), so that
    OneCycleLR's ``total_steps`` fails now and not half-way; and a warning when a per-update
    schedule ends the first epoch below 1% of its starting rate, the mark of a scheduler
    torch steps once per epoch (StepLR(step_size=2), ExponentialLR(0.95)) counting updates."""
    lr = optimizer.lr
    if not isinstance(lr, schedules.Schedule) or epochs <= initial_epoch:
        return
    per_epoch = lr.interval == "epoch"
    if per_epoch or steps:
        last = epochs - 1 if per_epoch else optimizer.t + (epochs - initial_epoch) * steps - 1
        try:
            lr(last)
        except ArgumentError as e:
            what = f"a schedule defined up to the run's last {'epoch' if per_epoch else 'update'}, {last}"
            raise fail("the optimizer's lr", what, got=f"{lr!r} ({e})") from None
    if not per_epoch and steps and optimizer.t == 0 and epochs - initial_epoch > 1:
        start, low = lr(0), min(lr(int(t)) for t in np.linspace(0, steps, 65))
        if low < 0.01 * start:
            warnings.warn(
                f"{lr!r} counts updates (interval='batch'): its learning rate falls from {start:.3g} to "
                f"{low:.3g} within the first epoch ({steps} updates); interval='epoch' steps it once per "
                "epoch, as torch's schedulers are usually stepped",
                UserWarning,
                stacklevel=3,
            )


class Trainer:
    """Trains a model by mini-batch gradient descent: the lecture's loop as an object.

    ::

        for epoch = initial_epoch, ..., epochs - 1:                          fit
            on_epoch_begin
            for each mini-batch B of the source (shuffled, augmented):       run_epoch
                on_batch_begin
                J = model.loss_and_grad(X_B, Y_B)   1. forward  2. J  3. backward
                if J is NaN or infinite: back to the start of the epoch, stop
                optimizer.step(model)               4. theta <- theta - lr * direction
                on_batch_end
            if the weights or outputs overflow: back to the start of the epoch, stop
            J and metrics on the validation data
            on_epoch_end (early stopping, checkpoints, ...)

    Drive it whole (``fit``), an epoch at a time (``run_epoch``) or a batch at a time
    (``train_step``). ``Sequential.fit`` builds one per call.

    Parameters
    ----------
    model : Sequential
        The network to train (in place).
    loss : str or Loss, optional
        Default: cross_entropy after softmax, bce after sigmoid, the logits' loss on a linear
        output trained with cross_entropy or bce (``Sequential.logits``), mse otherwise.
    optimizer : Optimizer or name, optional
        Default ``optim.SGD(lr=0.1)``; with ``fit(resume_from=...)``, the checkpoint's.
    regularizer : Regularizer or name, optional
        Penalty added to J; the epoch logs then hold its data term as "data_loss" too.
    metrics : sequence of (str or callable), default ("accuracy",)
        Logged per epoch: "accuracy" (the default's, for classification losses only),
        "mse", "mae", "r2", or ``f(P, Y) -> float``.
    callbacks : list of Callback, optional
        Each gets ``self.trainer`` (this object) and ``self.model``.
    augment : callable ``f(X_batch, rng) -> X_batch``, optional
        Applied to every training batch with the trainer's generator (``mlplab.augment``).
    verbose : {0, 1, 2}, default 1
        1: a progress bar per epoch (a line per epoch when the output is not a terminal);
        2: a line per epoch; 0: silent.
    seed : int or numpy Generator, optional
        Seeds ``rng``, the generator of shuffling and augmentation. By default it comes from
        the model's seed (``model.run_rng()``): a model built with a seed trains the same way
        in every process.

    Attributes
    ----------
    model, loss, optimizer, regularizer, metrics (name -> function), callbacks (CallbackList),
    augment, rng, history (the History of the last ``fit``)

    Raises
    ------
    ArgumentError
        ``model`` is not a Sequential; an unknown loss (or one that does not fit the output
        layer), optimizer, regularizer or metric; ``augment`` not callable; ``verbose`` not
        0, 1 or 2; ``callbacks`` not a list of Callback; an invalid ``seed``.
    """

    def __init__(
        self,
        model,
        loss=None,
        optimizer=None,
        *,
        regularizer=None,
        metrics=DEFAULT_METRICS,
        callbacks=None,
        augment=None,
        verbose=1,
        seed=None,
    ):
        self.model = check_instance("model", model, Sequential, "a mlplab Sequential or MLP")
        self.loss = model._resolve_loss(loss)
        self._default_optimizer = optimizer is None
        self.optimizer = optim.SGD(lr=0.1) if optimizer is None else optim.get(optimizer)
        self.regularizer = regularizers.get(regularizer)
        self.metrics = model._resolve_metrics(metrics, self.loss)
        self.augment = None if augment is None else check_callable("augment", augment, "a callable f(X, rng) -> X")
        self.verbose = check_int("verbose", int(verbose) if isinstance(verbose, bool) else verbose, 0, 2)
        cbs = [ProgressBar(verbose=self.verbose)] if self.verbose else []
        if isinstance(callbacks, Callback):
            raise fail("callbacks", "a list of mlplab Callback instances", callbacks)
        for c in [] if callbacks is None else check_list("callbacks", callbacks, "a list of mlplab Callback instances"):
            cbs.append(check_instance("callbacks", c, Callback, "a list of mlplab Callback instances"))
        self.callbacks = CallbackList(cbs)
        self.rng = model.run_rng() if seed is None else as_rng(seed)
        self.history = History()
        self._theta = model.flat_params()  # the model's one parameter buffer, for the guard
        self._backup = xp.empty_like(self._theta)  # the weights before train_step's last update
        self._stepped = False
        self._epoch_start = xp.empty_like(self._theta)  # the weights at the start of the epoch
        self._cut_short = False  # whether Ctrl-C ended the last epoch before its last batch
        self._quiet_divergence = any(getattr(c, "terminate_on_nan", False) for c in cbs)
        self._sig = _NO_SIGNAL
        self._pending = None  # checkpoints asked for during on_epoch_end, written after it
        self._batches = None  # the source of the current fit, for the checkpoints' fingerprint
        self.callbacks.set_trainer(self)

    # -- one mini-batch ------------------------------------------------------------------
    def train_step(self, X, Y, w=None) -> float:
        """One update on the mini-batch (X, Y): J = ``model.loss_and_grad``, then
        ``optimizer.step``. Returns J (before the update).

        X is (n, n_inputs), Y the targets as ``fit`` takes them, w per-sample weights or None.
        If J is NaN or infinite, the model gets back the weights before the last update
        (whose J was finite), no update is made and ``DivergenceError`` is raised. A batch
        whose weights are all zero contributes nothing: no update, and 0.0 is returned.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n, n_inputs)
            The batch's inputs.
        Y : array-like
            Its targets, as ``fit`` takes them.
        w : array-like of shape (n,), optional
            Per-sample weights >= 0 (all zero allowed).

        Returns
        -------
        float
            J of the batch, before the update.

        Raises
        ------
        ArgumentError
            X, Y or w refused for this model and loss, named.
        DivergenceError
            J is NaN or infinite.
        """
        model = self.model
        X, Y, w = model._check_data(X, Y, self.loss, w, ("X", "Y", "w"), batch=True)
        if w is not None and not w.any():
            return 0.0
        with _quiet():
            J = model._loss_and_grad(X, Y, self.loss, self.regularizer, w)  # 1. forward, 2. J, 3. backward
            if not math.isfinite(J):  # the guard: never update from a NaN
                self._undo_last_update()
                raise DivergenceError(self._diverged(J, f"update {self.optimizer.t + 1}"), self.history, loss=J)
            xp.copyto(self._backup, self._theta)
            self.optimizer.step(model)  # 4. update
        self._stepped = True
        return J

    def _undo_last_update(self):
        """Give the model back the weights before the last update (whose J was finite)."""
        if self._stepped:
            xp.copyto(self._theta, self._backup)

    def _diverged(self, J, where) -> str:
        return (
            f"loss became {J} at {where}: training diverged; the model keeps the last weights with a finite "
            f"loss. Try a lower learning rate (now {self.optimizer.last_lr:g}) or gradient clipping (clip_norm=)."
        )

    # -- the guard of run_epoch and fit ---------------------------------------------------------
    def _snapshot(self):
        """Keep the weights and the optimizer's state of the start of the epoch."""
        opt = self.optimizer
        xp.copyto(self._epoch_start, self._theta)
        self._opt_start = (opt.t, opt.epoch, opt.last_lr, {k: v.copy() for k, v in opt.state.items()})

    def _weights_hold(self, batches, val=None) -> bool:
        """Whether the weights are finite and give finite outputs for every training input (and
        validation input): by a bound carried through the layers from ||X||_2, or, when the
        bound does not settle it, by running the network on those inputs."""
        if not all_finite(self._theta):
            return False
        model = self.model
        b = batches.input_bound if val is None else max(batches.input_bound, self._val_bound)
        worst = b  # every layer's output must stay in range, not only the last (softmax of inf is NaN)
        for layer in model.layers:
            b = layer.bound(b)
            worst = max(worst, b)
        if worst < np.finfo(model.dtype).max / 16:
            return True
        inputs = batches.inputs() if val is None else itertools.chain(batches.inputs(), [val[0]])
        return all(all_finite(model._predict(X)) for X in inputs)

    def _diverge(self, what, epoch, J=None, b=None, m=None):
        """Training diverged during ``epoch``: the model and the optimizer go back to the start
        of the epoch; a NaN loss goes to the batch callbacks; DivergenceError is raised unless
        a callback stops training (TerminateOnNaN). Returns None: no logs for this epoch."""
        opt = self.optimizer
        xp.copyto(self._theta, self._epoch_start)
        lr = opt.last_lr
        opt.t, opt.epoch, opt.last_lr, opt.state = self._opt_start
        model = self.model
        model.stop_reason = (
            f"{what}: training diverged; the model is back at its weights of the start of epoch {epoch + 1}. "
            f"Try a lower learning rate (now {lr:g}) or gradient clipping (clip_norm=)."
        )
        if b is not None:
            self.callbacks.on_batch_end(b, {"loss": J, "size": m})
        if not (model.stop_training or self._quiet_divergence):
            raise DivergenceError(model.stop_reason, self.history, loss=J)
        model.stop_training = True
        return None

    # -- one epoch ------------------------------------------------------------------------
    def run_epoch(self, batches, epoch=0):
        """One pass over the batch source ``batches`` (bound to the model here), with the
        batch callbacks. Returns the epoch's logs: "loss" (the weighted mean of J over the
        batches), "data_loss" (with a regularizer), the metrics and "lr"; None if it stopped
        before its first update. It stops early, as ``fit`` does, when a batch callback sets
        ``model.stop_training`` (cleared when the epoch begins) or J is not finite.

        Parameters
        ----------
        batches : BatchSource
            The source of the epoch's mini-batches.
        epoch : int >= 0, default 0
            The epoch's number, in messages.

        Returns
        -------
        dict or None
            The epoch's logs, or None.

        Raises
        ------
        ArgumentError
            ``batches`` is not a BatchSource, ``epoch`` not an int >= 0, or the data are
            refused for this model (``bind``).
        DivergenceError
            J became NaN or infinite, or the weights overflow: the model and the optimizer
            are back at their state of the start of the epoch (unless a callback such as
            ``TerminateOnNaN`` stops training quietly).
        """
        check_instance("batches", batches, BatchSource, "a batch source (ArraySource, ChunkSource)")
        epoch = check_int("epoch", epoch, 0)
        batches.bind(self.model, self.loss)
        self.model.stop_training = False
        with _quiet(), blas_threads(self._flops(batches)):
            return self._run_epoch(batches, epoch)

    def _run_epoch(self, batches, epoch, val=None):
        model, cb, metric_fns = self.model, self.callbacks, self.metrics
        # train_step's four steps, written out: one call level less a batch
        loss_and_grad, loss, reg, update = model._loss_and_grad, self.loss, self.regularizer, self.optimizer.step
        hooks = cb.batch_hooks
        self._snapshot()
        tot = tot_data = wsum = 0.0  # weighted sums of J and of its data term
        seen = 0
        msum = dict.fromkeys(metric_fns, 0.0)
        self._cut_short = False
        for b, (xb, yb, wb) in enumerate(batches.batches(self.rng, self.augment)):
            if self._sig["interrupted"]:  # Ctrl-C: this epoch stays unfinished
                self._cut_short = True
                break
            if wb is not None and not wb.any():  # all weights zero: the batch contributes nothing
                continue
            m = xb.shape[0]
            if hooks:
                cb.on_batch_begin(b, {"size": m})
            J = loss_and_grad(xb, yb, loss, reg, wb)  # 1. forward, 2. J, 3. backward
            if not math.isfinite(J):  # the guard (see fit): never update from a NaN
                return self._diverge(f"loss became {J} at epoch {epoch + 1}, batch {b + 1}", epoch, J, b, m)
            update(model)  # 4. update
            wm = m if wb is None else float(wb.sum())
            tot += J * wm
            tot_data += model._data_loss * wm
            wsum += wm
            seen += m
            for name, f in metric_fns.items():
                msum[name] += f(model._P, yb) * m
            if hooks:
                cb.on_batch_end(b, {"loss": J, "size": m})
            if model.stop_training:
                break
        if not self._weights_hold(batches, val):
            return self._diverge(f"the weights after epoch {epoch + 1} overflow", epoch)
        if wsum == 0:  # stopped before the first update of this epoch
            return None
        logs = {"loss": tot / wsum}
        if self.regularizer is not None:
            logs["data_loss"] = tot_data / wsum
        for name in metric_fns:
            logs[name] = msum[name] / max(seen, 1)
        logs["lr"] = self.optimizer.last_lr
        return logs

    def _flops(self, batches) -> float:
        """FLOPs of the largest matrix product of a training step (the BLAS thread rule)."""
        return max(
            (2.0 * batches.batch_rows * layer.W.size for layer in self.model.layers if "W" in layer.param_names),
            default=0.0,
        )

    # -- the whole run ---------------------------------------------------------------------
    def fit(
        self, batches, epochs=10, *, initial_epoch=0, validation=None, resume_from=None, allow_new_data=False
    ) -> History:
        """Train for the epochs ``initial_epoch`` .. ``epochs - 1`` on the batch source.

        After each epoch: the loss and metrics of ``validation`` (else of the source's own
        held-out rows, if any) are logged with a ``val_`` prefix, the History records the epoch
        and the epoch callbacks run. Training stops early when a callback sets
        ``model.stop_training``, at the first Ctrl-C (after the current batch; a second one
        raises KeyboardInterrupt), or when training diverges.

        The divergence guard: J is checked at every batch, and at the end of every epoch the
        weights are checked to be finite and to give finite outputs on every training and
        validation input (a bound carried through the layers from the inputs' norm settles it
        in O(parameters); the network runs on the inputs only when the bound does not). When
        J is not finite or the check fails, the model and the optimizer get back their state
        of the start of that epoch, which passed the same check (at the end of the epoch
        before, or before training), the epoch is not recorded, and ``DivergenceError`` is
        raised, or training stops quietly when a callback asks for it (``TerminateOnNaN``).
        So when ``fit`` returns, or raises DivergenceError, the model's weights and outputs on
        its training inputs are finite. Weights that overflow already before training are
        refused (``ArgumentError``).

        Parameters
        ----------
        batches : BatchSource
            The training data (``ArraySource``, ``ChunkSource``).
        epochs : int >= 0, default 10
            Train up to epoch ``epochs - 1``.
        initial_epoch : int >= 0, default 0
            The first epoch (ignored with ``resume_from``, which sets it).
        validation : (X, y) or (X, y, sample_weight), optional
            Validation data, logged as "val_loss" and "val_<metric>"; default: the
            source's held-out rows (``validation_split``), if any.
        resume_from : str or path-like, optional
            A full checkpoint (``Trainer.save_checkpoint``, ``ModelCheckpoint(save_full=True)``):
            the weights, the optimizer's state (the optimizer must be of the saved class; a
            trainer built without one takes the saved one; one built with the learning rate
            the saved one was built with continues at its current rate, see
            ``Optimizer.load_state_dict``), the History, the generator, the Dropout generators
            and the callbacks' states are restored, and training continues at the epoch after
            the saved one, bit for bit as an uninterrupted run. Each callback of this trainer
            that has a state (``EarlyStopping``, ``ReduceLROnPlateau``, ``ModelCheckpoint``)
            takes the state of the saved callback of its class in the same rank (the second
            EarlyStopping that of the second), or starts afresh when there is none. If
            EarlyStopping had stopped training at the saved epoch, no further epoch is trained,
            as in the uninterrupted run (``on_train_end`` runs: the best weights are
            restored). The data must be the checkpoint's (``BatchSource.fingerprint``: shapes
            and a hash of sampled rows), or ``ArgumentError`` is raised.
        allow_new_data : bool, default False
            Resume on data other than the checkpoint's, on purpose.

        Returns
        -------
        History
            Also ``model.history``; ``stop_reason`` says why training ended.

        Raises
        ------
        ArgumentError
            An invalid argument or data, named; weights that overflow before training; with
            ``resume_from``, a checkpoint of another architecture, dtype or optimizer class,
            or of other data (unless ``allow_new_data``); an optimizer that has made updates
            of another model (its state is per model: give each model its own).
        DivergenceError
            Training diverged (above).
        ModelFileError
            ``resume_from`` is not a valid checkpoint, or holds a callback state that does
            not fit (OSError if it cannot be opened).
        """
        epochs = check_int("epochs", epochs, 0)
        initial_epoch = check_int("initial_epoch", initial_epoch, 0)
        check_instance("batches", batches, BatchSource, "a batch source (ArraySource, ChunkSource)")
        check_bool("allow_new_data", allow_new_data)
        model = self.model
        ck = None
        if resume_from is not None:
            ck = self._resume(resume_from)
            initial_epoch = ck.epoch + 1
        _claim(self.optimizer, model, resumed=ck is not None)  # a checkpoint's state is this model's now
        batches.bind(model, self.loss)
        self._batches = batches
        _check_schedule(self.optimizer, batches.steps, epochs, initial_epoch)
        if ck is not None and not allow_new_data:
            self._check_same_data(ck, resume_from, batches.fingerprint())
        val = batches.validation if validation is None else self._validation_data(validation)
        self._val_bound = 0.0 if val is None else l2_norm(val[0])
        with _quiet():
            hold = self._weights_hold(batches, val)
        if not hold:
            raise fail(
                "the model's weights",
                "finite, with finite outputs on the training and validation inputs, before training",
                got="weights that overflow",
            )
        model.history, model.optimizer = self.history, self.optimizer
        model.stop_training, model.stop_reason = False, None
        self._stepped = False
        cb = self.callbacks
        cb.on_train_begin({"epochs": epochs, "steps": batches.steps})
        if ck is not None:
            self._restore_callbacks(ck, resume_from)
            if model.stop_training:  # a callback had stopped the run there (EarlyStopping)
                initial_epoch = max(initial_epoch, epochs)
        with _quiet(), _interruptible() as sig, blas_threads(self._flops(batches)):
            self._sig = sig
            try:
                for epoch in range(initial_epoch, epochs):
                    self.optimizer.epoch = epoch
                    cb.on_epoch_begin(epoch, {})
                    logs = self._run_epoch(batches, epoch, val)
                    if self._cut_short:  # never recorded as finished, never checkpointed
                        model.stop_reason = (
                            f"interrupted by the user (Ctrl-C) during epoch {epoch + 1}, which is not recorded; "
                            f"the model keeps the weights of its last update"
                        )
                        break
                    if logs is None:
                        break
                    if val is not None:
                        logs.update(model._evaluate(val[0], val[1], self.loss, self.metrics, val[2], prefix="val_"))
                        if self.regularizer is not None:
                            logs["val_data_loss"] = logs["val_loss"]
                    self.history.record(epoch, logs)
                    self._pending = []
                    try:
                        cb.on_epoch_end(epoch, logs)
                    finally:
                        pending, self._pending = self._pending, None
                    for path, e in pending:
                        self._write_checkpoint(path, e)
                    if sig["interrupted"]:
                        model.stop_reason = (
                            model.stop_reason or f"interrupted by the user (Ctrl-C) during epoch {epoch + 1}"
                        )
                        break
                    if model.stop_training:
                        break
            except DivergenceError:
                self.history.stop_reason = model.stop_reason
                cb.on_train_end({})
                raise
            finally:
                self._sig = _NO_SIGNAL
        if model.stop_reason is None:
            model.stop_reason = f"completed {epochs} epochs"
        self.history.stop_reason = model.stop_reason
        cb.on_train_end({})
        return self.history

    def _validation_data(self, validation):
        if not isinstance(validation, (tuple, list)) or len(validation) not in (2, 3):
            raise fail("validation_data", "a tuple (X_val, y_val) or (X_val, y_val, sample_weight_val)", validation)
        Xv, yv, wv = (*validation, None) if len(validation) == 2 else validation
        names = ("validation_data X", "validation_data y", "validation_data sample_weight")
        return self.model._check_data(Xv, yv, self.loss, wv, names)

    # -- checkpoints -------------------------------------------------------------------------
    def save_checkpoint(self, path, epoch) -> str:
        """Write a full checkpoint after the finished ``epoch``: the model, the optimizer's
        state (with its current learning rate), the History, the generator, the state of every
        callback that has one (``Callback.state_dict``) and the fingerprint of the training
        data (``mlplab.save_checkpoint``). Returns ``path``.

        Called from ``on_epoch_end`` (``ModelCheckpoint(save_full=True)``), the file is
        written once every callback has finished that epoch, so that it holds their states
        after it.

        Parameters
        ----------
        path : str or path-like
            The file to write (replaced if it exists).
        epoch : int >= 0
            The last finished epoch; a resumed ``fit`` continues at ``epoch + 1``.

        Returns
        -------
        str
            ``path`` (written now, or after the epoch's callbacks when one of them asks).

        Raises
        ------
        ArgumentError
            What ``mlplab.io.save_checkpoint`` refuses (a layer that is not built in,
            non-finite weights or state, an optimizer whose lr cannot be saved), named.
        OSError
            The file cannot be written.
        """
        if self._pending is not None:
            self._pending.append((path, epoch))
            return path
        return self._write_checkpoint(path, epoch)

    def _write_checkpoint(self, path, epoch):
        states = [(type(c).__name__, c.state_dict()) for c in self.callbacks.callbacks if c._STATE]
        data = None if self._batches is None else self._batches.fingerprint()
        model, opt = self.model, self.optimizer
        return io.save_checkpoint(path, model, opt, epoch, self.history, self.rng, callback_states=states, data=data)

    def _check_same_data(self, ck, path, fingerprint):
        if ck.data is None or fingerprint is None or fingerprint == ck.data:
            return
        raise fail(
            "resume_from",
            "a checkpoint of the data training resumes on (or allow_new_data=True, if other data is intended)",
            got=f"{path!r}, saved on data of shapes {ck.data['shapes']}, resumed on data of shapes "
            f"{fingerprint['shapes']}"
            + (" (same shapes, other values)" if ck.data["shapes"] == fingerprint["shapes"] else ""),
        )

    def _restore_callbacks(self, ck, path):
        """Give each stateful callback the saved state of the callback of its class and rank."""
        saved = {}
        for name, state in ck.callback_states:
            saved.setdefault(name, []).append(state)
        for c in self.callbacks.callbacks:
            states = saved.get(type(c).__name__) if c._STATE else None
            if states:
                try:
                    c.load_state_dict(states.pop(0))
                except ArgumentError as e:
                    raise ModelFileError(f"{os.fspath(path)}: the saved state of {type(c).__name__}: {e}") from None

    def _resume(self, path):
        """Restore a checkpoint into the model and this trainer; returns it."""
        path = check_path("resume_from", path)
        ck = io.load_checkpoint(path)
        model = self.model

        def layout(m):
            return [(type(layer).__name__, layer.W.shape if "W" in layer.param_names else None) for layer in m.layers]

        if layout(model) != layout(ck.model):
            raise fail(
                "resume_from",
                f"a checkpoint of this architecture, {model.get_config()['layers']}",
                got=f"{path!r}, which holds {ck.model.get_config()['layers']}: a different architecture",
            )
        if ck.model.dtype != model.dtype:
            raise fail(
                "resume_from",
                f"a checkpoint of a {model.dtype} model, as this one",
                got=f"{path!r}, of a {ck.model.dtype} model (build the model with dtype='{ck.model.dtype}')",
            )
        if self._default_optimizer:
            self.optimizer = ck.optimizer
        elif type(self.optimizer) is not type(ck.optimizer):
            raise fail(
                "optimizer",
                f"an optimizer of class {type(ck.optimizer).__name__}, whose state resume_from={path!r} holds",
                got=f"one of class {type(self.optimizer).__name__}",
            )
        else:
            self.optimizer.load_state_dict(ck.optimizer.state_dict())
        model.set_weights(ck.model.get_weights())
        for mine, theirs in zip(model.layers, ck.model.layers):
            if isinstance(mine, Dropout):
                mine.rng.bit_generator.state = theirs.rng.bit_generator.state
        self.history = History.from_dict({**ck.history.to_dict(), "stop_reason": None})
        if ck.rng_state is not None:
            self.rng.bit_generator.state = ck.rng_state
        return ck
