"""The playground's data: TensorFlow Playground's generators, its input features, the split, a CSV.

Every generator draws in TF Playground's own units (points in about [-6, 6]^2, the view's
domain) with a NumPy Generator, and follows ``src/dataset.ts`` of tensorflow/playground, noise
included: its ``noise`` is the slider's value / 100 (0 .. 0.5).

=========== =============================================================================
circle      label 1: r ~ U(0, 2.5), label 0: r ~ U(3.5, 5); angle ~ U(0, 2 pi);
            p = (r sin a, r cos a); the label is then re-read at the noisy position
            p + e, e = noise * U(-5, 5)^2 (1 if norm(p + e) < 2.5): noise flips labels, points stay
xor         x, y ~ U(-5, 5), each pushed 0.3 away from its axis; label 1 if
            (x + e_x)(y + e_y) >= 0 with e ~ noise * U(-5, 5)^2 (again noise flips labels)
gauss       K blobs N(c_k, (0.5 + 7 noise) I) (variance: d3's linear map [0, .5] -> [.5, 4]);
            K = 2 is TF's: label 1 at (2, 2), label 0 at (-2, -2); for K > 2 the centres
            turn on the same circle of radius 2 sqrt 2, c_k at angle 5 pi/4 + 2 pi k / K
spiral      K arms of m points, i = 0 .. m-1: r = 5 i/m, t = 1.75 * 2 pi i/m + d_k,
            p = (r sin t, r cos t) + noise * U(-1, 1)^2; d_k = 2 pi ((1 - k) mod K) / K,
            so K = 2 is TF's (label 1 at phase 0, label 0 at phase pi)
reg-plane   x, y ~ U(-6, 6); target (x + e_x + y + e_y) / 10, e ~ noise * U(-6, 6)^2
reg-gauss   x, y ~ U(-6, 6); six bumps (+-1 at (-4, 2.5), (0, 2.5), (4, 2.5), (-4, -2.5),
            (0, -2.5), (4, -2.5), signs +, -, +, -, +, -) of height max(0, 1 - d/2); the
            target is the signed height largest in absolute value at the noisy position
reg-sine    1-D: x ~ U(-6, 6), x2 = 0; target f(x + e), e ~ noise * U(-6, 6), f(x) = sin(pi x / 3)
reg-step    1-D: the same with f(x) = 0.8 if x >= 0 else -0.8
reg-bump    1-D: the same with f(x) = 2 exp(-x^2 / 2) - 1
=========== =============================================================================

The three 1-D data sets are the universal approximation theorem's setting (a continuous
function of one variable, fitted by one hidden layer): their points lie on the x1 axis, and
``ONE_D[name]`` is the function itself (for the page's curve and the tests).

TF Playground's labels -1 / +1 are classes 0 / 1 here (orange / blue). Where TF draws
``numSamples / 2`` points per class (one too many for an odd count), the classes here get
``n // K`` points, the first ``n % K`` classes one more, so a set has exactly n points. TF's
points come from its own seeded ``Math.random``, so a TF link gives the same distribution,
not the same points. The seven input features are TF's: x1, x2, x1^2, x2^2, x1 x2, sin x1,
sin x2 (``FEATURES``, keyed by TF's URL names).

References
----------
D. Smilkov and S. Carter, TensorFlow Playground, ``src/dataset.ts`` and ``src/playground.ts``,
https://github.com/tensorflow/playground
"""

from __future__ import annotations

import csv
import io
import math
import zlib

import numpy as np

from .._validation import check_choice, check_int, check_real, fail

__all__ = [
    "CLASSIFICATION",
    "REGRESSION",
    "ONE_D",
    "FEATURES",
    "DOMAIN",
    "DENSITY",
    "seed_value",
    "generate",
    "split",
    "features",
    "grid",
    "parse_csv",
    "MAX_POINTS",
    "MAX_CSV_BYTES",
]

