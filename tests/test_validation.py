"""Tests of mlplab._validation: every argument check and the registry lookup.

The oracles: Python's own conversions (``int(v)``, ``float(v)``, ``os.fspath(p)``) for what
a check returns; ``numpy.isfinite(A).all()`` (the reference formula named in
``backend.all_finite``) for which matrices are finite; ``np.shares_memory`` for "no copy";
and, for every refusal, the contract of the module docstring: an ``ArgumentError`` (both a
ValueError and a TypeError) whose message is ``"{name} must be {what}, got {value!r}"``,
with the exact wording asserted where the source states it (``_bounds``, ``check_X``'s
messages, ``fail``'s shortening to 80 characters and its array description).
"""

from __future__ import annotations

import fractions
import os
import pathlib
import re
from decimal import Decimal

import numpy as np
import pytest
import scipy.sparse

from mlplab import _validation as v
from mlplab.errors import ArgumentError


def _refused(arg, call, /, *args, **kwargs):
    """Call ``call(*args, **kwargs)``, assert it refuses argument ``arg`` the one way, return the message."""
    with pytest.raises(ArgumentError) as info:
        call(*args, **kwargs)
    e = info.value
    assert isinstance(e, ValueError) and isinstance(e, TypeError)
    msg = str(e)
    assert re.fullmatch(rf"{re.escape(arg)} must be .+, got .+", msg, flags=re.DOTALL), msg
    return msg


def test_every_public_function_is_tested_here():
    # a new public check fails this test until it is added to this file
    tested = {
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
    }
    assert set(v.__all__) == tested


# -- check_int ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", [0, 7, -3, 10**30, np.int64(5), np.int32(-2), np.uint8(200), np.int8(-128)], ids=repr)
def test_check_int_accepts_python_and_numpy_ints_and_returns_int(value):
    out = v.check_int("n", value)
    assert type(out) is int and out == int(value)


@pytest.mark.parametrize(
    "low,high,value",
    [
        (0, None, 0),
        (1, None, 10**20),
        (None, 5, 5),
        (None, 5, -(10**20)),
        (1, 3, 1),
        (1, 3, 2),
        (1, 3, 3),
        (-2, -2, -2),
    ],
)
def test_check_int_bounds_are_closed(low, high, value):
    assert v.check_int("n", value, low, high) == value


@pytest.mark.parametrize(
    "low,high,value,what",
    [
        (0, None, -1, "an int >= 0"),
        (1, None, 0, "an int >= 1"),
        (None, 5, 6, "an int <= 5"),
        (1, 3, 0, "an int in [1, 3]"),
        (1, 3, 4, "an int in [1, 3]"),
        (None, None, 2.0, "an int"),
    ],
)
def test_check_int_refuses_out_of_bounds_with_the_bounds_in_the_message(low, high, value, what):
    msg = _refused("epochs", v.check_int, "epochs", value, low, high)
    assert msg == f"epochs must be {what}, got {value!r}"


@pytest.mark.parametrize(
    "value",
    [
        True,
        False,
        np.True_,
        np.False_,
        3.0,
        np.float64(3.0),
        "3",
        None,
        [3],
        fractions.Fraction(3, 1),
        Decimal(3),
        3 + 0j,
    ],
    ids=lambda x: f"{type(x).__name__}-{x!r}",
)
def test_check_int_refuses_non_ints_and_bools(value):
    _refused("batch_size", v.check_int, "batch_size", value, 1)


# -- check_real --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "value,expected",
    [
        (0.5, 0.5),
        (3, 3.0),
        (-2, -2.0),
        (np.float32(0.25), 0.25),
        (np.float32(0.1), float(np.float32(0.1))),  # the float32 value, not 0.1
        (np.float64(1e-300), 1e-300),
        (np.float16(-1.5), -1.5),
        (np.int64(4), 4.0),
        (np.uint16(9), 9.0),
        (fractions.Fraction(1, 4), 0.25),
        (fractions.Fraction(1, 3), 1 / 3),
    ],
    ids=lambda x: f"{type(x).__name__}-{x!r}",
)
def test_check_real_accepts_numbers_and_returns_python_float(value, expected):
    out = v.check_real("lr", value)
    assert type(out) is float and out == expected


