"""A playground run against the engine it claims to be: ``Trainer.fit``.

The oracle is mlplab's own training loop, called by hand with the public API (the network,
the optimizer, the schedule, the penalty and early stopping written out here, not built by
the playground): a run advanced in uneven pieces, as frames cut it, must end with bit for bit
the weights of ``Trainer(...).fit(ArraySource(...), epochs, validation=test)``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import mlplab as ml
from mlplab.playground import data, spec
from mlplab.playground.run import Run, make_data


def _run(cfg):
    cfg = spec.check_config(cfg)
    return Run(cfg, make_data(cfg))


def _advance_epochs(run, epochs, pieces=(7, 1, 13, 50, 3)):
    i = 0
    while run.epoch < epochs and not run.finished:
        left = (epochs - run.epoch) * run.steps_per_epoch - run.batch
        run.advance(min(pieces[i % len(pieces)], left))
        i += 1


def _split(name, n, seed, k=2, perc=50, noise=0.0):
    X, y = data.generate(name, n=n, noise=noise, seed=seed, n_classes=k)
    return data.split(X, y, perc, seed=seed)


def test_default_run_is_trainer_fit_bit_for_bit():
    run = _run({})
    _advance_epochs(run, 12)
    Xtr, ytr, Xte, yte = _split("circle", 500, 0)
    model = ml.MLP([2, 4, 2, 1], activation="tanh", output="sigmoid", seed=0)
    trainer = ml.Trainer(model, "bce", ml.optim.SGD(lr=0.03), verbose=0, seed=0)
    history = trainer.fit(ml.ArraySource(Xtr, ytr, batch_size=10), 12, validation=(Xte, yte))
    assert np.array_equal(run.model.get_weights(), model.get_weights())
    assert run.curve["test"][1:] == history["val_loss"]  # the page's test loss is fit's val_loss
    assert run.metrics["train"]["loss"] == model.evaluate(Xtr, ytr, metrics=())["loss"]
    pred = model.predict_classes(Xte)
    assert run.metrics["test"]["accuracy"] == np.mean(pred == yte)
    assert np.trace(np.array(run.metrics["test"]["confusion"])) == np.sum(pred == yte)


def test_history_and_diagnostics_are_those_of_fit_with_the_diagnostics_callback():
    """The run's History is fit's (the epoch's mean mini-batch loss, val_loss, lr) and its
    Diagnostics callback measures what the same callback measures in fit, every figure and
    warning; ``run.units`` are the unit-by-unit figures behind the callback's fractions."""
    run = _run({"networkShape": [8, 8, 8, 8], "activation": "sigmoid", "learningRate": 0.3, "seed": "4"})
    _advance_epochs(run, 6)
    Xtr, ytr, Xte, yte = _split("circle", 500, 4)
    model = ml.MLP([2, 8, 8, 8, 8, 1], activation="sigmoid", output="sigmoid", seed=4)
    diag = ml.callbacks.Diagnostics(X=Xtr[:256], warn=False)
    trainer = ml.Trainer(model, "bce", ml.optim.SGD(lr=0.3), callbacks=[diag], verbose=0, seed=4)
    history = trainer.fit(ml.ArraySource(Xtr, ytr, batch_size=10), 6, validation=(Xte, yte))
    assert np.array_equal(run.model.get_weights(), model.get_weights())
    for key in ("loss", "val_loss", "lr"):
        assert run.trainer.history[key] == history[key]
    for name in ml.diagnostics.MEASURES:
        np.testing.assert_array_equal(run.diag[name], diag[name])
    assert run.diag.step == diag.step and run.diag.warnings == diag.warnings
    assert [w["kind"] for w in diag.warnings] == ["vanishing"]  # a deep sigmoid network
    units = ml.diagnostics.units(model, Xtr[:256])
    for mine, theirs, fraction in zip(run.units, units, diag["saturated_fraction"][-1]):
        np.testing.assert_array_equal(mine["saturated"], theirs["saturated"])
        assert mine["dead"] is None and np.isclose(mine["saturated"].mean(), fraction, rtol=0, atol=1e-15)


def test_every_option_at_once_is_trainer_fit_bit_for_bit():
    cfg = {
        "dataset": "spiral",
        "classes": 3,
        "numSamples": 600,
        "noise": 10,
        "percTrainData": 70,
        "seed": "5",
        "networkShape": [8, 6],
        "activation": ["tanh", "relu"],
        "dropout": 0.1,
        "optimizer": "adam",
        "opt": {"betas": [0.8, 0.99], "weight_decay": 0.001},
        "learningRate": 0.01,
        "schedule": "cosine",
        "sched": {"T_max": 20},
        "regularization": "elasticnet",
        "regularizationRate": 0.001,
        "l1Ratio": 0.3,
        "batchSize": 16,
        "patience": 50,
        **{name: True for name in data.FEATURES},
    }
    run = _run(cfg)
    _advance_epochs(run, 9)
    Xtr, ytr, Xte, yte = _split("spiral", 600, 5, k=3, perc=70, noise=0.1)
    Ftr, Fte = data.features(Xtr, list(data.FEATURES)), data.features(Xte, list(data.FEATURES))
    rng = np.random.default_rng(5)
    layers = [ml.Dense(7, 8, init="glorot", seed=rng), ml.Tanh(), ml.Dropout(0.1, seed=int(rng.integers(2**32)))]
    layers += [ml.Dense(8, 6, init="he", seed=rng), ml.ReLU(), ml.Dropout(0.1, seed=int(rng.integers(2**32)))]
    layers += [ml.Dense(6, 3, init="glorot", seed=rng), ml.Softmax()]
    model = ml.Sequential(layers, seed=5)
    lr = ml.schedules.CosineAnnealingLR(base_lr=0.01, T_max=20, interval="epoch")
    opt = ml.optim.Adam(lr=lr, betas=(0.8, 0.99), weight_decay=0.001)
    stop = ml.callbacks.EarlyStopping(patience=50, restore_best_weights=False)
    reg = ml.ElasticNet(0.001, r=0.3)
    trainer = ml.Trainer(model, "cross_entropy", opt, regularizer=reg, callbacks=[stop], verbose=0, seed=5)
    trainer.fit(ml.ArraySource(Ftr, ytr, batch_size=16), 9, validation=(Fte, yte))
    assert np.array_equal(run.model.get_weights(), model.get_weights())
    assert run.trainer.optimizer.last_lr == opt.last_lr < 0.01


def test_edits_between_epochs_are_two_fits_and_an_assignment():
    run = _run({"networkShape": [3], "optimizer": "sgd", "opt": {"momentum": 0.9}})
    _advance_epochs(run, 4)
    run.advance(5)  # mid-epoch: the edit finishes the epoch first
    run.set_weight(0, 1, 2, 0.75)
    run.set_weight(1, None, 0, -0.5)  # the output's bias
    _advance_epochs(run, 8)
    assert run.edits == [(5, 0, 1, 2, 0.75), (5, 1, None, 0, -0.5)]
    Xtr, ytr, Xte, yte = _split("circle", 500, 0)
    model = ml.MLP([2, 3, 1], activation="tanh", output="sigmoid", seed=0)
    trainer = ml.Trainer(model, "bce", ml.optim.SGD(lr=0.03, momentum=0.9), verbose=0, seed=0)
    source = ml.ArraySource(Xtr, ytr, batch_size=10)
    trainer.fit(source, 5, validation=(Xte, yte))
    dense = [layer for layer in model.layers if isinstance(layer, ml.Dense)]
    dense[0].W[1, 2] = 0.75
    dense[1].b[0] = -0.5
    trainer.fit(source, 8, initial_epoch=5, validation=(Xte, yte))
    assert np.array_equal(run.model.get_weights(), model.get_weights())


@pytest.mark.parametrize("loss", ["mse", "mae", "huber"])
def test_regression_run(loss):
    run = _run({"problem": "regression", "regDataset": "reg-gauss", "loss": loss, "networkShape": [6], "seed": "3"})
    _advance_epochs(run, 3)
    Xtr, ytr, Xte, yte = _split("reg-gauss", 1200, 3)
    model = ml.MLP([2, 6, 1], activation="tanh", output=None, seed=3)
    ml.Trainer(model, loss, ml.optim.SGD(lr=0.03), verbose=0, seed=3).fit(ml.ArraySource(Xtr, ytr, 10), 3)
    assert run.kind == "regression" and np.array_equal(run.model.get_weights(), model.get_weights())
    assert "accuracy" not in run.metrics["test"]


def test_mse_on_many_classes_trains_on_one_hot_rows():
    run = _run({"dataset": "gauss", "classes": 4, "loss": "mse", "seed": "2"})
    assert run.kind == "multiclass" and run.Y_train.shape == (250, 4)
    assert np.array_equal(run.Y_train.argmax(axis=1), run.data.y_train)
    _advance_epochs(run, 20)
    assert run.metrics["test"]["accuracy"] > 0.8  # 0.82 after 10 epochs, 0.996 after 50 (seed 2)


def test_divergence_stops_with_a_plain_message_and_finite_weights():
    run = _run({"problem": "regression", "learningRate": 10.0, "activation": "relu", "networkShape": [8, 8]})
    _advance_epochs(run, 50)
    assert run.status == "diverged"
    assert "learning rate of 10" in run.message and "smaller" in run.message
    assert np.isfinite(run.model.get_weights()).all()
    assert run.advance(10) == 0  # an ended run makes no update


def test_early_stopping_and_the_epoch_limit_end_the_run():
    run = _run({"patience": 1, "learningRate": 10.0, "optimizer": "adam"})
    _advance_epochs(run, 200)
    assert run.status in ("stopped", "diverged") and run.epoch < 200
    if run.status == "stopped":
        assert "early stopping" in run.message
    run = _run({"epochs": 3})
    _advance_epochs(run, 10)
    assert run.status == "done" and run.epoch == 3 and run.advance(5) == 0


def test_early_stopping_says_test_loss_as_the_page_does():
    run = _run({"patience": 2, "dataset": "circle", "noise": 50, "numSamples": 100, "networkShape": [16, 16],
                "activation": "relu", "optimizer": "adam", "learningRate": 0.03})  # fmt: skip
    _advance_epochs(run, 300)
    assert run.status == "stopped", run.message
    assert "test loss did not improve" in run.message and "val_loss" not in run.message


def test_layout_describes_the_network():
    run = _run({"networkShape": [5, 3], "activation": ["relu", "linear"], "xSquared": True})
    assert run.layout() == {
        "inputs": ["x", "y", "xSquared"],
        "widths": [5, 3, 1],
        "activations": ["relu", "identity", "sigmoid"],
        "kind": "binary",
        "classes": 2,
        "loss": "bce",
        "n_params": 3 * 5 + 5 + 5 * 3 + 3 + 3 + 1,
        "steps_per_epoch": 25,
        "imported": False,
    }
    assert math.isfinite(run.metrics["train"]["loss"])
