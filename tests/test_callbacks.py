"""Tests of mlplab.callbacks: the hook protocol, EarlyStopping (hand-worked sequences and the
exact restore of the best weights), ModelCheckpoint (files read back with mlplab.io, atomic
writes), ReduceLROnPlateau against torch's scheduler, LearningRateScheduler, CSVLogger,
LambdaCallback and argument checks.

Scripted metric sequences are injected into the epoch logs by a callback placed before the
one under test, so the expected epochs can be worked out by hand (each case says how).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os

import numpy as np
import pytest
import torch

import mlplab as ml
from mlplab import io as mio
from mlplab.callbacks import (
    CSVLogger,
    EarlyStopping,
    LambdaCallback,
    LearningRateScheduler,
    ModelCheckpoint,
    ReduceLROnPlateau,
)


def _data(seed=0, n=40):
    r = np.random.default_rng(seed)
    X = r.normal(size=(n, 3))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(np.int64)
    return X, y


def _model(seed=0, dtype="float64"):
    return ml.MLP([3, 8, 2], activation="tanh", output="softmax", dtype=dtype, seed=seed)


class Inject(ml.Callback):
    """Puts ``seq[epoch]`` into the epoch's logs under ``name`` (for the callbacks after it)."""

    def __init__(self, seq, name="score"):
        self.seq, self.name = list(seq), name

    def on_epoch_end(self, epoch, logs=None):
        logs[self.name] = float(self.seq[epoch])


class Snapshots(ml.Callback):
    """The weights at the end of every epoch (and the training rng's state)."""

    def on_train_begin(self, logs=None):
        self.weights, self.rng_states = [], []

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append(self.model.get_weights())
        self.rng_states.append(self.trainer.rng.bit_generator.state)


def _fit(model, callbacks, epochs, **kw):
    X, y = _data()
    kw.setdefault("optimizer", ml.optim.SGD(lr=0.1))
    return model.fit(X, y, epochs=epochs, batch_size=None, verbose=0, callbacks=callbacks, **kw)


# -- protocol ---------------------------------------------------------------------------------
def test_hooks_are_called_in_protocol_order():
    calls = []
    cb = LambdaCallback(
        on_train_begin=lambda logs: calls.append("train_begin"),
        on_epoch_begin=lambda e, logs: calls.append(f"epoch_begin {e}"),
        on_batch_begin=lambda b, logs: calls.append(f"batch_begin {b}"),
        on_batch_end=lambda b, logs: calls.append(f"batch_end {b} {logs['size']}"),
        on_epoch_end=lambda e, logs: calls.append(f"epoch_end {e} {sorted(logs)}"),
        on_train_end=lambda logs: calls.append("train_end"),
    )
    X, y = _data(n=30)
    _model().fit(X, y, epochs=2, batch_size=20, shuffle=False, verbose=0, callbacks=[cb])
    keys = ["accuracy", "loss", "lr"]

    # 30 samples in batches of 20: two batches per epoch, of sizes 20 and 10
    def epoch(e):
        return [
            f"epoch_begin {e}",
            "batch_begin 0",
            "batch_end 0 20",
            "batch_begin 1",
            "batch_end 1 10",
            f"epoch_end {e} {keys}",
        ]

    assert calls == ["train_begin", *epoch(0), *epoch(1), "train_end"]


def test_a_callback_stops_training_after_the_current_batch():
    seen = []

    def stop(b, logs):
        seen.append(b)
        if len(seen) == 3:
            m.stop_training = True
            m.stop_reason = "enough"

    m = _model()
    X, y = _data(n=40)
    h = m.fit(X, y, epochs=5, batch_size=10, verbose=0, callbacks=[LambdaCallback(on_batch_end=stop)])
    assert seen == [0, 1, 2] and len(h) == 1
    assert h.stop_reason == m.stop_reason == "enough"


def test_lambda_callback_rejects_unknown_hooks():
    with pytest.raises(TypeError, match="on_epoch_stop"):
        LambdaCallback(on_epoch_stop=print)
    with pytest.raises(TypeError, match="callable"):
        LambdaCallback(on_epoch_end=3)