# (low, high, low_open, high_open): accepted values, refused values, the "what" of the message
BOUNDS = [
    ((0, None, False, False), [0, 0.0, 1e-300, 1e300], [-1e-300, -1], "a finite number >= 0"),
    ((0, None, True, False), [1e-300, 5], [0, 0.0, -1], "a finite number > 0"),
    ((None, 1, False, False), [1, 1.0, -1e300, 0.999], [1.0000001, 2], "a finite number <= 1"),
    ((None, 1, False, True), [0.9999999, -5], [1, 1.0, 2], "a finite number < 1"),
    ((0, 1, False, False), [0, 0.5, 1], [-1e-12, 1 + 1e-12], "a number in [0, 1]"),
    ((0, 1, True, False), [1e-12, 1], [0, 1.5], "a number in (0, 1]"),
    ((0, 1, False, True), [0, 1 - 1e-12], [1, -0.5], "a number in [0, 1)"),
    ((0, 1, True, True), [1e-12, 0.5, 1 - 1e-12], [0, 1], "a number in (0, 1)"),
    ((None, None, False, False), [-1e300, 0, 1e300], [], "a finite number"),
]
BOUND_IDS = ["low", "low-open", "high", "high-open", "closed", "left-open", "right-open", "open", "none"]


@pytest.mark.parametrize("bounds,accepted,refused,what", BOUNDS, ids=BOUND_IDS)
def test_check_real_bounds(bounds, accepted, refused, what):
    low, high, low_open, high_open = bounds
    for x in accepted:
        assert v.check_real("p", x, low, high, low_open=low_open, high_open=high_open) == float(x)
    for x in refused:
        msg = _refused("p", v.check_real, "p", x, low, high, low_open=low_open, high_open=high_open)
        assert msg == f"p must be {what}, got {x!r}"


@pytest.mark.parametrize("bounds,accepted,refused,what", BOUNDS, ids=BOUND_IDS)
@pytest.mark.parametrize(
    "value", [float("nan"), float("inf"), float("-inf"), np.float32("nan"), np.float64("inf")], ids=repr
)
def test_check_real_refuses_nan_and_infinity_whatever_the_bounds(value, bounds, accepted, refused, what):
    low, high, low_open, high_open = bounds
    msg = _refused("lr", v.check_real, "lr", value, low, high, low_open=low_open, high_open=high_open)
    assert msg == f"lr must be {what}, got {value!r}"


@pytest.mark.parametrize(
    "value",
    [True, False, np.True_, np.False_, "0.1", None, [0.1], 1j, np.complex128(1), Decimal("0.1")],
    ids=lambda x: f"{type(x).__name__}-{x!r}",
)
def test_check_real_refuses_bools_and_non_reals(value):
    msg = _refused("momentum", v.check_real, "momentum", value, 0, 1)
    assert msg == f"momentum must be a number in [0, 1], got {value!r}"


# -- check_bool --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", [True, False, np.True_, np.False_], ids=repr)
def test_check_bool_accepts_python_and_numpy_bools(value):
    out = v.check_bool("shuffle", value)
    assert type(out) is bool and out == bool(value)


@pytest.mark.parametrize("value", [0, 1, np.int64(1), 1.0, "True", "false", None, [True]], ids=repr)
def test_check_bool_refuses_numbers_and_strings(value):
    msg = _refused("shuffle", v.check_bool, "shuffle", value)
    assert msg == f"shuffle must be True or False, got {value!r}"


# -- check_choice ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["min", "max", np.str_("auto"), None], ids=repr)
def test_check_choice_returns_a_valid_choice_as_is(value):
    assert v.check_choice("mode", value, ("auto", "min", "max", None)) is value


@pytest.mark.parametrize("value", ["MIN", "mi", "", None, 0, b"min"], ids=repr)
def test_check_choice_refuses_other_values_listing_the_choices(value):
    msg = _refused("mode", v.check_choice, "mode", value, ("auto", "min", "max"))
    assert msg == f"mode must be one of 'auto', 'min', 'max', got {value!r}"


# -- check_callable / check_instance -----------------------------------------------------------------------
class _CallMe:
    def __call__(self):
        return 1


@pytest.mark.parametrize(
    "value",
    [len, print, lambda x: x, _CallMe, _CallMe(), np.exp, str.upper],
    ids=["builtin", "print", "lambda", "class", "instance", "ufunc", "method"],
)
def test_check_callable_returns_a_callable_as_is(value):
    assert v.check_callable("augment", value) is value


@pytest.mark.parametrize("value", [3, "relu", None, [len]], ids=repr)
def test_check_callable_refuses_non_callables(value):
    assert _refused("augment", v.check_callable, "augment", value) == f"augment must be callable, got {value!r}"
    msg = _refused("augment", v.check_callable, "augment", value, "a function f(X, rng)")
    assert msg == f"augment must be a function f(X, rng), got {value!r}"


@pytest.mark.parametrize(
    "value,cls",
    [(3, int), (3.5, (int, float)), (np.ones(2), np.ndarray), ({}, dict), (True, int)],
    ids=["int", "tuple", "ndarray", "dict", "bool-is-int"],
)
def test_check_instance_returns_an_instance_as_is(value, cls):
    assert v.check_instance("x", value, cls, "whatever") is value


