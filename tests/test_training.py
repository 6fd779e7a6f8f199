"""Tests of mlplab.training: Trainer (train_step, run_epoch, fit) and the batch sources.

Oracles: PyTorch for one training step; ``Sequential.fit`` itself for the Trainer driven by
hand (a loop written from ``loss_and_grad`` and ``optimizer.step``, ``train_step`` and
``run_epoch`` must give its weights bit for bit with the same seed); tracemalloc for the
memory of training on a ``numpy.memmap`` through ``ChunkSource``.
"""

from __future__ import annotations

import io
import math
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from toy import toy_data as _data
from toy import toy_model as _model

import mlplab as ml
from mlplab.errors import ArgumentError
from mlplab.training import ArraySource, ChunkSource, Trainer


# -- one step -------------------------------------------------------------------------------------
def test_train_step_is_one_torch_sgd_step(rng, torch_mirror, assert_rel):
    X, y = _data(rng, n=20)
    model = _model(dtype="float64")
    tm = torch_mirror(model)
    Jt = torch.nn.functional.cross_entropy(tm[:-1](torch.tensor(X)), torch.tensor(y))
    Jt.backward()
    with torch.no_grad():
        for p in tm.parameters():
            p -= 0.3 * p.grad
    trainer = Trainer(model, optimizer=ml.optim.SGD(lr=0.3), verbose=0)
    J = trainer.train_step(X, y)
    assert J == pytest.approx(Jt.item(), rel=1e-12)
    lin = [m for m in tm if isinstance(m, torch.nn.Linear)]
    for layer, t in zip([la for la in model.layers if isinstance(la, ml.Dense)], lin):
        assert_rel(layer.W, t.weight.detach().numpy().T, 1e-12, "W")
        assert_rel(layer.b, t.bias.detach().numpy(), 1e-12, "b")


def test_train_step_validates_its_arguments(rng):
    X, y = _data(rng, n=10)
    trainer = Trainer(_model(), verbose=0)
    with pytest.raises(ArgumentError, match=r"^X must be of shape \(n_samples, 4\)"):
        trainer.train_step(X[:, :3], y)
    with pytest.raises(ArgumentError, match="^X must be finite"):
        trainer.train_step(np.where(X > 1, np.nan, X), y)
    with pytest.raises(ArgumentError, match=r"^Y must be of 10 samples, as many as X, got 9 samples"):
        trainer.train_step(X, y[:9])
    with pytest.raises(ArgumentError, match=r"^w must be of shape \(10,\)"):
        trainer.train_step(X, y, np.ones(3))


def _diverging(rng):
    X = rng.normal(size=(64, 3))
    return ml.MLP([3, 16, 1], dtype="float64", seed=0), X, 100.0 * X.sum(axis=1)


def test_train_step_guard_restores_the_weights_before_the_last_update(rng):
    model, X, y = _diverging(rng)
    trainer = Trainer(model, "mse", ml.optim.SGD(lr=0.5), verbose=0)
    before = [model.get_weights()]
    with pytest.raises(ml.DivergenceError, match=r"at update \d+: training diverged") as info:
        for _ in range(200):
            trainer.train_step(X, y)
            before.append(model.get_weights())
    assert not math.isfinite(info.value.loss) and isinstance(info.value.history, ml.History)
    # the update that produced non-finite J is undone: the model holds the weights of the step before,
    # whose J was finite
    np.testing.assert_array_equal(model.get_weights(), before[-2])
    assert np.isfinite(model.get_weights()).all()


# -- a loop written by hand equals fit, bit for bit ----------------------------------------------------
def _fit_reference(X, y, make_opt, epochs, batch_size, seed):
    model = _model()
    model.fit(X, y, optimizer=make_opt(), epochs=epochs, batch_size=batch_size, seed=seed, verbose=0, metrics=None)
    return model.get_weights()


OPTIMIZERS = {
    "sgd-momentum": lambda: ml.optim.SGD(lr=0.1, momentum=0.9),
    "adam": lambda: ml.optim.Adam(lr=0.01),
    "rmsprop": lambda: ml.optim.RMSprop(lr=0.01, momentum=0.5),
}


