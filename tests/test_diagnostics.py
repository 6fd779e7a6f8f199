"""Training diagnostics (mlplab.diagnostics and the callback mlplab.callbacks.Diagnostics).

The oracle of every per-layer figure is PyTorch, in float64, on the same network with the
same weights and data: gradient norms from autograd, the updates replayed by hand, the
activations from torch's forward pass. The lecture's claim (the vanishing gradient of a deep
sigmoid network, and its absence with ReLU) is asserted on the 8x8 digits.
"""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
import torch

import mlplab as ml
from mlplab import datasets, diagnostics, io
from mlplab.callbacks import Callback, Diagnostics
from mlplab.diagnostics import MEASURES, DiagnosticsWarning, measure, rules

TORCH_ACT = {"relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh}


def mixed_model():
    """Dense-ReLU-Dense-sigmoid-Dense-tanh-Dense-softmax in float64, with dead ReLUs (large
    negative biases on 3 of 8 units) and saturated sigmoids (large weights)."""
    rng = np.random.default_rng(0)
    layers = [
        ml.Dense(5, 8, seed=1, dtype="float64"),
        ml.ReLU(),
        ml.Dense(8, 6, seed=2, dtype="float64"),
        ml.Sigmoid(),
        ml.Dense(6, 7, seed=3, dtype="float64"),
        ml.Tanh(),
        ml.Dense(7, 3, seed=4, dtype="float64"),
        ml.Softmax(),
    ]
    model = ml.Sequential(layers)
    layers[0].b[:3] = -100.0
    layers[2].W *= 30.0
    layers[4].W += rng.normal(0, 0.1, layers[4].W.shape)
    return model


def torch_figures(weights, acts, X, y, lr, probe, reg=0.0):
    """For one full-batch SGD step from ``weights`` [(W, b)]: the gradient norms at the start,
    the weight norms and update ratios after it, and the activation figures on ``probe``
    after it, all by torch."""
    Ws = [torch.tensor(W, requires_grad=True) for W, _ in weights]
    bs = [torch.tensor(b, requires_grad=True) for _, b in weights]
    A = torch.tensor(X)
    for i, (W, b) in enumerate(zip(Ws, bs)):
        A = A @ W + b
        if i < len(Ws) - 1:
            A = TORCH_ACT[acts[i]](A)
    J = torch.nn.functional.cross_entropy(A, torch.tensor(y)) + reg / 2 * sum((W**2).sum() for W in Ws)
    J.backward()
    grad = [W.grad.norm().item() for W in Ws]
    new = [(W - lr * W.grad).detach() for W in Ws]
    newb = [(b - lr * b.grad).detach() for b in bs]
    out = {
        "grad_norm": grad,
        "weight_norm": [W.norm().item() for W in new],
        "update_ratio": [(n - W).norm().item() / W.norm().item() for n, W in zip(new, Ws)],
    }
    A = torch.tensor(probe)
    fig = {k: [] for k in ("act_mean", "act_std", "dead_fraction", "saturated_fraction")}
    for i, (W, b) in enumerate(zip(new, newb)):
        A = A @ W + b
        A = TORCH_ACT[acts[i]](A) if i < len(new) - 1 else torch.softmax(A, dim=1)
        fig["act_mean"].append(A.mean().item())
        fig["act_std"].append(A.std(unbiased=False).item())
        name = acts[i] if i < len(new) - 1 else "softmax"
        fig["dead_fraction"].append((A <= 0).all(dim=0).double().mean().item() if name == "relu" else np.nan)
        sat = {"sigmoid": (A < 0.01) | (A > 0.99), "tanh": A.abs() > 0.98}.get(name)
        fig["saturated_fraction"].append(np.nan if sat is None else sat.double().mean().item())
    out.update(fig)
    return out, [(W.numpy(), b.numpy()) for W, b in zip(new, newb)]


@pytest.mark.parametrize("reg", [0.0, 0.01])
def test_every_figure_equals_torch_on_the_same_network(reg):
    """Three full-batch SGD updates, measured after each: gradient norms (of J with its L2
    penalty when there is one), weight norms, update ratios and activation figures equal
    torch's to 1e-12 relative (the dead and saturated fractions exactly)."""
    model = mixed_model()
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(40, 5)), rng.integers(0, 3, 40)
    probe = rng.normal(size=(30, 5))
    lr = 0.5
    weights = [(layer.W.copy(), layer.b.copy()) for layer in model.layers if isinstance(layer, ml.Dense)]
    diag = Diagnostics(X=probe, warn=False)
    model.fit(
        X,
        y,
        optimizer=ml.optim.SGD(lr=lr),
        epochs=3,
        batch_size=None,
        verbose=0,
        callbacks=[diag],
        regularizer=ml.L2(reg) if reg else None,
    )
    assert diag.step == [1, 2, 3] and diag.epoch == [0, 1, 2]
    acts = ["relu", "sigmoid", "tanh"]
    for k in range(3):
        expected, weights = torch_figures(weights, acts, X, y, lr, probe, reg)
        for name in MEASURES:
            np.testing.assert_allclose(diag[name][k], expected[name], rtol=1e-12, atol=0, err_msg=name)
    assert diag["dead_fraction"][0, 0] == 3 / 8  # the three units pushed off for good
    assert diag["saturated_fraction"][0, 1] > 0.3


