"""Weight initializers: ``f(shape, rng, dtype) -> array`` for a weight of shape (n_in, n_out).

Variance-preserving choices (fan_in = n_in, fan_out = n_out):

    he / he_normal       N(0, 2 / fan_in)                 (ReLU family; He et al. 2015)
    he_uniform           U(-a, a), a = sqrt(6 / fan_in)
    glorot / glorot_uniform  U(-a, a), a = sqrt(6 / (fan_in + fan_out))   (Glorot & Bengio 2010)
    glorot_normal        N(0, 2 / (fan_in + fan_out))
    lecun / lecun_normal N(0, 1 / fan_in)                 (LeCun et al. 1998)
    lecun_uniform        U(-a, a), a = sqrt(3 / fan_in)
    torch                U(-a, a), a = 1 / sqrt(fan_in)   (torch.nn.Linear's default)
    normal               N(0, 0.01^2)
    zeros                0 (warns: every hidden unit then computes and learns the same thing)
"""

from __future__ import annotations

import warnings

import numpy as np

from ._validation import lookup

__all__ = ["INITIALIZERS", "get"]


def _normal(std):
    def init(shape, rng, dtype):
        return (rng.standard_normal(shape) * std(*shape)).astype(dtype)

    return init


def _uniform(limit):
    def init(shape, rng, dtype):
        a = limit(*shape)
        return rng.uniform(-a, a, size=shape).astype(dtype)

    return init


def zeros(shape, rng, dtype):
    warnings.warn(
        "init='zeros': all-zero weights give every hidden unit the same output and the same "
        "gradient, so the units stay identical and the layer learns like a single unit",
        UserWarning,
        stacklevel=4,
    )
    return np.zeros(shape, dtype=dtype)


INITIALIZERS = {
    "he": _normal(lambda i, o: np.sqrt(2.0 / i)),
    "he_normal": _normal(lambda i, o: np.sqrt(2.0 / i)),
    "he_uniform": _uniform(lambda i, o: np.sqrt(6.0 / i)),
    "glorot": _uniform(lambda i, o: np.sqrt(6.0 / (i + o))),
    "glorot_uniform": _uniform(lambda i, o: np.sqrt(6.0 / (i + o))),
    "glorot_normal": _normal(lambda i, o: np.sqrt(2.0 / (i + o))),
    "lecun": _normal(lambda i, o: np.sqrt(1.0 / i)),
    "lecun_normal": _normal(lambda i, o: np.sqrt(1.0 / i)),
    "lecun_uniform": _uniform(lambda i, o: np.sqrt(3.0 / i)),
    "torch": _uniform(lambda i, o: 1.0 / np.sqrt(i)),
    "normal": _normal(lambda i, o: 0.01),
    "zeros": zeros,
}
for _name, _f in INITIALIZERS.items():
    _f.__name__ = _name


def get(init):
    """The initializer named ``init``, or ``init`` itself if it is callable.

    Parameters
    ----------
    init : str or callable
        A key of ``INITIALIZERS`` (formulas in the module docstring), or a function
        ``f(shape, rng, dtype) -> array`` with shape (n_in, n_out).

    Returns
    -------
    callable
        ``f(shape, rng, dtype)``, returning an array of ``shape`` and ``dtype`` drawn from
        the NumPy Generator ``rng``.

    Raises
    ------
    ArgumentError
        ``init`` is neither callable nor a known name (the message lists the names).
    """
    return lookup("init", INITIALIZERS, init)
