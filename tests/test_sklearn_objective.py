"""Tests for mlplab.sklearn_objective: scikit-learn's MLP objective in mlplab's terms.

Oracles: PyTorch autograd in float64 for the losses (half of MSELoss; BCEWithLogitsLoss and
BCELoss summed over the outputs) and for the alpha penalty; scikit-learn's own code for the
"invscaling" rate (sklearn/neural_network/_stochastic_optimizers.py, SGDOptimizer) and for
the stopping rule (sklearn/neural_network/_multilayer_perceptron.py,
_update_no_improvement_count); mlplab's optimizers, built directly, for make_optimizer.
The whole objective through a fitted estimator is tests/test_sklearn.py's.
"""

from __future__ import annotations

import copy
import pickle
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.neural_network._stochastic_optimizers import SGDOptimizer

import mlplab as ml
from mlplab import optim, schedules
from mlplab.sklearn import MLPClassifier
from mlplab.sklearn_objective import BatchPenalty, HalfSquaredError, InvScaling, Monitor, SummedLogLoss, make_optimizer

RTOL = 1e-12  # float64 against float64: the same formulas, summed in another order


def _weights(rng, n, weighted):
    return rng.uniform(0.2, 3.0, size=n) if weighted else None


def _torch_weighted_mean(per_sample, w):
    """sum_i w_i l_i / sum_i w_i, or the plain mean without weights."""
    if w is None:
        return per_sample.mean()
    wt = torch.tensor(w)
    return (per_sample * wt).sum() / wt.sum()


# -- HalfSquaredError -------------------------------------------------------------------------
@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("weighted", [False, True])
def test_half_squared_error_is_half_of_torch_mse(k, weighted, rng):
    n = 11
    P, Y = rng.normal(size=(n, k)), rng.normal(size=(n, k))
    w = _weights(rng, n, weighted)
    loss = HalfSquaredError()
    assert loss.name == "squared_error"
    J = loss.forward(P, Y, w)
    dP = loss.backward()

    Pt = torch.tensor(P, requires_grad=True)
    per = torch.nn.MSELoss(reduction="none")(Pt, torch.tensor(Y)).mean(dim=1)  # 1/k sum_j (p - y)^2
    Jt = 0.5 * _torch_weighted_mean(per, w)
    Jt.backward()
    assert isinstance(J, float)
    np.testing.assert_allclose(J, Jt.item(), rtol=RTOL)
    np.testing.assert_allclose(dP, Pt.grad.numpy(), rtol=RTOL, atol=1e-15)
    if not weighted:  # and torch's own mean reduction, halved
        np.testing.assert_allclose(J, 0.5 * torch.nn.MSELoss()(torch.tensor(P), torch.tensor(Y)).item(), rtol=RTOL)
    # half of mlplab's "mse", which is itself torch's MSELoss (tests/test_losses.py)
    mse = ml.losses.MSE()
    np.testing.assert_allclose(J, 0.5 * mse.forward(P, Y, w), rtol=RTOL)
    np.testing.assert_allclose(dP, 0.5 * mse.backward(), rtol=RTOL)


# -- SummedLogLoss ----------------------------------------------------------------------------
def _binary_targets(rng, n, k):
    return rng.integers(0, 2, size=(n, k)).astype(np.float64)


@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("weighted", [False, True])
def test_summed_log_loss_fused_is_torch_bce_with_logits_summed(k, weighted, rng):
    n = 13
    Z = 2.0 * rng.normal(size=(n, k))
    Y = _binary_targets(rng, n, k)
    w = _weights(rng, n, weighted)
    P = 1.0 / (1.0 + np.exp(-Z))
    loss = SummedLogLoss()
    assert loss.name == "log_loss" and loss.fused_with == "sigmoid"
    J = loss.forward_logits(Z, P, Y, w)
    dZ = loss.backward_logits()

    Zt = torch.tensor(Z, requires_grad=True)
    per = torch.nn.BCEWithLogitsLoss(reduction="none")(Zt, torch.tensor(Y)).sum(dim=1)  # summed over outputs
    Jt = _torch_weighted_mean(per, w)
    Jt.backward()
    np.testing.assert_allclose(J, Jt.item(), rtol=RTOL)
    np.testing.assert_allclose(dZ, Zt.grad.numpy(), rtol=RTOL, atol=1e-15)
    # into a given buffer, as the model asks for it
    out = np.empty_like(Z)
    loss.forward_logits(Z, P, Y, w)
    assert loss.backward_logits(out=out) is out
    np.testing.assert_allclose(out, Zt.grad.numpy(), rtol=RTOL, atol=1e-15)


