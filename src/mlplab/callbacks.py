"""Callbacks: code that the training loop (``mlplab.training.Trainer``) calls at fixed points.

The protocol (as Keras's): ``on_train_begin(logs)``, ``on_epoch_begin(epoch, logs)``,
``on_batch_begin(batch, logs)``, ``on_batch_end(batch, logs)``, ``on_epoch_end(epoch, logs)``,
``on_train_end(logs)``. A callback sees the model as ``self.model`` and the trainer as
``self.trainer`` (its ``optimizer``, ``history``, generator ``rng`` and ``save_checkpoint``),
and stops training by setting ``self.model.stop_training = True`` (and, politely,
``self.model.stop_reason``). ``logs`` holds the numbers of the moment: batch ``loss`` and
``size``; epoch ``loss``, ``val_loss``, metrics, ``lr``.

Callbacks here: ``ProgressBar`` (``verbose``), ``TerminateOnNaN``, ``EarlyStopping``,
``ModelCheckpoint``, ``ReduceLROnPlateau``, ``LearningRateScheduler``, ``CSVLogger`` and
``LambdaCallback``. Each resets its state in ``on_train_begin``, so one instance can serve
several fits. Monitoring callbacks use Keras's names and semantics, except
``ReduceLROnPlateau``, which follows torch's. (``History`` lives in ``mlplab.history`` and
is importable from here too.) ``Diagnostics`` explains training: its figures and rules are
``mlplab.diagnostics``.
"""

from __future__ import annotations

import csv
import inspect
import math
import numbers
import os
import sys
import time

import numpy as np
from tqdm.auto import tqdm

from . import io
from ._validation import (
    check_bool,
    check_callable,
    check_choice,
    check_instance,
    check_int,
    check_path,
    check_real,
    fail,
)
from .diagnostics import DiagnosticsHooks
from .history import History

__all__ = [
    "Callback",
    "CallbackList",
    "History",
    "ProgressBar",
    "TerminateOnNaN",
    "EarlyStopping",
    "ModelCheckpoint",
    "ReduceLROnPlateau",
    "LearningRateScheduler",
    "CSVLogger",
    "LambdaCallback",
    "Diagnostics",
]