def test_a_mini_batch_update_is_measured_on_its_own_batch():
    """With every=1 and batches of 8 (no shuffle), the gradient norm of update t is torch's
    on the t-th batch, from the weights before it."""
    model = mixed_model()
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(24, 5)), rng.integers(0, 3, 24)
    weights = [(layer.W.copy(), layer.b.copy()) for layer in model.layers if isinstance(layer, ml.Dense)]
    diag = Diagnostics(every=1, warn=False)
    model.fit(X, y, optimizer=ml.optim.SGD(lr=0.3), epochs=1, batch_size=8, shuffle=False, verbose=0, callbacks=[diag])
    assert diag.step == [1, 2, 3]
    for k in range(3):
        B = slice(8 * k, 8 * k + 8)
        expected, weights = torch_figures(weights, ["relu", "sigmoid", "tanh"], X[B], y[B], 0.3, X[:2])
        np.testing.assert_allclose(diag["grad_norm"][k], expected["grad_norm"], rtol=1e-12)
        np.testing.assert_allclose(diag["update_ratio"][k], expected["update_ratio"], rtol=1e-12)


@pytest.fixture(scope="module")
def digits():
    X, y = datasets.load_digits()
    return datasets.train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)


def deep(activation, digits):
    """A 10-layer MLP (9 hidden layers of 32 units, softmax output) on the digits, SGD at
    lr 0.05, batches of 32, 10 epochs: (diagnostics, history, warnings emitted)."""
    Xtr, _, ytr, _ = digits
    model = ml.MLP([64] + [32] * 9 + [10], activation=activation, output="softmax", seed=0)
    diag = Diagnostics()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        h = model.fit(Xtr, ytr, optimizer=ml.optim.SGD(lr=0.05), epochs=10, seed=0, verbose=0, callbacks=[diag])
    return diag, h, [w for w in caught if issubclass(w.category, DiagnosticsWarning)]


def test_a_deep_sigmoid_network_shows_the_vanishing_gradient_and_warns(digits):
    """The lecture's claim. Measured: the first layer's gradient norm is 2e-6 to 4e-6 times
    the last layer's in every epoch (it shrinks by about 4x per layer), the loss stays at
    ln 10 = 2.30, and the warnings name the vanishing gradient."""
    diag, h, caught = deep("sigmoid", digits)
    g = diag["grad_norm"]
    assert g.shape == (10, 10)
    assert (g[:, 0] / g[:, -1] < 1e-4).all()
    assert (np.diff(np.log(g), axis=1) > 0).all()  # growing from the input side to the output
    kinds = [w["kind"] for w in diag.warnings]
    assert kinds[0] == "vanishing" and diag.warnings[0]["epoch"] == 0
    assert "update_small" not in kinds  # a symptom: its cause, the vanishing gradient, is named
    assert any("vanishing gradient" in str(w.message) for w in caught)
    assert len(caught) == len(diag.warnings)
    assert caught[0].filename == __file__  # points at the user's fit, not into mlplab
    assert abs(h["loss"][-1] - np.log(10)) < 0.05


def test_the_same_relu_network_does_not_warn(digits):
    """Same network and training with ReLU: the first layer's gradient norm is 1 to 3 times
    the last's, the loss falls from 2.07 to 0.39 (training accuracy 0.89), no warning."""
    diag, h, caught = deep("relu", digits)
    g = diag["grad_norm"]
    assert (g[:, 0] / g[:, -1] > 0.3).all()
    assert diag.warnings == [] and caught == []
    assert h["loss"][-1] < 0.5 * h["loss"][0]
    assert np.nanmax(diag["dead_fraction"]) < 0.5