@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("weighted", [False, True])
def test_summed_log_loss_standalone_is_torch_bce_summed(k, weighted, rng):
    n = 13
    P = rng.uniform(0.02, 0.98, size=(n, k))
    Y = _binary_targets(rng, n, k)
    w = _weights(rng, n, weighted)
    loss = SummedLogLoss()
    J = loss.forward(P, Y, w)
    dP = loss.backward()

    Pt = torch.tensor(P, requires_grad=True)
    per = torch.nn.BCELoss(reduction="none")(Pt, torch.tensor(Y)).sum(dim=1)
    Jt = _torch_weighted_mean(per, w)
    Jt.backward()
    np.testing.assert_allclose(J, Jt.item(), rtol=RTOL)
    np.testing.assert_allclose(dP, Pt.grad.numpy(), rtol=RTOL, atol=1e-15)


def test_summed_log_loss_through_a_sigmoid_model_is_torch(rng, torch_mirror):
    # the model fuses the loss with its sigmoid output: forward_logits / backward_logits
    model = ml.MLP([4, 5, 3], activation="tanh", output="sigmoid", dtype="float64", seed=0)
    X, Y = rng.normal(size=(9, 4)), _binary_targets(rng, 9, 3)
    J = model.loss_and_grad(X, Y, SummedLogLoss())
    tm = torch_mirror(model)
    Jt = torch.nn.BCEWithLogitsLoss(reduction="none")(tm[:-1](torch.tensor(X)), torch.tensor(Y)).sum(dim=1).mean()
    Jt.backward()
    np.testing.assert_allclose(J, Jt.item(), rtol=RTOL)
    np.testing.assert_allclose(model.layers[0].dW, tm[0].weight.grad.numpy().T, rtol=1e-10, atol=1e-15)


# -- BatchPenalty -----------------------------------------------------------------------------
def _torch_penalty(theta, alpha, r, S):
    """alpha / S * (r sum|W| + (1 - r)/2 ||W||^2) and its gradient, by autograd."""
    T = torch.tensor(theta, requires_grad=True)
    pen = alpha / S * (r * T.abs().sum() + 0.5 * (1.0 - r) * (T * T).sum())
    pen.backward()
    return pen.item(), T.grad.numpy()


@pytest.mark.parametrize("r", [0.0, 0.3, 1.0])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("fused", [False, True])
def test_batch_penalty_is_alpha_over_the_batch_weight(r, weighted, fused, rng):
    n, alpha = 7, 0.45
    theta = rng.normal(size=23)  # the weights slice of a flat buffer: no exact zeros
    w = _weights(rng, n, weighted)
    loss = SummedLogLoss()
    Z = rng.normal(size=(n, 2))
    Y = _binary_targets(rng, n, 2)
    P = 1.0 / (1.0 + np.exp(-Z))
    # S_B is read from the loss's last batch: computed by forward or by forward_logits
    if fused:
        loss.forward_logits(Z, P, Y, w)
    else:
        loss.forward(P, Y, w)
    pen = BatchPenalty(alpha, r, loss)
    S = float(w.sum()) if weighted else n
    expected, grad_t = _torch_penalty(theta, alpha, r, S)
    assert isinstance(pen.penalty(theta), float)
    np.testing.assert_allclose(pen.penalty(theta), expected, rtol=RTOL)
    np.testing.assert_allclose(pen(theta), expected, rtol=RTOL)
    g0 = rng.normal(size=theta.shape)
    grad = g0.copy()
    theta0 = theta.copy()
    assert pen.add_grad(theta, grad) is None  # adds in place
    np.testing.assert_allclose(grad, g0 + grad_t, rtol=RTOL, atol=1e-15)
    np.testing.assert_array_equal(theta, theta0)


def test_batch_penalty_follows_the_last_batch(rng):
    # a new batch (another size, other weights) changes S_B: nothing is kept from the one before
    theta = rng.normal(size=10)
    loss = HalfSquaredError()
    pen = BatchPenalty(0.2, 0.0, loss)
    for n, w in ((5, None), (8, rng.uniform(0.5, 2.0, size=8)), (3, None)):
        loss.forward(rng.normal(size=(n, 1)), rng.normal(size=(n, 1)), w)
        S = n if w is None else float(w.sum())
        np.testing.assert_allclose(pen.penalty(theta), _torch_penalty(theta, 0.2, 0.0, S)[0], rtol=RTOL)