@pytest.mark.parametrize(
    "value,cls,what",
    [("3", int, "an int"), (None, (int, float), "a number"), ([1], dict, "a dict or None"), (3, str, "a str")],
    ids=["str", "None", "list", "int"],
)
def test_check_instance_refuses_other_types_with_the_given_description(value, cls, what):
    msg = _refused("history", v.check_instance, "history", value, cls, what)
    assert msg == f"history must be {what}, got {value!r}"


# -- check_path --------------------------------------------------------------------------------------------
class _PathLike:
    def __init__(self, p):
        self.p = p

    def __fspath__(self):
        return self.p


@pytest.mark.parametrize(
    "value",
    ["model.npz", "a/b/c.npz", pathlib.Path("d") / "m.npz", pathlib.PurePosixPath("x"), _PathLike("custom.npz")],
    ids=["str", "nested", "Path", "PurePath", "PathLike"],
)
def test_check_path_returns_the_path_as_str(value):
    out = v.check_path("path", value)
    assert type(out) is str and out == os.fspath(value)


@pytest.mark.parametrize(
    "value",
    ["", _PathLike(""), None, 3, b"model.npz", ["a"]],
    ids=["empty", "empty-PathLike", "None", "int", "bytes", "list"],
)
def test_check_path_refuses_empty_and_non_paths(value):
    msg = _refused("path", v.check_path, "path", value)
    assert msg == f"path must be a non-empty str or path-like, got {value!r}"


# -- check_seed / as_rng -----------------------------------------------------------------------------------
@pytest.mark.parametrize("value", [None, 0, 42, 2**40, np.int64(7), np.uint32(3)], ids=repr)
def test_check_seed_accepts_none_and_ints_at_least_zero(value):
    out = v.check_seed("seed", value)
    if value is None:
        assert out is None
    else:
        assert type(out) is int and out == int(value)


@pytest.mark.parametrize(
    "value",
    [-1, True, np.False_, 1.5, 1.0, "1", np.random.default_rng(0)],
    ids=["negative", "True", "np.False_", "float", "integral-float", "str", "Generator"],
)
def test_check_seed_refuses_everything_else(value):
    _refused("seed", v.check_seed, "seed", value)


def test_as_rng_from_none_and_int():
    assert isinstance(v.as_rng(None), np.random.Generator)
    for seed in (0, 123, np.int64(123)):
        g = v.as_rng(seed)
        assert isinstance(g, np.random.Generator)
        # oracle: numpy's own seeding
        np.testing.assert_array_equal(g.random(5), np.random.default_rng(int(seed)).random(5))


def test_as_rng_returns_a_generator_as_is(rng):
    assert v.as_rng(rng) is rng
    assert v.as_rng(rng, name="shuffle_seed") is rng


@pytest.mark.parametrize(
    "value",
    [-1, "1", 1.5, 2.0, True, np.True_, np.random.RandomState(0), [1]],
    ids=["negative", "str", "float", "integral-float", "True", "np.True_", "RandomState", "list"],
)
@pytest.mark.parametrize("name", ["seed", "random_state"])
def test_as_rng_refuses_other_seeds(value, name):
    msg = _refused(name, v.as_rng, value, name)
    assert msg.startswith(f"{name} must be None, an int >= 0 or a numpy Generator, got ")


def test_as_rng_message_wording():
    msg = _refused("seed", v.as_rng, -1)
    assert msg == "seed must be None, an int >= 0 or a numpy Generator, got -1"


# -- check_X -----------------------------------------------------------------------------------------------
def test_check_X_does_not_copy_a_c_contiguous_array_of_the_dtype(rng, dtype):
    X = rng.normal(size=(5, 3)).astype(dtype)
    out = v.check_X(X, dtype=dtype)
    assert np.shares_memory(out, X) and out.dtype == dtype and out.flags.c_contiguous
    assert np.shares_memory(v.check_X(X, n_features=3, dtype=dtype), X)


@pytest.mark.parametrize(
    "make",
    [
        lambda A: np.asfortranarray(A),
        lambda A: A.astype(np.float32) if A.dtype == np.float64 else A.astype(np.float64),
        lambda A: np.repeat(A, 2, axis=1)[:, ::2],  # a strided view
        lambda A: A.tolist(),
        lambda A: tuple(map(tuple, A.tolist())),
    ],
    ids=["fortran", "other-dtype", "strided", "list", "tuples"],
)
def test_check_X_converts_to_a_c_contiguous_array_of_the_dtype(make, rng, dtype):
    A = rng.normal(size=(4, 3)).astype(dtype)
    X = make(A)
    snapshot = np.array(X, copy=True)
    out = v.check_X(X, dtype=dtype)
    assert isinstance(out, np.ndarray) and type(out) is np.ndarray
    assert out.dtype == dtype and out.flags.c_contiguous and out.shape == (4, 3)
    # oracle: numpy's own conversion of the input to the dtype
    np.testing.assert_array_equal(out, np.asarray(X).astype(dtype))
    if isinstance(X, np.ndarray):
        assert not np.shares_memory(out, X)
        np.testing.assert_array_equal(X, snapshot)  # the input is left alone


