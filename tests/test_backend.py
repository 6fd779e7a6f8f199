"""Tests for mlplab.backend: the BLAS-backed reductions and products against NumPy's own."""

import numpy as np
import pytest

from mlplab import backend


@pytest.mark.parametrize("k", [1, 2, 3, 8, 9, 40])
def test_row_max_is_numpys_max(k, dtype, rng):
    A = rng.normal(size=(7, k)).astype(dtype)
    np.testing.assert_array_equal(backend.row_max(A), A.max(axis=1))


def test_row_max_propagates_nan():
    A = np.array([[1.0, np.nan, 0.0], [np.nan, 2.0, 3.0], [4.0, 5.0, np.nan]])
    assert np.isnan(backend.row_max(A)).all()


@pytest.mark.parametrize("k", [1, 2, 5, 64])
def test_row_sum_is_numpys_sum(k, dtype, rng):
    A = rng.normal(size=(9, k)).astype(dtype)
    # a sum of k terms in floating point is off by at most k eps sum_j |a_j| (Higham, Accuracy
    # and Stability of Numerical Algorithms, 4.2), whatever the order BLAS or NumPy adds in:
    # a relative bound on the result fails where the terms cancel
    exact = A.astype(np.float64).sum(axis=1)
    bound = k * np.finfo(dtype).eps * np.abs(A).astype(np.float64).sum(axis=1)
    assert (np.abs(backend.row_sum(A) - exact) <= bound).all()
    assert (np.abs(A.sum(axis=1) - exact) <= bound).all()  # the bound holds NumPy's own sum too


@pytest.mark.parametrize("n", [1, 33, 5000])
def test_col_sum_is_numpys_sum(n, dtype, rng):
    A = rng.normal(size=(n, 6)).astype(dtype)
    out = np.empty(6, dtype=dtype)
    assert backend.col_sum(A, out) is out
    np.testing.assert_allclose(out, A.sum(axis=0), rtol=1e-4 if dtype == np.float32 else 1e-12, atol=1e-5)


@pytest.mark.parametrize(
    "a_dtype, b_dtype, out_dtype",
    [
        (np.float32, np.float32, np.float32),
        (np.float64, np.float64, np.float64),
        (np.float64, np.float32, np.float32),
        (np.float32, np.float64, np.float64),
    ],
)
def test_matmul_writes_the_product_into_out(a_dtype, b_dtype, out_dtype, rng):
    A, B = rng.normal(size=(5, 4)), rng.normal(size=(4, 3))
    out = np.empty((5, 3), dtype=out_dtype)
    r = backend.matmul(A.astype(a_dtype), B.astype(b_dtype), out)
    assert r is out
    np.testing.assert_allclose(out, A @ B, rtol=1e-5)
    # a transposed (F-ordered) operand, as in dW = X^T dY
    out2 = np.empty((4, 3), dtype=out_dtype)
    C = rng.normal(size=(5, 3))
    backend.matmul(A.astype(a_dtype).T, C.astype(b_dtype), out2)
    np.testing.assert_allclose(out2, A.T @ C, rtol=1e-5)


@pytest.mark.parametrize("transposed", [False, True])
def test_matmul_with_an_inner_dimension_of_one_is_the_outer_product(transposed, dtype, rng):
    """dX = dY W^T of a one-unit layer: (n, 1) @ (1, k), each entry a single product, so exactly A @ B."""
    A = rng.normal(size=(7, 1)).astype(dtype)
    B = rng.normal(size=(5, 1)).astype(dtype).T if transposed else rng.normal(size=(1, 5)).astype(dtype)
    out = np.empty((7, 5), dtype=dtype)
    assert backend.matmul(A, B, out) is out
    np.testing.assert_array_equal(out, A @ B)


def test_zero_is_a_read_only_0d_zero_of_each_dtype(dtype):
    z = backend.ZERO[np.dtype(dtype)]
    assert z.shape == () and z.dtype == dtype and z == 0
    with pytest.raises(ValueError):
        z[()] = 1.0


