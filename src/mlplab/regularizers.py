"""Penalties added to the objective (the lecture's weight decay), with exact gradients.

    J(theta) = empirical risk(theta) + penalty(theta)

They act on the weights W of every Dense layer, not on the biases, unless
``include_bias=True``. A model keeps all weights first in its flat parameter buffer, so a
penalty and its gradient are a couple of vectorized calls on one slice, whatever the depth.

This is the *coupled* weight decay of the lecture: the penalty's gradient joins the data
gradient and passes through the optimizer (for Adam, it is then rescaled per coordinate).
Decoupled weight decay (``optim.AdamW``) instead shrinks the weights directly,
theta <- theta - lr * wd * theta, outside the adaptive rescaling; for plain SGD the two
coincide with wd = lam.
"""
from __future__ import annotations

import numpy as np

from .backend import xp

__all__ = ["Regularizer", "L2", "L1", "ElasticNet", "REGULARIZERS", "get"]


def _check_lam(lam):
    if isinstance(lam, bool) or not isinstance(lam, (int, float, np.floating)) or not np.isfinite(lam) or lam < 0:
        raise ValueError(f"lam must be a finite number >= 0, got {lam!r}")
    return float(lam)


class Regularizer:
    """Base class: ``penalty(theta) -> float`` and ``add_grad(theta, grad)`` (in place)."""

    def __init__(self, lam: float = 1e-4, include_bias: bool = False):
        self.lam = _check_lam(lam)
        self.include_bias = bool(include_bias)

    def penalty(self, theta) -> float:
        raise NotImplementedError

    def add_grad(self, theta, grad) -> None:
        raise NotImplementedError

    def get_config(self):
        return {"lam": self.lam, "include_bias": self.include_bias}

    def __repr__(self):
        return f"{type(self).__name__}(" + ", ".join(f"{k}={v!r}" for k, v in self.get_config().items()) + ")"


class L2(Regularizer):
    """Ridge: penalty = lam/2 * sum theta^2,  gradient = lam * theta."""

    def penalty(self, theta):
        return 0.5 * self.lam * float(xp.dot(theta, theta))

    def add_grad(self, theta, grad):
        grad += self.lam * theta


class L1(Regularizer):
    """Lasso: penalty = lam * sum |theta|,  (sub)gradient = lam * sign(theta) (0 at 0, as torch)."""

    def penalty(self, theta):
        return self.lam * float(xp.abs(theta).sum())

    def add_grad(self, theta, grad):
        grad += self.lam * xp.sign(theta)


class ElasticNet(Regularizer):
    """Elastic net: penalty = r lam sum |theta| + (1 - r) lam/2 sum theta^2, r in [0, 1].

    Gradient: r lam sign(theta) + (1 - r) lam theta. r = 1 gives L1 and r = 0 gives L2.
    The lecture's slide writes the L1 term as r lam/2 sum |theta|; the 1/2 there is a typo
    (it would not reduce to L1 at r = 1), so this class follows the definition above.
    """

    def __init__(self, lam: float = 1e-4, r: float = 0.5, include_bias: bool = False):
        super().__init__(lam, include_bias)
        if isinstance(r, bool) or not isinstance(r, (int, float, np.floating)) or not (0.0 <= r <= 1.0):
            raise ValueError(f"r must be a number in [0, 1], got {r!r}")
        self.r = float(r)

    def penalty(self, theta):
        return self.lam * (self.r * float(xp.abs(theta).sum()) + 0.5 * (1.0 - self.r) * float(xp.dot(theta, theta)))

    def add_grad(self, theta, grad):
        grad += (self.r * self.lam) * xp.sign(theta) + ((1.0 - self.r) * self.lam) * theta

    def get_config(self):
        return {"lam": self.lam, "r": self.r, "include_bias": self.include_bias}


REGULARIZERS = {"l2": L2, "l1": L1, "elastic_net": ElasticNet}


def get(reg):
    """None, a Regularizer, or a name ("l2", "l1", "elastic_net") with default strength."""
    if reg is None or isinstance(reg, Regularizer):
        return reg
    if isinstance(reg, str) and reg in REGULARIZERS:
        return REGULARIZERS[reg]()
    raise ValueError(f"regularizer must be None, a Regularizer or one of {sorted(REGULARIZERS)}, got {reg!r}")
