"""The regularization labs (early-stopping, weight-decay, augmentation, dropout): each run
through the command line with --quick, its JSON and PNG, and the lecture's claims in its data.

Each experiment is seeded, so its quick run is deterministic; the settings were chosen so
that each claim holds by a clear margin (the figures in the comments come from those runs).
"""

from __future__ import annotations

import json
import math

import pytest

from mlplab.cli import main
from mlplab.lab import augmentation, dropout, early_stopping, weight_decay

LABS = {
    "early-stopping": early_stopping,
    "weight-decay": weight_decay,
    "augmentation": augmentation,
    "dropout": dropout,
}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """Each lab run once by ``mlplab lab NAME --quick --out DIR``: {name: (result, folder)}."""
    out = {}
    for name in LABS:
        folder = tmp_path_factory.mktemp(name)
        assert main(["lab", name, "--quick", "--out", str(folder)]) == 0
        with open(folder / f"{name}.json") as f:
            out[name] = (json.load(f), folder)
    return out


@pytest.mark.parametrize("name", list(LABS))
def test_cli_writes_json_and_png(name, results):
    result, folder = results[name]
    assert result["experiment"] == name and result["quick"] is True and result["seed"] == 0
    json.dumps(result, allow_nan=False)  # plain JSON
    png = (folder / f"{name}.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    text = LABS[name].table(result)
    assert isinstance(text, str) and text.count("\n") >= 3


def test_labs_are_listed_with_their_description(capsys):
    assert main(["lab"]) == 0
    listing = capsys.readouterr().out
    for name, mod in LABS.items():
        assert f"{name} " in listing and mod.__doc__.strip().splitlines()[0][:40] in listing


def test_early_stopping_restores_the_best_epoch(results):
    r, _ = results["early-stopping"]
    v = r["val_loss"]
    best = r["best_epoch"]
    assert best == v.index(min(v))
    assert r["stopped_epoch"] == best + r["patience"] == len(v) - 1  # stopped by patience, not by the cap
    assert r["restored_val_loss"] == r["best_val_loss"] == v[best]  # exactly the best epoch's weights
    # the run without stopping trains on: same first epochs (same weights and batches), then
    # a validation loss well above the best one
    assert r["full"]["val_loss"][: len(v)] == v
    assert len(r["full"]["loss"]) == r["max_epochs"] and r["full"]["val_loss"][-1] > 1.2 * r["best_val_loss"]


def test_l1_gives_a_sparser_model_than_l2(results):
    r, _ = results["weight-decay"]
    frac = {run["penalty"]: run["near_zero"] for run in r["runs"]}
    # quick run: L1 52.6 %, elastic net 34.9 %, L2 0.5 %, none 0.3 % of weights below 1e-3
    assert frac["L1"] > 0.3 and frac["L2"] < 0.05
    assert frac["L1"] > frac["elastic net (r=0.5)"] > frac["L2"]
    for run in r["runs"]:
        assert sum(run["hist"]) == r["n_weights"] and 0.9 < run["test_accuracy"] <= 1.0


def test_augmentation_raises_test_accuracy(results):
    r, _ = results["augmentation"]
    # quick run: three subsets of 100 digits, gains +2.9, +1.1, +2.2 points
    assert r["mean_gain"] > 0.01
    assert all(run["accuracy_augmented"] > run["accuracy_plain"] for run in r["runs"])
    assert r["mean_gain"] == pytest.approx(r["mean_augmented"] - r["mean_plain"])


def test_dropout_curves(results):
    r, _ = results["dropout"]
    plain, drop = r["runs"]
    assert plain["p"] == 0 and drop["p"] == r["p"] == 0.5
    for run in r["runs"]:
        assert len(run["loss"]) == len(run["val_loss"]) == len(run["val_accuracy"]) == r["epochs"]
        assert run["best_val_loss"] == min(run["val_loss"])
    # dropout is active in the reported training loss: the thinned networks fit the training
    # set far less closely than the full network does
    assert drop["loss"][-1] > 3 * plain["loss"][-1]


def test_quick_runs_are_deterministic(results):
    assert weight_decay.run(quick=True) == results["weight-decay"][0]


@pytest.mark.parametrize(
    "name,kw,match",
    [
        ("early-stopping", {"patience": 0}, "patience"),
        ("weight-decay", {"lam": -1.0}, "lam"),
        ("augmentation", {"n_train": 55}, "n_train"),
        ("dropout", {"p": 1.0}, "p must"),
    ],
)
def test_bad_options(name, kw, match):
    with pytest.raises(ValueError, match=match):
        LABS[name].run(quick=True, **kw)


def test_experiment_options_reach_run_from_the_cli(tmp_path):
    assert main(["lab", "weight-decay", "--quick", "--out", str(tmp_path), "--lam", "0.002", "--epochs", "2"]) == 0
    with open(tmp_path / "weight-decay.json") as f:
        r = json.load(f)
    assert r["lam"] == 0.002 and r["epochs"] == 2 and all(math.isfinite(run["l1_norm"]) for run in r["runs"])
