"""Training diagnostics: what each layer's gradients, weights, updates and activations say
about why training works or fails.

The lecture's second chapter is about why training fails: the derivative of the sigmoid
lies in [0, 1/4], so the gradient shrinks at every layer it is propagated back through (the
vanishing gradient) and the first layers of a deep sigmoid network hardly learn. This module
measures it, and its relatives, on a network while it trains. Per Dense layer l = 1 (the
first) ... L (the output layer), at a measured update::

    grad_norm           ||dJ/dW_l||_F: the gradient of that update's mini-batch, as the
                        optimizer used it (after clipping), J with its penalty if any
    weight_norm         ||W_l||_F after the update
    update_ratio        ||W_l(after) - W_l(before)||_F / ||W_l(before)||_F: how much one update
                        changes the weights (NaN when W_l was 0). About 1e-3 is the usual rule
                        of thumb (Karpathy, CS231n notes "Neural Networks Part 3")
    dead_fraction       ReLU blocks: the fraction of units whose output is 0 for every probe
                        row; they get no gradient and never learn again (NaN for other blocks)
    saturated_fraction  sigmoid and tanh blocks: the fraction of the probe's activations
                        (rows x units) within 1 % of the range's ends (sigmoid a < 0.01 or
                        a > 0.99, tanh |a| > 0.98), where f'(z) is below 4 % of its maximum
                        (Glorot and Bengio 2010, section 3); NaN for other blocks
    act_mean, act_std   mean and standard deviation of the block's output A_l over the probe
                        rows and units

The block of Dense layer l is the layer and the activation that follows it before the next
Dense layer (none on a linear output: A_l is then the layer's output Z_l). Activation
figures come from a forward pass in prediction mode (no dropout) on a fixed probe batch.

``measure(model, X, theta_before)`` takes these figures once, as the model stands (the
gradient is the one ``loss_and_grad`` left in ``flat_grads()``); ``rules(...)`` turns them into
plain-language warnings; ``mlplab.callbacks.Diagnostics`` takes them while training, records
them in the History and warns. ``mlplab.plotting.plot_diagnostics`` draws them.
"""

from __future__ import annotations

import math
import os
import sys
import warnings

import numpy as np

from ._validation import check_bool, check_int, check_real, check_X, fail
from .activations import Activation
from .backend import l2_norm
from .layers import Dense

__all__ = [
    "MEASURES",
    "THRESHOLDS",
    "MESSAGES",
    "DiagnosticsWarning",
    "blocks",
    "measure",
    "units",
    "rules",
    "DiagnosticsHooks",
]

#: the per-layer figures, in the order of the docstring
MEASURES = (
    "grad_norm",
    "weight_norm",
    "update_ratio",
    "dead_fraction",
    "saturated_fraction",
    "act_mean",
    "act_std",
)

#: when the warnings fire (see ``rules``)
THRESHOLDS = {
    "vanishing": 1e-2,  # grad_norm of the first layer / of the last layer below this
    "exploding": 1e2,  # ... above this (or a gradient norm that is not finite)
    "dead": 0.5,  # a hidden ReLU block with more than this fraction of dead units
    "saturated": 0.5,  # a hidden sigmoid or tanh block with more than this fraction saturated
    "update_large": 0.1,  # an update_ratio above this: 100 times the usual 1e-3
    "update_small": 1e-6,  # an update_ratio below this: 1000 times below it
    "plateau": 1e-3,  # the epoch loss changed by less than this, relatively, over ...
    "plateau_epochs": 5,  # ... this many epochs
    "learnt": 1e-2,  # the epoch loss below this fraction of the first epoch's: the network has learnt
    "annealed": 0.1,  # the learning rate below this fraction of the run's largest: a schedule lowered it
}

#: saturation of a block's output a: the ends of the range, within 1 % of its width
_SATURATED = {"sigmoid": lambda a: (a < 0.01) | (a > 0.99), "tanh": lambda a: np.abs(a) > 0.98}


class DiagnosticsWarning(UserWarning):
    """A pattern in the diagnostics that keeps a network from training well."""