@pytest.mark.parametrize(
    "X",
    [np.array([[1, 2], [3, 4]]), np.array([[True, False]]), np.array([[7]], dtype=np.uint8)],
    ids=["int", "bool", "uint8"],
)
def test_check_X_converts_ints_and_bools(X, dtype):
    out = v.check_X(X, dtype=dtype)
    assert out.dtype == dtype
    np.testing.assert_array_equal(out, X.astype(dtype))


@pytest.mark.parametrize(
    "X",
    [
        lambda: scipy.sparse.csr_matrix(np.eye(3)),
        lambda: scipy.sparse.csc_matrix(np.eye(3)),
        lambda: scipy.sparse.coo_matrix(np.eye(3)),
        lambda: scipy.sparse.csr_array(np.eye(3)),
        lambda: scipy.sparse.csc_matrix(np.eye(3, dtype=np.int64)),
    ],
    ids=["csr_matrix", "csc_matrix", "coo_matrix", "csr_array", "csc_int"],
)
def test_check_X_takes_sparse_input_as_csr(X, dtype):
    """A sparse X stays sparse: CSR of the model's dtype (CSR of that dtype as it is; CSC and
    the other formats converted once, which copies the stored values only)."""
    X = X()
    out = v.check_X(X, 3, dtype=dtype)
    assert scipy.sparse.issparse(out) and out.format == "csr" and out.dtype == dtype
    np.testing.assert_array_equal(out.toarray(), np.eye(3))
    if X.format == "csr" and X.dtype == dtype:
        assert out is X


@pytest.mark.parametrize("name", ["X", "validation_data X"])
def test_check_X_refuses_bad_sparse_input_naming_it(name):
    A = scipy.sparse.csr_matrix(np.eye(3))
    A.data[1] = np.nan
    assert _refused(name, v.check_X, A, name=name) == f"{name} must be finite, got NaN or infinity"
    B = scipy.sparse.csr_matrix(np.eye(3) * 1e300)
    assert _refused(name, v.check_X, B, dtype=np.float32, name=name).startswith(
        f"{name} must be representable in float32 (|x| <= 3.403e+38), got values up to 1e+300"
    )
    msg = _refused(name, v.check_X, scipy.sparse.csr_matrix(np.eye(3)), 4, name=name)
    assert msg == f"{name} must be of shape (n_samples, 4) (the model has 4 inputs), got shape (3, 3)"
    assert _refused(name, v.check_X, scipy.sparse.csr_matrix((0, 3)), name=name).startswith(f"{name} must be non-empty")
    C = scipy.sparse.csr_matrix(np.eye(3) * 1j)
    assert _refused(name, v.check_X, C, name=name) == (
        f"{name} must be a sparse matrix of real numbers, got a csr_matrix of dtype complex128 "
        f"(Complex data not supported)"
    )


@pytest.mark.parametrize(
    "X,dtype_shown",
    [
        (np.array([["a", "b"], ["c", "d"]]), "<U1"),
        (np.array([["1.0", "2.0"]]), "<U3"),
        (np.ones((2, 2), dtype=complex), "complex128"),
        (np.ones((2, 2), dtype=np.complex64), "complex64"),
        (np.array([[b"x"]]), "|S1"),
        (np.array([["2024-01-01"]], dtype="datetime64[D]"), "datetime64[D]"),
    ],
    ids=["str", "numeric-str", "complex128", "complex64", "bytes", "datetime"],
)
def test_check_X_refuses_non_real_data(X, dtype_shown):
    msg = _refused("X", v.check_X, X)
    assert msg == f"X must be an array of real numbers, got dtype {dtype_shown}"


@pytest.mark.parametrize(
    "X",
    [[["a", "b"], ["c", "d"]], [[1.0, 2.0], [3.0]], [[1 + 2j, 0]]],
    ids=["str-list", "ragged", "complex-list"],
)
def test_check_X_refuses_what_scikit_learn_refuses_naming_its_reason(X):
    """Inputs other than NumPy arrays of a real dtype go through scikit-learn's check_array."""
    from sklearn.utils import check_array

    with pytest.raises((TypeError, ValueError)) as sk:
        check_array(X, dtype="numeric", ensure_all_finite=False)
    msg = _refused("X", v.check_X, X)
    assert msg.startswith(f"X must be an array of real numbers, got {v._show(X)} (") and str(sk.value) in msg


def test_an_object_array_with_none_is_nan_for_scikit_learn_and_refused_as_such():
    assert _refused("X", v.check_X, np.array([[1.0, None]], dtype=object)) == "X must be finite, got NaN or infinity"


