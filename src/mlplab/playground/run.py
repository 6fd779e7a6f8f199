"""One training run of the playground: its data, its network, and ``Trainer.fit``'s loop cut
into pieces that fit between two frames.

``Run.advance(k)`` makes up to k updates, each ``Trainer.train_step`` on the next mini-batch
of the epoch's ``ArraySource.batches(trainer.rng)``; an epoch's end does what ``Trainer.fit``
does after ``run_epoch``: the test loss (fit's ``val_loss``), the History, the epoch callbacks
(early stopping). Before the first epoch, ``optimizer.epoch`` and the epoch callbacks are set
as fit sets them. So a run of E epochs has, bit for bit, the weights of
``Trainer(model, loss, optimizer, ..., seed=seed).fit(source, E, validation=test)`` built from
the same configuration, which is what the exported script runs. A weight edited on the page
(only between epochs) splits the run into fits: ``fit`` up to the edit, the edit, then
``fit(..., initial_epoch=e)``; the run ends and begins the callbacks there as those calls do.

The losses the page draws are those of the whole training and test sets after each epoch
(``model.evaluate``), as TF Playground draws them; the History and the callbacks get fit's
logs (the epoch's mean mini-batch loss, ``val_loss``, ``lr``). Every run has a
``Diagnostics`` callback (``run.diag``, probing the first ``PROBE_ROWS`` training inputs) and
calls the batch callbacks around each update as ``run_epoch`` does; ``run.units`` holds the
unit-by-unit figures (``diagnostics.units``) taken with the callback's at each epoch's end.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from .. import diagnostics
from .._validation import check_int
from ..backend import blas_threads
from ..batches import ArraySource
from ..callbacks import Diagnostics
from ..errors import ArgumentError, DivergenceError
from ..layers import Dense
from ..metrics import classes_from_outputs
from ..training import Trainer
from . import spec
from .data import features, generate, split

__all__ = ["Data", "make_data", "Run", "explain_divergence", "PROBE_ROWS"]

PROBE_ROWS = 256  # the Diagnostics callback's probe: the first training inputs


@dataclass
class Data:
    """A data set split for training: points in TF Playground's units, labels or targets.

    ``pool`` (X, y before the split) and ``added`` (points clicked on the page, always
    training points) are kept for custom data, whose script embeds them. A dataclass: each
    field is an argument of the constructor and an attribute.

    Parameters
    ----------
    X_train : ndarray of float64, shape (n_train, 2)
        The training points (x1, x2), before the input features are taken.
    y_train : ndarray, shape (n_train,)
        Their class labels 0 .. K-1 (int64) or regression targets (float64).
    X_test, y_test : ndarray, shapes (n_test, 2) and (n_test,)
        The test points, as the training ones.
    n_classes : int
        K; 2 for regression too (one output).
    custom : bool, default False
        Whether the points are the user's (a CSV or an imported set) rather than a generator's.
    pool : tuple of (ndarray, ndarray) or None, default None
        (X, y) before the split (``make_data`` always sets it).
    added : list of (float, float, label), default []
        Points clicked on the page, included in ``X_train`` / ``y_train``.
    version : int, default 0
        Counts the data's changes, so the page knows when to draw the points again.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    n_classes: int  # 2 for regression too (one output)
    custom: bool = False
    pool: tuple | None = None
    added: list = field(default_factory=list)
    version: int = 0


def make_data(cfg, pool=None, added=(), version=0) -> Data:
    """The data of ``cfg``: its generator's points, or the custom ``pool`` (X, y), split as TF
    Playground splits (``percTrainData``, shuffled with the seed); ``added`` points
    ((x1, x2, label) clicked on the page) join the training set.

    Parameters
    ----------
    cfg : dict
        A configuration checked by ``spec.check_config`` (its noise in percent).
    pool : tuple of (ndarray, ndarray) or None, default None
        Custom (X, y), X of shape (n, 2); None draws the configuration's generator.
    added : sequence of (x1, x2, label), default ()
        Points added on the page, appended to the training set.
    version : int, default 0
        Stored as ``Data.version``.

    Returns
    -------
    Data
        ``n_classes`` is 2 for regression, else 1 + the largest label (at least 2).
    """
    seed = spec.seed_value(cfg["seed"])
    if pool is None:
        name = cfg["dataset"] if cfg["problem"] == "classification" else cfg["regDataset"]
        X, y = generate(name, spec.n_points(cfg), cfg["noise"] / 100, seed, spec.n_classes(cfg))
    else:
        X, y = pool
    X_train, y_train, X_test, y_test = split(X, y, cfg["percTrainData"], seed)
    if added:
        A = np.array(added, dtype=np.float64)
        X_train = np.concatenate([X_train, A[:, :2]])
        y_train = np.concatenate([y_train, A[:, 2].astype(y_train.dtype)])
    regression = cfg["problem"] == "regression"
    k = 2 if regression else int(max(y.max(), y_train.max())) + 1
    return Data(X_train, y_train, X_test, y_test, max(k, 2), pool is not None, (X, y), list(added), version)