def blocks(model) -> list:
    """[(Dense layer, the Activation after it or None)], one per Dense layer, in order.

    Parameters
    ----------
    model : Sequential
        The network.

    Returns
    -------
    list of tuple
        (Dense, Activation or None) per Dense layer, the first layer's first.
    """
    out = []
    for layer in model.layers:
        if isinstance(layer, Dense):
            out.append([layer, None])
        elif isinstance(layer, Activation) and out and out[-1][1] is None:
            out[-1][1] = layer
    return [tuple(b) for b in out]


def _name(act) -> str:
    return "linear" if act is None else act.name


def layer_names(model) -> list[str]:
    """ "1: Dense 64->32, sigmoid", ... one per block."""
    return [f"{i + 1}: Dense {d.in_features}->{d.out_features}, {_name(a)}" for i, (d, a) in enumerate(blocks(model))]


def measure(model, X=None, theta_before=None) -> dict:
    """The figures of the module docstring, for the model as it stands.

    Parameters
    ----------
    model : Sequential
        The network, as it stands: its weights, and the gradients in ``flat_grads()``.
    X : array (n, n_inputs), optional
        The probe batch of the activation figures (NaN without it).
    theta_before : array like ``model.flat_params()``, optional
        The parameters before the last update (update_ratio is NaN without it).

    Returns
    -------
    dict
        name -> float64 array of shape (L,), one value per Dense layer, for every name of
        ``MEASURES``. The gradient is read from ``model.flat_grads()``: call after
        ``loss_and_grad`` (or a training step) for it to mean anything.

    Raises
    ------
    ArgumentError
        X is not a finite 2-D real array of the model's input width.
    """
    bl = blocks(model)
    out = {name: np.full(len(bl), np.nan) for name in MEASURES}
    slots = {id(layer): (start, stop) for layer, name, start, stop in model.param_slots if name == "W"}
    for i, (dense, _) in enumerate(bl):
        out["grad_norm"][i] = l2_norm(dense.dW)
        out["weight_norm"][i] = l2_norm(dense.W)
        if theta_before is not None:
            start, stop = slots[id(dense)]
            before = np.asarray(theta_before[start:stop], dtype=np.float64)
            w0 = l2_norm(before)
            if w0 > 0:
                out["update_ratio"][i] = l2_norm(dense.W.ravel() - before) / w0
    if X is not None:
        for i, act, A in _block_outputs(model, X):
            _activation_figures(out, i, act, A)
    return out


def _block_outputs(model, X):
    """(block index, its activation's name, the block's output A) for every block, from a
    forward pass of the probe X in prediction mode."""
    bl = blocks(model)
    acts = {id(d): i for i, (d, _) in enumerate(bl)}
    ends = {id(a): i for i, (_, a) in enumerate(bl) if a is not None}
    A, current = check_X(X, model.n_inputs, model.dtype, "X"), None
    for layer in model.layers:
        A = layer.forward(A, False)
        if id(layer) in acts:
            current = acts[id(layer)]
            if bl[current][1] is not None:
                continue  # the block's output is its activation's
        elif id(layer) not in ends:
            continue
        yield current, _name(bl[current][1]), A


def units(model, X) -> list[dict]:
    """The unit-by-unit figures behind ``dead_fraction`` and ``saturated_fraction``.

    Parameters
    ----------
    model : Sequential
        The network, as it stands (a forward pass in prediction mode; nothing is changed).
    X : array (n, n_inputs)
        The probe batch, as ``measure`` takes it.

    Returns
    -------
    list of dict, one per Dense layer
        "dead": bool array (units,), True where a ReLU unit outputs 0 for every probe row
        (None for other blocks); "saturated": float64 array (units,), the fraction of the
        probe rows where a sigmoid or tanh unit is saturated (None for other blocks).
        Their means are ``measure``'s dead_fraction and saturated_fraction.

    Raises
    ------
    ArgumentError
        X is not a finite 2-D real array of the model's input width.
    """
    out = [{"dead": None, "saturated": None} for _ in blocks(model)]
    for i, act, A in _block_outputs(model, X):
        out[i]["dead"], out[i]["saturated"] = _unit_figures(act, np.asarray(A, dtype=np.float64))
    return out


def _unit_figures(act, A):
    """(dead units or None, saturated share per unit or None) of a block's output A (n, units)."""
    dead = (A <= 0).all(axis=0) if act == "relu" else None
    saturated = _SATURATED[act](A).mean(axis=0) if act in _SATURATED else None
    return dead, saturated


