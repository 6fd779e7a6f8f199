"""Activation layers, each with its exact derivative written beside it.

Every activation is a parameter-free layer applied element-wise (softmax row-wise).
``forward`` writes f(Z) into a reused buffer; ``backward(dY)`` returns dZ = dY * f'(Z),
computed from the stored output Y where the derivative allows it (sigmoid: Y(1 - Y),
tanh: 1 - Y^2, relu: [Y > 0]) and from the stored input otherwise. All of them are
stable for any finite input: nothing overflows for ``|z|`` up to 1e4 and beyond.

Adding an activation = one class here + one line in ``ACTIVATIONS`` + one row in the
parametrized torch test.
"""

from __future__ import annotations

import math

from ._validation import check_real, fail, lookup
from .backend import ZERO, expit, relu_grad, row_max, row_sum, xp
from .layers import Layer

_BOOL = xp.dtype(bool)

__all__ = [
    "Activation",
    "Identity",
    "Sigmoid",
    "Tanh",
    "ReLU",
    "LeakyReLU",
    "ELU",
    "GELU",
    "Softplus",
    "Softmax",
    "ACTIVATIONS",
    "get",
]


class Activation(Layer):
    """Base of element-wise activations: subclasses write ``_f(Z, Y)`` and ``_df(dY, dZ)``.

    ``inplace = True`` (set by a model on a hidden activation that follows a Dense layer)
    writes f(Z) over Z, which nothing else needs: one activation-sized buffer less per layer.
    Only activations whose derivative comes from the output alone (``can_inplace``) allow it.
    """

    name = "activation"
    can_inplace = False
    inplace = False

    def forward(self, Z, training=False):
        """A = f(Z), element-wise (softmax: row-wise).

        Parameters
        ----------
        Z : ndarray of shape (n, k)
            Pre-activations, float32 or float64.
        training : bool, default False
            Unused: an activation computes the same in training and prediction (it always
            keeps what ``backward`` needs).

        Returns
        -------
        ndarray of shape (n, k)
            A, in a work buffer of the layer overwritten by the next ``forward``; Z itself,
            overwritten, when ``inplace`` (and for Identity).
        """
        self.Z = Z
        self.Y = self._f(Z, Z if self.inplace else self._buf("Y", Z.shape, Z.dtype))
        return self.Y

    def backward(self, dY):
        """dZ = dY * f'(Z) (softmax: the Jacobian-vector product), from the last ``forward``.

        Parameters
        ----------
        dY : ndarray of shape (n, k)
            dJ/dA.

        Returns
        -------
        ndarray of shape (n, k)
            dZ = dJ/dZ (the lecture's delta), a work buffer of the layer (dY itself for
            Identity).
        """
        return self._df(dY, self._buf("dZ", dY.shape, dY.dtype))

    def _f(self, Z, Y):
        raise NotImplementedError

    def _df(self, dY, dZ):
        raise NotImplementedError


class Identity(Activation):
    """f(z) = z,  f'(z) = 1."""

    name = "identity"

    def bound(self, b):
        return b

    def forward(self, Z, training=False):
        self.Z = self.Y = Z
        return Z

    def backward(self, dY):
        return dY


class Sigmoid(Activation):
    """f(z) = 1 / (1 + exp(-z)),  f'(z) = f(z) (1 - f(z)), which lies in [0, 1/4].

    The lecture's sigma. The 1/4 bound is the lecture's vanishing gradient: each sigmoid layer scales the
    back-propagated gradient by at most 1/4.
    """

    name = "sigmoid"
    can_inplace = True

    def bound(self, b):
        return 1.0

    def _f(self, Z, Y):
        return expit(Z, out=Y)

    def _df(self, dY, dZ):
        xp.subtract(1.0, self.Y, out=dZ)
        dZ *= self.Y
        dZ *= dY
        return dZ


class Tanh(Activation):
    """f(z) = tanh(z),  f'(z) = 1 - f(z)^2 (as torch.nn.Tanh)."""

    name = "tanh"
    can_inplace = True

    def bound(self, b):
        return 1.0

    def _f(self, Z, Y):
        return xp.tanh(Z, out=Y)

    def _df(self, dY, dZ):
        xp.multiply(self.Y, self.Y, out=dZ)
        xp.subtract(1.0, dZ, out=dZ)
        dZ *= dY
        return dZ


