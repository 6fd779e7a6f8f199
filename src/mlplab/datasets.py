"""Small data sets for trying networks: the playground problems and scikit-learn's bundled sets.

Two kinds of data live here, and neither touches the network:

* Generators for the 2-D toy problems of playground.tensorflow.org (``circle``, ``xor``,
  ``gaussian``, ``spiral``) plus scikit-learn's ``moons``. Each is
  ``f(n=..., noise=..., seed=None) -> (X, y)`` with ``X`` float64 of shape ``(n, 2)`` and ``y``
  int64 class labels ``0 .. K-1``.
* Thin wrappers around the real data sets that scikit-learn ships inside its wheel
  (``load_digits``, ``load_iris``, ``load_wine``, ``load_breast_cancer``, ``load_diabetes``), so
  nothing is ever downloaded.

Conventions shared by the generators
------------------------------------
Balance
    The ``n`` points are split between the K classes as evenly as possible: class ``k`` gets
    ``n // K + (k < n % K)`` points, so counts differ by at most one and class 0 takes the
    remainder when ``n`` is odd.
Scale
    Playground draws points in the box ``[-5, 5]^2``. Every playground generator here computes
    in playground's own units (so its ``noise`` means what the playground slider means) and then
    divides by ``R = 5``, which maps that box onto ``[-1, 1]^2``. Noiseless points therefore lie
    in ``[-1, 1]^2``, except ``xor`` whose 0.3 padding reaches ``+-1.06``; noise can push points
    further out. ``moons`` is centred and divided by 1.5 (see its docstring).
Labels
    Playground's positive class (+1) is label 1 and its negative class (-1) is label 0.
Noise
    Unlike playground, noise moves the *points* and the label stays the one the point was
    generated with. (Playground keeps the clean position and recomputes the label from the noisy
    one, which flips labels instead of blurring positions and would break the class balance.)
Randomness
    ``seed`` is None, an int >= 0 or a numpy ``Generator``.
    The same int seed always gives the same ``(X, y)``; rows come shuffled.

References
----------
D. Smilkov and S. Carter, "TensorFlow Playground", ``src/dataset.ts``,
https://github.com/tensorflow/playground
"""

import math

import numpy as np

from ._validation import as_rng, check_bool, check_choice, check_int, check_memory, check_real, fail
from .errors import ArgumentError


def _sklearn_datasets():
    # imported on first use: sklearn.datasets costs ~1 s of `import mlplab` otherwise
    import sklearn.datasets

    return sklearn.datasets


def __getattr__(name):
    """``train_test_split`` is scikit-learn's own function, imported on first access."""
    if name == "train_test_split":
        from sklearn.model_selection import train_test_split

        return train_test_split
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "circle",
    "xor",
    "gaussian",
    "spiral",
    "moons",
    "load_digits",
    "load_iris",
    "load_wine",
    "load_breast_cancer",
    "load_diabetes",
    "train_test_split",  # noqa: F822 - scikit-learn's own, provided by the module's __getattr__
    "DATASETS",
    "load",
]

# Playground's coordinate half-width; dividing by it maps [-5, 5]^2 onto [-1, 1]^2.
R = 5.0


# ---------------------------------------------------------------------------------------------
# shared helpers
# ---------------------------------------------------------------------------------------------


def _check_n(n):
    """A number of points >= 2 whose data (two float64 coordinates and an int64 label each)
    fits in memory."""
    return check_memory("n", check_int("n", n, 2) * 3, 8, "a data set") // 3


def _checked(n, noise, seed):
    """The generators' common arguments, checked in this order: (n, noise as a float >= 0, a
    Generator from seed)."""
    return _check_n(n), check_real("noise", noise, 0.0), as_rng(seed)


def _class_counts(n, n_classes):
    """Class sizes ``n // K + (k < n % K)``: as even as possible, class 0 first to grow."""
    k = np.arange(n_classes)
    return n // n_classes + (k < n % n_classes).astype(np.int64)