def test_dot_and_vdot_are_numpys(rng):
    A, B = rng.normal(size=(3, 4)), rng.normal(size=(4, 2))
    out = np.empty((3, 2))
    assert backend.dot(A, B, out) is out
    np.testing.assert_allclose(out, A @ B, rtol=1e-14)
    assert backend.vdot(A, A) == pytest.approx(float((A * A).sum()), rel=1e-14)


@pytest.mark.parametrize("n", [1, 7, 8192, 8193, 100_003])
def test_axpy_updates_y_in_place(n, dtype, rng):
    # up to AXPY_BLAS_MAX entries through BLAS, above through NumPy and the work buffer
    x, y = rng.normal(size=n).astype(dtype), rng.normal(size=n).astype(dtype)
    expected = y.astype(np.float64) + 0.37 * x.astype(np.float64)
    x0, view = x.copy(), y[:]
    assert backend.axpy(0.37, x, y, np.empty_like(y)) is y
    np.testing.assert_allclose(view, expected, rtol=1e-6 if dtype == np.float32 else 1e-14, atol=1e-7)
    np.testing.assert_array_equal(x, x0)  # x is read only, whatever the route


def test_axpy_may_use_x_as_its_work_buffer(rng):
    x, y = rng.normal(size=20_000), rng.normal(size=20_000)
    expected = y + 3.0 * x
    backend.axpy(3.0, x, y, x)
    np.testing.assert_allclose(y, expected, rtol=1e-14)


@pytest.mark.parametrize(
    "make_y",
    [
        lambda rng: rng.normal(size=(3, 4)),  # 2-D
        lambda rng: rng.normal(size=12)[::2],  # strided
        lambda rng: rng.normal(size=6).astype(np.float16),  # a dtype BLAS lacks
    ],
)
def test_axpy_takes_the_numpy_route_elsewhere(make_y, rng):
    y = make_y(rng)
    x = rng.normal(size=y.shape).astype(y.dtype)
    expected = y + 0.5 * x
    assert backend.axpy(0.5, x, y, np.empty_like(y)) is y
    np.testing.assert_allclose(y, expected, rtol=1e-3)


@pytest.mark.parametrize("n", [5, 20_000])
def test_axpy_refuses_a_read_only_y(n):
    # SciPy's wrapper would write through the flag; NumPy's route raises, on both sides of the limit
    y = np.ones(n)
    y.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        backend.axpy(2.0, np.ones(n), y, np.empty(n))
    assert (y == 1.0).all()


def test_axpy_with_a_float64_x_into_a_float32_y(rng):
    y = rng.normal(size=5).astype(np.float32)
    x = rng.normal(size=5)
    expected = y + np.float32(2.0) * x.astype(np.float32)
    backend.axpy(2.0, x, y, np.empty_like(y))
    np.testing.assert_allclose(y, expected, rtol=1e-6)


def _blas_threads():
    from threadpoolctl import threadpool_info

    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]


@pytest.mark.parametrize("scipy_blas_first", [False, True])
def test_single_blas_thread_limits_and_restores(scipy_blas_first, monkeypatch):
    if scipy_blas_first:  # SciPy's BLAS, loaded by the first axpy, is limited too
        backend.axpy(1.0, np.ones(3), np.ones(3), np.empty(3))
    # the libraries as found now: a test before this one may have loaded one more (torch's MKL)
    monkeypatch.setattr(backend, "_blas_libs", None)
    before = _blas_threads()
    with backend.single_blas_thread():
        assert set(_blas_threads()) == {1}
    assert _blas_threads() == before
    with pytest.raises(RuntimeError):
        with backend.single_blas_thread():
            raise RuntimeError("inside")
    assert _blas_threads() == before


# -- take_rows ----------------------------------------------------------------------------------
@pytest.mark.parametrize("k", [1, 3, 64])
@pytest.mark.parametrize("which", ["permutation", "first half", "scattered", "repeated"])
def test_take_rows_is_fancy_indexing(which, k, dtype, rng):
    A = rng.normal(size=(37, k)).astype(dtype)
    assert A.flags.c_contiguous
    perm = rng.permutation(37)
    idx = {
        "permutation": perm,
        "first half": perm[:18],
        "scattered": np.sort(perm[:9]),
        "repeated": np.array([5, 5, 0, 36, 5]),
    }[which]
    out = np.full((len(idx), k), np.nan, dtype=dtype)  # NaN: every entry must be written
    A0 = A.copy()
    assert backend.take_rows(A, idx, out) is out
    np.testing.assert_array_equal(out, A[idx])  # the reference formula, bit for bit
    np.testing.assert_array_equal(A, A0)  # A is read only