def _activation_figures(out, i, act, A):
    A = np.asarray(A, dtype=np.float64)
    out["act_mean"][i] = A.mean()
    out["act_std"][i] = A.std()
    dead, saturated = _unit_figures(act, A)
    if dead is not None:
        out["dead_fraction"][i] = float(dead.mean())
    elif saturated is not None:
        out["saturated_fraction"][i] = float(saturated.mean())


#: the warnings' words, filled with the figures that call for them
MESSAGES = {
    "vanishing": "vanishing gradient: the first layer's gradient norm is {r:.1e} times the last layer's ({g0:.2e} "
    "against {g1:.2e}), so the first layers hardly learn. Each sigmoid layer passes on at most 1/4 of the "
    "gradient (the lecture's vanishing gradient), a saturated tanh or sigmoid far less: use ReLU hidden units, "
    "fewer layers, or a He or Glorot initialization (and a lower learning rate if the units are saturated).",
    "exploding": "exploding gradient: the first layer's gradient norm is {r:.1e} times the last layer's ({g0:.2e} "
    "against {g1:.2e}; the largest is {top:.3g}). Lower the learning rate, clip the gradient (clip_norm=), or "
    "use a smaller initialization.",
    "dead": "dead ReLUs: {f:.0%} of layer {layer}'s units output 0 for every probe input, so they get no gradient "
    "and will not learn again. Lower the learning rate, use He initialization, or leaky_relu or elu.",
    "saturated": "saturated units: {f:.0%} of layer {layer}'s {act} outputs sit at the ends of their range, where "
    "the derivative is almost 0 and the gradient stalls. Standardize the inputs, use a smaller "
    "initialization or a lower learning rate (too large a step drives units there), or ReLU.",
    "update_large": "updates far too large: one update changes layer {layer}'s weights by {f:.0%} of their norm "
    "(about 0.1 % is usual). Lower the learning rate.",
    "update_small": "updates far too small: one update changes layer {layer}'s weights by {f:.1e} of their norm "
    "(about 1e-3 is usual). Raise the learning rate, or look for a vanishing gradient.",
    "plateau": "the training loss (J, with the penalty if any) does not move: {a:.5g} to {b:.5g} over the last {k} "
    "epochs (less than {f:.1%}). Raise the learning rate and look for vanishing gradients or dead units; or the "
    "network cannot fit more (too few units or layers); or training has converged.",
}


