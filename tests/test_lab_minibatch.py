"""The minibatch lab: gradient noise against the batch size, and loss curves at equal samples
seen, run through the command line with --quick; the lecture's note in its data.

Oracles: sampling theory (the variance of the mean of B of n vectors drawn without
replacement, sigma^2 / B (n - B) / (n - 1)) from the per-sample gradients, which PyTorch
recomputes. The quick run is seeded, hence deterministic; the figures quoted come from it.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import mlplab as ml
from mlplab import datasets
from mlplab.cli import main
from mlplab.lab import minibatch as lab


@pytest.fixture(scope="module")
def quick(lab_quick):
    return lab_quick("minibatch")


def test_cli_run_data_and_table(quick):
    """(lab_quick checks the listing, the JSON and the PNG of the command line's run.)"""
    result, _ = quick
    v, n = result["variance"], result["n"]
    assert result["experiment"] == "minibatch" and n == 1347
    assert v["batch_sizes"] == [1, 4, 16, 64, 256, n] and result["curve_sizes"] == [1, 16, n]
    assert [c["updates"] for c in result["curves"]] == [8 * 1347, 8 * 85, 8]
    text = lab.table(result)
    assert f"{v['measured'][0]:.4g}" in text and f"{result['curves'][0]['loss'][-1]:.4f}" in text


def test_the_gradient_noise_falls_like_one_over_b(quick):
    """The lecture's note, measured. Quick run: mean ||g_B - g||^2 is 16.6, 4.12, 1.04, 0.234,
    0.047 for B = 1, 4, 16, 64, 256, within 10 % of sigma^2 / B (n - B) / (n - 1) (sigma^2 =
    16.3); B times it is 16.6, 16.5, 16.7, 15.0 up to B = 64 (log-log slope -1.03); it is 0
    (to rounding) for the full batch."""
    result, _ = quick
    v = result["variance"]
    for B, m, t in zip(v["batch_sizes"][:-1], v["measured"][:-1], v["theory"][:-1]):
        assert 0.85 < m / t < 1.15, B
    small = [(B, m) for B, m in zip(v["batch_sizes"], v["measured"]) if B <= 64]
    slope = np.polyfit(np.log([B for B, _ in small]), np.log([m for _, m in small]), 1)[0]
    assert -1.1 < slope < -0.95
    assert v["measured"][-1] < 1e-25 * v["measured"][0] and v["theory"][-1] == 0.0


def test_too_small_a_batch_does_not_converge_at_a_rate_that_suits_larger_ones(quick):
    """SGD at lr 0.2, 8 epochs each: full training loss 0.385 for B = 1 (26940 noisy updates),
    0.204 for B = 16, 1.95 for the full batch (8 updates)."""
    result, _ = quick
    final = {c["batch_size"]: c["loss"][-1] for c in result["curves"]}
    assert final[1] > 1.5 * final[16]
    assert final[result["n"]] > 4 * final[1]


def test_per_sample_gradients_match_torch():
    X, y = datasets.load_digits()
    model = ml.MLP([64, 8, 10], activation="relu", output="softmax", dtype="float64", seed=0)
    G, g = lab._per_sample(model, X[:20], y[:20])
    np.testing.assert_allclose(G.mean(axis=0), g, rtol=0, atol=1e-15)
    dense = [layer for layer in model.layers if isinstance(layer, ml.Dense)]
    Ws = [torch.tensor(d.W, requires_grad=True) for d in dense]
    bs = [torch.tensor(d.b, requires_grad=True) for d in dense]
    for i in (0, 7, 19):
        Z = torch.relu(torch.tensor(X[i : i + 1]) @ Ws[0] + bs[0]) @ Ws[1] + bs[1]
        grads = torch.autograd.grad(torch.nn.functional.cross_entropy(Z, torch.tensor(y[i : i + 1])), Ws + bs)
        expected = np.concatenate([t.numpy().ravel() for t in grads])  # weights first, then biases
        np.testing.assert_allclose(G[i], expected, rtol=1e-12, atol=1e-15)


def test_options_and_errors(capsys):
    r = lab.run(quick=True, lr=0.01, epochs=1)
    assert r["lr"] == 0.01 and all(len(c["loss"]) == 1 for c in r["curves"])
    for kwargs, word in (({"lr": 0}, "lr"), ({"epochs": 0}, "epochs")):
        with pytest.raises(ValueError, match=word):
            lab.run(quick=True, **kwargs)
    with pytest.raises(SystemExit):
        main(["lab", "minibatch", "--lr", "-1"])
    assert "--lr" in capsys.readouterr().err
