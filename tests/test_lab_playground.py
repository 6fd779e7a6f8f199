"""The playground lab: decision surfaces of MLPs of growing capacity on the four playground
problems, run through the command line with --quick; the lecture's claims in its data.

The quick run is seeded, hence deterministic; the figures quoted in comments come from it.
The oracles: PyTorch, rebuilding each stored network from its stored weights, recomputes the
grid of probabilities and the accuracies; the generators' definitions (mlplab.datasets) give
the true boundaries of circle (radius 0.6 between the disk <= 0.5 and the ring >= 0.7) and
xor (the axes).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from mlplab import datasets
from mlplab.cli import main
from mlplab.lab import playground as lab

TORCH_ACT = {"tanh": torch.tanh, "relu": torch.relu}


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """``mlplab lab playground --quick --out DIR`` once: (result, folder)."""
    folder = tmp_path_factory.mktemp("playground")
    assert main(["lab", "playground", "--quick", "--out", str(folder)]) == 0
    with open(folder / "playground.json") as f:
        return json.load(f), folder


def runs_of(result, problem):
    """{number of hidden layers: run} for one problem."""
    return {len(r["sizes"]) - 2: r for r in result["runs"] if r["problem"] == problem}


def grid_points(extent, k):
    """Cell centres (X1, X2), each (k, k), row i at x2_i (bottom to top), column j at x1_j."""
    x1 = extent[0] + (np.arange(k) + 0.5) * (extent[1] - extent[0]) / k
    x2 = extent[2] + (np.arange(k) + 0.5) * (extent[3] - extent[2]) / k
    return np.meshgrid(x1, x2)


def torch_p(run, X, activation):
    """sigmoid output of the stored network at the rows of X, in float64 torch."""
    A = torch.tensor(np.asarray(X, dtype=np.float64))
    layers = run["weights"]
    for i, layer in enumerate(layers):
        A = A @ torch.tensor(layer["W"], dtype=torch.float64) + torch.tensor(layer["b"], dtype=torch.float64)
        if i < len(layers) - 1:
            A = TORCH_ACT[activation](A)
    return torch.sigmoid(A)[:, 0].numpy()


def test_cli_writes_json_png_and_table(quick):
    result, folder = quick
    assert result["experiment"] == "playground" and result["quick"] is True and result["seed"] == 0
    json.dumps(result, allow_nan=False)  # plain JSON
    png = (folder / "playground.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    assert result["problems"] == list(lab.PROBLEMS)
    assert result["architectures"] == [[2, 1], [2, 4, 1], [2, 8, 8, 1], [2, 16, 16, 16, 1]]
    assert [(r["problem"], r["sizes"]) for r in result["runs"]] == [
        (p, s) for p in result["problems"] for s in result["architectures"]
    ]
    text = lab.table(result)
    assert text.count("\n") == 2 + len(result["problems"])
    for r in result["runs"]:
        assert f"{r['test_accuracy']:.3f}" in text


def test_playground_is_listed_with_its_description(capsys):
    assert main(["lab"]) == 0
    assert "playground " in capsys.readouterr().out


def test_a_linear_separator_fails_on_xor_and_circle_a_hidden_layer_succeeds(quick):
    """The lecture's claim. Quick run, test accuracy: circle 0.555 without a hidden layer,
    0.980 / 0.995 / 0.995 with; xor 0.500, then 0.940 / 0.940 / 0.955."""
    result, _ = quick
    for problem in ("xor", "circle"):
        runs = runs_of(result, problem)
        assert runs[0]["sizes"] == [2, 1]
        assert runs[0]["test_accuracy"] < 0.75
        assert runs[0]["train_accuracy"] < 0.75  # not overfitting: a line cannot split them at all
        for depth in (1, 2, 3):
            assert runs[depth]["test_accuracy"] >= 0.9


def test_gaussian_needs_no_hidden_layer_and_spiral_needs_the_deepest(quick):
    """Blobs are linearly separable (0.99 for every network); the spiral is only separated by
    [2, 16, 16, 16, 1] (test accuracy 0.60, 0.60, 0.775, 0.965)."""
    result, _ = quick
    assert runs_of(result, "gaussian")[0]["test_accuracy"] >= 0.95
    spiral = runs_of(result, "spiral")
    assert spiral[0]["test_accuracy"] < 0.75 and spiral[1]["test_accuracy"] < 0.75
    assert spiral[3]["test_accuracy"] >= 0.9


def test_capacity_raises_training_accuracy_and_lowers_training_loss(quick):
    """Per problem, along [2, 1], [2, 4, 1], [2, 8, 8, 1], [2, 16, 16, 16, 1]: training
    accuracy never drops (spiral: 0.57, 0.585, 0.76, 1.0) and the final training loss falls."""
    result, _ = quick
    for problem in result["problems"]:
        runs = [runs_of(result, problem)[d] for d in range(4)]
        acc = [r["train_accuracy"] for r in runs]
        assert acc == sorted(acc)
        final = [r["loss"][-1] for r in runs]
        assert final == sorted(final, reverse=True)
        for r in runs:
            assert len(r["loss"]) == result["epochs"] == 400
            assert all(math.isfinite(v) for v in r["loss"]) and r["loss"][-1] < r["loss"][0]


def test_grid_shape_range_and_extent(quick):
    result, _ = quick
    k = result["resolution"]
    assert k == 40
    for problem in result["problems"]:
        d = result["data"][problem]
        lo, hi, lo2, hi2 = d["extent"]
        assert lo == lo2 == -hi and hi2 == hi >= 1.2
        for key in ("X_train", "X_test"):
            X = np.asarray(d[key])
            assert X.shape[1] == 2 and np.abs(X).max() <= hi  # every point is inside the panel
        assert len(d["X_train"]) + len(d["X_test"]) == result["n"]
        for r in runs_of(result, problem).values():
            P = np.asarray(r["p"])
            assert P.shape == (k, k)
            assert P.min() >= 0.0 and P.max() <= 1.0


def test_stored_data_is_the_generators_split(quick):
    """The points are the seeded generator's, split as train_test_split does with the seed."""
    result, _ = quick
    for problem in result["problems"]:
        X, y = getattr(datasets, problem)(n=result["n"], noise=result["noise"], seed=result["seed"])
        Xtr, Xte, ytr, yte = datasets.train_test_split(X, y, test_size=0.5, random_state=result["seed"], stratify=y)
        d = result["data"][problem]
        np.testing.assert_array_equal(np.asarray(d["X_train"]), Xtr)
        np.testing.assert_array_equal(np.asarray(d["y_test"]), yte)


