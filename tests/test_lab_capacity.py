"""The capacity lab: training accuracy over depth x width on spiral, circle and xor, run through
the command line with --quick; the lecture's claim in its data.

The quick run is seeded, hence deterministic; the figures quoted come from it. The oracle of
the accuracies is PyTorch, which rebuilds each stored network from its stored weights.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mlplab.cli import main
from mlplab.lab import capacity as lab


@pytest.fixture(scope="module")
def quick(lab_quick):
    return lab_quick("capacity")


def test_cli_run_data_and_table(quick):
    """(lab_quick checks the listing, the JSON and the PNG of the command line's run.)"""
    result, _ = quick
    assert result["experiment"] == "capacity" and result["quick"] is True
    assert result["depths"] == [1, 2] and result["widths"] == [2, 8, 32]
    assert [(r["problem"], r["depth"], r["width"]) for r in result["runs"]] == [
        (p, d, w) for p in ("spiral", "circle", "xor") for d in (1, 2) for w in (2, 8, 32)
    ]
    for r in result["runs"]:
        assert r["sizes"] == [2, *[r["width"]] * r["depth"], 1]
    text = lab.table(result)
    for r in result["runs"]:
        assert f"{r['train_accuracy']:.3f} ({r['test_accuracy']:.3f})" in text


def test_training_accuracy_grows_along_the_grid(quick):
    """The lecture's claim. Quick run, training accuracy (rows: depth 1, 2; columns: width 2,
    8, 32): spiral 0.530 0.770 0.755 / 0.565 0.760 1.000; circle 0.845 1 1 / 0.880 1 1; xor
    0.675 1 1 / 0.700 1 1. Along every row and column it never drops by more than 0.02
    (what Adam leaves unfinished: spiral 1 x 32 at 0.755 after 1 x 8 at 0.770), the mean of
    every row and column grows, and the largest network separates what the smallest cannot."""
    result, _ = quick
    for problem in result["problems"]:
        acc = lab.accuracy_grid(result, problem)
        assert (np.diff(acc, axis=1) >= -0.02).all() and (np.diff(acc, axis=0) >= -0.02).all(), problem
        assert (np.diff(acc.mean(axis=1)) > 0).all() and (np.diff(acc.mean(axis=0)) >= 0).all(), problem
        assert acc[-1, -1] >= 0.99 and acc[0, 0] <= acc[-1, -1] - 0.1, problem
    spiral = lab.accuracy_grid(result, "spiral")
    assert spiral[0, 0] < 0.6 and (np.diff(spiral.mean(axis=0)) > 0.1).all()


def test_accuracies_match_a_torch_forward_pass(quick):
    result, _ = quick
    for r in result["runs"][::3]:
        d = result["data"][r["problem"]]
        for split in ("train", "test"):
            A = torch.tensor(d[f"X_{split}"], dtype=torch.float64)
            for i, layer in enumerate(r["weights"]):
                A = A @ torch.tensor(layer["W"], dtype=torch.float64) + torch.tensor(layer["b"], dtype=torch.float64)
                A = torch.tanh(A) if i < len(r["weights"]) - 1 else torch.sigmoid(A)
            pred = (A[:, 0] >= 0.5).numpy()
            assert r[f"{split}_accuracy"] == np.mean(pred == np.asarray(d[f"y_{split}"]))


def test_options_and_errors(capsys):
    r = lab.run(quick=True, problems="xor", epochs=2, noise=0.0)
    assert r["problems"] == ["xor"] and r["epochs"] == 2 and len(r["runs"]) == 6
    assert all(len(run["loss"]) == 2 for run in r["runs"])
    for kwargs, word in (({"problems": "moons"}, "problems"), ({"epochs": 0}, "epochs"), ({"noise": -1}, "noise")):
        with pytest.raises(ValueError, match=word):
            lab.run(quick=True, **kwargs)
    with pytest.raises(SystemExit):
        main(["lab", "capacity", "--problems", "moons"])
    assert "--problems" in capsys.readouterr().err
