"""Tests of the training loop's behaviour (Sequential.fit): dropout, augmentation, sample and
class weights against torch, divergence (NaN), Ctrl-C, validation_split."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest
import torch
from sklearn.utils.class_weight import compute_class_weight

import mlplab as ml
from mlplab.callbacks import EarlyStopping, LambdaCallback


def _cls_data(rng, n=24, k=3, d=4):
    X = rng.normal(size=(n, d))
    y = rng.integers(0, k, size=n)
    return X, y


class Snapshots(ml.Callback):
    def on_train_begin(self, logs=None):
        self.weights = []

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append(self.model.get_weights())


# -- dropout ------------------------------------------------------------------------------------
def test_dropout_is_the_identity_at_predict_time(rng, torch_mirror):
    model = ml.MLP([4, 16, 16, 3], output="softmax", dtype="float64", seed=0, dropout=0.5)
    X = rng.normal(size=(10, 4))
    tm = torch_mirror(model).eval()  # torch's Dropout is the identity in eval mode
    with torch.no_grad():
        expected = tm(torch.tensor(X)).numpy()
    np.testing.assert_allclose(model.predict(X), expected, rtol=1e-12)
    np.testing.assert_array_equal(model.predict(X), model.predict(X))
    np.testing.assert_array_equal(model.forward(X), model.predict(X))
    y = rng.integers(0, 3, size=10)
    assert model.evaluate(X, y) == model.evaluate(X, y)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_keeps_the_expected_output_in_training(p):
    """E[Y] = X: each unit is kept with probability 1 - p and scaled by 1/(1 - p)."""
    layer = ml.Dropout(p, seed=1)
    N = 400_000
    X = np.full((N // 100, 100), 1.0)
    Y = layer.forward(X, training=True)
    # tolerance: 5 standard deviations of the sample mean; Var(Y_ij) = p / (1 - p) for X = 1
    assert abs(Y.mean() - 1.0) < 5 * np.sqrt(p / (1 - p) / N)
    assert abs((Y == 0).mean() - p) < 5 * np.sqrt(p * (1 - p) / N)
    # survivors are scaled as torch's dropout scales them
    t = torch.nn.functional.dropout(torch.ones(1000, dtype=torch.float64), p=p, training=True)
    scale = t[t != 0][0].item()
    np.testing.assert_allclose(Y[Y != 0], scale, rtol=1e-15)


def test_dropout_is_seeded_and_rejects_bad_p():
    X = np.ones((50, 20))
    a = ml.Dropout(0.5, seed=3).forward(X, training=True).copy()
    b = ml.Dropout(0.5, seed=3).forward(X, training=True).copy()
    c = ml.Dropout(0.5, seed=4).forward(X, training=True).copy()
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()
    for p in (-0.1, 1.0, float("nan"), "0.5", True):
        with pytest.raises(ValueError, match="p must"):
            ml.Dropout(p)


def test_backprop_through_dropout_matches_torch_with_the_same_mask(rng, assert_rel):
    model = ml.MLP([4, 8, 8, 3], activation="tanh", output="softmax", dtype="float64", seed=2, dropout=0.4)
    X, y = _cls_data(rng, n=12)
    J = model.loss_and_grad(X, y)
    masks = [layer.mask.copy() for layer in model.layers if isinstance(layer, ml.Dropout)]
    assert all((m == 0).any() for m in masks), "dropout must be active in loss_and_grad"
    # torch: the same network with each Dropout replaced by multiplication by its mask
    dense = [layer for layer in model.layers if isinstance(layer, ml.Dense)]
    Ws = [torch.tensor(layer.W, requires_grad=True) for layer in dense]
    bs = [torch.tensor(layer.b, requires_grad=True) for layer in dense]
    A = torch.tensor(X)
    for i in range(2):
        A = torch.tanh(A @ Ws[i] + bs[i]) * torch.tensor(masks[i])
    Jt = torch.nn.functional.cross_entropy(A @ Ws[2] + bs[2], torch.tensor(y))
    Jt.backward()
    assert_rel(J, Jt.item(), 1e-12, "J")
    for layer, W, b in zip(dense, Ws, bs):
        assert_rel(layer.dW, W.grad.numpy(), 1e-12, "dW")
        assert_rel(layer.db, b.grad.numpy(), 1e-12, "db")


def test_fit_with_dropout_is_reproducible_and_validates_without_dropout(rng):
    X, y = _cls_data(rng, n=40)
    Xv, yv = _cls_data(rng, n=15)

    def run():
        m = ml.MLP([4, 16, 3], output="softmax", dtype="float64", seed=5, dropout=0.5)
        h = m.fit(X, y, epochs=4, batch_size=8, seed=1, verbose=0, validation_data=(Xv, yv))
        return m, h

    m1, h1 = run()
    m2, h2 = run()
    np.testing.assert_array_equal(m1.get_weights(), m2.get_weights())
    assert h1.history == h2.history
    assert h1["val_loss"][-1] == m1.evaluate(Xv, yv)["loss"]  # no dropout on validation data


# -- augmentation ---------------------------------------------------------------------------------
class SpyAugmenter:
    """Records every batch it is given and returns a perturbed copy."""

    def __init__(self):
        self.batches, self.rngs = [], []

    def __call__(self, X, rng):
        self.batches.append(np.array(X, copy=True))
        self.rngs.append(rng)
        return X + 0.3 * rng.standard_normal(X.shape)


def _rows_in(A, B):
    """Which rows of A appear (exactly) among the rows of B."""
    return np.array([(np.abs(B - a).max(axis=1) == 0).any() for a in A])


@pytest.mark.parametrize("how", ["validation_data", "validation_split"])
def test_augmentation_touches_training_batches_only(how, rng):
    X, y = _cls_data(rng, n=40)
    Xv, yv = _cls_data(rng, n=16)
    spy = SpyAugmenter()
    trainers = []
    grab = LambdaCallback(on_train_begin=lambda logs: trainers.append(grab.trainer))
    m = ml.MLP([4, 8, 3], output="softmax", dtype="float64", seed=0)
    if how == "validation_data":
        h = m.fit(
            X, y, epochs=3, batch_size=16, seed=0, verbose=0, augment=spy, validation_data=(Xv, yv), callbacks=[grab]
        )
        Xtr = X
    else:
        X_all, y_all = np.vstack([X, Xv]), np.concatenate([y, yv])
        h = m.fit(
            X_all,
            y_all,
            epochs=3,
            batch_size=16,
            seed=0,
            verbose=0,
            augment=spy,
            validation_split=16 / 56,
            callbacks=[grab],
        )
        Xtr = X
    seen = np.vstack(spy.batches)
    assert seen.shape[0] == 3 * 40  # every training row once per epoch, nothing else
    assert _rows_in(seen, Xtr).all() and not _rows_in(seen, Xv).any()
    assert all(r is trainers[0].rng for r in spy.rngs)  # fit's seeded generator drives the augmenter
    # validation loss is that of the untouched validation data
    assert h["val_loss"][-1] == m.evaluate(Xv, yv)["loss"]
    n_calls = len(spy.batches)
    m.predict(Xv)
    m.evaluate(Xv, yv)
    m.predict_classes(Xv)
    assert len(spy.batches) == n_calls  # never at predict time


def test_augmentation_changes_what_is_trained_on(rng):
    X, y = _cls_data(rng, n=32)

    def run(augment):
        m = ml.MLP([4, 8, 3], output="softmax", dtype="float64", seed=0)
        m.fit(X, y, epochs=2, batch_size=8, seed=0, verbose=0, augment=augment)
        return m.get_weights()

    # an augmenter that returns an untouched copy and draws nothing changes nothing
    np.testing.assert_array_equal(run(None), run(lambda Xb, rng: Xb.copy()))
    assert not np.array_equal(run(None), run(SpyAugmenter()))
    with pytest.raises(TypeError, match="augment"):
        ml.MLP([4, 3]).fit(X, y, augment="shift", verbose=0)
    with pytest.raises(
        ValueError,
        match=r"augment must be a function returning an array of the batch's shape \(32, 4\), "
        r"got an array of shape \(32, 2\)",
    ):
        ml.MLP([4, 3], output="softmax").fit(X, y, augment=lambda Xb, rng: Xb[:, :2], verbose=0)


def test_augment_module_augmenters_plug_into_fit():
    X, y = ml.datasets.load_digits()
    X, y = X[:64], y[:64]
    aug = ml.augment.Compose([ml.augment.RandomShift(1), ml.augment.RandomRotation(10)])
    m = ml.MLP([64, 16, 10], output="softmax", seed=0)
    h = m.fit(X, y, epochs=2, batch_size=16, seed=0, verbose=0, augment=aug)
    assert len(h) == 2 and np.isfinite(h["loss"]).all()


# -- sample and class weights -------------------------------------------------------------------------
def _one_full_batch_step(model, X, y, lr, **kw):
    h = model.fit(X, y, optimizer=ml.optim.SGD(lr=lr), epochs=1, batch_size=None, shuffle=False, verbose=0, **kw)
    return h["loss"][0]


def _torch_step(tm, J, lr):
    J.backward()
    with torch.no_grad():
        for p in tm.parameters():
            p -= lr * p.grad


def _assert_same_weights(model, tm, assert_rel):
    lin = [m for m in tm if isinstance(m, torch.nn.Linear)]
    dense = [layer for layer in model.layers if isinstance(layer, ml.Dense)]
    for layer, t in zip(dense, lin):
        assert_rel(layer.W, t.weight.detach().numpy().T, 1e-10, "W")
        assert_rel(layer.b, t.bias.detach().numpy(), 1e-10, "b")


def test_sample_weight_full_batch_step_matches_torch(rng, torch_mirror, assert_rel):
    model = ml.MLP([4, 6, 3], activation="tanh", output="softmax", dtype="float64", seed=1)
    X, y = _cls_data(rng, n=20)
    w = rng.uniform(0.1, 3.0, size=20)
    tm = torch_mirror(model)
    per = torch.nn.functional.cross_entropy(tm[:-1](torch.tensor(X)), torch.tensor(y), reduction="none")
    Jt = (torch.tensor(w) * per).sum() / w.sum()
    _torch_step(tm, Jt, 0.5)
    J = _one_full_batch_step(model, X, y, 0.5, sample_weight=w)
    assert J == pytest.approx(Jt.item(), rel=1e-12)
    _assert_same_weights(model, tm, assert_rel)


def test_class_weight_full_batch_step_matches_torch(rng, torch_mirror, assert_rel):
    model = ml.MLP([4, 6, 3], activation="tanh", output="softmax", dtype="float64", seed=1)
    X, y = _cls_data(rng, n=20)
    cw = {0: 0.5, 1: 2.0, 2: 1.25}
    tm = torch_mirror(model)
    # torch's weighted cross entropy: sum_i c_{y_i} loss_i / sum_i c_{y_i}
    Jt = torch.nn.CrossEntropyLoss(weight=torch.tensor([cw[0], cw[1], cw[2]], dtype=torch.float64))(
        tm[:-1](torch.tensor(X)), torch.tensor(y)
    )
    _torch_step(tm, Jt, 0.5)
    J = _one_full_batch_step(model, X, y, 0.5, class_weight=cw)
    assert J == pytest.approx(Jt.item(), rel=1e-12)
    _assert_same_weights(model, tm, assert_rel)


def test_class_and_sample_weight_multiply_binary(rng, torch_mirror, assert_rel):
    model = ml.MLP([4, 6, 1], activation="tanh", output="sigmoid", dtype="float64", seed=1)
    X = rng.normal(size=(20, 4))
    y = rng.integers(0, 2, size=20)
    w = rng.uniform(0.1, 3.0, size=20)
    cw = {0: 3.0, 1: 0.5}
    tm = torch_mirror(model)
    per = torch.nn.functional.binary_cross_entropy_with_logits(
        tm[:-1](torch.tensor(X))[:, 0], torch.tensor(y, dtype=torch.float64), reduction="none"
    )
    total = w * np.where(y == 1, cw[1], cw[0])
    Jt = (torch.tensor(total) * per).sum() / total.sum()
    _torch_step(tm, Jt, 0.3)
    J = _one_full_batch_step(model, X, y, 0.3, sample_weight=w, class_weight=cw)
    assert J == pytest.approx(Jt.item(), rel=1e-12)
    _assert_same_weights(model, tm, assert_rel)


def test_balanced_class_weight_is_sklearns(rng, torch_mirror, assert_rel):
    X = rng.normal(size=(30, 4))
    y = np.array([0] * 18 + [1] * 9 + [2] * 3)
    bal = compute_class_weight("balanced", classes=np.arange(3), y=y)
    m1 = ml.MLP([4, 5, 3], output="softmax", dtype="float64", seed=0)
    m2 = ml.MLP([4, 5, 3], output="softmax", dtype="float64", seed=0)
    J1 = _one_full_batch_step(m1, X, y, 0.5, class_weight="balanced")
    J2 = _one_full_batch_step(m2, X, y, 0.5, sample_weight=bal[y])
    assert J1 == J2
    np.testing.assert_array_equal(m1.get_weights(), m2.get_weights())


def test_weight_arguments_are_checked(rng):
    X, y = _cls_data(rng, n=10)
    m = ml.MLP([4, 3], output="softmax")
    with pytest.raises(ValueError, match="sample_weight"):
        m.fit(X, y, sample_weight=np.ones(9), verbose=0)
    with pytest.raises(ValueError, match="sample_weight"):
        m.fit(X, y, sample_weight=-np.ones(10), verbose=0)
    with pytest.raises(ValueError, match="class_weight"):
        m.fit(X, y, class_weight={7: 1.0}, verbose=0)
    with pytest.raises(ValueError, match="class_weight"):
        m.fit(X, y, class_weight="uniform", verbose=0)


# -- divergence ---------------------------------------------------------------------------------------
class BatchBegin(ml.Callback):
    def on_train_begin(self, logs=None):
        self.weights, self.losses = [], []

    def on_batch_begin(self, batch, logs=None):
        self.weights.append(self.model.get_weights())

    def on_batch_end(self, batch, logs=None):
        self.losses.append(logs["loss"])


def _diverging(rng):
    X = rng.normal(size=(64, 3))
    y = 100.0 * X.sum(axis=1)
    return ml.MLP([3, 16, 1], dtype="float64", seed=0), X, y


def test_nan_loss_raises_and_keeps_the_last_finite_weights(rng):
    model, X, y = _diverging(rng)
    spy = BatchBegin()
    with pytest.raises(ml.DivergenceError, match="learning rate") as info:
        model.fit(X, y, "mse", ml.optim.SGD(lr=0.5), epochs=50, batch_size=16, verbose=0, callbacks=[spy])
    losses = np.array(spy.losses)
    assert not np.isfinite(losses[-1]) and np.isfinite(losses[:-1]).all()
    # the weights the last finite loss was measured at
    np.testing.assert_array_equal(model.get_weights(), spy.weights[-2])
    assert np.isfinite(model.get_weights()).all()
    assert isinstance(info.value.history, ml.History) and "diverged" in info.value.history.stop_reason


def test_terminate_on_nan_stops_without_raising(rng):
    model, X, y = _diverging(rng)
    spy = BatchBegin()
    h = model.fit(
        X, y, "mse", ml.optim.SGD(lr=0.5), epochs=50, batch_size=16, verbose=0, callbacks=[ml.TerminateOnNaN(), spy]
    )
    assert "diverged" in h.stop_reason and h.stop_reason == model.stop_reason
    np.testing.assert_array_equal(model.get_weights(), spy.weights[-2])
    assert len(h) >= 1 and np.isfinite(h["loss"]).all()


# -- Ctrl-C -----------------------------------------------------------------------------------------------
def _interrupt_at(epoch, batch, times=1):
    state = {"epoch": -1, "batches": []}

    def on_epoch_begin(e, logs):
        state["epoch"] = e

    def on_batch_end(b, logs):
        state["batches"].append((state["epoch"], b))
        if (state["epoch"], b) == (epoch, batch):
            for _ in range(times):
                os.kill(os.getpid(), signal.SIGINT)

    return LambdaCallback(on_epoch_begin=on_epoch_begin, on_batch_end=on_batch_end), state


def test_ctrl_c_stops_after_the_batch_and_returns_the_history(rng):
    X, y = _cls_data(rng, n=40)
    m = ml.MLP([4, 8, 3], output="softmax", seed=0)
    cb, state = _interrupt_at(epoch=2, batch=1)
    before = signal.getsignal(signal.SIGINT)
    h = m.fit(X, y, epochs=20, batch_size=10, verbose=0, callbacks=[cb])
    assert isinstance(h, ml.History) and h is m.history
    assert state["batches"][-1] == (2, 1)  # nothing ran after the interrupted batch
    assert len(h) == 2 and "interrupted" in h.stop_reason  # the unfinished epoch 2 is not recorded
    assert "epoch 3, which is not recorded" in h.stop_reason
    assert signal.getsignal(signal.SIGINT) is before


def test_ctrl_c_keeps_the_best_weights_with_early_stopping(rng):
    # few noisy samples: validation loss is lowest after a couple of epochs, then rises
    X, Xv = rng.normal(size=(60, 4)), rng.normal(size=(40, 4))
    y = (X[:, 0] + rng.normal(size=60) > 0).astype(np.int64)
    yv = (Xv[:, 0] + rng.normal(size=40) > 0).astype(np.int64)
    m = ml.MLP([4, 32, 2], output="softmax", dtype="float64", seed=0)
    cb, state = _interrupt_at(epoch=12, batch=2)
    snaps = Snapshots()
    h = m.fit(
        X,
        y,
        optimizer=ml.optim.SGD(lr=0.05, momentum=0.9),
        epochs=100,
        batch_size=10,
        verbose=0,
        validation_data=(Xv, yv),
        callbacks=[cb, EarlyStopping(patience=50), snaps],
    )
    assert len(h) == 12 and "interrupted" in h.stop_reason  # epochs 0-11; the interrupted 12th is not recorded
    assert 0 < h.best_epoch == int(np.argmin(h["val_loss"])) < 12
    np.testing.assert_array_equal(m.get_weights(), snaps.weights[h.best_epoch])


def test_a_second_ctrl_c_raises_keyboard_interrupt(rng):
    X, y = _cls_data(rng, n=40)
    cb, _ = _interrupt_at(epoch=0, batch=0, times=2)
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        ml.MLP([4, 8, 3], output="softmax").fit(X, y, epochs=5, batch_size=10, verbose=0, callbacks=[cb])
    assert signal.getsignal(signal.SIGINT) is before


# -- validation_split ---------------------------------------------------------------------------------
def test_validation_split_holds_out_the_last_samples(rng):
    X, y = _cls_data(rng, n=40)
    w = rng.uniform(0.5, 2.0, size=40)

    def run(**kw):
        m = ml.MLP([4, 8, 3], output="softmax", dtype="float64", seed=0)
        return m.fit(epochs=3, batch_size=8, seed=0, verbose=0, **kw), m

    # as Keras: the last 25 % of the samples, taken before shuffling
    h1, m1 = run(X=X, y=y, sample_weight=w, validation_split=0.25)
    h2, m2 = run(X=X[:30], y=y[:30], sample_weight=w[:30], validation_data=(X[30:], y[30:], w[30:]))
    assert h1.history == h2.history
    np.testing.assert_array_equal(m1.get_weights(), m2.get_weights())


@pytest.mark.parametrize("split", [1.0, -0.1, "0.2", 0.001])
def test_validation_split_errors(split, rng):
    X, y = _cls_data(rng, n=40)
    with pytest.raises(ValueError, match="validation_split"):
        ml.MLP([4, 3], output="softmax").fit(X, y, verbose=0, validation_split=split)