def rules(figures, activations, losses=(), thresholds=None, lr_fraction=1.0, start_norms=None) -> list[tuple[str, str]]:
    """The warnings that one measurement calls for, as (kind, message) pairs.

    Kinds (``MESSAGES``): "vanishing" and "exploding" (the first layer's gradient norm against
    the last's, or a norm that is not finite), "dead" and "saturated" (hidden blocks only: an
    output layer sure of its answers is saturated by design), "update_large" and
    "update_small", "plateau".

    A warning whose advice would mislead is left out: once the network has learnt (the last
    epoch loss below ``learnt`` times the first's), small gradients and updates, dead and
    saturated units are what a fitted network has, so "vanishing", "dead", "saturated" and
    "update_small" are not said; while a schedule holds the rate below ``annealed`` times its
    largest, still weights are what it is for ("update_small", "plateau"); "update_small" is a
    symptom when a vanishing gradient, dead or saturated units are named; and "update_large"
    beside "plateau" is weights hovering near 0 (a loss that does not move is not thrown about
    by its steps), which the plateau's advice covers. "update_large" measures a step against
    the larger of the weights' norm now and at the start (``start_norms``): weights that shrank
    towards 0 (no signal to fit) make any step large against themselves.

    Parameters
    ----------
    figures : dict
        name -> per-layer values (``measure``'s output).
    activations : list of str
        Each block's activation name ("relu", "sigmoid", "linear", ...).
    losses : sequence of float
        The training loss per epoch so far (for "plateau").
    thresholds : dict, optional
        Overrides of ``THRESHOLDS``.
    lr_fraction : float, default 1.0
        The learning rate of this measurement over the largest of the run so far.
    start_norms : sequence of float, optional
        Each layer's weight norm as training began (default: the current ones).

    Returns
    -------
    list of (str, str)
        (kind, message) for each kind found, at most one each, messages filled in.
    """
    th = {**THRESHOLDS, **(thresholds or {})}
    g = np.asarray(figures["grad_norm"], dtype=np.float64)
    found = {}
    if len(g) >= 2:
        r = g[0] / g[-1] if g[-1] > 0 else math.nan  # no gradient at the output: no ratio
        values = {"r": r, "g0": g[0], "g1": g[-1], "top": np.max(g)}
        if not np.isfinite(g).all() or r > th["exploding"]:
            found["exploding"] = values
        elif r < th["vanishing"]:
            found["vanishing"] = values
    hidden = len(activations) - 1
    for kind, name in (("dead", "dead_fraction"), ("saturated", "saturated_fraction")):
        over = [i for i in range(hidden) if figures[name][i] > th[kind]]
        if over:
            found[kind] = {"f": figures[name][over[0]], "layer": over[0] + 1, "act": activations[over[0]]}
    u = np.asarray(figures["update_ratio"], dtype=np.float64)
    w = np.asarray(figures["weight_norm"], dtype=np.float64)
    if start_norms is not None:  # the step against the weights' larger scale, now or at the start
        with np.errstate(invalid="ignore", divide="ignore"):
            u = u * w / np.fmax(w, np.asarray(start_norms, dtype=np.float64))
    if np.isfinite(u).any():
        for kind, i in (("update_large", int(np.nanargmax(u))), ("update_small", int(np.nanargmin(u)))):
            if (u[i] > th[kind]) if kind == "update_large" else (u[i] < th[kind]):
                found[kind] = {"f": u[i], "layer": i + 1}
    k = int(th["plateau_epochs"])
    if len(losses) > k and all(math.isfinite(v) for v in losses[-k - 1 :]):
        a, b = losses[-k - 1], losses[-1]
        if abs(b - a) <= th["plateau"] * abs(a):
            found["plateau"] = {"a": a, "b": b, "k": k, "f": th["plateau"]}
    first = losses[0] if len(losses) > 1 else math.nan
    drop = set()
    if math.isfinite(first) and math.isfinite(losses[-1]) and losses[-1] < th["learnt"] * first:
        drop |= {"vanishing", "dead", "saturated", "update_small"}
    if lr_fraction < th["annealed"]:
        drop |= {"update_small", "plateau"}
    if found.keys() & {"vanishing", "dead", "saturated"}:
        drop.add("update_small")
    if "plateau" in found:
        drop.add("update_large")
    return [(kind, MESSAGES[kind].format(**values)) for kind, values in found.items() if kind not in drop]


