"""The one place where mlplab chooses its array library.

Numeric code imports ``xp`` from here and writes ``xp.exp``, ``xp.matmul``...,
never ``numpy`` directly, so a GPU backend (CuPy) can later replace this module's
choices without touching the layers, losses or optimizers.

The kernels that the hot path needs faster than NumPy's generic calls give them live here
too, each with its reference formula and its measured reason: ``matmul`` (``np.dot`` into a
buffer), ``axpy`` (BLAS for small buffers), ``row_sum`` / ``col_sum`` / ``row_max``
(reductions along short axes), ``take_rows`` (the batch gather), ``relu_grad`` (ReLU's
backward pass by size), ``all_finite`` (the finiteness check of inputs) and
``blas_threads`` / ``single_blas_thread`` (BLAS threads for small products).

Sparse inputs: a SciPy sparse matrix X (CSR) reaches only the first Dense layer, whose
products X W and X^T dY ``matmul`` hands to SciPy (sparse times dense); ``l2_norm`` reads its
stored values. Nothing densifies the whole input.
"""

from __future__ import annotations

import contextlib
import sys

import numpy
from scipy.special import expit as _expit  # scipy ships with scikit-learn

from .errors import ArgumentError

xp = numpy

#: dtypes a model may compute in; float32 is the default, float64 on request.
DTYPES = {"float32": numpy.float32, "float64": numpy.float64}


def as_dtype(dtype) -> numpy.dtype:
    """Normalise ``dtype`` ("float32", numpy.float64, ...) to a numpy dtype, or raise.

    Parameters
    ----------
    dtype : str, type or numpy.dtype
        Anything ``numpy.dtype`` reads as float32 or float64.

    Returns
    -------
    numpy.dtype
        float32 or float64.

    Raises
    ------
    ArgumentError
        Any other dtype, or None.
    """
    try:
        dt = None if dtype is None else numpy.dtype(dtype)  # numpy reads None as float64
    except (TypeError, ValueError, SyntaxError):  # numpy.dtype("01") is a SyntaxError
        dt = None
    if dt is None or dt.name not in DTYPES:
        raise ArgumentError(f"dtype must be one of {sorted(DTYPES)}, got {dtype!r}")
    return dt


def expit(z, out=None):
    """Logistic sigmoid 1 / (1 + exp(-z)), exact for every finite z, never overflowing.

    SciPy's ``scipy.special.expit``.

    Parameters
    ----------
    z : ndarray
        Any shape.
    out : ndarray, optional
        Of z's shape, written in place.

    Returns
    -------
    ndarray
        sigmoid(z), of z's shape (``out`` when given).
    """
    return _expit(z, out=out) if out is not None else _expit(z)


def to_numpy(a):
    """Bring an array back to host memory (identity for NumPy).

    Parameters
    ----------
    a : array
        An array of the backend's library.

    Returns
    -------
    ndarray
        ``numpy.asarray(a)``: ``a`` itself for a NumPy array.
    """
    return numpy.asarray(a)


_ndarray = numpy.ndarray


def is_sparse(A) -> bool:
    """Whether A is a SciPy sparse matrix or array. Checked without importing scipy.sparse
    (8 ms that dense work never pays): an object that is one has imported it already.

    Parameters
    ----------
    A : object
        Anything.

    Returns
    -------
    bool
        True for a ``scipy.sparse`` matrix or array.
    """
    sparse = sys.modules.get("scipy.sparse")
    return A.__class__ is not _ndarray and sparse is not None and sparse.issparse(A)


def l2_norm(A) -> float:
    """``||A||_2`` over all entries, as a Python float: a bound of every ``|a|`` (inf when the sum of
    squares overflows). Reference formula: ``numpy.sqrt((A.astype(float64) ** 2).sum())``;
    here one BLAS pass and no temporary (``all_finite``'s sum of squares). For a sparse A,
    over its stored values.

    Parameters
    ----------
    A : ndarray or sparse matrix
        Float32 or float64, any shape.

    Returns
    -------
    float
        sqrt(sum of a^2), accumulated in A's dtype (inf when it overflows).
    """
    flat = A.data if is_sparse(A) else A.reshape(-1)
    with numpy.errstate(over="ignore"):
        return float(numpy.sqrt(numpy.float64(vdot(flat, flat))))


