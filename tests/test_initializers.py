"""Tests for mlplab.initializers: the statistics of each scheme on a large matrix (against its
formula and against torch.nn.init drawing the same scheme), bounds, dtypes, the zeros warning."""

import warnings

import numpy as np
import pytest
import torch

import mlplab as ml
from mlplab import initializers
from mlplab.initializers import INITIALIZERS

N_IN, N_OUT = 800, 600  # 480,000 draws: a sample std is within ~0.1% of the true std

# name -> (kind, the std or bound of the formula in the module docstring, torch's own draw)
SCHEMES = {
    "he": ("normal", np.sqrt(2 / N_IN), lambda w: torch.nn.init.kaiming_normal_(w, nonlinearity="relu")),
    "he_normal": ("normal", np.sqrt(2 / N_IN), lambda w: torch.nn.init.kaiming_normal_(w, nonlinearity="relu")),
    "he_uniform": ("uniform", np.sqrt(6 / N_IN), lambda w: torch.nn.init.kaiming_uniform_(w, nonlinearity="relu")),
    "glorot": ("uniform", np.sqrt(6 / (N_IN + N_OUT)), torch.nn.init.xavier_uniform_),
    "glorot_uniform": ("uniform", np.sqrt(6 / (N_IN + N_OUT)), torch.nn.init.xavier_uniform_),
    "glorot_normal": ("normal", np.sqrt(2 / (N_IN + N_OUT)), torch.nn.init.xavier_normal_),
    "lecun": ("normal", np.sqrt(1 / N_IN), lambda w: torch.nn.init.kaiming_normal_(w, nonlinearity="linear")),
    "lecun_normal": ("normal", np.sqrt(1 / N_IN), lambda w: torch.nn.init.kaiming_normal_(w, nonlinearity="linear")),
    "lecun_uniform": ("uniform", np.sqrt(3 / N_IN), lambda w: torch.nn.init.kaiming_uniform_(w, nonlinearity="linear")),
    # torch.nn.Linear's default: kaiming_uniform_(a=sqrt(5)), i.e. bound 1 / sqrt(fan_in)
    "torch": ("uniform", 1 / np.sqrt(N_IN), lambda w: torch.nn.init.kaiming_uniform_(w, a=np.sqrt(5))),
    "normal": ("normal", 0.01, lambda w: torch.nn.init.normal_(w, std=0.01)),
}


def test_every_initializer_has_a_scheme_here():
    assert set(INITIALIZERS) == set(SCHEMES) | {"zeros"}


@pytest.mark.parametrize("name", sorted(SCHEMES))
def test_statistics_match_the_formula_and_torch(name):
    kind, param, torch_init = SCHEMES[name]
    W = INITIALIZERS[name]((N_IN, N_OUT), np.random.default_rng(0), np.float64)
    assert W.shape == (N_IN, N_OUT)
    std = param if kind == "normal" else param / np.sqrt(3.0)  # U(-a, a) has std a / sqrt(3)
    assert abs(W.std() - std) < 0.01 * std
    assert abs(W.mean()) < 5 * std / np.sqrt(W.size)
    if kind == "uniform":
        assert np.abs(W).max() <= param and np.abs(W).max() > 0.999 * param
    else:
        # a normal's kurtosis is 3 (a uniform's is 1.8)
        assert abs(((W / W.std()) ** 4).mean() - 3.0) < 0.05
    torch.manual_seed(0)
    Wt = torch_init(torch.empty(N_OUT, N_IN, dtype=torch.float64)).numpy()  # torch weight is (out, in)
    assert abs(W.std() - Wt.std()) < 0.02 * std


@pytest.mark.parametrize("name", sorted(INITIALIZERS))
def test_dtype_shape_and_seed(name, dtype):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zeros warns, tested below
        a = INITIALIZERS[name]((5, 4), np.random.default_rng(3), dtype)
        b = INITIALIZERS[name]((5, 4), np.random.default_rng(3), dtype)
    assert a.shape == (5, 4) and a.dtype == dtype and np.isfinite(a).all()
    np.testing.assert_array_equal(a, b)


def test_zeros_warns_that_units_stay_identical():
    with pytest.warns(UserWarning, match="every hidden unit the same output and the same gradient"):
        layer = ml.Dense(3, 4, init="zeros")
    assert not layer.W.any()
    with pytest.warns(UserWarning, match="init='zeros'") as rec:
        ml.MLP([2, 3, 1], init="zeros")
    assert rec[0].filename == __file__  # the warning points at the caller's line


def test_get():
    assert initializers.get("he") is INITIALIZERS["he"]
    assert INITIALIZERS["glorot_normal"].__name__ == "glorot_normal"

    def mine(shape, rng, dtype):
        return np.zeros(shape, dtype)

    assert initializers.get(mine) is mine
    with pytest.raises(ValueError, match="init must be a callable or one of .*'glorot'.*got 'xavier'"):
        initializers.get("xavier")
    with pytest.raises(ValueError, match="got 3"):
        initializers.get(3)


def test_mlp_default_init_depends_on_the_activation():
    assert ml.MLP([2, 3, 1], activation="relu").init == "he"
    assert ml.MLP([2, 3, 1], activation="gelu").init == "he"
    assert ml.MLP([2, 3, 1], activation="tanh").init == "glorot"
    assert ml.MLP([2, 3, 1], activation="tanh", init="lecun").init == "lecun"
