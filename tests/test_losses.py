"""Tests for mlplab.losses: every registry entry against torch (J and dJ/dP, or dJ/dZ for the
fused pairs), sample weights, the fused gradient p - y, clamping at p = 0 / 1, and target
validation."""

import numpy as np
import pytest
import torch

import mlplab as ml
from mlplab import losses
from mlplab.backend import expit
from mlplab.errors import ArgumentError
from mlplab.losses import LOSSES

K = 3


def _logits_and_outputs(case, rng, n, k):
    Z = 2.0 * rng.normal(size=(n, k))
    act = ml.activations.get(case.output) if case.output else ml.Identity()
    P = act.forward(Z).copy()
    return Z, P


def _torch_J_and_grads(case, Z, P, y, reduction="mean", w=None):
    """torch's J and its gradient with respect to Z (through the output activation) and P."""
    Zt = torch.tensor(Z, requires_grad=True)
    out = {"sigmoid": torch.sigmoid, "softmax": lambda z: torch.softmax(z, dim=1), None: lambda z: z}[case.output]
    Pt = out(Zt)
    Pt.retain_grad()
    Yt = case.target(y, torch.float64)
    if w is None:
        J = case.torch_loss(Zt, Pt, Yt, reduction)
    else:
        wt = torch.tensor(w)
        J = (case.torch_loss(Zt, Pt, Yt, "none") * wt).sum() / wt.sum()
    J.backward()
    # a fused torch loss reads the logits only: P then has no gradient
    return J.item(), Zt.grad.numpy(), None if Pt.grad is None else Pt.grad.numpy()


def _ours(case, Z, P, y, w=None):
    """J and the gradient of J with respect to the output P (or Z for a fused pair)."""
    loss = losses.get(case.name)
    Y = loss.prepare_targets(y, Z.shape[1], np.float64)
    sw = None if w is None else np.asarray(w, dtype=np.float64)
    if loss.fused_with is not None and case.output == loss.fused_with:
        J = loss.forward_logits(Z, P, Y, sw)
        return J, loss.backward_logits(), "Z"
    if loss.fused_with is not None and case.output is None:  # the linear output's values are logits
        P, lse = loss.link(Z)
        J = loss.forward_logits(Z, P, Y, sw, lse)
        return J, loss.backward_logits(), "Z"
    J = loss.forward(P, Y, sw)
    return J, loss.backward(), "P"


@pytest.mark.parametrize("n", [1, 9])
def test_every_loss_matches_torch(loss_case, rng, n, assert_rel):
    Z, P = _logits_and_outputs(loss_case, rng, n, K)
    y = loss_case.make_y(rng, n, K)
    J, g, wrt = _ours(loss_case, Z, P, y)
    Jt, dZt, dPt = _torch_J_and_grads(loss_case, Z, P, y)
    assert isinstance(J, float)
    assert_rel(J, Jt, 1e-12, "J")
    assert_rel(g, dZt if wrt == "Z" else dPt, 1e-12, f"dJ/d{wrt}")


def test_every_loss_weighted_mean_matches_torch(loss_case, rng, assert_rel):
    """J = sum_i w_i loss_i / sum_i w_i, torch's reduction='none' losses averaged with weights w."""
    n = 8
    Z, P = _logits_and_outputs(loss_case, rng, n, K)
    y = loss_case.make_y(rng, n, K)
    w = rng.uniform(0.0, 3.0, size=n)
    w[2] = 0.0  # a zero weight removes a sample
    J, g, wrt = _ours(loss_case, Z, P, y, w)
    Jt, dZt, dPt = _torch_J_and_grads(loss_case, Z, P, y, w=w)
    assert_rel(J, Jt, 1e-12, "J")
    assert_rel(g, dZt if wrt == "Z" else dPt, 1e-12, f"dJ/d{wrt}")
    assert not g[2].any()


def test_unit_weights_equal_no_weights(loss_case, rng):
    Z, P = _logits_and_outputs(loss_case, rng, 6, K)
    y = loss_case.make_y(rng, 6, K)
    J0, g0, _ = _ours(loss_case, Z, P, y)
    J1, g1, _ = _ours(loss_case, Z, P, y, np.full(6, 2.5))
    np.testing.assert_allclose(J1, J0, rtol=1e-14)
    np.testing.assert_allclose(g1, g0, rtol=1e-13)