def all_finite(A) -> bool:
    """Whether every entry of the float array A is finite (no NaN, no infinity).

    Reference formula: ``numpy.isfinite(A).all()``, which writes a boolean temporary of A's
    size. Here: sum_i a_i^2, one BLAS pass with no temporary, carries any NaN or infinity;
    it may also overflow on finite data, and only then do min and max decide (on W1's 8192 x
    784 input, 560 us against 1150 us).

    Parameters
    ----------
    A : ndarray
        A float array, any shape (contiguous: it is reshaped to 1-D).

    Returns
    -------
    bool
        True when no entry is NaN or infinite.
    """
    flat = A.reshape(-1)
    return bool(numpy.isfinite(vdot(flat, flat)) or (numpy.isfinite(A.min()) and numpy.isfinite(A.max())))


#: Below this many FLOPs in a training step's largest matrix product, BLAS threads cost more
#: in hand-offs than they gain (measured on W3 of bench/: 64 x 128 x 128 products run faster
#: on one thread, and far faster when the other core is busy), so fit runs such networks on
#: one BLAS thread, as torch declines to split small operations across threads.
SMALL_MATMUL_FLOPS = 3e7

_blas_libs = None


def blas_threads(flops):
    """The BLAS threads for training with ``flops`` in its largest matrix product per step:
    one thread below ``SMALL_MATMUL_FLOPS`` (``single_blas_thread()``), else the library's own
    (a context that changes nothing). Use as ``with blas_threads(f): ...``.

    Parameters
    ----------
    flops : float
        Floating-point operations of the largest matrix product of a training step.

    Returns
    -------
    context manager
        ``single_blas_thread()`` or ``contextlib.nullcontext()``.
    """
    return single_blas_thread() if flops < SMALL_MATMUL_FLOPS else contextlib.nullcontext()


@contextlib.contextmanager
def single_blas_thread():
    """Limit the BLAS libraries (NumPy's, and SciPy's if loaded) to one thread inside the block.

    threadpoolctl (a scikit-learn dependency) finds the libraries once; entering then costs a
    few microseconds, where its own ``limit()`` inspects them again each time (~25 us, paid
    at every ``fit`` call).

    Yields
    ------
    None
        Inside the block, every BLAS library runs one thread; their own counts come back
        after it, also on an error.
    """
    global _blas_libs
    if _blas_libs is None:
        from threadpoolctl import ThreadpoolController

        _blas_libs = [lib for lib in ThreadpoolController().lib_controllers if lib.user_api == "blas"]
    libs = _blas_libs
    before = [lib.num_threads for lib in libs]
    try:  # a limit that fails half-way is undone too
        for lib in libs:
            lib.set_num_threads(1)
        yield
    finally:
        for lib, n in zip(libs, before):
            lib.set_num_threads(n)


# numpy.dot and vdot without their __array_function__ dispatch (a Python call, ~0.15 us):
# every array here is NumPy's own. The public functions stand in if NumPy drops the attribute.
dot = getattr(xp.dot, "_implementation", xp.dot)
vdot = getattr(xp.vdot, "_implementation", xp.vdot)