def test_as_numeric_array_takes_what_scikit_learn_takes():
    import pandas as pd

    A = np.ones((2, 3), dtype=np.int8)
    assert v.as_numeric_array(A, "X") is A  # an array of a real dtype as it is
    frame = pd.DataFrame({"a": pd.array([1, 2], dtype="Int64"), "b": [1.5, 2.0], "c": [True, False]})
    np.testing.assert_array_equal(v.as_numeric_array(frame, "X"), [[1.0, 1.5, 1.0], [2.0, 2.0, 0.0]])
    np.testing.assert_array_equal(v.as_numeric_array(pd.Series([1, 2], dtype="Int64"), "y"), [1.0, 2.0])
    assert v.as_numeric_array(np.array([[1, 2.5]], dtype=object), "X").dtype == np.float64
    np.testing.assert_array_equal(v.as_numeric_array([[1, 2], [3, 4]], "X"), [[1, 2], [3, 4]])


@pytest.mark.parametrize("name", ["X", "validation_data X"])
def test_check_X_refuses_1d_with_the_reshape_hint(name):
    msg = _refused(name, v.check_X, np.arange(3.0), name=name)
    assert msg == (
        f"{name} must be 2-D (n_samples, n_features) (for a single feature use {name}.reshape(-1, 1)), got shape (3,)"
    )


@pytest.mark.parametrize(
    "X,shape",
    [(np.ones((2, 2, 2)), "(2, 2, 2)"), (np.float64(1.0), "()"), (5, "()"), (np.ones((1, 1, 1, 1)), "(1, 1, 1, 1)")],
    ids=["3-D", "0-D", "scalar", "4-D"],
)
def test_check_X_refuses_other_ranks_without_the_hint(X, shape):
    msg = _refused("X", v.check_X, X)
    assert msg == f"X must be 2-D (n_samples, n_features), got shape {shape}"


@pytest.mark.parametrize(
    "X", [np.ones((0, 3)), np.ones((0, 0)), np.ones((0, 1), dtype=np.float32)], ids=["0x3", "0x0", "0x1"]
)
def test_check_X_refuses_no_rows(X):
    msg = _refused("X", v.check_X, X)
    assert msg == f"X must be non-empty (at least one sample), got shape {X.shape}"


@pytest.mark.parametrize("width,n_features", [(3, 4), (4, 3), (1, 2)])
def test_check_X_refuses_the_wrong_width(width, n_features):
    msg = _refused("X", v.check_X, np.ones((2, width)), n_features)
    assert msg == (
        f"X must be of shape (n_samples, {n_features}) (the model has {n_features} inputs), got shape (2, {width})"
    )


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf], ids=["nan", "+inf", "-inf"])
@pytest.mark.parametrize("position", [(0, 0), (3, 1), (6, 2)])
@pytest.mark.parametrize("name", ["X", "validation_data X"])
def test_check_X_refuses_nan_and_infinity(bad, position, name, rng, dtype):
    X = rng.normal(size=(7, 3)).astype(dtype)
    X[position] = bad
    msg = _refused(name, v.check_X, X, dtype=dtype, name=name)
    assert msg == f"{name} must be finite, got NaN or infinity"


@pytest.mark.parametrize("big", [1e30, -1e30, 3e38, np.finfo(np.float32).max, np.finfo(np.float32).min])
def test_check_X_accepts_finite_float32_values_whose_squares_overflow(big, rng):
    X = rng.normal(size=(5, 4)).astype(np.float32)
    X[2, 1] = big
    with np.errstate(over="ignore"):  # the premise: the value is finite, its square is not (in float32)
        assert np.isfinite(np.float32(big)) and not np.isfinite(np.float32(big) * np.float32(big))
    out = v.check_X(X, dtype=np.float32)
    assert np.shares_memory(out, X) and out[2, 1] == np.float32(big)


@pytest.mark.parametrize("big", [1e200, -1e300, np.finfo(np.float64).max])
def test_check_X_accepts_finite_float64_values_whose_squares_overflow(big, rng):
    X = rng.normal(size=(3, 3))
    X[:, 0] = big
    np.testing.assert_array_equal(v.check_X(X), X)


@pytest.mark.parametrize("trial", range(30))
def test_check_X_finiteness_agrees_with_the_reference_formula(trial, dtype):
    # random mixes of ordinary, huge and non-finite entries: accepted exactly when np.isfinite(A).all()
    g = np.random.default_rng(trial)
    info = np.finfo(dtype)
    pool = np.array(
        [
            0.0,
            1.0,
            -2.5,
            float(info.max),
            float(info.min),
            float(info.max) / 3,
            float(info.tiny),
            np.nan,
            np.inf,
            -np.inf,
        ],
        dtype=dtype,
    )
    p = np.r_[np.full(7, 0.97 / 7), np.full(3, 0.01)]
    A = g.choice(pool, size=(int(g.integers(1, 9)), int(g.integers(1, 9))), p=p / p.sum()).astype(dtype)
    if np.isfinite(A).all():
        assert np.shares_memory(v.check_X(A, dtype=dtype), A)
    else:
        assert _refused("X", v.check_X, A, dtype=dtype) == "X must be finite, got NaN or infinity"


