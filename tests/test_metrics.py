"""Metrics against scikit-learn's (the oracle), and their registry."""

from __future__ import annotations

import numpy as np
import pytest
import sklearn.metrics as skm

import mlplab as ml
from mlplab import metrics
from mlplab.errors import ArgumentError


@pytest.fixture
def outputs(rng):
    """Softmax-like outputs of 3 classes, their one-hot targets and the labels of both."""
    P = rng.dirichlet(np.ones(3), size=50)
    labels = rng.integers(0, 3, 50)
    return P, np.eye(3)[labels], labels


def test_accuracy_is_sklearns_for_classes_and_for_one_sigmoid_output(outputs, rng):
    P, Y, labels = outputs
    assert metrics.accuracy(P, Y) == pytest.approx(skm.accuracy_score(labels, P.argmax(1)), abs=0)
    p = rng.uniform(size=(40, 1))
    t = rng.integers(0, 2, (40, 1)).astype(float)
    assert metrics.accuracy(p, t) == pytest.approx(skm.accuracy_score(t[:, 0], p[:, 0] >= 0.5), abs=0)


def test_multilabel_accuracy_is_sklearns_subset_accuracy(rng):
    P, Y = rng.uniform(size=(30, 4)), rng.integers(0, 2, (30, 4)).astype(float)
    assert metrics.multilabel_accuracy(P, Y) == pytest.approx(skm.accuracy_score(Y, P >= 0.5), abs=0)


def test_regression_metrics_are_sklearns(rng):
    P, Y = rng.normal(size=(40, 2)), rng.normal(size=(40, 2))
    Y[:, 1] = 3.0  # a constant output: r2 counts it as 1 - SS_res / 1, not a division by zero
    assert metrics.mse(P, Y) == pytest.approx(skm.mean_squared_error(Y, P), rel=1e-12)
    assert metrics.mae(P, Y) == pytest.approx(skm.mean_absolute_error(Y, P), rel=1e-12)
    assert metrics.r2(P[:, :1], Y[:, :1]) == pytest.approx(skm.r2_score(Y[:, :1], P[:, :1]), rel=1e-12)
    ss_res = ((Y[:, 1] - P[:, 1]) ** 2).sum()
    assert metrics.r2(P, Y) == pytest.approx((skm.r2_score(Y[:, 0], P[:, 0]) + 1 - ss_res) / 2, rel=1e-12)


def test_get_and_resolve():
    assert metrics.get("mse") is metrics.mse and metrics.get(len) is len
    with pytest.raises(ArgumentError, match=r"^metric must be a callable or one of \['accuracy', 'mae', 'mse', 'r2'\]"):
        metrics.get("f1")
    ce, mse = ml.losses.get("cross_entropy"), ml.losses.get("mse")
    assert metrics.resolve(("accuracy", "mse"), ce) == {"accuracy": metrics.accuracy, "mse": metrics.mse}
    assert metrics.resolve(metrics.DEFAULT_METRICS, mse) == {}  # accuracy means nothing for regression
    assert metrics.resolve("accuracy", ml.losses.get("bce"), multilabel=True) == {
        "accuracy": metrics.multilabel_accuracy
    }
    assert metrics.resolve(None, ce) == {}
    with pytest.raises(ArgumentError, match=r"^metrics must be metrics that apply to the loss 'mse'"):
        metrics.resolve(["accuracy"], mse)
    with pytest.raises(ArgumentError, match=r"^metrics\[1\] must be a callable or one of"):
        metrics.resolve(["mse", "f1"], ce)
    for bad in (True, 3, metrics.mse, {"a": 1}):
        with pytest.raises(ArgumentError, match=r"^metrics must be a list of metric names or functions"):
            metrics.resolve(bad, ce)
