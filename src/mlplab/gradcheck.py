"""Finite-difference gradient check: the oracle for back-propagation.

For every parameter theta_j, the central difference

    g_j ~ (J(theta + eps e_j) - J(theta - eps e_j)) / (2 eps)

is compared with the back-propagated dJ/dtheta_j. Works on any Sequential, including
one with layers you wrote yourself.
"""

from __future__ import annotations

import numpy as np

from . import regularizers
from ._validation import check_bool, check_instance, check_real, fail
from .layers import Dropout
from .model import Sequential

__all__ = ["gradcheck", "numerical_grad"]


def numerical_grad(model, X, y, loss, eps=1e-6, regularizer=None, sample_weight=None):
    """Central-difference gradient of J over the flat parameter buffer of ``model``.

    g_j = (J(theta + eps e_j) - J(theta - eps e_j)) / (2 eps), in the model's dtype: give a
    float64 model (``gradcheck`` gives a float64 copy), float32 rounding swamps eps = 1e-6.
    Each theta_j is moved and put back in place: the model ends with its own weights, but
    its gradient buffer holds the last evaluation's. Dropout layers must be absent or have
    p = 0 (not checked here): a random mask makes J non-differentiable in this sense.

    Parameters
    ----------
    model : Sequential
        The network; its parameters are perturbed one at a time.
    X : array of shape (n, n_inputs)
        Inputs, as for ``model.loss_and_grad``.
    y : array
        Targets, as for ``model.loss_and_grad``.
    loss : str or Loss
        The loss of J.
    eps : float, default 1e-6
        Step of the central difference.
    regularizer : Regularizer or str, optional
        Penalty added to J.
    sample_weight : array of shape (n,), optional
        Per-sample weights of J.

    Returns
    -------
    ndarray of shape (model.n_params,)
        dJ/dtheta, laid out as ``model.flat_params()``.

    Raises
    ------
    ArgumentError
        Whatever ``model.loss_and_grad`` refuses in X, y, loss, regularizer, sample_weight.
    """
    theta = model.flat_params()
    g = np.empty_like(theta)
    for j in range(theta.size):
        old = theta[j]
        theta[j] = old + eps
        jp = model.loss_and_grad(X, y, loss, regularizer, sample_weight)
        theta[j] = old - eps
        jm = model.loss_and_grad(X, y, loss, regularizer, sample_weight)
        theta[j] = old
        g[j] = (jp - jm) / (2 * eps)
    return g


def gradcheck(model, X, y, loss=None, eps=1e-6, regularizer=None, sample_weight=None, return_grads=False):
    """Maximum relative error between back-propagated and finite-difference gradients.

    The check runs on a float64 copy of ``model`` (the model itself is untouched). For each
    parameter array P (each W and b), with a its analytic and n its numerical gradient::

        err(P) = max_j |a_j - n_j| / max(max_j |a_j|, max_j |n_j|, 1e-12)

    and the result is the largest err(P). Around 1e-8 or below means the backward pass is
    right; 1e-3 or more means a bug (or a ReLU kink within eps of a sample).

    Parameters
    ----------
    model : Sequential
        The network to check; it must have no active Dropout (p > 0).
    X : array of shape (n, n_inputs)
        Inputs, as for ``model.loss_and_grad``; a few rows suffice.
    y : array
        Targets, as for ``model.loss_and_grad``.
    loss : str or Loss, optional
        The model's default loss if None (cross_entropy after softmax, bce after sigmoid,
        mse otherwise).
    eps : float in (0, 1), default 1e-6
        Step of the central difference.
    regularizer : Regularizer or str, optional
        Penalty added to J (its gradient is checked too).
    sample_weight : array of shape (n,), optional
        Per-sample weights of J.
    return_grads : bool, default False
        Also return the analytic and numerical flat gradients.

    Returns
    -------
    float or tuple
        The largest err(P); with ``return_grads``, (err, analytic, numerical), the last two
        float64 arrays of shape (model.n_params,) laid out as ``model.flat_params()``.

    Raises
    ------
    ArgumentError
        ``model`` is not a Sequential or has Dropout with p > 0, ``eps`` is outside (0, 1),
        ``return_grads`` is not a bool, or X, y, loss, regularizer or sample_weight are
        refused as by ``model.loss_and_grad``.
    """
    check_instance("model", model, Sequential, "a mlplab Sequential or MLP")
    check_real("eps", eps, 0, 1, low_open=True, high_open=True)
    check_bool("return_grads", return_grads)
    if any(layer.p for layer in model.layers if isinstance(layer, Dropout)):
        raise fail(
            "model",
            "deterministic for gradcheck (set Dropout p to 0 or remove the Dropout layers)",
            got="a model with dropout",
        )
    m = model.astype("float64")  # the model itself is untouched
    loss = m._resolve_loss(loss)
    regularizer = regularizers.get(regularizer)
    m.loss_and_grad(X, y, loss, regularizer, sample_weight)
    analytic = m.flat_grads().copy()
    numeric = numerical_grad(m, X, y, loss, eps, regularizer, sample_weight)
    worst = 0.0
    for _, _, start, stop in m.param_slots:  # one parameter array (a W or a b) at a time
        a, n = analytic[start:stop], numeric[start:stop]
        denom = max(np.abs(a).max(), np.abs(n).max(), 1e-12)
        worst = max(worst, float(np.abs(a - n).max() / denom))
    return (worst, analytic, numeric) if return_grads else worst
