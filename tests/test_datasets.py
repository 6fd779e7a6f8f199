"""Tests for mlplab.datasets: shapes, balance, determinism, the defining rules, validation."""

import math
import re

import numpy as np
import pytest
import sklearn.model_selection

from mlplab import datasets
from mlplab.datasets import DATASETS, circle, gaussian, load, load_digits, moons, spiral, xor

GENERATORS = {"circle": circle, "xor": xor, "gaussian": gaussian, "spiral": spiral, "moons": moons}


@pytest.fixture(params=sorted(GENERATORS))
def generator(request):
    return GENERATORS[request.param]


@pytest.mark.parametrize("n", [2, 7, 100, 501])
def test_generator_shapes_dtypes_and_balance(generator, n):
    X, y = generator(n=n, noise=0.1, seed=0)
    assert X.shape == (n, 2) and X.dtype == np.float64
    assert y.shape == (n,) and y.dtype == np.int64
    counts = np.bincount(y, minlength=2)
    assert len(counts) == 2
    # Odd n: class 0 takes the extra point, so counts differ by at most one.
    assert counts[0] == n - n // 2 and counts[1] == n // 2
    assert np.all(np.isfinite(X))


def test_generator_is_deterministic_per_seed(generator):
    X1, y1 = generator(n=200, noise=0.2, seed=123)
    X2, y2 = generator(n=200, noise=0.2, seed=123)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)


def test_different_seeds_differ(generator):
    X1, _ = generator(n=200, noise=0.2, seed=1)
    X2, _ = generator(n=200, noise=0.2, seed=2)
    assert not np.array_equal(X1, X2)


def test_generator_rows_are_shuffled(generator):
    # Unshuffled output would be all 0s then all 1s.
    _, y = generator(n=200, seed=0)
    assert np.any(np.diff(y) < 0)


@pytest.mark.parametrize("name", ["circle", "xor", "spiral"])
def test_noiseless_playground_sets_fill_unit_box(name):
    # Playground's [-5, 5]^2 box divided by 5; xor's 0.3 padding reaches 5.3 / 5 = 1.06.
    X, _ = GENERATORS[name](n=2000, noise=0.0, seed=0)
    bound = 1.06 if name == "xor" else 1.0
    assert np.abs(X).max() <= bound + 1e-12
    assert np.abs(X).max() > 0.9


def test_circle_noiseless_label_is_radius_threshold():
    X, y = circle(n=1000, noise=0.0, seed=0)
    radius = np.linalg.norm(X, axis=1)
    # Disk r <= 0.5 R, ring r in [0.7 R, R]; after dividing by R = 5: 0.5 and [0.7, 1].
    np.testing.assert_array_equal(y, (radius < 0.6).astype(np.int64))
    assert radius[y == 1].max() <= 0.5 + 1e-12
    assert radius[y == 0].min() >= 0.7 - 1e-12


def test_circle_noise_moves_points_by_at_most_noise():
    # noise * U(-R, R) per coordinate in playground units is at most `noise` after scaling,
    # so the disk can grow to 0.5 + noise * sqrt(2) in radius and no further.
    X, y = circle(n=2000, noise=0.05, seed=0)
    radius = np.linalg.norm(X, axis=1)
    assert radius[y == 1].max() <= 0.5 + 0.05 * math.sqrt(2)
    assert radius[y == 1].max() > 0.5  # the noise did move some points


def test_xor_noiseless_label_is_sign_of_product():
    X, y = xor(n=1000, noise=0.0, seed=0)
    np.testing.assert_array_equal(y, (X[:, 0] * X[:, 1] > 0).astype(np.int64))
    # Padding 0.3 / 5 keeps every point off the axes.
    assert np.abs(X).min() >= 0.06 - 1e-12


def test_xor_uses_all_four_quadrants():
    X, _ = xor(n=400, seed=0)
    quadrant = 2 * (X[:, 0] > 0) + (X[:, 1] > 0)
    assert set(quadrant.tolist()) == {0, 1, 2, 3}


def test_gaussian_means_and_spread_follow_playground():
    # Centres +-(2, 2) / 5 = +-0.4; variance 0.5 + 7 * noise in playground units.
    noise = 0.2
    X, y = gaussian(n=20000, noise=noise, seed=0)
    std = math.sqrt(0.5 + 7 * noise) / 5
    np.testing.assert_allclose(X[y == 1].mean(axis=0), [0.4, 0.4], atol=0.01)
    np.testing.assert_allclose(X[y == 0].mean(axis=0), [-0.4, -0.4], atol=0.01)
    np.testing.assert_allclose(X[y == 1].std(axis=0), [std, std], rtol=0.03)


def test_gaussian_spread_grows_with_noise():
    s0 = gaussian(n=2000, noise=0.0, seed=0)[0].std()
    s1 = gaussian(n=2000, noise=0.5, seed=0)[0].std()
    assert s1 > s0


