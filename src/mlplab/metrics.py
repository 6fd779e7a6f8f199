"""Metrics reported during training and by ``evaluate``: ``f(P, Y) -> float`` on model
outputs P and prepared targets Y (one-hot rows for classes, as ``Loss.prepare_targets`` makes)."""

from __future__ import annotations

import numpy as np

from ._validation import check_list, fail, lookup

__all__ = ["METRICS", "DEFAULT_METRICS", "get", "resolve", "classes_from_outputs", "multilabel_accuracy"]

#: fit's and evaluate's default metrics: accuracy, left out for a regression loss
DEFAULT_METRICS = ("accuracy",)


def classes_from_outputs(P):
    """Class index per row: argmax for several outputs, p >= 0.5 for a single output.

    Parameters
    ----------
    P : ndarray of shape (n, n_outputs)
        Probabilities (or one-hot or 0/1 targets).

    Returns
    -------
    ndarray of int64, shape (n,)
        The class of each row.
    """
    if P.shape[1] == 1:
        return (P[:, 0] >= 0.5).astype(np.int64)
    return P.argmax(axis=1)


def accuracy(P, Y):
    """Fraction of rows whose predicted class equals the target class (``multilabel_accuracy``
    for several sigmoid outputs)."""
    return float(np.mean(classes_from_outputs(P) == classes_from_outputs(Y)))


def multilabel_accuracy(P, Y):
    """Fraction of rows whose every label (p >= 0.5) is right.

    Parameters
    ----------
    P : ndarray of shape (n, n_labels)
        Sigmoid probabilities, one per label.
    Y : ndarray of shape (n, n_labels)
        0/1 targets.

    Returns
    -------
    float
        In [0, 1].
    """
    return float(np.mean(((P >= 0.5) == (Y >= 0.5)).all(axis=1)))


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


def get(name, argument="metric"):
    """The metric named ``name``, or ``name`` itself if it is callable.

    Parameters
    ----------
    name : str or callable
        A key of ``METRICS`` ("accuracy", "mse", "mae", "r2"), or ``f(P, Y) -> float``.
    argument : str, default "metric"
        The argument's name in the error message.

    Returns
    -------
    callable
        ``f(P, Y) -> float``.

    Raises
    ------
    ArgumentError
        ``name`` is neither callable nor a known name (the message names ``argument`` and
        lists the names), or ``argument`` is not a non-empty str.
    """
    if not isinstance(argument, str) or not argument:
        raise fail("argument", "a non-empty str, the argument's name in messages", argument)
    return lookup(argument, METRICS, name)


def resolve(metrics, loss, multilabel=False) -> dict:
    """{name: function} of ``metrics`` (names or callables) for a model trained with ``loss``:
    "accuracy" only for a classification loss (dropped from the default, refused if asked
    for), ``multilabel_accuracy`` for several sigmoid outputs.

    Parameters
    ----------
    metrics : str, sequence of (str or callable), or None
        None gives no metrics; ``DEFAULT_METRICS`` gives "accuracy" for a classification
        loss and nothing for a regression loss.
    loss : Loss
        The loss the model is trained or evaluated with.
    multilabel : bool, default False
        Several sigmoid outputs: "accuracy" then means ``multilabel_accuracy``.

    Returns
    -------
    dict
        Name -> ``f(P, Y) -> float``, in the order given.

    Raises
    ------
    ArgumentError
        ``metrics`` is a single callable or not a list, names an unknown metric
        (``metrics[i]``), or asks for "accuracy" with a regression loss.
    """
    if metrics is None:
        return {}
    if isinstance(metrics, str):
        metrics = (metrics,)
    if metrics is DEFAULT_METRICS and not loss.classification:
        return {}  # accuracy means nothing for a regression loss
    if callable(metrics):
        raise fail("metrics", "a list of metric names or functions", metrics)
    metrics = check_list("metrics", metrics, "a list of metric names or functions")
    out = {}
    for i, m in enumerate(metrics):
        m = get(m, f"metrics[{i}]")
        if m is accuracy and not loss.classification:
            raise fail(
                "metrics",
                f"metrics that apply to the loss {loss.name!r} ('accuracy' needs a classification "
                f"loss, bce or cross_entropy)",
                metrics,
            )
        name = next((k for k, f in METRICS.items() if f is m), getattr(m, "__name__", "metric"))
        out[name] = multilabel_accuracy if m is accuracy and multilabel else m
    return out
