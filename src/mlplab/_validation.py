"""Every argument check of mlplab, and the one registry lookup.

Each check returns the value in its plain Python (or NumPy) form, or raises ``ArgumentError``
(a ``ValueError`` and a ``TypeError``) with one message shape::

    {name} must be {what}, got {value!r}

``name`` is the argument as the caller wrote it (``"lr"``, ``"betas[0]"``,
``"validation_data X"``), ``what`` what it must be, and the value is shown as given (long
ones shortened). Numbers are NumPy's as well as Python's (``np.float32(0.1)`` is a float,
``np.int64(3)`` an int); ``bool`` is never taken for a number, since ``True`` where a count
is expected is a bug, not a 1.
"""

from __future__ import annotations

import difflib
import inspect
import math
import numbers
import os

import numpy as np

from .backend import all_finite, is_sparse
from .errors import ArgumentError

__all__ = [
    "fail",
    "check_int",
    "check_real",
    "check_bool",
    "check_choice",
    "check_callable",
    "check_instance",
    "check_path",
    "check_list",
    "check_seed",
    "as_rng",
    "as_numeric_array",
    "check_X",
    "as_finite",
    "check_sample_weight",
    "check_memory",
    "unexpected_arguments",
    "check_arguments",
    "lookup",
]

_MAX_SHOWN = 80  # characters of a value's repr shown in a message


def _show(value) -> str:
    if isinstance(value, np.ndarray) and value.size > 6:
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    r = repr(value)
    return r if len(r) <= _MAX_SHOWN else r[: _MAX_SHOWN - 3] + "..."


def fail(name, what, value=None, *, got=None) -> ArgumentError:
    """The error (to raise) for argument ``name``, which must be ``what`` and is ``value``;
    ``got`` replaces the shown value with a description ("shape (3,)")."""
    return ArgumentError(f"{name} must be {what}, got {_show(value) if got is None else got}")


def _bounds(low, high, low_open, high_open) -> str:
    if low is not None and high is not None:
        return f" in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    if low is not None:
        return f" {'>' if low_open else '>='} {low}"
    if high is not None:
        return f" {'<' if high_open else '<='} {high}"
    return ""


def check_int(name, value, low=None, high=None) -> int:
    """An integer (Python or NumPy, not bool) in [low, high]; returned as int."""
    # type() first: the common case skips the ABC checks, which cost a microsecond per fit call
    ok = type(value) is int or (not isinstance(value, (bool, np.bool_)) and isinstance(value, numbers.Integral))
    if not ok or (low is not None and value < low) or (high is not None and value > high):
        raise fail(name, "an int" + _bounds(low, high, False, False), value)
    return int(value)


def check_real(name, value, low=None, high=None, *, low_open=False, high_open=False) -> float:
    """A finite real number (Python or NumPy, not bool) within the bounds; returned as float."""
    ok = type(value) in (float, int) or (not isinstance(value, (bool, np.bool_)) and isinstance(value, numbers.Real))
    try:
        ok = ok and math.isfinite(value)
    except OverflowError:  # an int beyond any float
        ok = False
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        both = low is not None and high is not None
        raise fail(name, ("a number" if both else "a finite number") + _bounds(low, high, low_open, high_open), value)
    return float(value)


def check_bool(name, value) -> bool:
    """True or False (NumPy's too); 0, 1 and strings are refused."""
    if not isinstance(value, (bool, np.bool_)):
        raise fail(name, "True or False", value)
    return bool(value)


def check_choice(name, value, choices):
    """One of ``choices``, compared with == (a bool only matches itself); returned as given."""
    try:
        ok = any(value is c or (not isinstance(value, (bool, np.bool_)) and bool(value == c)) for c in choices)
    except (TypeError, ValueError):  # an array, or a value that cannot be compared
        ok = False
    if not ok:
        raise fail(name, "one of " + ", ".join(map(repr, choices)), value)
    return value


def check_callable(name, value, what="callable"):
    if not callable(value):
        raise fail(name, what, value)
    return value


def check_instance(name, value, cls, what):
    """An instance of ``cls`` (a class or a tuple), described as ``what`` in the message."""
    if not isinstance(value, cls):
        raise fail(name, what, value)
    return value


def check_path(name, value) -> str:
    """A non-empty str or path-like naming a file by a str; returned as str."""
    path = os.fspath(value) if isinstance(value, (str, os.PathLike)) else None
    if not isinstance(path, str) or not path:
        raise fail(name, "a non-empty str or path-like", value)
    return path


def check_list(name, value, what) -> list:
    """``value`` as a list: any iterable but a str, bytes, a dict or a 0-d array (a set or a
    generator is taken as given); else ArgumentError saying it must be ``what``."""
    if isinstance(value, (str, bytes, dict)) or (isinstance(value, np.ndarray) and value.ndim == 0):
        raise fail(name, what, value)
    try:
        return list(value)
    except TypeError:
        raise fail(name, what, value) from None