#: classification generators (name -> whether it takes a number of classes K > 2)
CLASSIFICATION = {"circle": False, "xor": False, "gauss": True, "spiral": True}
#: regression generators
REGRESSION = ("reg-plane", "reg-gauss", "reg-sine", "reg-step", "reg-bump")
#: the 1-D regression data sets: name -> the function of x1 their targets follow
ONE_D = {
    "reg-sine": lambda x: np.sin(math.pi * x / 3),
    "reg-step": lambda x: np.where(x >= 0, 0.8, -0.8),
    "reg-bump": lambda x: 2 * np.exp(-(x**2) / 2) - 1,
}
#: TF Playground's input features, by their URL names: (label, function of (x1, x2))
FEATURES = {
    "x": ("x1", lambda x, y: x),
    "y": ("x2", lambda x, y: y),
    "xSquared": ("x1^2", lambda x, y: x * x),
    "ySquared": ("x2^2", lambda x, y: y * y),
    "xTimesY": ("x1 x2", lambda x, y: x * y),
    "sinX": ("sin(x1)", lambda x, y: np.sin(x)),
    "sinY": ("sin(x2)", lambda x, y: np.sin(y)),
}
#: the view's square [-6, 6]^2 and its grid of DENSITY x DENSITY points, TF Playground's
DOMAIN = 6.0
DENSITY = 100
MAX_POINTS = 10_000
MAX_CSV_BYTES = 1_000_000
MAX_CLASSES = 5
_BUMPS = ((-4, 2.5, 1), (0, 2.5, -1), (4, 2.5, 1), (-4, -2.5, -1), (0, -2.5, 1), (4, -2.5, -1))


def seed_value(seed) -> int:
    """The integer seed of a page's seed text: the number itself for digits ("42"), else the
    CRC-32 of the text (TF Playground's seeds are texts like "0.12345").

    Parameters
    ----------
    seed : str or int
        The seed as the page gives it; any object is read as its ``str``.

    Returns
    -------
    int
        In [0, 2**32): the number when the text is all digits and below 2**32, else
        ``zlib.crc32`` of its UTF-8 bytes.
    """
    text = str(seed)
    if text.isdigit() and int(text) < 2**32:
        return int(text)
    return zlib.crc32(text.encode())


