"""The optimizer lab: the lecture's "SGD vs. Adam" figure, its data, table, figure and CLI."""

import json
import math
import os

import pytest

from mlplab.cli import main
from mlplab.lab import optimizers as lab

LABELS = ["SGD", "momentum", "Nesterov", "AdaGrad", "RMSProp", "Adam"]


@pytest.fixture(scope="module")
def quick():
    return lab.run(quick=True)


def final(result, label, lr):
    (r,) = [r for r in result["runs"] if r["optimizer"] == label and r["lr"] == lr]
    return r


def test_quick_run_covers_every_optimizer_and_lr(quick):
    assert list(quick["optimizers"]) == LABELS
    assert 1e-3 in quick["lrs"] and len(quick["lrs"]) >= 2
    assert [(r["optimizer"], r["lr"]) for r in quick["runs"]] == [(o, lr) for o in LABELS for lr in quick["lrs"]]
    for r in quick["runs"]:
        if not r["diverged"]:
            assert len(r["loss"]) == len(r["val_loss"]) == quick["epochs"]
            assert r["final_loss"] == r["loss"][-1] and r["final_val_loss"] == r["val_loss"][-1]
    json.dumps(quick, allow_nan=False)  # plain JSON, no NaN


def test_adam_beats_plain_sgd_at_lr_1e_3(quick):
    """The lecture's figure: at lr = 1e-3, Adam's training loss ends below plain SGD's."""
    assert quick["dataset"] == "spiral"
    adam, sgd = final(quick, "Adam", 1e-3), final(quick, "SGD", 1e-3)
    assert not adam["diverged"] and not sgd["diverged"]
    assert adam["final_loss"] < sgd["final_loss"]


def test_every_run_starts_from_the_same_weights_and_batches():
    """With a learning rate of 1e-12 nothing moves in one epoch, so every optimizer reports
    the initial network's loss on the same batches: equal first-epoch losses."""
    res = lab.run(quick=True, lrs=[1e-12], epochs=1)
    losses = [r["loss"][0] for r in res["runs"]]
    assert len(losses) == len(LABELS)
    assert max(losses) - min(losses) <= 1e-6 * losses[0]


def test_diverged_runs_are_recorded_not_raised():
    res = lab.run(quick=True, lrs=[1e4], epochs=3)
    diverged = [r for r in res["runs"] if r["diverged"]]
    assert {r["optimizer"] for r in diverged} >= {"SGD", "momentum"}
    for r in diverged:
        assert r["final_loss"] is None and r["final_val_loss"] is None
        assert all(v is None or math.isfinite(v) for v in r["loss"])
    assert "diverged" in lab.table(res)
    json.dumps(res, allow_nan=False)


def test_digits_task(tmp_path):
    res = lab.run(quick=True, dataset="digits", lrs=[1e-3, 1e-1], epochs=2)
    assert res["dataset"] == "digits" and res["sizes"][0] == 64 and res["sizes"][-1] == 10
    assert len(res["runs"]) == 2 * len(LABELS)
    assert os.path.getsize(lab.plot(res, tmp_path / "digits.png")) > 0


def test_table_and_plot(quick, tmp_path):
    text = lab.table(quick)
    for label in LABELS:
        assert label in text
    assert f"{final(quick, 'Adam', 1e-3)['final_loss']:.4f}" in text
    path = lab.plot(quick, tmp_path / "fig" / "optimizers.png")
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    "kwargs, arg",
    [({"dataset": "mnist"}, "dataset"), ({"lrs": [0.1, -1]}, "lrs"), ({"lrs": []}, "lrs"), ({"epochs": 0}, "epochs")],
)
def test_bad_options(kwargs, arg):
    with pytest.raises(ValueError, match=arg):
        lab.run(quick=True, **kwargs)


def test_cli_writes_json_and_png(tmp_path, capsys):
    assert main(["lab", "optimizers", "--quick", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Adam" in out and "wrote" in out
    with open(tmp_path / "optimizers.json") as f:
        data = json.load(f)
    assert data["dataset"] == "spiral" and data["quick"] is True
    assert (tmp_path / "optimizers.png").stat().st_size > 0


def test_cli_options(tmp_path, capsys):
    assert (
        main(
            [
                "lab",
                "optimizers",
                "--quick",
                "--dataset",
                "digits",
                "--lrs",
                "0.01",
                "--epochs",
                "1",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    with open(tmp_path / "optimizers.json") as f:
        data = json.load(f)
    assert data["dataset"] == "digits" and data["lrs"] == [0.01] and data["epochs"] == 1
    with pytest.raises(SystemExit):
        main(["lab", "optimizers", "--dataset", "mnist"])
    assert "invalid choice: 'mnist'" in capsys.readouterr().err


def test_listed_by_mlplab_lab(capsys):
    assert main(["lab"]) == 0
    assert "optimizers" in capsys.readouterr().out
