"""Tests for mlplab.layers: Dense against torch.nn.Linear (forward, dW, db, dX), Dropout against
its definition, binding into a model's flat buffer, and argument validation."""

import numpy as np
import pytest
import torch

import mlplab as ml
from mlplab.layers import Layer, as_rng

TOL = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-12}


@pytest.mark.parametrize("n_in, n_out, n", [(1, 1, 1), (3, 5, 7), (8, 2, 16)])
def test_dense_forward_backward_match_torch_linear(n_in, n_out, n, dtype, rng, torch_module, assert_rel):
    layer = ml.Dense(n_in, n_out, seed=1, dtype=dtype)
    layer.b = rng.normal(size=n_out).astype(dtype)  # non-zero biases, so b is really tested
    X = rng.normal(size=(n, n_in)).astype(dtype)
    dY = rng.normal(size=(n, n_out)).astype(dtype)
    Z = layer.forward(X).copy()
    dX = layer.backward(dY).copy()
    assert Z.dtype == dtype and dX.dtype == dtype and layer.dW.dtype == dtype

    lin = torch_module(layer, torch.float64)
    Xt = torch.tensor(X.astype(np.float64), requires_grad=True)
    Zt = lin(Xt)
    Zt.backward(torch.tensor(dY.astype(np.float64)))
    tol = TOL[dtype]
    assert_rel(Z, Zt.detach().numpy(), tol, "Z")
    assert_rel(layer.dW, lin.weight.grad.numpy().T, tol, "dW")
    assert_rel(layer.db, lin.bias.grad.numpy(), tol, "db")
    assert_rel(dX, Xt.grad.numpy(), tol, "dX")


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_dense_on_a_sparse_input_matches_torch_linear(fmt, dtype, rng, torch_module, assert_rel):
    """Z = X W + b and dW = X^T dY with X a SciPy sparse matrix: torch's Linear on its dense form."""
    import scipy.sparse

    layer = ml.Dense(6, 3, seed=1, dtype=dtype)
    layer.b = rng.normal(size=3).astype(dtype)
    X = scipy.sparse.random(8, 6, density=0.3, format=fmt, random_state=1, dtype=dtype)
    dY = rng.normal(size=(8, 3)).astype(dtype)
    layer.need_dx = False  # the first layer: dJ/dX is never asked for
    Z = layer.forward(X).copy()
    assert layer.backward(dY) is None and Z.dtype == dtype
    lin = torch_module(layer, torch.float64)
    Zt = lin(torch.tensor(X.toarray().astype(np.float64)))
    Zt.backward(torch.tensor(dY.astype(np.float64)))
    assert_rel(Z, Zt.detach().numpy(), TOL[dtype], "Z")
    assert_rel(layer.dW, lin.weight.grad.numpy().T, TOL[dtype], "dW")
    assert_rel(layer.db, lin.bias.grad.numpy(), TOL[dtype], "db")


def test_dense_skips_dx_when_not_needed(rng):
    layer = ml.Dense(3, 2, seed=0, dtype="float64")
    layer.need_dx = False
    layer.forward(rng.normal(size=(4, 3)))
    assert layer.backward(np.ones((4, 2))) is None
    # dW = X^T dY and db = column sums are still filled
    np.testing.assert_allclose(layer.db, [4.0, 4.0])


def test_dense_reuses_its_buffers_for_the_same_batch_shape(rng):
    layer = ml.Dense(3, 2, seed=0)
    Z1 = layer.forward(rng.normal(size=(4, 3)))
    Z2 = layer.forward(rng.normal(size=(4, 3)))
    assert Z1 is Z2
    assert layer.forward(rng.normal(size=(5, 3))).shape == (5, 2)


def test_dense_defaults(rng):
    layer = ml.Dense(4, 3)
    assert layer.W.shape == (4, 3) and layer.b.shape == (3,)
    assert layer.W.dtype == np.float32 and layer.dtype == np.float32
    assert not layer.b.any()
    assert layer.n_params() == 4 * 3 + 3
    assert layer.get_config() == {"in_features": 4, "out_features": 3, "init": "glorot"}
    assert repr(layer) == "Dense(in_features=4, out_features=3, init='glorot')"
    assert layer.output_size(4) == 3


def test_dense_seed_makes_weights_reproducible():
    np.testing.assert_array_equal(ml.Dense(5, 4, seed=3).W, ml.Dense(5, 4, seed=3).W)
    assert not np.array_equal(ml.Dense(5, 4, seed=3).W, ml.Dense(5, 4, seed=4).W)
    g = np.random.default_rng(0)
    assert as_rng(g) is g


def test_dense_custom_initializer():
    def ones(shape, rng, dtype):
        return np.ones(shape, dtype=dtype)

    layer = ml.Dense(2, 3, init=ones, dtype="float64")
    np.testing.assert_array_equal(layer.W, np.ones((2, 3)))
    assert layer.get_config()["init"] == "ones"


