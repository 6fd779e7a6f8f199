"""Tests for mlplab.model: random MLPs of depth 1-4 over every activation and every loss against
torch autograd (outputs, J, every dW and db), sample and class weights, the fused output
gradient, the model API (flat buffer, predict, evaluate, fit, History, config), error paths,
divergence, and learning the circle and xor problems."""

import copy
import json
import pickle
import re

import numpy as np
import pytest
import scipy.sparse
import sklearn.metrics
import torch

import mlplab as ml
from mlplab.callbacks import Callback
from mlplab.errors import ArgumentError
from mlplab.model import check_X

K = 3  # outputs of the models compared with torch
TOL = {np.dtype(np.float32): 1e-4, np.dtype(np.float64): 1e-9}


def _random_mlp(rng, depth, activation, output, dtype, n_in=3, k=K):
    """MLP with ``depth`` Dense layers of random widths, seeded weights and non-zero biases."""
    sizes = [n_in, *(int(s) for s in rng.integers(2, 6, size=depth - 1)), k]
    model = ml.MLP(sizes, activation=activation, output=output, dtype=dtype, seed=int(rng.integers(2**31)))
    for layer in model.layers:
        if isinstance(layer, ml.Dense):
            layer.b = rng.normal(scale=0.5, size=layer.b.shape)
    return model


def _torch_J(case, tmodel, X, y, w=None, class_weight=None):
    """torch's J for the mirrored model: (J, output P), with autograd graph."""
    Xt = torch.tensor(np.asarray(X, dtype=np.float64))
    if case.output is None:
        Z = P = tmodel(Xt)
    else:
        Z = tmodel[:-1](Xt)
        P = tmodel[-1](Z)
    Yt = case.target(y, torch.float64)
    if w is None:
        return case.torch_loss(Z, P, Yt, "mean"), P
    wt = torch.tensor(np.asarray(w, dtype=np.float64))
    return (case.torch_loss(Z, P, Yt, "none") * wt).sum() / wt.sum(), P


def _check_against_torch(model, case, X, y, tol, torch_mirror, torch_grads, assert_rel, w=None):
    J = model.loss_and_grad(X, y, case.name, sample_weight=w)
    grads = [g.copy() for g in model.grads()]
    P = model.forward(X)
    tm = torch_mirror(model)
    Jt, Pt = _torch_J(case, tm, X, y, w)
    Jt.backward()
    assert isinstance(J, float)
    assert_rel(P, Pt.detach().numpy(), tol, "output")
    assert_rel(J, Jt.item(), tol, "J")
    tg = torch_grads(tm)
    assert len(grads) == len(tg)
    for i, (g, gt) in enumerate(zip(grads, tg)):
        assert_rel(g, gt, tol, f"{'dW' if i % 2 == 0 else 'db'}{i // 2 + 1}")


def test_every_activation_and_loss_match_torch(
    activation_name, model_loss_case, dtype, rng, torch_mirror, torch_grads, assert_rel
):
    for depth in (1, 2, 3, 4):
        model = _random_mlp(rng, depth, activation_name, model_loss_case.output, dtype)
        X = rng.normal(size=(6, 3)).astype(dtype)
        y = model_loss_case.make_y(rng, 6, K)
        _check_against_torch(model, model_loss_case, X, y, TOL[dtype], torch_mirror, torch_grads, assert_rel)


def test_sample_weight_is_torchs_weighted_mean(model_loss_case, rng, torch_mirror, torch_grads, assert_rel):
    """J = sum_i w_i l_i / sum_i w_i with torch's per-sample losses l_i (reduction='none')."""
    for depth in (2, 3):
        model = _random_mlp(rng, depth, "tanh", model_loss_case.output, "float64")
        X = rng.normal(size=(7, 3))
        y = model_loss_case.make_y(rng, 7, K)
        w = rng.uniform(0.1, 3.0, size=7)
        _check_against_torch(model, model_loss_case, X, y, 1e-9, torch_mirror, torch_grads, assert_rel, w=w)


@pytest.mark.parametrize("targets", ["labels", "onehot"])
def test_class_weights_equal_torch_cross_entropy_weight(targets, rng, torch_mirror, torch_grads, assert_rel):
    model = _random_mlp(rng, 3, "relu", "softmax", "float64", k=4)
    X = rng.normal(size=(20, 3))
    labels = rng.integers(0, 4, size=20)
    y = labels if targets == "labels" else np.eye(4)[labels]
    class_weight = np.array([1.0, 0.2, 3.0, 0.7])
    J = model.loss_and_grad(X, y, "cross_entropy", sample_weight=class_weight[labels])
    tm = torch_mirror(model)
    Jt = torch.nn.CrossEntropyLoss(weight=torch.tensor(class_weight))(tm[:-1](torch.tensor(X)), torch.tensor(labels))
    Jt.backward()
    assert_rel(J, Jt.item(), 1e-9)
    for g, gt in zip(model.grads(), torch_grads(tm)):
        assert_rel(g, gt, 1e-9)


@pytest.mark.parametrize("output, loss, k", [("softmax", "cross_entropy", 3), ("sigmoid", "bce", 1)])
def test_fused_output_gradient_is_p_minus_y_over_n(output, loss, k, rng):
    model = ml.MLP([3, 5, k], activation="tanh", output=output, dtype="float64", seed=0)
    last = model.layers[-2]
    seen = []
    original = last.backward

    def spy(dY):
        seen.append(dY.copy())
        return original(dY)

    last.backward = spy
    X = rng.normal(size=(9, 3))
    labels = rng.integers(0, max(k, 2), size=9)
    model.loss_and_grad(X, labels, loss)
    P = model.predict(X)
    Y = np.eye(k)[labels] if k > 1 else labels[:, None].astype(np.float64)
    np.testing.assert_allclose(seen[0], (P - Y) / 9, rtol=1e-12, atol=1e-15)


# -- forward / backward / predict / evaluate --------------------------------------------------
def test_backward_returns_dx_and_fills_grads_like_torch(dtype, rng, torch_mirror, torch_grads, assert_rel):
    model = ml.MLP([3, 5, 4, 2], activation="elu", output="softmax", dtype=dtype, seed=1)
    X = rng.normal(size=(6, 3)).astype(dtype)
    dY = rng.normal(size=(6, 2)).astype(dtype)
    out = model.forward(X, training=True)
    dX = model.backward(dY)
    assert out.dtype == dtype and dX.dtype == dtype
    tm = torch_mirror(model)
    Xt = torch.tensor(X.astype(np.float64), requires_grad=True)
    Ot = tm(Xt)
    Ot.backward(torch.tensor(dY.astype(np.float64)))
    assert_rel(out, Ot.detach().numpy(), TOL[dtype])
    assert_rel(dX, Xt.grad.numpy(), TOL[dtype])
    for g, gt in zip(model.grads(), torch_grads(tm)):
        assert_rel(g, gt, TOL[dtype])


