"""The frames the page draws, against the model they claim to show.

Oracles: ``model.predict`` / ``predict_classes`` on the same grid for the boundary (byte for
byte), PyTorch (the conftest mirror of the network, in float64) for every hidden neuron's
thumbnail, and the model's own arrays for the weights.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mlplab.playground import data, frames, spec
from mlplab.playground.run import Run, make_data


def _run(cfg):
    cfg = spec.check_config(cfg)
    run = Run(cfg, make_data(cfg))
    run.advance(3 * run.steps_per_epoch)
    return run


def _grid_features(run, density=100):
    return data.features(data.grid(density), run.names)


def test_encode_decode_round_trip_with_padding():
    a = np.arange(7, dtype=np.uint8).reshape(7, 1)
    b = np.array([1.5, -2.25, np.float32(3.1)], dtype=np.float32)
    msg = frames.encode({"type": "frame", "x": [1, 2]}, [("a", a), ("b", b)])
    assert len(msg) % 4 == 0
    header, sections = frames.decode(msg)
    assert header["x"] == [1, 2] and header["sections"] == [["a", "u1", [7, 1]], ["b", "f4", [3]]]
    assert np.array_equal(sections["a"], a) and np.array_equal(sections["b"], b)


def test_binary_boundary_is_predict_byte_for_byte():
    run = _run({"dataset": "xor", "networkShape": [6, 4], "activation": "relu"})
    _, s = frames.decode(frames.Renderer(run).render())
    p = run.model.predict(_grid_features(run))[:, 0]
    assert np.array_equal(s["boundary"].ravel(), np.rint(255 * p.astype(np.float64)).astype(np.uint8))
    # byte >= 128 exactly where predict_classes says class 1: the page's colours follow the classes
    assert np.array_equal(s["boundary"].ravel() >= 128, run.model.predict_classes(_grid_features(run)) == 1)


def test_multiclass_and_regression_boundaries():
    run = _run({"dataset": "spiral", "classes": 4, "networkShape": [8]})
    _, s = frames.decode(frames.Renderer(run).render())
    P = run.model.predict(_grid_features(run))
    assert np.array_equal(s["classes"].ravel(), P.argmax(axis=1))
    conf = (P.max(axis=1) - 0.25) / 0.75
    assert np.abs(s["confidence"].ravel() - 255 * conf).max() <= 0.5 + 1e-3
    run = _run({"problem": "regression", "regDataset": "reg-gauss", "networkShape": [5]})
    _, s = frames.decode(frames.Renderer(run).render())
    y = np.clip(run.model.predict(_grid_features(run))[:, 0], -1, 1)
    assert np.abs(s["boundary"].ravel() - 255 * (y + 1) / 2).max() <= 0.5 + 1e-3


def test_neuron_thumbnails_and_focus_match_torch(torch_mirror):
    run = _run({"networkShape": [5, 3], "activation": ["tanh", "relu"], "xSquared": True, "sinY": True})
    header, s = frames.decode(frames.Renderer(run).render(focus=[2, 1]))
    G = _grid_features(run)
    tmodel = torch_mirror(run.model)
    values, x = [G], torch.tensor(G, dtype=torch.float64)
    modules = list(tmodel)
    for i, m in enumerate(modules):
        x = m(x)
        if i + 1 < len(modules) and isinstance(modules[i + 1], torch.nn.Linear):
            values.append(x.detach().numpy())
    V = np.clip(np.concatenate(values, axis=1), -1, 1)
    side = header["thumb"]
    assert side == 20 and header["density"] == 100
    thumbs = V.reshape(side, 100 // side, side, 100 // side, -1).mean(axis=(1, 3))
    expected = 255 * (np.moveaxis(thumbs, -1, 0) + 1) / 2
    assert s["nodes"].shape == (4 + 5 + 3, side, side)  # x, y, xSquared, sinY; then 5 and 3 neurons
    assert np.abs(s["nodes"] - expected).max() <= 0.5 + 1e-3  # float32 vs float64: within the rounding
    focus = 255 * (np.clip(values[2][:, 1], -1, 1) + 1) / 2
    assert np.abs(s["focus"].ravel() - focus).max() <= 0.5 + 1e-3


def test_a_large_network_is_drawn_on_a_coarser_grid():
    run = _run({"networkShape": [64, 64, 64], "activation": "relu"})
    header, s = frames.decode(frames.Renderer(run).render())
    assert header["density"] == 50 and header["thumb"] == 10 and s["boundary"].shape == (50, 50)
    p = run.model.predict(_grid_features(run, 50))[:, 0]
    assert np.array_equal(s["boundary"].ravel(), np.rint(255 * p.astype(np.float64)).astype(np.uint8))
    assert s["nodes"].shape == (2 + 192, 10, 10)
    assert frames.density(_run({"networkShape": [8, 8]}).model) == 100


def test_weights_header_and_data_message():
    run = _run({"networkShape": [3]})
    header, s = frames.decode(frames.Renderer(run).render({"rev": 7}))
    dense = run.dense_layers()
    flat = np.concatenate([np.concatenate([L.W.ravel(), L.b]) for L in dense])
    assert np.array_equal(s["weights"], flat.astype(np.float32))
    assert header["rev"] == 7 and header["epoch"] == 3 and header["steps"] == 3 * run.steps_per_epoch
    assert header["train"]["loss"] == run.metrics["train"]["loss"] and header["curve"]["epoch"] == [0, 1, 2, 3]
    h, d = frames.decode(frames.data_message(run))
    assert np.array_equal(d["train_x"], run.data.X_train.astype(np.float32)) and h["classes"] == 2
    assert len(d["test_y"]) == len(run.data.y_test)


def test_curve_is_thinned_to_its_limit():
    run = _run({"numSamples": 40, "batchSize": 40})
    run.advance(999)
    header, _ = frames.decode(frames.Renderer(run).render())
    c = header["curve"]
    assert len(c["epoch"]) == 400 and c["epoch"][0] == 0 and c["epoch"][-1] == run.epoch == 1002
    assert c["train"][-1] == run.metrics["train"]["loss"]


@pytest.mark.parametrize("v, b", [(np.nan, 128), (0.0, 0), (1.0, 255), (0.5, 128), (0.4999, 127), (2.0, 255)])
def test_bytes_of_values(v, b):
    assert frames._to_byte(np.array([v]))[0] == b


def test_one_d_view_is_the_output_along_x1_and_the_sum_of_the_units_shares(torch_mirror):
    run = _run({"problem": "regression", "regDataset": "reg-sine", "x": True, "y": False, "networkShape": [5],
                "activation": "sigmoid"})  # fmt: skip
    header, s = frames.decode(frames.Renderer(run).render())
    F = data.features(frames.fn_grid(), run.names)
    np.testing.assert_allclose(s["fn"], run.model.predict(F)[:, 0], atol=1e-6)
    tm = torch_mirror(run.model)
    with torch.no_grad():
        hidden = tm[:2](torch.tensor(F, dtype=torch.float64)).numpy()  # (points, 5): the sigmoid units
    W = run.dense_layers()[-1].W[:, 0]
    np.testing.assert_allclose(s["fn_units"].reshape(5, -1), (hidden * W).T, atol=1e-6)
    assert header["fn_bias"] == pytest.approx(float(run.dense_layers()[-1].b[0]))
    np.testing.assert_allclose(s["fn_units"].reshape(5, -1).sum(axis=0) + header["fn_bias"], s["fn"], atol=1e-5)
    _, d = frames.decode(frames.data_message(run))
    np.testing.assert_allclose(d["target"], np.sin(np.pi * frames.fn_grid()[:, 0] / 3), atol=1e-6)
    deep = _run({"problem": "regression", "regDataset": "reg-step", "x": True, "y": False, "networkShape": [4, 3]})
    _, s = frames.decode(frames.Renderer(deep).render())
    assert "fn" in s and "fn_units" not in s  # the units' shares only for one hidden layer
    _, s = frames.decode(frames.Renderer(_run({})).render())
    assert "fn" not in s  # a 2-D data set has no 1-D view
