"""Tests of mlplab.history: record / lookup / length, the JSON-serialisable copy and its inverse,
repr, the names under which History is importable, unpickling under its old module path, and the
History that ``model.fit`` returns.

The oracles: the logs handed to ``record`` (and the class docstring's contract: one value per
epoch per name, ``epoch`` the epoch numbers); ``json`` and ``pickle`` round trips compared field
by field; for ``fit``, a full-batch run on a model whose outputs are known before training, so
that epoch 0's "loss" and "accuracy" are NumPy's BCE and accuracy of the initial predictions,
epoch e's "val_loss"/"val_accuracy" on the training data are epoch e+1's "loss"/"accuracy" (the
same weights, measured after epoch e's single update), and the last "val_accuracy" is that of
the trained model's predictions.
"""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

import mlplab as ml
from mlplab import callbacks, history
from mlplab.history import History

LOGS = [
    {"loss": 0.9, "accuracy": 0.5, "lr": 0.1},
    {"loss": 0.7, "accuracy": 0.625, "lr": 0.1},
    {"loss": 0.6123456789, "accuracy": 0.75, "lr": 0.05},
]


def _filled(n=3, first_epoch=0):
    h = History()
    for i, logs in enumerate(LOGS[:n]):
        h.record(first_epoch + i, dict(logs))
    return h


def _fields(h):
    return h.history, h.epoch, h.best_epoch, h.stop_reason


def test_a_new_history_is_empty():
    h = History()
    assert h.history == {} and h.epoch == [] and h.best_epoch is None and h.stop_reason is None
    assert len(h) == 0 and "loss" not in h
    with pytest.raises(KeyError):
        h["loss"]


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("first_epoch", [0, 5])
def test_record_appends_one_value_per_epoch(n, first_epoch):
    h = _filled(n, first_epoch)
    assert len(h) == n
    assert h.epoch == list(range(first_epoch, first_epoch + n))
    for name in ("loss", "accuracy", "lr"):
        assert name in h
        assert h[name] == [logs[name] for logs in LOGS[:n]]
        assert h[name] is h.history[name]
    assert set(h.history) == {"loss", "accuracy", "lr"}
    assert "val_loss" not in h and "epoch" not in h


def test_record_keeps_the_values_as_given_and_does_not_hold_the_logs_dict():
    h = History()
    logs = {"loss": np.float64(0.5), "n": 3}
    h.record(0, logs)
    logs["loss"] = 99.0  # the caller reuses its dict
    assert h["loss"] == [0.5] and h["n"] == [3]


def test_getitem_of_a_missing_name_raises_key_error():
    h = _filled()
    with pytest.raises(KeyError):
        h["val_loss"]


def test_to_dict_is_json_serialisable_and_round_trips():
    h = _filled()
    h.best_epoch = 1
    h.stop_reason = "early stopping at epoch 3"
    d = h.to_dict()
    assert d == {
        "history": {k: list(v) for k, v in h.history.items()},
        "epoch": [0, 1, 2],
        "best_epoch": 1,
        "stop_reason": "early stopping at epoch 3",
    }
    assert json.loads(json.dumps(d)) == d
    back = History.from_dict(json.loads(json.dumps(d)))
    assert type(back) is History and _fields(back) == _fields(h)


@pytest.mark.parametrize("h", [History(), _filled(1), _filled(3, first_epoch=7)], ids=["empty", "one", "three"])
def test_from_dict_of_to_dict_is_equal_field_by_field(h):
    back = History.from_dict(h.to_dict())
    assert back.history == h.history and back.epoch == h.epoch
    assert back.best_epoch == h.best_epoch and back.stop_reason == h.stop_reason
    assert len(back) == len(h)


def test_to_dict_and_from_dict_copy_the_lists():
    h = _filled()
    d = h.to_dict()
    d["history"]["loss"].append(123.0)
    d["epoch"].append(3)
    assert h["loss"] == [0.9, 0.7, 0.6123456789] and h.epoch == [0, 1, 2]
    back = History.from_dict(h.to_dict())
    back.record(3, {"loss": 0.1})
    assert len(h) == 3 and h["loss"] == [0.9, 0.7, 0.6123456789]


def test_from_dict_of_an_empty_dict_is_an_empty_history():
    assert _fields(History.from_dict({})) == _fields(History())


def test_repr():
    assert repr(History()) == "History(epochs=0, last={}, stop_reason=None)"
    h = _filled()
    h.stop_reason = "completed 3 epochs"
    # floats are rounded to 5 decimals; other values shown as they are
    assert (
        repr(h) == "History(epochs=3, last={'loss': 0.61235, 'accuracy': 0.75, 'lr': 0.05}, "
        "stop_reason='completed 3 epochs')"
    )
    h2 = History()
    h2.record(0, {"n": 7})
    assert repr(h2) == "History(epochs=1, last={'n': 7}, stop_reason=None)"


def test_history_is_one_class_under_three_names():
    assert callbacks.History is history.History is ml.History
    assert History.__module__ == "mlplab.history"
    assert "History" in callbacks.__all__ and "History" in ml.__all__ and history.__all__ == ["History"]


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_pickle_round_trip(protocol):
    h = _filled()
    h.best_epoch, h.stop_reason = 2, "completed 3 epochs"
    back = pickle.loads(pickle.dumps(h, protocol=protocol))
    assert type(back) is History and _fields(back) == _fields(h)


