"""scikit-learn estimators (mlplab.sklearn).

Oracles: scikit-learn's own ``check_estimator`` suite; scikit-learn's MLPClassifier for
accuracy and for the stopping rules (same n_iter_); PyTorch for the objective (loss and
gradient of one full batch, penalty included); ``fit`` itself for ``partial_fit`` and
pickling (bit-identical weights); GridSearchCV with n_jobs=1 for n_jobs=2.
"""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
import threadpoolctl
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import mlplab as ml
from mlplab.sklearn import MLPClassifier, MLPRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# scikit-learn runs its own MLPs through these checks with max_iter=100
# (sklearn/utils/_test_common/instance_generator.py, PER_ESTIMATOR_INIT_PARAMS) and declares
# no expected failures for them; neither do we.
#
# As for its own MLPs, one check runs with other parameters (PER_ESTIMATOR_CHECK_PARAMS there):
# check_sample_weight_equivalence_on_dense_data compares fitting with integer weights to
# fitting on repeated rows at rtol=1e-7 after 100 epochs; the two sum the same numbers in a
# different order, and in float32 that rounding alone exceeds 1e-7, so it runs in float64.
CHECK_PARAMS = {"check_sample_weight_equivalence_on_dense_data": {"dtype": "float64"}}


@parametrize_with_checks([MLPClassifier(max_iter=100), MLPRegressor(max_iter=100)], expected_failed_checks=None)
def test_sklearn_check_estimator(estimator, check):
    name = getattr(check, "func", check).__name__
    if name in CHECK_PARAMS:
        estimator = clone(estimator).set_params(**CHECK_PARAMS[name])
    check(estimator)


# -- the objective is scikit-learn's ----------------------------------------------------------
def _torch_objective(params, X, Y, w, case, alpha, r):
    """scikit-learn's MLP objective on one batch (sklearn/neural_network/_multilayer_perceptron.py,
    _backprop): sum_i w_i loss_i / S + alpha / S * (r |W|_1 + (1 - r)/2 ||W||^2), S = sum_i w_i
    (r = 0 there; r > 0 is mlplab's l1 / elasticnet). Hidden layers are tanh; the losses take
    the last layer's pre-activation Z."""
    T = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in params]
    A = torch.tensor(X)
    for i in range(0, len(T), 2):
        Z = A @ T[i] + T[i + 1]
        A = torch.tanh(Z)
    Yt = torch.tensor(Y)
    if case in ("binary", "multilabel"):  # logistic outputs: log-loss summed over the labels
        per = torch.nn.functional.binary_cross_entropy_with_logits(Z, Yt, reduction="none").sum(dim=1)
    elif case == "multiclass":
        per = torch.nn.functional.cross_entropy(Z, Yt.argmax(dim=1), reduction="none")
    else:  # squared_error: half the mean over the outputs
        per = 0.5 * ((Z - Yt) ** 2).mean(dim=1)
    wt = torch.tensor(w)
    S = wt.sum()
    pen = sum(r * W.abs().sum() + 0.5 * (1 - r) * (W * W).sum() for W in T[0::2])
    J = (wt * per).sum() / S + alpha / S * pen
    J.backward()
    return J.item(), [t.grad.numpy() for t in T]


@pytest.mark.parametrize("penalty,r", [("l2", 0.0), ("l1", 1.0), ("elasticnet", 0.3)])
@pytest.mark.parametrize("case", ["binary", "multiclass", "multilabel", "regression", "multioutput"])
def test_objective_and_alpha_match_scikit_learn(case, penalty, r, rng):
    n, alpha = 30, 0.7
    X = rng.normal(size=(n, 4))
    labels = np.arange(n) % 3
    y, Y = {
        "binary": (labels % 2, (labels % 2)[:, None].astype(float)),
        "multiclass": (labels, np.eye(3)[labels]),
        "multilabel": ((np.eye(3)[labels] + np.eye(3)[(labels + 1) % 3]).astype(int),) * 2,
        "regression": (X[:, 0], X[:, :1]),
        "multioutput": (X[:, :2], X[:, :2]),
    }[case]
    Y = np.asarray(Y, dtype=float)
    w = rng.uniform(0.5, 2.0, size=n)
    Est = MLPClassifier if case in ("binary", "multiclass", "multilabel") else MLPRegressor
    # plain full-batch gradient descent with lr = 1: one epoch is theta <- theta - dJ/dtheta
    est = Est(
        (5,),
        activation="tanh",
        solver="sgd",
        momentum=0.0,
        learning_rate_init=1.0,
        alpha=alpha,
        penalty=penalty,
        l1_ratio=0.3,
        shuffle=False,
        max_iter=1,
        dtype="float64",
        random_state=0,
    )
    est.fit(X, y, sample_weight=w)
    est.set_params(warm_start=True)
    theta0 = 0.3 * rng.normal(size=est.model_.n_params)
    est.model_.set_weights(theta0)
    params0 = [p.copy() for p in est.model_.params()]
    est.fit(X, y, sample_weight=w)
    J, grads = _torch_objective(params0, X, Y, w, case, alpha, r)
    assert est.out_activation_ == {"binary": "logistic", "multilabel": "logistic", "multiclass": "softmax"}.get(
        case, "identity"
    )
    np.testing.assert_allclose(est.loss_curve_[-1], J, rtol=1e-12)
    for p0, p1, g in zip(params0, est.model_.params(), grads):
        np.testing.assert_allclose(p0 - p1, g, rtol=1e-9, atol=1e-12)


