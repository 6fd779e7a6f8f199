"""Tests of mlplab.regularizers: penalties and gradients against torch and finite differences,
the bias option, what fit reports, the coupled-decay identity with torch's SGD weight_decay,
and argument checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import mlplab as ml
from mlplab import regularizers

LAM = 0.037  # arbitrary, large enough for the penalty to weigh in J and its gradient


def _torch_penalty(name, params, lam, r=None):
    """The penalty written out in torch on the given tensors (the lecture's formulas)."""
    l1 = sum(p.abs().sum() for p in params)
    l2 = sum((p * p).sum() for p in params)
    if name == "l2":
        return 0.5 * lam * l2
    if name == "l1":
        return lam * l1
    return r * lam * l1 + (1 - r) * lam * 0.5 * l2


PENALTIES = [
    ("l2", lambda b: ml.L2(LAM, include_bias=b), None),
    ("l1", lambda b: ml.L1(LAM, include_bias=b), None),
    ("elastic_net", lambda b: ml.ElasticNet(LAM, r=0.3, include_bias=b), 0.3),
]


def _problem(rng):
    # tanh: no kink within the finite-difference step, so the check needs no luck
    model = ml.MLP([4, 6, 5, 3], activation="tanh", output="softmax", dtype="float64", seed=3)
    X = rng.normal(size=(9, 4))
    y = rng.integers(0, 3, size=9)
    return model, X, y


@pytest.mark.parametrize("include_bias", [False, True], ids=["weights", "with-bias"])
@pytest.mark.parametrize("name,make,r", PENALTIES, ids=[p[0] for p in PENALTIES])
def test_objective_and_gradient_match_torch(name, make, r, include_bias, rng, torch_mirror, torch_grads, assert_rel):
    model, X, y = _problem(rng)
    reg = make(include_bias)
    J = model.loss_and_grad(X, y, "cross_entropy", reg)
    grads = [g.copy() for g in model.grads()]

    tm = torch_mirror(model)
    # the model without its softmax gives the logits CrossEntropyLoss wants
    logits = tm[:-1](torch.tensor(X))
    data = torch.nn.CrossEntropyLoss()(logits, torch.tensor(y))
    linears = [m for m in tm if isinstance(m, torch.nn.Linear)]
    params = [m.weight for m in linears] + ([m.bias for m in linears] if include_bias else [])
    Jt = data + _torch_penalty(name, params, LAM, r)
    Jt.backward()

    assert_rel(J, Jt.item(), 1e-9, "J")
    assert_rel(model._data_loss, data.item(), 1e-9, "data term")
    for i, (g, gt) in enumerate(zip(grads, torch_grads(tm))):
        assert_rel(g, gt, 1e-9, f"grad {i}")


@pytest.mark.parametrize("include_bias", [False, True], ids=["weights", "with-bias"])
@pytest.mark.parametrize("name,make,r", PENALTIES, ids=[p[0] for p in PENALTIES])
def test_gradcheck_with_each_penalty(name, make, r, include_bias, rng):
    model, X, y = _problem(rng)
    assert ml.gradcheck(model, X, y, "cross_entropy", regularizer=make(include_bias)) < 1e-7


def test_penalty_acts_on_weights_only_unless_include_bias(rng):
    model, X, y = _problem(rng)
    theta = model.flat_params()
    W = np.concatenate([layer.W.ravel() for layer in model.layers if isinstance(layer, ml.Dense)])
    # oracle: the formulas evaluated directly on the arrays, in float64
    assert ml.L2(LAM).penalty(theta[: model.n_weights]) == pytest.approx(0.5 * LAM * (W**2).sum(), rel=1e-12)
    J0 = model.loss_and_grad(X, y, "cross_entropy")
    g0 = model.flat_grads().copy()
    J = model.loss_and_grad(X, y, "cross_entropy", ml.L1(LAM))
    assert J - J0 == pytest.approx(LAM * np.abs(W).sum(), rel=1e-10)
    g = model.flat_grads()
    np.testing.assert_array_equal(g[model.n_weights :], g0[model.n_weights :])  # biases untouched
    Jb = model.loss_and_grad(X, y, "cross_entropy", ml.L1(LAM, include_bias=True))
    assert Jb - J0 == pytest.approx(LAM * np.abs(theta).sum(), rel=1e-10)


@pytest.mark.parametrize("r,other", [(1.0, ml.L1), (0.0, ml.L2)])
def test_elastic_net_reduces_to_l1_and_l2(r, other, rng):
    theta = rng.normal(size=50)
    en, ref = ml.ElasticNet(LAM, r=r), other(LAM)
    assert en.penalty(theta) == pytest.approx(ref.penalty(theta), rel=1e-14)
    g1, g2 = np.zeros(50), np.zeros(50)
    en.add_grad(theta, g1)
    ref.add_grad(theta, g2)
    np.testing.assert_allclose(g1, g2, rtol=1e-14)


def test_l1_subgradient_is_zero_at_zero():
    # torch: d|x|/dx at 0 is sign(0) = 0
    x = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    (LAM * x.abs().sum()).backward()
    g = np.zeros(3)
    ml.L1(LAM).add_grad(np.zeros(3), g)
    np.testing.assert_array_equal(g, x.grad.numpy())


@pytest.mark.parametrize("name,make,r", PENALTIES, ids=[p[0] for p in PENALTIES])
def test_fit_reports_penalised_loss_and_keeps_data_loss(name, make, r, rng, torch_mirror):
    model, X, y = _problem(rng)
    Xv, yv = rng.normal(size=(7, 4)), rng.integers(0, 3, size=7)
    tm = torch_mirror(model)  # the weights before the step: full batch, J is measured there
    with torch.no_grad():
        data = torch.nn.CrossEntropyLoss()(tm[:-1](torch.tensor(X)), torch.tensor(y))
        Jt = data + _torch_penalty(name, [m.weight for m in tm if isinstance(m, torch.nn.Linear)], LAM, r)
    h = model.fit(
        X,
        y,
        "cross_entropy",
        ml.optim.SGD(lr=0.1),
        epochs=1,
        batch_size=None,
        shuffle=False,
        verbose=0,
        regularizer=make(False),
        validation_data=(Xv, yv),
    )
    assert h["loss"][0] == pytest.approx(Jt.item(), rel=1e-9)
    assert h["data_loss"][0] == pytest.approx(data.item(), rel=1e-9)
    # validation is judged on the data term alone, with the weights after the step
    with torch.no_grad():
        tm2 = torch_mirror(model)
        val = torch.nn.CrossEntropyLoss()(tm2[:-1](torch.tensor(Xv)), torch.tensor(yv)).item()
    assert h["val_loss"][0] == pytest.approx(val, rel=1e-9)
    assert h["val_data_loss"][0] == h["val_loss"][0]


def test_l2_with_sgd_is_torch_sgd_weight_decay(rng, torch_mirror, assert_rel):
    """Coupled decay: L2(lam, include_bias=True) + SGD == torch.optim.SGD(weight_decay=lam),
    momentum included, step for step."""
    model, X, y = _problem(rng)
    tm = torch_mirror(model)
    opt_t = torch.optim.SGD(tm.parameters(), lr=0.2, momentum=0.9, weight_decay=LAM)
    for _ in range(4):
        opt_t.zero_grad()
        torch.nn.CrossEntropyLoss()(tm[:-1](torch.tensor(X)), torch.tensor(y)).backward()
        opt_t.step()
    model.fit(
        X,
        y,
        "cross_entropy",
        ml.optim.SGD(lr=0.2, momentum=0.9),
        epochs=4,
        batch_size=None,
        shuffle=False,
        verbose=0,
        regularizer=ml.L2(LAM, include_bias=True),
    )
    linears = [m for m in tm if isinstance(m, torch.nn.Linear)]
    dense = [layer for layer in model.layers if isinstance(layer, ml.Dense)]
    for layer, lin in zip(dense, linears):
        assert_rel(layer.W, lin.weight.detach().numpy().T, 1e-10, "W")
        assert_rel(layer.b, lin.bias.detach().numpy(), 1e-10, "b")


def test_get_and_config():
    assert regularizers.get(None) is None
    r = ml.L1(0.5)
    assert regularizers.get(r) is r
    assert isinstance(regularizers.get("elastic_net"), ml.ElasticNet)
    assert ml.ElasticNet(0.1, 0.25).get_config() == {"lam": 0.1, "r": 0.25, "include_bias": False}
    assert repr(ml.L2(0.5, include_bias=True)) == "L2(lam=0.5, include_bias=True)"
    theta = np.array([1.0, -2.0])
    assert ml.L1(0.5)(theta) == ml.L1(0.5).penalty(theta) == 1.5  # 0.5 * (1 + 2)
    with pytest.raises(ValueError, match="l1"):
        regularizers.get("lasso")


@pytest.mark.parametrize("lam", [-1.0, float("nan"), float("inf"), True, "0.1", None])
def test_bad_lam(lam):
    with pytest.raises(ValueError, match="lam"):
        ml.L2(lam)


@pytest.mark.parametrize("r", [-0.1, 1.5, float("nan"), "half", True])
def test_bad_r(r):
    with pytest.raises(ValueError, match="r must"):
        ml.ElasticNet(0.1, r=r)


def test_bad_include_bias():
    with pytest.raises(TypeError, match="include_bias"):
        ml.L1(0.1, include_bias="yes")


def test_get_goes_through_the_one_lookup():
    # a Regularizer subclass is built with its default strength, like its name
    reg = regularizers.get(ml.ElasticNet)
    assert isinstance(reg, ml.ElasticNet) and reg.get_config() == regularizers.get("elastic_net").get_config()
    with pytest.raises(ValueError, match=r"regularizer must be a Regularizer or one of .*'l1'.*, got 'lasso'"):
        regularizers.get("lasso")
    with pytest.raises(TypeError, match="regularizer must be .*, got 0.1"):
        regularizers.get(0.1)
    # NumPy scalars are numbers and bools
    assert ml.ElasticNet(np.float32(0.5), r=np.int64(1), include_bias=np.bool_(True)).get_config() == {
        "lam": 0.5,
        "r": 1.0,
        "include_bias": True,
    }