class Callback:
    """Base class: every hook does nothing. ``model`` and ``trainer`` are set by the trainer
    that runs the callback (``set_trainer``) before training begins."""

    model = None
    trainer = None

    def set_trainer(self, trainer):
        """Give the callback the trainer that runs it, and that trainer's model (done by
        ``Trainer`` when it is built).

        Parameters
        ----------
        trainer : Trainer
            Becomes ``self.trainer``; its ``model`` becomes ``self.model``.
        """
        self.trainer = trainer
        self.model = trainer.model

    def set_model(self, model):
        """Give the callback a model without a trainer.

        Parameters
        ----------
        model : Sequential
            Becomes ``self.model``.
        """
        self.model = model

    #: the attributes a resumed run needs, and the kind of each value (see ``_restore``)
    _STATE: dict[str, str] = {}

    def state_dict(self) -> dict:
        """What a resumed run needs to continue this callback exactly; a full checkpoint
        (``Trainer.save_checkpoint``) saves it: numbers, strings, lists and None, and copies
        of the model's weights as one flat array. Empty for a callback without state.

        Returns
        -------
        dict
            Attribute name -> value (weights as a copy of shape (n_params,)).
        """
        return {k: _save(kind, getattr(self, k)) for k, kind in self._STATE.items()}

    def load_state_dict(self, state: dict) -> None:
        """Continue from a ``state_dict()`` (after ``on_train_begin``, which resets it).
        Every value is checked first; a bad one raises ``ArgumentError`` naming it.

        Parameters
        ----------
        state : dict
            What ``state_dict()`` returned for a callback of this class (the one a full
            checkpoint saved).

        Raises
        ------
        ArgumentError
            Not a dict with exactly this class's keys, or a value of the wrong kind (weights
            of another size or not finite), named.
        """
        if not isinstance(state, dict) or set(state) != set(self._STATE):
            raise fail("state", f"a dict with keys {sorted(self._STATE)}", state)
        values = {k: _restore(f"state[{k!r}]", kind, state[k], self.model) for k, kind in self._STATE.items()}
        for k, v in values.items():
            setattr(self, k, v)

    def on_train_begin(self, logs=None):
        """Called once when ``fit`` starts, before the first epoch.

        Parameters
        ----------
        logs : dict, optional
            "epochs" (fit's ``epochs``) and "steps" (batches per epoch, None if unknown).
        """

    def on_train_end(self, logs=None):
        """Called once when training ends: after the last epoch, an early stop, a Ctrl-C or
        a divergence (before DivergenceError reaches the caller).

        Parameters
        ----------
        logs : dict, optional
            Empty: the run's figures are in ``self.trainer.history``.
        """

    def on_epoch_begin(self, epoch, logs=None):
        """Called at the start of each epoch.

        Parameters
        ----------
        epoch : int
            The epoch about to run, 0-based (from ``initial_epoch`` on).
        logs : dict, optional
            Empty; the epoch's figures come with ``on_epoch_end``.
        """

    def on_epoch_end(self, epoch, logs=None):
        """Called after each finished epoch, once the History has recorded it.

        Parameters
        ----------
        epoch : int
            The epoch just finished, 0-based.
        logs : dict, optional
            The epoch's "loss" (with a regularizer, "data_loss" too), metrics, "lr", and the
            validation's "val_loss" and "val_<metric>".
        """

    def on_batch_begin(self, batch, logs=None):
        """Called before each update.

        Parameters
        ----------
        batch : int
            Index of the mini-batch within its epoch, from 0.
        logs : dict, optional
            "size": the batch's rows.
        """

    def on_batch_end(self, batch, logs=None):
        """Called after each update (and once with a NaN "loss" when J is not finite).

        Parameters
        ----------
        batch : int
            The mini-batch just trained on, indexed from 0 in its epoch.
        logs : dict, optional
            "loss" (the batch's J, before the update) and "size" (its rows).
        """


def _overrides(callback, name) -> bool:
    """Whether ``callback`` does something in hook ``name`` (a method or a function set on it)."""
    return getattr(getattr(callback, name), "__func__", None) is not getattr(Callback, name)


def _save(kind, v):
    if kind == "weights?" and v is not None:
        return v.copy()
    if kind == "pairs":
        return [list(p) for p in v]
    return v


def _restore(name, kind, v, model):
    """A value of ``state_dict()`` read back, checked: kinds "int" (>= 0), "number" (not NaN,
    infinity allowed), "str", "weights" (the model's parameter count, finite), "pairs" (a
    list of [int, number]); a trailing "?" allows None."""
    if kind.endswith("?"):
        if v is None:
            return None
        kind = kind[:-1]
    if kind == "int":
        return check_int(name, v, 0)
    if kind == "number":
        if isinstance(v, numbers.Real) and not isinstance(v, bool) and not math.isnan(v):
            return float(v)
        raise fail(name, "a number (not NaN)", v)
    if kind == "str":
        return check_instance(name, v, str, "a str")
    if kind == "pairs":
        if not isinstance(v, (list, tuple)) or not all(isinstance(p, (list, tuple)) and len(p) == 2 for p in v):
            raise fail(name, "a list of [epoch, value] pairs", v)
        return [(check_int(name, e, 0), check_real(name, x, 0)) for e, x in v]
    n = model.flat_params().size  # "weights": a flat array as get_weights() gives
    a = np.asarray(v)
    if a.shape != (n,) or a.dtype.kind != "f" or not np.isfinite(a).all():
        raise fail(name, f"the model's {n} weights, finite", got=f"an array of shape {a.shape}, dtype {a.dtype}")
    return a.astype(model.dtype)