# -- accuracy against scikit-learn's MLP ------------------------------------------------------
def test_digits_accuracy_as_good_as_scikit_learn():
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
    ours, theirs = [], []
    # one BLAS thread for both: on a busy machine, threaded small matrix products crawl
    with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
        for seed in range(3):  # the mean over three seeds, so one unlucky initialisation does not decide
            kw = dict(hidden_layer_sizes=(100,), solver="adam", max_iter=100, random_state=seed)
            ours.append(MLPClassifier(**kw).fit(Xtr, ytr).score(Xte, yte))
            theirs.append(SkMLPClassifier(**kw).fit(Xtr, ytr).score(Xte, yte))
    assert np.mean(ours) >= np.mean(theirs) - 0.005, (ours, theirs)


@pytest.mark.parametrize(
    "kw",
    [
        dict(tol=1e9, n_iter_no_change=2),  # the loss never improves "by tol": stop after 2 + 2 epochs
        dict(tol=0.0, n_iter_no_change=3, early_stopping=True),
        dict(solver="sgd", learning_rate="adaptive", learning_rate_init=0.1, tol=1e9, n_iter_no_change=1),
    ],
)
def test_stopping_rules_stop_when_scikit_learns_do(kw):
    X, y = load_digits(return_X_y=True)
    X, y = X[:400] / 16.0, y[:400]
    kw = dict(hidden_layer_sizes=(16,), max_iter=300, random_state=0, **kw)
    ours, theirs = MLPClassifier(**kw).fit(X, y), SkMLPClassifier(**kw).fit(X, y)
    if kw.get("early_stopping"):  # when depends on the scores: check the rule, not the epoch
        s = np.array(ours.validation_scores_)
        assert len(s) == ours.n_iter_ < 300 and ours.best_validation_score_ == s.max()
        best = int(np.argmax(s))
        assert (s[best + 1 :] < s[best] + 1e-12).all() and len(s) - best - 1 == kw["n_iter_no_change"] + 1
        assert ours.best_loss_ is None
    else:
        assert ours.n_iter_ == theirs.n_iter_ < 300
        assert len(ours.loss_curve_) == ours.n_iter_ and ours.best_loss_ == min(ours.loss_curve_)
    assert ours.t_ == ours.n_iter_ * (360 if kw.get("early_stopping") else 400)


def test_early_stopping_keeps_the_best_weights():
    X, y = load_digits(return_X_y=True)
    X, y = X[:500] / 16.0, y[:500]
    est = MLPClassifier((32,), early_stopping=True, n_iter_no_change=2, learning_rate_init=0.02, random_state=0).fit(
        X, y
    )
    assert est.n_iter_ < 200  # it stopped early, so the last weights are not the best ones
    # the split fit makes: random_state's first draw seeds the weights, the split comes next
    rs = np.random.RandomState(0)
    rs.randint(np.iinfo(np.int32).max)
    _, Xv, _, yv = train_test_split(X, y, random_state=rs, test_size=0.1, stratify=y)
    assert est.score(Xv, yv) == est.best_validation_score_


def test_convergence_warning_only_without_convergence():
    X, y = load_digits(return_X_y=True)
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
        MLPClassifier((8,), max_iter=2, random_state=0).fit(X[:200], y[:200])
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        MLPClassifier((8,), max_iter=50, tol=1e9, n_iter_no_change=1, random_state=0).fit(X[:200], y[:200])


def test_invscaling_rate():
    X, y = load_digits(return_X_y=True)
    X, y = X[:150] / 16.0, y[:150]
    est = MLPClassifier(
        (8,), solver="sgd", learning_rate="invscaling", learning_rate_init=0.2, power_t=0.5, max_iter=4, random_state=0
    ).fit(X, y)
    # scikit-learn's SGDOptimizer.iteration_ends: lr = lr_init / (t + 1)^power_t, t samples seen
    np.testing.assert_allclose(est.model_.history["lr"], [0.2 / (e * 150 + 1) ** 0.5 for e in range(4)], rtol=1e-12)


