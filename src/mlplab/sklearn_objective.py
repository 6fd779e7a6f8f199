"""scikit-learn's MLP objective and stopping rule, in mlplab's terms (used by ``mlplab.sklearn``).

The objective minimised on each mini-batch B, with S_B = sum_{i in B} w_i (the batch size
without ``sample_weight``) and W every weight matrix (not the biases)::

    J_B = sum_{i in B} w_i loss_i / S_B  +  alpha / S_B * ( r * sum |W|  +  (1 - r) / 2 * ||W||^2 )

with loss_i scikit-learn's half squared error (``HalfSquaredError``), its half Poisson deviance
(``HalfPoissonDeviance``), its log-loss summed over
the logistic outputs (``SummedLogLoss``) or the cross-entropy after a softmax (mlplab's own),
and r the share of L1 (0 for scikit-learn's L2 penalty; mlplab's "l1" and "elasticnet" add the
others): ``BatchPenalty``. ``make_optimizer`` builds the solver (the estimator's optimizer,
its "invscaling" rate ``InvScaling`` or schedule, momentum, betas and eps), and ``Monitor``
the end-of-epoch bookkeeping (``loss_curve_``, ``n_iter_``, ...) and stopping rule, with the
"adaptive" learning rate. The oracle of all of it is scikit-learn's own code
(sklearn/neural_network/_multilayer_perceptron.py), which tests/test_sklearn.py checks with
PyTorch.
"""

from __future__ import annotations

import copy
import inspect
import math

from scipy.special import xlogy

from . import losses, optim, regularizers
from .backend import row_sum, xp
from .callbacks import Callback
from .sklearn_params import make_schedule

__all__ = [
    "HalfSquaredError",
    "HalfPoissonDeviance",
    "SummedLogLoss",
    "BatchPenalty",
    "InvScaling",
    "make_optimizer",
    "Monitor",
]


class HalfSquaredError(losses.MSE):
    """scikit-learn's squared_error: loss_i = 1/(2k) sum_j (p_ij - y_ij)^2 (half of "mse")."""

    name = "squared_error"

    def _per_sample(self, P, Y):
        return 0.5 * super()._per_sample(P, Y)

    def _grad(self, P, Y, dP):
        super()._grad(P, Y, dP)
        dP *= 0.5


class HalfPoissonDeviance(losses.Poisson):
    """scikit-learn's "poisson": half the Poisson deviance, summed over the k outputs, of the
    rates p = exp(z) of the network's linear outputs z (its out_activation_ "exp")::

        loss_i = sum_j [ y_ij log(y_ij / p_ij) - y_ij + p_ij ]
               = sum_j [ exp(z_ij) - y_ij z_ij ]  +  sum_j [ y_ij log y_ij - y_ij ]

    k times mlplab's "poisson" (torch's PoissonNLLLoss) plus a term of y alone, which makes
    the loss 0 at p = y; the gradient is exp(z) - y."""

    def _per_sample(self, P, Y):
        return P.shape[1] * super()._per_sample(P, Y) + row_sum(xlogy(Y, Y) - Y)

    def _grad(self, P, Y, dP):
        super()._grad(P, Y, dP)
        dP *= P.shape[1]


class SummedLogLoss(losses.BCE):
    """scikit-learn's binary log-loss: -sum_j [y_ij log p_ij + (1 - y_ij) log(1 - p_ij)],
    summed over the k outputs (mlplab's "bce" takes their mean); the same for one output."""

    name = "log_loss"

    def _per_sample(self, P, Y):
        return P.shape[1] * super()._per_sample(P, Y)

    def _grad(self, P, Y, dP):
        super()._grad(P, Y, dP)
        dP *= P.shape[1]

    def forward_logits(self, Z, P, Y, sample_weight=None, lse=None):
        return P.shape[1] * super().forward_logits(Z, P, Y, sample_weight, lse)

    def backward_logits(self, out=None):
        dZ = super().backward_logits(out)
        dZ *= self.P.shape[1]
        return dZ


class BatchPenalty(regularizers.Regularizer):
    """scikit-learn's alpha penalty: alpha / S_B * (r sum|W| + (1 - r)/2 ||W||^2), where
    S_B is the sum of the current batch's sample weights (its size without weights).

    The loss has just computed the batch when the model asks for the penalty, so S_B is
    read from it (``loss.w``, ``loss.P``)."""

    def __init__(self, alpha, l1_ratio, loss):
        super().__init__(lam=alpha)
        self.r = float(l1_ratio)
        self.loss = loss

    def _c(self):
        w = self.loss.w
        return self.lam / (float(w.sum()) if w is not None else self.loss.P.shape[0])

    def penalty(self, theta):
        c = self._c()
        out = 0.0
        if self.r:
            out += c * self.r * float(xp.abs(theta).sum())
        if self.r != 1.0:
            out += 0.5 * c * (1.0 - self.r) * float(xp.dot(theta, theta))
        return out

    def add_grad(self, theta, grad):
        c = self._c()
        if self.r:
            grad += (c * self.r) * xp.sign(theta)
        if self.r != 1.0:
            grad += (c * (1.0 - self.r)) * theta