class CallbackList(Callback):
    """Calls each hook of several callbacks in order: its ``on_epoch_end(epoch, logs)`` calls
    every callback's ``on_epoch_end(epoch, logs)``, and so on for each hook of ``Callback``.

    Parameters
    ----------
    callbacks : sequence of Callback, default ()
        Called in this order.
    """

    def __init__(self, callbacks=()):
        self.callbacks = list(callbacks)
        # per hook, only the callbacks that override it: a batch hook nobody uses costs nothing
        self._hooks = {
            name: [getattr(c, name) for c in self.callbacks if _overrides(c, name)]
            for name in (
                "on_train_begin",
                "on_train_end",
                "on_epoch_begin",
                "on_epoch_end",
                "on_batch_begin",
                "on_batch_end",
            )
        }
        self.batch_hooks = bool(self._hooks["on_batch_begin"] or self._hooks["on_batch_end"])

    def set_trainer(self, trainer):
        for c in self.callbacks:
            c.set_trainer(trainer)

    def set_model(self, model):
        for c in self.callbacks:
            c.set_model(model)

    def _each(name):
        def hook(self, *args):
            for f in self._hooks[name]:
                f(*args)

        hook.__name__ = name
        return hook

    on_train_begin = _each("on_train_begin")
    on_train_end = _each("on_train_end")
    on_epoch_begin = _each("on_epoch_begin")
    on_epoch_end = _each("on_epoch_end")
    on_batch_begin = _each("on_batch_begin")
    on_batch_end = _each("on_batch_end")
    del _each


def _isatty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # no isatty, or a closed stream
        return False


class ProgressBar(Callback):
    """Progress of training, as suits where it goes (``file``, default stderr).

    verbose=1: on a terminal, a tqdm bar per epoch with the running mean loss; elsewhere (a
    pipe, a log file, CI) one line per epoch, without carriage-return frames. verbose=2: one
    line per epoch (Keras's meanings). verbose=0: silent.

    Parameters
    ----------
    verbose : {0, 1, 2}, default 1
        As above.
    file : text stream, optional
        Where to write; None: ``sys.stderr``.

    Raises
    ------
    ArgumentError
        ``verbose`` not 0, 1 or 2, or ``file`` without a ``write`` method.
    """

    def __init__(self, verbose=1, file=None):
        self.verbose = check_int("verbose", int(verbose) if isinstance(verbose, bool) else verbose, 0, 2)
        if file is not None and not callable(getattr(file, "write", None)):
            raise fail("file", "None (sys.stderr) or a text stream with a write method", file)
        self.file = file
        self.bar = None
        #: whether a live bar is drawn (verbose=1 on a terminal)
        self.live = verbose == 1 and _isatty(file or sys.stderr)
        if not self.live:  # nothing to do per batch: the trainer then calls no batch hook at all
            self.on_batch_end = super().on_batch_end

    def on_train_begin(self, logs=None):
        self.epochs = (logs or {}).get("epochs")
        self.steps = (logs or {}).get("steps")

    def on_epoch_begin(self, epoch, logs=None):
        self._sum, self._n, self._pending, self._shown = 0.0, 0, 0, time.monotonic()
        if self.live:
            self.bar = tqdm(
                total=self.steps,
                desc=f"epoch {epoch + 1}/{self.epochs}",
                unit="batch",
                leave=True,
                file=self.file or sys.stderr,
                dynamic_ncols=True,
                mininterval=0.2,
            )

    def on_batch_end(self, batch, logs=None):
        if self.bar is not None:
            size = logs.get("size", 1)
            self._sum += logs["loss"] * size
            self._n += size
            self._pending += 1
            # tqdm's update is dear next to a small training step: refresh a few times a second
            now = time.monotonic()
            if now - self._shown >= 0.1 or (self.steps is not None and batch == self.steps - 1):
                self.bar.set_postfix(loss=f"{self._sum / max(self._n, 1):.4f}", refresh=False)
                self.bar.update(self._pending)
                self._pending, self._shown = 0, now

    def on_epoch_end(self, epoch, logs=None):
        text = " ".join(f"{k}={v:.4g}" for k, v in (logs or {}).items() if isinstance(v, float))
        if self.bar is not None:
            self.bar.update(self._pending)  # the batches since the last refresh (all of them when steps is unknown)
            self._pending = 0
            self.bar.set_postfix_str(text, refresh=True)
            self.bar.close()
            self.bar = None
        elif self.verbose:
            print(f"epoch {epoch + 1}/{self.epochs} {text}", file=self.file or sys.stderr, flush=True)

    def on_train_end(self, logs=None):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class TerminateOnNaN(Callback):
    """Stop training (without raising) when the loss becomes NaN or infinite.

    Without this callback, ``fit`` raises ``DivergenceError`` instead. Either way the
    model is back at its weights of the start of the epoch in which the loss stopped being
    finite (the divergence guard of ``Trainer.fit``).
    """

    terminate_on_nan = True

    def on_batch_end(self, batch, logs=None):
        if logs is not None and not math.isfinite(logs.get("loss", 0.0)):
            self.model.stop_training = True


