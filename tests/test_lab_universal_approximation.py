"""The universal-approximation lab: sup errors of one-hidden-layer networks against their width,
run through the command line with --quick; the theorem's claim and what it does not promise.

Oracles: numpy's own interpolation (np.interp) for the ReLU construction, the modulus of
continuity of f for the sigmoid staircase, the second derivative of f for the interpolation
bound h^2/8 max|f''|, the normal equations for the least-squares output layer. The quick run
is seeded, hence deterministic; the figures quoted in the docstrings come from it.
"""

from __future__ import annotations

import numpy as np
import pytest

from mlplab.cli import main
from mlplab.lab import universal_approximation as lab


@pytest.fixture(scope="module")
def quick(lab_quick):
    return lab_quick("universal-approximation")


def test_cli_run_data_and_table(quick):
    """(lab_quick checks the listing, the JSON and the PNG of the command line's run.)"""
    result, _ = quick
    assert result["experiment"] == "universal-approximation" and result["widths"] == [1, 4, 16, 64]
    assert list(result["errors"]) == list(lab.FUNCTIONS)
    for name, by_act in result["errors"].items():
        methods = (
            ["construction", "least_squares", "trained"]
            if lab.FUNCTIONS[name][0] == 1
            else ["least_squares", "trained"]
        )
        for act in ("sigmoid", "relu"):
            assert list(by_act[act]) == methods
            assert all(len(v) == 4 for v in by_act[act].values())
    text = lab.table(result)
    assert f"{result['errors']['wiggle']['relu']['trained'][-1]:.2e}" in text


def test_the_sup_error_falls_with_width(quick):
    """The theorem, made concrete. Quick run, least squares from k = 4 to 16 to 64, e.g. sin
    sigmoid 0.63, 8.4e-3, 2.8e-5; wiggle ReLU 0.90, 0.66, 0.22: it falls at every step and
    ends at most a third of the one-unit error, for every function and activation; the
    constructions never rise with k."""
    result, _ = quick
    for name, by_act in result["errors"].items():
        for act, by_method in by_act.items():
            ls = by_method["least_squares"]
            assert all(b < a for a, b in zip(ls[1:], ls[2:])), (name, act, ls)
            assert ls[-1] <= ls[0] / 3, (name, act, ls)
            if "construction" in by_method:
                c = by_method["construction"]
                assert all(b <= a for a, b in zip(c, c[1:])), (name, act, c)


def test_the_width_needed_grows_with_how_much_f_wiggles(quick):
    """The smallest k with sup error <= 0.05: ReLU construction 16 for sin, 64 for wiggle;
    sigmoid construction 64 for sin, more than 64 for wiggle (None); least squares likewise."""
    result, _ = quick
    need = result["needed"]
    for act in ("sigmoid", "relu"):
        for method in ("construction", "least_squares"):
            sin, wiggle = need["sin"][act][method], need["wiggle"][act][method]
            assert sin is not None and (wiggle is None or wiggle > sin), (act, method)


def test_training_may_not_find_what_exists(quick):
    """At 64 units the wiggle's construction (ReLU: 0.017) and least-squares fit (sigmoid:
    2e-4) are within 0.05, while the trained networks stay at 0.78 (sigmoid) and 0.93 (ReLU)."""
    result, _ = quick
    e = result["errors"]["wiggle"]
    best = min(e["relu"]["construction"][-1], e["sigmoid"]["least_squares"][-1])
    assert best <= result["target"]
    for act in ("sigmoid", "relu"):
        assert e[act]["trained"][-1] > 0.5 > 10 * best


