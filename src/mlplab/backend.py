"""The one place where mlplab chooses its array library.

Numeric code imports ``xp`` from here and writes ``xp.exp``, ``xp.matmul``...,
never ``numpy`` directly, so a GPU backend (CuPy) can later replace this module's
choices without touching the layers, losses or optimizers.
"""
from __future__ import annotations

import numpy
from scipy.special import expit as _expit  # scipy ships with scikit-learn

xp = numpy

#: dtypes a model may compute in; float32 is the default, float64 on request.
DTYPES = {"float32": numpy.float32, "float64": numpy.float64}


def as_dtype(dtype) -> numpy.dtype:
    """Normalise ``dtype`` ("float32", numpy.float64, ...) to a numpy dtype, or raise."""
    try:
        dt = None if dtype is None else numpy.dtype(dtype)  # numpy reads None as float64
    except TypeError:
        dt = None
    if dt is None or dt.name not in DTYPES:
        raise ValueError(f"dtype must be one of {sorted(DTYPES)}, got {dtype!r}")
    return dt


def expit(z, out=None):
    """Logistic sigmoid 1 / (1 + exp(-z)), exact for every finite z, never overflowing."""
    return _expit(z, out=out) if out is not None else _expit(z)


def to_numpy(a):
    """Bring an array back to host memory (identity for NumPy)."""
    return numpy.asarray(a)
