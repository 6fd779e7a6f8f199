"""scikit-learn estimators (mlplab.sklearn).

Oracles: scikit-learn's own ``check_estimator`` suite; scikit-learn's MLPClassifier for
accuracy and for the stopping rules (same n_iter_); PyTorch for the objective (loss and
gradient of one full batch, penalty included); ``fit`` itself for ``partial_fit`` and
pickling (bit-identical weights); GridSearchCV with n_jobs=1 for n_jobs=2.
"""

from __future__ import annotations

import pickle
import re
import warnings

import numpy as np
import pytest
import scipy.sparse
import sklearn.datasets
import threadpoolctl
import torch
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import d2_tweedie_score
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.neural_network import MLPRegressor as SkMLPRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import mlplab as ml
from mlplab.sklearn import MLPClassifier, MLPRegressor
from mlplab.sklearn_params import SCHEDULE_DEFAULTS, sklearn_weights

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


# scikit-learn's own checks at the estimators' default parameters (scikit-learn runs its own MLPs
# with max_iter=100, sklearn/utils/_test_common/instance_generator.py), with no expected failure.
@parametrize_with_checks([MLPClassifier(), MLPRegressor()], expected_failed_checks=None)
def test_sklearn_check_estimator(estimator, check):
    check(estimator)


def _lbfgs_failures(est):
    # full-batch L-BFGS drives the logits of this small multi-label problem past float64's sigmoid
    # range, so some probabilities are exactly 1.0; scikit-learn's own MLPClassifier(solver="lbfgs")
    # fails this check the same way
    if isinstance(est, MLPClassifier):
        return {"check_classifiers_multilabel_output_format_predict_proba": "p = 1.0 exactly, as scikit-learn's"}
    return {}


@parametrize_with_checks(
    [MLPClassifier(solver="lbfgs"), MLPRegressor(solver="lbfgs")], expected_failed_checks=_lbfgs_failures
)
def test_sklearn_check_estimator_with_lbfgs(estimator, check):
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
        hidden_layer_sizes=(5,),
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


# -- scores against scikit-learn's MLP: the acceptance of issue 13 ----------------------------------
PARITY_SETS = ("digits", "iris", "wine", "breast_cancer", "diabetes", "poisson")


def _parity_data(name, seed):
    """Train and test sets of a data set scikit-learn ships (inputs standardized on the training
    part; diabetes's target too), or of a synthetic Poisson count problem (log-rate
    0.5 x0 - 0.4 x1 + 0.3 x2 x3), split 75/25 (stratified for classes) by ``seed``."""
    if name == "poisson":
        r = np.random.default_rng(0)
        X = r.normal(size=(1000, 5))
        y = r.poisson(np.exp(0.5 * X[:, 0] - 0.4 * X[:, 1] + 0.3 * X[:, 2] * X[:, 3])).astype(float)
    else:
        X, y = getattr(sklearn.datasets, f"load_{name}")(return_X_y=True)
    classes = name not in ("diabetes", "poisson")
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=seed, stratify=y if classes else None)
    scaler = StandardScaler().fit(Xtr)
    Xtr, Xte = scaler.transform(Xtr), scaler.transform(Xte)
    if name == "diabetes":
        m, s = ytr.mean(), ytr.std()
        ytr, yte = (ytr - m) / s, (yte - m) / s
    return Xtr, Xte, ytr, yte, classes


def parity_scores(solver, seeds=range(5)):
    """{data set: (mlplab's mean test score, scikit-learn's)} in points (100 x accuracy, R^2 for
    diabetes, Poisson D^2 for the counts) over the seeds, both estimators at their defaults
    but for solver and random_state (the seed)."""
    out = {}
    with warnings.catch_warnings(), threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
        warnings.simplefilter("ignore", ConvergenceWarning)  # lbfgs and sgd stop at max_iter here and there
        for name in PARITY_SETS:
            scores = []
            for seed in seeds:
                Xtr, Xte, ytr, yte, classes = _parity_data(name, seed)
                kw = dict(solver=solver, random_state=seed)
                if not classes:
                    kw["loss"] = "poisson" if name == "poisson" else "squared_error"
                pair = (MLPClassifier, SkMLPClassifier) if classes else (MLPRegressor, SkMLPRegressor)
                row = []
                for Est in pair:
                    est = Est(**kw).fit(Xtr, ytr)
                    score = (
                        d2_tweedie_score(yte, est.predict(Xte), power=1) if name == "poisson" else est.score(Xte, yte)
                    )
                    row.append(100.0 * score)
                scores.append(row)
            out[name] = tuple(np.mean(scores, axis=0))
    return out