def test_batch_penalty_in_a_model_is_torchs_objective(rng, torch_mirror, torch_grads):
    # through loss_and_grad: the penalty acts on the weights only (the start of the flat buffer)
    model = ml.MLP([3, 4, 2], activation="tanh", dtype="float64", seed=1)
    for layer in model.layers:
        if isinstance(layer, ml.Dense):
            layer.b = rng.normal(size=layer.b.shape)
    X, Y, w = rng.normal(size=(6, 3)), rng.normal(size=(6, 2)), rng.uniform(0.5, 2.0, size=6)
    alpha, r = 0.8, 0.3
    loss = HalfSquaredError()
    J = model.loss_and_grad(X, Y, loss, regularizer=BatchPenalty(alpha, r, loss), sample_weight=w)
    tm = torch_mirror(model)
    wt = torch.tensor(w)
    per = 0.5 * ((tm(torch.tensor(X)) - torch.tensor(Y)) ** 2).mean(dim=1)
    Ws = [m.weight for m in tm if isinstance(m, torch.nn.Linear)]
    pen = sum(r * W.abs().sum() + 0.5 * (1 - r) * (W * W).sum() for W in Ws)
    Jt = (wt * per).sum() / wt.sum() + alpha / wt.sum() * pen
    Jt.backward()
    np.testing.assert_allclose(J, Jt.item(), rtol=RTOL)
    for g, gt in zip(model.grads(), torch_grads(tm)):
        np.testing.assert_allclose(g, gt, rtol=1e-10, atol=1e-14)


# -- InvScaling -------------------------------------------------------------------------------
@pytest.mark.parametrize("lr, power_t, n", [(0.1, 0.5, 100), (1e-3, 0.25, 37), (0.5, 1.0, 1), (0.2, 0.0, 50)])
def test_inv_scaling_is_scikit_learns_rate(lr, power_t, n):
    # scikit-learn, sklearn/neural_network/_stochastic_optimizers.py, SGDOptimizer.iteration_ends(t):
    # learning_rate = learning_rate_init / (t + 1) ** power_t, with t = self.t_ the samples seen
    # (_multilayer_perceptron.py adds n_samples to t_ after each epoch, then calls it)
    sched = InvScaling(lr, power_t, n)
    assert sched.interval == "epoch"
    sk = SGDOptimizer([np.zeros(2)], learning_rate_init=lr, lr_schedule="invscaling", power_t=power_t)
    assert sched(0) == sk.learning_rate == lr  # the first epoch runs at learning_rate_init
    for epoch in range(1, 30):
        t = epoch * n
        sk.iteration_ends(t)
        assert sched(epoch) == pytest.approx(lr / (t + 1) ** power_t, rel=1e-15)
        assert sched(epoch) == pytest.approx(sk.learning_rate, rel=1e-15)


def test_inv_scaling_drives_an_optimizer_per_epoch():
    sched = InvScaling(0.1, 0.5, 20)
    opt = optim.SGD(lr=sched)
    # an "epoch" schedule is called with the epoch, whatever the update count
    for epoch, t in ((0, 0), (1, 7), (4, 1000)):
        assert opt.lr_at(t=t, epoch=epoch) == sched(epoch) == 0.1 / (epoch * 20 + 1) ** 0.5
    # a class, not a lambda: an estimator holding it pickles
    back = pickle.loads(pickle.dumps(sched))
    assert [back(e) for e in range(5)] == [sched(e) for e in range(5)]


# -- make_optimizer ---------------------------------------------------------------------------
@pytest.mark.parametrize("momentum, nesterovs, nesterov", [(0.9, True, True), (0.7, False, False), (0.0, True, False)])
def test_make_optimizer_sgd_with_momentum(momentum, nesterovs, nesterov):
    est = MLPClassifier(solver="sgd", learning_rate_init=0.05, momentum=momentum, nesterovs_momentum=nesterovs)
    opt = make_optimizer(est, "sgd", 100)
    assert type(opt) is optim.SGD
    assert opt.lr == 0.05 and opt.momentum == momentum and opt.nesterov is nesterov
    # everything else is SGD's default
    default = optim.SGD()
    assert (opt.dampening, opt.weight_decay, opt.clip_norm, opt.clip_value) == (
        default.dampening,
        default.weight_decay,
        default.clip_norm,
        default.clip_value,
    )