class ReLU(Activation):
    """f(z) = max(z, 0),  f'(z) = 1 if z > 0 else 0 (0 at z = 0, as torch).

    The lecture's ReLU (its equation (1)); the derivative at 0 is torch.nn.ReLU's.
    """

    name = "relu"
    can_inplace = True

    def bound(self, b):
        return b

    def _f(self, Z, Y):
        return xp.maximum(Z, ZERO.get(Z.dtype, 0.0), out=Y)

    def _df(self, dY, dZ):
        return relu_grad(self.Y, dY, dZ, self._bufs)  # dZ = dY * [Y > 0]


class LeakyReLU(Activation):
    """f(z) = z if z > 0 else slope * z,  f'(z) = 1 if z > 0 else slope (slope = 0.01).

    As torch.nn.LeakyReLU (f'(0) = slope, as torch's backward gives).

    Parameters
    ----------
    negative_slope : float in [0, 1), default 0.01
        The slope for z <= 0.

    Raises
    ------
    ArgumentError
        ``negative_slope`` outside [0, 1).
    """

    name = "leaky_relu"

    def bound(self, b):
        return b  # |slope z| <= |z| for a slope below 1

    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        self.negative_slope = check_real("negative_slope", negative_slope, 0, 1, high_open=True)

    def _f(self, Z, Y):
        # max(z, slope * z) is the leaky ReLU for any slope below 1
        xp.multiply(Z, self.negative_slope, out=Y)
        return xp.maximum(Z, Y, out=Y)

    def _df(self, dY, dZ):
        mask = self._buf("mask", dY.shape, _BOOL)
        xp.greater(self.Z, 0.0, out=mask)
        xp.multiply(dY, self.negative_slope, out=dZ)
        xp.copyto(dZ, dY, where=mask)
        return dZ

    def get_config(self):
        return {"negative_slope": self.negative_slope}


class ELU(Activation):
    """f(z) = z if z > 0 else alpha (exp(z) - 1),  f'(z) = 1 if z > 0 else alpha exp(z).

    The derivative is taken from z (alpha exp(z)), not from f(z) + alpha, which would lose
    all relative precision for very negative z. As torch.nn.ELU (Clevert, Unterthiner and
    Hochreiter, "Fast and accurate deep network learning by exponential linear units", 2016).

    Parameters
    ----------
    alpha : float > 0, default 1.0
        The value f tends to, -alpha, as z goes to -infinity.

    Raises
    ------
    ArgumentError
        ``alpha`` <= 0 or not finite.
    """

    name = "elu"

    def bound(self, b):
        return max(b, self.alpha)  # alpha (exp(z) - 1) lies in (-alpha, 0] for z <= 0

    def __init__(self, alpha: float = 1.0):
        super().__init__()
        self.alpha = check_real("alpha", alpha, 0, low_open=True)

    def _f(self, Z, Y):
        xp.minimum(Z, 0.0, out=Y)  # exp only of the non-positive part: no overflow
        xp.expm1(Y, out=Y)
        Y *= self.alpha
        xp.copyto(Y, Z, where=Z > 0)
        return Y

    def _df(self, dY, dZ):
        xp.minimum(self.Z, 0.0, out=dZ)
        xp.exp(dZ, out=dZ)
        dZ *= self.alpha
        xp.copyto(dZ, 1.0, where=self.Z > 0)
        dZ *= dY
        return dZ

    def get_config(self):
        return {"alpha": self.alpha}


_GELU_K = math.sqrt(2.0 / math.pi)
_GELU_C = 0.044715