def test_loss_in_float32(loss_case, rng, assert_rel):
    Z, P = _logits_and_outputs(loss_case, rng, 7, K)
    Z32, P32 = Z.astype(np.float32), P.astype(np.float32)
    y = loss_case.make_y(rng, 7, K)
    loss = losses.get(loss_case.name)
    Y = loss.prepare_targets(y, K, np.float32)
    assert Y.dtype == np.float32
    fused = loss.fused_with is not None and loss_case.output in (loss.fused_with, None)
    if fused and loss_case.output is None:  # logits: the loss applies its activation
        P32, lse = loss.link(Z32)
        J = loss.forward_logits(Z32, P32, Y, None, lse)
    else:
        J = loss.forward_logits(Z32, P32, Y) if fused else loss.forward(P32, Y)
    g = loss.backward_logits() if fused else loss.backward()
    assert g.dtype == np.float32
    Jt, dZt, dPt = _torch_J_and_grads(loss_case, Z32.astype(np.float64), P32.astype(np.float64), y)
    assert_rel(J, Jt, 1e-5, "J")
    assert_rel(g, dZt if fused else dPt, 1e-5, "gradient")


def test_cross_entropy_class_weights_equal_torch_weight(rng, assert_rel):
    """torch CrossEntropyLoss(weight=c) == mlplab with sample_weight = c[y] (both divide by sum c[y_i])."""
    n, k = 12, 4
    Z = rng.normal(size=(n, k))
    y = rng.integers(0, k, size=n)
    c = np.array([0.5, 2.0, 1.0, 3.0])
    loss = losses.CrossEntropy()
    Y = loss.prepare_targets(y, k, np.float64)
    J = loss.forward_logits(Z, ml.Softmax().forward(Z), Y, c[y])
    dZ = loss.backward_logits()
    Zt = torch.tensor(Z, requires_grad=True)
    Jt = torch.nn.CrossEntropyLoss(weight=torch.tensor(c))(Zt, torch.tensor(y))
    Jt.backward()
    assert_rel(J, Jt.item(), 1e-12)
    assert_rel(dZ, Zt.grad.numpy(), 1e-12)


@pytest.mark.parametrize("name, act", [("bce", ml.Sigmoid), ("cross_entropy", ml.Softmax)])
def test_fused_gradient_is_p_minus_y_over_n(name, act, rng):
    n, k = 10, 1 if name == "bce" else 4
    Z = rng.normal(size=(n, k))
    P = act().forward(Z).copy()
    Y = _onehot_or_binary(rng, n, k)
    loss = losses.get(name)
    loss.forward_logits(Z, P, Y)
    # the definition of the fused pair: dJ/dz_i = (p_i - y_i) / n
    np.testing.assert_allclose(loss.backward_logits(), (P - Y) / n, rtol=1e-15)


def _onehot_or_binary(rng, n, k):
    if k == 1:
        return rng.integers(0, 2, size=(n, 1)).astype(np.float64)
    return np.eye(k)[rng.integers(0, k, size=n)]


def test_fused_bce_equals_bce_on_sigmoid_outputs(rng):
    Z = 3.0 * rng.normal(size=(8, 2))
    Y = rng.integers(0, 2, size=(8, 2)).astype(np.float64)
    P = expit(Z)
    fused = losses.BCE().forward_logits(Z, P, Y)
    plain = losses.BCE().forward(P, Y)
    np.testing.assert_allclose(fused, plain, rtol=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fused_losses_are_finite_at_extreme_logits(dtype, assert_rel):
    """J from the logits stays finite and exact where log(sigmoid(z)) or log(softmax(z)) underflow."""
    Z = np.array([[-1e4, 1e4, 0.0], [1e4, -1e4, 30.0]], dtype=dtype)
    Y = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]], dtype=dtype)
    Zt = torch.tensor(Z.astype(np.float64))
    Yt = torch.tensor(Y.astype(np.float64))
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        jb = losses.BCE().forward_logits(Z, expit(Z), Y)
        jc = losses.CrossEntropy().forward_logits(Z, ml.Softmax().forward(Z), Y)
    assert_rel(jb, torch.nn.BCEWithLogitsLoss()(Zt, Yt).item(), 1e-6)
    assert_rel(jc, torch.nn.CrossEntropyLoss()(Zt, Yt).item(), 1e-6)