def explain_divergence(message, lr, epoch) -> str:
    """The engine's DivergenceError message, preceded by what happened in plain words.

    Parameters
    ----------
    message : str
        The engine's message.
    lr : float
        The learning rate of the last update.
    epoch : int
        The epoch under way, counted from 0 (the text counts from 1).

    Returns
    -------
    str
        The explanation: the learning rate's overshoot, what to try, then "Engine: " message.
    """
    return (
        f"Training diverged during epoch {epoch + 1}: the loss stopped being a number (it overflowed to "
        f"infinity or NaN). Each update moves the weights by the learning rate times the gradient; with a "
        f"learning rate of {lr:g} the steps overshoot the minimum and land ever further away, until the "
        f"numbers overflow. The network is kept at its last weights with a finite loss. Try a learning "
        f"rate 3 to 10 times smaller, gradient clipping (clip_norm), or Adam. Engine: {message}"
    )


class _Confusion:
    """A metric for ``evaluate`` (f(P, Y) -> accuracy) that keeps the confusion matrix
    (rows: true class, columns: predicted) of the outputs it was given."""

    __name__ = "accuracy"

    def __init__(self, k):
        self.k, self.matrix = k, None

    def __call__(self, P, Y):
        pred, true = classes_from_outputs(P), classes_from_outputs(Y)
        self.matrix = np.bincount(true * self.k + pred, minlength=self.k**2).reshape(self.k, self.k).tolist()
        return float(np.mean(pred == true))