def test_take_rows_into_a_reused_buffer(rng):
    # the training loop gathers every batch into the same out: nothing of the previous batch stays
    A = rng.normal(size=(20, 4))
    out = np.empty((8, 4))
    for _ in range(3):
        idx = rng.permutation(20)[:8]
        backend.take_rows(A, idx, out)
        np.testing.assert_array_equal(out, A[idx])


# -- relu_grad ----------------------------------------------------------------------------------
def _shape_of(size):
    """A 2-D shape (rows, cols) of ``size`` entries, as square as size's divisors allow."""
    rows = max(d for d in range(1, int(np.sqrt(size)) + 1) if size % d == 0)
    return rows, size // rows


@pytest.mark.parametrize("offset", [-1, 0, 1])
def test_relu_grad_is_the_reference_formula_on_both_paths(offset, dtype, rng):
    size = backend.RELU_SIGN_MAX + offset
    shape = _shape_of(size) if offset else (1, size)  # RELU_SIGN_MAX itself: also a single row
    Z = rng.normal(size=shape).astype(dtype)
    Z.flat[::7] = 0.0  # exact zeros in Z, hence in Y, where the derivative is taken as 0
    Y = np.maximum(Z, 0)
    assert (Y == 0).any() and (Y > 0).any()
    dY = rng.normal(size=shape).astype(dtype)
    out = np.full(shape, np.nan, dtype=dtype)
    work = {}
    assert backend.relu_grad(Y, dY, out, work) is out
    assert out.dtype == dtype
    np.testing.assert_array_equal(out, dY * (Y > 0))  # exactly the reference formula
    if size <= backend.RELU_SIGN_MAX:  # sign(Y) * dY: no work array
        assert work == {}
    else:  # a boolean mask of dY's shape, kept in the work dict
        assert list(work) == ["relu_mask"] and work["relu_mask"].shape == shape and work["relu_mask"].dtype == bool


def test_relu_grad_reuses_the_mask_across_calls(rng):
    shape = _shape_of(backend.RELU_SIGN_MAX + 1)
    work, masks = {}, []
    out = np.empty(shape)
    for _ in range(2):
        Y = np.maximum(rng.normal(size=shape), 0)
        dY = rng.normal(size=shape)
        backend.relu_grad(Y, dY, out, work)
        np.testing.assert_array_equal(out, dY * (Y > 0))
        masks.append(work["relu_mask"])
    assert masks[0] is masks[1]
    backend.relu_grad(np.ones((5000, 1)), np.ones((5000, 1)), np.empty((5000, 1)), work)
    assert work["relu_mask"].shape == (5000, 1)  # another shape gets an array of its own


# -- all_finite ---------------------------------------------------------------------------------
@pytest.mark.parametrize("ndim", [1, 2])
@pytest.mark.parametrize("big", [False, True], ids=["normal", "squares-overflow"])
@pytest.mark.parametrize("bad", [None, np.nan, np.inf, -np.inf], ids=["finite", "nan", "+inf", "-inf"])
def test_all_finite_is_isfinite_all(bad, big, ndim, dtype, rng):
    A = rng.normal(size=(6, 5)).astype(dtype)
    if big:  # finite, but sum_i a_i^2 overflows: min and max must decide
        A[...] = 1e30 if dtype == np.float32 else 1e200
        flat = A.reshape(-1)
        assert not np.isfinite(np.vdot(flat, flat))  # the sum of squares in A's dtype is inf
    if bad is not None:
        A[3, 2] = bad
    if ndim == 1:
        A = A.reshape(-1)
    assert backend.all_finite(A) is (bad is None)
    assert backend.all_finite(A) == bool(np.isfinite(A).all())