def test_backward_after_loss_and_grad_with_a_leading_dropout(rng):
    # loss_and_grad skips dX on the first Dense; backward must still return dX through it
    model = ml.Sequential([ml.Dropout(0.0), ml.Dense(2, 3, dtype="float64", seed=0), ml.Tanh()])
    X = rng.normal(size=(4, 2))
    model.loss_and_grad(X, rng.normal(size=(4, 3)), "mse")
    model.forward(X)
    dY = rng.normal(size=(4, 3))
    dX = model.backward(dY)
    W = model.layers[1].W
    # dX = (dY * tanh'(Z)) W^T, with tanh' = 1 - tanh(Z)^2
    Y = np.tanh(X @ W)
    np.testing.assert_allclose(dX, (dY * (1 - Y**2)) @ W.T, rtol=1e-12)


def test_backward_rejects_a_wrong_dy_shape(rng):
    model = ml.MLP([3, 4, 2], output="softmax", seed=0)
    # no forward pass yet: an ArgumentError, where the softmax's missing output raised AttributeError
    with pytest.raises(
        ArgumentError, match=r"^dY must be of shape \(n, after a forward pass, 2\) .*got shape \(5, 2\)"
    ):
        model.backward(np.zeros((5, 2)))
    model.forward(rng.normal(size=(5, 3)))
    for shape in [(5, 3), (4, 2), (5,)]:  # (4, 2): NumPy's broadcasting error before
        with pytest.raises(
            ArgumentError,
            match=rf"^dY must be of shape \(5, 2\) as the last forward's output, got shape {re.escape(str(shape))}",
        ):
            model.backward(np.zeros(shape))
    assert model.backward(np.zeros((5, 2))).shape == (5, 3)


def test_predict_equals_forward_and_chunks_agree(rng):
    model = ml.MLP([3, 6, 2], activation="tanh", output="softmax", dtype="float64", seed=0)
    X = rng.normal(size=(11, 3))
    P = model.predict(X)
    np.testing.assert_array_equal(P, model.forward(X))
    np.testing.assert_allclose(model.predict(X, batch_size=4), P, rtol=1e-14)
    # forward and predict return new arrays, not the model's buffers
    P[...] = 0
    assert model.predict(X).any()


def test_predict_classes(rng):
    X = rng.normal(size=(10, 3))
    soft = ml.MLP([3, 4, 3], output="softmax", seed=0)
    np.testing.assert_array_equal(soft.predict_classes(X), soft.predict(X).argmax(axis=1))
    sig = ml.MLP([3, 4, 1], output="sigmoid", seed=0)
    np.testing.assert_array_equal(sig.predict_classes(X), (sig.predict(X)[:, 0] >= 0.5).astype(int))
    multi = ml.MLP([3, 4, 2], output="sigmoid", seed=0)
    assert multi.multilabel
    np.testing.assert_array_equal(multi.predict_classes(X), (multi.predict(X) >= 0.5).astype(int))


@pytest.mark.parametrize("output, loss", [("softmax", "cross_entropy"), ("sigmoid", "bce"), (None, "mse")])
def test_evaluate_loss_equals_loss_and_grad(output, loss, rng):
    k = 1 if output == "sigmoid" else 3
    model = ml.MLP([3, 5, k], activation="tanh", output=output, dtype="float64", seed=0)
    X = rng.normal(size=(12, 3))
    y = rng.normal(size=(12, k)) if loss == "mse" else rng.integers(0, max(k, 2), size=12)
    w = rng.uniform(0.5, 2.0, size=12)
    res = model.evaluate(X, y, loss)
    np.testing.assert_allclose(res["loss"], model.loss_and_grad(X, y, loss), rtol=1e-12)
    np.testing.assert_allclose(
        model.evaluate(X, y, loss, sample_weight=w)["loss"],
        model.loss_and_grad(X, y, loss, sample_weight=w),
        rtol=1e-12,
    )
    if loss == "mse":
        assert set(res) == {"loss"}  # accuracy means nothing for regression
    else:
        assert res["accuracy"] == np.mean(model.predict_classes(X) == y)


def test_evaluate_regression_metrics_match_sklearn(rng):
    model = ml.MLP([3, 5, 2], activation="tanh", dtype="float64", seed=0)
    X, y = rng.normal(size=(15, 3)), rng.normal(size=(15, 2))
    res = model.evaluate(X, y, "mse", metrics=["mse", "mae", "r2"])
    P = model.predict(X)
    np.testing.assert_allclose(res["mse"], sklearn.metrics.mean_squared_error(y, P), rtol=1e-12)
    np.testing.assert_allclose(res["mae"], sklearn.metrics.mean_absolute_error(y, P), rtol=1e-12)
    np.testing.assert_allclose(res["r2"], sklearn.metrics.r2_score(y, P), rtol=1e-12)
    with pytest.raises(
        ValueError,
        match="metrics must be metrics that apply to the loss 'mse' \\('accuracy' needs a classification loss",
    ):
        model.evaluate(X, y, "mse", metrics=["accuracy"])


def test_default_loss_follows_the_output_layer(rng):
    X = rng.normal(size=(8, 3))
    labels = rng.integers(0, 2, size=8)
    soft = ml.MLP([3, 4, 2], output="softmax", dtype="float64", seed=0)
    assert soft.loss_and_grad(X, labels) == soft.loss_and_grad(X, labels, "cross_entropy")
    sig = ml.MLP([3, 4, 1], output="sigmoid", dtype="float64", seed=0)
    assert sig.loss_and_grad(X, labels) == sig.loss_and_grad(X, labels, "bce")
    lin = ml.MLP([3, 4, 1], dtype="float64", seed=0)
    assert lin.loss_and_grad(X, labels) == lin.loss_and_grad(X, labels, "mse")


# -- the flat buffer --------------------------------------------------------------------------
def test_params_and_grads_are_views_of_the_flat_buffers(rng):
    model = ml.MLP([3, 4, 2, 5], output="softmax", dtype="float64", seed=0)
    Ws = [layer.W for layer in model.layers if isinstance(layer, ml.Dense)]
    bs = [layer.b for layer in model.layers if isinstance(layer, ml.Dense)]
    # weights first, then biases
    np.testing.assert_array_equal(model.flat_params(), np.concatenate([w.ravel() for w in Ws] + bs))
    assert model.n_weights == sum(w.size for w in Ws)
    assert model.params()[0] is model.layers[0].W and len(model.params()) == 6
    for p in model.params():
        assert np.shares_memory(p, model.flat_params())
    for g in model.grads():
        assert np.shares_memory(g, model.flat_grads())
    model.params()[2][1, 1] = 42.0  # W2[1, 1]: W2 (4, 2) follows W1 (3, 4) in the buffer
    assert model.flat_params()[3 * 4 + 1 * 2 + 1] == 42.0
    model.flat_params()[-1] = -7.0  # the last bias of the last layer
    assert model.params()[-1][-1] == -7.0
    model.loss_and_grad(rng.normal(size=(6, 3)), rng.integers(0, 5, size=6))
    dWs = [g for i, g in enumerate(model.grads()) if i % 2 == 0]
    dbs = [g for i, g in enumerate(model.grads()) if i % 2 == 1]
    np.testing.assert_array_equal(model.flat_grads(), np.concatenate([g.ravel() for g in dWs] + dbs))


