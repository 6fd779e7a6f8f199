"""Plots: each writes a PNG from a result's data (matplotlib, Agg backend)."""

from __future__ import annotations

import numpy as np

import mlplab as ml
from mlplab import datasets, plotting

PNG = b"\x89PNG\r\n\x1a\n"


def test_plot_diagnostics_from_the_callback_and_from_its_dict(tmp_path):
    X, y = datasets.xor(n=64, noise=0.1, seed=0)
    model = ml.MLP([2, 8, 8, 1], activation="tanh", output="sigmoid", seed=0)
    diag = ml.callbacks.Diagnostics(every=2, warn=False)
    model.fit(X, y, epochs=3, batch_size=16, verbose=0, callbacks=[diag])
    for i, source in enumerate((diag, diag.to_dict())):
        path = plotting.plot_diagnostics(source, tmp_path / f"d{i}.png", title="xor")
        with open(path, "rb") as f:
            assert f.read(8) == PNG
    linear = ml.Sequential([ml.Dense(2, 1, seed=0)])  # no activation at all: the panels still draw
    diag = ml.callbacks.Diagnostics(warn=False)
    linear.fit(X, y.astype(np.float64), loss="mse", epochs=1, verbose=0, callbacks=[diag])
    assert plotting.plot_diagnostics(diag, tmp_path / "linear.png").endswith("linear.png")


def test_plot_lr_find_from_the_result_and_from_its_dict(tmp_path):
    X, y = datasets.circle(n=120, noise=0.1, seed=0)
    model = ml.MLP([2, 8, 1], activation="relu", output="sigmoid", seed=0)
    r = ml.lr_find(model, X, y, num_steps=60)
    for i, source in enumerate((r, r.to_dict())):
        path = plotting.plot_lr_find(source, tmp_path / f"lr{i}.png", title="circle")
        with open(path, "rb") as f:
            assert f.read(8) == PNG