# -- check_sample_weight -----------------------------------------------------------------------------------
def test_check_sample_weight_none_passes_through():
    assert v.check_sample_weight(None, 5, np.float64) is None


@pytest.mark.parametrize(
    "w",
    [[1, 2, 0.5], np.array([0, 0, 3]), (True, True, False), np.array([1e-3, 1e3, 0.0], dtype=np.float32)],
    ids=["list", "int-array", "bools", "float32"],
)
def test_check_sample_weight_returns_a_1d_array_of_the_dtype(w, dtype):
    out = v.check_sample_weight(w, 3, dtype)
    assert isinstance(out, np.ndarray) and out.dtype == dtype and out.shape == (3,)
    np.testing.assert_array_equal(out, np.asarray(w, dtype=np.float64).astype(dtype))


@pytest.mark.parametrize(
    "w,shape",
    [([1.0, 2.0], "(2,)"), (np.ones((3, 1)), "(3, 1)"), (np.ones((1, 3)), "(1, 3)"), (1.0, "()"), ([], "(0,)")],
    ids=["short", "column", "row", "scalar", "empty"],
)
@pytest.mark.parametrize("name", ["sample_weight", "validation_data sample_weight"])
def test_check_sample_weight_refuses_the_wrong_shape(w, shape, name):
    msg = _refused(name, v.check_sample_weight, w, 3, np.float64, name=name)
    assert msg == f"{name} must be of shape (3,), one weight per sample, got shape {shape}"


@pytest.mark.parametrize(
    "w",
    [[1.0, -1.0, 1.0], [1.0, np.nan, 1.0], [1.0, np.inf, 1.0], [0.0, 0.0, 0.0], np.zeros(3), [-0.5, -0.5, -0.5]],
    ids=["negative", "nan", "inf", "all-zero", "all-zero-array", "all-negative"],
)
def test_check_sample_weight_refuses_negative_nonfinite_and_all_zero(w, dtype):
    msg = _refused("sample_weight", v.check_sample_weight, w, 3, dtype)
    assert msg.startswith(f"sample_weight must be finite in {np.dtype(dtype).name} and >= 0, and not all zero, got ")


@pytest.mark.parametrize("w", [[1e39, 1.0, 1.0], [1e-50, 0.0, 0.0]], ids=["overflows", "underflows-to-zero"])
def test_check_sample_weight_judges_the_weights_training_will_use(w):
    """In float32 1e39 is infinite and 1e-50 is 0: checked after the conversion, both are refused
    (in float64 they are fine)."""
    msg = _refused("sample_weight", v.check_sample_weight, w, 3, np.float32)
    got = "1e+39 at index 0" if w[0] > 1 else "weights that are all 0 in float32"
    assert msg == f"sample_weight must be finite in float32 and >= 0, and not all zero, got {got}"
    assert np.array_equal(v.check_sample_weight(w, 3, np.float64), np.asarray(w, dtype=np.float64))


def test_check_sample_weight_refuses_complex_weights():
    _refused("sample_weight", v.check_sample_weight, np.array([1 + 5j, 1.0, 1.0]), 3, np.float64)


def test_check_real_refuses_an_int_beyond_any_float():
    assert _refused("lr", v.check_real, "lr", 10**400, 0).endswith(", got " + repr(10**400)[:77] + "...")


def test_check_X_names_float64_values_that_overflow_float32():
    X = np.array([[1e39, 0.0], [1.0, 2.0]])
    msg = _refused("X", v.check_X, X, 2, np.float32)
    assert msg == "X must be representable in float32 (|x| <= 3.403e+38), got values up to 1e+39"
    assert v.check_X(X, 2, np.float64)[0, 0] == 1e39


@pytest.mark.parametrize("X", [np.array([[1, 2]], dtype="timedelta64[s]"), np.array([[1, 2]], dtype="datetime64[s]")])
def test_check_X_refuses_times(X):
    assert _refused("X", v.check_X, X).startswith("X must be an array of real numbers, got dtype ")


def test_check_choice_compares_with_equality_but_never_takes_a_bool_for_a_number():
    assert v.check_choice("k", np.int64(1), (1, 2)) == 1 and v.check_choice("k", np.str_("a"), ("a",)) == "a"
    _refused("k", v.check_choice, "k", True, (1, 2))
    _refused("k", v.check_choice, "k", np.array([1, 2]), (1, 2))


def test_lookup_of_functions_refuses_arguments():
    _refused("metric", v.lookup, "metric", {"m": max}, "m", nonsense=1)
    _refused("metric", v.lookup, "metric", {"m": max}, min, nonsense=1)