def test_n_params_equals_torch(torch_mirror):
    model = ml.MLP([7, 16, 8, 3], seed=0)
    assert model.n_params == sum(p.numel() for p in torch_mirror(model).parameters()) == 7 * 16 + 16 * 8 + 8 * 3 + 27
    assert model.get_weights().shape == (model.n_params,)


def test_get_and_set_weights(rng):
    model = ml.MLP([3, 4, 2], dtype="float64", seed=0)
    w = model.get_weights()
    assert not np.shares_memory(w, model.flat_params())
    model.set_weights(w + 1)
    np.testing.assert_array_equal(model.flat_params(), w + 1)
    model.set_weights([np.zeros_like(p) for p in model.params()])
    assert not model.flat_params().any()
    with pytest.raises(ValueError, match=r"weights must be of shape \(26,\) \(as get_weights\(\)\), got shape \(3,\)"):
        model.set_weights(np.zeros(3))
    with pytest.raises(ValueError, match="weights must be finite, got NaN or infinity"):
        model.set_weights(np.full(26, np.nan))
    with pytest.raises(ValueError, match=r"weights must be a list of 4 arrays \(as params\(\)\), got 1 arrays"):
        model.set_weights([np.zeros((3, 4))])


def test_dtypes():
    m = ml.MLP([2, 3, 1])
    assert m.dtype == np.float32 and m.flat_params().dtype == np.float32
    assert m.predict(np.zeros((2, 2))).dtype == np.float32
    assert all(p.dtype == np.float32 for p in m.params())
    m64 = ml.MLP([2, 3, 1], dtype="float64")
    assert m64.flat_params().dtype == np.float64 and m64.predict(np.zeros((2, 2))).dtype == np.float64
    assert ml.Sequential([ml.Dense(2, 3, dtype="float64")]).dtype == np.float64
    s = ml.Sequential([ml.Dense(2, 3)], dtype="float64")
    assert s.dtype == np.float64 and s.layers[0].W.dtype == np.float64
    with pytest.raises(ValueError, match="dtype must be one of"):
        ml.MLP([2, 3, 1], dtype="float16")


# -- description and configuration --------------------------------------------------------
def test_summary_and_repr(capsys):
    m = ml.MLP([3, 4, 2], activation="relu", output="softmax", seed=0)
    assert m.summary() is None  # printed, as Keras's summary
    s = capsys.readouterr().out
    assert s == m.summary(print_fn=None) + "\n"
    lines = []
    m.summary(print_fn=lines.append)
    assert lines == [m.summary(print_fn=None)]
    assert "Dense(in_features=3, out_features=4, init='he')" in s and "ReLU()" in s and "Softmax()" in s
    assert "total parameters: 26" in s and "(float32)" in s
    assert repr(m) == "MLP([3, 4, 2], activation='relu', output='softmax', dtype='float32', n_params=26)"
    seq = ml.Sequential([ml.Dense(2, 3), ml.Tanh()])
    assert repr(seq) == seq.summary(print_fn=None) and "total parameters: 9" in repr(seq)


def test_mlp_config_round_trip():
    m = ml.MLP([3, 8, 4, 2], activation="gelu", output="softmax", dtype="float64", dropout=0.25, seed=0)
    cfg = json.loads(json.dumps(m.get_config()))
    m2 = ml.Sequential.from_config(cfg)
    assert type(m2) is ml.MLP and m2.get_config() == cfg
    assert m2.n_params == m.n_params and m2.dtype == np.float64
    assert [type(layer) for layer in m2.layers] == [type(layer) for layer in m.layers]


def test_sequential_config_round_trip():
    m = ml.Sequential(
        [ml.Dense(3, 5), ml.LeakyReLU(0.2), ml.Dropout(0.3), ml.Dense(5, 4), ml.ELU(0.5), ml.Dense(4, 2), ml.Softmax()],
        dtype="float64",
    )
    cfg = json.loads(json.dumps(m.get_config()))
    m2 = ml.Sequential.from_config(cfg)
    assert type(m2) is ml.Sequential and m2.get_config() == cfg and m2.n_params == m.n_params
    assert m2.layers[1].negative_slope == 0.2 and m2.layers[2].p == 0.3 and m2.layers[4].alpha == 0.5
    with pytest.raises(
        ValueError,
        match="a layer's class must be Dense, Dropout or an activation \\(unknown layer class\\), got 'Conv2d'",
    ):
        ml.Sequential.from_config({"class": "Sequential", "layers": [{"class": "Conv2d", "config": {}}]})
    with pytest.raises(
        ValueError, match="config\\['class'\\] must be 'MLP' or 'Sequential' \\(unknown model class\\), got 'Pipeline'"
    ):
        ml.Sequential.from_config({"class": "Pipeline"})


# -- construction errors --------------------------------------------------------------------
@pytest.mark.parametrize("sizes", [[3], [], "3,1", 3, [3, 0, 1], [3, 2.5, 1], [3, True]])
def test_mlp_rejects_bad_sizes(sizes):
    with pytest.raises(ValueError, match="sizes must"):
        ml.MLP(sizes)


def test_mlp_rejects_unknown_activations():
    with pytest.raises(ValueError, match="activation must be .*got 'swish'"):
        ml.MLP([2, 3, 1], activation="swish")
    with pytest.raises(ValueError, match="^output must be .*got 'logsoftmax'"):
        ml.MLP([2, 3, 1], output="logsoftmax")


def test_sequential_rejects_bad_layers():
    with pytest.raises(ValueError, match=r"layers must be a list of at least one layer, got \[\]"):
        ml.Sequential([])
    with pytest.raises(TypeError, match="layers\\[1\\] must be a mlplab Layer, got 'relu'"):
        ml.Sequential([ml.Dense(2, 3), "relu"])
    with pytest.raises(ValueError, match="layers must be a list whose first layer with parameters is a Dense layer"):
        ml.Sequential([ml.ReLU()])
    with pytest.raises(
        ValueError, match="Dense in_features must be 3, the width of the previous layer's output, got 4"
    ):
        ml.Sequential([ml.Dense(2, 3), ml.Dense(4, 1)])


# -- input validation on every entry point -----------------------------------------------------
ENTRY_POINTS = {
    "forward": lambda m, X, y: m.forward(X),
    "predict": lambda m, X, y: m.predict(X),
    "predict_classes": lambda m, X, y: m.predict_classes(X),
    "evaluate": lambda m, X, y: m.evaluate(X, y),
    "loss_and_grad": lambda m, X, y: m.loss_and_grad(X, y),
    "fit": lambda m, X, y: m.fit(X, y, epochs=1, verbose=0),
}
WITH_Y = ("evaluate", "loss_and_grad", "fit")


@pytest.fixture
def clf():
    return ml.MLP([3, 4, 2], output="softmax", seed=0)


def _X(rng, n=5, d=3):
    return rng.normal(size=(n, d))