# -- fit ---------------------------------------------------------------------------------------------------
def _classification(rng, n=40):
    X = rng.normal(size=(n, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(np.float64)
    return X, y


def _bce(P, y):
    P = np.asarray(P, dtype=np.float64).ravel()
    return float(-np.mean(y * np.log(P) + (1 - y) * np.log(1 - P)))


@pytest.mark.parametrize("epochs", [1, 4])
def test_fit_history_of_a_classifier(epochs, rng, dtype):
    X, y = _classification(rng)
    model = ml.MLP([2, 8, 1], activation="tanh", output="sigmoid", dtype=dtype, seed=0)
    P0 = model.predict(X)
    h = model.fit(X, y, "bce", ml.optim.SGD(lr=0.5), epochs=epochs, batch_size=len(X), verbose=0)
    assert isinstance(h, History) and model.history is h
    assert len(h) == epochs and h.epoch == list(range(epochs))
    assert set(h.history) == {"loss", "accuracy", "lr"}
    assert all(len(h[k]) == epochs for k in h.history)
    assert h["lr"] == [0.5] * epochs
    tol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(h["loss"][0], _bce(P0, y), rtol=tol)
    assert h["accuracy"][0] == np.mean((np.asarray(P0).ravel() >= 0.5) == y)
    assert json.loads(json.dumps(h.to_dict())) == h.to_dict()


@pytest.mark.parametrize("epochs", [2, 5])
def test_fit_history_with_validation_data(epochs, rng, dtype):
    X, y = _classification(rng)
    model = ml.MLP([2, 8, 1], activation="tanh", output="sigmoid", dtype=dtype, seed=0)
    h = model.fit(
        X, y, "bce", ml.optim.SGD(lr=0.5), epochs=epochs, batch_size=len(X), verbose=0, validation_data=(X, y)
    )
    assert set(h.history) == {"loss", "accuracy", "lr", "val_loss", "val_accuracy"}
    assert len(h) == epochs and all(len(h[k]) == epochs for k in h.history)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    # full batch, validation on the training data: val after epoch e is train at the start of epoch e+1
    np.testing.assert_allclose(h["val_loss"][:-1], h["loss"][1:], rtol=tol)
    assert h["val_accuracy"][:-1] == h["accuracy"][1:]
    P = np.asarray(model.predict(X)).ravel()
    np.testing.assert_allclose(h["val_loss"][-1], _bce(P, y), rtol=tol)
    assert h["val_accuracy"][-1] == np.mean((P >= 0.5) == y)
    assert json.loads(json.dumps(h.to_dict())) == h.to_dict()


def test_fit_history_of_a_regressor_has_no_accuracy(rng):
    X = rng.normal(size=(30, 3))
    y = X @ np.array([0.5, -1.0, 2.0])
    model = ml.MLP([3, 4, 1], dtype="float64", seed=0)
    P0 = model.predict(X).ravel()
    h = model.fit(X, y, "mse", ml.optim.SGD(lr=0.01), epochs=3, batch_size=len(X), verbose=0)
    assert set(h.history) == {"loss", "lr"} and len(h) == 3
    np.testing.assert_allclose(h["loss"][0], np.mean((P0 - y) ** 2), rtol=1e-12)


# -- unpickling under the old module path -------------------------------------------------------------------
def _old_path_pickle(obj, protocol, monkeypatch):
    """The bytes an older mlplab wrote for ``obj``: History named as ``mlplab.callbacks.History``."""
    with monkeypatch.context() as m:
        m.setattr(History, "__module__", "mlplab.callbacks")
        data = pickle.dumps(obj, protocol=protocol)
    assert History.__module__ == "mlplab.history"
    assert b"mlplab.callbacks" in data and b"mlplab.history" not in data  # the premise of the test
    return data


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_a_history_pickled_under_its_old_path_loads(protocol, monkeypatch):
    h = _filled()
    h.best_epoch, h.stop_reason = 1, "early stopping"
    back = pickle.loads(_old_path_pickle(h, protocol, monkeypatch))
    assert type(back) is History and _fields(back) == _fields(h)


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_an_estimator_pickled_with_the_old_history_path_loads(protocol, rng, monkeypatch):
    # a fitted model (as an estimator pickles it) holds its History as model.history
    X, y = _classification(rng, n=16)
    model = ml.MLP([2, 4, 1], output="sigmoid", dtype="float64", seed=0)
    h = model.fit(X, y, "bce", ml.optim.SGD(lr=0.1), epochs=2, verbose=0)
    estimator = {"model_": model, "history_": h, "n_iter_": len(h)}
    back = pickle.loads(_old_path_pickle(estimator, protocol, monkeypatch))
    assert type(back["history_"]) is History and _fields(back["history_"]) == _fields(h)
    assert back["model_"].history is back["history_"]  # one object, as before pickling
    np.testing.assert_array_equal(back["model_"].predict(X), model.predict(X))