def test_recorded_in_the_history_and_saved_in_a_checkpoint(tmp_path):
    X, y = datasets.circle(n=80, noise=0.1, seed=0)
    model = ml.MLP([2, 6, 5, 1], activation="relu", output="sigmoid", seed=0)
    diag = Diagnostics(warn=False)
    h = model.fit(X, y, epochs=4, verbose=0, callbacks=[diag])
    for name in MEASURES:
        assert len(h[name]) == len(h.epoch) == 4
        assert all(len(row) == 3 for row in h[name])
        np.testing.assert_array_equal(np.array(h[name], dtype=float), diag[name])  # NaN where None
    assert h["dead_fraction"][0][2] is None and h["saturated_fraction"][0][2] is not None  # sigmoid output
    assert "grad_norm" not in repr(h)
    path = io.save_checkpoint(tmp_path / "ck.mlpck", model, model.optimizer, 3, h)
    back = io.load_checkpoint(path).history
    assert back["grad_norm"] == h["grad_norm"] and back["dead_fraction"] == h["dead_fraction"]
    json.dumps(diag.to_dict(), allow_nan=False)
    d = diag.to_dict()
    assert d["layers"] == ["1: Dense 2->6, relu", "2: Dense 6->5, relu", "3: Dense 5->1, sigmoid"]
    assert d["activations"] == ["relu", "relu", "sigmoid"] and d["step"] == diag.step


def test_a_resumed_run_continues_the_history(tmp_path):
    """Three epochs with a full checkpoint, then a run resumed from it to six: the History
    holds one per-layer list per epoch, the first three as saved; the plateau rule reads the
    restored losses (a loss flat since before the checkpoint is reported at once)."""
    X, y = datasets.circle(n=80, noise=0.1, seed=0)
    path = tmp_path / "ck.mlpck"

    def fit(epochs, **kw):
        model = ml.MLP([2, 6, 1], activation="relu", output="sigmoid", seed=0)
        diag = Diagnostics(warn=False, thresholds={"plateau": 1.0, "plateau_epochs": 3})
        callbacks = [diag, ml.callbacks.ModelCheckpoint(path, save_best_only=False, save_full=True)]
        return model.fit(X, y, epochs=epochs, verbose=0, callbacks=callbacks, **kw), diag

    h3, _ = fit(3)
    h6, diag = fit(6, resume_from=path)
    assert len(h6["grad_norm"]) == len(h6.epoch) == 6 and h6["grad_norm"][:3] == h3["grad_norm"]
    assert diag.epoch == [3, 4, 5] and [w["kind"] for w in diag.warnings] == ["plateau"]
    assert diag.warnings[0]["epoch"] == 3


def test_every_k_updates_and_the_epoch_history():
    """every=5 with 4 batches an epoch: updates 5, 10, 15, 20 are measured; each epoch's
    History entry is its last measurement, an epoch without one gets None values."""
    X, y = datasets.xor(n=64, noise=0.1, seed=0)
    model = ml.MLP([2, 8, 1], activation="tanh", output="sigmoid", seed=0)
    diag = Diagnostics(every=5, warn=False)
    h = model.fit(X, y, epochs=5, batch_size=16, verbose=0, callbacks=[diag])
    assert diag.step == [5, 10, 15, 20] and diag.epoch == [1, 2, 3, 4]
    assert h["grad_norm"][0] == [None, None]
    assert h["grad_norm"][1:] == diag["grad_norm"].tolist()
    assert all(isinstance(v, float) for v in diag.loss)


def test_the_default_probe_is_the_first_training_inputs():
    """Without X, the activation figures are on the first probe_size training rows (no
    shuffle here: X[:probe_size]), as measure() gives them afterwards."""
    X, y = datasets.spiral(n=100, noise=0.1, seed=0)
    model = ml.MLP([2, 16, 16, 1], activation="relu", output="sigmoid", seed=0)
    diag = Diagnostics(probe_size=50, warn=False)
    model.fit(X, y, epochs=2, batch_size=16, shuffle=False, verbose=0, callbacks=[diag])
    after = measure(model, X[:50])
    for name in ("act_mean", "act_std", "dead_fraction"):
        np.testing.assert_array_equal(diag[name][-1], after[name])
    assert not np.array_equal(diag["act_mean"][-1], measure(model, X[50:])["act_mean"])