def matmul(A, B, out):
    """The product A @ B of 2-D arrays (or 2-D by 1-D) written into ``out``.

    Reference formula: ``out[...] = A @ B``. ``numpy.dot`` reaches BLAS with about 0.5 us less
    overhead per call than ``numpy.matmul`` (a generalized ufunc), which on a small network is a
    tenth of a training step; it needs ``out`` C-contiguous and of the product's dtype, so mixed
    dtypes go through matmul. With an inner dimension of 1 (dX = dY W^T of a one-unit layer)
    ``numpy.matmul`` falls back to a slow loop (8192 x 64: 519 us), ``numpy.dot`` does not
    (82 us, faster than a broadcast multiply's 127 us).

    A may be a SciPy sparse matrix (the first layer's input X, or its transpose): SciPy
    computes the sparse times dense product, ``out[...] = A @ B``.

    Parameters
    ----------
    A : ndarray of shape (n, k), or sparse matrix
        The left factor.
    B : ndarray of shape (k, m) or (k,)
        The right factor.
    out : ndarray of shape (n, m) or (n,)
        C-contiguous; receives the product.

    Returns
    -------
    ndarray
        ``out``.
    """
    if A.__class__ is not _ndarray and is_sparse(A):
        out[...] = A @ B
        return out
    if A.dtype is B.dtype is out.dtype:  # builtin dtypes are singletons
        return dot(A, B, out)
    return xp.matmul(A, B, out=out)


_AXPY: dict = {}  # dtype -> SciPy's BLAS axpy, filled on first use (scipy.linalg imports in 0.2 s)


def _load_axpy(dtype):
    global _blas_libs
    from scipy.linalg import blas

    _blas_libs = None  # one BLAS library more for single_blas_thread to find
    _AXPY.update({numpy.dtype(numpy.float32): blas.saxpy, numpy.dtype(numpy.float64): blas.daxpy})
    return _AXPY.get(dtype)


#: Largest y that axpy hands to SciPy's BLAS. Up to 10 000 entries OpenBLAS runs axpy on the
#: calling thread; above, it wakes threads of its own (SciPy's OpenBLAS is another library
#: than NumPy's), which then fight NumPy's BLAS threads for the cores: W1 of bench/ ran 3x
#: slower that way.
AXPY_BLAS_MAX = 8192


def axpy(a, x, y, work):
    """y <- y + a x in place, for 1-D arrays: the update most optimizers end with.

    On small buffers (up to ``AXPY_BLAS_MAX`` entries) BLAS axpy: one call of about a third
    of a ufunc call's cost, one pass with a fused multiply-add. Otherwise, or for shapes and
    dtypes BLAS lacks, NumPy's two passes through ``work`` (an array of y's shape, which may
    be x itself: x is then overwritten).

    Parameters
    ----------
    a : float
        The scalar.
    x : ndarray of shape (k,)
        The vector added, scaled.
    y : ndarray of shape (k,)
        Updated in place.
    work : ndarray of shape (k,)
        Work space (may be overwritten; may be x).

    Returns
    -------
    ndarray
        ``y``.
    """
    f = _AXPY.get(y.dtype) if _AXPY else _load_axpy(y.dtype)
    # SciPy's wrapper would work on a copy of a strided y, and writes through a read-only flag
    if (
        f is not None
        and y.size <= AXPY_BLAS_MAX
        and y.ndim == 1
        and y.flags.c_contiguous
        and y.flags.writeable
        and x.dtype is y.dtype
        and x.shape == y.shape
    ):
        f(x, y, a=a)
    else:
        xp.multiply(x, a, out=work)
        xp.add(y, work, out=y)
    return y


def take_rows(A, idx, out):
    """The rows ``A[idx]`` of a 2-D array, written into ``out`` (of shape (len(idx), k)).

    Reference formula: ``out[...] = A[idx]``. ``take`` with ``mode="clip"``: with ``out=``,
    the default ``mode="raise"`` gathers into a temporary and copies it over (54 -> 20 us per
    W1 batch). Clipping changes nothing for indices that are in range, which the caller
    guarantees (a permutation of the rows).

    Parameters
    ----------
    A : ndarray of shape (n, k)
        The rows to gather from.
    idx : ndarray of int, shape (m,)
        Row indices in [0, n) (out-of-range ones would be clipped, silently).
    out : ndarray of shape (m, k)
        Receives the rows.

    Returns
    -------
    ndarray
        ``out``.
    """
    return A.take(idx, axis=0, out=out, mode="clip")


#: 0 as a read-only 0-d array of each dtype: as a ufunc operand it costs ~0.5 us less per
#: call than the Python float 0.0, whose dtype NumPy resolves each time (NEP 50).
ZERO = {}
for _dt in DTYPES.values():
    ZERO[numpy.dtype(_dt)] = numpy.zeros((), dtype=_dt)
    ZERO[numpy.dtype(_dt)].flags.writeable = False