def test_grid_and_accuracies_match_a_torch_forward_pass(quick):
    """PyTorch, from the stored weights, gives the stored grid (rounded to 5 decimals; the
    model runs in float32) and the stored training and test accuracies."""
    result, _ = quick
    k = result["resolution"]
    for r in result["runs"]:
        d = result["data"][r["problem"]]
        assert [len(layer["W"]) for layer in r["weights"]] == r["sizes"][:-1]
        X1, X2 = grid_points(d["extent"], k)
        P = torch_p(r, np.stack([X1.ravel(), X2.ravel()], axis=1), result["activation"]).reshape(k, k)
        np.testing.assert_allclose(np.asarray(r["p"]), P, rtol=0, atol=5e-5, err_msg=str(r["sizes"]))
        for split in ("train", "test"):
            p = torch_p(r, d[f"X_{split}"], result["activation"])
            assert r[f"{split}_accuracy"] == np.mean((p >= 0.5) == np.asarray(d[f"y_{split}"]))


def test_grid_boundary_follows_the_true_one_on_circle_and_xor(quick):
    """With a hidden layer, p > 0.5 on the grid agrees with the generator's own boundary
    (disk of radius 0.6; x1 x2 > 0) on >= 90 % of the grid (quick run: 93 to 98 %); without,
    the linear boundary cuts the square roughly in half (51 % and 49 % of the grid on the blue side)."""
    result, _ = quick
    k = result["resolution"]
    for problem, truth in (("circle", lambda a, b: np.hypot(a, b) < 0.6), ("xor", lambda a, b: a * b > 0)):
        X1, X2 = grid_points(result["data"][problem]["extent"], k)
        runs = runs_of(result, problem)
        for depth in (1, 2, 3):
            blue = np.asarray(runs[depth]["p"]) > 0.5
            assert 0.0 < blue.mean() < 1.0
            assert (blue == truth(X1, X2)).mean() >= 0.9
        assert 0.3 < (np.asarray(runs[0]["p"]) > 0.5).mean() < 0.7


def test_options_reach_the_run(capsys):
    assert (
        main(
            [
                "lab",
                "playground",
                "--quick",
                "--problems",
                "xor",
                "--epochs",
                "3",
                "--activation",
                "relu",
                "--noise",
                "0",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "relu hidden units" in out and "3 epochs" in out and "noise 0" in out
    assert "xor" in out and "circle" not in out


def test_run_returns_what_was_asked():
    r = lab.run(quick=True, problems="gaussian,xor", epochs=2, activation="relu", noise=0.0)
    assert r["problems"] == ["gaussian", "xor"] and r["activation"] == "relu" and r["noise"] == 0.0
    assert [len(run["loss"]) for run in r["runs"]] == [2] * 8


@pytest.mark.parametrize(
    "kwargs, word",
    [
        ({"problems": "moons"}, "problems"),
        ({"problems": ["xor", "xor"]}, "problems"),
        ({"problems": []}, "problems"),
        ({"noise": -0.1}, "noise"),
        ({"noise": float("nan")}, "noise"),
        ({"activation": "softmax"}, "activation"),
        ({"activation": "swish"}, "activation"),
        ({"epochs": 0}, "epochs"),
        ({"epochs": 2.5}, "epochs"),
    ],
)
def test_bad_options_are_rejected(kwargs, word):
    with pytest.raises(ValueError, match=word):
        lab.run(quick=True, **kwargs)


def test_bad_command_line_options_exit_with_usage(capsys):
    with pytest.raises(SystemExit):
        main(["lab", "playground", "--quick", "--problems", "moons"])
    assert "--problems" in capsys.readouterr().err