# -- partial_fit, warm_start, pickling ---------------------------------------------------------
def _digits(n=300):
    X, y = load_digits(return_X_y=True)
    return X[:n] / 16.0, y[:n]


def test_partial_fit_is_fit_one_epoch_at_a_time():
    X, y = _digits()
    kw = dict(hidden_layer_sizes=(16,), shuffle=False, random_state=0, batch_size=64, tol=0.0, n_iter_no_change=50)
    whole = MLPClassifier(max_iter=4, **kw).fit(X, y)
    parts = MLPClassifier(**kw)
    for _ in range(4):
        parts.partial_fit(X, y, classes=np.arange(10))
    for a, b in zip(whole.coefs_ + whole.intercepts_, parts.coefs_ + parts.intercepts_):
        np.testing.assert_array_equal(a, b)
    assert parts.n_iter_ == 1 and parts.t_ == whole.t_ == 4 * 300 and parts.loss_curve_ == whole.loss_curve_
    with pytest.raises(ValueError, match=r"^classes must be passed on the first call to partial_fit"):
        MLPClassifier().partial_fit(X, y)
    with pytest.raises(ValueError, match=r"^y must be labels among classes=\[0, 1, 2\], got .* with labels not in"):
        MLPClassifier().partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="early_stopping"):
        MLPClassifier(early_stopping=True).partial_fit(X, y, classes=np.arange(10))


def test_pickled_estimator_trains_on_identically():
    X, y = _digits()
    est = MLPRegressor((16,), dropout=0.2, random_state=0).partial_fit(X, y)
    twin = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(twin.predict(X), est.predict(X))
    est.partial_fit(X, y)
    twin.partial_fit(X, y)  # parameters still live in one buffer the optimizer updates
    np.testing.assert_array_equal(twin.predict(X), est.predict(X))
    assert np.shares_memory(twin.coefs_[0], twin.model_.flat_params())


def test_warm_start_continues():
    X, y = _digits()
    est = MLPClassifier((16,), max_iter=3, random_state=0).fit(X, y)
    first = est.coefs_[0].copy()
    est.set_params(warm_start=True).fit(X, y)
    assert len(est.loss_curve_) == 6 and est.n_iter_ == 3 and est.t_ == 6 * 300
    cold = MLPClassifier((16,), max_iter=3, random_state=0).fit(X, y)
    np.testing.assert_array_equal(cold.coefs_[0], first)  # the cold fit does not continue
    assert not np.array_equal(est.coefs_[0], first)
    with pytest.raises(ValueError, match="^y must be labels of the same classes as the previous fit for warm_start"):
        est.fit(X[y < 5], y[y < 5])


def test_grid_search_over_a_pipeline_with_two_jobs():
    X, y = _digits(450)
    pipe = Pipeline(
        [("scale", StandardScaler()), ("mlp", MLPClassifier(max_iter=20, learning_rate_init=0.01, random_state=0))]
    )
    grid = {"mlp__alpha": [1e-4, 1e-1], "mlp__hidden_layer_sizes": [(8,), (24,)]}
    par = GridSearchCV(pipe, grid, cv=3, n_jobs=2).fit(X, y)
    seq = GridSearchCV(pipe, grid, cv=3, n_jobs=1).fit(X, y)
    np.testing.assert_array_equal(par.cv_results_["mean_test_score"], seq.cv_results_["mean_test_score"])
    assert par.best_score_ > 0.8 and par.predict(X[:5]).shape == (5,)


# -- targets, options, errors -------------------------------------------------------------
def test_target_kinds():
    X, y = _digits()
    binary = MLPClassifier((8,), max_iter=5, random_state=0).fit(X, np.where(y % 2, "odd", "even"))
    assert binary.out_activation_ == "logistic" and binary.n_outputs_ == 1 and list(binary.classes_) == ["even", "odd"]
    P = binary.predict_proba(X)
    assert P.shape == (300, 2) and np.allclose(P.sum(axis=1), 1)
    np.testing.assert_array_equal(binary.predict(X), binary.classes_[P.argmax(axis=1)])
    np.testing.assert_allclose(binary.predict_log_proba(X), np.log(P))
    Y = np.stack([y % 2, y > 4, y == 3], axis=1).astype(int)
    multilabel = MLPClassifier((8,), max_iter=5, random_state=0).fit(X, Y)
    assert multilabel.out_activation_ == "logistic" and multilabel.predict(X).shape == (300, 3)
    np.testing.assert_array_equal(multilabel.predict(X), (multilabel.predict_proba(X) > 0.5).astype(int))
    multi = MLPRegressor((8,), max_iter=5, random_state=0).fit(X, np.stack([y, -y], axis=1))
    assert multi.predict(X).shape == (300, 2) and multi.out_activation_ == "identity" and multi.n_layers_ == 3
    assert [c.shape for c in multi.coefs_] == [(64, 8), (8, 2)] and multi.model_.sizes == [64, 8, 2]