# -- blas_threads -------------------------------------------------------------------------------
def test_blas_threads_below_the_threshold_is_one_thread(monkeypatch):
    from threadpoolctl import threadpool_limits

    backend.axpy(1.0, np.ones(3), np.ones(3), np.empty(3))  # SciPy's BLAS loaded: it is limited too
    monkeypatch.setattr(backend, "_blas_libs", None)
    # two threads to start from, so that a limit to one is seen even on a one-core machine
    with threadpool_limits(limits=2, user_api="blas"):
        before = _blas_threads()
        assert len(before) >= 1 and max(before) > 1
        with backend.blas_threads(backend.SMALL_MATMUL_FLOPS - 1):
            assert set(_blas_threads()) == {1}
        assert _blas_threads() == before
        with backend.blas_threads(0):
            assert set(_blas_threads()) == {1}
        assert _blas_threads() == before


@pytest.mark.parametrize("factor", [1, 10])
def test_blas_threads_at_or_above_the_threshold_changes_nothing(factor, monkeypatch):
    from threadpoolctl import threadpool_limits

    backend.axpy(1.0, np.ones(3), np.ones(3), np.empty(3))
    monkeypatch.setattr(backend, "_blas_libs", None)
    with threadpool_limits(limits=2, user_api="blas"):
        before = _blas_threads()
        assert max(before) > 1
        with backend.blas_threads(factor * backend.SMALL_MATMUL_FLOPS):
            assert _blas_threads() == before
        assert _blas_threads() == before


# -- as_dtype -----------------------------------------------------------------------------------
@pytest.mark.parametrize("good", ["float32", "float64", np.float32, np.float64, np.dtype("float32")])
def test_as_dtype_accepts_the_two_float_dtypes(good):
    assert backend.as_dtype(good) == np.dtype(good)
    assert isinstance(backend.as_dtype(good), np.dtype)


@pytest.mark.parametrize("bad", ["float16", "int64", None, np.float16, "no-such-dtype", 3.5])
def test_as_dtype_raises_argument_error(bad):
    from mlplab.errors import ArgumentError

    with pytest.raises(ArgumentError, match=r"dtype must be one of \['float32', 'float64'\], got "):
        backend.as_dtype(bad)


@pytest.mark.parametrize("shape", [(7,), (5, 3), (2, 3, 4)])
def test_l2_norm_is_the_reference_formula(shape, dtype, rng):
    A = rng.normal(size=shape).astype(dtype)
    expected = np.sqrt((A.astype(np.float64) ** 2).sum())
    np.testing.assert_allclose(backend.l2_norm(A), expected, rtol=1e-6 if dtype == np.float32 else 1e-14)
    assert backend.l2_norm(A) >= np.abs(A).max()
    big = np.full(4, 1e30, dtype=np.float32)  # squares overflow float32: the bound is inf, never wrong
    assert backend.l2_norm(big) == np.inf


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_matmul_of_a_sparse_matrix_is_the_dense_product(fmt, dtype, rng):
    """The first layer's X W and X^T dY on a SciPy sparse X: the reference formula A @ B on the
    dense form (a product of the same sums of the same nonzeros)."""
    import scipy.sparse

    A = scipy.sparse.random(9, 6, density=0.3, format=fmt, random_state=0, dtype=dtype)
    assert backend.is_sparse(A) and not backend.is_sparse(A.toarray())
    B, C = rng.normal(size=(6, 4)).astype(dtype), rng.normal(size=(9, 4)).astype(dtype)
    out = np.empty((9, 4), dtype=dtype)
    assert backend.matmul(A, B, out) is out
    np.testing.assert_allclose(out, A.toarray() @ B, rtol=1e-6 if dtype == np.float32 else 1e-14)
    out2 = np.empty((6, 4), dtype=dtype)
    backend.matmul(A.T, C, out2)
    np.testing.assert_allclose(out2, A.toarray().T @ C, rtol=1e-5 if dtype == np.float32 else 1e-14, atol=1e-6)
    np.testing.assert_allclose(backend.l2_norm(A), np.sqrt((A.toarray().astype(np.float64) ** 2).sum()), rtol=1e-6)