@pytest.mark.parametrize("batch_size", [8, 10, 50])
@pytest.mark.parametrize("opt", list(OPTIMIZERS))
def test_hand_written_loop_equals_fit(opt, batch_size, rng):
    """The README's loop: the lecture's four steps written from the public API."""
    X, y = _data(rng)
    epochs, seed = 3, 7
    expected = _fit_reference(X, y, OPTIMIZERS[opt], epochs, batch_size, seed)

    model, optimizer = _model(), OPTIMIZERS[opt]()
    rng_fit = np.random.default_rng(seed)  # fit's generator: seed= seeds the shuffling
    for _ in range(epochs):
        order = rng_fit.permutation(len(X)) if batch_size < len(X) else np.arange(len(X))
        for s in range(0, len(X), batch_size):
            idx = order[s : s + batch_size]
            model.loss_and_grad(X[idx], y[idx])  # 1. forward, 2. J, 3. backward
            optimizer.step(model)  # 4. update
    np.testing.assert_array_equal(model.get_weights(), expected)

    model = _model()
    trainer = Trainer(model, optimizer=OPTIMIZERS[opt](), seed=seed, verbose=0)
    for _ in range(epochs):
        order = trainer.rng.permutation(len(X)) if batch_size < len(X) else np.arange(len(X))
        for s in range(0, len(X), batch_size):
            idx = order[s : s + batch_size]
            trainer.train_step(X[idx], y[idx])
    np.testing.assert_array_equal(model.get_weights(), expected)


def test_the_readme_loop_runs_and_equals_fit():
    """README.md's first example and its loop written by hand (which asserts equality with fit)."""
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, re.S)
    steps = next(b for b in blocks if "# 1. forward pass" in b)
    loop = next(b for b in blocks if "loss_and_grad(Xtr[B]" in b)
    namespace = {}
    exec(compile(blocks[0] + steps, "README.md", "exec"), namespace)  # noqa: S102 - our own README
    assert np.isfinite(namespace["J"])
    exec(compile(loop, "README.md", "exec"), namespace)  # noqa: S102
    assert np.array_equal(namespace["model"].get_weights(), namespace["twin"].get_weights())


def test_run_epoch_equals_an_epoch_of_fit(rng):
    X, y = _data(rng)
    Xv, yv = _data(rng, n=20)
    reference = _model()
    h = reference.fit(X, y, optimizer=ml.optim.Adam(lr=0.01), epochs=3, batch_size=16, seed=3, verbose=0)
    model = _model()
    trainer = Trainer(model, optimizer=ml.optim.Adam(lr=0.01), seed=3, verbose=0)
    source = ArraySource(X, y, batch_size=16)
    for epoch in range(3):
        logs = trainer.run_epoch(source, epoch)
        for key in ("loss", "accuracy", "lr"):
            assert logs[key] == h[key][epoch]
    np.testing.assert_array_equal(model.get_weights(), reference.get_weights())
    assert "val_loss" not in logs and h.stop_reason == "completed 3 epochs"
    assert trainer.run_epoch(ArraySource(Xv, yv, batch_size=None)) is not None


def test_run_epoch_stops_when_a_batch_callback_asks_and_clears_the_flag_next_time(rng):
    X, y = _data(rng, n=40)
    sizes = []

    def on_batch_end(b, logs):
        sizes.append(logs["size"])
        if len(sizes) == 2:
            model.stop_training = True

    model = _model()
    trainer = Trainer(model, callbacks=[ml.callbacks.LambdaCallback(on_batch_end=on_batch_end)], seed=0, verbose=0)
    source = ArraySource(X, y, batch_size=10)
    trainer.run_epoch(source)
    assert sizes == [10, 10] and model.stop_training  # stopped after the second batch; the flag tells the caller
    trainer.run_epoch(source)
    assert sizes == [10] * 6  # the next epoch starts afresh and runs its 4 batches


def test_fit_facade_equals_trainer_fit(rng):
    X, y = _data(rng, n=60)
    w = rng.uniform(0.5, 2.0, size=60)
    kw = dict(regularizer=ml.L2(1e-3), augment=lambda Xb, r: Xb + 0.01 * r.standard_normal(Xb.shape), seed=1, verbose=0)
    a = _model(dropout=0.2)
    h1 = a.fit(
        X,
        y,
        optimizer=ml.optim.SGD(lr=0.1, momentum=0.9),
        epochs=4,
        batch_size=16,
        sample_weight=w,
        class_weight="balanced",
        validation_split=0.25,
        **kw,
    )
    b = _model(dropout=0.2)
    trainer = Trainer(b, optimizer=ml.optim.SGD(lr=0.1, momentum=0.9), **kw)
    h2 = trainer.fit(ArraySource(X, y, 16, sample_weight=w, class_weight="balanced", validation_split=0.25), 4)
    np.testing.assert_array_equal(a.get_weights(), b.get_weights())
    assert h1.history == h2.history and h2 is b.history and "val_data_loss" in h2