def test_a_source_of_unknown_length_and_run_epoch_alone():
    """A ChunkSource (no step count): the update ratio is still measured. run_epoch without
    fit: measurements every k updates, no History."""
    X, y = datasets.gaussian(n=60, noise=0.1, seed=0)
    model = ml.MLP([2, 4, 1], activation="relu", output="sigmoid", seed=0)
    source = ml.ChunkSource(lambda: iter([(X[:30], y[:30]), (X[30:], y[30:])]))
    diag = Diagnostics(warn=False)
    ml.Trainer(model, callbacks=[diag], verbose=0).fit(source, epochs=2)
    assert diag.step == [2, 4] and np.isfinite(diag["update_ratio"]).all()
    diag = Diagnostics(every=1, warn=False)
    trainer = ml.Trainer(model, callbacks=[diag], verbose=0)
    trainer.run_epoch(source)
    assert diag.step == [1, 2] and diag.layers == ["1: Dense 2->4, relu", "2: Dense 4->1, sigmoid"]


def test_it_is_a_callback_in_mlplab_callbacks():
    assert issubclass(Diagnostics, Callback) and "Diagnostics" in ml.callbacks.__all__
    assert "vanishing" in Diagnostics.__doc__


@pytest.mark.parametrize(
    "kwargs, word",
    [
        ({"every": 0}, "every"),
        ({"every": 1.5}, "every"),
        ({"probe_size": 0}, "probe_size"),
        ({"warn": 1}, "warn"),
        ({"thresholds": {"vanish": 1e-3}}, "thresholds"),
        ({"thresholds": {"vanishing": -1}}, "vanishing"),
        ({"X": [[1.0, np.nan]]}, "X"),
    ],
)
def test_bad_arguments(kwargs, word):
    with pytest.raises(ValueError, match=word):
        Diagnostics(**kwargs)


def test_a_probe_of_the_wrong_width_is_refused_naming_x():
    model = ml.MLP([2, 3, 1], output="sigmoid", seed=0)
    with pytest.raises(ValueError, match="X must be of shape"):
        model.fit(np.zeros((4, 2)), [0, 1, 0, 1], epochs=1, verbose=0, callbacks=[Diagnostics(X=np.zeros((3, 5)))])


def figures(L=3, **values):
    f = {name: np.full(L, np.nan) for name in MEASURES}
    f["grad_norm"] = np.ones(L)
    f.update({k: np.asarray(v, dtype=float) for k, v in values.items()})
    return f


@pytest.mark.parametrize(
    "values, acts, losses, kind",
    [
        ({"grad_norm": [1e-3, 0.1, 1.0]}, ["sigmoid"] * 2 + ["linear"], (), "vanishing"),
        ({"grad_norm": [300.0, 10, 1.0]}, ["relu"] * 2 + ["linear"], (), "exploding"),
        ({"grad_norm": [1.0, np.inf, 1.0]}, ["relu"] * 2 + ["linear"], (), "exploding"),
        ({"dead_fraction": [0.2, 0.6, np.nan]}, ["relu"] * 2 + ["linear"], (), "dead"),
        ({"saturated_fraction": [0.7, 0.0, np.nan]}, ["tanh"] * 2 + ["linear"], (), "saturated"),
        ({"update_ratio": [0.5, 1e-3, 1e-3]}, ["relu"] * 2 + ["linear"], (), "update_large"),
        ({"update_ratio": [1e-7, 1e-3, 1e-3]}, ["relu"] * 2 + ["linear"], (), "update_small"),
        ({}, ["relu"] * 2 + ["linear"], (2.0, 1.0, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9005), "plateau"),
    ],
)
def test_each_rule_fires_on_its_pattern_and_only_then(values, acts, losses, kind):
    found = rules(figures(**values), acts, losses)
    assert [k for k, _ in found] == [kind]
    assert len(found[0][1]) > 60  # a sentence that explains, not a code
    assert rules(figures(), acts, losses[:3]) == []


def test_rules_leave_the_output_layer_alone_and_take_thresholds():
    """An output layer sure of its answers is saturated by design; thresholds move the rules."""
    assert rules(figures(saturated_fraction=[0.0, 0.0, 1.0]), ["tanh", "tanh", "sigmoid"]) == []
    f = figures(grad_norm=[0.05, 0.5, 1.0])
    assert rules(f, ["relu"] * 3) == []
    assert [k for k, _ in rules(f, ["relu"] * 3, thresholds={"vanishing": 0.1})] == ["vanishing"]


