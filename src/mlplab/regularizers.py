"""Penalties added to the objective (the lecture's weight decay), with exact gradients::

    J(theta) = empirical risk(theta) + penalty(theta)

    L2 (ridge)      penalty = lam/2 sum_i theta_i^2                        grad = lam theta
    L1 (lasso)      penalty = lam sum_i |theta_i|                          grad = lam sign(theta)
    ElasticNet      penalty = r lam sum_i |theta_i| + (1-r) lam/2 sum_i theta_i^2
                                                        grad = r lam sign(theta) + (1-r) lam theta

They act on the weights W of every Dense layer, not on the biases, unless
``include_bias=True``. A model keeps all weights first in its flat parameter buffer, so a
penalty and its gradient are a couple of vectorized calls on one slice, whatever the depth.
``fit(regularizer=...)`` reports J with the penalty as "loss" and the data term alone as
"data_loss"; validation losses ("val_loss") are data terms only.

Coupled penalty versus decoupled weight decay
---------------------------------------------
This is the *coupled* weight decay of the lecture: the penalty's gradient joins the data
gradient and passes through the optimizer. For plain SGD (with or without momentum) L2 is
then exactly ``SGD(weight_decay=lam)``, which torch applies to every parameter, so the two
match with ``include_bias=True``. For an adaptive optimizer (Adam) the penalty's gradient is
rescaled per coordinate like the data gradient, so weights with large gradient histories are
hardly decayed. Decoupled weight decay (``optim.AdamW``, Loshchilov and Hutter) shrinks the
weights directly, theta <- theta - lr * wd * theta, outside the adaptive rescaling, and is not
the gradient of any penalty added to J.

L1's gradient is a subgradient: sign(0) = 0, as torch's ``abs`` backward. Gradient descent
on it does not land on exact zeros; it leaves the weights that the data do not need
oscillating around zero by steps of lr * lam (lr * lam / (1 - momentum) with momentum), which
is why a sparsity count uses a threshold (the weight-decay experiment counts ``|w| < 1e-3``).
"""

from __future__ import annotations

from ._validation import check_bool, check_real, lookup
from .backend import xp

__all__ = ["Regularizer", "L2", "L1", "ElasticNet", "REGULARIZERS", "get"]


class Regularizer:
    """Base class of the penalties.

    A subclass writes ``penalty(theta) -> float`` and ``add_grad(theta, grad)``, which adds
    d penalty / d theta to ``grad`` in place; both receive the slice of the flat parameter
    buffer the penalty acts on.

    Parameters
    ----------
    lam : float >= 0, default 1e-4
        Strength lambda of the penalty.
    include_bias : bool, default False
        Penalise the biases too (all of ``model.flat_params()``), not only the weights.

    Raises
    ------
    ArgumentError
        ``lam`` < 0 or not finite, ``include_bias`` not a bool.
    """

    def __init__(self, lam: float = 1e-4, include_bias: bool = False):
        self.lam = check_real("lam", lam, 0.0)
        self.include_bias = check_bool("include_bias", include_bias)

    def penalty(self, theta) -> float:
        """The penalty's value (formula in the class docstring).

        Parameters
        ----------
        theta : ndarray of shape (k,)
            The slice of the flat parameter buffer the penalty acts on: the weights
            (``theta[:model.n_weights]``), or every parameter with ``include_bias``.

        Returns
        -------
        float
            The penalty, >= 0.
        """
        raise NotImplementedError

    def add_grad(self, theta, grad) -> None:
        """Add d penalty / d theta to ``grad`` in place.

        Parameters
        ----------
        theta : ndarray of shape (k,)
            As for ``penalty``.
        grad : ndarray of shape (k,)
            The matching slice of the flat gradient buffer, holding the data term's gradient.
        """
        raise NotImplementedError

    def __call__(self, theta) -> float:
        """The penalty of ``theta`` (same as ``penalty``)."""
        return self.penalty(theta)

    def get_config(self):
        """The constructor's arguments (``type(reg)(**reg.get_config())`` rebuilds it).

        Returns
        -------
        dict
            Argument name -> value, JSON-serialisable.
        """
        return {"lam": self.lam, "include_bias": self.include_bias}

    def __repr__(self):
        return f"{type(self).__name__}(" + ", ".join(f"{k}={v!r}" for k, v in self.get_config().items()) + ")"