# -- monitored quantities ------------------------------------------------------------------
#: logged names for which larger is better (mode="auto" picks "max" for them, with or without "val_")
_HIGHER_IS_BETTER = ("accuracy", "acc", "auc", "r2", "precision", "recall", "f1")


def _resolve_mode(monitor, mode):
    if not isinstance(monitor, str) or not monitor:
        raise fail("monitor", "the name of a logged value such as 'val_loss'", monitor)
    check_choice("mode", mode, ("auto", "min", "max"))
    if mode == "auto":
        name = monitor[4:] if monitor.startswith("val_") else monitor
        mode = "max" if name in _HIGHER_IS_BETTER or name.endswith("accuracy") else "min"
    return mode


def _monitored(who, monitor, logs):
    """The value of ``monitor`` in ``logs``, or an error that lists what was logged."""
    logs = logs or {}
    if monitor not in logs:
        hint = (
            " (pass validation_data or validation_split to fit to log 'val_' values)"
            if monitor.startswith("val_")
            else ""
        )
        raise fail(f"{who} monitor", f"a value fit logs, one of {sorted(logs)}{hint}", monitor)
    return float(logs[monitor])


def _history(callback):
    """The History of the trainer running ``callback`` (None outside a trainer)."""
    return getattr(callback.trainer, "history", None)