def test_fit_rejects_non_callbacks():
    with pytest.raises(TypeError, match="Callback"):
        _fit(_model(), [print], 1)


# -- EarlyStopping ----------------------------------------------------------------------------
SEQ = [1.0, 0.8, 0.79, 0.85, 0.7, 0.69, 0.695, 0.71, 0.72, 0.5, 0.4, 0.3]


@pytest.mark.parametrize(
    "min_delta,stop,best",
    [
        # min_delta 0.05, patience 3: improvements need v < best - 0.05. e0 best 1.0; e1 0.8 < 0.95
        # improves; e2 0.79, e3 0.85 do not (wait 1, 2); e4 0.7 < 0.75 improves; e5 0.69, e6 0.695,
        # e7 0.71 do not (wait 1, 2, 3): stop at epoch 7, best epoch 4.
        (0.05, 7, 4),
        # min_delta 0: e2 0.79 and e4 0.7 and e5 0.69 improve; e6, e7, e8 do not: stop at 8, best 5.
        (0.0, 8, 5),
    ],
)
@pytest.mark.parametrize("mode", ["min", "max"])
def test_early_stopping_epochs_worked_by_hand(min_delta, stop, best, mode):
    seq = SEQ if mode == "min" else [-v for v in SEQ]  # "max" on the negated sequence: same epochs
    es = EarlyStopping("score", min_delta=min_delta, patience=3, mode=mode)
    snaps = Snapshots()
    m = _model()
    h = _fit(m, [Inject(seq), es, snaps], epochs=len(seq))
    assert len(h) == stop + 1 and es.stopped_epoch == stop
    assert es.best_epoch == h.best_epoch == best and es.best == seq[best]
    assert "early stopping at epoch" in h.stop_reason and h.stop_reason == m.stop_reason
    np.testing.assert_array_equal(m.get_weights(), snaps.weights[best])


def test_early_stopping_restores_exactly_the_best_weights_of_a_real_run():
    # a wide net on 24 noisy points overfits quickly: validation loss turns up
    r = np.random.default_rng(1)
    X, Xv = r.normal(size=(24, 3)), r.normal(size=(200, 3))
    y = (X[:, 0] + r.normal(scale=1.0, size=24) > 0).astype(np.int64)
    yv = (Xv[:, 0] + r.normal(scale=1.0, size=200) > 0).astype(np.int64)
    m = ml.MLP([3, 64, 64, 2], output="softmax", dtype="float64", seed=0)
    snaps = Snapshots()
    es = EarlyStopping(patience=5)
    h = m.fit(
        X,
        y,
        optimizer=ml.optim.SGD(lr=0.1, momentum=0.9),
        epochs=300,
        batch_size=8,
        seed=0,
        verbose=0,
        validation_data=(Xv, yv),
        callbacks=[es, snaps],
    )
    val = np.array(h["val_loss"])
    assert len(h) < 300, "the setup must overfit so that early stopping triggers"
    assert h.best_epoch == int(np.argmin(val))
    assert len(h) == h.best_epoch + 5 + 1  # stopped after `patience` epochs without improvement
    np.testing.assert_array_equal(m.get_weights(), snaps.weights[h.best_epoch])
    assert m.evaluate(Xv, yv)["loss"] == val[h.best_epoch]


def test_early_stopping_without_restore_keeps_the_last_weights():
    snaps = Snapshots()
    m = _model()
    _fit(m, [Inject(SEQ), EarlyStopping("score", patience=2, restore_best_weights=False), snaps], len(SEQ))
    np.testing.assert_array_equal(m.get_weights(), snaps.weights[-1])


def test_early_stopping_start_from_epoch():
    # epochs 0..4 are not examined: e5 0.69 is the first best; e6, e7 do not improve: stop at 7
    es = EarlyStopping("score", patience=2, start_from_epoch=5)
    h = _fit(_model(), [Inject(SEQ), es], len(SEQ))
    assert es.best_epoch == h.best_epoch == 5 and len(h) == 8


