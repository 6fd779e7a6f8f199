"""The activations lab: sigmoid's vanishing gradient vs ReLU, its data, oracles, table, figure and CLI."""

import json
import math

import numpy as np
import pytest
import torch

from mlplab import activations, datasets
from mlplab.cli import main
from mlplab.lab import activations as lab
from mlplab.model import MLP

#: cross-entropy of a prediction that knows only the class frequencies of the (nearly
#: balanced, about 180 images per digit) training set: -sum_k p_k ln p_k ~ ln 10
CHANCE_LOSS = math.log(10)


@pytest.fixture(scope="module")
def quick():
    return lab.run(quick=True)


def by_name(result, name):
    (r,) = [r for r in result["runs"] if r["activation"] == name]
    return r


def test_quick_run_layout(quick):
    assert [r["activation"] for r in quick["runs"]] == list(lab.ACTIVATIONS)
    assert quick["sizes"] == [64, *[quick["width"]] * quick["depth"], 10]
    for r in quick["runs"]:
        assert len(r["grad_norms"]) == quick["depth"] + 1
        assert not r["diverged"] and len(r["loss"]) == quick["epochs"] and r["final_loss"] == r["loss"][-1]
        assert r["ratio"] == pytest.approx(r["grad_norms"][0] / r["grad_norms"][-1], rel=1e-12)
        # MLP's default initialiser: He for the ReLU family, Glorot otherwise
        assert r["init"] == ("he" if r["activation"] in activations.RELU_FAMILY else "glorot")
    json.dumps(quick, allow_nan=False)


def test_sigmoid_gradient_vanishes_relu_does_not(quick):
    """(a) At initialisation sigmoid's first-layer gradient is orders of magnitude below its
    output layer's, shrinking at every layer on the way back; ReLU's stays within 10x of it."""
    sig, relu = by_name(quick, "sigmoid"), by_name(quick, "relu")
    assert quick["depth"] >= 6
    assert sig["ratio"] < 1e-3
    assert all(a < b for a, b in zip(sig["grad_norms"], sig["grad_norms"][1:]))
    assert 0.1 < relu["ratio"] < 10.0


@pytest.mark.parametrize("name", ["sigmoid", "relu"])
def test_gradient_norms_match_torch_autograd(quick, name, torch_mirror, torch_grads):
    """Oracle for (a): the same network (rebuilt from the recorded sizes, seed and split) as a
    torch nn.Sequential of Linear / activation with mlplab's weights (torch weight = W.T),
    softmax left to cross_entropy; per-layer ||dW|| from autograd agree within 1e-4 relative
    in float32, each layer on its own scale (sigmoid's first layer is 1e5 times smaller)."""
    r = by_name(quick, name)
    X, y = datasets.load_digits()
    Xtr, _, ytr, _ = datasets.train_test_split(
        X, y, test_size=quick["test_size"], random_state=quick["seed"], stratify=y
    )
    assert len(ytr) == quick["n_train"]
    model = MLP(quick["sizes"], activation=name, output="softmax", seed=quick["seed"], dtype=quick["dtype"])
    net = torch_mirror(model, torch.float32)
    assert isinstance(net[-1], torch.nn.Softmax)
    logits = net[:-1](torch.tensor(Xtr, dtype=torch.float32))
    J = torch.nn.functional.cross_entropy(logits, torch.tensor(ytr))
    J.backward()
    dWs = torch_grads(net)[::2]
    assert len(dWs) == quick["depth"] + 1
    expected = [float(np.linalg.norm(dW.astype(np.float64))) for dW in dWs]
    np.testing.assert_allclose(r["grad_norms"], expected, rtol=1e-4, atol=0)
    assert r["init_loss"] == pytest.approx(J.item(), rel=1e-5)


def test_relu_trains_sigmoid_does_not(quick):
    """(b) Same epochs, learning rate and batches: ReLU's training loss ends far below sigmoid's,
    which stays at the loss of a network that only knows the class frequencies."""
    sig, relu = by_name(quick, "sigmoid"), by_name(quick, "relu")
    assert relu["final_loss"] < 0.5 * sig["final_loss"]
    assert sig["final_loss"] == pytest.approx(CHANCE_LOSS, rel=0.05)
    assert relu["test_accuracy"] > sig["test_accuracy"] + 0.3
    # why: the deep sigmoid net maps every image to nearly the same last hidden vector
    assert sig["last_hidden_spread"] < 1e-3 * relu["last_hidden_spread"]


def test_sigmoid_max_derivative_is_a_quarter(quick):
    """(c) s'(z) = s(1 - s) <= 1/4 (AM-GM), equality at s = 1/2, i.e. z = 0, on the grid."""
    sig = by_name(quick, "sigmoid")
    assert abs(sig["max_derivative"] - 0.25) < 1e-6
    assert sig["argmax_z"] == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("name", list(lab.ACTIVATIONS))
def test_max_derivative_matches_torch_autograd(quick, name, torch_module):
    """Each recorded max f' equals the max of torch autograd's derivative on the same grid."""
    r, g = by_name(quick, name), quick["grid"]
    z = torch.linspace(g["start"], g["stop"], g["num"], dtype=torch.float64).reshape(1, -1).requires_grad_()
    torch_module(activations.get(name))(z).sum().backward()
    assert r["max_derivative"] == pytest.approx(float(z.grad.max()), rel=1e-9)


def test_table_and_plot(quick, tmp_path):
    text = lab.table(quick)
    for r in quick["runs"]:
        assert r["activation"] in text and f"{r['ratio']:.3e}" in text and f"{r['final_loss']:.4f}" in text
    path = lab.plot(quick, tmp_path / "fig" / "activations.png")
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    "kwargs, arg",
    [
        ({"depth": 0}, "depth"),
        ({"width": 1.5}, "width"),
        ({"activations": []}, "activations"),
        ({"activations": ["softmax"]}, "activations"),
        ({"activations": ["relu", "relu"]}, "activations"),
        ({"activations": "relu"}, "activations"),
        ({"lr": float("nan")}, "lr"),
        ({"epochs": 0}, "epochs"),
    ],
)
def test_bad_options(kwargs, arg):
    with pytest.raises(ValueError, match=arg):
        lab.run(quick=True, **kwargs)


def test_cli_writes_json_and_png(tmp_path, capsys):
    assert main(["lab", "activations", "--quick", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "sigmoid" in out and "first/last" in out and "wrote" in out
    with open(tmp_path / "activations.json") as f:
        data = json.load(f)
    assert data["experiment"] == "activations" and data["quick"] is True
    assert (tmp_path / "activations.png").stat().st_size > 0


def test_cli_options(tmp_path, capsys):
    assert (
        main(
            [
                "lab",
                "activations",
                "--quick",
                "--activations",
                "sigmoid,relu",
                "--depth",
                "3",
                "--width",
                "16",
                "--lr",
                "0.1",
                "--epochs",
                "1",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    with open(tmp_path / "activations.json") as f:
        data = json.load(f)
    assert [r["activation"] for r in data["runs"]] == ["sigmoid", "relu"]
    assert data["sizes"] == [64, 16, 16, 16, 10] and data["lr"] == 0.1 and data["epochs"] == 1
    with pytest.raises(SystemExit):
        main(["lab", "activations", "--depth", "0"])
    assert "--depth" in capsys.readouterr().err


def test_listed_by_mlplab_lab(capsys):
    assert main(["lab"]) == 0
    assert "activations" in capsys.readouterr().out