def _labels(counts):
    return np.repeat(np.arange(len(counts), dtype=np.int64), counts)


def _shuffle(X, y, rng):
    # Generated class by class, so without this a mini-batch would see one class only.
    perm = rng.permutation(len(y))
    return np.ascontiguousarray(X[perm], dtype=np.float64), y[perm]


def _polar(r, angle):
    # Playground's convention: x = r sin(angle), y = r cos(angle).
    return np.stack([r * np.sin(angle), r * np.cos(angle)], axis=1)


# ---------------------------------------------------------------------------------------------
# playground generators
# ---------------------------------------------------------------------------------------------


def circle(n=500, noise=0.0, seed=None):
    """A disk inside a ring: playground's "circle" problem.

    In playground units (``R = 5``), for each point::

        label 1 (inner disk):  r ~ U(0, 0.5 R)
        label 0 (outer ring):  r ~ U(0.7 R, R)
        angle ~ U(0, 2 pi);    p = (r sin(angle), r cos(angle))
        p += noise * U(-R, R)^2            (independent in each coordinate)
        X = p / R

    The radius (not the area) is uniform, as in playground, so points crowd near the centre.
    With ``noise=0`` the classes are split by the circle of radius 0.6 (scaled units): disk
    points have ``|X| <= 0.5`` and ring points ``0.7 <= |X| <= 1``.

    Parameters
    ----------
    n : int, default 500
        Number of points, at least 2; split as evenly as possible between the two classes.
    noise : float, default 0.0
        Playground's noise fraction (its slider runs from 0 to 0.5): each coordinate moves by up
        to ``noise * R`` playground units, i.e. up to ``noise`` in the returned scale.
    seed : None, int or numpy.random.Generator
        Source of randomness; an int makes the result reproducible.

    Returns
    -------
    X : ndarray of float64, shape (n, 2)
        The points, in the scaled units above, rows shuffled.
    y : ndarray of int64, shape (n,)
        1 for the inner disk, 0 for the ring.

    Raises
    ------
    ArgumentError
        ``n`` not an int >= 2 (or too many points for the memory), ``noise`` < 0 or not
        finite, an invalid ``seed``.
    """
    n, noise, rng = _checked(n, noise, seed)
    counts = _class_counts(n, 2)
    y = _labels(counts)
    # Row order follows y: the ring (label 0) first, then the disk (label 1).
    lo = np.where(y == 1, 0.0, 0.7 * R)
    hi = np.where(y == 1, 0.5 * R, R)
    r = rng.uniform(lo, hi)
    angle = rng.uniform(0.0, 2 * np.pi, size=n)
    P = _polar(r, angle) + noise * rng.uniform(-R, R, size=(n, 2))
    return _shuffle(P / R, y, rng)