BAD_X = {
    "nan": (lambda X: np.where(X > 1, np.nan, X), ValueError, "X must be finite, got NaN or infinity"),
    "inf": (lambda X: np.where(X > 1, -np.inf, X), ValueError, "X must be finite, got NaN or infinity"),
    "1-D": (
        lambda X: X[:, 0],
        ValueError,
        r"X must be 2-D \(n_samples, n_features\) \(for a single feature use "
        r"X.reshape\(-1, 1\)\), got shape \(5,\)",
    ),
    "3-D": (lambda X: X[:, :, None], ValueError, r"X must be 2-D \(n_samples, n_features\), got shape \(5, 3, 1\)"),
    "empty": (lambda X: X[:0], ValueError, r"X must be non-empty \(at least one sample\), got shape \(0, 3\)"),
    "features": (
        lambda X: np.hstack([X, X[:, :1]]),
        ValueError,
        r"X must be of shape \(n_samples, 3\) \(the model has 3 inputs\), got shape \(5, 4\)",
    ),
    "strings": (lambda X: X.astype(str), TypeError, "X must be an array of real numbers, got dtype <U"),
    "objects": (
        lambda X: np.where(X > 0, X, "x").astype(object),
        TypeError,
        "X must be an array of real numbers, got ",
    ),
    "complex": (lambda X: X + 1j, TypeError, "X must be an array of real numbers, got dtype complex128"),
    "sparse-nan": (
        lambda X: scipy.sparse.csr_matrix(np.where(X == X.max(), np.nan, X)),
        ValueError,
        "X must be finite, got NaN or infinity",
    ),
    "sparse-width": (
        lambda X: scipy.sparse.csr_matrix(X[:, :2]),
        ValueError,
        r"X must be of shape \(n_samples, 3\) \(the model has 3 inputs\), got shape \(5, 2\)",
    ),
    "ragged": (lambda X: [[1.0, 2.0, 3.0], [1.0]], ValueError, r"X must be an array of real numbers, got \[\[1.0"),
}


@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
@pytest.mark.parametrize("bad", list(BAD_X))
def test_bad_X_is_rejected_everywhere(entry, bad, clf, rng):
    X = _X(rng)
    if bad == "nan" or bad == "inf":
        X[0, 0] = 2.0  # make sure there is a non-finite entry
    make, exc, msg = BAD_X[bad]
    with pytest.raises(exc, match=msg):
        ENTRY_POINTS[entry](clf, make(X), np.zeros(5, dtype=int))


BAD_Y = {
    "nan": (np.array([0, 1, np.nan, 1, 0]), ValueError, "y must be finite, got NaN or infinity"),
    "inf": (np.array([0, 1, np.inf, 1, 0]), ValueError, "y must be finite, got NaN or infinity"),
    "count": (np.array([0, 1, 1, 0]), ValueError, "y must be of 5 samples, as many as X, got 4 samples"),
    "label": (
        np.array([0, 1, 2, 1, 0]),
        ValueError,
        r"y must be class labels 0..1 \(the model has 2 classes\), "
        "got label 2",
    ),
    "negative": (
        np.array([0, -1, 1, 1, 0]),
        ValueError,
        r"y must be class labels 0..1 \(the model has 2 classes\), "
        "got label -1",
    ),
    "3-D": (np.zeros((5, 2, 1)), ValueError, r"y must be 1-D or 2-D, got shape \(5, 2, 1\)"),
    "columns": (
        np.zeros((5, 3)),
        ValueError,
        r"y must be of shape \(n, 2\) to match the model output, got shape \(5, 3\)",
    ),
    "strings": (np.array(list("abcab")), TypeError, "y must be integer class labels, got dtype <U1"),
}


@pytest.mark.parametrize("entry", WITH_Y)
@pytest.mark.parametrize("bad", list(BAD_Y))
def test_bad_y_is_rejected_everywhere(entry, bad, clf, rng):
    y, exc, msg = BAD_Y[bad]
    with pytest.raises(exc, match=msg):
        ENTRY_POINTS[entry](clf, _X(rng), y)


def test_bad_regression_targets(rng):
    reg = ml.MLP([3, 4, 1], seed=0)
    with pytest.raises(TypeError, match="y must be real numbers, got dtype <U1"):
        reg.loss_and_grad(_X(rng), np.array(list("abcab")))
    with pytest.raises(ValueError, match="y must be finite, got NaN or infinity"):
        reg.fit(_X(rng), np.array([0.0, np.inf, 1.0, 2.0, 3.0]), verbose=0)
    with pytest.raises(ValueError, match=r"y must be in \[0, 1\] for the bce loss.*got 3"):
        reg.loss_and_grad(_X(rng), np.array([0, 1, 3, 1, 0]), "bce")


@pytest.mark.parametrize(
    "w, msg",
    [
        (np.ones(4), r"sample_weight must be of shape \(5,\), one weight per sample, got shape \(4,\)"),
        (np.ones((5, 1)), r"sample_weight must be of shape \(5,\), one weight per sample, got shape \(5, 1\)"),
        # which weight is at fault, or that all are zero
        (
            np.array([1, 1, -1, 1, 1.0]),
            "^sample_weight must be finite in float32 and >= 0, and not all zero, got -1.0 at index 2$",
        ),
        (np.array([1, 1, np.nan, 1, 1.0]), "^sample_weight must be .*, and not all zero, got nan at index 2$"),
        ([1, 1, 1, 1, np.inf], "^sample_weight must be .*, and not all zero, got inf at index 4$"),
        (np.zeros(5), "^sample_weight must be finite in float32 and >= 0, and not all zero, got all zero$"),
    ],
)
def test_bad_sample_weight(w, msg, clf, rng):
    for call in (clf.loss_and_grad, clf.evaluate):
        with pytest.raises(ValueError, match=msg):
            call(_X(rng), np.zeros(5, dtype=int), sample_weight=w)


# -- fit --------------------------------------------------------------------------------------
class _WeightRecorder(Callback):
    def __init__(self):
        self.weights = []

    def on_batch_begin(self, batch, logs=None):
        self.weights.append(self.model.get_weights())


class _EpochStarts(Callback):
    def on_train_begin(self, logs=None):
        self.weights = []

    def on_epoch_begin(self, epoch, logs=None):
        self.weights.append(self.model.get_weights())