@pytest.mark.parametrize("bad", [0, -1, 2.0, True, "3", None])
def test_dense_rejects_bad_widths(bad):
    with pytest.raises(ValueError, match=f"in_features must be an int >= 1, got {bad!r}"):
        ml.Dense(bad, 3)
    with pytest.raises(ValueError, match=f"out_features must be an int >= 1, got {bad!r}"):
        ml.Dense(3, bad)


def test_dense_rejects_bad_init_dtype_and_seed():
    with pytest.raises(ValueError, match="init must be a callable or one of .*'he'.*got 'kaiming'"):
        ml.Dense(2, 3, init="kaiming")
    with pytest.raises(ValueError, match=r"dtype must be one of \['float32', 'float64'\], got 'float16'"):
        ml.Dense(2, 3, dtype="float16")
    with pytest.raises(ValueError, match="dtype must be one of"):
        ml.Dense(2, 3, dtype="int64")
    with pytest.raises(TypeError, match="seed must be None, an int >= 0 or a numpy Generator, got '0'"):
        ml.Dense(2, 3, seed="0")


def test_dense_output_size_checks_the_input_width():
    with pytest.raises(
        ValueError, match="Dense in_features must be 3, the width of the previous layer's output, got 4"
    ):
        ml.Dense(4, 2).output_size(3)


def test_bound_parameters_are_views_and_assignment_copies_into_them():
    d1, d2 = ml.Dense(2, 3, dtype="float64"), ml.Dense(3, 1, dtype="float64")
    model = ml.Sequential([d1, ml.Tanh(), d2])
    theta = model.flat_params()
    assert np.shares_memory(d1.W, theta) and np.shares_memory(d2.b, theta)
    d1.W = np.full((2, 3), 7.0)
    assert d1.W.base is not None and np.shares_memory(d1.W, theta)
    np.testing.assert_array_equal(theta[:6], 7.0)  # W1 is the first slice of the buffer
    with pytest.raises(ValueError, match=r"Dense.W must be of shape \(2, 3\), got shape \(3, 2\)"):
        d1.W = np.zeros((3, 2))
    with pytest.raises(ValueError, match=r"Dense.db must be of shape \(1,\), got shape \(2,\)"):
        d2.db = np.zeros(2)


# -- Dropout -------------------------------------------------------------------------------
def test_dropout_is_the_identity_outside_training(rng):
    X = rng.normal(size=(5, 4))
    d = ml.Dropout(0.5, seed=0)
    assert d.forward(X) is X
    assert d.backward(X) is X


def test_dropout_zero_is_the_identity_in_training(rng):
    X = rng.normal(size=(5, 4))
    assert ml.Dropout(0.0).forward(X, training=True) is X


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_dropout_mask_follows_its_definition(p, dtype, rng):
    X = rng.normal(size=(400, 250)).astype(dtype)
    d = ml.Dropout(p, seed=1)
    Y = d.forward(X, training=True).copy()
    assert Y.dtype == dtype
    M = d.mask
    kept = M != 0
    # survivors are scaled by 1 / (1 - p), the others are zero
    np.testing.assert_allclose(M[kept], 1.0 / (1.0 - p), rtol=1e-6)
    np.testing.assert_allclose(Y, X * M, rtol=1e-6)
    # the dropped fraction is Binomial(N, p) / N: within 5 standard deviations of p
    N = X.size
    assert abs((~kept).mean() - p) < 5 * np.sqrt(p * (1 - p) / N)
    # backward applies the same mask: d(X * M)/dX = M
    dY = rng.normal(size=X.shape).astype(dtype)
    np.testing.assert_allclose(d.backward(dY), dY * M, rtol=1e-6)


def test_dropout_keeps_the_expected_value():
    X = np.ones((2000, 500))
    Y = ml.Dropout(0.3, seed=0).forward(X, training=True)
    # E[Y] = E[M] X = X; the mean of 1e6 i.i.d. entries with std sqrt(p/(1-p)) ~ 0.65 is within 5 * 0.65e-3
    assert abs(Y.mean() - 1.0) < 5 * np.sqrt(0.3 / 0.7) / 1000


def test_dropout_seed_reproduces_the_mask(rng):
    X = rng.normal(size=(10, 10))
    a = ml.Dropout(0.5, seed=7).forward(X, training=True).copy()
    b = ml.Dropout(0.5, seed=7).forward(X, training=True).copy()
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("bad", [1.0, -0.1, 1.5, "0.5", True, None])
def test_dropout_rejects_bad_p(bad):
    with pytest.raises(ValueError, match=f"p must be a number in \\[0, 1\\), got {bad!r}"):
        ml.Dropout(bad)


def test_dropout_config_and_no_params():
    d = ml.Dropout(0.25)
    assert d.get_config() == {"p": 0.25} and d.n_params() == 0 and repr(d) == "Dropout(p=0.25)"


def test_layer_base_class():
    layer = Layer()
    with pytest.raises(NotImplementedError):
        layer.forward(np.zeros((1, 1)))
    with pytest.raises(NotImplementedError):
        layer.backward(np.zeros((1, 1)))
    assert layer.output_size(5) == 5 and layer.n_params() == 0 and layer.get_config() == {}


