"""Full-batch L-BFGS-B training: SciPy's quasi-Newton minimizer over the model's flat buffer.

The lecture's gradient descent steps along -dJ/dtheta with a fixed learning rate. L-BFGS
steps along an approximation of the Newton direction -H^-1 g, built from the last m pairs
(s_k = theta_{k+1} - theta_k, y_k = g_{k+1} - g_k) of parameter and gradient changes, and a
line search chooses the step's length (the Wolfe conditions); there is no learning rate.
It needs the same J at the same theta every time, so it works on the whole training set
(one batch: every evaluation is one ``model.loss_and_grad`` over all samples, dropout off).

    trainer = ml.LBFGS(model, "cross_entropy", max_iter=200, tol=1e-4)
    history = trainer.fit(X, y)                 # history["loss"]: J after each iteration

The minimizer is ``scipy.optimize.minimize(method="L-BFGS-B", jac=True)`` (Byrd, Lu, Nocedal
and Zhu 1995), given J and dJ/dtheta of the flat parameter buffer in float64 (a float32
model computes them in float32: its line search may then stop early on rounding, which the
result's message says). It is what scikit-learn's ``MLPClassifier(solver="lbfgs")`` runs.

Convergence criteria (SciPy's, with its names): training stops at the first of

* ``tol`` (SciPy's gtol): ``max_i |g_i| <= tol``, the largest entry of the gradient;
* ``ftol``: ``(J_k - J_{k+1}) / max(|J_k|, |J_{k+1}|, 1) <= ftol``, a relative decrease of J
  that small over one iteration (default 2.2e-9, SciPy's: factr = 1e7 times the machine eps);
* ``max_iter`` iterations, or ``max_fun`` evaluations of J (a line search may need several
  evaluations in one iteration); reaching either means it did *not* converge.

``converged`` and ``result`` (SciPy's ``OptimizeResult``: ``status`` 0 for converged,
``message``, ``nit``, ``nfev``) tell which; ``history.stop_reason`` is the message.
"""

from __future__ import annotations

import math

import numpy as np

from . import regularizers
from ._validation import check_bool, check_instance, check_int, check_real
from .backend import all_finite, blas_threads, xp
from .errors import DivergenceError
from .history import History
from .model import Sequential

__all__ = ["LBFGS", "FTOL"]

#: SciPy's default ftol of L-BFGS-B: factr = 1e7 times float64's eps
FTOL = 1e7 * float(np.finfo(np.float64).eps)