class GELU(Activation):
    """GELU, tanh approximation (torch.nn.GELU(approximate="tanh")):

    u = sqrt(2/pi) (z + 0.044715 z^3),   t = tanh(u)
    f(z)  = z (1 + t) / 2
    f'(z) = (1 + t) / 2 + z (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 z^2) / 2

    Hendrycks and Gimpel, "Gaussian error linear units (GELUs)", 2016, section 2 (the tanh
    approximation); f' is its derivative.
    """

    name = "gelu"

    def bound(self, b):
        return b  # |z (1 + tanh u) / 2| <= |z|

    def _f(self, Z, Y):
        T = self._buf("T", Z.shape, Z.dtype)
        xp.multiply(Z, Z, out=T)
        T *= _GELU_C
        T += 1.0
        T *= Z
        T *= _GELU_K
        xp.tanh(T, out=T)
        self.T = T
        xp.add(T, 1.0, out=Y)
        Y *= Z
        Y *= 0.5
        return Y

    def _df(self, dY, dZ):
        Z, T = self.Z, self.T
        R = self._buf("R", Z.shape, Z.dtype)
        xp.multiply(Z, Z, out=R)  # R = sqrt(2/pi) (1 + 3c z^2) z (1 - t^2) / 2
        R *= 3.0 * _GELU_C
        R += 1.0
        R *= _GELU_K * 0.5
        R *= Z
        xp.multiply(T, T, out=dZ)
        xp.subtract(1.0, dZ, out=dZ)
        dZ *= R
        xp.add(T, 1.0, out=R)
        R *= 0.5
        dZ += R
        dZ *= dY
        return dZ


class Softplus(Activation):
    """f(z) = log(1 + exp(z)),  f'(z) = sigmoid(z); as torch.nn.Softplus (beta=1,
    threshold=20), f(z) = z and f'(z) = 1 once z > 20, where they agree to 2e-9."""

    name = "softplus"
    threshold = 20.0

    def bound(self, b):
        return b + math.log(2.0)  # log(1 + exp(z)) <= max(z, 0) + log 2

    def _f(self, Z, Y):
        xp.minimum(Z, self.threshold, out=Y)
        xp.exp(Y, out=Y)
        xp.log1p(Y, out=Y)
        xp.copyto(Y, Z, where=Z > self.threshold)
        return Y

    def _df(self, dY, dZ):
        expit(self.Z, out=dZ)
        xp.copyto(dZ, 1.0, where=self.Z > self.threshold)
        dZ *= dY
        return dZ


class Softmax(Activation):
    """Row-wise softmax: f(z)_k = exp(z_k - m) / sum_j exp(z_j - m), m = max_j z_j.

    Backward (Jacobian-vector product): dz_k = y_k (dy_k - sum_j dy_j y_j). Followed by
    the cross-entropy loss, the model skips this and uses the fused dz = (p - y) / n.
    As torch.nn.Softmax(dim=1).
    """

    name = "softmax"

    def bound(self, b):
        return 1.0

    def _f(self, Z, Y):
        m = row_max(Z)[:, None]
        xp.subtract(Z, m, out=Y)
        xp.exp(Y, out=Y)
        s = row_sum(Y)[:, None]
        Y /= s
        # log sum_j exp(z_j) = m + log s, kept for the fused cross-entropy: J without a second pass
        xp.log(s, out=s)
        s += m
        self.lse = s[:, 0]
        return Y

    def _df(self, dY, dZ):
        xp.multiply(dY, self.Y, out=dZ)
        s = row_sum(dZ)[:, None]
        xp.subtract(dY, s, out=dZ)
        dZ *= self.Y
        return dZ


ACTIVATIONS = {
    "identity": Identity,
    "linear": Identity,
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "elu": ELU,
    "gelu": GELU,
    "softplus": Softplus,
    "softmax": Softmax,
}

#: Activations for which He initialisation is the right default.
RELU_FAMILY = frozenset({"relu", "leaky_relu", "elu", "gelu"})


def get(activation, name="activation") -> Activation:
    """A new activation layer from a name ("relu") or a class (ml.ReLU); an instance is
    returned as is.

    Parameters
    ----------
    activation : str, Activation subclass or Activation
        A key of ``ACTIVATIONS`` (defaults of its class), a class (built without
        arguments), or an instance (returned as is, not copied).
    name : str, default "activation"
        The argument's name in the error message ("output" for ``MLP(output=...)``).

    Returns
    -------
    Activation
        A new layer, or the instance given.

    Raises
    ------
    ArgumentError
        ``activation`` is none of these (the message names ``name`` and lists the valid
        names), or ``name`` is not a non-empty str.
    """
    if not isinstance(name, str) or not name:
        raise fail("name", "a non-empty str, the argument's name in messages", name)
    return lookup(name, ACTIVATIONS, activation, base=Activation)