@pytest.mark.parity
@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_scores_as_good_as_scikit_learns_on_six_data_sets(solver):
    """The acceptance of issue 13: on each data set the mean test score over five seeds of
    mlplab's estimator is at least scikit-learn's MLP's minus 0.5 points (measured: within
    0.15 points everywhere, mlplab ahead by 5.8 on the Poisson problem with lbfgs)."""
    scores = parity_scores(solver)
    behind = {name: s for name, s in scores.items() if s[0] < s[1] - 0.5}
    assert not behind, f"{solver}: (mlplab, scikit-learn) mean scores {scores}"


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
        s = ours.validation_scores_
        assert len(s) == ours.n_iter_ < 300 and ours.best_validation_score_ == max(s)
        # scikit-learn's rule (_update_no_improvement_count) replayed on the scores: it stops exactly at the end
        best, count, stops = -np.inf, 0, []
        for score in s:
            count = count + 1 if score < best + kw["tol"] else 0
            best = max(best, score)
            stops.append(count > kw["n_iter_no_change"])
        assert stops[-1] and not any(stops[:-1])
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
    # the split is scikit-learn's: its initial weights take random_state's first draws, the split the next
    sk = SkMLPClassifier((32,), random_state=0)
    sk._random_state = np.random.RandomState(0)
    sk._label_binarizer = est._label_binarizer
    sk._initialize(np.eye(10)[y], [64, 32, 10], np.float64)
    _, Xv, _, yv = train_test_split(X, y, random_state=sk._random_state, test_size=0.1, stratify=y)
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
    est = MLPRegressor(hidden_layer_sizes=(16,), dropout=0.2, random_state=0).partial_fit(X, y)
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
    multi = MLPRegressor(hidden_layer_sizes=(8,), max_iter=5, random_state=0).fit(X, np.stack([y, -y], axis=1))
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
        ("solver", "newton", "solver"),
        ("n_iter_no_change", 2.5, r"n_iter_no_change must be an int >= 1 or numpy.inf"),
        ("max_fun", 0, "max_fun"),
        ("verbose", -1, "verbose"),
        ("shuffle", "yes", "shuffle"),
        ("schedule", "sequential", r"schedule must be None, a Schedule or callable, or one of .*pass the schedule"),
        ("schedule", ["cosine"], "schedule must be None, a Schedule or callable"),
        ("schedule_params", {"T_max": 3}, "schedule_params must be None unless schedule= names a schedule"),
        ("init", "unit", "init"),
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
        ("activation", "softmax", r"^activation must be one of .*'relu'.*, got 'softmax'"),  # an output's
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


@pytest.mark.parametrize("early_stopping", [False, True])
def test_divergence_gives_the_divergence_message(early_stopping):
    """With or without early stopping (whose validation score used to meet the NaN first and
    raise scikit-learn's input error), a diverging fit says that it diverged."""
    r = np.random.default_rng(0)
    X = (1000 * r.normal(size=(200, 4))).astype(np.float32)  # a float32 network, which overflows
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


# -- scikit-learn's initial weights, solver="lbfgs", loss="poisson" ----------------------------
@pytest.mark.parametrize("activation", ["relu", "logistic"])
def test_initial_weights_are_scikit_learns(activation):
    """Drawn from random_state as scikit-learn's _init_coef draws them, layer after layer."""
    sizes = [5, 7, 4, 3]
    ours = sklearn_weights(sizes, activation, np.random.RandomState(3))
    sk = SkMLPClassifier(activation=activation)
    sk._random_state = np.random.RandomState(3)
    theirs = [a for i, o in zip(sizes, sizes[1:]) for a in sk._init_coef(i, o, np.float64)]
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(a, b)
    X, y = _digits(60)
    est = MLPClassifier((7,), activation=activation, max_iter=1, random_state=3).fit(X, y)
    assert est.model_.dtype == np.float64  # X is float64: so is the network
    rs = np.random.RandomState(3)
    first = sklearn_weights([64, 7, 10], activation, rs)
    assert est.init is None and not np.array_equal(est.coefs_[0], first[0])  # one epoch of adam moved them


def _regression(n=300, seed=0, counts=False):
    r = np.random.default_rng(seed)
    X = r.normal(size=(n, 4))
    f = 0.6 * X[:, 0] - 0.5 * X[:, 1] * X[:, 2]
    return X, (r.poisson(np.exp(f)).astype(float) if counts else f + 0.1 * r.normal(size=n))