@pytest.mark.parametrize("rate", ["constant", "adaptive"])
def test_make_optimizer_sgd_constant_and_adaptive_rates_are_a_number(rate):
    # "adaptive" divides the rate in Monitor; the optimizer starts from learning_rate_init
    opt = make_optimizer(MLPClassifier(solver="sgd", learning_rate=rate, learning_rate_init=0.3), "sgd", 10)
    assert opt.lr == 0.3 and not callable(opt.lr)


@pytest.mark.parametrize(
    "name, cls", [("adam", optim.Adam), ("adamw", optim.AdamW), ("nadam", optim.NAdam), ("adamax", optim.Adamax)]
)
def test_make_optimizer_adam_family_takes_betas_and_eps(name, cls):
    est = MLPClassifier(
        solver="adam",
        learning_rate_init=0.02,
        beta_1=0.8,
        beta_2=0.99,
        epsilon=1e-6,
        optimizer=None if name == "adam" else name,
    )
    opt = make_optimizer(est, name, 50)
    assert type(opt) is cls
    assert opt.lr == 0.02 and opt.betas == (0.8, 0.99) and opt.eps == 1e-6


@pytest.mark.parametrize("name, cls", [("rmsprop", optim.RMSprop), ("adagrad", optim.Adagrad)])
def test_make_optimizer_other_optimizers_take_the_learning_rate(name, cls):
    est = MLPClassifier(optimizer=name, learning_rate_init=0.04, epsilon=1e-3, momentum=0.5)
    opt = make_optimizer(est, name, 50)
    assert type(opt) is cls and opt.lr == 0.04
    # scikit-learn's epsilon and momentum belong to its adam and sgd: the optimizer's defaults stay
    assert opt.get_config() == cls(lr=0.04).get_config()


def test_make_optimizer_invscaling_gives_an_inv_scaling_rate():
    est = MLPClassifier(solver="sgd", learning_rate="invscaling", learning_rate_init=0.2, power_t=0.3)
    opt = make_optimizer(est, "sgd", 64)
    assert isinstance(opt.lr, InvScaling)
    assert (opt.lr.lr_init, opt.lr.power_t, opt.lr.n) == (0.2, 0.3, 64)
    assert [opt.lr_at(epoch=e) for e in range(4)] == [InvScaling(0.2, 0.3, 64)(e) for e in range(4)]
    # scikit-learn's adam ignores learning_rate ("Only used when solver='sgd'"): so does mlplab
    adam = make_optimizer(MLPClassifier(solver="adam", learning_rate="invscaling", learning_rate_init=0.2), "adam", 64)
    assert adam.lr == 0.2


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("name", ["constant", "linear"])
def test_make_optimizer_schedule_name_uses_learning_rate_init(name, solver):
    est = MLPClassifier(solver=solver, schedule=name, learning_rate_init=0.03)
    opt = make_optimizer(est, solver, 80)
    expected = schedules.get(name, base_lr=0.03, interval="epoch")  # torch's defaults, per epoch
    assert type(opt.lr) is type(expected) is schedules.SCHEDULES[name]
    assert opt.lr.get_config() == expected.get_config() and opt.lr.base_lr == 0.03
    assert [opt.lr_at(epoch=e) for e in range(8)] == [expected(e) for e in range(8)]


def test_make_optimizer_schedule_instance_is_copied():
    sched = schedules.get("step", base_lr=0.1, step_size=2, gamma=0.5, interval="epoch")
    est = MLPClassifier(solver="sgd", schedule=sched)
    opt = make_optimizer(est, "sgd", 10)
    assert opt.lr is not sched and opt.lr.get_config() == sched.get_config()


def test_make_optimizer_passes_optimizer_kwargs_on():
    est = MLPClassifier(solver="sgd", momentum=0.9, optimizer_kwargs={"weight_decay": 0.01, "clip_norm": 2.0})
    opt = make_optimizer(est, "sgd", 10)
    assert opt.weight_decay == 0.01 and opt.clip_norm == 2.0 and opt.momentum == 0.9
    # they win over the estimator's own parameters
    est = MLPClassifier(solver="adam", beta_1=0.8, optimizer="adamw", optimizer_kwargs={"betas": (0.5, 0.6)})
    assert make_optimizer(est, "adamw", 10).betas == (0.5, 0.6)
    assert est.optimizer_kwargs == {"betas": (0.5, 0.6)}  # the estimator's parameter is left as given