class EarlyStopping(Callback):
    """Stop training when a monitored value has stopped improving (Keras semantics).

    After each epoch e >= ``start_from_epoch``, with v the monitored value::

        improved = v < best - min_delta   (mode "min";  v > best + min_delta for "max")
        if improved:  best <- v, best_epoch <- e, wait <- 0, keep a copy of the weights
        else:         wait <- wait + 1
        if wait >= patience and wait > 0:  stop training

    so training stops at the first epoch where ``patience`` epochs have passed without an
    improvement by more than ``min_delta``. The first epoch examined always improves (best
    starts empty), unless its value is NaN: NaN never improves (Keras would take a first NaN
    as the best and then never improve on it). At the end of training (also after Ctrl-C or
    a divergence), with ``restore_best_weights=True`` the model gets back exactly the weights
    of ``best_epoch``, so its ``monitor`` value is the best one recorded. ``best_epoch`` is
    0-based, as ``history.epoch``; it is also written to ``history.best_epoch``, and the
    reason for stopping to ``model.stop_reason``.

    Parameters
    ----------
    monitor : str, default "val_loss"
        A name fit logs: "loss", "val_loss", "accuracy", "val_accuracy", ...
    min_delta : float >= 0, default 0
        Smallest change that counts as an improvement.
    patience : int >= 0, default 10
        Epochs without improvement after which training stops.
    mode : {"auto", "min", "max"}, default "auto"
        "auto": "max" for accuracy-like names (accuracy, r2, auc...), "min" otherwise.
    restore_best_weights : bool, default True
        At the end of training, give the model back the weights of ``best_epoch``.
    start_from_epoch : int >= 0, default 0
        Epochs (0-based numbers below it) not examined at all: a warm-up.

    Attributes
    ----------
    best, best_epoch, stopped_epoch, wait

    Raises
    ------
    ArgumentError
        An argument out of its range above; at the end of an epoch, a ``monitor`` that fit
        does not log (the message lists what it logs).
    """

    def __init__(
        self, monitor="val_loss", min_delta=0.0, patience=10, mode="auto", restore_best_weights=True, start_from_epoch=0
    ):
        self.monitor = monitor
        self.mode = _resolve_mode(monitor, mode)
        self.min_delta = check_real("min_delta", min_delta, 0)
        self.patience = check_int("patience", patience, 0)
        self.restore_best_weights = check_bool("restore_best_weights", restore_best_weights)
        self.start_from_epoch = check_int("start_from_epoch", start_from_epoch, 0)
        self._reset()

    def _reset(self):
        self.best = None
        self.best_epoch = None
        self.best_weights = None
        self.stopped_epoch = None
        self.wait = 0

    _STATE = {"best": "number?", "best_epoch": "int?", "best_weights": "weights?", "stopped_epoch": "int?"}
    _STATE["wait"] = "int"

    def _improved(self, v):
        if math.isnan(v):
            return False
        if self.best is None:
            return True
        if self.mode == "min":
            return v < self.best - self.min_delta
        return v > self.best + self.min_delta

    def on_train_begin(self, logs=None):
        self._reset()

    def on_epoch_end(self, epoch, logs=None):
        v = _monitored("EarlyStopping", self.monitor, logs)
        if epoch < self.start_from_epoch:
            return
        if self.best_epoch is None:
            # the weights of the first epoch examined stand in until something improves (a NaN start)
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
        if self._improved(v):
            self.best, self.best_epoch, self.wait = v, epoch, 0
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
        else:
            self.wait += 1
        h = _history(self)
        if h is not None:
            h.best_epoch = self.best_epoch
        if self.wait >= self.patience and self.wait > 0:
            self._stop(epoch)

    def _stop(self, epoch):
        self.stopped_epoch = epoch
        self.model.stop_training = True
        best = "nan" if self.best is None else f"{self.best:.6g}"
        self.model.stop_reason = (
            f"early stopping at epoch {epoch + 1}: {self.monitor} did not improve by more than "
            f"{self.min_delta:g} for {self.patience} epoch(s); best {self.monitor} = {best} at epoch "
            f"{self.best_epoch + 1}" + (", weights restored" if self.restore_best_weights else "")
        )

    def load_state_dict(self, state):
        """As ``Callback.load_state_dict``; a state saved when this callback stopped training
        stops it again (a run resumed from there trains no further epoch).

        Parameters
        ----------
        state : dict
            A ``state_dict()`` of an EarlyStopping.

        Raises
        ------
        ArgumentError
            As ``Callback.load_state_dict``.
        """
        super().load_state_dict(state)
        if self.stopped_epoch is not None:
            self._stop(self.stopped_epoch)

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self.best_weights is not None:
            self.model.set_weights(self.best_weights)
        h = _history(self)
        if h is not None and self.best_epoch is not None:
            h.best_epoch = self.best_epoch


