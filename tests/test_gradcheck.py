"""Tests for mlplab.gradcheck: central differences agree with back-propagation for every
activation and loss (and with torch autograd), the check catches a wrong backward pass, and
its arguments are validated. All networks are small float64 ones (a few dozen parameters)."""

import numpy as np
import pytest
import torch

import mlplab as ml
from mlplab.gradcheck import numerical_grad
from mlplab.layers import Layer

K = 3


def _flat_torch_grads(tm):
    """torch's gradients in mlplab's flat layout: every dW (as W, i.e. weight.grad.T), then every db."""
    lins = [m for m in tm if isinstance(m, torch.nn.Linear)]
    return np.concatenate([m.weight.grad.numpy().T.ravel() for m in lins] + [m.bias.grad.numpy() for m in lins])


def _torch_flat_grads(model, case, X, y, torch_mirror):
    tm = torch_mirror(model)
    Xt = torch.tensor(X)
    if case.output is None:
        Z = P = tm(Xt)
    else:
        Z = tm[:-1](Xt)
        P = tm[-1](Z)
    case.torch_loss(Z, P, case.target(y, torch.float64), "mean").backward()
    return _flat_torch_grads(tm)


def test_every_activation_and_loss_pass_gradcheck(activation_name, model_loss_case, rng, torch_mirror, assert_rel):
    model = ml.MLP([3, 4, K], activation=activation_name, output=model_loss_case.output, dtype="float64", seed=3)
    for layer in model.layers:
        if isinstance(layer, ml.Dense):
            layer.b = rng.normal(scale=0.5, size=layer.b.shape)
    X = rng.normal(size=(5, 3))
    y = model_loss_case.make_y(rng, 5, K)
    err, analytic, numeric = ml.gradcheck(model, X, y, loss=model_loss_case.name, return_grads=True)
    assert err < 1e-6
    expected = _torch_flat_grads(model, model_loss_case, X, y, torch_mirror)
    assert_rel(analytic, expected, 1e-9, "back-propagated")
    # central differences: error ~ eps^2 f''' + machine eps / eps, far below 1e-6 here
    assert_rel(numeric, expected, 1e-6, "finite differences")


def test_gradcheck_with_regularizer_and_sample_weight(rng):
    model = ml.MLP([3, 5, 2], activation="tanh", output="softmax", dtype="float64", seed=0)
    X, y = rng.normal(size=(6, 3)), rng.integers(0, 2, size=6)
    w = rng.uniform(0.2, 2.0, size=6)
    assert ml.gradcheck(model, X, y, regularizer=ml.L2(0.1), sample_weight=w) < 1e-6
    assert ml.gradcheck(model, X, y, regularizer=ml.L1(0.01, include_bias=True)) < 1e-6


def test_gradcheck_of_a_float32_model_runs_in_float64_and_leaves_the_model_alone(rng):
    model = ml.MLP([3, 4, 1], activation="gelu", output="sigmoid", seed=0)
    before = model.get_weights()
    X, y = rng.normal(size=(5, 3)), rng.integers(0, 2, size=5)
    err, analytic, numeric = ml.gradcheck(model, X, y, return_grads=True)
    assert err < 1e-6 and analytic.dtype == np.float64 and numeric.dtype == np.float64
    assert model.dtype == np.float32
    np.testing.assert_array_equal(model.get_weights(), before)


def test_numerical_grad_matches_torch(rng, torch_mirror, assert_rel):
    model = ml.MLP([2, 3, 2], activation="softplus", dtype="float64", seed=0)
    X, y = rng.normal(size=(4, 2)), rng.normal(size=(4, 2))
    g = numerical_grad(model, X, y, ml.MSE())
    tm = torch_mirror(model)
    torch.nn.MSELoss()(tm(torch.tensor(X)), torch.tensor(y)).backward()
    assert_rel(g, _flat_torch_grads(tm), 1e-7)


class Scale(Layer):
    """Y = X * s, one factor per column; ds = sum_i X_i * dY_i, dX = dY * s.

    ``wrong=True`` doubles ds, the kind of bug gradcheck exists to find."""

    param_names = ("s",)

    def __init__(self, n, wrong=False):
        super().__init__()
        self.s = np.linspace(0.5, 1.5, n)
        self.ds = np.zeros(n)
        self.wrong = wrong

    def forward(self, X, training=False):
        self.X = X
        return X * self.s

    def backward(self, dY):
        self.ds[...] = (self.X * dY).sum(axis=0) * (2.0 if self.wrong else 1.0)
        return dY * self.s


class Cube(Layer):
    """Y = X^3, dX = 3 X^2 dY (or 2 X^2 dY with ``wrong=True``)."""

    def __init__(self, wrong=False):
        super().__init__()
        self.wrong = wrong

    def forward(self, X, training=False):
        self.X = X
        return X**3

    def backward(self, dY):
        return (2.0 if self.wrong else 3.0) * self.X**2 * dY


@pytest.mark.parametrize("make", [lambda w: Scale(4, w), lambda w: Cube(w)], ids=["Scale", "Cube"])
def test_gradcheck_works_on_custom_layers_and_catches_a_wrong_backward(make, rng):
    X, y = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))

    def model(wrong):
        return ml.Sequential([ml.Dense(3, 4, seed=0), make(wrong), ml.Tanh(), ml.Dense(4, 2, seed=1)], dtype="float64")

    assert ml.gradcheck(model(False), X, y, loss="mse") < 1e-6
    assert ml.gradcheck(model(True), X, y, loss="mse") > 1e-2


def test_gradcheck_validates_its_arguments(rng):
    model = ml.MLP([2, 3, 1], dtype="float64", seed=0)
    X, y = rng.normal(size=(4, 2)), rng.normal(size=4)
    for eps in (0.0, 1.0, 1, -1e-6, "1e-6"):
        with pytest.raises(ValueError, match=f"eps must be a number in \\(0, 1\\), got {eps!r}"):
            ml.gradcheck(model, X, y, eps=eps)
    dropped = ml.MLP([2, 3, 1], dtype="float64", dropout=0.5, seed=0)
    with pytest.raises(ValueError, match=r"model must be deterministic for gradcheck \(set Dropout p to 0"):
        ml.gradcheck(dropped, X, y)
    assert ml.gradcheck(ml.Sequential([ml.Dense(2, 3, seed=0), ml.Dropout(0.0), ml.Dense(3, 1, seed=1)]), X, y) < 1e-6
    with pytest.raises(
        ValueError, match=r"X must be of shape \(n_samples, 2\) \(the model has 2 inputs\), got shape \(4, 3\)"
    ):
        ml.gradcheck(model, rng.normal(size=(4, 3)), y)