def test_make_optimizer_copies_an_optimizer_instance(rng):
    given = optim.Adam(lr=0.02, betas=(0.8, 0.95), amsgrad=True)
    given.state["exp_avg"] = rng.normal(size=4)
    given.t = 3
    est = MLPClassifier(optimizer=given)
    opt = make_optimizer(est, "adam", 10)
    assert type(opt) is optim.Adam and opt is not given and est.optimizer is given
    assert opt.get_config() == given.get_config() and opt.t == 3
    np.testing.assert_array_equal(opt.state["exp_avg"], given.state["exp_avg"])
    assert not np.shares_memory(opt.state["exp_avg"], given.state["exp_avg"])
    # training with the copy leaves the estimator's parameter as it was
    before = copy.deepcopy(given.state_dict())
    model = ml.MLP([2, 3, 1], dtype="float64", seed=0)
    model.loss_and_grad(rng.normal(size=(4, 2)), rng.normal(size=4), "mse")
    opt.state.clear()  # the copy's state dict, not the estimator's (which a shallow copy would empty)
    opt.step(model)
    assert given.t == before["t"] and given.state.keys() == before["state"].keys()
    np.testing.assert_array_equal(given.state["exp_avg"], before["state"]["exp_avg"])


# -- Monitor: the stopping rule ---------------------------------------------------------------
def _sklearn_stops(loss_curve, tol, n_iter_no_change, lr, adaptive):
    """scikit-learn's own rule on a given loss curve (_multilayer_perceptron.py, _fit_stochastic:
    _update_no_improvement_count, then SGDOptimizer.trigger_stopping): (epochs run, lr per epoch)."""
    sk = SkMLPClassifier(tol=tol, n_iter_no_change=n_iter_no_change)
    sk.loss_curve_, sk.best_loss_, sk._no_improvement_count = [], np.inf, 0
    opt = SGDOptimizer([np.zeros(1)], learning_rate_init=lr, lr_schedule="adaptive" if adaptive else "constant")
    lrs = []
    for loss in loss_curve:
        sk.loss_curve_.append(loss)
        sk._update_no_improvement_count(False, None, None, None)
        if sk._no_improvement_count > n_iter_no_change:
            if opt.trigger_stopping("msg", False):
                lrs.append(opt.learning_rate)
                break
            sk._no_improvement_count = 0
        lrs.append(opt.learning_rate)
    return len(sk.loss_curve_), lrs


@pytest.mark.parametrize("adaptive", [False, True])
def test_monitor_stops_where_scikit_learn_stops(adaptive):
    # a curve that improves, stalls within tol, improves again, then stays flat
    curve = [1.0, 0.8, 0.7, 0.695, 0.69, 0.687, 0.6, 0.59, 0.589, 0.5885, 0.588] + [0.588] * 40
    tol, k, n_train, lr = 0.01, 2, 30, 1e-5
    expected_epochs, expected_lrs = _sklearn_stops(curve, tol, k, lr, adaptive)
    assert expected_epochs < len(curve)

    est = MLPClassifier(tol=tol, n_iter_no_change=k)
    est.n_iter_, est.t_, est.loss_curve_, est.best_loss_, est._no_improvement_count = 0, 0, [], np.inf, 0
    est._adaptive = adaptive
    model = ml.MLP([2, 1], seed=0)
    monitor = Monitor(est, n_train)
    monitor.set_trainer(SimpleNamespace(model=model, optimizer=optim.SGD(lr=lr)))
    lrs = []
    for epoch, loss in enumerate(curve):
        monitor.on_epoch_end(epoch, {"loss": loss})
        lrs.append(monitor.trainer.optimizer.lr)
        if model.stop_training:
            break
    assert est.n_iter_ == len(est.loss_curve_) == expected_epochs
    assert est.loss_curve_ == curve[:expected_epochs] and est.loss_ == curve[expected_epochs - 1]
    assert est.t_ == expected_epochs * n_train
    assert monitor.converged and model.stop_training
    assert model.stop_reason == (f"Training loss did not improve more than tol={tol:f} for {k} consecutive epochs.")
    np.testing.assert_allclose(lrs, expected_lrs, rtol=1e-15)