def test_early_stopping_nan_never_improves():
    # e0 NaN: its weights stand in as "best"; e1 1.0 improves (first real value); e2, e3 NaN
    es = EarlyStopping("score", patience=2)
    snaps = Snapshots()
    m = _model()
    h = _fit(m, [Inject([math.nan, 1.0, math.nan, math.nan, 0.5]), es, snaps], 5)
    assert len(h) == 4 and h.best_epoch == 1
    np.testing.assert_array_equal(m.get_weights(), snaps.weights[1])


def test_early_stopping_state_is_reset_between_fits():
    es = EarlyStopping("score", patience=1)
    m = _model()
    _fit(m, [Inject([1.0, 2.0, 3.0]), es], 3)
    h = _fit(m, [Inject([5.0, 4.0, 3.0]), es], 3)  # a fresh run: 5.0 would not beat the old best 1.0
    assert len(h) == 3 and es.best == 3.0 and es.stopped_epoch is None


def test_early_stopping_auto_mode_and_missing_monitor():
    assert EarlyStopping("val_accuracy").mode == "max"
    assert EarlyStopping("accuracy").mode == "max"
    assert EarlyStopping("val_r2").mode == "max"
    assert EarlyStopping("val_loss").mode == "min"
    with pytest.raises(ValueError, match="validation_data"):
        _fit(_model(), [EarlyStopping()], 2)  # no validation data: no val_loss


@pytest.mark.parametrize(
    "kw,match",
    [
        ({"min_delta": -0.1}, "min_delta"),
        ({"min_delta": math.nan}, "min_delta"),
        ({"patience": -1}, "patience"),
        ({"patience": 2.5}, "patience"),
        ({"mode": "minimum"}, "mode"),
        ({"start_from_epoch": -3}, "start_from_epoch"),
    ],
)
def test_early_stopping_bad_arguments(kw, match):
    with pytest.raises(ValueError, match=match):
        EarlyStopping(**kw)
    with pytest.raises(TypeError, match="monitor"):
        EarlyStopping(monitor=3)


# -- ModelCheckpoint ----------------------------------------------------------------------------
def test_model_checkpoint_saves_the_best_model(tmp_path):
    snaps = Snapshots()
    mc = ModelCheckpoint(tmp_path / "best.mlp", monitor="score")
    m = _model()
    _fit(m, [Inject(SEQ[:6]), mc, snaps], 6)
    # SEQ[:6] = 1.0, 0.8, 0.79, 0.85, 0.7, 0.69: strictly better at epochs 0, 1, 2, 4, 5
    assert mc.best_epoch == 5 and mc.best == 0.69 and mc.last_saved == os.fspath(tmp_path / "best.mlp")
    loaded = mio.load(tmp_path / "best.mlp")
    np.testing.assert_array_equal(loaded.get_weights(), snaps.weights[5])
    assert sorted(os.listdir(tmp_path)) == ["best.mlp"]  # no temporary file left behind


def test_model_checkpoint_formats_the_path_and_saves_only_improvements(tmp_path):
    snaps = Snapshots()
    mc = ModelCheckpoint(os.fspath(tmp_path / "ck-{epoch:02d}-{score:.2f}.mlp"), monitor="score")
    _fit(_model(), [Inject(SEQ[:6]), mc, snaps], 6)
    # improvements at epochs 0, 1, 2, 4, 5 (see above); the name holds the 1-based epoch
    assert sorted(os.listdir(tmp_path)) == [
        "ck-01-1.00.mlp",
        "ck-02-0.80.mlp",
        "ck-03-0.79.mlp",
        "ck-05-0.70.mlp",
        "ck-06-0.69.mlp",
    ]
    np.testing.assert_array_equal(mio.load(tmp_path / "ck-03-0.79.mlp").get_weights(), snaps.weights[2])


def test_model_checkpoint_every_epoch(tmp_path):
    snaps = Snapshots()
    mc = ModelCheckpoint(tmp_path / "last.mlp", save_best_only=False)  # no val_loss needed
    m = _model()
    _fit(m, [mc, snaps], 3)
    np.testing.assert_array_equal(mio.load(tmp_path / "last.mlp").get_weights(), snaps.weights[-1])