# Row reductions. NumPy reduces along a short last axis row by row (~20-40 ns a row), which
# for softmax over a few classes costs more than the exp itself; a matrix-vector product
# with ones (BLAS) and a loop over a few columns are 5-40x faster at these shapes; column sums
# of a batch (db) gain 2x the same way.
_ONES: dict = {}


def _ones(n, dtype):
    ones = _ONES.get((n, dtype))
    if ones is None:
        ones = _ONES[(n, dtype)] = xp.ones(n, dtype=dtype)
    return ones


def row_sum(A):
    """sum_j A_ij for every row of a 2-D array: a new array of shape (n,).

    Parameters
    ----------
    A : ndarray of shape (n, k)
        The array.

    Returns
    -------
    ndarray of shape (n,)
        The row sums, in A's dtype.
    """
    k = A.shape[1]
    if k == 1:
        return A[:, 0].copy()
    ones = _ONES.get((k, A.dtype))
    return dot(A, _ones(k, A.dtype) if ones is None else ones)


def col_sum(A, out):
    """sum_i A_ij for every column of a 2-D array, into ``out`` of shape (k,).

    Parameters
    ----------
    A : ndarray of shape (n, k)
        The array.
    out : ndarray of shape (k,)
        Receives the sums.

    Returns
    -------
    ndarray of shape (k,)
        ``out``.
    """
    n = A.shape[0]
    if n > 4096 or A.dtype is not out.dtype:  # on tall arrays NumPy's own reduction is faster
        return xp.add.reduce(A, axis=0, out=out)
    ones = _ONES.get((n, A.dtype))
    return dot(_ones(n, A.dtype) if ones is None else ones, A, out)


def row_max(A):
    """max_j A_ij for every row of a 2-D array (NaN if the row has one): shape (n,).

    Parameters
    ----------
    A : ndarray of shape (n, k)
        The array whose rows are reduced.

    Returns
    -------
    ndarray of shape (n,)
        A new array of the row maxima.
    """
    k = A.shape[1]
    if k > 8:
        return xp.maximum.reduce(A, axis=1)
    if k == 1:
        return A[:, 0].copy()
    m = xp.maximum(A[:, 0], A[:, 1])
    for j in range(2, k):
        xp.maximum(m, A[:, j], out=m)
    return m


#: Largest array for which ``relu_grad`` multiplies by sign(y); above, by a boolean mask.
RELU_SIGN_MAX = 4096
_BOOL = numpy.dtype(bool)


def relu_grad(Y, dY, out, work):
    """ReLU's backward pass: dZ = dY * [Y > 0], written into ``out``, from the output Y.

    Reference formula: ``out[...] = dY * (Y > 0)``. Y >= 0, so sign(Y) is the 0/1 derivative:
    on small arrays two same-dtype calls, about 1 us less than a boolean mask (a mixed-dtype
    multiply is slow to set up); on large ones the mask (1 byte an entry) is faster. ``work``
    is a dict (the layer's buffers) where the mask's array is kept between calls.

    Parameters
    ----------
    Y : ndarray
        ReLU's output, >= 0.
    dY : ndarray
        dJ/dY, of Y's shape.
    out : ndarray
        Receives dZ, of Y's shape and dY's dtype.
    work : dict
        Where the boolean mask is kept between calls.

    Returns
    -------
    ndarray
        ``out``.
    """
    if dY.size <= RELU_SIGN_MAX:
        xp.sign(Y, out=out)
        return xp.multiply(out, dY, out=out)
    mask = work.get("relu_mask")
    if mask is None or mask.shape != dY.shape:
        mask = work["relu_mask"] = xp.empty(dY.shape, dtype=_BOOL)
    xp.greater(Y, ZERO.get(dY.dtype, 0.0), out=mask)
    return xp.multiply(dY, mask, out=out, dtype=out.dtype)
