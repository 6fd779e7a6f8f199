"""The momentum lab: gradient descent, momentum, AdaGrad, RMSProp and Adam on an elongated bowl
and on a network, run through the command line with --quick; the lecture's claims in its data.

Oracles: on the quadratic bowl, gradient descent has the closed form theta_t = (I - lr H)^t
theta_0, and the lecture's momentum (v <- eta v - alpha grad, theta <- theta + v) is written
out by hand here; both must give the recorded paths. The quick run is seeded, hence
deterministic; the figures quoted come from it.
"""

from __future__ import annotations

import numpy as np
import pytest

from mlplab.cli import main
from mlplab.lab import momentum as lab

LABELS = ["GD", "momentum", "AdaGrad", "RMSProp", "Adam"]


@pytest.fixture(scope="module")
def quick(lab_quick):
    return lab_quick("momentum")


def test_cli_run_data_and_table(quick):
    """(lab_quick checks the listing, the JSON and the PNG of the command line's run.)"""
    result, _ = quick
    assert result["experiment"] == "momentum" and list(result["bowl"]) == LABELS == list(result["network"])
    assert result["network_setup"]["max_steps"] == 100
    for part, lrs in (("bowl", lab.BOWL_LRS), ("network", lab.NET_LRS)):
        for r in result[part].values():
            assert len(r["steps"]) == len(lrs)
            reached = [s for s in r["steps"] if s is not None]
            assert r["best_steps"] == min(reached) and r["best_lr"] == lrs[r["steps"].index(min(reached))]
    text = lab.table(result)
    for label in LABELS:
        assert label in text


def test_momentum_and_rmsprop_beat_gradient_descent_in_the_elongated_bowl(quick):
    """The lecture's claims. Quick run, updates to J < 1e-4 J0 at each one's best rate: GD 106
    (lr 0.0178, just below the stability limit 2/100), momentum 36, RMSProp 70 (AdaGrad 83,
    Adam 38)."""
    result, _ = quick
    steps = {label: r["best_steps"] for label, r in result["bowl"].items()}
    assert None not in steps.values()
    assert steps["momentum"] < steps["GD"] and steps["RMSProp"] < steps["GD"]
    assert result["bowl"]["GD"]["best_lr"] < 2 / lab.CURVATURES[1]  # GD's best rate is the largest stable one


def test_momentum_beats_gradient_descent_on_the_network(quick):
    """Full-batch on the digits network, updates to a training loss below 0.3: GD 35 (lr 1),
    momentum 10, Adam 12, RMSProp 24, AdaGrad 25. (To 0.1, with 300 updates, RMSProp needs
    96 against GD's 92: on this network the adaptive steps win less clearly than momentum.)"""
    result, _ = quick
    steps = {label: r["best_steps"] for label, r in result["network"].items()}
    assert steps["momentum"] < steps["GD"] and steps["Adam"] < steps["GD"]


def test_the_gradient_descent_path_is_the_closed_form():
    """theta_t = (I - lr H)^t theta_0 on J = 1/2 theta^T H theta; H has eigenvalues 1 and 100."""
    H = lab.Bowl().H
    np.testing.assert_allclose(np.linalg.eigvalsh(H), lab.CURVATURES, rtol=1e-12)
    lr = 0.0178
    loss, path = lab._descend("sgd", {}, lr, 50)
    theta0 = np.array(lab.START)
    for t in (0, 1, 7, 50):
        np.testing.assert_allclose(path[t], np.linalg.matrix_power(np.eye(2) - lr * H, t) @ theta0, rtol=1e-10)
        p = np.array(path[t])
        assert loss[t] == pytest.approx(0.5 * p @ H @ p, rel=1e-12)


def test_the_momentum_path_is_the_lecture_s_rule():
    """v <- eta v - alpha dJ/dtheta, theta <- theta + v (the lecture's two steps) gives torch's
    form's path when the learning rate is constant."""
    H, lr, eta = lab.Bowl().H, 0.01, 0.9
    _, path = lab._descend("sgd", {"momentum": eta}, lr, 40)
    theta, v = np.array(lab.START), np.zeros(2)
    for t in range(40):
        v = eta * v - lr * (H @ theta)
        theta = theta + v
        np.testing.assert_allclose(path[t + 1], theta, rtol=1e-9, atol=1e-12)


def test_a_diverging_rate_is_recorded_as_not_reached():
    loss, path = lab._descend("sgd", {}, 1.0, 100)
    assert loss[-1] > 1e6 and len(path) < 100
    assert lab._steps_to(loss, 1e-3) is None


def test_options_and_errors(capsys):
    r = lab.run(quick=True, steps=3)
    assert r["network_setup"]["max_steps"] == 3 and all(len(n["loss"]) <= 3 for n in r["network"].values())
    with pytest.raises(ValueError, match="steps"):
        lab.run(quick=True, steps=0)
    with pytest.raises(SystemExit):
        main(["lab", "momentum", "--steps", "0"])
    assert "--steps" in capsys.readouterr().err