def test_model_checkpoint_full_checkpoint(tmp_path):
    snaps = Snapshots()
    path = tmp_path / "ck.mlp"
    opt = ml.optim.SGD(lr=0.1, momentum=0.9)
    m = _model()
    _fit(m, [Inject(SEQ[:4]), ModelCheckpoint(path, monitor="score", save_full=True), snaps], 4, optimizer=opt)
    ck = mio.load_checkpoint(path)
    # SEQ[:4] = 1.0, 0.8, 0.79, 0.85: the last improvement is epoch 2
    assert ck.epoch == 2 and len(ck.history) == 3 and ck.optimizer.t == 3  # full batch: one step per epoch
    np.testing.assert_array_equal(ck.model.get_weights(), snaps.weights[2])
    assert ck.rng_state == snaps.rng_states[2]
    assert "momentum_buffer" in ck.optimizer.state


def test_model_checkpoint_write_is_atomic(tmp_path, monkeypatch):
    """A save that fails half-way leaves the previous best file whole and no temporary file."""
    snaps = Snapshots()
    path = tmp_path / "best.mlp"

    def crash_on(epoch):
        def hook(e, logs):
            if e == epoch:

                def broken(f, **arrays):
                    f.write(b"PK\x03\x04 half a zip")
                    raise OSError("disk full")

                monkeypatch.setattr(mio.np, "savez", broken)

        return LambdaCallback(on_epoch_end=hook)

    m = _model()
    with pytest.raises(OSError, match="disk full"):
        _fit(m, [Inject(SEQ), crash_on(1), ModelCheckpoint(path, monitor="score"), snaps], 4)
    assert sorted(os.listdir(tmp_path)) == ["best.mlp"]
    np.testing.assert_array_equal(mio.load(path).get_weights(), snaps.weights[0])


def test_model_checkpoint_bad_arguments(tmp_path):
    with pytest.raises(TypeError, match="filepath"):
        ModelCheckpoint("")
    with pytest.raises(ValueError, match="mode"):
        ModelCheckpoint(tmp_path / "a.mlp", mode="up")
    with pytest.raises(ValueError, match="nosuch"):
        _fit(_model(), [ModelCheckpoint(os.fspath(tmp_path / "{nosuch}.mlp"), save_best_only=False)], 1)


# -- ReduceLROnPlateau --------------------------------------------------------------------------
PLATEAU = [
    1.0,
    0.9,
    0.9,
    0.9,
    0.95,
    0.89995,
    0.8,
    0.8,
    0.8,
    0.8,
    0.8,
    0.79999,
    0.8,
    0.5,
    0.5,
    0.5,
    0.5,
    0.5,
    0.5,
    math.nan,
    0.5,
    0.5,
    0.5,
    0.5,
    0.5,
    0.5,
    0.49,
    0.5,
]


@pytest.mark.parametrize(
    "kw",
    [
        dict(),
        dict(patience=0),
        dict(patience=2, factor=0.5),
        dict(patience=1, factor=0.5, cooldown=2),
        dict(patience=1, factor=0.1, min_lr=2e-4),
        dict(patience=1, factor=0.5, min_delta=0.1, threshold_mode="abs"),
        dict(patience=2, factor=0.3, min_delta=0.0),
        dict(patience=1, factor=0.5, mode="max"),
    ],
)
def test_reduce_lr_on_plateau_matches_torch(kw):
    kw = {"patience": 10, **kw}
    # for "max", 2 - v: the same plateaus, kept positive (torch's relative threshold
    # best * (1 + threshold) would count equal negative values as improvements)
    seq = PLATEAU if kw.get("mode") != "max" else [2.0 - v for v in PLATEAU]
    lr0 = 0.1
    rl = ReduceLROnPlateau("score", **kw)
    lrs = []
    m = _model()
    _fit(
        m,
        [Inject(seq), rl, LambdaCallback(on_epoch_end=lambda e, logs: lrs.append(m.optimizer.lr))],
        len(seq),
        optimizer=ml.optim.SGD(lr=lr0),
    )

    tkw = dict(kw)
    tkw["threshold"] = tkw.pop("min_delta", 1e-4)  # torch's name for min_delta
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=lr0)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, **tkw)
    expected = []
    for v in seq:
        sched.step(v)
        expected.append(opt.param_groups[0]["lr"])
    assert lrs == pytest.approx(expected, rel=1e-15)
    assert len(set(expected)) > 1, "the sequence must trigger at least one reduction"