def _counts(n, k):
    return [n // k + (c < n % k) for c in range(k)]


def _uniform(rng, a, b, size):
    return rng.uniform(a, b, size=size)


def _circle(rng, n, noise, k):
    parts = []
    inner, outer = _counts(n, 2)[::-1]  # label 1 (inside) and label 0 (the ring) before noise
    for (lo, hi), m in zip(((0.0, 2.5), (3.5, 5.0)), (inner, outer)):
        r = _uniform(rng, lo, hi, m)
        a = _uniform(rng, 0.0, 2 * math.pi, m)
        P = np.stack([r * np.sin(a), r * np.cos(a)], axis=1)
        E = noise * _uniform(rng, -5.0, 5.0, (m, 2))
        parts.append((P, (np.hypot(*(P + E).T) < 2.5).astype(np.int64)))
    return parts


def _xor(rng, n, noise, k):
    P = _uniform(rng, -5.0, 5.0, (n, 2))
    P += np.where(P > 0, 0.3, -0.3)
    E = noise * _uniform(rng, -5.0, 5.0, (n, 2))
    Q = P + E
    return [(P, (Q[:, 0] * Q[:, 1] >= 0).astype(np.int64))]


def _gauss(rng, n, noise, k):
    std = math.sqrt(0.5 + 7.0 * noise)
    parts = []
    for label, m in enumerate(_counts(n, k)):
        angle = 1.25 * math.pi + 2 * math.pi * label / k
        c = 2 * math.sqrt(2) * np.array([math.cos(angle), math.sin(angle)])
        parts.append((c + std * rng.standard_normal((m, 2)), np.full(m, label, dtype=np.int64)))
    return parts


def _spiral(rng, n, noise, k):
    parts = []
    for label, m in enumerate(_counts(n, k)):
        i = np.arange(m)
        r = 5.0 * i / m
        t = 1.75 * 2 * math.pi * i / m + 2 * math.pi * ((1 - label) % k) / k
        P = np.stack([r * np.sin(t), r * np.cos(t)], axis=1) + noise * _uniform(rng, -1.0, 1.0, (m, 2))
        parts.append((P, np.full(m, label, dtype=np.int64)))
    return parts


def _reg_plane(rng, n, noise, k):
    P = _uniform(rng, -6.0, 6.0, (n, 2))
    E = noise * _uniform(rng, -6.0, 6.0, (n, 2))
    return [(P, (P + E).sum(axis=1) / 10.0)]


def _reg_gauss(rng, n, noise, k):
    P = _uniform(rng, -6.0, 6.0, (n, 2))
    Q = P + noise * _uniform(rng, -6.0, 6.0, (n, 2))
    best = np.zeros(n)
    for cx, cy, sign in _BUMPS:
        v = sign * np.clip(1.0 - np.hypot(Q[:, 0] - cx, Q[:, 1] - cy) / 2.0, 0.0, 1.0)
        best = np.where(np.abs(v) > np.abs(best), v, best)
    return [(P, best)]


def _one_d(name):
    def generate(rng, n, noise, k):
        x = _uniform(rng, -6.0, 6.0, n)
        e = noise * _uniform(rng, -6.0, 6.0, n)
        return [(np.stack([x, np.zeros(n)], axis=1), ONE_D[name](x + e))]

    return generate


_GENERATORS = {
    "circle": _circle,
    "xor": _xor,
    "gauss": _gauss,
    "spiral": _spiral,
    "reg-plane": _reg_plane,
    "reg-gauss": _reg_gauss,
    **{name: _one_d(name) for name in ONE_D},
}


def generate(name, n=500, noise=0.0, seed=0, n_classes=2):
    """Points of TF Playground's data set ``name`` (see the module docstring), shuffled.

    Parameters
    ----------
    name : str
        "circle", "xor", "gauss", "spiral" (classification), "reg-plane", "reg-gauss",
        "reg-sine", "reg-step", "reg-bump" (1-D).
    n : int in [2, 10000], default 500
        Number of points, all classes together (split among them as the module docstring says).
    noise : float in [0, 0.5], default 0
        TF Playground's noise slider / 100.
    seed : int >= 0, default 0
        Seeds the points and the shuffle.
    n_classes : int in [2, 5], default 2
        Classes of "gauss" and "spiral" (the others have 2).

    Returns
    -------
    X : ndarray of float64, shape (n, 2)
        Points in TF Playground's units (the view is [-6, 6]^2).
    y : ndarray, shape (n,)
        Class labels 0 .. K-1 (int64) or regression targets (float64, about [-1, 1]).

    Raises
    ------
    ArgumentError
        For an unknown name or a value out of range, naming the argument.
    """
    check_choice("dataset", name, sorted(_GENERATORS))
    n = check_int("numSamples", n, 2, MAX_POINTS)
    noise = check_real("noise", noise, 0.0, 0.5)
    k = check_int("classes", n_classes, 2, MAX_CLASSES) if CLASSIFICATION.get(name) else 2
    rng = np.random.default_rng(check_int("seed", seed, 0))
    parts = _GENERATORS[name](rng, n, noise, k)
    X = np.concatenate([p for p, _ in parts])
    y = np.concatenate([t for _, t in parts])
    order = rng.permutation(len(y))
    return np.ascontiguousarray(X[order]), y[order]


def split(X, y, perc_train=50, seed=0):
    """TF Playground's split: shuffle (here with ``seed``), then the first
    ``floor(n * perc_train / 100)`` points train and the rest test.

    Parameters
    ----------
    X : ndarray, shape (n, d)
        The points.
    y : ndarray, shape (n,)
        Their labels or targets.
    perc_train : int in [10, 90], default 50
        Percentage of the points that train (TF Playground's ``percTrainData``).
    seed : int >= 0, default 0
        Seeds the shuffle.

    Returns
    -------
    X_train, y_train : ndarray, shapes (k, d) and (k,)
        The first k points of the shuffle, k = floor(n * perc_train / 100) kept in [1, n - 1],
        so each part keeps at least one point.
    X_test, y_test : ndarray, shapes (n - k, d) and (n - k,)
        The rest.

    Raises
    ------
    ArgumentError
        For ``perc_train`` (named "percTrainData") or ``seed`` out of range.
    """
    n = len(y)
    perc = check_int("percTrainData", perc_train, 10, 90)
    k = min(max(int(math.floor(n * perc / 100)), 1), n - 1)
    order = np.random.default_rng(check_int("seed", seed, 0)).permutation(n)
    tr, te = order[:k], order[k:]
    return X[tr], y[tr], X[te], y[te]


def features(X, names):
    """The input features ``names`` of the points X, TF Playground's ``constructInput``.

    Parameters
    ----------
    X : array_like, shape (n, 2)
        Points (x1, x2) in TF Playground's units.
    names : iterable of str
        Keys of ``FEATURES``; the columns come in that table's order, whatever the order given.

    Returns
    -------
    ndarray of float64, shape (n, m)
        One column per distinct feature named (m of them).

    Raises
    ------
    ArgumentError
        For a name not in ``FEATURES`` ("feature"), or no name at all ("features").
    """
    X = np.asarray(X, dtype=np.float64)
    for name in names:
        check_choice("feature", name, list(FEATURES))
    ordered = [name for name in FEATURES if name in names]
    if not ordered:
        raise fail("features", "at least one of " + ", ".join(FEATURES), names)
    return np.stack([FEATURES[name][1](X[:, 0], X[:, 1]) for name in ordered], axis=1)


def grid(density=DENSITY, domain=DOMAIN):
    """The view's points, row by row from the top: pixel (r, c) is
    (x1, x2) = (-d + 2 d c / (N - 1), d - 2 d r / (N - 1)), TF Playground's heat map grid.

    Parameters
    ----------
    density : int, default DENSITY (100)
        N, the grid's side in pixels.
    domain : float, default DOMAIN (6.0)
        d: the view is the square [-d, d]^2, in TF Playground's units.

    Returns
    -------
    ndarray of float64, shape (N * N, 2)
        The points (x1, x2), pixel (r, c) at row r * N + c.
    """
    t = np.linspace(-domain, domain, density)
    x1, x2 = np.meshgrid(t, t[::-1])
    return np.stack([x1.ravel(), x2.ravel()], axis=1)


def parse_csv(text, problem="classification"):
    """Points from CSV text: rows ``x1, x2, label`` (a first row of column names is skipped).

    Classification labels are integers 0 .. 4 (or TF's -1 / +1, read as 0 / 1); regression
    targets any finite number. Coordinates outside [-6, 6]^2 or all within [-1, 1]^2 are
    scaled so the largest absolute coordinate is 5, and the scale is returned.

    Parameters
    ----------
    text : str
        The CSV file's content, at most MAX_CSV_BYTES (1,000,000) bytes in UTF-8.
    problem : str, default "classification"
        "classification" reads the third column as a class; anything else as a regression
        target.

    Returns
    -------
    X : ndarray of float64, shape (n, 2)
        The points, scaled.
    y : ndarray, shape (n,)
        Classes (int64) or targets (float64, unscaled).
    scale : float
        The factor applied to the coordinates (1.0 when unscaled).

    Raises
    ------
    ArgumentError
        Naming the CSV's line and what is wrong: more than MAX_CSV_BYTES, more than
        MAX_POINTS rows, fewer than 4 rows, a row without three numbers, a non-finite number,
        a label that is not a class, fewer than two classes.
    """
    if not isinstance(text, str):
        raise fail("csv", "text", text)
    if len(text.encode()) > MAX_CSV_BYTES:
        raise fail("csv", f"at most {MAX_CSV_BYTES:,} bytes", got=f"{len(text.encode()):,} bytes")
    rows = []
    for line, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != 3:
            raise fail(f"csv line {line}", "three columns x1, x2, label", got=f"{len(row)} columns")
        try:
            values = [float(c) for c in row]
        except ValueError:
            if not rows and line == 1:
                continue  # a header
            raise fail(f"csv line {line}", "three numbers x1, x2, label", got=",".join(row)) from None
        if not all(math.isfinite(v) for v in values):
            raise fail(f"csv line {line}", "finite numbers", got=",".join(row))
        rows.append(values)
        if len(rows) > MAX_POINTS:
            raise fail("csv", f"at most {MAX_POINTS:,} rows", got="more")
    if len(rows) < 4:
        raise fail("csv", "at least 4 rows of x1, x2, label", got=f"{len(rows)} rows")
    A = np.array(rows)
    X, t = A[:, :2], A[:, 2]
    if problem == "classification":
        if np.any(t != np.round(t)) or t.min() < -1 or t.max() > MAX_CLASSES - 1:
            bad = t[(t != np.round(t)) | (t < -1) | (t > MAX_CLASSES - 1)][0]
            raise fail("csv label", f"a class 0 .. {MAX_CLASSES - 1} (or -1 / 1)", got=f"{bad:g}")
        y = t.astype(np.int64)
        if (y == -1).any():
            if not np.isin(y, (-1, 1)).all():
                raise fail("csv label", "classes 0 .. 4, or TF Playground's -1 / 1 only", got="-1 with other classes")
            y = (y == 1).astype(np.int64)
        if len(np.unique(y)) < 2:
            raise fail("csv label", "at least two classes", got=f"only class {y[0]}")
    else:
        y = t
    m = float(np.abs(X).max())
    scale = 1.0 if (1.0 <= m <= DOMAIN) or m == 0 else 5.0 / m
    return np.ascontiguousarray(X * scale), y, scale