@pytest.mark.parametrize("loss", ["squared_error", "poisson"])
def test_lbfgs_fits_as_scikit_learns(loss):
    """The same initial weights, the same objective and SciPy's L-BFGS-B: the same iterations
    to the same weights (float64 rounding apart), loss_ and n_iter_ scikit-learn's."""
    X, y = _regression(counts=loss == "poisson")
    params = dict(hidden_layer_sizes=(12,), solver="lbfgs", max_iter=40, alpha=0.01, random_state=0, loss=loss)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours, theirs = MLPRegressor(**params).fit(X, y), SkMLPRegressor(**params).fit(X, y)
    assert ours.n_iter_ == theirs.n_iter_ and ours.t_ == theirs.t_ == 0
    np.testing.assert_allclose(ours.loss_, theirs.loss_, rtol=1e-6)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(ours.predict(X[:20]), theirs.predict(X[:20]), rtol=1e-4, atol=1e-6)
    assert ours.out_activation_ == theirs.out_activation_
    for name in ("loss_curve_", "best_loss_", "validation_scores_", "best_validation_score_"):
        assert not hasattr(ours, name) and not hasattr(theirs, name)
    assert not hasattr(ours, "partial_fit")  # scikit-learn's classifier: its regressor's check is broken
    with pytest.raises(AttributeError, match="has no attribute 'partial_fit'") as info:
        ours.partial_fit(X, y)
    assert "partial_fit is only available for stochastic optimizers. lbfgs is not stochastic." in str(
        info.value.__cause__
    )