class DiagnosticsHooks:
    """Per-layer diagnostics of training, every epoch or every ``every`` updates, with warnings.

    ``mlplab.callbacks.Diagnostics`` is this class on the ``Callback`` base (which comes after
    this module in the import order): ``fit(..., callbacks=[Diagnostics()])``.

    The figures of ``mlplab.diagnostics`` (per Dense layer: the gradient norm ||dJ/dW||, the
    weight norm, the update/weight ratio, the fraction of dead ReLUs, the fraction of
    saturated sigmoid/tanh activations, the activations' mean and standard deviation),
    taken at the end of every epoch (from its last update) or every ``every`` updates.

    Each epoch, the History (``fit``'s return value) gets, under each name of
    ``mlplab.diagnostics.MEASURES``, one list per epoch with one value per Dense layer
    (the epoch's last measurement; None where a figure does not apply or was not taken).
    The callback keeps every measurement: ``diag["grad_norm"]`` is an array of shape
    (measurements, layers), ``diag.step`` the update count after each (1-based),
    ``diag.epoch`` its epoch (0-based), ``diag.loss`` the loss then (the update's batch
    loss with ``every``, else the epoch's), ``diag.layers`` the layers' names,
    ``diag.to_dict()`` all of it as JSON.

    When a pattern appears (``mlplab.diagnostics.rules``: vanishing or exploding gradient,
    most units dead or saturated, updates far too large or small, a loss that does not move
    over the History's epochs, restored on resume), it says so in plain words, once per kind
    and call of ``fit``: a ``DiagnosticsWarning`` (``warnings.warn``; ``warn=False`` keeps
    quiet), also kept in ``diag.warnings`` as dicts with "kind", "epoch", "step" and "message".

    Parameters
    ----------
    X : array (n, n_inputs), optional
        The probe batch of the activation figures. Default: the first ``probe_size`` inputs
        of training (the first Dense layer's inputs of the first batches, as shuffled and
        augmented).
    every : int >= 1, optional
        Measure every ``every`` updates; default once per epoch, after its last update.
    probe_size : int >= 1, default 256
        Rows of the default probe batch.
    warn : bool, default True
        Issue each warning with ``warnings.warn`` (else only keep it in ``warnings``).
    thresholds : dict, optional
        Overrides of ``mlplab.diagnostics.THRESHOLDS``.

    Raises
    ------
    ArgumentError
        An invalid X (NaN, infinity, not 2-D), ``every`` or ``probe_size`` below 1, ``warn``
        not a bool, ``thresholds`` with an unknown key or a value not a finite number >= 0
        (``plateau_epochs`` an int >= 1); when training begins, an X of another width than
        the model's input.
    """

    def __init__(self, X=None, every=None, probe_size=256, warn=True, thresholds=None):
        self.X = None if X is None else check_X(X, name="X")
        self.every = None if every is None else check_int("every", every, 1)
        self.probe_size = check_int("probe_size", probe_size, 1)
        self.warn = check_bool("warn", warn)
        if thresholds is not None and (not isinstance(thresholds, dict) or not set(thresholds) <= set(THRESHOLDS)):
            raise fail("thresholds", f"None or a dict with keys from {sorted(THRESHOLDS)}", thresholds)
        self.thresholds = {k: check_real(f"thresholds[{k!r}]", v, 0) for k, v in (thresholds or {}).items()}
        if "plateau_epochs" in self.thresholds:
            self.thresholds["plateau_epochs"] = check_int(
                "thresholds['plateau_epochs']", thresholds["plateau_epochs"], 1
            )
        self._reset()

    def _reset(self):
        self.layers, self.activations = [], []
        self.step, self.epoch, self.loss, self.warnings = [], [], [], []
        self._rows = {name: [] for name in MEASURES}
        self._probe, self._probe_rows = [], 0
        self._before = self._copied = self._steps = self._start_norms = None
        self._in_epoch, self._batch = 0, -1

    def _start(self):
        model = self.model
        self.layers = layer_names(model)
        self.activations = [_name(a) for _, a in blocks(model)]
        self._start_norms = [float(np.linalg.norm(dense.W)) for dense, _ in blocks(model)]  # as training begins
        if self.X is not None:
            self._probe = [check_X(self.X, model.n_inputs, model.dtype, "X")]
            self._probe_rows = self.probe_size

    # -- the data ----------------------------------------------------------------------------
    def __getitem__(self, name):
        """The figure ``name`` (one of MEASURES) as a float64 array (measurements, layers)."""
        if name not in self._rows:
            raise fail("name", f"one of {list(MEASURES)}", name)
        return np.array(self._rows[name], dtype=np.float64).reshape(len(self.step), len(self.layers))

    def to_dict(self) -> dict:
        """Every measurement as JSON-serialisable lists (NaN as None).

        Returns
        -------
        dict
            "layers", "activations", "step", "epoch", "loss", each name of ``MEASURES``
            (a list per measurement of one value per layer) and "warnings".
        """
        return {
            "layers": list(self.layers),
            "activations": list(self.activations),
            "step": list(self.step),
            "epoch": list(self.epoch),
            "loss": [_json(v) for v in self.loss],
            **{name: [[_json(v) for v in row] for row in self._rows[name]] for name in MEASURES},
            "warnings": [dict(w) for w in self.warnings],
        }

    # -- the hooks -----------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        """Start afresh: every record emptied, the layers' names taken.

        Parameters
        ----------
        logs : dict, optional
            Its "steps" (batches per epoch) tells which update ends an epoch.
        """
        self._reset()
        self._start()
        self._steps = (logs or {}).get("steps")

    def on_epoch_begin(self, epoch, logs=None):
        """Note the epoch the next measurements belong to.

        Parameters
        ----------
        epoch, logs : int and dict
            As ``Callback.on_epoch_begin`` receives them.
        """
        self._in_epoch, self._batch = epoch, -1

    def _measured(self, t) -> bool:
        """Whether the update numbered t (1-based) is measured."""
        if self.every is not None:
            return t % self.every == 0
        return self._steps is None or self._batch == self._steps - 1

    def on_batch_begin(self, batch, logs=None):
        """Before an update that will be measured, copy the weights (for update_ratio).

        Parameters
        ----------
        batch, logs : int and dict
            As ``Callback.on_batch_begin`` receives them.
        """
        self._batch = batch
        theta = self.model.flat_params()
        if self._measured(self.trainer.optimizer.t + 1):
            if self._before is None or self._before.shape != theta.shape:
                self._before = np.empty_like(theta)
            np.copyto(self._before, theta)
            self._copied = self.trainer.optimizer.t + 1

    def on_batch_end(self, batch, logs=None):
        """Collect the default probe rows; with ``every``, measure (and warn) when due.

        Parameters
        ----------
        batch, logs : int and dict
            As ``Callback.on_batch_end`` receives them; logs["loss"] is recorded.
        """
        if not self.layers:  # run_epoch or train_step without fit: no on_train_begin
            self._start()
        if self._probe_rows < self.probe_size:  # the default probe: the first training inputs
            first = blocks(self.model)[0][0]
            rows = np.array(first.X[: self.probe_size - self._probe_rows])
            self._probe.append(rows)
            self._probe_rows += rows.shape[0]
        t = self.trainer.optimizer.t
        if self.every is not None and t % self.every == 0:
            self._take(t, logs["loss"])

    def on_epoch_end(self, epoch, logs=None):
        """Without ``every``, measure (and warn); record the epoch's figures in the History.

        Parameters
        ----------
        epoch, logs : int and dict
            As ``Callback.on_epoch_end`` receives them; logs["loss"] is recorded.
        """
        if self.every is None:
            self._take(self.trainer.optimizer.t, float(logs["loss"]))
        self._record_history(epoch)

    def _take(self, t, loss):
        model = self.model
        if len(self._probe) > 1:
            self._probe = [np.concatenate(self._probe)]
        probe = self._probe[0] if self._probe else None
        before = self._before if self._copied == t else None
        figures = measure(model, probe, before)
        self.step.append(int(t))
        self.epoch.append(int(self._in_epoch))
        self.loss.append(float(loss))
        for name in MEASURES:
            self._rows[name].append([float(v) for v in figures[name]])
        seen = {w["kind"] for w in self.warnings}
        h = self.trainer.history.history
        losses = h.get("loss", [])  # restored on resume: the plateau rule goes on
        lrs = [v for v in (*h.get("lr", []), self.trainer.optimizer.last_lr) if isinstance(v, (int, float)) and v > 0]
        lr_fraction = lrs[-1] / max(lrs) if lrs else 1.0  # below 1 where a schedule lowered the rate
        start = self._start_norms
        for kind, message in rules(figures, self.activations, losses, self.thresholds, lr_fraction, start):
            if kind in seen:
                continue
            seen.add(kind)
            self.warnings.append({"kind": kind, "epoch": int(self._in_epoch), "step": int(t), "message": message})
            if self.warn:
                text = f"epoch {self._in_epoch + 1}, update {t}: {message}"
                warnings.warn(text, DiagnosticsWarning, stacklevel=_caller())

    def _record_history(self, epoch):
        h = self.trainer.history
        n = len(h.epoch)  # this epoch is already recorded: one value per epoch
        taken = bool(self.epoch) and self.epoch[-1] == epoch
        for name in MEASURES:
            values = h.history.setdefault(name, [])
            values.extend([None] * (n - 1 - len(values)))  # epochs before this callback joined
            row = self._rows[name][-1] if taken else [math.nan] * len(self.layers)
            values.append([_json(v) for v in row])


def _caller() -> int:
    """The ``stacklevel`` of warnings.warn, called from the function that calls this, that
    points at the first frame outside mlplab (the user's ``fit``)."""
    level, frame = 1, sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    return level


_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _json(v):
    return v if math.isfinite(v) else None
