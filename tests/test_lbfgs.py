"""Tests of mlplab.lbfgs: full-batch L-BFGS-B over the flat parameter buffer.

Oracles: SciPy's L-BFGS-B run on the same network written in PyTorch (autograd for J and its
gradient): from the same start, with the same options, it takes the same iterations to the
same point; the convergence criteria checked on the result (the gradient at the end, the
counts); the dense input for a sparse one.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize
import scipy.sparse
import torch

import mlplab as ml
from mlplab.errors import ArgumentError, DivergenceError


def _data(rng, n=80):
    X = rng.normal(size=(n, 3))
    y = (X[:, 0] * X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 0.5)
    return X, y


def _model(seed=0, dtype="float64"):
    return ml.MLP([3, 6, 3], activation="tanh", output="softmax", dtype=dtype, seed=seed)


def _torch_objective(model, X, y, lam):
    """J(theta) and dJ/dtheta in float64 by torch's autograd, theta laid out as mlplab's buffer
    (every W, then every b): cross-entropy of the logits plus lam/2 ||W||^2."""
    shapes = [(p.shape, name) for p, name in zip(model.params(), ["W", "b"] * 3)]
    n_w = model.n_weights
    Xt, yt = torch.tensor(X), torch.tensor(y)

    def f(x):
        t = torch.tensor(x, requires_grad=True)
        Ws, bs, o_w, o_b = [], [], 0, n_w
        for shape, name in shapes:
            size = int(np.prod(shape))
            if name == "W":
                Ws.append(t[o_w : o_w + size].reshape(shape))
                o_w += size
            else:
                bs.append(t[o_b : o_b + size].reshape(shape))
                o_b += size
        A = Xt
        for i, (W, b) in enumerate(zip(Ws, bs)):
            Z = A @ W + b
            A = torch.tanh(Z) if i < len(Ws) - 1 else Z
        J = torch.nn.functional.cross_entropy(A, yt) + 0.5 * lam * sum((W * W).sum() for W in Ws)
        J.backward()
        return J.item(), t.grad.numpy().copy()

    return f


def test_lbfgs_takes_scipys_steps_on_torchs_objective(rng):
    X, y = _data(rng)
    model = _model()
    start = model.get_weights()
    lam = 0.01
    trainer = ml.LBFGS(model, "cross_entropy", regularizer=ml.L2(lam), max_iter=25, tol=0.0)
    history = trainer.fit(X, y)
    ref = scipy.optimize.minimize(
        _torch_objective(model, X, y, lam),
        start,
        method="L-BFGS-B",
        jac=True,
        options={"maxiter": 25, "gtol": 0.0, "ftol": ml.lbfgs.FTOL, "maxfun": 15000, "maxcor": 10},
    )
    assert trainer.n_iter == ref.nit == 25 and trainer.result.nfev == ref.nfev == trainer.n_fun
    np.testing.assert_allclose(model.get_weights(), ref.x, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(trainer.result.fun, ref.fun, rtol=1e-10)
    assert len(history) == 25 and history["loss"][-1] == trainer.result.fun and model.history is history
    assert all(b <= a for a, b in zip(history["loss"], history["loss"][1:]))  # a line search never goes up
    assert not trainer.converged and history.stop_reason == str(ref.message)


def test_convergence_criteria(rng):
    X, y = _data(rng)
    # tol: converged means the largest gradient entry is at most tol
    model = _model()
    trainer = ml.LBFGS(model, max_iter=2000, tol=1e-3, ftol=0.0)
    trainer.fit(X, y)
    model.loss_and_grad(X, y, "cross_entropy")
    assert trainer.converged and trainer.result.status == 0 and np.abs(model.flat_grads()).max() <= 1e-3
    assert "PROJECTED GRADIENT" in trainer.history.stop_reason
    # ftol: a relative decrease of J below ftol in one iteration stops it
    trainer = ml.LBFGS(_model(), max_iter=2000, tol=0.0, ftol=1e-3)
    trainer.fit(X, y)
    J = trainer.history["loss"]
    assert trainer.converged and "RELATIVE REDUCTION OF F" in trainer.history.stop_reason
    assert (J[-2] - J[-1]) / max(abs(J[-2]), abs(J[-1]), 1.0) <= 1e-3
    # max_iter and max_fun: a stop that is not convergence
    trainer = ml.LBFGS(_model(), max_iter=3, tol=0.0)
    trainer.fit(X, y)
    assert trainer.n_iter == 3 and not trainer.converged and trainer.result.status == 1
    trainer = ml.LBFGS(_model(), max_fun=4, tol=0.0)
    trainer.fit(X, y)
    assert 4 <= trainer.n_fun <= 5 and not trainer.converged and "EVALUATIONS" in trainer.history.stop_reason


def test_sparse_and_float32_inputs(rng):
    X, y = _data(rng)
    X[np.abs(X) < 0.7] = 0.0
    dense, sparse = _model(), _model()
    ml.LBFGS(dense, max_iter=30).fit(X, y)
    ml.LBFGS(sparse, max_iter=30).fit(scipy.sparse.csr_matrix(X), y)
    np.testing.assert_allclose(sparse.get_weights(), dense.get_weights(), rtol=1e-6, atol=1e-9)
    small = _model(dtype="float32")
    h = ml.LBFGS(small, max_iter=30, verbose=False).fit(X, y, sample_weight=np.ones(len(y)))
    assert small.dtype == np.float32 and h["loss"][-1] < h["loss"][0] and np.isfinite(small.get_weights()).all()


def test_verbose_prints_scikit_learns_line(rng, capsys):
    X, y = _data(rng)
    ml.LBFGS(_model(), max_iter=2, verbose=True).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" = ")[0] for line in lines] == ["Iteration 1, loss", "Iteration 2, loss"]


def test_a_non_finite_result_leaves_the_weights_as_they_were(rng):
    X, y = _data(rng)
    model = ml.MLP([3, 6, 3], activation="relu", output="softmax", dtype="float64", seed=0)
    before = model.get_weights()
    with pytest.raises(DivergenceError, match="L-BFGS ended at a non-finite loss"):
        ml.LBFGS(model, max_iter=5).fit(X * 1e306, y)
    np.testing.assert_array_equal(model.get_weights(), before)


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"max_iter": 0}, "max_iter must be an int >= 1"),
        ({"max_fun": 1.5}, "max_fun must be an int >= 1"),
        ({"tol": -1.0}, "tol must be a finite number >= 0"),
        ({"ftol": np.nan}, "ftol must be a finite number >= 0"),
        ({"history_size": 0}, "history_size must be an int >= 1"),
        ({"verbose": 2}, "verbose must be True or False"),
        ({"regularizer": "l3"}, "regularizer"),
    ],
)
def test_bad_arguments_name_themselves(kw, match):
    with pytest.raises(ArgumentError, match=match):
        ml.LBFGS(_model(), **kw)
    with pytest.raises(ArgumentError, match="^model must be a mlplab Sequential or MLP"):
        ml.LBFGS("model")