@pytest.mark.parametrize("k", [1, 3, 16, 64])
def test_the_relu_construction_is_the_piecewise_linear_interpolant(k):
    """Checked against numpy's interpolation, and its error against h^2/8 max|f''|."""
    x = np.linspace(0, 1, 4001)
    for name in ("sin", "wiggle", "kink"):
        f = lab.FUNCTIONS[name][1]
        model = lab.construction(f, k, "relu")
        knots = np.arange(k + 1) / k
        np.testing.assert_allclose(model.predict(x[:, None])[:, 0], np.interp(x, knots, f(knots[:, None])), atol=1e-12)
        if name != "kink":
            fine = np.linspace(0, 1, 200001)
            h = fine[1] - fine[0]
            f2 = np.abs(np.diff(f(fine[:, None]), 2)).max() / h**2  # max |f''|, by second differences
            err = np.abs(model.predict(x[:, None])[:, 0] - f(x[:, None])).max()
            assert err <= (1 / k) ** 2 / 8 * f2 * 1.001


@pytest.mark.parametrize("k", [2, 8, 64])
def test_the_sigmoid_staircase_is_within_the_oscillation_of_f(k):
    """Error at most omega(f, 1/k) = max |f(x) - f(y)| over |x - y| <= 1/k (the proof's bound),
    plus the steps' tails exp(-20) times the total variation."""
    x = np.linspace(0, 1, 4001)
    for name in ("sin", "kink", "wiggle"):
        f = lab.FUNCTIONS[name][1]
        y = f(x[:, None])
        err = np.abs(lab.construction(f, k, "sigmoid").predict(x[:, None])[:, 0] - y).max()
        span = int(np.ceil(4000 / k))
        omega = max(np.abs(y[i : i + span + 1] - y[i]).max() for i in range(len(y)))  # windows of width 1/k
        assert err <= omega + 1e-6 * np.abs(np.diff(y)).sum()


def test_least_squares_gives_the_best_output_layer():
    """The output layer is the least-squares solution with singular values below 1e-6 of the
    largest cut (the directions that would blow up between the grid points): numpy's pseudo-
    inverse with that cut gives the same outputs; without a cut the residual on the grid is
    smaller, and that is the cut's price."""
    X = np.linspace(0, 1, 300)[:, None]
    y = lab.FUNCTIONS["wiggle"][1](X)
    W1, b1 = lab._random_units(1, "sigmoid", np.random.default_rng(0), n=40)
    model = lab.least_squares(X, y, W1, b1, "sigmoid")
    H1 = np.hstack([1 / (1 + np.exp(-(X @ W1 + b1))), np.ones((300, 1))])
    np.testing.assert_allclose(model.predict(X)[:, 0], H1 @ (np.linalg.pinv(H1, rcond=lab._RCOND) @ y), atol=1e-9)
    exact = H1 @ np.linalg.lstsq(H1, y, rcond=None)[0] - y
    assert np.linalg.norm(exact) <= np.linalg.norm(model.predict(X)[:, 0] - y)


def test_the_trained_network_takes_x_in_the_unit_interval():
    """Trained on 2x - 1, the scaling folded into the first layer: the same outputs on x."""
    X = np.linspace(0, 1, 50)[:, None]
    y = np.sin(2 * np.pi * X[:, 0])
    model = lab._trained(X, y, 8, "tanh", 20, seed=3)
    ref = lab.MLP([1, 8, 1], activation="tanh", seed=3)
    ref.fit(2 * X - 1, y, loss="mse", optimizer=lab.optim.Adam(lr=lab._LR), epochs=20, batch_size=None, verbose=0)
    np.testing.assert_allclose(model.predict(X), ref.predict(2 * X - 1), rtol=1e-5, atol=1e-6)


def test_options_and_errors(capsys):
    r = lab.run(quick=True, functions="kink", epochs=3)
    assert list(r["errors"]) == ["kink"] and r["epochs"] == 3
    for kwargs, word in (({"functions": "cos"}, "functions"), ({"epochs": 0}, "epochs")):
        with pytest.raises(ValueError, match=word):
            lab.run(quick=True, **kwargs)
    with pytest.raises(SystemExit):
        main(["lab", "universal-approximation", "--functions", "cos"])
    assert "--functions" in capsys.readouterr().err