def xor(n=500, noise=0.0, seed=None):
    """Four quadrants labelled by the sign of ``x * y``: playground's "xor" problem.

    In playground units each coordinate is ``u ~ U(-5, 5)`` pushed 0.3 away from the axis
    (``u + 0.3 sign(u)``), so the points fill ``[-5.3, 5.3]^2`` minus a cross of half-width 0.3
    along the axes; the label is ``1 if x * y > 0 else 0``. Here the quadrant is drawn from the
    label so that the classes are balanced exactly::

        |x|, |y| ~ U(0.3, 5.3)
        s ~ uniform{-1, +1}
        label 1:  (x, y) = ( s|x|, s|y|)      (quadrants I and III)
        label 0:  (x, y) = ( s|x|, -s|y|)     (quadrants II and IV)
        p += noise * U(-R, R)^2
        X = p / R

    With ``noise=0``, ``y == (X[:, 0] * X[:, 1] > 0)`` holds for every row and every
    ``|X[:, j]| >= 0.06``.

    Parameters
    ----------
    n : int, default 500
        Number of points, at least 2; split as evenly as possible between the two classes.
    noise : float, default 0.0
        Playground's noise fraction: each coordinate moves by up to ``noise`` in the returned
        scale.
    seed : None, int or numpy.random.Generator
        Source of randomness; an int makes the result reproducible.

    Returns
    -------
    X : ndarray of float64, shape (n, 2)
        The points, in the scaled units above, rows shuffled.
    y : ndarray of int64, shape (n,)
        1 where ``x * y > 0`` (before noise), else 0.

    Raises
    ------
    ArgumentError
        ``n`` not an int >= 2 (or too many points for the memory), ``noise`` < 0 or not
        finite, an invalid ``seed``.
    """
    n, noise, rng = _checked(n, noise, seed)
    y = _labels(_class_counts(n, 2))
    pad = 0.3
    A = rng.uniform(0.0, R, size=(n, 2)) + pad
    s = rng.choice(np.array([-1.0, 1.0]), size=n)
    # Label 1 gives both coordinates the same sign; label 0 gives them opposite signs.
    signs = np.stack([s, np.where(y == 1, s, -s)], axis=1)
    P = signs * A + noise * rng.uniform(-R, R, size=(n, 2))
    return _shuffle(P / R, y, rng)


def gaussian(n=500, noise=0.0, seed=None):
    """Two isotropic Gaussian blobs: playground's "gaussian" problem.

    In playground units::

        variance = 0.5 + 7 * noise     (playground's linear map of noise [0, 0.5] -> [0.5, 4])
        label 1:  p ~ N((2, 2),   variance * I)
        label 0:  p ~ N((-2, -2), variance * I)
        X = p / R

    so the returned blobs sit at ``+-(0.4, 0.4)`` with standard deviation
    ``sqrt(0.5 + 7 noise) / 5`` (0.14 at ``noise=0``). Even at ``noise=0`` the blobs have
    spread; noise only widens them.

    Parameters
    ----------
    n : int, default 500
        Number of points, at least 2; split as evenly as possible between the two classes.
    noise : float, default 0.0
        Playground's noise fraction; the variance grows linearly with it.
    seed : None, int or numpy.random.Generator
        Source of randomness; an int makes the result reproducible.

    Returns
    -------
    X : ndarray of float64, shape (n, 2)
        The points, in the scaled units above, rows shuffled.
    y : ndarray of int64, shape (n,)
        1 for the blob at (2, 2), 0 for the blob at (-2, -2) (playground units).

    Raises
    ------
    ArgumentError
        ``n`` not an int >= 2 (or too many points for the memory), ``noise`` < 0 or not
        finite, an invalid ``seed``.
    """
    n, noise, rng = _checked(n, noise, seed)
    y = _labels(_class_counts(n, 2))
    std = math.sqrt(0.5 + 7.0 * noise)
    centre = np.where(y == 1, 2.0, -2.0)[:, None]
    P = centre + std * rng.standard_normal(size=(n, 2))
    return _shuffle(P / R, y, rng)


