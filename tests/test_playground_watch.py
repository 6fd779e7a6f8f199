"""The live diagnostics a frame's header carries (playground/watch.py), against the library's
objects they come from and independent formulas.

Oracles: the run's ``Diagnostics`` callback and ``diagnostics.units`` on its probe (a dead ReLU
made by hand: a bias of -50, zero for every input); the cosine schedule's formula as torch's
``CosineAnnealingLR`` documents it; a Python ``EarlyStopping`` driven by the History's
validation losses for the patience bar.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from mlplab import diagnostics
from mlplab.playground import spec, watch
from mlplab.playground.run import Run, make_data


def _run(cfg):
    cfg = spec.check_config(cfg)
    return Run(cfg, make_data(cfg))


def test_diagnostics_and_units_are_the_callbacks():
    run = _run({"networkShape": [4, 3], "activation": "relu"})
    run.set_weight(0, None, 2, -50.0)  # unit 3 of layer 1: 0 for every input
    run.advance(5 * run.steps_per_epoch)
    h = watch.header(run)
    d = h["diag"]
    assert d["epoch"] == [1, 2, 3, 4, 5] and d["layers"] == list(run.diag.layers)
    for name in ("grad_norm", "update_ratio"):
        np.testing.assert_array_equal(d[name], np.asarray(run.diag[name], dtype=float))
    for name in diagnostics.MEASURES:
        np.testing.assert_array_equal(np.asarray(d["last"][name], dtype=float), run.diag[name][-1])
    units = diagnostics.units(run.model, run.probe)
    assert 2 in h["units"][0]["dead"]
    assert h["units"][0]["dead"] == np.flatnonzero(units[0]["dead"]).tolist()
    assert h["units"][-1] == {"dead": None, "saturated": pytest.approx(units[-1]["saturated"].tolist())}


def test_a_long_run_is_down_sampled():
    run = _run({"networkShape": [2], "numSamples": 40, "batchSize": 40})
    run.advance(300)
    d = watch.header(run)["diag"]
    assert len(d["epoch"]) == watch.POINTS and d["epoch"][0] == 1 and d["epoch"][-1] == 300
    assert d["grad_norm"][-1] == pytest.approx(run.diag["grad_norm"][-1].tolist())


def test_the_schedule_curve_is_torchs_cosine_formula():
    run = _run({"learningRate": 0.1, "schedule": "cosine", "sched": {"T_max": 50, "eta_min": 0.001}})
    run.advance(7 * run.steps_per_epoch)
    s = watch.header(run)["schedule"]
    assert s["epoch"][0] == 0 and s["epoch"][-1] == 7 + watch.HORIZON
    for e, lr in zip(s["epoch"], s["lr"]):  # CosineAnnealingLR's closed form (its docs), period 2 T_max
        assert lr == pytest.approx(0.001 + (0.1 - 0.001) * (1 + math.cos(math.pi * e / 50)) / 2, rel=1e-9)
    onecycle = _run({"schedule": "onecycle", "sched": {"total_steps": 20}})
    s = watch.header(onecycle)["schedule"]
    assert s["lr"][25] is None and s["lr"][0] is not None  # past the one-cycle's end: no rate


def test_early_stopping_state_for_the_patience_bar():
    run = _run({"dataset": "circle", "noise": 35, "numSamples": 200, "percTrainData": 30,
                "networkShape": [16, 16], "activation": "relu", "optimizer": "adam", "patience": 5})  # fmt: skip
    assert watch.header(_run({}))["early"] is None
    run.advance(10**6)
    e = watch.header(run)["early"]
    val = run.trainer.history.history["val_loss"]
    best = int(np.argmin(val))
    assert run.status == "stopped" and e["patience"] == 5 and e["wait"] == 5
    assert e["best_epoch"] == best and e["best"] == pytest.approx(val[best])
    assert e["stopped_epoch"] == len(val) - 1 == best + 5
