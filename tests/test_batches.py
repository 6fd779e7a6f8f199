"""Tests of mlplab.batches: ArraySource (batches, validation split, weights, argument checks)
and ChunkSource (chunks in order, one chunk equal to the arrays, generators, validation of
every chunk, bounded memory on a memmap measured with tracemalloc). Oracles: the arrays' own
slices and permutations, fit on the concatenated arrays, tracemalloc.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from toy import toy_data as _data
from toy import toy_model as _model

import mlplab as ml
from mlplab._validation import check_X
from mlplab.backend import l2_norm
from mlplab.batches import ArraySource, BatchSource, ChunkSource, as_source
from mlplab.errors import ArgumentError


# -- batch sources ---------------------------------------------------------------------------------
def test_array_source_batches(rng):
    X, y = _data(rng, n=10)
    source = ArraySource(X, y, batch_size=4).bind(_model(dtype="float64"), ml.losses.CrossEntropy())
    assert source.steps == 3 and source.batch_size == 4 and source.validation is None
    # the gathered batches live in two reused buffers: each is valid until the next one is drawn
    batches = [(xb.copy(), yb.copy(), wb) for xb, yb, wb in source.batches(np.random.default_rng(0))]
    order = np.random.default_rng(0).permutation(10)
    assert [len(xb) for xb, _, _ in batches] == [4, 4, 2]
    for (xb, yb, wb), s in zip(batches, range(0, 10, 4)):
        np.testing.assert_array_equal(xb, X[order[s : s + 4]])
        np.testing.assert_array_equal(yb.argmax(axis=1), y[order[s : s + 4]])
        assert wb is None
    one = ArraySource(X, y, batch_size=None).bind(_model(dtype="float64"), ml.losses.CrossEntropy())
    [(xb, _, _)] = list(one.batches(np.random.default_rng(0)))
    np.testing.assert_array_equal(xb, X)  # a single batch is not shuffled: J is a mean


def test_array_source_checks_its_arguments(rng):
    X, y = _data(rng, n=10)
    for kwargs, name in [
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": 2.5}, "batch_size"),
        ({"shuffle": "yes"}, "shuffle"),
        ({"validation_split": 1.0}, "validation_split"),
    ]:
        with pytest.raises(ArgumentError, match=rf"^{name} must be "):
            ArraySource(X, y, **kwargs)
    with pytest.raises(ArgumentError, match="^validation_split must be a fraction that leaves"):
        ArraySource(X, y, validation_split=0.01).bind(_model(), ml.losses.CrossEntropy())
    with pytest.raises(ArgumentError, match=r"^class_weight\[1\] must be a finite number >= 0"):
        ArraySource(X, y, class_weight={1: -1.0}).bind(_model(), ml.losses.CrossEntropy())


def test_chunk_source_of_one_chunk_equals_the_array_source(rng):
    X, y = _data(rng)
    a, b = _model(), _model()
    a.fit(X, y, epochs=3, batch_size=8, seed=5, verbose=0)
    b.fit(ChunkSource([(X, y)], batch_size=8), None, epochs=3, seed=5, verbose=0)
    np.testing.assert_array_equal(a.get_weights(), b.get_weights())


def test_chunks_in_order_equal_the_concatenated_arrays(rng):
    X, y = _data(rng, n=48)
    w = rng.uniform(0.5, 1.5, size=48)

    def chunks():
        for s in range(0, 48, 16):
            yield X[s : s + 16], y[s : s + 16], w[s : s + 16]

    a, b = _model(), _model()
    ha = a.fit(X, y, epochs=2, batch_size=8, shuffle=False, sample_weight=w, verbose=0, validation_data=(X, y))
    hb = b.fit(ChunkSource(chunks, batch_size=8, shuffle=False), None, epochs=2, verbose=0, validation_data=(X, y))
    np.testing.assert_array_equal(a.get_weights(), b.get_weights())
    assert ha.history == hb.history


def test_a_generator_serves_one_epoch_and_then_says_so(rng):
    X, y = _data(rng, n=20)
    gen = ((X[s : s + 10], y[s : s + 10]) for s in range(0, 20, 10))
    _model().fit(ChunkSource(gen), None, epochs=1, verbose=0)
    gen = ((X[s : s + 10], y[s : s + 10]) for s in range(0, 20, 10))
    with pytest.raises(ArgumentError, match="^chunks must be an iterable that gives at least one chunk per epoch"):
        _model().fit(ChunkSource(gen), None, epochs=2, verbose=0)


def test_chunks_are_validated_and_named(rng):
    X, y = _data(rng, n=20)
    bad = X.copy()
    bad[3, 1] = np.inf
    with pytest.raises(ArgumentError, match="^chunks\\[1\\] X must be finite, got NaN or infinity"):
        _model().fit(ChunkSource([(X, y), (bad, y)]), None, verbose=0)
    with pytest.raises(ArgumentError, match=r"^chunks\[0\] must be a tuple \(X, y\)"):
        _model().fit(ChunkSource([X]), None, verbose=0)
    with pytest.raises(ArgumentError, match="^chunks\\[0\\] y must be of 20 samples"):
        _model().fit(ChunkSource([(X, y[:5])]), None, verbose=0)
    with pytest.raises(ArgumentError, match="^chunks must be an iterable"):
        ChunkSource(3)
    with pytest.raises(ArgumentError, match="^class_weight must be a dict"):
        ChunkSource([(X, y)], class_weight="balanced")


@pytest.mark.parametrize(
    "name,value",
    [
        ("y", np.zeros(3)),
        ("batch_size", 64),
        ("shuffle", False),
        ("sample_weight", np.ones(3)),
        ("class_weight", {0: 1.0}),
        ("validation_split", 0.2),
    ],
)
def test_fit_refuses_array_options_with_a_source(name, value):
    kwargs = {
        "y": None,
        "batch_size": 32,
        "shuffle": True,
        "sample_weight": None,
        "class_weight": None,
        "validation_split": 0.0,
        name: value,
    }
    source = ChunkSource([])
    with pytest.raises(ArgumentError, match=rf"^{name} must be left at .* when X is a batch source"):
        as_source(source, kwargs.pop("y"), **kwargs)
    assert as_source(source, None) is source and isinstance(as_source(np.ones((2, 2)), [0, 1]), ArraySource)
    assert issubclass(ChunkSource, BatchSource) and issubclass(ArraySource, BatchSource)


def test_training_on_a_memmap_keeps_memory_bounded(tmp_path):
    """A memmap 1500 times the batch size trains through ChunkSource with a peak of Python-tracked
    memory (NumPy reports its allocations to tracemalloc) far below its size: measured 145 kB for
    7.2 MB, where fit on the same memmap as arrays peaks at 2.4 MB (the one-hot targets and the
    permutation of all rows)."""
    n, d, chunk, batch = 100_000, 16, 2_000, 64
    X = np.lib.format.open_memmap(tmp_path / "X.npy", mode="w+", dtype=np.float32, shape=(n, d))
    y = np.lib.format.open_memmap(tmp_path / "y.npy", mode="w+", dtype=np.int64, shape=(n,))
    r = np.random.default_rng(0)
    for s in range(0, n, 10_000):
        X[s : s + 10_000] = r.normal(size=(10_000, d))
        y[s : s + 10_000] = X[s : s + 10_000, 0] > 0
    X.flush(), y.flush()
    del X, y
    X = np.load(tmp_path / "X.npy", mmap_mode="r")
    y = np.load(tmp_path / "y.npy", mmap_mode="r")
    size = X.nbytes + y.nbytes  # 7.2 MB on disk

    def chunks():
        for s in range(0, n, chunk):
            yield X[s : s + chunk], y[s : s + chunk]

    model = ml.MLP([d, 32, 2], output="softmax", seed=0)
    # a first small fit loads what training loads once (SciPy's BLAS, threadpoolctl's controllers):
    # their import is not the training's memory
    ml.MLP([d, 32, 2], output="softmax", seed=0).fit(ChunkSource([(X[:100], y[:100])]), None, epochs=1, verbose=0)
    tracemalloc.start()
    try:
        h = model.fit(
            ChunkSource(chunks, batch_size=batch), None, optimizer=ml.optim.Adam(lr=1e-3), epochs=2, seed=0, verbose=0
        )
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < size / 20, f"peak {peak} bytes for a memmap of {size} bytes"
    assert h["loss"][1] < h["loss"][0] and h["accuracy"][1] > 0.9


def test_input_bound_covers_every_training_and_held_out_input(rng):
    X, y = _data(rng, n=20)
    X[3, 2] = 40.0
    source = ArraySource(X, y, validation_split=0.25).bind(_model(dtype="float64"), ml.losses.CrossEntropy())
    assert source.input_bound == l2_norm(X) >= np.abs(X).max()
    parts = ChunkSource([(X[:10], y[:10]), (X[10:], y[10:])]).bind(_model(dtype="float64"), ml.losses.CrossEntropy())
    assert parts.input_bound == 0.0  # known as the chunks go by
    assert sum(len(xb) for xb, _, _ in parts.batches(np.random.default_rng(0))) == 20
    assert parts.input_bound == max(l2_norm(X[:10]), l2_norm(X[10:])) >= np.abs(X).max()
    np.testing.assert_array_equal(np.vstack(list(parts.inputs())), X)


# -- sparse inputs -----------------------------------------------------------------------------------
def test_sparse_batches_are_the_rows_of_the_sparse_matrix(rng):
    import scipy.sparse

    X, y = _data(rng, n=10)
    S = scipy.sparse.csr_matrix(np.where(np.abs(X) > 1, X, 0.0))
    source = ArraySource(S, y, batch_size=4).bind(_model(dtype="float64"), ml.losses.CrossEntropy())
    order = np.random.default_rng(0).permutation(10)
    batches = [(xb, yb.copy()) for xb, yb, _ in source.batches(np.random.default_rng(0))]  # Y's buffer is reused
    for (xb, yb), s in zip(batches, range(0, 10, 4)):
        assert scipy.sparse.issparse(xb)
        np.testing.assert_array_equal(xb.toarray(), S.toarray()[order[s : s + 4]])
        np.testing.assert_array_equal(yb.argmax(axis=1), y[order[s : s + 4]])
    plain = ArraySource(S, y, batch_size=4, shuffle=False).bind(_model(dtype="float64"), ml.losses.CrossEntropy())
    np.testing.assert_array_equal(next(iter(plain.batches(None)))[0].toarray(), S.toarray()[:4])
    with pytest.raises(ArgumentError, match=r"^augment must be None for a sparse X"):
        next(iter(source.batches(np.random.default_rng(0), augment=lambda xb, r: xb)))


def test_training_on_a_sparse_matrix_never_densifies_it():
    """A CSR matrix whose dense form would take 16 GB (200 000 x 20 000 float32) and holds 400 000
    nonzeros (3.3 MB) trains, validates and predicts with a peak of Python-tracked memory of
    12.5 MB (measured: the CSC to CSR copy of the nonzeros, the one-hot targets, the permutation
    of the rows, the first layer's 20 000 x 8 weights, gradients and Adam's state): nothing
    densifies the whole input (a dense copy would fail outright)."""
    import scipy.sparse

    n, d, nnz = 200_000, 20_000, 400_000
    r = np.random.default_rng(0)
    rows, cols = r.integers(0, n, nnz), r.integers(0, d, nnz)
    X = scipy.sparse.csc_matrix((r.normal(size=nnz).astype(np.float32), (rows, cols)), shape=(n, d))
    y = np.asarray(X[:, :200].sum(axis=1)).ravel() > 0
    check_X(X[:2].tocsr())  # scikit-learn's check_array is imported on first use: not training's memory
    tracemalloc.start()
    try:
        model = ml.MLP([d, 8, 2], output="softmax", seed=0)
        h = model.fit(X, y, optimizer=ml.optim.Adam(lr=1e-2), epochs=1, batch_size=2_000, validation_split=0.1)
        P = model.predict(X)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 40e6, f"peak {peak} bytes"  # the dense X: 16e9 bytes
    assert P.shape == (n, 2) and np.isfinite(h["val_loss"][0]) and h["val_accuracy"][0] > 0.9


def test_fingerprint_sees_any_change_of_the_data_it_samples(rng):
    X, y = _data(rng, n=500)
    model, loss = _model(), _model()._resolve_loss(None)

    def fp(X, y, **kw):
        return ArraySource(X, y, 16, **kw).bind(model, loss).fingerprint()

    ref = fp(X, y)
    assert ref == fp(X.copy(), list(y)) and ref["shapes"] == [[500, 4], [500, 3], None]
    # an oracle: which rows the fingerprint samples, written out independently (64 evenly spaced)
    sampled = set(np.linspace(0, 499, 64).astype(int).tolist())
    for i in [0, 499, min(sampled - {0, 499})]:
        Z = X.copy()
        Z[i, 2] = np.nextafter(np.float32(Z[i, 2]), np.float32(np.inf))  # one ulp in float32
        assert fp(Z, y) != ref, i
    assert fp(X[::-1], y[::-1]) != ref  # another order
    assert fp(X[:499], y[:499]) != ref
    assert fp(X, y, validation_split=0.2)["shapes"] == [[400, 4], [400, 3], None, [100, 4], [100, 3], None]
    assert fp(X, y, sample_weight=np.ones(500)) != ref
    assert ChunkSource([(X, y)]).bind(model, loss).fingerprint() is None


def test_fingerprint_of_a_sparse_X_hashes_its_sampled_rows(rng):
    import scipy.sparse

    X, y = _data(rng, n=300)
    X[np.abs(X) < 1] = 0.0
    model, loss = _model(), _model()._resolve_loss(None)

    def fp(X):
        return ArraySource(X, y, 16).bind(model, loss).fingerprint()

    S = scipy.sparse.csr_matrix(X)
    ref = fp(S)
    assert ref == fp(S.copy()) and ref["shapes"][0] == [300, 4] and ref != fp(X)
    T = S.tolil()
    T[0, 0] = 7.0  # row 0 is always sampled
    assert fp(T.tocsr()) != ref
