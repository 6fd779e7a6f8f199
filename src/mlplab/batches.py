"""Batch sources: where a ``Trainer`` draws its mini-batches from.

``ArraySource`` cuts arrays held in memory into shuffled mini-batches (the validation split,
sample and class weights, the row gather); ``ChunkSource`` does it for data that arrives in
chunks, e.g. read from a ``numpy.memmap`` larger than the memory training may use. Both are
importable from ``mlplab.training`` and ``mlplab`` too.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np

from ._validation import check_bool, check_int, check_real, fail
from .backend import is_sparse, l2_norm, take_rows, xp

__all__ = ["BatchSource", "ArraySource", "ChunkSource", "as_source"]

FINGERPRINT_ROWS = 64  # rows of the data a fingerprint hashes


class BatchSource:
    """What a ``Trainer`` draws mini-batches from.

    ``bind(model, loss)`` validates the data for that model and loss (once per ``fit``) and
    returns the source; ``batches(rng, augment)`` then yields the mini-batches (X_B, Y_B, w_B)
    of one epoch: X_B of the model's dtype, Y_B the loss's prepared targets, w_B the
    per-sample weights or None; a batch may live in a buffer that the next one overwrites.
    ``batch_size`` is the rows of a batch (the last one of an epoch, or of a chunk, may be
    smaller), ``steps`` the batches of an epoch (None when not known in advance) and
    ``validation`` the held-out (X, Y, w) or None. For the divergence guard, ``input_bound``
    bounds ``|x|`` over every training input (inf: unknown) and ``inputs()`` yields them.
    """

    batch_size: int | None = None
    steps: int | None = None
    validation = None
    input_bound = math.inf

    def inputs(self):
        """The training inputs X, in pieces (none by default: the guard then checks the
        weights only). Call after ``bind``.

        Returns
        -------
        iterator of ndarray or sparse matrix
            Arrays of shape (m, n_inputs) that together hold every training input, validated
            (an ArraySource's one array; a ChunkSource's chunks, read again).
        """
        return iter(())

    def fingerprint(self) -> dict | None:
        """A cheap summary of the data, once bound, that a checkpoint keeps so that a run is
        resumed on the same data: None when the source cannot give one (``ChunkSource``).

        Returns
        -------
        dict or None
            JSON-serialisable ("shapes" and "sha256" for an ArraySource).
        """
        return None

    @property
    def batch_rows(self) -> float:
        """Rows of a full batch, which sets the BLAS threads of training (inf: not known)."""
        return math.inf if self.batch_size is None else self.batch_size

    def bind(self, model, loss) -> BatchSource:
        """Validate the data for ``model`` and ``loss`` (once per ``fit``) and return the source.

        Parameters
        ----------
        model : Sequential
            The model to train: its input width and dtype.
        loss : Loss
            The loss trained with, whose ``prepare_targets`` makes Y.

        Returns
        -------
        BatchSource
            ``self``.

        Raises
        ------
        ArgumentError
            Data the model refuses (as ``fit`` refuses X, y and sample_weight), named.
        """
        raise NotImplementedError

    def batches(self, rng, augment=None):
        """The mini-batches of one epoch. Call after ``bind``.

        Parameters
        ----------
        rng : numpy.random.Generator
            Shuffles the rows (and is passed to ``augment``).
        augment : callable, optional
            ``augment(X_B, rng) -> X_B'`` of the same shape, applied to each batch.

        Yields
        ------
        X_B : ndarray or sparse matrix of shape (m, n_inputs)
            Inputs, in the model's dtype; possibly a buffer the next batch overwrites.
        Y_B : ndarray of shape (m, n_outputs)
            The loss's prepared targets.
        w_B : ndarray of shape (m,) or None
            Per-sample weights.

        Raises
        ------
        ArgumentError
            ``augment`` with a sparse X, or returning another shape; for a ChunkSource, a
            chunk that is not (X, y[, w]) or holds data the model refuses (named
            ``chunks[i]``), or no chunk at all.
        """
        raise NotImplementedError


def _is_balanced(class_weight) -> bool:
    return isinstance(class_weight, str) and class_weight == "balanced"


def _class_weights(class_weight, Y, name="class_weight"):
    """The weight of each row's class: a dict {class: weight} or "balanced" (scikit-learn's
    n / (n_classes * count), 0 for a class with no sample)."""
    labels = Y.argmax(axis=1) if Y.shape[1] > 1 else (Y[:, 0] >= 0.5).astype(np.int64)
    n_classes = max(Y.shape[1], 2)
    if _is_balanced(class_weight):
        counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
        table = np.where(counts > 0, labels.size / (n_classes * np.maximum(counts, 1)), 0.0)
    elif isinstance(class_weight, dict):
        table = np.ones(n_classes)
        for c, w in class_weight.items():
            check_int(f"a key of {name}", c, 0, n_classes - 1)
            table[c] = check_real(f"{name}[{c}]", w, 0)
    else:
        raise fail(name, "a dict {class: weight} or 'balanced'", class_weight)
    return table[labels]


def _augmented(augment, xb, rng):
    out = np.asarray(augment(xb, rng), dtype=xb.dtype)
    if out.shape != xb.shape:
        raise fail(
            "augment",
            f"a function returning an array of the batch's shape {xb.shape}",
            got=f"an array of shape {out.shape}",
        )
    return out


class ArraySource(BatchSource):
    """Mini-batches of arrays held in memory, as ``fit(X, y, ...)`` makes them.

    Each epoch, with ``shuffle``, the rows are permuted by the trainer's generator and cut
    into batches of ``batch_size`` rows, gathered into two reused buffers; without it (or for
    a single batch, whose loss is a mean that order does not change) the batches are views of
    consecutive rows.

    Parameters
    ----------
    X : array (n, n_inputs) or sparse matrix
        Any array-like; a float ``numpy.memmap`` of the model's dtype is used without a copy;
        a SciPy sparse matrix (CSR; CSC and other formats are converted once) is never
        densified: each batch is the sparse matrix of its rows.
    y : array
        Targets as the loss takes them (class labels, one-hot rows, values).
    batch_size : int or None, default 32
        None: one batch of all rows (the lecture's full-batch gradient descent).
    shuffle : bool, default True
        Permute the rows at each epoch.
    sample_weight : array (n,), optional
        Weights w_i >= 0 of each sample in J.
    class_weight : dict {class: weight} or "balanced", optional
        Multiplies the sample weights by the weight of each sample's class ("balanced":
        scikit-learn's n / (n_classes * count)).
    validation_split : float in [0, 1), default 0
        Hold out this fraction, the last rows before shuffling (as Keras), as ``validation``.

    Raises
    ------
    ArgumentError
        A ``batch_size`` below 1, a ``shuffle`` that is not a bool, a ``class_weight`` that
        is neither a dict nor "balanced", a ``validation_split`` outside [0, 1). The data are
        checked by ``bind``.
    """

    def __init__(
        self, X, y, batch_size=32, shuffle=True, *, sample_weight=None, class_weight=None, validation_split=0.0
    ):
        self.X, self.y = X, y
        self.batch_size = None if batch_size is None else check_int("batch_size", batch_size, 1)
        self.shuffle = check_bool("shuffle", shuffle)
        if class_weight is not None and not (isinstance(class_weight, dict) or _is_balanced(class_weight)):
            raise fail("class_weight", "a dict {class: weight} or 'balanced'", class_weight)
        self.sample_weight, self.class_weight = sample_weight, class_weight
        self.validation_split = check_real("validation_split", validation_split, 0, 1, high_open=True)

    def bind(self, model, loss, where=""):
        """Validate X, y and the weights for ``model`` and ``loss``, hold out the validation
        rows and set up the batches; ``where`` prefixes the arguments' names in errors.

        Parameters
        ----------
        model : Sequential
            The model to train.
        loss : Loss
            The loss trained with.
        where : str, default ""
            Prefix of the arguments' names in messages ("chunks[3] ").

        Returns
        -------
        ArraySource
            ``self``.

        Raises
        ------
        ArgumentError
            X, y, sample_weight or class_weight refused for this model and loss, or a
            ``validation_split`` that leaves no training or no validation row.
        """
        dtype = model.dtype
        names = (where + "X", where + "y", where + "sample_weight")
        X, Y, w = model._check_data(self.X, self.y, loss, self.sample_weight, names)
        self.input_bound = l2_norm(X)  # the validation rows' too
        if self.class_weight is not None:
            cw = _class_weights(self.class_weight, Y, where + "class_weight").astype(dtype)
            w = cw if w is None else w * cw
        self.validation = None
        if self.validation_split > 0:
            k = int(round(X.shape[0] * (1.0 - self.validation_split)))
            if k < 1 or k >= X.shape[0]:
                raise fail(
                    "validation_split",
                    f"a fraction that leaves training and validation samples out of {X.shape[0]}",
                    self.validation_split,
                )
            self.validation = (X[k:], Y[k:], None if w is None else w[k:])
            X, Y, w = X[:k], Y[:k], None if w is None else w[:k]
        n = X.shape[0]
        bs = n if self.batch_size is None else min(self.batch_size, n)
        self._data, self._n, self._bs = (X, Y, w), n, bs
        self.steps = math.ceil(n / bs)
        self._gather = self.shuffle and self.steps > 1
        self._Xb = None  # a sparse X's batches are sparse matrices of their own (X[idx])
        if self._gather:
            if not is_sparse(X):
                self._Xb = xp.empty((bs, X.shape[1]), dtype=dtype)
            self._Yb = xp.empty((bs, Y.shape[1]), dtype=dtype)
        return self

    @property
    def batch_rows(self) -> float:
        """Rows of a full batch: once bound, batch_size or n when that is smaller or None."""
        return self._bs if hasattr(self, "_bs") else super().batch_rows

    def inputs(self):
        yield self._data[0]

    def fingerprint(self) -> dict:
        """The shapes of the training and validation arrays and a SHA-256 of up to
        ``FINGERPRINT_ROWS`` of their rows, evenly spaced (first and last included): O(1) in
        the number of rows, and any change of size, order, dtype or of a sampled row shows.

        Returns
        -------
        dict
            "shapes" (of X, Y, w and the validation arrays) and "sha256" (hex).
        """
        arrays = [*self._data, *(self.validation or ())]
        h = hashlib.sha256()
        for a in arrays:
            if a is not None:
                idx = np.unique(np.linspace(0, a.shape[0] - 1, min(a.shape[0], FINGERPRINT_ROWS)).astype(np.int64))
                h.update(f"{a.dtype.str}{a.shape}".encode())
                if is_sparse(a):  # the sampled rows' CSR arrays: never a dense row of a wide matrix
                    rows = a[idx]
                    for part in (rows.indptr, rows.indices, rows.data):
                        h.update(np.ascontiguousarray(part).view(np.uint8))
                else:
                    h.update(np.ascontiguousarray(np.asarray(a)[idx]).view(np.uint8))
        return {"shapes": [None if a is None else list(a.shape) for a in arrays], "sha256": h.hexdigest()}

    def batches(self, rng, augment=None):
        (X, Y, w), n, bs = self._data, self._n, self._bs
        if augment is not None and is_sparse(X):
            raise fail("augment", "None for a sparse X (augmentations take dense batches)", augment)
        if self._gather:
            order = rng.permutation(n)
            Xb, Yb = self._Xb, self._Yb
            for s in range(0, n, bs):
                idx = order[s : s + bs]
                m = idx.shape[0]
                xb = take_rows(X, idx, Xb[:m]) if Xb is not None else X[idx]
                if augment is not None:
                    xb = _augmented(augment, xb, rng)
                yield xb, take_rows(Y, idx, Yb[:m]), None if w is None else w[idx]
        else:
            for s in range(0, n, bs):
                xb = X[s : s + bs]
                if augment is not None:
                    xb = _augmented(augment, xb, rng)
                yield xb, Y[s : s + bs], None if w is None else w[s : s + bs]


class ChunkSource(BatchSource):
    """Mini-batches from data that arrives in chunks: out-of-core training.

    Each epoch reads the chunks in their order and cuts each chunk into batches of
    ``batch_size`` rows (shuffled within the chunk with ``shuffle``; the last batch of a
    chunk may be smaller). Only one chunk, a few batches and the model are in memory at a
    time, so a ``numpy.memmap`` far larger than the memory training may use can be trained
    on::

        X = np.load("X.npy", mmap_mode="r"); y = np.load("y.npy", mmap_mode="r")
        def chunks():
            for s in range(0, len(X), 10_000):
                yield X[s:s + 10_000], y[s:s + 10_000]
        model.fit(ChunkSource(chunks, batch_size=64), None, epochs=5)

    Each chunk is validated as ``fit`` validates its arrays (NaN and infinity refused, with
    the chunk's number in the message).

    Parameters
    ----------
    chunks : iterable of (X, y) or (X, y, sample_weight), or a function returning one
        Read once per epoch: a list, an object whose ``__iter__`` starts again, or a function
        of no argument that returns a new iterable (a generator function). A generator object
        serves one epoch only.
    batch_size : int or None, default 32
        None: each chunk is one batch.
    shuffle : bool, default True
        Permute the rows within each chunk at each epoch.
    class_weight : dict {class: weight}, optional
        ("balanced" needs every label before training and is not available here.)

    Raises
    ------
    ArgumentError
        ``chunks`` neither iterable nor callable, a ``batch_size`` below 1, a ``shuffle``
        that is not a bool, a ``class_weight`` that is not a dict. Each chunk is checked as
        it is read (``batches``).
    """

    def __init__(self, chunks, batch_size=32, shuffle=True, *, class_weight=None):
        if isinstance(chunks, (str, bytes, np.ndarray)) or not (callable(chunks) or hasattr(chunks, "__iter__")):
            raise fail("chunks", "an iterable of (X, y[, sample_weight]) chunks or a function returning one", chunks)
        if class_weight is not None and not isinstance(class_weight, dict):
            raise fail("class_weight", 'a dict {class: weight} ("balanced" needs all labels in advance)', class_weight)
        self.chunks = chunks
        self.batch_size = None if batch_size is None else check_int("batch_size", batch_size, 1)
        self.shuffle = check_bool("shuffle", shuffle)
        self.class_weight = class_weight

    def bind(self, model, loss):
        self._model, self._loss = model, loss
        self.input_bound = 0.0  # grows as the chunks go by
        return self

    def _parts(self):
        """Each chunk, validated for the model and the loss: a bound ArraySource."""
        chunks = self.chunks() if callable(self.chunks) else self.chunks
        if not hasattr(chunks, "__iter__"):
            raise fail("chunks", "a function returning an iterable of (X, y[, sample_weight]) chunks", got=repr(chunks))
        count = 0
        for i, chunk in enumerate(chunks):
            if not isinstance(chunk, (tuple, list)) or len(chunk) not in (2, 3):
                raise fail(f"chunks[{i}]", "a tuple (X, y) or (X, y, sample_weight)", chunk)
            w = chunk[2] if len(chunk) == 3 else None
            part = ArraySource(
                chunk[0], chunk[1], self.batch_size, self.shuffle, sample_weight=w, class_weight=self.class_weight
            )
            part.bind(self._model, self._loss, where=f"chunks[{i}] ")
            self.input_bound = max(self.input_bound, part.input_bound)
            yield part
            count += 1
        if count == 0:
            raise fail(
                "chunks",
                "an iterable that gives at least one chunk per epoch (a generator is used up after "
                "one epoch: pass the function that makes it)",
                got="no chunk",
            )

    def inputs(self):
        for part in self._parts():
            yield from part.inputs()

    def batches(self, rng, augment=None):
        for part in self._parts():
            yield from part.batches(rng, augment)


def as_source(X, y, batch_size=32, shuffle=True, *, sample_weight=None, class_weight=None, validation_split=0.0):
    """The batch source of ``fit``'s arguments: ``ArraySource(X, y, ...)``, or X itself when it
    is a BatchSource, whose own settings then apply: y and fit's array options must be left
    at their defaults (nothing given is silently ignored).

    Parameters
    ----------
    X : array-like of shape (n, n_inputs), sparse matrix, or BatchSource
        The training inputs, or a source.
    y : array-like or None
        The targets; None with a source.
    batch_size : int or None, default 32
        As ``ArraySource``.
    shuffle : bool, default True
        As ``ArraySource``.
    sample_weight : array-like of shape (n,), optional
        As ``ArraySource``.
    class_weight : dict or "balanced", optional
        As ``ArraySource``.
    validation_split : float in [0, 1), default 0
        As ``ArraySource``.

    Returns
    -------
    BatchSource
        A new ArraySource, or X.

    Raises
    ------
    ArgumentError
        With a source, any of the other arguments away from its default; otherwise as
        ``ArraySource``.
    """
    if not isinstance(X, BatchSource):
        return ArraySource(
            X,
            y,
            batch_size,
            shuffle,
            sample_weight=sample_weight,
            class_weight=class_weight,
            validation_split=validation_split,
        )
    for name, value, default in (
        ("y", y, None),
        ("batch_size", batch_size, 32),
        ("shuffle", shuffle, True),
        ("sample_weight", sample_weight, None),
        ("class_weight", class_weight, None),
        ("validation_split", validation_split, 0.0),
    ):
        if value is not default and (default is None or value != default):
            raise fail(name, f"left at {default!r} when X is a batch source (give it to the source)", value)
    return X