def test_bce_clamps_log_at_minus_100_like_torch(assert_rel):
    P = np.array([[0.0, 1.0, 0.5], [1.0, 0.0, 1e-50]])
    Y = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
    loss = losses.BCE()
    with np.errstate(over="raise", invalid="raise"):
        J = loss.forward(P, Y)
        dP = loss.backward()
    Pt = torch.tensor(P, requires_grad=True)
    Jt = torch.nn.BCELoss()(Pt, torch.tensor(Y))
    Jt.backward()
    assert np.isfinite(J) and np.isfinite(dP).all()
    assert_rel(J, Jt.item(), 1e-12)
    assert_rel(dP, Pt.grad.numpy(), 1e-12)


def test_cross_entropy_standalone_is_finite_at_p_zero():
    P = np.array([[0.0, 1.0], [0.5, 0.5]])
    Y = np.array([[1.0, 0.0], [0.0, 1.0]])
    loss = losses.CrossEntropy()
    J = loss.forward(P, Y)
    # hand calculation: row 0 = -max(log 0, -100) = 100, row 1 = -log 0.5; J is their mean
    np.testing.assert_allclose(J, (100.0 + np.log(2.0)) / 2, rtol=1e-15)
    assert np.isfinite(loss.backward()).all()


def test_mae_gradient_is_zero_where_p_equals_y():
    loss = losses.MAE()
    loss.forward(np.array([[1.0, 2.0]]), np.array([[1.0, 3.0]]))
    # sign(0) = 0 and sign(-1) = -1, over k = 2 outputs
    np.testing.assert_array_equal(loss.backward(), [[0.0, -0.5]])


@pytest.mark.parametrize("delta", [0.5, 2.0])
def test_huber_delta_matches_torch(delta, rng, assert_rel):
    P, Y = 3 * rng.normal(size=(6, 2)), rng.normal(size=(6, 2))
    loss = losses.Huber(delta)
    J = loss.forward(P, Y)
    Pt = torch.tensor(P, requires_grad=True)
    Jt = torch.nn.HuberLoss(delta=delta)(Pt, torch.tensor(Y))
    Jt.backward()
    assert_rel(J, Jt.item(), 1e-12)
    assert_rel(loss.backward(), Pt.grad.numpy(), 1e-12)
    assert loss.get_config() == {"delta": delta}


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_huber_rejects_a_bad_delta(bad):
    with pytest.raises(ValueError, match="delta must be a finite number > 0"):
        losses.Huber(bad)


@pytest.mark.parametrize("bad", [True, "1.0", None, np.float32(-1.0)])
def test_huber_rejects_a_non_number_delta_naming_it(bad):
    with pytest.raises(ArgumentError, match="delta must be a finite number > 0, got "):
        losses.Huber(bad)


def test_huber_accepts_numpy_scalars():
    d = losses.Huber(np.float32(0.5)).delta
    assert type(d) is float and d == 0.5
    assert losses.Huber(2).delta == 2.0


@pytest.mark.parametrize("bad", ["hinge", "MSE", 3, None, ml.ReLU, losses.MSE().forward])
def test_get_raises_argument_error_naming_loss(bad):
    with pytest.raises(ArgumentError, match=r"loss must be a Loss or one of \[.*'mse'.*\], got "):
        losses.get(bad)


def test_call_is_forward(rng):
    P, Y = rng.normal(size=(4, 2)), rng.normal(size=(4, 2))
    assert losses.MSE()(P, Y) == losses.MSE().forward(P, Y)


def test_get_accepts_names_classes_and_instances():
    for name, cls in LOSSES.items():
        assert isinstance(losses.get(name), cls)
        assert isinstance(losses.get(cls), cls)
    inst = losses.Huber(0.3)
    assert losses.get(inst) is inst
    with pytest.raises(ValueError, match="loss must be a Loss or one of .*'mse'.*got 'hinge'"):
        losses.get("hinge")


def test_classification_flags():
    assert losses.BCE.classification and losses.CrossEntropy.classification
    assert not (losses.MSE.classification or losses.MAE.classification or losses.Huber.classification)


# -- target validation --------------------------------------------------------------------
@pytest.mark.parametrize("name", ["mse", "mae", "huber", "bce"])
def test_prepare_targets_shapes(name):
    loss = losses.get(name)
    Y = loss.prepare_targets(np.array([0, 1, 1]), 1, np.float32)
    assert Y.shape == (3, 1) and Y.dtype == np.float32
    # the shape given, and for 1-D labels the loss they need
    msg = r"y must be of shape \(n, 2\) to match the model output \(class labels 0..k-1 need loss='cross_entropy'\)"
    with pytest.raises(ValueError, match=msg + r", got shape \(3,\)$"):
        loss.prepare_targets(np.array([0, 1, 1]), 2, np.float64)
    with pytest.raises(ValueError, match=r"y must be of shape \(n, 2\) to match the model output, got shape \(3, 1\)$"):
        loss.prepare_targets(np.array([[0], [1], [1]]), 2, np.float64)
    with pytest.raises(ValueError, match=r"y must be 1-D or 2-D, got shape \(2, 2, 1\)"):
        loss.prepare_targets(np.zeros((2, 2, 1)), 1, np.float64)
    with pytest.raises(TypeError, match="y must be real numbers, got dtype <U1"):
        loss.prepare_targets(np.array(["a", "b"]), 1, np.float64)