def spiral(n=500, noise=0.0, seed=None, n_classes=2):
    """Interleaved Archimedean spirals: playground's "spiral" problem, for K arms.

    In playground units, the ``m`` points of class ``k`` (``i = 0 .. m-1``) are::

        r     = 5 i / m
        t     = 1.75 * 2 pi * i / m + delta_k         (1.75 turns)
        p     = (r sin t, r cos t) + noise * U(-1, 1)^2
        X     = p / R

    with phase ``delta_k = 2 pi (k + 1) / K``. For ``K = 2`` that puts label 1 at phase 0 and
    label 0 at phase pi, exactly playground's positive and negative arms. The radii are evenly
    spaced, not random, so with ``noise=0`` only the shuffle depends on the seed.

    Parameters
    ----------
    n : int, default 500
        Number of points, at least ``n_classes``; split as evenly as possible between classes.
    noise : float, default 0.0
        Half-width of the uniform jitter in playground units, as playground does it (not scaled
        by R, unlike circle and xor): each coordinate moves by up to ``noise / 5`` in the
        returned scale.
    seed : None, int or numpy.random.Generator
        Source of randomness; an int makes the result reproducible.
    n_classes : int, default 2
        Number of spiral arms, at least 2.

    Returns
    -------
    X : ndarray of float64, shape (n, 2)
        The points, in the scaled units above, rows shuffled.
    y : ndarray of int64, shape (n,)
        The arm index, ``0 .. n_classes - 1``.

    Raises
    ------
    ArgumentError
        ``n`` not an int >= 2 (or too many points for the memory), ``n_classes`` not an int
        in [2, n], ``noise`` < 0 or not finite, an invalid ``seed``.
    """
    n = _check_n(n)
    try:
        n_classes = check_int("n_classes", n_classes, 2, n)
    except ArgumentError:  # said with what bounds it
        raise fail("n_classes", f"an int in [2, n], n = {n} points", n_classes) from None
    noise = check_real("noise", noise, 0.0)
    rng = as_rng(seed)
    counts = _class_counts(n, n_classes)
    y = _labels(counts)
    # Position of each point along its own arm, as i / m with m that arm's size.
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    frac = (np.arange(n) - starts) / counts[y]
    r = R * frac
    t = 1.75 * 2 * np.pi * frac + 2 * np.pi * (y + 1) / n_classes
    P = _polar(r, t) + noise * rng.uniform(-1.0, 1.0, size=(n, 2))
    return _shuffle(P / R, y, rng)


def moons(n=500, noise=0.1, seed=None):
    """Two interleaving half circles, from ``sklearn.datasets.make_moons``.

    scikit-learn's noiseless moons (outer arc label 0 on the unit circle's upper half, inner arc
    label 1 shifted to (1, 0.5) and flipped) span ``x in [-1, 2]``, ``y in [-0.5, 1]``. Here::

        p = make_moons(counts, noise=0, shuffle=False)
        p += N(0, noise^2 I)                  (what make_moons' own noise does)
        X = (p - (0.5, 0.25)) / 1.5

    which centres the pair and fits it in ``[-1, 1] x [-0.5, 0.5]`` without changing its aspect
    ratio. Noise and shuffling are done here rather than by scikit-learn so that ``seed`` means
    the same thing as for the other generators.

    Parameters
    ----------
    n : int, default 500
        Number of points, at least 2; split as evenly as possible between the two classes.
    noise : float, default 0.1
        Standard deviation of the Gaussian noise in scikit-learn's units (``noise / 1.5`` in the
        returned scale).
    seed : None, int or numpy.random.Generator
        Source of randomness; an int makes the result reproducible.

    Returns
    -------
    X : ndarray of float64, shape (n, 2)
        The points, in the scaled units above, rows shuffled.
    y : ndarray of int64, shape (n,)
        0 for the outer (upper) moon, 1 for the inner (lower) moon.

    Raises
    ------
    ArgumentError
        ``n`` not an int >= 2 (or too many points for the memory), ``noise`` < 0 or not
        finite, an invalid ``seed``.
    """
    n, noise, rng = _checked(n, noise, seed)
    counts = _class_counts(n, 2)
    P, y = _sklearn_datasets().make_moons(n_samples=tuple(int(c) for c in counts), noise=None, shuffle=False)
    P = P + noise * rng.standard_normal(size=P.shape)
    X = (P - np.array([0.5, 0.25])) / 1.5
    return _shuffle(X, y.astype(np.int64), rng)


# ---------------------------------------------------------------------------------------------
# data sets shipped with scikit-learn (no download)
# ---------------------------------------------------------------------------------------------