class ModelCheckpoint(Callback):
    """Save the model to ``filepath`` at the end of each epoch in which ``monitor`` improved.

    Improvement is strict (v < best for mode "min", v > best for "max"; NaN never improves).
    With ``save_best_only=False`` the model is saved after every epoch. The file is written
    by ``mlplab.io.save`` (architecture and weights, no pickle), or, with ``save_full=True``,
    by ``mlplab.io.save_checkpoint`` (also the optimizer state, the epoch, the History and
    the training generator, so that ``fit(resume_from=path)`` continues the run). Both write
    a temporary file in the same folder and rename it over ``filepath`` (``os.replace``):
    an interrupted save never leaves a half-written file.

    ``filepath`` may hold ``str.format`` fields filled from the epoch's logs, as Keras's:
    ``"ckpt-{epoch:03d}-{val_loss:.3f}.mlp"`` (``epoch`` 1-based).

    Parameters
    ----------
    filepath : str or path-like
        The file to write, possibly with ``str.format`` fields; missing folders are made.
    monitor : str, default "val_loss"
        A name fit logs.
    save_best_only : bool, default True
        Save only after an epoch that improved ``monitor``.
    mode : {"auto", "min", "max"}, default "auto"
        As ``EarlyStopping``'s.
    save_full : bool, default False
        Write a full checkpoint (``Trainer.save_checkpoint``) instead of the model alone.

    Attributes
    ----------
    best, best_epoch (0-based), last_saved (the path of the last file written)

    Raises
    ------
    ArgumentError
        An invalid argument; at the end of an epoch, a ``monitor`` that fit does not log
        (with ``save_best_only``), or a ``filepath`` field that is not logged; what
        ``mlplab.io.save`` refuses.
    OSError
        The file or its folder cannot be written.
    """

    def __init__(self, filepath, monitor="val_loss", save_best_only=True, mode="auto", save_full=False):
        self.filepath = check_path("filepath", filepath)
        self.monitor = monitor
        self.mode = _resolve_mode(monitor, mode)
        self.save_best_only = check_bool("save_best_only", save_best_only)
        self.save_full = check_bool("save_full", save_full)
        self.best = self.best_epoch = self.last_saved = None

    _STATE = {"best": "number?", "best_epoch": "int?", "last_saved": "str?"}

    def on_train_begin(self, logs=None):
        self.best = self.best_epoch = self.last_saved = None

    def _path(self, epoch, logs):
        try:
            return self.filepath.format(epoch=epoch + 1, **(logs or {}))
        except (KeyError, IndexError, ValueError) as e:
            raise fail(
                "ModelCheckpoint filepath",
                f"a pattern of fields fit logs, among ['epoch'] + {sorted(logs or {})}",
                got=f"{self.filepath!r} ({type(e).__name__}: {e})",
            ) from None

    def on_epoch_end(self, epoch, logs=None):
        if self.save_best_only or self.monitor in (logs or {}):
            v = _monitored("ModelCheckpoint", self.monitor, logs)
            if self.best is None:
                improved = not math.isnan(v)
            else:
                improved = v < self.best if self.mode == "min" else v > self.best
            if improved:
                self.best, self.best_epoch = v, epoch
            if self.save_best_only and not improved:
                return
        self._save(self._path(epoch, logs), epoch)

    def _save(self, path, epoch):
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)
        if self.save_full:
            self.trainer.save_checkpoint(path, epoch)
        else:
            io.save(self.model, path)
        self.last_saved = path

    def on_train_end(self, logs=None):
        h = _history(self)
        if h is not None and h.best_epoch is None and self.best_epoch is not None:
            h.best_epoch = self.best_epoch


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by ``factor`` when ``monitor`` stops improving
    (torch.optim.lr_scheduler.ReduceLROnPlateau, stepped once per epoch with the monitored value).

    After each epoch, with v the monitored value (best starts at +inf for "min", -inf for "max")::

        better = v < best * (1 - min_delta)     (mode "min", threshold_mode "rel")
                 v > best * (1 + min_delta)     (mode "max", "rel")
                 v < best - min_delta  /  v > best + min_delta     (threshold_mode "abs")
        if better: best <- v, bad <- 0   else: bad <- bad + 1
        if cooldown_counter > 0: cooldown_counter <- cooldown_counter - 1, bad <- 0
        if bad > patience:
            new_lr = max(lr * factor, min_lr);  if lr - new_lr > eps: lr <- new_lr
            cooldown_counter <- cooldown, bad <- 0

    ``min_delta`` is torch's ``threshold``. Note the reduction comes after ``patience + 1``
    bad epochs, as in torch (Keras reduces after ``patience``). The optimizer's ``lr`` must be
    a float: it is overwritten (``optimizer.lr = new_lr``) and stays so after ``fit``. A
    schedule cannot be scaled from here; training with one raises ``ArgumentError`` (a
    ValueError) when training begins.

    Parameters
    ----------
    monitor : str, default "val_loss"
        A name fit logs.
    factor : float in (0, 1), default 0.1
        The lr's multiplier at each reduction.
    patience : int >= 0, default 10
        Bad epochs tolerated; the reduction comes at the next one.
    mode : {"auto", "min", "max"}, default "auto"
        As ``EarlyStopping``'s.
    min_delta : float >= 0, default 1e-4
        torch's ``threshold``: the relative (or absolute) improvement that counts.
    cooldown : int >= 0, default 0
        Epochs after a reduction during which bad epochs are not counted.
    min_lr : float >= 0, default 0
        The lowest lr.
    threshold_mode : {"rel", "abs"}, default "rel", keyword-only
        How ``min_delta`` applies (above).
    eps : float >= 0, default 1e-8, keyword-only
        Reductions smaller than eps are ignored.

    Attributes
    ----------
    best, num_bad_epochs, cooldown_counter, reductions (list of (epoch, new_lr))

    Raises
    ------
    ArgumentError
        An argument out of its range above; when training begins, an optimizer whose lr is
        a schedule; at the end of an epoch, a ``monitor`` that fit does not log.
    """

    def __init__(
        self,
        monitor="val_loss",
        factor=0.1,
        patience=10,
        mode="auto",
        min_delta=1e-4,
        cooldown=0,
        min_lr=0.0,
        *,
        threshold_mode="rel",
        eps=1e-8,
    ):
        self.monitor = monitor
        self.mode = _resolve_mode(monitor, mode)
        self.factor = check_real("factor", factor, 0, 1, low_open=True, high_open=True)
        self.patience = check_int("patience", patience, 0)
        self.min_delta = check_real("min_delta", min_delta, 0)
        self.cooldown = check_int("cooldown", cooldown, 0)
        self.min_lr = check_real("min_lr", min_lr, 0)
        self.threshold_mode = check_choice("threshold_mode", threshold_mode, ("rel", "abs"))
        self.eps = check_real("eps", eps, 0)
        self._reset()

    def _reset(self):
        self.best = math.inf if self.mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.reductions = []

    _STATE = {"best": "number", "num_bad_epochs": "int", "cooldown_counter": "int", "reductions": "pairs"}

    def _better(self, v):
        d = self.min_delta
        if self.mode == "min":
            return v < (self.best * (1.0 - d) if self.threshold_mode == "rel" else self.best - d)
        return v > (self.best * (1.0 + d) if self.threshold_mode == "rel" else self.best + d)

    def on_train_begin(self, logs=None):
        opt = self.trainer.optimizer
        if callable(getattr(opt, "lr", None)):
            raise fail(
                "the optimizer's lr",
                "a float lr for ReduceLROnPlateau to scale (use either a schedule or ReduceLROnPlateau, not both)",
                opt.lr,
            )
        self._reset()

    def on_epoch_end(self, epoch, logs=None):
        v = _monitored("ReduceLROnPlateau", self.monitor, logs)
        if self._better(v):
            self.best, self.num_bad_epochs = v, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs during the cooldown do not count (torch)
        if self.num_bad_epochs > self.patience:
            opt = self.trainer.optimizer
            new_lr = max(opt.lr * self.factor, self.min_lr)
            if opt.lr - new_lr > self.eps:
                opt.lr = new_lr
                self.reductions.append((epoch, new_lr))
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0


class LearningRateScheduler(Callback):
    """Set the learning rate at the start of each epoch from ``schedule`` (Keras's callback).

    ``schedule(epoch) -> lr`` or ``schedule(epoch, lr) -> lr`` (epoch 0-based, lr the current
    one); a per-epoch ``mlplab.schedules`` object works as the first form. The optimizer's
    ``lr`` must be a float, and is overwritten: ``optimizer.lr = schedule(epoch, ...)``.

    Parameters
    ----------
    schedule : callable
        ``schedule(epoch)`` or ``schedule(epoch, lr)``, returning a finite lr >= 0.

    Raises
    ------
    ArgumentError
        ``schedule`` not callable; when training begins, an optimizer whose lr is a
        schedule; at the start of an epoch, a returned lr that is not a finite number >= 0.
    """

    def __init__(self, schedule):
        self.schedule = check_callable("schedule", schedule, "callable as schedule(epoch) or schedule(epoch, lr)")
        self._two_args = _accepts_two(schedule)

    def on_train_begin(self, logs=None):
        if callable(getattr(self.trainer.optimizer, "lr", None)):
            raise fail(
                "the optimizer's lr",
                "a float lr, which LearningRateScheduler sets each epoch (the optimizer already has a schedule)",
                self.trainer.optimizer.lr,
            )

    def on_epoch_begin(self, epoch, logs=None):
        opt = self.trainer.optimizer
        lr = self.schedule(epoch, opt.lr) if self._two_args else self.schedule(epoch)
        opt.lr = check_real(f"the lr LearningRateScheduler's schedule returned for epoch {epoch}", lr, 0)


def _accepts_two(f) -> bool:
    try:
        params = inspect.signature(f).parameters.values()
    except (TypeError, ValueError):  # builtins without a signature
        return False
    kinds = [p.kind for p in params]
    if inspect.Parameter.VAR_POSITIONAL in kinds:
        return True
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2


class CSVLogger(Callback):
    """Write one CSV row per epoch: ``epoch`` (0-based) and every value fit logs.

    The columns are fixed by the first epoch (or, with ``append=True``, by the header already
    in the file); a missing value is written as "NA". Each row is flushed as it is written,
    so the file is readable during training.

    Parameters
    ----------
    filename : str or path-like
        The CSV file, opened when training begins and closed when it ends.
    append : bool, default False
        Add rows to an existing file instead of overwriting it.
    separator : str, default ",", keyword-only
        One character between the columns.

    Raises
    ------
    ArgumentError
        An empty or non-path ``filename``, an ``append`` that is not a bool, a separator
        that is not one character.
    OSError
        The file cannot be opened (when training begins).
    """

    def __init__(self, filename, append=False, *, separator=","):
        self.filename = check_path("filename", filename)
        self.append = check_bool("append", append)
        if not isinstance(separator, str) or len(separator) != 1:
            raise fail("separator", "a single character", separator)
        self.separator = separator
        self._file = self._writer = None

    def on_train_begin(self, logs=None):
        self._fields = None
        if self.append and os.path.exists(self.filename) and os.path.getsize(self.filename) > 0:
            with open(self.filename, newline="") as f:
                header = next(csv.reader(f, delimiter=self.separator), None)
            self._fields = header or None
        self._file = open(self.filename, "a" if self.append else "w", newline="")
        self._writer = None

    def on_epoch_end(self, epoch, logs=None):
        row = {"epoch": epoch, **(logs or {})}
        if self._writer is None:
            new = self._fields is None
            self._fields = self._fields or list(row)
            self._writer = csv.DictWriter(
                self._file, fieldnames=self._fields, delimiter=self.separator, restval="NA", extrasaction="ignore"
            )
            if new:
                self._writer.writeheader()
        self._writer.writerow(row)
        self._file.flush()

    def on_train_end(self, logs=None):
        if self._file is not None:
            self._file.close()
        self._file = self._writer = None


class LambdaCallback(Callback):
    """A callback from plain functions: ``LambdaCallback(on_epoch_end=lambda epoch, logs: ...)``.

    Each keyword is one hook of the protocol with that hook's arguments; hooks not given do
    nothing.

    Parameters
    ----------
    **hooks
        ``on_train_begin``, ``on_train_end``, ``on_epoch_begin``, ``on_epoch_end``,
        ``on_batch_begin``, ``on_batch_end``: a function or None.

    Raises
    ------
    ArgumentError
        A keyword that is not one of these hooks, or a value that is not callable.
    """

    _HOOKS = ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end", "on_batch_begin", "on_batch_end")

    def __init__(self, **hooks):
        for name, f in hooks.items():
            check_choice("a LambdaCallback hook", name, self._HOOKS)
            if f is not None:
                setattr(self, name, check_callable(name, f))


class Diagnostics(DiagnosticsHooks, Callback):
    __doc__ = DiagnosticsHooks.__doc__