class L2(Regularizer):
    """Ridge (L2) penalty, the lecture's weight decay::

        penalty(theta) = lam/2 * sum_i theta_i^2
        d penalty / d theta = lam * theta

    Keeps the weights small; with plain SGD it is ``SGD(weight_decay=lam)`` (see the module
    docstring for the difference from AdamW's decoupled decay).

    Parameters
    ----------
    lam : float >= 0, default 1e-4
        Strength lambda of the penalty.
    include_bias : bool, default False
        Penalise the biases too.
    """

    def penalty(self, theta):
        return 0.5 * self.lam * float(xp.dot(theta, theta))

    def add_grad(self, theta, grad):
        grad += self.lam * theta


class L1(Regularizer):
    """Lasso (L1) penalty::

        penalty(theta) = lam * sum_i |theta_i|
        d penalty / d theta = lam * sign(theta)       (subgradient, 0 at 0 as torch)

    Pushes every weight towards zero by the same amount whatever its size, so the weights
    the data do not need end up (near) zero: a sparse model.

    Parameters
    ----------
    lam : float >= 0, default 1e-4
        Strength lambda of the penalty.
    include_bias : bool, default False
        Penalise the biases too.
    """

    def penalty(self, theta):
        return self.lam * float(xp.abs(theta).sum())

    def add_grad(self, theta, grad):
        grad += self.lam * xp.sign(theta)


class ElasticNet(Regularizer):
    """Elastic net: a mix of L1 and L2 set by r in [0, 1]::

        penalty(theta) = r lam sum_i |theta_i| + (1 - r) lam/2 sum_i theta_i^2
        d penalty / d theta = r lam sign(theta) + (1 - r) lam theta

    r = 1 gives ``L1(lam)`` and r = 0 gives ``L2(lam)``. The lecture's slide writes the L1
    term as ``r lam/2 sum |theta_i|``; that extra 1/2 would not reduce to L1 at r = 1, so this
    class follows the definition above (scikit-learn's ElasticNet mixes the terms the same
    way, with alpha for lam and l1_ratio for r).

    Parameters
    ----------
    lam : float >= 0, default 1e-4
        Strength lambda of the penalty.
    r : float in [0, 1], default 0.5
        Share of the L1 term.
    include_bias : bool, default False
        Penalise the biases too.

    Raises
    ------
    ArgumentError
        ``lam`` < 0 or not finite, ``r`` outside [0, 1], ``include_bias`` not a bool.
    """

    def __init__(self, lam: float = 1e-4, r: float = 0.5, include_bias: bool = False):
        super().__init__(lam, include_bias)
        self.r = check_real("r", r, 0.0, 1.0)

    def penalty(self, theta):
        return self.lam * (self.r * float(xp.abs(theta).sum()) + 0.5 * (1.0 - self.r) * float(xp.dot(theta, theta)))

    def add_grad(self, theta, grad):
        grad += (self.r * self.lam) * xp.sign(theta) + ((1.0 - self.r) * self.lam) * theta

    def get_config(self):
        return {"lam": self.lam, "r": self.r, "include_bias": self.include_bias}


REGULARIZERS = {"l2": L2, "l1": L1, "elastic_net": ElasticNet}


def get(reg):
    """The Regularizer that ``reg`` names.

    Parameters
    ----------
    reg : None, Regularizer, str or Regularizer subclass
        None (no penalty) and an instance are returned as they are; a name ("l2", "l1",
        "elastic_net") or a subclass gives an instance with the default strength.

    Returns
    -------
    Regularizer or None
        None for no penalty.

    Raises
    ------
    ArgumentError
        Anything else, naming ``regularizer`` and listing the names.
    """
    if reg is None:
        return None
    return lookup("regularizer", REGULARIZERS, reg, base=Regularizer)