def load_digits(return_images=False):
    """The 8x8 handwritten digits bundled with scikit-learn, scaled to [0, 1].

    1797 grey-level images of the digits 0-9 (about 180 per class), each pixel an integer count
    in ``0 .. 16``; here ``X = pixels / 16``.

    Parameters
    ----------
    return_images : bool, default False
        If True, return ``X`` as images of shape (1797, 8, 8) instead of flat rows of 64.

    Returns
    -------
    X : ndarray of float64, shape (1797, 64) or (1797, 8, 8)
        Row-major pixels in ``[0, 1]``.
    y : ndarray of int64, shape (1797,)
        The digit, 0 .. 9.

    Raises
    ------
    ArgumentError
        ``return_images`` not a bool.

    References
    ----------
    UCI ML hand-written digits data set (optdigits test part), via
    ``sklearn.datasets.load_digits``.
    """
    check_bool("return_images", return_images)
    bunch = _sklearn_datasets().load_digits()
    pixels = bunch.images if return_images else bunch.data
    X = np.asarray(pixels, dtype=np.float64) / 16.0
    return X, np.asarray(bunch.target, dtype=np.int64)


def _load_classification(loader):
    X, y = loader(return_X_y=True)
    return np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.int64)


def load_iris():
    """Fisher's iris: 150 flowers, 4 measurements (cm), 3 species.

    Returns
    -------
    X : ndarray of float64, shape (150, 4)
        Unscaled; standardise before training.
    y : ndarray of int64, shape (150,)
        Species 0 .. 2, 50 each.
    """
    return _load_classification(_sklearn_datasets().load_iris)


def load_wine():
    """UCI wine recognition: 178 wines, 13 chemical measurements, 3 cultivars.

    Returns
    -------
    X : ndarray of float64, shape (178, 13)
        Unscaled, with features on very different scales (proline is in the hundreds); standardise
        before training.
    y : ndarray of int64, shape (178,)
        Cultivar 0 .. 2 (59, 71 and 48 wines).
    """
    return _load_classification(_sklearn_datasets().load_wine)


def load_breast_cancer():
    """Wisconsin diagnostic breast cancer: 569 tumours, 30 features of the cell nuclei.

    Returns
    -------
    X : ndarray of float64, shape (569, 30)
        Unscaled; standardise before training.
    y : ndarray of int64, shape (569,)
        0 malignant (212), 1 benign (357), as scikit-learn codes them.
    """
    return _load_classification(_sklearn_datasets().load_breast_cancer)


def load_diabetes():
    """Diabetes progression: 442 patients, 10 baseline variables, a regression target.

    Returns
    -------
    X : ndarray of float64, shape (442, 10)
        scikit-learn's scaled version: each column mean-centred and divided by
        ``std * sqrt(n_samples)``, so every column has sum of squares 1.
    y : ndarray of float64, shape (442,)
        A quantitative measure of disease progression one year later (25 .. 346); scale it
        before fitting with a squared loss.
    """
    X, y = _sklearn_datasets().load_diabetes(return_X_y=True)
    return np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)


# ---------------------------------------------------------------------------------------------
# registry
# ---------------------------------------------------------------------------------------------

DATASETS = {
    "circle": circle,
    "xor": xor,
    "gaussian": gaussian,
    "spiral": spiral,
    "moons": moons,
    "digits": load_digits,
    "iris": load_iris,
    "wine": load_wine,
    "breast_cancer": load_breast_cancer,
    "diabetes": load_diabetes,
}


def load(name, **kwargs):
    """Load a data set by its name in ``DATASETS``.

    Parameters
    ----------
    name : str
        One of ``sorted(DATASETS)``.
    **kwargs
        Passed to the loader, e.g. ``load("spiral", n=300, noise=0.1, seed=0)``.

    Returns
    -------
    X, y : ndarray
        Whatever the loader returns.

    Raises
    ------
    ArgumentError (a ValueError)
        If ``name`` is not a known data set; the message lists the valid names; or as the
        loader refuses its arguments (an argument it does not take: Python's TypeError).
    """
    return DATASETS[check_choice("name", name, sorted(DATASETS))](**kwargs)