class InvScaling:
    """scikit-learn's "invscaling" rate, per epoch e: lr_init / (e * n + 1)^power_t
    (e * n samples seen before the epoch). A class, not a lambda, so estimators pickle."""

    interval = "epoch"

    def __init__(self, lr_init, power_t, n):
        self.lr_init, self.power_t, self.n = float(lr_init), float(power_t), int(n)

    def __call__(self, epoch):
        return self.lr_init / (epoch * self.n + 1.0) ** self.power_t


def make_optimizer(est, name, n_train, steps=None):
    """The mlplab optimizer ``name`` ("sgd", "adam", ...) for the estimator's parameters, for
    n_train samples in ``steps`` batches an epoch (default: as ``batch_size`` cuts them): an
    Optimizer instance given as ``optimizer`` is copied (fit never changes a parameter)."""
    if isinstance(est.optimizer, optim.Optimizer):
        return copy.deepcopy(est.optimizer)
    is_sgd = name == "sgd"
    lr = est.learning_rate_init
    if est.schedule is not None:
        if steps is None:
            bs = min(200 if est.batch_size == "auto" else est.batch_size, n_train)
            steps = math.ceil(n_train / bs)
        lr = make_schedule(est, steps) if isinstance(est.schedule, str) else copy.deepcopy(est.schedule)
    elif is_sgd and est.learning_rate == "invscaling":
        lr = InvScaling(est.learning_rate_init, est.power_t, n_train)
    kw = {}
    params = inspect.signature(optim.OPTIMIZERS[name]).parameters
    if is_sgd:
        kw = {"momentum": float(est.momentum), "nesterov": bool(est.nesterovs_momentum and est.momentum > 0)}
    elif "betas" in params:  # the Adam family shares scikit-learn's beta_1, beta_2, epsilon
        kw = {"betas": (float(est.beta_1), float(est.beta_2)), "eps": float(est.epsilon)}
    kw.update(est.optimizer_kwargs or {})
    if is_sgd and "nesterov" not in (est.optimizer_kwargs or {}):  # momentum may come from optimizer_kwargs
        kw["nesterov"] = bool(est.nesterovs_momentum and kw["momentum"] > 0)
    return optim.get(name, lr=lr, **kw)


class Monitor(Callback):
    """scikit-learn's bookkeeping and stopping rule, run at the end of every epoch."""

    def __init__(self, est, n_train, val=None):
        self.est, self.n_train, self.val = est, n_train, val
        self.converged = False

    def on_epoch_end(self, epoch, logs=None):
        est, model = self.est, self.model
        loss = float(logs["loss"])
        est.n_iter_ += 1
        est.t_ += self.n_train
        est.loss_ = loss
        est.loss_curve_.append(loss)
        if est.verbose:
            print(f"Iteration {est.n_iter_}, loss = {loss:.8f}")
        if self.val is not None:
            Xv, yv, wv = self.val
            score = est._score_raw(Xv, yv, wv)
            est.validation_scores_.append(score)
            if est.verbose:
                print(f"Validation score: {score:f}")
            if score < est.best_validation_score_ + est.tol:
                est._no_improvement_count += 1
            else:
                est._no_improvement_count = 0
            if score > est.best_validation_score_:
                est.best_validation_score_ = score
                est._best_weights = model.get_weights()
        else:
            if loss > est.best_loss_ - est.tol:
                est._no_improvement_count += 1
            else:
                est._no_improvement_count = 0
            est.best_loss_ = min(est.best_loss_, loss)
        if est._no_improvement_count > est.n_iter_no_change:
            what = "Validation score" if self.val is not None else "Training loss"
            msg = f"{what} did not improve more than tol={est.tol:f} for {est.n_iter_no_change} consecutive epochs."
            opt = self.trainer.optimizer
            if est._adaptive and opt.lr > 1e-6:
                opt.lr /= 5.0  # scikit-learn's "adaptive": divide and go on
                est._no_improvement_count = 0
                if est.verbose:
                    print(f"{msg} Setting learning rate to {opt.lr:f}")
            else:
                self.converged = True
                model.stop_training = True
                model.stop_reason = msg
                if est.verbose:
                    print(msg + (" Learning rate too small. Stopping." if est._adaptive else " Stopping."))