def test_divergence_stops_fit_and_goes_back_to_the_start_of_the_epoch(rng):
    X = rng.normal(size=(64, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.normal(size=64)
    model = ml.MLP([3, 8, 1], activation="relu", seed=0)
    starts = _EpochStarts()
    with pytest.raises(ml.DivergenceError, match="lower learning rate") as info:
        model.fit(X, y, optimizer=ml.optim.SGD(lr=1e6), epochs=20, batch_size=16, verbose=0, callbacks=[starts])
    assert isinstance(info.value, FloatingPointError)
    assert isinstance(info.value.history, ml.History)
    assert "diverged" in info.value.history.stop_reason and "start of epoch" in str(info.value)
    # the weights of the start of the epoch in which it diverged, whose outputs are finite
    np.testing.assert_array_equal(model.get_weights(), starts.weights[-1])
    assert np.isfinite(model.predict(X)).all() and len(info.value.history) == len(starts.weights) - 1


def test_terminate_on_nan_stops_without_raising(rng):
    X = rng.normal(size=(64, 3))
    y = X.sum(axis=1)
    model = ml.MLP([3, 8, 1], activation="relu", seed=0)
    starts = _EpochStarts()
    h = model.fit(
        X,
        y,
        optimizer=ml.optim.SGD(lr=1e6),
        epochs=20,
        batch_size=16,
        verbose=0,
        callbacks=[ml.TerminateOnNaN(), starts],
    )
    assert "diverged" in h.stop_reason and np.isfinite(model.get_weights()).all()
    np.testing.assert_array_equal(model.get_weights(), starts.weights[-1])
    assert len(h) == len(starts.weights) - 1  # the diverged epoch is not logged
    assert np.isfinite(h.history.get("loss", [])).all()


def test_full_batch_epoch_is_one_gradient_step(rng):
    """batch_size=None: one epoch of SGD(lr) is theta <- theta - lr * dJ/dtheta over all samples."""
    X, y = rng.normal(size=(40, 3)), rng.normal(size=(40, 2))
    model = ml.MLP([3, 6, 2], activation="tanh", dtype="float64", seed=0)
    theta0 = model.get_weights()
    J0 = model.loss_and_grad(X, y, "mse")
    expected = theta0 - 0.05 * model.flat_grads()
    h = model.fit(X, y, loss="mse", optimizer=ml.optim.SGD(lr=0.05), epochs=1, batch_size=None, verbose=0)
    np.testing.assert_allclose(model.get_weights(), expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(h["loss"], [J0], rtol=1e-12)


def test_fit_history_has_per_epoch_loss_val_loss_and_metrics(rng):
    X, y = ml.datasets.circle(n=200, noise=0.1, seed=0)
    Xv, yv = ml.datasets.circle(n=50, noise=0.1, seed=1)
    model = ml.MLP([2, 8, 2], activation="tanh", output="softmax", dtype="float64", seed=0)
    rec_losses = []

    class EpochLoss(Callback):
        def on_epoch_begin(self, epoch, logs=None):
            rec_losses.append(self.model.loss_and_grad(X, y))

    h = model.fit(
        X,
        y,
        optimizer=ml.optim.SGD(lr=0.5),
        epochs=3,
        batch_size=None,
        verbose=0,
        validation_data=(Xv, yv),
        callbacks=[EpochLoss()],
    )
    assert isinstance(h, ml.History) and h is model.history
    assert h.epoch == [0, 1, 2] and len(h) == 3
    assert set(h.history) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr"}
    assert all(len(v) == 3 for v in h.history.values())
    # full batch: the epoch's loss is J at the weights the epoch starts from
    np.testing.assert_allclose(h["loss"], rec_losses, rtol=1e-12)
    final = model.evaluate(Xv, yv)
    np.testing.assert_allclose(h["val_loss"][-1], final["loss"], rtol=1e-12)
    assert h["val_accuracy"][-1] == final["accuracy"]
    assert h["lr"] == [0.5, 0.5, 0.5]
    assert h.stop_reason == "completed 3 epochs"


@pytest.mark.parametrize("problem", ["circle", "xor"])
def test_small_mlp_learns_the_playground_problems(problem):
    X, y = getattr(ml.datasets, problem)(n=600, noise=0.1, seed=1)
    Xtr, Xte, ytr, yte = ml.datasets.train_test_split(X, y, test_size=0.25, random_state=1, stratify=y)
    model = ml.MLP([2, 16, 16, 1], activation="tanh", output="sigmoid", seed=1)
    model.fit(Xtr, ytr, optimizer=ml.optim.SGD(lr=0.1, momentum=0.9), epochs=60, batch_size=32, seed=1, verbose=0)
    assert np.mean(model.predict_classes(Xte) == yte) >= 0.97


@pytest.mark.parametrize("copier", [copy.deepcopy, lambda m: pickle.loads(pickle.dumps(m))], ids=["deepcopy", "pickle"])
def test_copied_model_has_its_own_flat_buffer(copier):
    # the copy's W and b must be views into the copy's own buffer, not separate arrays
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(20, 3)), rng.integers(0, 2, 20)
    m = ml.MLP([3, 4, 2], output="softmax", seed=0, dropout=0.2)
    m.fit(X, y, epochs=2, verbose=0, seed=0)
    c = copier(m)
    np.testing.assert_array_equal(c.predict(X), m.predict(X))
    np.testing.assert_array_equal(c.flat_params(), m.flat_params())
    c.layers[0].W[0, 0] = 5.0
    assert c.flat_params()[0] == 5.0 and m.flat_params()[0] != 5.0
    c.fit(X, y, epochs=1, verbose=0, seed=1)
    assert np.shares_memory(c.layers[0].W, c.flat_params())
    # training the copy moved its weights through the buffer the optimizer updates
    assert not np.array_equal(c.flat_params(), m.flat_params())


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_check_X_accepts_finite_inputs_whose_squares_overflow(dtype):
    # the fast finiteness test (sum of squares) overflows here; min and max must then decide
    big = 1e30 if dtype == "float32" else 1e300
    X = np.full((4, 3), big)
    A = check_X(X, 3, np.dtype(dtype))
    assert A.dtype == dtype and np.isfinite(A).all()
    X[2, 1] = np.inf
    with pytest.raises(ValueError, match="X must be finite, got NaN or infinity"):
        check_X(X, 3, np.dtype(dtype))


# -- astype -----------------------------------------------------------------------------------
_DTYPE_PAIRS = [("float32", "float64"), ("float64", "float32"), ("float64", "float64"), ("float32", "float32")]


def _with_random_biases(model, rng):
    for layer in model.layers:
        if isinstance(layer, ml.Dense):
            layer.b = rng.normal(scale=0.5, size=layer.b.shape)
    return model


@pytest.mark.parametrize("src, dst", _DTYPE_PAIRS)
def test_astype_is_a_new_model_of_the_same_class_in_the_new_dtype(src, dst, rng):
    m = _with_random_biases(ml.MLP([3, 5, 4, 2], activation="tanh", output="softmax", dtype=src, seed=0), rng)
    c = m.astype(dst)
    assert type(c) is ml.MLP and c is not m
    assert (c.sizes, c.activation, c.output, c.init, c.dropout) == (m.sizes, m.activation, m.output, m.init, m.dropout)
    assert [type(layer) for layer in c.layers] == [type(layer) for layer in m.layers]
    assert all(a is not b for a, b in zip(c.layers, m.layers))
    assert c.get_config() == {**m.get_config(), "dtype": dst}
    assert c.dtype == dst and c.flat_params().dtype == dst and c.flat_grads().dtype == dst
    dense = [layer for layer in c.layers if isinstance(layer, ml.Dense)]
    assert len(dense) == 3
    for layer in dense:
        assert layer.W.dtype == layer.b.dtype == layer.dW.dtype == layer.db.dtype == dst and layer.dtype == dst
        # bound into the copy's own buffers
        assert np.shares_memory(layer.W, c.flat_params()) and np.shares_memory(layer.dW, c.flat_grads())
    assert not np.shares_memory(c.flat_params(), m.flat_params())
    assert not np.shares_memory(c.flat_grads(), m.flat_grads())
    assert c.n_params == m.n_params and c.n_weights == m.n_weights
    # the weights converted: float32 -> float64 is exact, float64 -> float32 rounds as numpy's astype
    np.testing.assert_array_equal(c.flat_params(), m.flat_params().astype(dst))
    for p, q in zip(c.params(), m.params()):
        np.testing.assert_array_equal(p, q.astype(dst))
    assert c.predict(rng.normal(size=(4, 3))).dtype == dst


@pytest.mark.parametrize("src, dst", [("float32", "float64"), ("float64", "float32")])
def test_astype_copy_computes_the_originals_network(src, dst, rng, torch_mirror, assert_rel):
    m = _with_random_biases(ml.MLP([3, 6, 5, 2], activation="elu", output="softmax", dtype=src, seed=2), rng)
    tm = torch_mirror(m)  # float64 torch network with the original's weights, before the copy is made
    c = m.astype(dst)
    X = rng.normal(size=(9, 3))
    expected = tm(torch.tensor(X)).detach().numpy()
    # a float64 copy of float32 weights is exact; a float32 copy rounds weights and arithmetic
    assert_rel(c.forward(X), expected, 1e-12 if dst == "float64" else 1e-5, "astype forward")


@pytest.mark.parametrize("src, dst", _DTYPE_PAIRS)
def test_astype_leaves_the_original_untouched(src, dst, rng):
    X, y = rng.normal(size=(40, 3)), rng.integers(0, 2, size=40)
    m = ml.MLP([3, 6, 2], activation="relu", output="softmax", dtype=src, seed=0)
    theta, grad = m.flat_params(), m.flat_grads()
    w0 = m.get_weights()
    P0 = m.predict(X)
    c = m.astype(dst)
    c.fit(X, y, optimizer=ml.optim.SGD(lr=0.5, momentum=0.9), epochs=3, batch_size=8, verbose=0, seed=0)
    assert not np.allclose(c.flat_params(), w0.astype(dst))  # the copy did train
    assert m.dtype == src and m.flat_params() is theta and m.flat_grads() is grad
    assert m.flat_params().dtype == src
    np.testing.assert_array_equal(m.flat_params(), w0)
    for layer in m.layers:
        if isinstance(layer, ml.Dense):
            assert layer.W.dtype == src and np.shares_memory(layer.W, theta) and np.shares_memory(layer.b, theta)
    np.testing.assert_array_equal(m.predict(X), P0)
    # and the other way round: writing to the original does not reach the copy
    cw = c.get_weights()
    m.flat_params()[:] = 0.0
    np.testing.assert_array_equal(c.flat_params(), cw)


def test_astype_does_not_carry_the_training_state(rng):
    X, y = rng.normal(size=(30, 3)), rng.integers(0, 2, size=30)
    m = ml.MLP([3, 4, 2], output="softmax", seed=0)
    fresh = ml.MLP([3, 4, 2], output="softmax", seed=0)
    h = m.fit(X, y, optimizer=ml.optim.Adam(lr=0.01), epochs=2, verbose=0)
    assert m.history is h and isinstance(m.optimizer, ml.optim.Adam) and m.optimizer.t > 0
    c = m.astype("float64")
    assert fresh.history is None and fresh.optimizer is None and fresh.stop_reason is None
    assert c.history is None and c.optimizer is None and c.stop_reason is None  # as a freshly built model
    # the original keeps its own
    assert m.history is h and isinstance(m.optimizer, ml.optim.Adam)
    # fitting the copy starts a History of its own
    h2 = c.fit(X, y, epochs=1, verbose=0)
    assert c.history is h2 and h2 is not h and len(h2) == 1 and len(h) == 2


@pytest.mark.parametrize("src, dst", [("float32", "float64"), ("float64", "float64"), ("float64", "float32")])
def test_astype_copies_the_dropout_generators(src, dst, rng):
    m = ml.MLP([4, 8, 8, 3], activation="tanh", dropout=0.4, dtype=src, seed=5)
    drops = [layer for layer in m.layers if isinstance(layer, ml.Dropout)]
    assert len(drops) == 2
    m.forward(rng.normal(size=(6, 4)), training=True)  # generators moved on from their seeds
    c = m.astype(dst)
    cdrops = [layer for layer in c.layers if isinstance(layer, ml.Dropout)]
    assert [d.p for d in cdrops] == [d.p for d in drops]
    for a, b in zip(cdrops, drops):
        assert a.rng is not b.rng and a.rng.bit_generator.state == b.rng.bit_generator.state
    X = rng.normal(size=(10, 4))
    c.forward(X, training=True)
    masks_c = [d.mask.copy() for d in cdrops]
    # the copy's draws did not advance the original's generators: the original, given the copy's
    # dtype, draws the same masks next (the draws of Generator.random depend on the dtype)
    for d, M in zip(drops, masks_c):
        assert M.dtype == dst
        d.forward(np.ones(M.shape, dtype=dst), training=True)
        np.testing.assert_array_equal(d.mask, M)
    assert any((M == 0).any() for M in masks_c)  # some units dropped
    if src == dst:  # the whole training-mode forward pass is then the same
        m2 = ml.MLP([4, 8, 8, 3], activation="tanh", dropout=0.4, dtype=src, seed=5)
        c2 = m2.astype(dst)
        np.testing.assert_array_equal(c2.forward(X, training=True), m2.forward(X, training=True))


def test_astype_keeps_the_arguments_of_custom_layers(rng, torch_mirror, assert_rel):
    m = _with_random_biases(
        ml.Sequential(
            [
                ml.Dense(3, 5, seed=0),
                ml.LeakyReLU(0.2),
                ml.Dropout(0.3, seed=1),
                ml.Dense(5, 4, seed=2),
                ml.ELU(0.5),
                ml.Dense(4, 2, seed=3),
                ml.Softmax(),
            ]
        ),
        rng,
    )
    tm = torch_mirror(m).eval()  # eval: torch's Dropout is the identity, as mlplab's forward
    c = m.astype("float64")
    assert type(c) is ml.Sequential and c.dtype == np.float64
    assert c.get_config() == {**m.get_config(), "dtype": "float64"}
    assert c.layers[1].negative_slope == 0.2 and c.layers[2].p == 0.3 and c.layers[4].alpha == 0.5
    # the arguments are used, not just kept: torch's LeakyReLU(0.2) and ELU(0.5) agree; X has
    # negative pre-activations in both layers so both slopes matter
    X = 3.0 * rng.normal(size=(12, 3))
    assert (m.layers[0].forward(X.astype(np.float32)) < 0).any()
    assert_rel(c.forward(X), tm(torch.tensor(X)).detach().numpy(), 1e-12)


# -- losses on logits (a linear output), as torch defines them ---------------------------------------
def test_cross_entropy_on_a_linear_output_trains_as_torch_users_expect():
    """MLP([64, 32, 10]) with loss="cross_entropy": torch's CrossEntropyLoss on logits."""
    X, y = ml.datasets.load_digits()
    model = ml.MLP([64, 32, 10], seed=0)
    h = model.fit(X, y, loss="cross_entropy", optimizer=ml.optim.SGD(lr=0.1, momentum=0.9), epochs=5, verbose=0)
    assert np.isfinite(h["loss"]).all() and h["loss"][-1] < 0.3 and h["accuracy"][-1] > 0.9
    Z = model.predict(X)
    P = model.predict_proba(X)
    expected = torch.softmax(torch.tensor(Z, dtype=torch.float64), dim=1).numpy()
    np.testing.assert_allclose(P, expected, rtol=1e-5, atol=1e-7)  # float32 model
    np.testing.assert_array_equal(model.predict_classes(X), Z.argmax(axis=1))
    res = model.evaluate(X, y, "cross_entropy")
    assert np.isfinite(res["loss"]) and res["accuracy"] == np.mean(model.predict_classes(X) == y)
    assert model.logits == "softmax" and model.probabilities == "softmax"


def test_bce_on_a_one_unit_linear_output_reads_the_logit(rng):
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] - X[:, 1] > 0).astype(np.int64)
    model = ml.MLP([3, 8, 1], dtype="float64", seed=0)
    model.fit(X, y, loss="bce", optimizer=ml.optim.SGD(lr=0.5), epochs=30, batch_size=None, verbose=0)
    z = model.predict(X)[:, 0]
    np.testing.assert_array_equal(model.predict_classes(X), (z >= 0).astype(np.int64))  # p >= 0.5 <=> z >= 0
    np.testing.assert_allclose(model.predict_proba(X)[:, 0], torch.sigmoid(torch.tensor(z)).numpy(), rtol=1e-12)
    assert model.evaluate(X, y, "bce")["accuracy"] == np.mean(model.predict_classes(X) == y) > 0.8