def test_check_path_refuses_bytes_paths():
    class BytesPath:
        def __fspath__(self):
            return b"/tmp/x"

    _refused("path", v.check_path, "path", BytesPath())


@pytest.mark.parametrize(
    "w", ["abc", [1.0, None, 2.0], [1.0, "x", 2.0], {"a": 1}], ids=["str", "None", "str-entry", "dict"]
)
def test_check_sample_weight_refuses_non_numbers(w):
    msg = _refused("sample_weight", v.check_sample_weight, w, 3, np.float64)
    assert msg.startswith("sample_weight must be ")


# -- fail ----------------------------------------------------------------------------------------------------
def test_fail_returns_the_error_to_raise():
    e = v.fail("lr", "a number >= 0", -1)
    assert type(e) is ArgumentError and isinstance(e, ValueError) and isinstance(e, TypeError)
    assert str(e) == "lr must be a number >= 0, got -1"
    assert str(v.fail("x", "something")) == "x must be something, got None"
    assert str(v.fail("x", "something", "ab")) == "x must be something, got 'ab'"


def test_fail_got_replaces_the_shown_value():
    assert str(v.fail("X", "2-D", got="shape (3,)")) == "X must be 2-D, got shape (3,)"
    assert str(v.fail("X", "2-D", np.ones(3), got="shape (3,)")) == "X must be 2-D, got shape (3,)"
    long = "y" * 500
    assert str(v.fail("X", "2-D", got=long)) == f"X must be 2-D, got {long}"  # got is never shortened


@pytest.mark.parametrize("n", [0, 10, 78, 79, 80, 200, 5000])
def test_fail_shortens_a_long_value_to_80_characters(n):
    value = "x" * n
    shown = str(v.fail("name", "short", value)).removeprefix("name must be short, got ")
    r = repr(value)
    if len(r) <= 80:
        assert shown == r
    else:
        assert shown == r[:77] + "..." and len(shown) == 80


def test_fail_shortens_long_reprs_of_any_type():
    value = list(range(100))
    shown = str(v.fail("a", "b", value)).removeprefix("a must be b, got ")
    assert shown == repr(value)[:77] + "..."


@pytest.mark.parametrize(
    "A",
    [np.arange(7), np.zeros((2, 4), dtype=np.float32), np.ones((3, 3, 3), dtype=bool), np.arange(1000.0)],
    ids=["7", "2x4", "3x3x3", "1000"],
)
def test_fail_describes_an_array_of_more_than_6_entries_by_shape_and_dtype(A):
    assert str(v.fail("w", "ok", A)) == f"w must be ok, got an array of shape {A.shape} and dtype {A.dtype}"


@pytest.mark.parametrize(
    "A", [np.arange(6), np.zeros((2, 3)), np.array([1.5]), np.zeros((0, 4))], ids=["6", "2x3", "1", "empty"]
)
def test_fail_shows_an_array_of_at_most_6_entries(A):
    assert str(v.fail("w", "ok", A)) == f"w must be ok, got {A!r}"


# -- lookup ------------------------------------------------------------------------------------------------
class Loss:
    def __init__(self, scale=1.0):
        self.scale = scale


class MSE(Loss):
    pass


class BCE(Loss):
    pass


class Other:
    pass


LOSSES = {"mse": MSE, "bce": BCE, "abs": Loss}  # not in sorted order on purpose


def test_lookup_returns_an_instance_as_is():
    loss = MSE(2.0)
    assert v.lookup("loss", LOSSES, loss, base=Loss) is loss


def test_lookup_refuses_an_instance_with_kwargs():
    loss = MSE()
    msg = _refused("loss", v.lookup, "loss", LOSSES, loss, base=Loss, scale=3.0, beta=1)
    assert msg == f"loss must be a name or class when arguments ['beta', 'scale'] are given, got {loss!r}"


@pytest.mark.parametrize("cls", [MSE, BCE, Loss, type("Custom", (MSE,), {})], ids=["MSE", "BCE", "base", "custom"])
def test_lookup_builds_a_subclass_with_kwargs(cls):
    out = v.lookup("loss", LOSSES, cls, base=Loss, scale=0.5)
    assert type(out) is cls and out.scale == 0.5
    assert type(v.lookup("loss", LOSSES, cls, base=Loss)) is cls


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_lookup_builds_a_name_with_kwargs(name):
    out = v.lookup("loss", LOSSES, name, base=Loss, scale=4.0)
    assert type(out) is LOSSES[name] and out.scale == 4.0
    default = v.lookup("loss", LOSSES, name, base=Loss)
    assert type(default) is LOSSES[name] and default.scale == 1.0


def _metric(P, y):
    return 0.0


METRICS = {"zeta": np.mean, "alpha": np.max, "mid": _metric}


@pytest.mark.parametrize(
    "f", [_metric, np.median, lambda P, y: 1.0, MSE], ids=["function", "numpy-function", "lambda", "class"]
)
def test_lookup_without_base_returns_a_callable_as_is(f):
    assert v.lookup("metric", METRICS, f) is f