def test_spiral_noiseless_points_lie_on_their_arms():
    X, y = spiral(n=400, noise=0.0, seed=0)
    # Invert the construction: r = |X| is i / m, and the angle atan2(x, y) (playground's
    # x = r sin t) must equal 1.75 * 2 pi * r + delta_k modulo 2 pi, delta_k = 2 pi (k+1) / 2.
    r = np.linalg.norm(X, axis=1)
    t = np.arctan2(X[:, 0], X[:, 1])
    expected = 1.75 * 2 * np.pi * r + np.pi * (y + 1)
    diff = np.angle(np.exp(1j * (t - expected)))
    on_arm = r > 1e-9  # the first point of each arm is the origin, with no angle
    np.testing.assert_allclose(diff[on_arm], 0.0, atol=1e-9)


@pytest.mark.parametrize("n_classes, n", [(3, 10), (4, 4), (5, 503)])
def test_spiral_many_classes(n_classes, n):
    X, y = spiral(n=n, n_classes=n_classes, seed=0)
    assert X.shape == (n, 2)
    counts = np.bincount(y, minlength=n_classes)
    assert len(counts) == n_classes
    assert counts.max() - counts.min() <= 1 and counts.sum() == n


def test_moons_labels_match_sklearn_geometry():
    # Outer moon (label 0) is sklearn's upper arc, inner (label 1) the lower arc: centred
    # ((y_sklearn - 0.25) / 1.5), the outer arc's mean height is above the inner's.
    X, y = moons(n=400, noise=0.0, seed=0)
    assert X[y == 0, 1].mean() > X[y == 1, 1].mean()
    assert np.abs(X[:, 0]).max() <= 1.0 + 1e-12
    assert np.abs(X[:, 1]).max() <= 0.5 + 1e-12


@pytest.mark.parametrize("bad_n", [0, -3, 1, 2.5, "10", None, True])
def test_bad_n_raises_naming_argument(generator, bad_n):
    with pytest.raises(ValueError, match=r"n must be an int >= 2, got " + re.escape(repr(bad_n))):
        generator(n=bad_n)


def test_n_below_number_of_classes_raises():
    with pytest.raises(ValueError, match=r"n_classes must be an int in \[2, n\], n = 2 points, got 3"):
        spiral(n=2, n_classes=3)


@pytest.mark.parametrize("bad_noise", [-0.1, float("nan"), float("inf"), "0.1", None])
def test_bad_noise_raises_naming_argument(generator, bad_noise):
    with pytest.raises(ValueError, match=r"noise must be a finite number >= 0.0, got " + re.escape(repr(bad_noise))):
        generator(n=10, noise=bad_noise)


@pytest.mark.parametrize("bad", [1, 0, 2.0, "3"])
def test_bad_n_classes_raises(bad):
    with pytest.raises(ValueError, match="n_classes"):
        spiral(n=10, n_classes=bad)


def test_numpy_integer_n_is_accepted():
    X, _ = circle(n=np.int64(10), seed=0)
    assert X.shape == (10, 2)


def test_digits_flat_and_images():
    X, y = load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float64
    assert y.shape == (1797,) and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0  # pixel counts 0..16 divided by 16
    assert set(np.unique(y).tolist()) == set(range(10))
    images, y2 = load_digits(return_images=True)
    assert images.shape == (1797, 8, 8)
    np.testing.assert_array_equal(images.reshape(1797, 64), X)
    np.testing.assert_array_equal(y, y2)


@pytest.mark.parametrize(
    "name, shape, n_classes",
    [("iris", (150, 4), 3), ("wine", (178, 13), 3), ("breast_cancer", (569, 30), 2)],
)
def test_classification_loaders(name, shape, n_classes):
    X, y = load(name)
    assert X.shape == shape and X.dtype == np.float64
    assert y.shape == (shape[0],) and y.dtype == np.int64
    assert len(np.unique(y)) == n_classes


def test_diabetes_is_regression():
    X, y = datasets.load_diabetes()
    assert X.shape == (442, 10) and X.dtype == np.float64
    assert y.shape == (442,) and y.dtype == np.float64
    assert len(np.unique(y)) > 100


def test_train_test_split_is_sklearns():
    assert datasets.train_test_split is sklearn.model_selection.train_test_split


def test_registry_names_and_load():
    assert set(DATASETS) == {
        "circle",
        "xor",
        "gaussian",
        "spiral",
        "moons",
        "digits",
        "iris",
        "wine",
        "breast_cancer",
        "diabetes",
    }
    X1, y1 = load("spiral", n=50, noise=0.1, seed=3)
    X2, y2 = spiral(n=50, noise=0.1, seed=3)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)


def test_load_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match=r"name must be one of .*'circle'.*'xor', got 'mnist'"):
        load("mnist")


def test_all_is_complete():
    for name in datasets.__all__:
        assert hasattr(datasets, name)