# -- bind / unbind ----------------------------------------------------------------------------
def test_bind_makes_the_given_arrays_the_parameters(rng):
    layer = ml.Dense(3, 2, seed=0, dtype="float64")
    assert not layer._bound
    theta, grad = np.arange(8.0), np.zeros(8)
    params = {"W": theta[:6].reshape(3, 2), "b": theta[6:]}
    grads = {"W": grad[:6].reshape(3, 2), "b": grad[6:]}
    layer.bind(params, grads)
    assert layer._bound
    assert layer.W is params["W"] and layer.b is params["b"]
    assert layer.dW is grads["W"] and layer.db is grads["b"]
    for attr, buffer in (("W", theta), ("b", theta), ("dW", grad), ("db", grad)):
        assert np.shares_memory(getattr(layer, attr), buffer), attr
    # the layer computes with the bound values, and its backward pass fills the gradient buffer
    X = rng.normal(size=(4, 3))
    np.testing.assert_allclose(layer.forward(X), X @ theta[:6].reshape(3, 2) + theta[6:], rtol=1e-14)
    dY = rng.normal(size=(4, 2))
    layer.backward(dY)
    np.testing.assert_allclose(grad[:6].reshape(3, 2), X.T @ dY, rtol=1e-13)
    np.testing.assert_allclose(grad[6:], dY.sum(axis=0), rtol=1e-13)
    # assigning to a bound parameter writes into the caller's buffer
    layer.b = np.array([-1.0, -2.0])
    np.testing.assert_array_equal(theta[6:], [-1.0, -2.0])


def test_unbind_gives_the_parameters_copies_of_their_own(rng):
    d1, d2 = ml.Dense(2, 3, dtype="float64", seed=0), ml.Dense(3, 1, dtype="float64", seed=1)
    model = ml.Sequential([d1, ml.Tanh(), d2])
    model.loss_and_grad(rng.normal(size=(5, 2)), rng.normal(size=5), "mse")  # non-zero gradients
    theta, grad = model.flat_params(), model.flat_grads()
    before = {(i, a): getattr(d, a).copy() for i, d in enumerate((d1, d2)) for a in ("W", "b", "dW", "db")}
    for d in (d1, d2):
        assert d._bound
        assert np.shares_memory(d.W, theta) and np.shares_memory(d.b, theta)
        assert np.shares_memory(d.dW, grad) and np.shares_memory(d.db, grad)
    assert d1.dW.any() and d2.db.any()
    for d in (d1, d2):
        d.unbind()
        assert not d._bound
    for (i, a), value in before.items():
        arr = getattr((d1, d2)[i], a)
        np.testing.assert_array_equal(arr, value)
        assert not np.shares_memory(arr, theta) and not np.shares_memory(arr, grad), (i, a)
    # assignment now replaces the attribute instead of copying into a view of the buffer
    theta0 = theta.copy()
    new_W = np.full((2, 3), 9.0)
    d1.W = new_W
    assert d1.W is new_W
    np.testing.assert_array_equal(theta, theta0)
    d2.b = np.zeros(5)  # no shape check either: the array is the layer's own
    assert d2.b.shape == (5,)


def test_dense_dtype_is_the_dtype_of_W():
    for dt in (np.float32, np.float64):
        layer = ml.Dense(2, 3, dtype=dt)
        assert layer.dtype == layer.W.dtype == dt
    layer = ml.Dense(2, 3, dtype="float32")
    layer.W = np.zeros((2, 3))  # unbound: the attribute is replaced, float64 now
    assert layer.dtype == np.float64


def test_dense_dtype_follows_the_model(rng):
    d = ml.Dense(3, 2, seed=0, dtype="float32")
    W32 = d.W.copy()
    model = ml.Sequential([d, ml.ReLU()], dtype="float64")
    assert d.dtype == np.float64 == model.dtype
    assert d.W.dtype == d.b.dtype == d.dW.dtype == d.db.dtype == np.float64
    np.testing.assert_array_equal(d.W, W32.astype(np.float64))  # converted exactly
    assert np.shares_memory(d.W, model.flat_params())
    X = rng.normal(size=(4, 3))
    assert model.forward(X).dtype == np.float64


@pytest.mark.parametrize("B", [0.1, 2.0, 1e3])
def test_dense_bound_holds_for_every_input_within_it(B, rng):
    layer = ml.Dense(6, 4, dtype="float64", seed=0)
    layer.b = rng.normal(size=4)
    X = np.concatenate([rng.uniform(-B, B, size=(200, 6)), np.sign(layer.W.T) * B, -np.sign(layer.W.T) * B])
    Z = layer.forward(X)
    assert np.abs(Z).max() <= layer.bound(B) * (1 + 1e-12)
    # the rows of sign(W^T) B reach the weight part of the bound (up to the bias)
    assert np.abs(Z).max() >= layer.bound(B) - 2 * np.abs(layer.b).max()
    assert ml.Dropout(0.5).bound(B) == B and ml.layers.Layer().bound(B) == np.inf


def test_dense_refuses_a_weight_matrix_larger_than_memory():
    with pytest.raises(ml.errors.ArgumentError, match=r"^in_features, out_features must be small enough"):
        ml.Dense(2**40, 2**30)
