"""Metrics reported during training and by ``evaluate``: ``f(P, Y) -> float`` on model
outputs P and prepared targets Y (one-hot rows for classes, as ``Loss.prepare_targets`` makes)."""

from __future__ import annotations

import numpy as np

from ._validation import lookup

__all__ = ["METRICS", "get", "classes_from_outputs"]


def classes_from_outputs(P):
    """Class index per row: argmax for several outputs, p >= 0.5 for a single output."""
    if P.shape[1] == 1:
        return (P[:, 0] >= 0.5).astype(np.int64)
    return P.argmax(axis=1)


def accuracy(P, Y):
    """Fraction of rows whose predicted class equals the target class.

    With several sigmoid outputs (multi-label), the fraction of rows with every label right."""
    return float(np.mean(classes_from_outputs(P) == classes_from_outputs(Y)))


def mse(P, Y):
    """Mean over all elements of (p - y)^2."""
    return float(np.mean((P - Y) ** 2))


def mae(P, Y):
    """Mean over all elements of |p - y|."""
    return float(np.mean(np.abs(P - Y)))


def r2(P, Y):
    """Coefficient of determination 1 - SS_res / SS_tot, averaged over outputs."""
    ss_res = ((Y - P) ** 2).sum(axis=0)
    ss_tot = ((Y - Y.mean(axis=0)) ** 2).sum(axis=0)
    return float(np.mean(1.0 - ss_res / np.where(ss_tot == 0, 1.0, ss_tot)))


METRICS = {"accuracy": accuracy, "mse": mse, "mae": mae, "r2": r2}


def get(name):
    """The metric named ``name``, or ``name`` itself if it is callable; anything else raises
    ``ArgumentError`` naming ``metric`` and listing the valid names."""
    return lookup("metric", METRICS, name)