@pytest.mark.parametrize("name", sorted(ml.optim.OPTIMIZERS))
def test_any_mlplab_optimizer(name):
    X, y = _digits(200)
    est = MLPClassifier((8,), optimizer=name, learning_rate_init=0.01, max_iter=3, random_state=0).fit(X, y)
    assert type(est.model_.optimizer) is ml.optim.OPTIMIZERS[name]
    assert est.model_.optimizer.lr_at() == 0.01 and len(est.loss_curve_) == 3


def test_mlplab_options():
    X, y = _digits(200)
    calls = []

    def augment(Xb, rng):
        calls.append(len(Xb))
        return Xb + 0.01 * rng.standard_normal(Xb.shape)

    sched = ml.schedules.get("step", base_lr=0.01, step_size=1, gamma=0.5, interval="epoch")
    opt = ml.optim.AdamW(lr=0.01)
    est = MLPClassifier(
        (8,), optimizer=opt, dropout=0.3, augment=augment, batch_size=50, max_iter=3, random_state=0
    ).fit(X, y)
    assert calls == [50] * 12 and any(isinstance(la, ml.Dropout) for la in est.model_.layers)
    assert opt.t == 0 and est.model_.optimizer.t == 12  # a copy trains, not the estimator's parameter
    with pytest.raises(ValueError, match="optimizer_kwargs"):
        MLPClassifier(optimizer=opt, optimizer_kwargs={"weight_decay": 0.1}).fit(X, y)
    est = MLPClassifier(
        (8,), optimizer="adamw", optimizer_kwargs={"weight_decay": 0.1}, schedule=sched, max_iter=3, random_state=0
    ).fit(X, y)
    assert est.model_.optimizer.weight_decay == 0.1
    np.testing.assert_allclose(est.model_.history["lr"], [0.01, 0.005, 0.0025])


@pytest.mark.parametrize(
    "param,value,match",
    [
        ("solver", "lbfgs", "lbfgs"),
        ("solver", "newton", "solver"),
        ("activation", "swish", "activation"),
        ("alpha", -1.0, "alpha"),
        ("batch_size", 0, "batch_size"),
        ("learning_rate", "fast", "learning_rate"),
        ("max_iter", 0, "max_iter"),
        ("validation_fraction", 1.0, "validation_fraction"),
        ("beta_1", 1.0, "beta_1"),
        ("n_iter_no_change", 0, "n_iter_no_change"),
        ("optimizer", "lion", "optimizer"),
        ("penalty", "l3", "penalty"),
        ("l1_ratio", 2.0, "l1_ratio"),
        ("dropout", 1.0, "dropout"),
        ("dtype", "float16", "dtype"),
        ("hidden_layer_sizes", (4, 0), "hidden_layer_sizes"),
        ("momentum", np.nan, "momentum"),
    ],
)
def test_bad_parameters_name_themselves(param, value, match):
    X, y = _digits(50)
    with pytest.raises(ValueError, match=match):
        MLPClassifier(**{param: value}).fit(X, y)


def test_bad_data():
    X, y = _digits(50)
    with pytest.raises(ValueError, match="1 class"):
        MLPClassifier().fit(X, np.zeros(50))
    with pytest.raises(ValueError, match="sample_weight"):
        MLPClassifier().fit(X, y, sample_weight=-np.ones(50))
    with pytest.raises(ValueError, match="Unknown label type"):
        MLPClassifier().fit(X, X[:, 10] + 0.5)
    with pytest.raises(TypeError, match="[Ss]parse"):
        import scipy.sparse

        MLPClassifier().fit(scipy.sparse.csr_matrix(X), y)


@pytest.mark.parametrize("early_stopping", [False, True])
def test_divergence_gives_the_divergence_message(early_stopping):
    """With or without early stopping (whose validation score used to meet the NaN first and
    raise scikit-learn's input error), a diverging fit says that it diverged."""
    r = np.random.default_rng(0)
    X = 1000 * r.normal(size=(200, 4))
    y = (X[:, 0] > 0).astype(int)
    est = MLPClassifier(
        (16,),
        solver="sgd",
        learning_rate_init=1e6,
        momentum=0.0,
        early_stopping=early_stopping,
        max_iter=20,
        random_state=0,
    )
    with pytest.raises(ValueError, match=r"^Solver produced a non-finite loss \(loss became .* training diverged"):
        est.fit(X, y)
    assert np.isfinite(est.model_.get_weights()).all()
