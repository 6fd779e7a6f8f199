"""The small classification problem and network the batch-source and training-loop tests share
(``test_batches.py``, ``test_training.py``): ``toy_data(rng, n, d, k)`` gives n rows of d
normal features and labels 0..k-1 that depend on them; ``toy_model(...)`` a tanh MLP with a
softmax output, of ``sizes`` (default 4-8-3)."""

from __future__ import annotations

import numpy as np

import mlplab as ml


def toy_data(rng, n=50, d=4, k=3):
    X = rng.normal(size=(n, d))
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 1)
    return X, np.minimum(y, k - 1)


def toy_model(seed=0, dtype="float32", sizes=(4, 8, 3), **kw):
    return ml.MLP(list(sizes), activation="tanh", output="softmax", dtype=dtype, seed=seed, **kw)
