"""Tests for mlplab.activations: every registry entry against torch (forward and backward,
float32 and float64), numerical stability at |z| up to 1e4, parameters and ``get``."""

import numpy as np
import pytest
import torch

import mlplab as ml
from mlplab import activations
from mlplab.activations import ACTIVATIONS
from mlplab.errors import ArgumentError

TOL = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-12}
TORCH = {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64}

# values around every kink and threshold: 0 (relu, leaky_relu, elu), 20 (softplus's threshold)
SPECIAL = np.array([0.0, -0.0, 1e-3, -1e-3, 19.999, 20.0, 20.001, -20.0])
EXTREME = np.array([-1e4, -3e3, -1e3, -100.0, -30.0, -1.0, 0.0, 1.0, 30.0, 100.0, 1e3, 3e3, 1e4])


def _torch_forward_backward(act, Z, dY, torch_mirror_layer):
    tdt = TORCH[Z.dtype]
    Zt = torch.tensor(Z, dtype=tdt, requires_grad=True)
    Yt = torch_mirror_layer(act, tdt)(Zt)
    Yt.backward(torch.tensor(dY, dtype=tdt))
    return Yt.detach().numpy(), Zt.grad.numpy()


def _ours(act, Z, dY):
    Y = act.forward(Z).copy()
    dZ = act.backward(dY).copy()
    return Y, dZ


def test_every_activation_matches_torch(activation_name, dtype, rng, torch_module, assert_rel):
    act = activations.get(activation_name)
    Z = np.concatenate([3.0 * rng.normal(size=(6, 8)), SPECIAL.reshape(1, 8)]).astype(dtype)
    dY = rng.normal(size=Z.shape).astype(dtype)
    Y, dZ = _ours(act, Z, dY)
    Yt, dZt = _torch_forward_backward(act, Z, dY, torch_module)
    assert Y.dtype == dtype and dZ.dtype == dtype
    assert_rel(Y, Yt, TOL[dtype], "forward")
    assert_rel(dZ, dZt, TOL[dtype], "backward")


def test_every_activation_matches_torch_on_a_large_batch(activation_name, rng, torch_module, assert_rel):
    # more than 4096 entries: ReLU's backward takes its boolean-mask path there (sign(y) below)
    act = activations.get(activation_name)
    Z = np.concatenate([3.0 * rng.normal(size=(79, 64)), np.resize(SPECIAL, (1, 64))]).astype(np.float32)
    dY = rng.normal(size=Z.shape).astype(np.float32)
    Y, dZ = _ours(act, Z, dY)
    Yt, dZt = _torch_forward_backward(act, Z, dY, torch_module)
    assert_rel(Y, Yt, 1e-5, "forward")
    assert_rel(dZ, dZt, 1e-5, "backward")


@pytest.mark.parametrize("width", [1, 2, 3, 8, 9, 33])
def test_softmax_matches_torch_at_every_width(width, dtype, rng, assert_rel):
    # row_max takes a column loop up to 8 classes and NumPy's reduction above
    Z = (5.0 * rng.normal(size=(6, width))).astype(dtype)
    dY = rng.normal(size=Z.shape).astype(dtype)
    Y, dZ = _ours(ml.Softmax(), Z, dY)
    Zt = torch.tensor(Z, requires_grad=True)
    Yt = torch.softmax(Zt, dim=1)
    Yt.backward(torch.tensor(dY))
    assert_rel(Y, Yt.detach().numpy(), TOL[dtype], "forward")
    assert_rel(dZ, Zt.grad.numpy(), TOL[dtype] * 10, "backward")