@pytest.mark.parametrize("loss,units", [("bce", 1), ("cross_entropy", 3)])
def test_evaluate_and_fit_default_to_the_loss_the_logits_were_trained_with(loss, units, rng):
    """After fit(loss="bce") on a linear output, evaluate(X, y) and a second fit use bce on the
    logits, as Keras's compiled loss stays (before: mse on the logits, and for labels a shape error)."""
    X = rng.normal(size=(50, 3))
    y = (X[:, 0] > 0).astype(np.int64) + (units > 1) * (X[:, 1] > 0)
    model = ml.MLP([3, 6, units], dtype="float64", seed=0)
    Y = np.eye(units)[y] if units > 1 else y.reshape(-1, 1).astype(np.float64)
    # untrained, a linear output's default is mse
    np.testing.assert_allclose(model.evaluate(X, Y)["loss"], np.mean((model.predict(X) - Y) ** 2), rtol=1e-12)
    model.fit(X, y, loss=loss, epochs=3, verbose=0)
    Z, t = torch.tensor(model.predict(X)), torch.tensor(y)
    if units == 1:
        J = torch.nn.functional.binary_cross_entropy_with_logits(Z[:, 0], t.double())
    else:
        J = torch.nn.functional.cross_entropy(Z, t)
    got = model.evaluate(X, y)
    np.testing.assert_allclose(got["loss"], J.item(), rtol=1e-12)
    assert got["accuracy"] == np.mean(model.predict_classes(X) == y)
    w = model.get_weights()
    h_default = model.fit(X, y, epochs=2, seed=1, verbose=0)
    model.set_weights(w)
    assert h_default["loss"] == model.fit(X, y, loss=loss, epochs=2, seed=1, verbose=0)["loss"]