class Run:
    """One model trained on one data set with one configuration.

    Parameters
    ----------
    cfg : dict
        A configuration checked by ``spec.check_config``.
    data : Data
        The split data set (``make_data``).
    model : Sequential, optional
        An imported model (its layers replace the configuration's network); a copy is kept
        so that a reset goes back to it.
    run_id : str, default "main"
        The name of the run in the protocol's frames ("main").
    """

    def __init__(self, cfg, data, model=None, run_id="main"):
        self.id, self.cfg, self.data = run_id, cfg, data
        self.names = spec.feature_names(cfg)
        self.F_train = features(data.X_train, self.names)
        self.F_test = features(data.X_test, self.names)
        self.imported = model is not None
        self.model = model if model is not None else spec.build_model(cfg, len(self.names), data.n_classes)
        self.initial = self.model.get_weights()
        self.kind = spec.problem_kind(cfg, data.n_classes)
        if self.kind == "binary" and self.model.n_outputs > 1:  # an imported softmax over two classes
            self.kind = "multiclass"
        self.loss = spec.loss_for(self.kind, cfg["loss"])
        self.Y_train, self.Y_test = self.targets(data.y_train), self.targets(data.y_test)
        self.batch_size = min(cfg["batchSize"], len(data.y_train))
        self.seed = spec.seed_value(cfg["seed"])
        self.probe = self.F_train[:PROBE_ROWS]
        self.diag = Diagnostics(X=self.probe, warn=False)
        self.units = None  # diagnostics.units at the last epoch's end
        self.on_batch = None  # f(X_B, Y_B), called before each update (the step-through's trace)
        self.trainer = Trainer(
            self.model,
            self.loss,
            spec.build_optimizer(cfg),
            regularizer=spec.build_regularizer(cfg),
            callbacks=[*spec.build_callbacks(cfg), self.diag],
            verbose=0,
            seed=self.seed,
        )
        self.source = ArraySource(self.F_train, self.Y_train, batch_size=self.batch_size).bind(
            self.model, self.trainer.loss
        )
        widest = max(L.W.size for L in self.dense_layers())
        self._flops = 2.0 * self.batch_size * widest  # of the largest matrix product of a step
        self.epoch = 0  # finished epochs
        self.batch = 0  # updates made in the epoch under way
        self._J = self._rows = 0.0  # the epoch's sum of J * rows, and its rows (fit's "loss")
        self._batches = None
        self.status, self.message = "ready", None
        self.edits = []  # (epoch, dense layer, row or None for the bias, column, value)
        self.curve = {"epoch": [], "train": [], "test": []}
        self.metrics = {}
        self.ms_per_step = 0.0
        self._begin()
        self._measure()

    # -- targets and losses ----------------------------------------------------------------
    def targets(self, y):
        """y as the loss takes it: labels, or one-hot rows for mse on several classes.

        Parameters
        ----------
        y : ndarray, shape (n,)
            Labels (int) or targets.

        Returns
        -------
        ndarray
            Shape (n, K) one-hot float64 for mse on K > 2 classes; shape (n,) float64 targets
            for regression; else ``y`` itself.
        """
        if self.kind == "multiclass" and self.loss == "mse":
            return np.eye(self.data.n_classes)[y]
        return y.astype(np.float64) if self.kind == "regression" else y

    def _evaluate(self, F, Y):
        """Loss, and accuracy and confusion matrix from the same forward pass (``evaluate``)."""
        if self.kind == "regression":
            return {"loss": self.model.evaluate(F, Y, loss=self.loss, metrics=())["loss"]}
        confusion = _Confusion(self.data.n_classes)
        out = self.model.evaluate(F, Y, loss=self.loss, metrics=(confusion,))
        return {"loss": out["loss"], "accuracy": out["accuracy"], "confusion": confusion.matrix}

    def _measure(self):
        """Losses (and accuracy, confusion matrix) of the whole training and test sets."""
        with np.errstate(all="ignore"):
            self.metrics = {"train": self._evaluate(self.F_train, self.Y_train)}
            self.metrics["test"] = self._evaluate(self.F_test, self.Y_test)
        self.curve["epoch"].append(self.epoch)
        self.curve["train"].append(self.metrics["train"]["loss"])
        self.curve["test"].append(self.metrics["test"]["loss"])

    # -- the loop ----------------------------------------------------------------------------
    def _begin(self):
        """What ``Trainer.fit`` does before its first epoch."""
        model, trainer = self.model, self.trainer
        model.history, model.optimizer = trainer.history, trainer.optimizer
        model.stop_training, model.stop_reason = False, None
        trainer.callbacks.on_train_begin({"epochs": None, "steps": self.source.steps})

    @property
    def steps_per_epoch(self) -> int:
        """Updates in an epoch: ceil(n_train / batch_size) (the source's ``steps``)."""
        return self.source.steps

    @property
    def finished(self) -> bool:
        """Whether the run has ended (status "diverged", "stopped", "done" or "error")."""
        return self.status in ("diverged", "stopped", "done", "error")

    def advance(self, k) -> int:
        """Make up to ``k`` updates (fewer when the run ends), and update ``ms_per_step``
        (milliseconds per update, an exponential average with weight 0.2 on the new figure).

        Parameters
        ----------
        k : int
            The most updates to make (mini-batches, each one ``Trainer.train_step``).

        Returns
        -------
        int
            How many were made.
        """
        t0 = time.perf_counter()
        with blas_threads(self._flops):  # the engine's BLAS rule: small products on one thread
            done = self._advance(k)
        if done:
            ms = (time.perf_counter() - t0) * 1000 / done
            self.ms_per_step = ms if not self.ms_per_step else 0.8 * self.ms_per_step + 0.2 * ms
        return done

    def _advance(self, k) -> int:
        done, cb = 0, self.trainer.callbacks
        while done < k and not self.finished:
            if self._batches is None:
                self.trainer.optimizer.epoch = self.epoch
                cb.on_epoch_begin(self.epoch, {})
                self._batches = self.source.batches(self.trainer.rng)
                self._J = self._rows = 0.0
            xb, yb, wb = next(self._batches)
            m = xb.shape[0]
            if cb.batch_hooks:
                cb.on_batch_begin(self.batch, {"size": m})
            if self.on_batch is not None:
                self.on_batch(xb, yb)
            try:
                J = self.trainer.train_step(xb, yb, wb)
            except DivergenceError as e:
                self._stop("diverged", explain_divergence(str(e), self.trainer.optimizer.last_lr, self.epoch))
                break
            except ArgumentError as e:  # e.g. a schedule asked for an lr past its end
                self._stop("error", f"Training stopped at epoch {self.epoch + 1}: {e}")
                break
            self._J += J * m
            self._rows += m
            if cb.batch_hooks:
                cb.on_batch_end(self.batch, {"loss": J, "size": m})
            self.batch += 1
            done += 1
            if self.batch == self.steps_per_epoch:  # the source's last batch of the epoch
                self._end_epoch()
        return done

    def finish_epoch(self):
        """Run the epoch under way to its end (before an export or an edit)."""
        if self._batches is not None:
            self.advance(self.steps_per_epoch - self.batch)

    def _end_epoch(self):
        self._batches = None
        self.batch = 0
        epoch = self.epoch
        self.epoch += 1
        self._measure()
        train, test = self.metrics["train"]["loss"], self.metrics["test"]["loss"]
        if not (math.isfinite(train) and math.isfinite(test)):
            lr = self.trainer.optimizer.last_lr
            self._stop("diverged", explain_divergence(f"the loss is {train} after epoch {epoch + 1}", lr, epoch))
            return
        logs = {"loss": self._J / self._rows, "val_loss": test, "lr": self.trainer.optimizer.last_lr}
        self.trainer.history.record(epoch, logs)
        self.trainer.callbacks.on_epoch_end(epoch, logs)
        with np.errstate(all="ignore"):
            self.units = diagnostics.units(self.model, self.probe)
        if self.model.stop_training:
            self._stop("stopped", self.model.stop_reason.replace("val_loss", "test loss"))  # the page's name
        elif self.cfg["epochs"] and self.epoch >= self.cfg["epochs"]:
            self._stop("done", f"finished the {self.cfg['epochs']} epochs asked for")

    def _stop(self, status, message):
        self.status, self.message = status, message
        self._batches = None
        if status in ("stopped", "done"):
            self.trainer.callbacks.on_train_end({})

    # -- edits ----------------------------------------------------------------------------------
    def dense_layers(self):
        """The model's Dense layers, in order (the page's layers of weights).

        Returns
        -------
        list of Dense
            Layer i maps the activations of layer i - 1 (or the input features) to layer i's.
        """
        return [layer for layer in self.model.layers if isinstance(layer, Dense)]

    def set_weight(self, layer, row, col, value):
        """Set W[row, col] (or b[col] when row is None) of Dense layer ``layer``, between
        epochs: the callbacks end and begin again, as two ``fit`` calls would. The epoch
        under way is first run to its end; the edit is kept in ``edits`` for the script.

        Parameters
        ----------
        layer : int
            Index among ``dense_layers()``.
        row : int or None
            The input unit (W's row, in [0, in_features)), or None for the bias.
        col : int
            The output unit (W's column, in [0, out_features)).
        value : float
            The new weight.

        Raises
        ------
        ArgumentError
            For an index out of range, named "layer", "from" (row) or "to" (col).
        """
        self.finish_epoch()
        dense = self.dense_layers()
        check_int("layer", layer, 0, len(dense) - 1)
        L = dense[layer]
        check_int("to", col, 0, L.out_features - 1)
        if row is not None:
            check_int("from", row, 0, L.in_features - 1)
        self.trainer.callbacks.on_train_end({})
        if row is None:
            L.b[col] = value
        else:
            L.W[row, col] = value
        self.edits.append((self.epoch, layer, row, col, float(value)))
        self._begin()

    def layout(self) -> dict:
        """The network as the page draws it: input features, widths, activations.

        Returns
        -------
        dict
            ``inputs`` (feature names), ``widths`` and ``activations`` (one per Dense layer,
            the output's included), ``kind``, ``classes``, ``loss``, ``n_params``,
            ``steps_per_epoch``, ``imported``.
        """
        layers, widths, acts = self.model.layers, [], []
        for i, layer in enumerate(layers):
            if isinstance(layer, Dense):
                widths.append(layer.out_features)
                nxt = layers[i + 1] if i + 1 < len(layers) else None
                acts.append(getattr(nxt, "name", "identity") if nxt is not None and not nxt.param_names else "identity")
        return {
            "inputs": self.names,
            "widths": widths,
            "activations": acts,
            "kind": self.kind,
            "classes": self.data.n_classes,
            "loss": self.loss,
            "n_params": self.model.n_params,
            "steps_per_epoch": self.steps_per_epoch,
            "imported": self.imported,
        }