def test_callbacks_see_the_trainer(rng):
    X, y = _data(rng)
    seen = []

    class Spy(ml.Callback):
        def on_train_begin(self, logs=None):
            seen.append((self.trainer.optimizer, self.trainer.history, self.trainer.rng, self.model))

    opt = ml.optim.SGD(lr=0.1)
    model = _model()
    trainer = Trainer(model, optimizer=opt, callbacks=[Spy()], seed=0, verbose=0)
    h = trainer.fit(ArraySource(X, y), 1)
    assert seen == [(opt, h, trainer.rng, model)]


def test_trainer_checks_its_arguments():
    model = _model()
    for kwargs, name in [
        ({"model": "mlp"}, "model"),
        ({"verbose": 3}, "verbose"),
        ({"callbacks": [print]}, "callbacks"),
        ({"augment": "shift"}, "augment"),
        ({"seed": "0"}, "seed"),
        ({"loss": "hinge"}, "loss"),
        ({"optimizer": "lion"}, "optimizer"),
        ({"regularizer": "l3"}, "regularizer"),
    ]:
        kwargs = {"model": model, **kwargs}
        with pytest.raises(ArgumentError, match=rf"^{name} must be .*, got "):
            Trainer(verbose=kwargs.pop("verbose", 0), **kwargs)
    trainer = Trainer(model, verbose=0)
    for args, name in [((np.ones((3, 4)),), "batches"), ((ArraySource(np.ones((3, 4)), [0, 1, 2]), -1), "epochs")]:
        with pytest.raises(ArgumentError, match=rf"^{name} must be "):
            trainer.fit(*args)
    with pytest.raises(ArgumentError, match="^validation_data must be a tuple"):
        trainer.fit(ArraySource(np.ones((3, 4)), [0, 1, 2]), 1, validation=np.ones((3, 4)))