def test_bce_on_several_linear_units_is_multilabel(rng):
    X = rng.normal(size=(40, 3))
    Y = (X > 0).astype(np.float64)
    model = ml.MLP([3, 6, 3], dtype="float64", seed=0)
    model.loss_and_grad(X, Y, "bce")
    assert model.multilabel and model.predict_classes(X).shape == (40, 3)
    np.testing.assert_array_equal(model.predict_classes(X), (model.predict(X) >= 0).astype(np.int64))


@pytest.mark.parametrize(
    "output,units,loss",
    [
        ("softmax", 10, "bce"),
        ("softmax", 3, "binary_crossentropy"),
        ("softmax", 1, "cross_entropy"),
        (None, 1, "cross_entropy"),
        ("sigmoid", 1, "cross_entropy"),
        ("sigmoid", 3, "cross_entropy"),
        ("tanh", 3, "cross_entropy"),
        ("relu", 1, "bce"),
    ],
)
def test_a_loss_that_cannot_apply_to_the_output_is_refused_before_training(output, units, loss, rng):
    model = ml.MLP([3, 4, units], output=output, seed=0)
    before = model.get_weights()
    X, y = rng.normal(size=(6, 3)), rng.integers(0, 2, size=6)
    fits = rf"output='{output}'" if output else r"a linear output \(output=None\)"
    pattern = rf"^loss must be a loss that fits {fits} with {units} unit\(s\): .*, got '{loss}'"
    for call in (
        lambda: model.fit(X, y, loss=loss, verbose=0),
        lambda: model.loss_and_grad(X, y, loss),
        lambda: model.evaluate(X, y, loss),
        lambda: ml.Trainer(model, loss, verbose=0),
    ):
        with pytest.raises(ArgumentError, match=pattern):
            call()
    np.testing.assert_array_equal(model.get_weights(), before)


def test_predict_proba_of_a_regression_model_is_refused(rng):
    model = ml.MLP([3, 4, 2], seed=0)
    with pytest.raises(ArgumentError, match="^the model must be a classifier"):
        model.predict_proba(rng.normal(size=(2, 3)))
    assert model.probabilities is None
    softmax = ml.MLP([3, 4, 2], output="softmax", seed=0)
    X = rng.normal(size=(2, 3))
    np.testing.assert_array_equal(softmax.predict_proba(X), softmax.predict(X))


def test_predict_checks_batch_size(rng):
    model = ml.MLP([3, 4, 2], seed=0)
    for bad in (-1, 0, 2.5, "8"):
        with pytest.raises(ArgumentError, match="^batch_size must be an int >= 1"):
            model.predict(rng.normal(size=(4, 3)), batch_size=bad)


# -- one seed makes a run reproducible ----------------------------------------------------------
_RUN = """
import hashlib, sys
import numpy as np
import mlplab as ml
seed = None if sys.argv[1] == "none" else int(sys.argv[1])
r = np.random.default_rng(7)
X, y = r.normal(size=(64, 4)), r.integers(0, 3, size=64)
model = ml.MLP([4, 8, 3], output="softmax", seed=seed, dropout=0.2)
for _ in range(2):  # two fits: the second continues the sequence the seed starts
    jitter = lambda Xb, rng: Xb + 0.01 * rng.standard_normal(Xb.shape)
    model.fit(X, y, epochs=2, batch_size=8, verbose=0, augment=jitter)
    print(hashlib.sha256(model.get_weights().tobytes()).hexdigest())
"""


def _run_in_a_new_process(seed, hashseed):
    import os
    import subprocess
    import sys

    env = dict(os.environ, PYTHONHASHSEED=str(hashseed))
    out = subprocess.run([sys.executable, "-c", _RUN, str(seed)], capture_output=True, text=True, env=env, check=True)
    return out.stdout.split()