@pytest.mark.parametrize("name", ["mse", "bce", "cross_entropy"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_prepare_targets_rejects_non_finite(name, bad):
    y = np.array([0.0, 1.0, bad])
    with pytest.raises(ValueError, match="y must be finite, got NaN or infinity"):
        losses.get(name).prepare_targets(y, 1 if name != "cross_entropy" else 2, np.float64)


def test_bce_targets_must_lie_in_0_1():
    with pytest.raises(ValueError, match=r"y must be in \[0, 1\] for the bce loss.*got 2"):
        losses.BCE().prepare_targets(np.array([0, 1, 2]), 1, np.float64)
    with pytest.raises(ValueError, match=r"must be in \[0, 1\].*got -0.5"):
        losses.BCE().prepare_targets(np.array([0.2, -0.5]), 1, np.float64)


def test_cross_entropy_targets():
    ce = losses.CrossEntropy()
    np.testing.assert_array_equal(ce.prepare_targets(np.array([2, 0]), 3, np.float64), [[0, 0, 1], [1, 0, 0]])
    # a column of labels and integral floats are labels too
    np.testing.assert_array_equal(ce.prepare_targets(np.array([[1], [0]]), 2, np.float64), [[0, 1], [1, 0]])
    np.testing.assert_array_equal(ce.prepare_targets(np.array([1.0, 0.0]), 2, np.float64), [[0, 1], [1, 0]])
    rows = np.array([[0.2, 0.8], [1.0, 0.0]])
    np.testing.assert_array_equal(ce.prepare_targets(rows, 2, np.float64), rows)
    with pytest.raises(ValueError, match=r"y must be class labels 0..2 \(the model has 3 classes\), got label 3"):
        ce.prepare_targets(np.array([0, 3]), 3, np.float64)
    with pytest.raises(ValueError, match=r"y must be class labels 0..2 \(the model has 3 classes\), got label -1"):
        ce.prepare_targets(np.array([-1, 1]), 3, np.float64)
    with pytest.raises(ValueError, match=r"y must be integer class labels or one-hot rows.*got non-integer .*0.5"):
        ce.prepare_targets(np.array([0.5, 1.0]), 3, np.float64)
    with pytest.raises(TypeError, match="y must be integer class labels, got dtype <U1"):
        ce.prepare_targets(np.array(["a", "b"]), 3, np.float64)
    with pytest.raises(ValueError, match=r"y must be one-hot or probability rows \(every value >= 0\), got .* -0.5"):
        ce.prepare_targets(np.array([[1.5, -0.5], [0.0, 1.0]]), 2, np.float64)
    with pytest.raises(ValueError, match=r"y must be of shape \(n, 3\).*got shape \(2, 2\)"):
        ce.prepare_targets(np.eye(2), 3, np.float64)


@pytest.mark.parametrize("name", ["mse", "bce", "cross_entropy"])
def test_prepare_targets_errors_are_argument_errors_naming_y(name):
    """Every refusal of y is an ArgumentError (a ValueError and a TypeError) whose message names y."""
    loss, k = losses.get(name), 2 if name == "cross_entropy" else 1
    bad = [
        [[0, 1], [1]],  # ragged
        np.zeros((2, 2, 1)),
        np.zeros((3, 3)),
        np.array(["a", "b"]),
        np.array([0.0, np.nan]),
    ]
    for y in bad:
        with pytest.raises(ArgumentError, match="^y "):
            loss.prepare_targets(y, k, np.float64)
    with pytest.raises(ArgumentError, match=r"y must be an array of real numbers, got \[\[0, 1\], \[1\]\]"):
        loss.prepare_targets([[0, 1], [1]], k, np.float64)


def test_cross_entropy_target_errors_show_the_offending_value():
    ce = losses.CrossEntropy()
    with pytest.raises(ArgumentError, match="got non-integer values such as 2.25"):
        ce.prepare_targets(np.array([1.0, 2.25, 0.5]), 3, np.float64)
    with pytest.raises(ArgumentError, match="got the value -0.25"):
        ce.prepare_targets(np.array([[1.25, -0.25], [0.0, 1.0]]), 2, np.float64)
    for y in (np.array([0, 5]), np.array(["a", "b"]), np.array([np.inf, 0.0])):
        with pytest.raises(ArgumentError, match="^y "):
            ce.prepare_targets(y, 3, np.float64)
    with pytest.raises(ArgumentError, match=r"^y must be in \[0, 1\] for the bce loss"):
        losses.BCE().prepare_targets(np.array([0.5, 1.5]), 1, np.float64)


def test_cross_entropy_rows_that_do_not_sum_to_one_match_torch(rng, assert_rel):
    # torch's CrossEntropyLoss takes any non-negative target rows: J = sum_k y_k (lse - z_k),
    # dJ/dz = p sum_k y_k - y, which is p - y only when the row sums to 1
    Z = rng.normal(size=(5, 3))
    Y = rng.uniform(0.0, 2.0, size=(5, 3))
    loss = losses.CrossEntropy()
    J = loss.forward_logits(Z, ml.Softmax().forward(Z), loss.prepare_targets(Y, 3, np.float64))
    Zt = torch.tensor(Z, requires_grad=True)
    Jt = torch.nn.CrossEntropyLoss()(Zt, torch.tensor(Y))
    Jt.backward()
    assert_rel(J, Jt.item(), 1e-12)
    assert_rel(loss.backward_logits(), Zt.grad.numpy(), 1e-12)


def test_poisson_is_torch_poisson_nll_on_log_rates(rng, assert_rel):
    """J = mean over all elements of exp(z) - y z, torch's PoissonNLLLoss(log_input=True); the
    gradient exp(z) - y (over n k), computed from z in one pass."""
    Z = rng.normal(size=(7, 2))
    Y = rng.poisson(3.0, size=(7, 2)).astype(np.float64)
    loss = losses.Poisson()
    J = loss.forward(Z, loss.prepare_targets(Y, 2, np.float64))
    np.testing.assert_allclose(loss.backward(), (np.exp(Z) - Y) / Z.size, rtol=1e-14)
    Zt = torch.tensor(Z, requires_grad=True)
    Jt = torch.nn.PoissonNLLLoss(log_input=True)(Zt, torch.tensor(Y))
    Jt.backward()
    assert_rel(J, Jt.item(), 1e-12)
    assert_rel(loss.backward(), Zt.grad.numpy(), 1e-12)


def test_poisson_targets_are_counts_at_least_zero():
    loss = losses.get("poisson")
    np.testing.assert_array_equal(loss.prepare_targets([0, 2.5, 3], 1, np.float64), [[0.0], [2.5], [3.0]])
    with pytest.raises(ArgumentError, match=r"^y must be counts >= 0 for the poisson loss, got the value -1"):
        loss.prepare_targets(np.array([1.0, -1.0]), 1, np.float64)


def test_a_model_trains_with_poisson_to_the_rate(rng):
    """A linear model of log-rates learns rates exp(0.5 + x): the fitted log-rate's slope and
    intercept are those of the data (the oracle is the generating formula)."""
    X = rng.uniform(-1, 1, size=(4000, 1))
    y = rng.poisson(np.exp(0.5 + X[:, 0]))
    model = ml.Sequential([ml.Dense(1, 1, dtype="float64")])
    model.fit(X, y, loss="poisson", optimizer=ml.optim.Adam(lr=0.05), epochs=30, batch_size=200, seed=0, verbose=0)
    np.testing.assert_allclose([model.layers[0].W[0, 0], model.layers[0].b[0]], [1.0, 0.5], atol=0.08)


@pytest.mark.parametrize("name", ["mse", "mae", "huber", "poisson", "bce", "cross_entropy"])
def test_complex_targets_are_refused_never_silently_made_real(name):
    loss = ml.losses.get(name)
    n_out = 1 if name != "cross_entropy" else 3
    y = np.ones((4, n_out)) * (1 + 2j)
    with pytest.raises(ml.errors.ArgumentError, match="^y must be"):
        loss.prepare_targets(y, n_out, np.float64)


def test_targets_beyond_float32_are_refused_saying_so():
    with pytest.raises(ml.errors.ArgumentError, match="^y must be representable in float32"):
        ml.losses.get("mse").prepare_targets(np.array([1e300, 1.0]), 1, np.float32)