def test_save_checkpoint_resumes_bit_for_bit(tmp_path, rng):
    X, y = _data(rng)
    full = _model(dropout=0.3)
    Trainer(full, optimizer=ml.optim.Adam(lr=0.01), seed=2, verbose=0).fit(ArraySource(X, y, 8), 5)

    class StopAt2(ml.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 2:
                self.trainer.save_checkpoint(tmp_path / "ck.mlp", epoch)
                self.model.stop_training = True

    part = _model(dropout=0.3)
    Trainer(part, optimizer=ml.optim.Adam(lr=0.01), seed=2, callbacks=[StopAt2()], verbose=0).fit(
        ArraySource(X, y, 8), 5
    )
    resumed = _model(seed=99, dropout=0.3)  # other initial weights: the checkpoint's replace them
    h = Trainer(resumed, seed=123, verbose=0).fit(ArraySource(X, y, 8), 5, resume_from=tmp_path / "ck.mlp")
    np.testing.assert_array_equal(resumed.get_weights(), full.get_weights())
    assert h.epoch == [0, 1, 2, 3, 4] and type(resumed.optimizer) is ml.optim.Adam


def test_validation_data_takes_the_place_of_validation_split(rng):
    X, y = _data(rng, n=40)
    Xv, yv = _data(rng, n=10)
    a, b = _model(), _model()
    ha = a.fit(X, y, epochs=2, batch_size=8, seed=0, verbose=0, validation_data=(Xv, yv))
    hb = b.fit(X, y, epochs=2, batch_size=8, seed=0, verbose=0, validation_data=(Xv, yv), validation_split=0.5)
    np.testing.assert_array_equal(a.get_weights(), b.get_weights())  # every sample trained
    assert ha.history == hb.history
    with pytest.raises(ArgumentError, match="^validation_split must be"):
        _model().fit(X, y, validation_data=(Xv, yv), validation_split=1.5, verbose=0)


def test_target_errors_name_the_argument_they_come_from(rng):
    X, y = _data(rng, n=20)
    with pytest.raises(ArgumentError, match=r"^validation_data y must be class labels 0..2"):
        _model().fit(X, y, validation_data=(X[:3], np.array([1, 2, 10])), verbose=0)
    with pytest.raises(ArgumentError, match=r"^chunks\[1\] y must be class labels 0..2"):
        _model().fit(ChunkSource([(X[:10], y[:10]), (X[10:], y[10:] + 5)]), None, verbose=0)
    with pytest.raises(ArgumentError, match="^Y must be an array of targets, got None"):
        Trainer(_model(), verbose=0).train_step(X, None)
    with pytest.raises(ArgumentError, match="^y must be an array of targets, got None"):
        _model().fit(X, None, verbose=0)


def test_sources_and_trainer_refuse_what_they_cannot_use_at_once(rng):
    X, y = _data(rng, n=20)
    with pytest.raises(ArgumentError, match="^callbacks must be a list of mlplab Callback instances"):
        Trainer(_model(), callbacks=ml.callbacks.EarlyStopping(), verbose=0)
    with pytest.raises(ArgumentError, match="^callbacks must be a list"):
        Trainer(_model(), callbacks="abc", verbose=0)
    for bad in ("abc", X):
        with pytest.raises(ArgumentError, match="^chunks must be an iterable"):
            ChunkSource(bad)
    with pytest.raises(ArgumentError, match="^chunks must be a function returning an iterable"):
        _model().fit(ChunkSource(lambda: None), None, verbose=0)
    with pytest.raises(ArgumentError, match="^class_weight must be a dict"):
        ArraySource(X, y, class_weight="uniform")
    with pytest.raises(ArgumentError, match="^epoch must be an int >= 0"):
        Trainer(_model(), verbose=0).run_epoch(ArraySource(X, y), -1)
    assert ArraySource(X, y, batch_size=8).batch_rows == 8 and ChunkSource([]).batch_rows == 32
    assert ArraySource(X, y, batch_size=None).batch_rows == math.inf  # all rows, known once bound
    assert ArraySource(X, y, batch_size=64).bind(_model(), ml.losses.CrossEntropy()).batch_rows == 20


def test_the_progress_bar_counts_every_batch_of_a_chunk_source(rng):
    X, y = _data(rng, n=30)

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    out = Terminal()
    bar = ml.callbacks.ProgressBar(verbose=1, file=out)
    model = _model()
    model.fit(ChunkSource([(X, y)], batch_size=10), None, epochs=1, verbose=0, callbacks=[bar])
    assert "3batch" in out.getvalue().replace(" ", "")  # steps unknown in advance: the count is shown


# -- never a broken model --------------------------------------------------------------------------
def _unscaled(rng, task):
    X = 10 * rng.normal(size=(64, 4))
    if task == "regression":
        return X, 1000 * X @ np.array([1.0, -2.0, 0.5, 3.0]), None
    return X, (X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 5), "softmax"


@pytest.mark.parametrize("lr", [1e4, 1e30])
@pytest.mark.parametrize("opt", ["sgd", "adam", "rmsprop", "adagrad"])
@pytest.mark.parametrize("batch_size", [8, None])
@pytest.mark.parametrize("task", ["regression", "classification"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fit_never_leaves_a_broken_model(dtype, task, batch_size, opt, lr, rng):
    """Whether fit returns or raises DivergenceError, the weights are finite and so are the
    model's outputs on its training and validation inputs (the issue's probe: 46 of 1728
    such runs ended broken before the end-of-epoch check)."""
    X, y, out = _unscaled(rng, task)
    model = ml.MLP([4, 16, 16, 3 if out else 1], output=out, dtype=dtype, seed=0)
    callbacks = [ml.callbacks.EarlyStopping(patience=2)]
    try:
        model.fit(
            X,
            y,
            optimizer=ml.optim.get(opt, lr=lr),
            epochs=4,
            batch_size=batch_size,
            seed=0,
            verbose=0,
            validation_split=0.25,
            callbacks=callbacks,
        )
    except ml.DivergenceError as e:
        assert "start of epoch" in str(e)
    assert np.isfinite(model.get_weights()).all() and np.isfinite(model.predict(X)).all()


def test_the_last_update_of_a_run_is_checked(rng):
    """SGD(lr=1e30) on unscaled data: one full-batch update sends the weights to infinity;
    the run used to report "completed 1 epochs" with those weights."""
    X, y, _ = _unscaled(rng, "regression")
    model = ml.MLP([4, 16, 1], seed=0)
    w0 = model.get_weights()
    with pytest.raises(ml.DivergenceError, match="^the weights after epoch 1 overflow: training diverged"):
        model.fit(X, y, optimizer=ml.optim.SGD(lr=1e30), epochs=1, batch_size=None, verbose=0)
    np.testing.assert_array_equal(model.get_weights(), w0)


def test_finite_weights_whose_outputs_overflow_are_caught(rng):
    """lr=1e6 leaves finite weights so large that the outputs are not finite."""
    X, y, _ = _unscaled(rng, "regression")
    model = ml.MLP([4, 16, 16, 1], seed=0)
    starts = []
    grab = ml.callbacks.LambdaCallback(on_epoch_begin=lambda e, logs: starts.append(model.get_weights()))
    h = model.fit(
        X,
        y,
        optimizer=ml.optim.SGD(lr=1e6),
        epochs=5,
        batch_size=None,
        verbose=0,
        callbacks=[ml.TerminateOnNaN(), grab],
    )
    assert "overflow" in h.stop_reason or "loss became" in h.stop_reason
    np.testing.assert_array_equal(model.get_weights(), starts[-1])
    assert np.isfinite(model.predict(X)).all()


def test_divergence_rolls_the_optimizer_back_too(rng):
    X, y, _ = _unscaled(rng, "regression")
    model = ml.MLP([4, 16, 1], dtype="float64", seed=0)
    opt = ml.optim.SGD(lr=1e3, momentum=0.9)  # a momentum buffer to roll back
    seen = []

    def keep(epoch, logs):
        seen.append((opt.t, {k: v.copy() for k, v in opt.state.items()}))

    h = model.fit(
        X,
        y,
        optimizer=opt,
        epochs=50,
        batch_size=8,
        verbose=0,
        seed=0,
        callbacks=[ml.TerminateOnNaN(), ml.callbacks.LambdaCallback(on_epoch_begin=keep)],
    )
    assert "diverged" in h.stop_reason
    t, state = seen[-1]
    assert opt.t == t and sorted(opt.state) == sorted(state)
    for k in state:
        np.testing.assert_array_equal(opt.state[k], state[k])
    assert all(np.isfinite(v).all() for v in opt.state.values())


def test_weights_that_already_overflow_are_refused_before_training(rng):
    X, y, _ = _unscaled(rng, "regression")
    model = ml.MLP([4, 16, 1], dtype="float32", seed=0)
    model.set_weights(np.full(model.n_params, 1e30))
    with pytest.raises(ArgumentError, match="^the model's weights must be finite, with finite outputs"):
        model.fit(X, y, verbose=0)


# -- mini-batches whose weights are all zero ----------------------------------------------------------
def test_a_batch_of_zero_weights_contributes_nothing(rng):
    """Rows of weight 0 gathered into batches of their own change nothing: fit with them equals,
    bit for bit, fit on the other rows alone (unshuffled, so the other batches are the same);
    before, the zero-weight batch's J was 0/0 and training stopped with DivergenceError."""
    X, y = _data(rng, n=60)
    w = np.ones(60)
    w[20:40] = 0.0  # the second of three batches of 20
    kw = dict(optimizer=ml.optim.Adam(lr=0.01), epochs=3, batch_size=20, shuffle=False, verbose=0, seed=0)
    weighted = _model(dtype="float64")
    h = weighted.fit(X, y, sample_weight=w, **kw)
    kept = np.r_[0:20, 40:60]
    plain = _model(dtype="float64")
    kw["optimizer"] = ml.optim.Adam(lr=0.01)
    h2 = plain.fit(X[kept], y[kept], **kw)
    np.testing.assert_array_equal(weighted.get_weights(), plain.get_weights())
    assert weighted.optimizer.t == plain.optimizer.t == 6
    np.testing.assert_allclose(h["loss"], h2["loss"], rtol=1e-14)  # a weighted mean of 1s, a plain mean
    trainer = Trainer(weighted, optimizer=ml.optim.SGD(lr=0.1), verbose=0)
    before = weighted.get_weights()
    assert trainer.train_step(X[:5], y[:5], np.zeros(5)) == 0.0
    np.testing.assert_array_equal(weighted.get_weights(), before)
    assert trainer.optimizer.t == 0
    with pytest.raises(ArgumentError, match="^w must be finite in float64 and >= 0, got"):
        trainer.train_step(X[:5], y[:5], -np.ones(5))


# -- resume with stateful callbacks ------------------------------------------------------------
def _stateful(kind, folder, full_first=False):
    """The callbacks of a run: ``kind``'s stateful ones and a ModelCheckpoint writing a full
    checkpoint after every epoch into ``folder`` (first or last in the list)."""
    cb = ml.callbacks
    made = {
        "early_stopping": lambda: [cb.EarlyStopping(patience=2, min_delta=1e-3)],
        "early_stopping_no_restore": lambda: [cb.EarlyStopping(patience=2, min_delta=1e-2, restore_best_weights=False)],
        "reduce_lr": lambda: [cb.ReduceLROnPlateau(factor=0.5, patience=0, min_delta=1e-2)],
        "checkpoint_best": lambda: [cb.ModelCheckpoint(str(folder / "best.mlp"))],
        "scheduler_of_lr": lambda: [cb.LearningRateScheduler(lambda epoch, lr: lr * 0.8)],
        "all": lambda: [
            cb.ReduceLROnPlateau(factor=0.5, patience=0, min_delta=1e-2),
            cb.EarlyStopping(patience=3, min_delta=1e-3),
            cb.ModelCheckpoint(str(folder / "best.mlp")),
        ],
        "two_early_stoppings": lambda: [cb.EarlyStopping(patience=4), cb.EarlyStopping("loss", 1e-2, patience=2)],
    }[kind]()
    full = cb.ModelCheckpoint(str(folder / "ck-{epoch:02d}.mlp"), save_best_only=False, save_full=True)
    return [full, *made] if full_first else [*made, full]


@pytest.mark.parametrize("optimizer", ["passed again", "the checkpoint's"])
@pytest.mark.parametrize(
    "kind, full_first",
    [
        ("early_stopping", False),
        ("early_stopping_no_restore", False),
        ("reduce_lr", False),
        ("checkpoint_best", True),
        ("scheduler_of_lr", False),
        ("all", False),
        ("all", True),
        ("two_early_stoppings", True),
    ],
)
def test_resume_after_every_epoch_is_the_uninterrupted_run(tmp_path, rng, kind, full_first, optimizer):
    """A run stopped after any epoch and resumed from its full checkpoint gives the
    uninterrupted run's weights, History and stop reason bit for bit (float64), with every
    stateful callback; the optimizer built again as at the start, or taken from the file.
    The full checkpoint is written once every callback has finished the epoch, wherever it
    stands in the list."""
    X, y = _data(rng, n=90)
    fit = dict(epochs=10, batch_size=16, validation_split=0.3, seed=4, verbose=0)

    def model(seed=0):
        return _model(seed=seed, dtype="float64", dropout=0.1)

    def adam():
        return ml.optim.Adam(lr=0.05)

    first = tmp_path / "first"
    first.mkdir()
    straight = model()
    h = straight.fit(X, y, optimizer=adam(), callbacks=_stateful(kind, first, full_first), **fit)
    checkpoints = sorted(first.glob("ck-*.mlp"))
    assert len(checkpoints) == len(h.epoch) >= 3
    for i, path in enumerate(checkpoints):
        again = tmp_path / f"again{i}"
        again.mkdir()
        resumed = model(seed=99)
        opt = adam() if optimizer == "passed again" else None
        h2 = resumed.fit(X, y, optimizer=opt, callbacks=_stateful(kind, again, full_first), resume_from=path, **fit)
        np.testing.assert_array_equal(resumed.get_weights(), straight.get_weights(), err_msg=path.name)
        assert h2.to_dict() == h.to_dict(), path.name
        assert resumed.optimizer.lr == straight.optimizer.lr


def test_checkpoints_hold_the_callbacks_states(tmp_path, rng):
    X, y = _data(rng, n=60)
    es, rl = ml.callbacks.EarlyStopping(patience=50), ml.callbacks.ReduceLROnPlateau(factor=0.5, patience=0)
    trainer = Trainer(_model(dtype="float64"), optimizer=ml.optim.SGD(lr=0.3), callbacks=[es, rl], seed=0, verbose=0)
    trainer.fit(ArraySource(X, y, 16, validation_split=0.25), 6)
    ck = ml.load_checkpoint(trainer.save_checkpoint(tmp_path / "c.mlp", 5))
    (n1, s1), (n2, s2) = ck.callback_states
    assert (n1, n2) == ("EarlyStopping", "ReduceLROnPlateau")
    assert s1["wait"] == es.wait and s1["best"] == es.best and s1["best_epoch"] == es.best_epoch
    np.testing.assert_array_equal(s1["best_weights"], es.best_weights)
    assert s2["reductions"] == [list(r) for r in rl.reductions] and rl.reductions  # the lr was reduced
    assert ck.optimizer.lr == trainer.optimizer.lr == 0.3 * 0.5 ** len(rl.reductions)
    assert ck.optimizer.initial_lr == 0.3


def test_resume_on_other_data_is_refused_unless_intended(tmp_path, rng):
    X, y = _data(rng, n=60)
    m = _model(dtype="float64")
    trainer = Trainer(m, optimizer=ml.optim.SGD(lr=0.1), seed=0, verbose=0)
    trainer.fit(ArraySource(X, y, 16), 2)
    path = trainer.save_checkpoint(tmp_path / "c.mlp", 1)
    changed = X.copy()
    changed[-1, 0] += 1.0  # the last row is always among the sampled ones
    for other, what in [((X[:50], y[:50]), r"shapes \[\[50, 4\]"), ((changed, y), "same shapes, other values")]:
        with pytest.raises(ArgumentError, match=rf"^resume_from must be .*allow_new_data=True.*{what}"):
            _model(dtype="float64").fit(*other, resume_from=path, verbose=0, epochs=3)
        h = _model(dtype="float64").fit(*other, resume_from=path, verbose=0, epochs=3, allow_new_data=True)
        assert h.epoch == [0, 1, 2]
    with pytest.raises(ArgumentError, match="^allow_new_data must be"):
        _model(dtype="float64").fit(X, y, resume_from=path, verbose=0, epochs=3, allow_new_data="yes")
    h = _model(dtype="float64").fit(X.copy(), y.copy(), resume_from=path, verbose=0, epochs=3)  # equal data: fine
    assert h.epoch == [0, 1, 2]
    chunks = ChunkSource([(X, y)], batch_size=16)  # no fingerprint: not checked
    assert Trainer(_model(dtype="float64"), verbose=0).fit(chunks, 3, resume_from=path).epoch == [0, 1, 2]


def test_a_damaged_callback_state_is_refused_on_resume(tmp_path, rng):
    X, y = _data(rng, n=40)
    m = _model(dtype="float64")
    opt = ml.optim.SGD(lr=0.1)
    m.fit(X, y, optimizer=opt, epochs=1, verbose=0)
    good = ml.callbacks.EarlyStopping().state_dict()
    for key, value, what in [("wait", -1, "an int >= 0"), ("best", "low", "a number"), ("best_epoch", 1.5, "an int")]:
        path = ml.save_checkpoint(
            tmp_path / "c.mlp", m, opt, 0, callback_states=[("EarlyStopping", {**good, key: value})]
        )
        with pytest.raises(
            ml.ModelFileError, match=rf"saved state of EarlyStopping: state\['{key}'\] must be .*{what}"
        ):
            _model(dtype="float64").fit(X, y, resume_from=path, callbacks=[ml.callbacks.EarlyStopping()], verbose=0)
    with pytest.raises(ArgumentError, match="^callback_states must be consistent .*best_weights of shape \\(3,\\)"):
        ml.save_checkpoint(
            tmp_path / "d.mlp", m, opt, 0, callback_states=[("EarlyStopping", {"best_weights": np.ones(3)})]
        )
    # a state for a callback the resumed run does not have is ignored; one it has without a state starts afresh
    path = ml.save_checkpoint(tmp_path / "c.mlp", m, opt, 0, callback_states=[("ReduceLROnPlateau", {})])
    h = _model(dtype="float64").fit(
        X, y, resume_from=path, epochs=2, callbacks=[ml.callbacks.EarlyStopping("loss")], verbose=0
    )
    assert h.epoch == [1]  # the checkpoint holds no History: epoch 1 only


# -- schedules checked before training ------------------------------------------------------
def _digits_source(batch_size=32):
    X, y = ml.datasets.load_digits()
    return ArraySource(X[:320], y[:320], batch_size=batch_size)  # 10 updates an epoch


@pytest.mark.parametrize(
    "schedule, epochs, last",
    [
        (ml.schedules.OneCycleLR(0.1, total_steps=10, interval="epoch"), 12, "epoch, 11"),
        (ml.schedules.OneCycleLR(0.1, total_steps=25), 3, "update, 29"),
    ],
)
def test_a_schedule_shorter_than_the_run_is_refused_before_training(schedule, epochs, last):
    """OneCycleLR raises past total_steps (as torch): said before the first update, not half-way."""
    model = ml.MLP([64, 8, 10], output="softmax", seed=0)
    w = model.get_weights()
    trainer = Trainer(model, optimizer=ml.optim.SGD(lr=schedule), verbose=0)
    msg = rf"^the optimizer's lr must be a schedule defined up to the run's last {last}, "
    with pytest.raises(ArgumentError, match=msg + r"got OneCycleLR\(.*total_steps="):
        trainer.fit(_digits_source(), epochs=epochs)
    np.testing.assert_array_equal(model.get_weights(), w)
    assert trainer.optimizer.t == 0
    # one epoch or update less: it runs
    short = epochs - 1 if schedule.interval == "epoch" else 2
    assert (
        len(Trainer(model, optimizer=ml.optim.SGD(lr=schedule), verbose=0).fit(_digits_source(), epochs=short).epoch)
        == short
    )


def test_a_per_epoch_schedule_counting_updates_is_warned_about():
    """torch's StepLR(step_size=1) is stepped per epoch; counting updates it ends the first
    epoch (10 updates) at 0.5^10 of its rate: a warning naming interval='epoch'."""
    model = ml.MLP([64, 8, 10], output="softmax", seed=0)
    step = ml.schedules.StepLR(0.1, step_size=1, gamma=0.5)
    msg = r"^StepLR\(.*\) counts updates \(interval='batch'\): its learning rate falls from 0.1 to 9.77e-05 "
    with pytest.warns(UserWarning, match=msg + r"within the first epoch \(10 updates\); interval='epoch'"):
        Trainer(model, optimizer=ml.optim.SGD(lr=step), verbose=0).fit(_digits_source(), epochs=2)
    assert step(10) == 0.1 * 0.5**10
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for lr in (
            ml.schedules.StepLR(0.1, step_size=1, gamma=0.5, interval="epoch"),
            ml.schedules.StepLR(0.1, step_size=5, gamma=0.5),  # a quarter of the rate after an epoch: meant
            ml.schedules.CosineAnnealingLR(0.1, T_max=20),
        ):
            Trainer(model, optimizer=ml.optim.SGD(lr=lr), verbose=0).fit(_digits_source(), epochs=2)
        Trainer(model, optimizer=ml.optim.SGD(lr=step), verbose=0).fit(_digits_source(), epochs=1)  # one epoch: meant


# -- an optimizer's state belongs to one model ------------------------------------------------
def test_an_optimizer_that_trained_another_model_is_refused():
    """Adam's moments and t of model a would step model b (same buffer size: silently mixed);
    torch binds an optimizer to its parameters, Keras 3 refuses other variables."""
    X, y = ml.datasets.load_digits()
    X, y = X[:320], y[:320]
    opt = ml.optim.Adam(lr=0.01)
    a, b = ml.MLP([64, 8, 10], output="softmax", seed=0), ml.MLP([64, 8, 10], output="softmax", seed=1)
    a.fit(X, y, optimizer=opt, epochs=1, verbose=0)
    a.fit(X, y, optimizer=opt, epochs=1, verbose=0)  # the same model again: its state goes on
    assert opt.t == 20
    w = b.get_weights()
    msg = r"^optimizer must be a new optimizer or the one that trained this model .*, got Adam that made 20 updates"
    with pytest.raises(ArgumentError, match=msg):
        b.fit(X, y, optimizer=opt, epochs=1, verbose=0)
    np.testing.assert_array_equal(b.get_weights(), w)
    assert opt.t == 20
    # a fresh optimizer trains b as an optimizer that never saw a would
    h = b.fit(X, y, optimizer=ml.optim.Adam(lr=0.01), epochs=1, seed=3, verbose=0)
    b.set_weights(w)
    assert b.fit(X, y, optimizer=ml.optim.Adam(lr=0.01), epochs=1, seed=3, verbose=0)["loss"] == h["loss"]
    # a copy of a is a (the optimizer goes on with it), and a checkpoint's state is the model's
    import copy

    copy.deepcopy(a).fit(X, y, optimizer=opt, epochs=1, verbose=0)
    unused = ml.optim.SGD(lr=0.1)
    b.fit(X, y, optimizer=unused, epochs=0, verbose=0)  # no update made: not yet another model's
    a.fit(X, y, optimizer=unused, epochs=1, verbose=0)
