"""Export: the script a run exports, run in a fresh Python process, prints the run's losses.

Oracle: the run itself (the page's numbers); the script is run by a subprocess that imports
nothing from the test, so what it prints is what a user who downloads it gets.
"""

from __future__ import annotations

import base64
import re
import subprocess
import sys

import numpy as np
import pytest

import mlplab as ml
from mlplab.playground import script, spec
from mlplab.playground.run import Run, make_data


def _run(cfg, pool=None, added=()):
    cfg = spec.check_config(cfg)
    return Run(cfg, make_data(cfg, pool, added))


def _reproduce(run, folder):
    path = folder / "playground_run.py"
    path.write_text(script.script(run))
    out = subprocess.run([sys.executable, str(path)], cwd=folder, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    m = re.search(r"epochs (\d+), train loss ([\d.]+), test loss ([\d.]+)", out.stdout)
    assert m, out.stdout
    return int(m.group(1)), float(m.group(2)), float(m.group(3))


def _check(run, folder):
    epochs, train, test = _reproduce(run, folder)
    assert epochs == run.epoch
    assert train == pytest.approx(run.metrics["train"]["loss"], abs=1e-6)  # the 6 printed decimals
    assert test == pytest.approx(run.metrics["test"]["loss"], abs=1e-6)


def test_generated_data_script(tmp_path):
    run = _run({"dataset": "gauss", "classes": 3, "noise": 20, "seed": "0.51286", "optimizer": "adam"})
    run.advance(4 * run.steps_per_epoch + 3)
    run.finish_epoch()
    source = script.script(run)
    assert 'generate("gauss", n=500, noise=0.2, seed=seed, n_classes=3)' in source
    assert 'ml.MLP([2, 4, 2, 3], activation="tanh", output="softmax", seed=seed)' in source
    compile(source, "playground_run.py", "exec")
    _check(run, tmp_path)


def test_custom_data_layers_by_hand_edits_and_everything_else(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.uniform(-5, 5, (120, 2))
    y = (X[:, 0] > X[:, 1]).astype(np.int64)
    added = [(1.25, -3.5, 1), (0.1, 0.2, 0)]
    cfg = {
        "dataset": "custom",
        "seed": "11",
        "networkShape": [5, 4],
        "activation": ["gelu", "sigmoid"],
        "dropout": 0.2,
        "optimizer": "sgd",
        "opt": {"momentum": 0.9, "nesterov": True, "clip_norm": 1.0},
        "schedule": "step",
        "sched": {"step_size": 3, "gamma": 0.5},
        "regularization": "elasticnet",
        "regularizationRate": 0.003,
        "l1Ratio": 0.4,
        "patience": 20,
        "batchSize": 7,
        "xTimesY": True,
        "sinX": True,
    }
    run = _run(cfg, pool=(X, y), added=added)
    run.advance(2 * run.steps_per_epoch)
    run.set_weight(1, 3, 2, -1.125)
    run.advance(3 * run.steps_per_epoch + 2)
    run.set_weight(0, None, 4, 0.5)
    run.advance(2 * run.steps_per_epoch)
    source = script.script(run)
    assert "initial_epoch=2" in source and "dense[1].W[3, 2] = -1.125" in source and "dense[0].b[4] = 0.5" in source
    _check(run, tmp_path)


@pytest.mark.parametrize(
    "cfg",
    [
        {"dataset": "spiral", "classes": 5, "loss": "mse", "networkShape": [8]},
        {"problem": "regression", "regDataset": "reg-gauss", "loss": "huber", "optimizer": "nadam"},
        {"problem": "regression", "loss": "mae", "schedule": "onecycle", "regularization": "L1"},
    ],
)
def test_other_problems(cfg, tmp_path):
    run = _run({**cfg, "seed": "4"})
    run.advance(3 * run.steps_per_epoch)
    _check(run, tmp_path)


def test_imported_model_and_the_model_file(tmp_path):
    model = ml.MLP([2, 6, 1], activation="relu", output="sigmoid", seed=3)
    model.save(tmp_path / "imported_model.mlp")
    cfg = spec.check_config(spec.imported_config(model, spec.check_config({})))
    run = Run(cfg, make_data(cfg), ml.load(tmp_path / "imported_model.mlp"))
    run.advance(2 * run.steps_per_epoch)
    assert 'model = ml.load("imported_model.mlp")' in script.script(run)
    _check(run, tmp_path)
    (tmp_path / "out.mlp").write_bytes(base64.b64decode(script.model_file(run.model)))
    assert np.array_equal(ml.load(tmp_path / "out.mlp").get_weights(), run.model.get_weights())