def check_seed(name, value):
    """None or an int (a seed that can be written to a JSON configuration); returned as is."""
    if value is not None and (
        isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value < 0
    ):
        raise fail(name, "None or an int >= 0", value)
    return None if value is None else int(value)


def as_rng(seed, name="seed") -> np.random.Generator:
    """A NumPy Generator from None, an int >= 0, or a Generator (returned as is)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is not None and (isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral) or seed < 0):
        raise fail(name, "None, an int >= 0 or a numpy Generator", seed)
    return np.random.default_rng(seed)


def as_numeric_array(value, name):
    """``value`` as a NumPy array: an ndarray as it is (its dtype is judged by the caller), any
    other input (lists, pandas DataFrames and Series whatever their column dtypes, object
    arrays of numbers) through scikit-learn's ``check_array``, so that mlplab takes exactly
    the numeric inputs scikit-learn takes; what it refuses is refused naming ``name``."""
    if isinstance(value, np.ndarray) and value.dtype.kind != "O":
        return value
    from sklearn.utils import check_array  # imported on first use: 0.5 s that NumPy input never pays

    try:
        return check_array(
            value,
            dtype="numeric",
            ensure_2d=False,
            allow_nd=True,
            ensure_all_finite=False,
            ensure_min_samples=0,
            ensure_min_features=0,
            input_name=name,
        )
    except (TypeError, ValueError) as e:
        raise fail(name, "an array of real numbers", got=f"{_show(value)} ({e})") from None


def _as_csr(X, name):
    """A SciPy sparse matrix or array as CSR, through scikit-learn's ``check_array``: CSR as it
    is, CSC and the other formats converted (a copy of the stored values, never a dense one)."""
    from sklearn.utils import check_array  # imported on first use, as in as_numeric_array

    try:
        return check_array(
            X, accept_sparse="csr", dtype=None, ensure_all_finite=False, ensure_min_samples=0, input_name=name
        )
    except (TypeError, ValueError) as e:
        got = f"a {type(X).__name__} of dtype {X.dtype} ({str(e).splitlines()[0]})"
        raise fail(name, "a sparse matrix of real numbers", got=got) from None


def check_X(X, n_features=None, dtype=np.float64, name="X"):
    """An input matrix as a C-contiguous array of ``dtype`` (no copy when it is one already),
    or, for a SciPy sparse matrix or array, as CSR of ``dtype`` (CSC and the other formats
    converted once: a copy of the stored values, never a dense copy).

    Accepted: what scikit-learn's ``check_array`` accepts (``as_numeric_array``: lists, any
    real NumPy dtype and memory layout, read-only arrays, pandas DataFrames; sparse matrices).
    Refused: non-numeric or complex data, anything but 2-D, no rows, a width other than
    ``n_features``, NaN or infinity, finite values beyond the range of ``dtype``.

    Parameters
    ----------
    X : array-like or sparse matrix of shape (n, n_features)
        The input.
    n_features : int, optional
        The width X must have; None accepts any.
    dtype : numpy dtype, default numpy.float64
        The dtype of the result.
    name : str, default "X"
        The argument's name in error messages.

    Returns
    -------
    ndarray or SciPy CSR matrix of shape (n, n_features)
        C-contiguous (or CSR), of ``dtype``, every value finite.

    Raises
    ------
    ArgumentError
        For each refusal above, naming ``name``.
    """
    sparse = is_sparse(X)
    A = _as_csr(X, name) if sparse else as_numeric_array(X, name)
    if A.dtype.kind not in "biuf":  # booleans, integers, floats: not complex, objects, strings or times
        raise fail(name, "an array of real numbers", got=f"dtype {A.dtype}")
    if A.ndim != 2:
        hint = f" (for a single feature use {name}.reshape(-1, 1))" if A.ndim == 1 else ""
        raise fail(name, f"2-D (n_samples, n_features){hint}", got=f"shape {A.shape}")
    if A.shape[0] == 0:
        raise fail(name, "non-empty (at least one sample)", got=f"shape {A.shape}")
    if n_features is not None and A.shape[1] != n_features:
        raise fail(
            name, f"of shape (n_samples, {n_features}) (the model has {n_features} inputs)", got=f"shape {A.shape}"
        )
    return as_finite(A, dtype, name)


def as_finite(A, dtype, name):
    """The real array ``A`` as a C-contiguous array of ``dtype`` (no copy when it is one), all
    finite: NaN and infinity are refused, and so are finite values beyond the range of
    ``dtype`` (a float64 of 1e300 for float32), saying so, as scikit-learn does. A sparse
    (CSR) ``A`` stays sparse, its stored values checked."""
    sparse = is_sparse(A)
    source = A.data if sparse else A
    with np.errstate(over="ignore"):  # float64 beyond float32's range: refused below, by name
        A = A.astype(dtype, copy=False) if sparse else np.ascontiguousarray(A, dtype=dtype)
    values = A.data if sparse else A
    if not all_finite(values):
        if values is not source and np.isfinite(source).all():
            raise fail(
                name,
                f"representable in {A.dtype.name} (|x| <= {np.finfo(A.dtype).max:.4g})",
                got=f"values up to {np.abs(source).max():.4g}",
            )
        raise fail(name, "finite", got="NaN or infinity")
    return A


def check_sample_weight(sample_weight, n, dtype, name="sample_weight", *, all_zero=False):
    """Per-sample weights as a 1-D array of ``dtype``, or None: n finite numbers >= 0, not all 0
    (all 0 allowed with ``all_zero=True``: a mini-batch that contributes nothing)."""
    if sample_weight is None:
        return None
    w = as_numeric_array(sample_weight, name)
    if w.dtype.kind not in "biuf":
        raise fail(name, f"an array of {n} real numbers", sample_weight)
    if w.ndim != 1 or w.shape[0] != n:
        raise fail(name, f"of shape ({n},), one weight per sample", got=f"shape {w.shape}")
    with np.errstate(over="ignore", under="ignore"):
        given, w = w, w.astype(dtype)  # checked as training will use them: no overflow to inf, no underflow to all 0
    what = f"finite in {np.dtype(dtype).name} and >= 0" + ("" if all_zero else ", and not all zero")
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():  # the first weight at fault, as it was given
        i = int(np.argmax(bad))
        raise fail(name, what, got=f"{given[i].item()!r} at index {i}")
    if w.sum() <= 0 and not all_zero:
        raise fail(
            name, what, got="all zero" if not given.any() else f"weights that are all 0 in {np.dtype(dtype).name}"
        )
    return w


def _physical_memory() -> float:
    try:
        return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):  # not on this platform: no limit known
        return math.inf


def check_memory(name, elements, itemsize, what):
    """Refuse, naming the argument, an array of ``elements`` items of ``itemsize`` bytes (``what``)
    larger than this machine's physical memory: a clear error instead of NumPy's MemoryError
    or "maximum allowed dimension exceeded". Returns ``elements``."""
    need = float(elements) * itemsize
    have = _physical_memory()
    if need > have:
        raise fail(
            name,
            f"small enough for this machine's {have / 2**30:.1f} GiB of memory",
            got=f"{what} of {float(elements):.4g} elements ({need / 2**30:.4g} GiB)",
        )
    return elements


def unexpected_arguments(func, kwargs, known, hints=None) -> ArgumentError:
    """The error for keyword arguments ``func`` does not take: for the first one, where it
    belongs (``hints``: name -> "given to the optimizer, optimizer=ml.optim.SGD(lr=...)") or the
    argument of ``known`` it most resembles."""
    name = next(iter(kwargs))
    hint = (hints or {}).get(name)
    if hint is None:
        close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
        hint = f"one of {func}'s arguments" + (f" (did you mean {close[0]}=?)" if close else f": {', '.join(known)}")
    return fail(name, hint, kwargs[name])


def check_arguments(name, kwargs, cls, partial=False) -> dict:
    """``kwargs`` (a dict) as arguments of ``cls(**kwargs)``: no unknown name, and, unless
    ``partial``, every required one; else ArgumentError naming ``name`` and listing them."""
    params = [p for p in inspect.signature(cls).parameters.values() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    names = [p.name for p in params]
    required = [p.name for p in params if p.default is p.empty]
    unknown = [k for k in kwargs if k not in names]
    missing = [] if partial else [k for k in required if k not in kwargs]
    if unknown or missing:
        what = f"arguments of {cls.__name__} ({', '.join(names)})"
        what += f", {', '.join(required)} required" if required and not partial else ""
        raise fail(name, what, got=f"unknown {unknown}" if unknown else f"none for {missing}")
    return kwargs


def _article(word) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def lookup(kind, registry, value, base=None, **kwargs):
    """The one registry lookup: what ``value`` names in ``registry`` (a dict name -> entry).

    With a ``base`` class: an instance of it is returned as is, a subclass or a name is built
    with ``kwargs``. Without one (registries of functions): a callable is returned as is and
    a name gives its entry. Anything else is refused, listing the valid names.
    """
    if base is not None:
        if isinstance(value, base):
            if kwargs:
                raise fail(kind, f"a name or class when arguments {sorted(kwargs)} are given", value)
            return value
        if isinstance(value, type) and issubclass(value, base):
            return value(**check_arguments(f"the arguments of {kind} {value.__name__}", kwargs, value))
    elif callable(value):
        if kwargs:
            raise fail(kind, f"a name when arguments {sorted(kwargs)} are given", value)
        return value
    if isinstance(value, str) and value in registry:
        if base is None and kwargs:
            raise fail(kind, f"a name of a class when arguments {sorted(kwargs)} are given", value)
        entry = registry[value]
        if base is not None:
            return entry(**check_arguments(f"the arguments of {kind} {value!r}", kwargs, entry))
        return entry
    what = f"{_article(base.__name__)} {base.__name__}" if base is not None else "a callable"
    raise fail(kind, f"{what} or one of {sorted(registry)}", value)