def test_lbfgs_classifier_objective_is_scikit_learns_without_its_clipping():
    """J and dJ/dtheta of the lbfgs classifier are scikit-learn's (_loss_grad_lbfgs, at the same
    packed parameters: weights, then biases) while no probability is within eps of 0 or 1;
    beyond, scikit-learn clips p to [eps, 1 - eps] in J (not in its gradient) and mlplab
    computes J exactly from the logits, so their line searches, and then their fits, part."""
    X, y = _digits(300)
    params = dict(hidden_layer_sizes=(12,), solver="lbfgs", max_iter=1, alpha=0.01, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours, theirs = MLPClassifier(**params).fit(X, y), SkMLPClassifier(**params).fit(X, y)
    np.testing.assert_allclose(ours.loss_, theirs.loss_, rtol=1e-12)
    loss = ours._make_loss()
    Y = ours._label_binarizer.transform(y).astype(float)
    units = [64, 12, 10]
    buffers = ([X, None, None], [None, None], [np.empty((i, o)) for i, o in zip(units, units[1:])], [None, None])
    r = np.random.default_rng(0)
    for scale, same in ((0.03, True), (0.1, True), (20.0, False)):
        theta = scale * r.normal(size=ours.model_.n_params)
        ours.model_.set_weights(theta)
        J = ours.model_.loss_and_grad(X, Y, loss, ours._penalty(loss))
        Jt, gt = theirs._loss_grad_lbfgs(theta, X, Y, None, *buffers)
        np.testing.assert_allclose(ours.model_.flat_grads(), gt, rtol=1e-10, atol=1e-13)
        assert bool(J == pytest.approx(Jt, rel=1e-12)) is same
        if not same:  # scikit-learn's log-loss: at most -log(eps) = 36 per sample; the exact one far above
            assert J > 10 * Jt


def test_lbfgs_warns_as_scikit_learn_and_counts_max_fun():
    X, y = _digits(200)
    with pytest.warns(ConvergenceWarning, match=r"lbfgs failed to converge after 3 iteration\(s\) \(status=1\)"):
        est = MLPClassifier((8,), solver="lbfgs", max_iter=3, random_state=0).fit(X, y)
    assert est.n_iter_ == 3
    with pytest.warns(ConvergenceWarning, match="EVALUATIONS EXCEEDS LIMIT"):
        MLPClassifier((8,), solver="lbfgs", max_fun=5, random_state=0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est = MLPClassifier((8,), solver="lbfgs", tol=1e-2, random_state=0).fit(X, y)
    assert est.n_iter_ < 200 and est.score(X, y) == 1.0
    with pytest.raises(ValueError, match="^dropout must be left out with solver='lbfgs'"):
        MLPClassifier(solver="lbfgs", dropout=0.1).fit(X, y)
    with pytest.raises(ValueError, match="^schedule must be left out with solver='lbfgs'.*, got 'cosine'"):
        MLPClassifier(solver="lbfgs", schedule="cosine").fit(X, y)  # was ignored silently


def test_poisson_regressor(rng):
    X, y = _regression(counts=True)
    est = MLPRegressor(hidden_layer_sizes=(8,), loss="poisson", max_iter=50, random_state=0).fit(X, y)
    P = est.predict(X)
    assert est.out_activation_ == "exp" and (P > 0).all()
    np.testing.assert_allclose(P, np.exp(est.model_.predict(X).ravel()), rtol=1e-6)  # the rates exp(z)
    # loss_ is scikit-learn's half Poisson deviance (sklearn/neural_network/_base.py) of the last epoch's
    # rates, plus the penalty: checked on one full-batch epoch, where the loss is J at the start
    est = MLPRegressor(
        hidden_layer_sizes=(8,), loss="poisson", solver="sgd", batch_size=300, max_iter=1, random_state=0, alpha=0.3
    )
    est.fit(X, y)
    sk = SkMLPRegressor(
        hidden_layer_sizes=(8,), loss="poisson", solver="sgd", batch_size=300, max_iter=1, random_state=0, alpha=0.3
    )
    sk.fit(X, y)
    np.testing.assert_allclose(est.loss_, sk.loss_, rtol=1e-12)
    with pytest.raises(ValueError, match=r"^y must be counts >= 0 for loss='poisson', got the value -1"):
        MLPRegressor(loss="poisson").fit(X, np.r_[-1.0, y[1:]])
    onnxruntime = pytest.importorskip("onnxruntime")
    proto = est.to_onnx()
    sess = onnxruntime.InferenceSession(proto.SerializeToString())
    out = sess.run(None, {"X": X.astype(np.float64)})[0]
    np.testing.assert_allclose(out.ravel(), est.predict(X), rtol=1e-6)


# -- sparse X, dtype, verbose ----------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
def test_sparse_X_fits_as_its_dense_form(fmt, Est):
    X, y = _digits(300)
    S = scipy.sparse.csr_matrix(X).asformat(fmt)  # digits: 50% zeros
    kw = dict(hidden_layer_sizes=(16,), max_iter=5, random_state=0, early_stopping=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sparse, dense = Est(**kw).fit(S, y), Est(**kw).fit(X, y)
    np.testing.assert_allclose(sparse.model_.get_weights(), dense.model_.get_weights(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(sparse.predict(S), dense.predict(X), rtol=1e-10, atol=1e-12)
    assert sparse.validation_scores_ == pytest.approx(dense.validation_scores_, rel=1e-12)
    assert scipy.sparse.issparse(S) and sparse.__sklearn_tags__().input_tags.sparse


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_the_network_computes_in_the_dtype_of_X(solver):
    X, y = _digits(100)
    fit = lambda X, **kw: MLPClassifier((4,), solver=solver, max_iter=2, random_state=0, **kw).fit(X, y)  # noqa: E731
    assert fit(X.astype(np.float32)).model_.dtype == np.float32
    assert fit(X).model_.dtype == np.float64
    assert fit((X * 16).astype(np.int64)).model_.dtype == np.float64  # other inputs: float64, as scikit-learn
    assert fit(X, dtype="float32").model_.dtype == np.float32  # unless dtype= says otherwise


def _masked(text):
    return re.sub(r"\d+\.\d+", "#", text).splitlines()


@pytest.mark.parametrize(
    "kw",
    [
        dict(tol=1e9, n_iter_no_change=2),
        dict(solver="sgd", learning_rate="adaptive", learning_rate_init=0.1, tol=1e9, n_iter_no_change=1),
    ],
)
def test_verbose_prints_scikit_learns_lines(kw, capsys):
    X, y = _digits(200)
    kw = dict(hidden_layer_sizes=(8,), max_iter=300, random_state=0, verbose=True, **kw)
    MLPClassifier(**kw).fit(X, y)
    ours = capsys.readouterr().out
    SkMLPClassifier(**kw).fit(X, y)
    theirs = capsys.readouterr().out
    assert _masked(ours) == _masked(theirs) and len(_masked(ours)) > 3
    MLPClassifier((8,), early_stopping=True, n_iter_no_change=2, tol=1e9, verbose=1, random_state=0).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Iteration 1, loss = ") and lines[1].startswith("Validation score: ")
    assert lines[-1] == (
        "Validation score did not improve more than tol=1000000000.000000 for 2 consecutive epochs. Stopping."
    )


def test_n_iter_no_change_inf_turns_the_rule_off():
    X, y = _digits(100)
    kw = dict(hidden_layer_sizes=(4,), max_iter=12, tol=1e9, n_iter_no_change=np.inf, random_state=0)
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
        ours = MLPClassifier(**kw).fit(X, y)
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
        theirs = SkMLPClassifier(**kw).fit(X, y)
    assert ours.n_iter_ == theirs.n_iter_ == 12


# -- partial_fit of multi-label targets, all-zero sample weights in a batch --------------------
def test_multilabel_partial_fit_is_fit_one_epoch_at_a_time():
    X, y = _digits()
    Y = np.stack([y % 2, y > 4, y == 3], axis=1).astype(int)
    kw = dict(hidden_layer_sizes=(16,), shuffle=False, random_state=0, batch_size=64, tol=0.0, n_iter_no_change=50)
    whole = MLPClassifier(max_iter=3, **kw).fit(X, Y)
    parts = MLPClassifier(**kw)
    for _ in range(3):
        parts.partial_fit(X, Y, classes=[0, 1, 2])
    np.testing.assert_array_equal(whole.model_.get_weights(), parts.model_.get_weights())
    np.testing.assert_array_equal(parts.predict(X), whole.predict(X))
    assert list(parts.classes_) == [0, 1, 2] and parts.predict(X).shape == (300, 3)
    with pytest.raises(ValueError, match=r"^classes must be the label indices of the multi-label y, \[0, 1, 2\]"):
        MLPClassifier().partial_fit(X, Y, classes=[0, 1])


def test_a_mini_batch_of_zero_weights_contributes_nothing():
    """Rows of weight 0 that make up whole mini-batches change nothing: the fit equals, bit for
    bit, the fit on the other rows (scikit-learn divides by their zero sum)."""
    X, y = _digits(300)
    w = np.ones(300)
    w[100:200] = 0.0
    kw = dict(hidden_layer_sizes=(8,), batch_size=100, shuffle=False, max_iter=4, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        weighted = MLPClassifier(**kw).fit(X, y, sample_weight=w)
        kept = MLPClassifier(**kw).fit(np.r_[X[:100], X[200:]], np.r_[y[:100], y[200:]])
    np.testing.assert_array_equal(weighted.model_.get_weights(), kept.model_.get_weights())
    assert weighted.t_ == 4 * 300 and kept.t_ == 4 * 200


# -- schedules by name -----------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(SCHEDULE_DEFAULTS))
def test_every_schedule_name_trains_with_its_defaults(name):
    """The rate of each epoch is the schedule's, built by hand from its defaults for a run of
    max_iter = 6 epochs of 3 batches (T = 6 per epoch, 18 per batch)."""
    X, y = _digits(150)
    est = MLPClassifier((8,), schedule=name, learning_rate_init=0.01, batch_size=50, max_iter=6, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    expected = {
        "constant": (ml.schedules.ConstantLR(0.01, interval="epoch"), 1),
        "linear": (ml.schedules.LinearLR(0.01, interval="epoch"), 1),
        "step": (ml.schedules.StepLR(0.01, step_size=2, interval="epoch"), 1),
        "multistep": (ml.schedules.MultiStepLR(0.01, milestones=[3, 4], interval="epoch"), 1),
        "exponential": (ml.schedules.ExponentialLR(0.01, gamma=0.01 ** (1 / 6), interval="epoch"), 1),
        "cosine": (ml.schedules.CosineAnnealingLR(0.01, T_max=18), 3),
        "cosine_restarts": (ml.schedules.CosineAnnealingWarmRestarts(0.01, T_0=4), 3),
        "cyclic": (ml.schedules.CyclicLR(0.01, max_lr=0.1, step_size_up=2), 3),
        "onecycle": (ml.schedules.OneCycleLR(0.01, total_steps=18), 3),
    }[name]
    sched, steps = expected
    assert est.model_.optimizer.lr.get_config() == sched.get_config()
    # the rate of each epoch's last update (per epoch: the epoch's own)
    last = [sched(e) for e in range(6)] if steps == 1 else [sched(3 * e + 2) for e in range(6)]
    np.testing.assert_allclose(est.model_.history["lr"], last, rtol=1e-15)


def test_schedule_params_replace_the_defaults_and_are_checked():
    X, y = _digits(150)
    est = MLPClassifier((8,), schedule="cosine", schedule_params={"T_max": 5, "eta_min": 1e-4, "interval": "epoch"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.set_params(max_iter=3, random_state=0).fit(X, y)
    assert (
        est.model_.optimizer.lr.get_config()
        == ml.schedules.CosineAnnealingLR(0.001, T_max=5, eta_min=1e-4, interval="epoch").get_config()
    )
    with pytest.raises(ValueError, match=r"^schedule_params must be arguments of the 'cosine' schedule.*\['T0'\]"):
        MLPClassifier(schedule="cosine", schedule_params={"T0": 3}).fit(X, y)
    with pytest.raises(ValueError, match=r"^T_max must be an int >= 1"):
        MLPClassifier(schedule="cosine", schedule_params={"T_max": 0}).fit(X, y)
    seq = ml.schedules.SequentialLR([ml.schedules.LinearLR(0.01), ml.schedules.CosineAnnealingLR(0.01, 10)], [5])
    est = MLPClassifier((8,), schedule=seq, max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    assert est.model_.optimizer.lr.get_config() == seq.get_config()


# -- Dask: Incremental over the blocks of a dask array, a grid search on a LocalCluster -------------
@pytest.fixture(scope="module")
def dask_client():
    """A LocalCluster of two single-threaded workers in this process (no ports beyond localhost,
    no dashboard): what a laptop or CI machine runs."""
    from dask.distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None)
    client = Client(cluster)
    yield client
    client.close()
    cluster.close()


@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
def test_dask_ml_incremental_trains_block_by_block(Est, dask_client):
    """dask_ml.wrappers.Incremental calls partial_fit on each block of a dask array in turn: the
    weights are those of partial_fit called by hand on the same blocks, bit for bit."""
    import dask.array as da
    from dask_ml.wrappers import Incremental

    X, y = _digits(1200)
    classes = Est is MLPClassifier
    target = y if classes else X[:, 20] + X[:, 43]
    Xd, yd = da.from_array(X, chunks=100), da.from_array(target, chunks=100)
    assert Xd.numblocks == (12, 1)
    kw = dict(hidden_layer_sizes=(16,), learning_rate_init=0.01, random_state=0)
    fit_kw = {"classes": np.arange(10)} if classes else {}
    # (dask-ml 2025.1's "r2" scorer fails on dask 2026's arrays of unknown chunk sizes, whatever the
    # estimator: the regressor's score is computed from the predictions)
    inc = Incremental(Est(**kw), scoring="accuracy" if classes else None, shuffle_blocks=False)
    for _ in range(5):  # five passes over the blocks
        inc.partial_fit(Xd, yd, **fit_kw)
    by_hand = Est(**kw)
    for _ in range(5):
        for s in range(0, 1200, 100):
            by_hand.partial_fit(X[s : s + 100], target[s : s + 100], **fit_kw)
    np.testing.assert_array_equal(inc.estimator_.model_.get_weights(), by_hand.model_.get_weights())
    P = inc.predict(Xd).compute()
    np.testing.assert_array_equal(P, by_hand.predict(X))
    assert inc.score(Xd, yd) > 0.85 if classes else by_hand.score(X, target) > 0.7


def test_grid_search_on_a_dask_cluster_equals_the_sequential_one(dask_client):
    import joblib

    X, y = _digits(450)
    grid = {"alpha": [1e-4, 1e-1], "hidden_layer_sizes": [(8,), (16,)], "solver": ["adam", "lbfgs"]}
    est = MLPClassifier(max_iter=30, learning_rate_init=0.01, random_state=0)
    with joblib.parallel_backend("dask"):
        par = GridSearchCV(est, grid, cv=3, n_jobs=-1).fit(X, y)
    seq = GridSearchCV(est, grid, cv=3, n_jobs=1).fit(X, y)
    np.testing.assert_array_equal(par.cv_results_["mean_test_score"], seq.cv_results_["mean_test_score"])
    assert par.best_score_ > 0.85 and len(dask_client.scheduler_info()["workers"]) == 2


def test_predictions_from_several_threads_at_once_are_right():
    """Dask's and joblib's threads call predict on one estimator at the same time: each call
    must compute with buffers of its own (a shared network's work buffers gave other rows'
    outputs on a dask LocalCluster of two threads)."""
    from concurrent.futures import ThreadPoolExecutor

    X, y = _digits(1200)
    est = MLPRegressor(hidden_layer_sizes=(64,), max_iter=3, random_state=0).fit(X, X[:, 20])
    parts = [X[s : s + 300] for s in range(0, 1200, 300)] * 10
    expected = [est.predict(p) for p in parts]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(est.predict, parts))
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(a, b)