@pytest.mark.parametrize("name", sorted(METRICS))
def test_lookup_without_base_returns_the_entry_of_a_name(name):
    assert v.lookup("metric", METRICS, name) is METRICS[name]


@pytest.mark.parametrize("value", ["nope", "MSE", "", 3, None, Other, Other(), 1.5], ids=repr)
def test_lookup_refuses_unknown_values_listing_the_sorted_names(value):
    msg = _refused("loss", v.lookup, "loss", LOSSES, value, base=Loss)
    assert msg == f"loss must be a Loss or one of ['abs', 'bce', 'mse'], got {value!r}"


@pytest.mark.parametrize("value", ["nope", "Zeta", 3, None], ids=repr)
def test_lookup_without_base_refuses_unknown_values_listing_the_sorted_names(value):
    msg = _refused("metric", v.lookup, "metric", METRICS, value)
    assert msg == f"metric must be a callable or one of ['alpha', 'mid', 'zeta'], got {value!r}"


@pytest.mark.parametrize(
    "base_name,article",
    [
        ("Optimizer", "an"),
        ("Activation", "an"),
        ("Initializer", "an"),
        ("Estimator", "an"),
        ("Updater", "an"),
        ("optimizer", "an"),
        ("Loss", "a"),
        ("Schedule", "a"),
        ("Regularizer", "a"),
        ("Base", "a"),
        ("Yield", "a"),
    ],
)
def test_lookup_message_uses_the_right_article(base_name, article):
    base = type(base_name, (), {})
    msg = _refused("kind", v.lookup, "kind", {"x": base}, "y", base=base)
    assert msg == f"kind must be {article} {base_name} or one of ['x'], got 'y'"


def test_check_memory_refuses_what_exceeds_the_physical_memory(monkeypatch):
    monkeypatch.setattr(v, "_physical_memory", lambda: 2.0**30)  # a 1 GiB machine
    assert v.check_memory("n", 2**27, 8, "a data set") == 2**27  # exactly 1 GiB
    with pytest.raises(ArgumentError, match=r"^n must be small enough for this machine's 1.0 GiB of memory, got a "):
        v.check_memory("n", 2**27 + 1, 8, "a data set")


def test_as_finite_names_what_is_wrong():
    a = np.array([[1.0, 2.0]])
    assert v.as_finite(a, np.float64, "y") is a  # no copy when there is nothing to do
    assert v.as_finite(a, np.float32, "y").dtype == np.float32
    with pytest.raises(
        ArgumentError, match=r"^y must be representable in float32 \(\|x\| <= 3.403e\+38\), got values up to 1e\+300"
    ):
        v.as_finite(np.array([1e300]), np.float32, "y")
    with pytest.raises(ArgumentError, match=r"^y must be finite, got NaN or infinity"):
        v.as_finite(np.array([np.nan]), np.float64, "y")


def test_unexpected_arguments_points_to_where_they_belong():
    e = v.unexpected_arguments("f", {"lr": 1}, ["epochs", "loss"], {"lr": "given to the optimizer"})
    assert str(e) == "lr must be given to the optimizer, got 1"
    assert str(v.unexpected_arguments("f", {"epoch": 2}, ["epochs", "loss"])) == (
        "epoch must be one of f's arguments (did you mean epochs=?), got 2"
    )
    assert (
        str(v.unexpected_arguments("f", {"zz": 2}, ["epochs", "loss"]))
        == "zz must be one of f's arguments: epochs, loss, got 2"
    )


def test_check_list_takes_iterables_but_strings_dicts_and_scalars():
    assert v.check_list("a", (1, 2), "a list") == [1, 2]
    assert v.check_list("a", np.arange(2), "a list") == [0, 1]
    assert v.check_list("a", (i for i in range(2)), "a list") == [0, 1]
    for bad in ("ab", b"ab", {"a": 1}, np.array(0.0), 3, None):
        with pytest.raises(ArgumentError, match=r"^a must be a list of things, got "):
            v.check_list("a", bad, "a list of things")


def test_check_arguments_names_unknown_and_missing_ones():
    def f(a, b=1, *, c=2):
        pass

    assert v.check_arguments("kw", {"a": 1, "c": 3}, f) == {"a": 1, "c": 3}
    with pytest.raises(ArgumentError, match=r"^kw must be arguments of f \(a, b, c\), a required, got unknown \['d'\]"):
        v.check_arguments("kw", {"a": 1, "d": 3}, f)
    with pytest.raises(
        ArgumentError, match=r"^kw must be arguments of f \(a, b, c\), a required, got none for \['a'\]"
    ):
        v.check_arguments("kw", {"b": 2}, f)
    assert v.check_arguments("kw", {"b": 2}, f, partial=True) == {"b": 2}