def test_measure_without_probe_or_previous_weights_gives_nan_there():
    model = ml.MLP([3, 4, 2], activation="relu", output="softmax", seed=0)
    f = measure(model)
    assert np.isnan(f["update_ratio"]).all() and np.isnan(f["act_mean"]).all()
    assert (f["weight_norm"] > 0).all() and (f["grad_norm"] == 0).all()  # no gradient computed yet
    assert diagnostics.layer_names(model) == ["1: Dense 3->4, relu", "2: Dense 4->2, softmax"]


def test_units_are_the_unit_by_unit_figures_behind_the_fractions():
    model = mixed_model()  # dead ReLUs 0..2 (bias -100), saturated sigmoids (weights x 30)
    probe = np.random.default_rng(1).normal(size=(64, 5))
    per_unit = diagnostics.units(model, probe)
    figures = measure(model, probe)
    # the oracle: torch's forward pass on the same weights, unit by unit
    A = torch.tensor(probe)
    dense = [layer for layer in model.layers if isinstance(layer, ml.Dense)]
    for i, (d, act) in enumerate(zip(dense, ["relu", "sigmoid", "tanh", "softmax"])):
        A = A @ torch.tensor(d.W) + torch.tensor(d.b)
        A = torch.softmax(A, dim=1) if act == "softmax" else TORCH_ACT[act](A)
        dead, sat = per_unit[i]["dead"], per_unit[i]["saturated"]
        if act == "relu":
            assert dead.tolist() == (A <= 0).all(dim=0).tolist() and dead[:3].all() and sat is None
            assert dead.mean() == figures["dead_fraction"][i]
        elif act in ("sigmoid", "tanh"):
            torch_sat = {"sigmoid": (A < 0.01) | (A > 0.99), "tanh": A.abs() > 0.98}[act].double().mean(dim=0)
            np.testing.assert_allclose(sat, torch_sat.numpy(), rtol=0, atol=1e-12)
            assert dead is None and sat.mean() == figures["saturated_fraction"][i]
        else:
            assert dead is None and sat is None
    assert per_unit[1]["saturated"].mean() > 0.5  # the large weights saturate the sigmoid layer


def _figures(**given):
    """One measurement of a 3-block network (2 hidden tanh blocks), healthy unless ``given``."""
    base = {
        "grad_norm": [1.0, 1.0, 1.0],
        "weight_norm": [1.0, 1.0, 1.0],
        "update_ratio": [1e-3, 1e-3, 1e-3],
        "dead_fraction": [math.nan] * 3,
        "saturated_fraction": [0.0, 0.0, math.nan],
    }
    return {**base, **given}


def _kinds(figures, losses=(), **kw):
    return [kind for kind, _ in rules(figures, ["tanh", "tanh", "sigmoid"], losses, **kw)]


def test_rules_leave_out_advice_that_would_mislead():
    """Each rule alone, then beside what makes its advice wrong (a new student's trial of the
    playground: 'use ReLU' on a fitted ReLU network, 'raise the learning rate' under a cosine
    schedule's tail, both 'too small' and 'vanishing' for one cause)."""
    vanishing = _figures(grad_norm=[1e-4, 1e-2, 1.0])
    assert _kinds(vanishing, [1.0, 0.5]) == ["vanishing"]
    assert _kinds(vanishing, [1.0, 0.005]) == []  # learnt: the loss fell 200-fold, its gradients are small
    small = _figures(update_ratio=[1e-7, 1e-3, 1e-3])
    assert _kinds(small) == ["update_small"]
    assert _kinds(small, lr_fraction=0.05) == []  # a schedule lowered the rate on purpose
    assert _kinds(small, lr_fraction=0.5) == ["update_small"]
    saturated = _figures(update_ratio=[1e-7, 1e-3, 1e-3], saturated_fraction=[0.9, 0.0, math.nan])
    assert _kinds(saturated) == ["saturated"]  # update_small is its symptom
    flat = [0.7, 0.69, 0.69, 0.69, 0.69, 0.69, 0.69]
    assert "plateau" in _kinds(_figures(), flat) and "plateau" not in _kinds(_figures(), flat, lr_fraction=0.01)
    large = _figures(update_ratio=[0.5, 1e-3, 1e-3], weight_norm=[0.05, 1.0, 1.0])
    assert _kinds(large) == ["update_large"]
    assert _kinds(large, flat) == ["plateau"]  # weights hovering near 0 under a loss that does not move
    # a step of 0.5 x 0.05 against weights that started at 1.0: 2.5 %, not far too large
    assert _kinds(large, start_norms=[1.0, 1.0, 1.0]) == []
    assert _kinds(large, start_norms=[0.01, 1.0, 1.0]) == ["update_large"]