class LBFGS:
    """Trains a model by full-batch L-BFGS-B (``scipy.optimize.minimize``), as scikit-learn's
    MLP does with ``solver="lbfgs"``. See the module docstring for the convergence criteria.

    Parameters
    ----------
    model : Sequential
        The network; its weights are the starting point, and receive the result.
    loss : str or Loss, optional
        J's loss, as ``Trainer`` takes it (default: cross_entropy after softmax, bce after
        sigmoid, mse otherwise).
    regularizer : Regularizer or str, optional
        A penalty added to J (default none).
    max_iter : int >= 1, default 200
        Iterations at most (SciPy's maxiter).
    max_fun : int >= 1, default 15000
        Evaluations of J and its gradient at most (SciPy's maxfun).
    tol : float >= 0, default 1e-4
        Stop when the largest ``|dJ/dtheta_i|`` is at most tol (SciPy's gtol).
    ftol : float >= 0, default ``FTOL`` (2.2e-9)
        Stop when one iteration lowers J by at most this fraction of ``max(|J|, 1)``.
    history_size : int >= 1, default 10
        The m past steps the inverse Hessian is built from (SciPy's maxcor, torch's
        history_size).
    verbose : bool, default False
        Print ``Iteration k, loss = J`` after each iteration (scikit-learn's line).

    Attributes
    ----------
    model, loss, regularizer, history (the History of the last ``fit``: "loss" after each
    iteration), result (SciPy's OptimizeResult), converged, n_iter, n_fun

    Raises
    ------
    ArgumentError
        For an invalid argument, named in the message.
    """

    def __init__(
        self,
        model,
        loss=None,
        *,
        regularizer=None,
        max_iter=200,
        max_fun=15000,
        tol=1e-4,
        ftol=FTOL,
        history_size=10,
        verbose=False,
    ):
        self.model = check_instance("model", model, Sequential, "a mlplab Sequential or MLP")
        self.loss = model._resolve_loss(loss)
        self.regularizer = regularizers.get(regularizer)
        self.max_iter = check_int("max_iter", max_iter, 1)
        self.max_fun = check_int("max_fun", max_fun, 1)
        self.tol = check_real("tol", tol, 0)
        self.ftol = check_real("ftol", ftol, 0)
        self.history_size = check_int("history_size", history_size, 1)
        self.verbose = check_bool("verbose", verbose)
        self.history = History()
        self.result = None
        self.converged = False
        self.n_iter = self.n_fun = 0

    def fit(self, X, y, sample_weight=None) -> History:
        """Minimise J(theta) = sum_i w_i loss_i / sum_i w_i (+ the penalty) over all of (X, y),
        starting from the model's weights, which end at the minimizer's result.

        Parameters
        ----------
        X : array (n, n_inputs) or sparse matrix
            All the training inputs (one batch).
        y : array
            Targets as the loss takes them (``Sequential.fit``'s).
        sample_weight : array (n,), optional
            Weights w_i >= 0 of J.

        Returns
        -------
        History
            "loss" after each iteration; ``stop_reason``, SciPy's message. Also ``model.history``.

        Raises
        ------
        ArgumentError
            X, y or sample_weight refused for this model and loss, named.
        DivergenceError
            If the result is not finite; the model then keeps its weights from before.
        """
        from scipy.optimize import minimize  # 0.2 s, paid by this solver only

        model, loss, reg = self.model, self.loss, self.regularizer
        X, Y, w = model._check_data(X, y, loss, sample_weight)
        theta, grad = model.flat_params(), model.flat_grads()
        start = theta.copy()
        self.history = History()
        self.n_fun = 0

        def objective(x):
            self.n_fun += 1
            theta[...] = x
            J = model._loss_and_grad(X, Y, loss, reg, w, training=False)
            if not math.isfinite(J):  # the line search then backs off from this point
                return math.inf, np.zeros_like(x)
            return J, grad.astype(np.float64)

        def on_iteration(intermediate_result):
            k = len(self.history)
            self.history.record(k, {"loss": float(intermediate_result.fun)})
            if self.verbose:
                print(f"Iteration {k + 1}, loss = {intermediate_result.fun:.8f}")

        flops = 2.0 * X.shape[0] * max(layer.W.size for layer in model.layers if "W" in layer.param_names)
        options = {
            "maxiter": self.max_iter,
            "maxfun": self.max_fun,
            "gtol": self.tol,
            "ftol": self.ftol,
            "maxcor": self.history_size,
        }
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"), blas_threads(flops):
            res = minimize(
                objective, theta.astype(np.float64), method="L-BFGS-B", jac=True, callback=on_iteration, options=options
            )
        theta[...] = res.x
        self.result, self.n_iter, self.converged = res, int(res.nit), res.status == 0
        self.history.stop_reason = str(res.message)
        model.history = self.history
        if not all_finite(theta) or not math.isfinite(res.fun):
            xp.copyto(theta, start)
            raise DivergenceError(
                f"L-BFGS ended at a non-finite loss ({res.fun}): the model keeps its weights from before "
                f"fit. Scale the inputs (e.g. StandardScaler) or add a penalty.",
                self.history,
                loss=float(res.fun),
            )
        return self.history

    def __repr__(self):
        return (
            f"LBFGS(loss={self.loss.name!r}, max_iter={self.max_iter}, max_fun={self.max_fun}, tol={self.tol}, "
            f"ftol={self.ftol}, history_size={self.history_size})"
        )