def test_reduce_lr_on_plateau_shows_in_history():
    m = _model()
    h = _fit(
        m,
        [Inject([1.0, 1.0, 1.0, 1.0]), ReduceLROnPlateau("score", patience=1, factor=0.5)],
        4,
        optimizer=ml.optim.SGD(lr=0.2),
    )
    # torch rule: epoch 0 improves (from +inf); epochs 1, 2 are bad; 2 > patience at epoch 2 -> 0.1
    # from epoch 3 on; history's lr is the lr each epoch trained with
    assert h["lr"] == [0.2, 0.2, 0.2, 0.1]


def test_reduce_lr_on_plateau_refuses_a_schedule():
    sched = ml.schedules.StepLR(0.1, step_size=5)
    with pytest.raises(ValueError, match="float lr"):
        _fit(_model(), [ReduceLROnPlateau("loss")], 2, optimizer=ml.optim.SGD(lr=sched))


@pytest.mark.parametrize(
    "kw,match",
    [
        ({"factor": 1.0}, "factor"),
        ({"factor": 0.0}, "factor"),
        ({"cooldown": -1}, "cooldown"),
        ({"min_lr": -1e-3}, "min_lr"),
        ({"threshold_mode": "relative"}, "threshold_mode"),
    ],
)
def test_reduce_lr_on_plateau_bad_arguments(kw, match):
    with pytest.raises(ValueError, match=match):
        ReduceLROnPlateau(**kw)


# -- LearningRateScheduler ------------------------------------------------------------------------
def test_learning_rate_scheduler_one_and_two_arguments():
    f = lambda epoch: 0.1 / (1 + epoch)  # noqa: E731
    h = _fit(_model(), [LearningRateScheduler(f)], 4)
    assert h["lr"] == [f(e) for e in range(4)]
    h = _fit(_model(), [LearningRateScheduler(lambda epoch, lr: lr * 0.5)], 3, optimizer=ml.optim.SGD(lr=0.4))
    assert h["lr"] == [0.2, 0.1, 0.05]


def test_learning_rate_scheduler_takes_a_per_epoch_schedule():
    sched = ml.schedules.StepLR(0.1, step_size=2, gamma=0.5, interval="epoch")
    h = _fit(_model(), [LearningRateScheduler(sched)], 5)
    assert h["lr"] == [sched(e) for e in range(5)]


def test_learning_rate_scheduler_errors():
    with pytest.raises(TypeError, match="schedule"):
        LearningRateScheduler(0.1)
    with pytest.raises(ValueError, match="epoch 2"):
        _fit(_model(), [LearningRateScheduler(lambda e: 0.1 if e < 2 else math.nan)], 4)
    with pytest.raises(ValueError, match="float lr"):
        _fit(
            _model(),
            [LearningRateScheduler(lambda e: 0.1)],
            2,
            optimizer=ml.optim.SGD(lr=ml.schedules.StepLR(0.1, step_size=5)),
        )


# -- CSVLogger --------------------------------------------------------------------------------------
def _read_csv(path, sep=","):
    with open(path, newline="") as f:
        return list(csv.reader(f, delimiter=sep))


def test_csv_logger_writes_the_history(tmp_path):
    path = tmp_path / "logs" / "run1" / "log.csv"  # its folders made, as ModelCheckpoint's
    X, y = _data()
    h = _model().fit(X, y, epochs=3, batch_size=None, verbose=0, validation_split=0.25, callbacks=[CSVLogger(path)])
    rows = _read_csv(path)
    keys = list(h.history)
    assert rows[0] == ["epoch", *keys] and len(rows) == 4
    for e, row in enumerate(rows[1:]):
        assert int(row[0]) == e
        assert [float(v) for v in row[1:]] == [h[k][e] for k in keys]  # repr round-trips floats exactly


