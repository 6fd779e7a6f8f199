"""The playground's data against TF Playground's definitions (src/dataset.ts, src/playground.ts).

Oracles: the definitions themselves, restated as properties a wrong generator breaks (where a
point may lie, which label its position gives without noise, the moments of the Gaussian
blobs, the spiral's radius and angle as functions of the index), and NumPy's formulas for the
seven features.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from mlplab.errors import ArgumentError
from mlplab.playground import data


def test_circle_points_stay_in_disk_and_ring_and_noise_flips_labels():
    X, y = data.generate("circle", n=2000, noise=0.0, seed=1)
    r = np.hypot(X[:, 0], X[:, 1])
    assert X.shape == (2000, 2) and y.dtype == np.int64
    assert np.all((r <= 2.5) | ((r >= 3.5) & (r <= 5.0)))
    assert np.array_equal(y, (r < 2.5).astype(int))  # label 1 inside, as TF's getCircleLabel
    assert y.sum() == 1000
    Xn, yn = data.generate("circle", n=2000, noise=0.5, seed=1)
    rn = np.hypot(Xn[:, 0], Xn[:, 1])
    assert np.all((rn <= 2.5) | ((rn >= 3.5) & (rn <= 5.0)))  # TF: noise moves no point...
    flipped = np.mean(yn != (rn < 2.5))
    assert 0.05 < flipped < 0.5  # ...it changes labels, read at the noisy position


def test_xor_padding_and_sign_labels():
    X, y = data.generate("xor", n=3000, noise=0.0, seed=2)
    assert np.all(np.abs(X) >= 0.3) and np.all(np.abs(X) <= 5.3)
    assert np.array_equal(y, (X[:, 0] * X[:, 1] >= 0).astype(int))
    _, yn = data.generate("xor", n=3000, noise=0.3, seed=2)
    Xn, _ = data.generate("xor", n=3000, noise=0.3, seed=2)
    assert 0 < np.mean(yn != (Xn[:, 0] * Xn[:, 1] >= 0)) < 0.5


@pytest.mark.parametrize("noise", [0.0, 0.5])
def test_gauss_moments_follow_tf_variance_map(noise):
    X, y = data.generate("gauss", n=10_000, noise=noise, seed=3)
    variance = 0.5 + 7 * noise  # d3.scale.linear().domain([0, .5]).range([0.5, 4])
    for label, centre in ((1, 2.0), (0, -2.0)):
        P = X[y == label]
        assert np.allclose(P.mean(axis=0), centre, atol=0.1)
        assert np.allclose(P.var(axis=0), variance, rtol=0.08)  # 5000 points: 2 % standard error


def test_gauss_many_classes_share_a_circle():
    X, y = data.generate("gauss", n=5000, noise=0.0, seed=4, n_classes=5)
    assert np.bincount(y).tolist() == [1000] * 5
    means = np.array([X[y == k].mean(axis=0) for k in range(5)])
    assert np.allclose(np.hypot(means[:, 0], means[:, 1]), 2 * math.sqrt(2), atol=0.1)


@pytest.mark.parametrize("k", [2, 3, 5])
def test_spiral_radius_and_angle_follow_the_index(k):
    n = 600
    X, y = data.generate("spiral", n=n, noise=0.0, seed=5, n_classes=k)
    for label in range(k):
        P = X[y == label]
        m = len(P)
        r = np.hypot(P[:, 0], P[:, 1])
        i = np.rint(r * m / 5).astype(int)  # r = 5 i / m
        assert np.allclose(r, 5 * i / m, atol=1e-9)
        assert sorted(i.tolist()) == list(range(m))
        phase = {1: 0.0, 0: math.pi}[label] if k == 2 else 2 * math.pi * ((1 - label) % k) / k  # TF's for k = 2
        t = 1.75 * 2 * math.pi * i / m + phase
        keep = r > 1e-9
        ang = np.arctan2(P[keep, 0], P[keep, 1])  # x = r sin t, y = r cos t
        assert np.allclose(np.cos(ang - t[keep]), 1.0, atol=1e-9)


def test_regression_sets():
    X, t = data.generate("reg-plane", n=1200, noise=0.0, seed=6)
    assert np.all(np.abs(X) <= 6) and np.allclose(t, X.sum(axis=1) / 10)
    X, t = data.generate("reg-gauss", n=4000, noise=0.0, seed=6)
    assert t.dtype == np.float64 and np.all(np.abs(t) <= 1)
    near = np.hypot(X[:, 0] + 4, X[:, 1] - 2.5) < 0.5  # the bump +1 at (-4, 2.5): 1 - d/2 > 0.75
    assert near.any() and np.all(t[near] > 0.75)
    near = np.hypot(X[:, 0], X[:, 1] - 2.5) < 0.5  # -1 at (0, 2.5)
    assert np.all(t[near] < -0.75)
    far = np.hypot(X[:, 0] - 0, X[:, 1]) < 0.2  # 2.5 from every centre: height 0
    assert np.all(t[far] == 0)


def test_one_d_sets_follow_their_function_of_x1():
    X, t = data.generate("reg-sine", n=500, noise=0.0, seed=2)
    assert np.all(X[:, 1] == 0) and np.all(np.abs(X[:, 0]) <= 6) and X[:, 0].std() > 3
    np.testing.assert_allclose(t, np.sin(np.pi * X[:, 0] / 3), atol=1e-15)  # sin(pi x / 3), written out here
    X, t = data.generate("reg-step", n=300, noise=0.0, seed=2)
    assert set(np.round(t, 12)) == {-0.8, 0.8} and np.all((t > 0) == (X[:, 0] >= 0))
    X, t = data.generate("reg-bump", n=300, noise=0.0, seed=2)
    np.testing.assert_allclose(t, 2 * np.exp(-(X[:, 0] ** 2) / 2) - 1, atol=1e-15)
    _, noisy = data.generate("reg-sine", n=500, noise=0.3, seed=2)
    assert np.abs(noisy).max() <= 1 and not np.allclose(noisy, data.generate("reg-sine", n=500, seed=2)[1])


def test_generate_is_reproducible_and_exactly_n():
    a = data.generate("circle", n=501, seed=7)
    b = data.generate("circle", n=501, seed=7)
    assert len(a[1]) == 501 and np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    c = data.generate("circle", n=501, seed=8)
    assert not np.array_equal(a[0], c[0])


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"name": "moons"}, "dataset"),
        ({"name": "circle", "n": 10_001}, "numSamples"),
        ({"name": "circle", "noise": 0.6}, "noise"),
        ({"name": "spiral", "n_classes": 6}, "classes"),
        ({"name": "circle", "seed": -1}, "seed"),
    ],
)
def test_generate_refuses_out_of_range(kwargs, name):
    with pytest.raises(ArgumentError, match=name):
        data.generate(**kwargs)


def test_split_is_tf_floor_split():
    X, y = data.generate("circle", n=500, seed=0)
    Xtr, ytr, Xte, yte = data.split(X, y, 30, seed=0)
    assert len(ytr) == 150 and len(yte) == 350  # floor(500 * 30 / 100)
    assert sorted(map(tuple, np.vstack([Xtr, Xte]))) == sorted(map(tuple, X))


def test_features_are_tf_inputs():
    X = np.array([[1.5, -2.0], [0.0, 3.0]])
    F = data.features(X, ["sinY", "x", "xTimesY", "ySquared", "xSquared", "y", "sinX"])
    x, y = X[:, 0], X[:, 1]
    expected = np.stack([x, y, x * x, y * y, x * y, np.sin(x), np.sin(y)], axis=1)  # FEATURES' order
    assert np.array_equal(F, expected)
    with pytest.raises(ArgumentError, match="feature"):
        data.features(X, ["cosX"])
    with pytest.raises(ArgumentError, match="features"):
        data.features(X, [])


def test_grid_rows_from_the_top():
    G = data.grid()
    assert G.shape == (10_000, 2)
    assert G[0].tolist() == [-6.0, 6.0] and G[99].tolist() == [6.0, 6.0] and G[-1].tolist() == [6.0, -6.0]


def test_seed_value():
    assert data.seed_value("42") == 42
    assert data.seed_value("0.51286") == data.seed_value("0.51286") != data.seed_value("0.51287")


def test_parse_csv_reads_header_classes_and_scales():
    text = "x1,x2,label\n1,2,0\n-3,4,1\n0.5,-1,2\n5,5,1\n"
    X, y, scale = data.parse_csv(text)
    assert scale == 1.0 and y.tolist() == [0, 1, 2, 1] and X[1].tolist() == [-3.0, 4.0]
    X, y, scale = data.parse_csv("10,0,-1\n-20,0,1\n0,5,1\n1,1,-1\n")  # TF's -1/+1, far out
    assert y.tolist() == [0, 1, 1, 0] and scale == 0.25 and np.abs(X).max() == 5.0
    X, t, _ = data.parse_csv("1,1,0.25\n2,2,-0.5\n3,3,1\n4,4,0\n", problem="regression")
    assert t.tolist() == [0.25, -0.5, 1.0, 0.0]


@pytest.mark.parametrize(
    "text, match",
    [
        ("1,2\n3,4\n5,6\n7,8\n", "csv line 1 must be three columns"),
        ("1,2,0\n3,x,1\n5,6,0\n7,8,1\n", "csv line 2 must be three numbers"),
        ("1,2,0\n3,nan,1\n5,6,0\n7,8,1\n", "csv line 2 must be finite"),
        ("1,2,0\n3,4,7\n5,6,0\n7,8,1\n", "csv label must be a class"),
        ("1,2,0\n3,4,0.5\n5,6,0\n7,8,1\n", "csv label must be a class"),
        ("1,2,1\n3,4,1\n5,6,1\n7,8,1\n", "at least two classes"),
        ("1,2,0\n3,4,1\n", "at least 4 rows"),
        ("1,2,0\n" * 10_001, "at most 10,000 rows"),
        ("1," * 600_000, "at most 1,000,000 bytes"),
    ],
)
def test_parse_csv_refuses_naming_the_line(text, match):
    with pytest.raises(ArgumentError, match=match):
        data.parse_csv(text)
