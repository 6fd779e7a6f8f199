"""Live diagnostics: what a frame's header says about how a run trains, from the library's own
objects, never measured again here.

- ``diag``: the run's ``Diagnostics`` callback (``mlplab.diagnostics``): per Dense layer, at each
  epoch's end, the gradient norm ||dJ/dW||, the update/weight ratio and the other figures
  (``MEASURES``), kept whole for the last measurement and, over time, down-sampled to at most
  ``POINTS`` measurements; and its warnings, in its own plain words.
- ``units``: per Dense layer, the dead ReLU units (indices) and each sigmoid/tanh unit's
  saturated share (``diagnostics.units`` on the callback's probe, at the same moment), which the
  page marks on the network diagram.
- ``schedule``: the learning rate per epoch, ``optimizer.lr_at(epoch=e)``, from 0 to a horizon
  past the current epoch (the schedule is a pure function of the epoch), for the curve drawn
  under the loss with a cursor at the current epoch.
- ``early``: early stopping's state (``EarlyStopping``: patience, wait, best, best_epoch,
  stopped_epoch), for the patience bar and the best epoch's marker; None without it.
"""

from __future__ import annotations

import math

import numpy as np

from ..callbacks import EarlyStopping
from ..diagnostics import MEASURES
from ..errors import ArgumentError

__all__ = ["header", "schedule_curve", "POINTS"]

POINTS = 200  # measurements over time a frame carries, at most
HORIZON = 100  # epochs of the schedule drawn past the current one, at least


def _clean(v):
    v = float(v)
    return v if math.isfinite(v) else None


def _picks(n, limit=POINTS):
    return np.unique(np.linspace(0, n - 1, min(n, limit)).round().astype(int)) if n else np.array([], dtype=int)


def diag_header(run) -> dict:
    d = run.diag
    idx = _picks(len(d.step))
    out = {
        "layers": list(d.layers),
        "activations": list(d.activations),
        "epoch": [int(d.epoch[i]) + 1 for i in idx],  # measured at the end of epoch e: after e + 1 epochs
        "warnings": [dict(w) for w in d.warnings],
        "last": None,
    }
    for name in ("grad_norm", "update_ratio"):
        rows = d[name]
        out[name] = [[_clean(v) for v in rows[i]] for i in idx]
    if d.step:
        out["last"] = {name: [_clean(v) for v in d[name][-1]] for name in MEASURES}
    return out


def units_header(run):
    if run.units is None:
        return None
    return [
        {
            "dead": None if u["dead"] is None else np.flatnonzero(u["dead"]).tolist(),
            "saturated": None if u["saturated"] is None else [float(v) for v in u["saturated"]],
        }
        for u in run.units
    ]


def schedule_curve(optimizer, epoch, epochs=0, points=POINTS) -> dict:
    """{"epoch": [e], "lr": [lr(e)]}: the learning rate of each epoch e from 0 to
    max(epoch + HORIZON, epochs) (down-sampled to ``points``); None where the schedule has no
    rate (past a one-cycle's end).

    Parameters
    ----------
    optimizer : Optimizer
        The run's optimizer; ``optimizer.lr_at(epoch=e)`` gives each rate (its schedule's, or
        its constant lr).
    epoch : int
        The current epoch (finished epochs).
    epochs : int, default 0
        The epochs the run is asked for (0: no limit); the curve reaches at least that far.
    points : int, default POINTS (200)
        The most epochs sampled, evenly spaced and rounded to whole epochs.

    Returns
    -------
    dict
        ``{"epoch": list of int, "lr": list of float or None}``, the same length.
    """
    last = max(epoch + HORIZON, epochs)
    es = np.unique(np.linspace(0, last, min(last + 1, points)).round().astype(int)).tolist()
    lrs = []
    for e in es:
        try:
            lrs.append(_clean(optimizer.lr_at(epoch=e)))
        except ArgumentError:
            lrs.append(None)
    return {"epoch": es, "lr": lrs}


def early_header(run):
    stop = next((c for c in run.trainer.callbacks.callbacks if isinstance(c, EarlyStopping)), None)
    if stop is None:
        return None
    return {
        "patience": stop.patience,
        "wait": stop.wait,
        "best": None if stop.best is None else _clean(stop.best),
        "best_epoch": stop.best_epoch,
        "stopped_epoch": stop.stopped_epoch,
        "monitor": stop.monitor,
    }


def header(run) -> dict:
    """The live diagnostics of a frame's header (see the module docstring).

    Parameters
    ----------
    run : Run
        The run drawn.

    Returns
    -------
    dict
        JSON-ready keys ``diag``, ``units`` (None before the first epoch's end),
        ``schedule`` (``schedule_curve``) and ``early`` (None without early stopping).
    """
    return {
        "diag": diag_header(run),
        "units": units_header(run),
        "schedule": schedule_curve(run.trainer.optimizer, run.epoch, run.cfg["epochs"]),
        "early": early_header(run),
    }