def test_csv_logger_append_and_separator(tmp_path):
    path = tmp_path / "log.tsv"
    m = _model()
    _fit(m, [CSVLogger(path, separator="\t")], 2)
    _fit(m, [CSVLogger(path, append=True, separator="\t")], 3)
    rows = _read_csv(path, "\t")
    assert rows[0][0] == "epoch" and len(rows) == 1 + 2 + 3
    assert [r[0] for r in rows[1:]] == ["0", "1", "0", "1", "2"]
    _fit(m, [CSVLogger(path, separator="\t")], 1)  # append=False overwrites
    assert len(_read_csv(path, "\t")) == 2


def test_csv_logger_bad_arguments():
    with pytest.raises(TypeError, match="filename"):
        CSVLogger(None)
    with pytest.raises(ValueError, match="separator"):
        CSVLogger("a.csv", separator=", ")


# -- ProgressBar ------------------------------------------------------------------------------------
class _Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize(
    "verbose,terminal,lines,frames",
    [
        (1, True, None, True),  # a live bar: carriage-return frames
        (1, False, 3, False),  # a pipe or a log file: one line per epoch
        (2, True, 3, False),  # Keras's verbose=2: one line per epoch, wherever it goes
        (2, False, 3, False),
        (0, True, 0, False),
    ],
)
def test_progress_output_suits_where_it_goes(verbose, terminal, lines, frames):
    out = _Terminal() if terminal else io.StringIO()
    bar = ml.callbacks.ProgressBar(verbose=verbose, file=out)
    _fit(_model(), [bar], 3)
    text = out.getvalue()
    assert ("\r" in text) is frames
    if lines is not None:
        assert text.count("\n") == lines and all(
            line.startswith(f"epoch {e + 1}/3 loss=") for e, line in enumerate(text.splitlines())
        )
    assert bar.live is (verbose == 1 and terminal)


# -- state for resumed runs ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "make",
    [
        lambda d: EarlyStopping("score", patience=3),
        lambda d: ReduceLROnPlateau("score", factor=0.5, patience=0),
        lambda d: ModelCheckpoint(str(d / "best.mlp"), monitor="score"),
    ],
    ids=["EarlyStopping", "ReduceLROnPlateau", "ModelCheckpoint"],
)
def test_state_dict_round_trips_through_json_and_is_checked(tmp_path, make):
    scores = [3.0, 2.0, 2.5, 2.6, 1.0, 1.2]
    cb = make(tmp_path)
    _fit(_model(), [Inject(scores), cb], 6)
    sd = cb.state_dict()
    assert set(sd) == set(cb._STATE) and any(v not in (None, 0, []) for v in sd.values())
    arrays = {k: v for k, v in sd.items() if isinstance(v, np.ndarray)}
    plain = json.loads(json.dumps({k: v for k, v in sd.items() if k not in arrays}))  # as a checkpoint stores it
    fresh = make(tmp_path)
    fresh.set_model(_model(seed=5))
    fresh.trainer = cb.trainer
    fresh.load_state_dict({**plain, **arrays})
    for k in cb._STATE:
        got, want = getattr(fresh, k), getattr(cb, k)
        if isinstance(want, np.ndarray):
            np.testing.assert_array_equal(got, want)
        else:
            assert got == want, k
    with pytest.raises(ml.errors.ArgumentError, match=r"^state must be a dict with keys"):
        fresh.load_state_dict({})
    key = next(k for k, kind in cb._STATE.items() if kind.startswith(("int", "number")))
    with pytest.raises(ml.errors.ArgumentError, match=rf"^state\['{key}'\] must be"):
        fresh.load_state_dict({**sd, key: "x"})


def test_a_restored_early_stopping_that_had_stopped_stops_again():
    es = EarlyStopping("score", patience=1)
    _fit(_model(), [Inject([1.0, 2.0, 3.0]), es], 3)
    assert es.stopped_epoch == 1
    again = EarlyStopping("score", patience=1)
    model = _model()
    again.set_model(model)
    again.load_state_dict(es.state_dict())
    assert model.stop_training and model.stop_reason.startswith("early stopping at epoch 2")


def test_stateless_callbacks_have_an_empty_state():
    for cb in [ml.callbacks.TerminateOnNaN(), LearningRateScheduler(lambda e: 0.1), LambdaCallback()]:
        assert cb.state_dict() == {}