def test_a_seeded_model_trains_the_same_in_every_process():
    first, second = _run_in_a_new_process(0, 1), _run_in_a_new_process(0, 2)
    assert first == second and first[0] != first[1]
    assert _run_in_a_new_process(1, 1) != first  # another seed, another run
    # without a seed, each process draws its own entropy (equal digests: chance 2^-256)
    assert _run_in_a_new_process("none", 1) != _run_in_a_new_process("none", 1)


def test_fit_seed_overrides_the_model_seed(rng):
    X, y = rng.normal(size=(40, 4)), rng.integers(0, 3, size=40)
    a, b = ml.MLP([4, 8, 3], output="softmax", seed=0), ml.MLP([4, 8, 3], output="softmax", seed=0)
    a.fit(X, y, epochs=2, batch_size=8, seed=5, verbose=0)
    b.fit(X, y, epochs=2, batch_size=8, seed=5, verbose=0)
    np.testing.assert_array_equal(a.get_weights(), b.get_weights())
    c = ml.MLP([4, 8, 3], output="softmax", seed=0)
    c.fit(X, y, epochs=2, batch_size=8, verbose=0)  # the model's seed instead of 5
    assert not np.array_equal(a.get_weights(), c.get_weights())
    with pytest.raises(ArgumentError, match="^seed must be an int >= 0"):
        ml.Sequential([ml.Dense(4, 3)], seed=-1)


# -- input parity with scikit-learn ---------------------------------------------------------------
_REAL_DTYPES = [
    np.bool_,
    np.int8,
    np.uint8,
    np.int16,
    np.uint16,
    np.int32,
    np.uint32,
    np.int64,
    np.uint64,
    np.float16,
    np.float32,
    np.float64,
]


def _inputs_like(X01):
    """The same 0/1 matrix in every form scikit-learn's check_array takes."""
    import pandas as pd

    forms = {np.dtype(d).name: X01.astype(d) for d in _REAL_DTYPES}
    forms["list"] = X01.tolist()
    forms["fortran"] = np.asfortranarray(X01)
    forms["strided"] = np.repeat(X01, 2, axis=1)[:, ::2]
    readonly = X01.copy()
    readonly.flags.writeable = False
    forms["read-only"] = readonly
    forms["object"] = X01.astype(object)
    forms["dataframe"] = pd.DataFrame(
        {"a": X01[:, 0].astype(np.int64), "b": X01[:, 1], "c": pd.array(X01[:, 2].astype(np.int64), dtype="Int64")}
    )
    return forms


@pytest.mark.parametrize(
    "form",
    [np.dtype(d).name for d in _REAL_DTYPES] + ["list", "fortran", "strided", "read-only", "object", "dataframe"],
)
def test_every_input_scikit_learn_takes_works_everywhere(form, rng):
    import pandas as pd

    X01 = (rng.random((12, 3)) > 0.5).astype(np.float64)
    X = _inputs_like(X01)[form]
    y = rng.integers(0, 2, size=12)
    reference = ml.MLP([3, 4, 2], output="softmax", dtype="float64", seed=0)
    model = ml.MLP([3, 4, 2], output="softmax", dtype="float64", seed=0)
    np.testing.assert_array_equal(model.predict(X), reference.predict(X01))
    assert model.evaluate(X, pd.Series(y)) == reference.evaluate(X01, y)
    assert model.loss_and_grad(X, y.tolist()) == reference.loss_and_grad(X01, y)
    model.fit(X, pd.Series(y), epochs=2, batch_size=4, seed=0, verbose=0)
    reference.fit(X01, y, epochs=2, batch_size=4, seed=0, verbose=0)
    np.testing.assert_array_equal(model.get_weights(), reference.get_weights())


def test_a_typo_in_output_names_output():
    with pytest.raises(ArgumentError, match=r"^output must be an Activation or one of \[.*'softmax'.*\], got 'sofmax'"):
        ml.MLP([3, 4, 2], output="sofmax")
    with pytest.raises(ArgumentError, match=r"^activation must be an Activation or one of .*, got 'rleu'"):
        ml.MLP([3, 4, 2], activation="rleu")


# -- sparse inputs ---------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
def test_a_sparse_X_trains_and_predicts_as_its_dense_form(fmt, rng):
    """Every step on a sparse X is the dense step up to the order of the sums (float64: 1e-12)."""
    D = np.where(rng.random((120, 10)) < 0.3, rng.normal(size=(120, 10)), 0.0)
    y = (D[:, 0] - D[:, 1] > 0).astype(int)
    S = scipy.sparse.csr_matrix(D).asformat(fmt)
    models = [ml.MLP([10, 8, 2], output="softmax", dtype="float64", seed=0) for _ in range(2)]
    for model, X in zip(models, (S, D)):
        model.fit(X, y, optimizer="adam", epochs=4, batch_size=32, seed=1, verbose=0, validation_split=0.2)
    np.testing.assert_allclose(models[0].get_weights(), models[1].get_weights(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(models[0].predict(S), models[1].predict(D), rtol=1e-12)
    assert models[0].evaluate(S, y)["loss"] == pytest.approx(models[1].evaluate(D, y)["loss"], rel=1e-12)
    J = models[0].loss_and_grad(S, y)
    np.testing.assert_allclose(models[0].flat_grads(), (models[1].loss_and_grad(D, y), models[1].flat_grads())[1])
    assert J == pytest.approx(models[1].loss_and_grad(D, y), rel=1e-12)


def test_a_sparse_X_needs_a_dense_layer_first():
    model = ml.Sequential([ml.Dropout(0.2), ml.Dense(3, 2)])
    with pytest.raises(ArgumentError, match=r"^X must be dense when the first layer is not Dense, got a sparse csr"):
        model.predict(scipy.sparse.csr_matrix(np.eye(3)))


def test_mlp_checks_sizes_against_memory_and_dropout_without_hidden_layers():
    with pytest.raises(ArgumentError, match=r"^sizes must be small enough for this machine's"):
        ml.MLP([2, 2**40, 1])
    for bad in (1.5, -0.1, "0.5", None, np.array([0.1])):  # checked even when no Dropout layer is built
        with pytest.raises(ArgumentError, match=r"^dropout must be a number in \[0, 1\)"):
            ml.MLP([2, 1], dropout=bad)
    assert ml.MLP([2, 3, 1], dropout=np.float32(0.25)).dropout == 0.25


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"lr": 0.01}, r"^lr must be given to the optimizer, not to fit: optimizer=ml.optim.SGD\(lr=...\), got 0.01"),
        ({"learning_rate": 0.1}, r"^learning_rate must be given to the optimizer"),
        ({"criterion": "mse"}, r"^criterion must be passed as loss="),
        ({"epoch": 3}, r"^epoch must be one of fit's arguments \(did you mean epochs=\?\), got 3"),
        ({"batchsize": 8}, r"did you mean batch_size=\?"),
        ({"zzz": 1}, r"^zzz must be one of fit's arguments: X, y, loss, optimizer, epochs, .*allow_new_data, got 1"),
    ],
)
def test_fit_says_where_an_argument_it_does_not_take_belongs(kwargs, message):
    with pytest.raises(ArgumentError, match=message):
        ml.MLP([2, 1]).fit(np.zeros((3, 2)), [0.0, 1.0, 0.0], verbose=0, **kwargs)