def test_every_activation_is_stable_at_extremes(activation_name, dtype, rng, torch_module, assert_rel):
    """No overflow / invalid / divide warning, finite values, and torch's values, up to |z| = 1e4."""
    act = activations.get(activation_name)
    Z = np.stack([EXTREME, EXTREME[::-1], np.full_like(EXTREME, 1e4), np.full_like(EXTREME, -1e4)]).astype(dtype)
    dY = rng.normal(size=Z.shape).astype(dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        Y, dZ = _ours(act, Z, dY)
    assert np.isfinite(Y).all() and np.isfinite(dZ).all()
    Yt, dZt = _torch_forward_backward(act, Z, dY, torch_module)
    assert_rel(Y, Yt, TOL[dtype], "forward")
    assert_rel(dZ, dZt, TOL[dtype], "backward")


@pytest.mark.parametrize(
    "act, torch_act",
    [
        (ml.LeakyReLU(0.2), torch.nn.LeakyReLU(0.2)),
        (ml.LeakyReLU(0.0), torch.nn.LeakyReLU(0.0)),
        (ml.ELU(0.5), torch.nn.ELU(0.5)),
        (ml.ELU(2.0), torch.nn.ELU(2.0)),
    ],
)
def test_parameters_match_torch(act, torch_act, rng, assert_rel):
    Z = np.concatenate([4.0 * rng.normal(size=20), [0.0, -1e4, 1e4]]).reshape(1, -1)
    dY = rng.normal(size=Z.shape)
    Y, dZ = _ours(act, Z, dY)
    Zt = torch.tensor(Z, requires_grad=True)
    Yt = torch_act.double()(Zt)
    Yt.backward(torch.tensor(dY))
    assert_rel(Y, Yt.detach().numpy(), 1e-12)
    assert_rel(dZ, Zt.grad.numpy(), 1e-12)


def test_elu_derivative_keeps_precision_for_very_negative_z():
    # f'(z) = alpha exp(z): exp(-30) = 9.357622968840175e-14 (math.exp), which f(z) + alpha would round to 0
    act = ml.ELU()
    act.forward(np.array([[-30.0]]))
    dZ = act.backward(np.array([[1.0]]))
    np.testing.assert_allclose(dZ[0, 0], 9.357622968840175e-14, rtol=1e-14)


def test_sigmoid_derivative_is_at_most_a_quarter(rng):
    # the lecture's vanishing gradient: sigmoid'(z) = s (1 - s) <= 1/4, with equality at z = 0
    act = ml.Sigmoid()
    Z = np.concatenate([rng.normal(scale=5, size=999), [0.0]]).reshape(1, -1)
    act.forward(Z)
    dZ = act.backward(np.ones_like(Z))
    assert dZ.max() == 0.25 and dZ.min() >= 0.0


def test_softmax_rows_are_distributions(rng, dtype):
    Z = (10 * rng.normal(size=(5, 7))).astype(dtype)
    Y = ml.Softmax().forward(Z)
    assert (Y >= 0).all()
    np.testing.assert_allclose(Y.sum(axis=1), 1.0, rtol=1e-6 if dtype == np.float32 else 1e-14)


def test_buffers_follow_the_batch_shape(rng, activation_name):
    act = activations.get(activation_name)
    for n in (3, 5, 3):
        Z = rng.normal(size=(n, 4))
        assert act.forward(Z).shape == (n, 4)
        assert act.backward(np.ones((n, 4))).shape == (n, 4)


def test_get_accepts_names_classes_and_instances(activation_name):
    a = activations.get(activation_name)
    assert isinstance(a, ACTIVATIONS[activation_name])
    assert activations.get(a) is a
    assert isinstance(activations.get(ACTIVATIONS[activation_name]), ACTIVATIONS[activation_name])
    assert activations.get(activation_name) is not a  # a new layer every time


def test_get_rejects_unknown_names_and_lists_the_valid_ones():
    with pytest.raises(ValueError, match="activation must be .*relu.*got 'relu6'"):
        activations.get("relu6")
    with pytest.raises(ValueError, match="got 3"):
        activations.get(3)


@pytest.mark.parametrize("bad", [-0.1, 1.0, 2.0])
def test_leaky_relu_rejects_a_slope_outside_0_1(bad):
    with pytest.raises(ValueError, match=f"negative_slope must be a number in \\[0, 1\\), got {bad!r}"):
        ml.LeakyReLU(bad)


@pytest.mark.parametrize("bad", [0.0, -1.0])
def test_elu_rejects_a_non_positive_alpha(bad):
    with pytest.raises(ValueError, match=f"alpha must be a finite number > 0, got {bad!r}"):
        ml.ELU(bad)


@pytest.mark.parametrize("bad", [True, False, "0.1", None, float("nan"), float("inf"), np.float64(-0.5), [0.1]])
def test_leaky_relu_rejects_non_numbers_naming_negative_slope(bad):
    """bool is never a number; strings, NaN and infinity are refused with the one message shape."""
    with pytest.raises(ArgumentError, match=r"negative_slope must be a number in \[0, 1\), got "):
        ml.LeakyReLU(bad)


@pytest.mark.parametrize("bad", [True, "1", None, float("nan"), float("inf"), np.float32(0.0)])
def test_elu_rejects_non_numbers_and_infinity_naming_alpha(bad):
    with pytest.raises(ArgumentError, match="alpha must be a finite number > 0, got "):
        ml.ELU(bad)


def test_numpy_scalars_are_accepted_as_plain_floats():
    a, e = ml.LeakyReLU(np.float32(0.25)), ml.ELU(np.float64(0.5))
    assert type(a.negative_slope) is float and a.negative_slope == 0.25
    assert type(e.alpha) is float and e.alpha == 0.5
    assert ml.LeakyReLU(0).negative_slope == 0.0 and ml.LeakyReLU(np.int64(0)).negative_slope == 0.0


@pytest.mark.parametrize("bad", ["relu6", "ReLU", 3, None, ml.Dense, ml.ReLU().forward])
def test_get_raises_argument_error_naming_activation(bad):
    with pytest.raises(ArgumentError, match=r"activation must be an Activation or one of \[.*'relu'.*\], got "):
        activations.get(bad)


def test_config_and_repr():
    assert ml.LeakyReLU(0.3).get_config() == {"negative_slope": 0.3}
    assert ml.ELU(0.7).get_config() == {"alpha": 0.7}
    assert repr(ml.LeakyReLU(0.3)) == "LeakyReLU(negative_slope=0.3)"
    assert repr(ml.ReLU()) == "ReLU()"


def test_relu_family_names_are_registered():
    assert activations.RELU_FAMILY <= set(ACTIVATIONS)


@pytest.mark.parametrize("b", [0.5, 3.0, 100.0, 1e6])
def test_bound_holds_for_every_input_within_it(activation_name, b, rng):
    """|f(z)| <= bound(b) whenever |z| <= b: what the divergence guard relies on."""
    layer = ml.activations.get(activation_name)
    Z = np.concatenate([rng.uniform(-b, b, size=(64, 5)), np.full((1, 5), b), np.full((1, 5), -b), np.zeros((1, 5))])
    with np.errstate(over="ignore"):
        Y = layer.forward(Z)
    bound = layer.bound(b)
    assert np.isfinite(bound) and np.abs(Y).max() <= bound * (1 + 1e-12)
