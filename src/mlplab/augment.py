"""On-the-fly data augmentation: random, seeded transforms of one mini-batch at a time.

Each augmenter is a small object called as ``aug(X, rng=None) -> X_new``:

* ``X`` is a batch, with samples along axis 0. Image augmenters take either flat rows of
  ``H * W`` features (the digits' 64 columns) or images of shape ``(n, H, W)``, and return the
  same layout they were given.
* The result is a new array; ``X`` is never written to. Floating ``X`` keeps its dtype (float32
  stays float32; the arithmetic is done in float64 and cast back, so a float32 batch gets the
  same transform as its float64 twin). Shifts and flips only move values, so they keep any
  dtype; noise and rotation turn an integer ``X`` into float64.
* ``rng`` is a ``numpy.random.Generator``, normally the training loop's, so that one seed
  fixes the whole run. Without it the augmenter draws from its own Generator, made once from
  the ``seed`` constructor argument and advanced by every call: two augmenters built with the
  same seed produce the same sequence of batches.
* All work is vectorised over the batch: per-sample random parameters are drawn as arrays and
  applied with broadcasting and fancy indexing, never with a Python loop over samples.

The deterministic kernels ``shift_images``, ``rotate_images`` and ``flip_images`` take the
per-sample parameters explicitly, for tests and for reuse.

``get_config()`` returns a JSON-serialisable dict with the class name under ``"name"``;
``from_config(cfg)`` rebuilds the augmenter (with a fresh Generator from the recorded seed).
"""

import numbers

import numpy as np

from ._validation import (
    as_numeric_array,
    check_bool,
    check_callable,
    check_instance,
    check_int,
    check_real,
    check_seed,
    fail,
)

__all__ = [
    "Augmenter",
    "GaussianNoise",
    "RandomShift",
    "RandomRotation",
    "RandomFlip",
    "Compose",
    "AUGMENTERS",
    "from_config",
    "shift_images",
    "rotate_images",
    "flip_images",
]


# ---------------------------------------------------------------------------------------------
# argument checks and layout helpers
# ---------------------------------------------------------------------------------------------


def _image_shape(image_shape):
    """``(H, W)`` as two ints >= 1, or raise naming ``image_shape``."""
    try:
        shape = tuple(image_shape)
    except TypeError:
        shape = None
    if shape is None or len(shape) != 2:
        raise fail("image_shape", "a pair of ints (H, W)", image_shape)
    return (check_int("image_shape[0]", shape[0], 1), check_int("image_shape[1]", shape[1], 1))


def _fill(fill):
    """A real number, NaN and infinity included (they are valid pixel values), or raise naming ``fill``."""
    if isinstance(fill, (bool, np.bool_)) or not isinstance(fill, numbers.Real):
        raise fail("fill", "a real number", fill)
    return float(fill)


def _as_images(X, image_shape):
    """View a batch as images ``(n, H, W)``; flat rows ``(n, H*W)`` are reshaped (no copy)."""
    X = np.asarray(X)
    H, W = image_shape
    if X.ndim == 2 and X.shape[1] == H * W:
        return X.reshape(X.shape[0], H, W)
    if X.ndim == 3 and X.shape[1:] == (H, W):
        return X
    raise fail("X", f"of shape (n, {H * W}) or (n, {H}, {W}) for image_shape={image_shape}", got=f"shape {X.shape}")


def _check_images(images):
    """The argument ``images`` of the kernels: a real array (n, H, W)."""
    A = as_numeric_array(images, "images")
    if A.dtype.kind not in "biuf" or A.ndim != 3:
        raise fail("images", "an array of real numbers of shape (n, H, W)", got=f"shape {A.shape}, dtype {A.dtype}")
    return A


def _per_image(name, value, n, kinds, what):
    """A scalar or an array of shape (n,) of the dtype kinds ``kinds``, broadcast to (n,)."""
    A = as_numeric_array(value, name)
    if A.dtype.kind not in kinds or A.shape not in ((), (n,)) or (A.dtype.kind == "f" and not np.isfinite(A).all()):
        raise fail(name, f"{what}: a scalar or an array of shape ({n},)", got=f"shape {A.shape}, dtype {A.dtype}")
    return np.broadcast_to(A, (n,))


def _float_work(X):
    """The dtype to return for arithmetic transforms: X's own if floating, else float64."""
    return X.dtype if np.issubdtype(X.dtype, np.floating) else np.dtype(np.float64)


# ---------------------------------------------------------------------------------------------
# deterministic kernels, vectorised over the batch
# ---------------------------------------------------------------------------------------------


def shift_images(images, dy, dx, fill=0.0):
    """Translate each image by a whole number of pixels, filling the uncovered border.

    ::

        out[i, r, c] = images[i, r - dy[i], c - dx[i]]   if that pixel exists
                     = fill                             otherwise

    so ``dy > 0`` moves content down and ``dx > 0`` moves it right: ``np.roll`` with the
    wrapped-around part replaced by ``fill``.

    Parameters
    ----------
    images : ndarray, shape (n, H, W)
        Real images (any real dtype).
    dy, dx : array of int, shape (n,) or scalar
        Row and column shift of each image, in pixels.
    fill : float, default 0.0
        Value of the uncovered pixels (NaN and infinity allowed).

    Returns
    -------
    ndarray, shape (n, H, W)
        A new array, of the dtype of ``images``.

    Raises
    ------
    ArgumentError
        ``images`` not a real array (n, H, W); shifts not integers of shape () or (n,);
        ``fill`` not a real number.
    """
    images = _check_images(images)
    n, H, W = images.shape
    dy = _per_image("dy", dy, n, "iu", "integer shifts").astype(np.int64)
    dx = _per_image("dx", dx, n, "iu", "integer shifts").astype(np.int64)
    fill = _fill(fill)
    rows = np.arange(H)[None, :] - dy[:, None]  # (n, H) source row of each output row
    cols = np.arange(W)[None, :] - dx[:, None]  # (n, W)
    valid = ((rows >= 0) & (rows < H))[:, :, None] & ((cols >= 0) & (cols < W))[:, None, :]
    # Gather from clipped indices, then overwrite the pixels that came from outside the image.
    out = images[
        np.arange(n)[:, None, None],
        np.clip(rows, 0, H - 1)[:, :, None],
        np.clip(cols, 0, W - 1)[:, None, :],
    ]
    return np.where(valid, out, np.asarray(fill).astype(images.dtype))


def rotate_images(images, angles, fill=0.0):
    """Rotate each image about its centre by ``angles[i]`` degrees, with bilinear interpolation.

    Positive angles turn the picture counter-clockwise as displayed (row 0 at the top), so
    ``angles = 90`` agrees with ``np.rot90`` on a square image. Each output pixel is pulled
    from the source (inverse mapping), with offsets from the centre
    ``(cy, cx) = ((H - 1) / 2, (W - 1) / 2)``::

        y, x   = r - cy, c - cx                       (output pixel, rows pointing down)
        x_src  = cos(a) x - sin(a) y
        y_src  = sin(a) x + cos(a) y
        out[i, r, c] = bilinear(images[i], cy + y_src, cx + x_src)

    ``bilinear`` weights the four neighbouring pixels by ``(1 - fy)(1 - fx)``, ``(1 - fy) fx``,
    ``fy (1 - fx)`` and ``fy fx``, where ``fy, fx`` are the fractional parts of the source
    coordinate; a neighbour outside the image contributes ``fill``.

    Parameters
    ----------
    images : ndarray, shape (n, H, W)
        Real images (any real dtype; computed in float64).
    angles : array of float, shape (n,) or scalar
        Rotation of each image in degrees.
    fill : float, default 0.0
        Value outside the source image (NaN and infinity allowed).

    Returns
    -------
    ndarray of float64, shape (n, H, W)
        The caller casts back to the input dtype.

    Raises
    ------
    ArgumentError
        ``images`` not a real array (n, H, W); angles not finite reals of shape () or (n,);
        ``fill`` not a real number.
    """
    images = _check_images(images).astype(np.float64)
    n, H, W = images.shape
    a = np.deg2rad(_per_image("angles", angles, n, "iuf", "finite angles in degrees").astype(np.float64))
    a = a[:, None, None]
    fill = _fill(fill)
    cos, sin = np.cos(a), np.sin(a)
    cy, cx = (H - 1) / 2.0, (W - 1) / 2.0
    y = (np.arange(H, dtype=np.float64) - cy)[None, :, None]
    x = (np.arange(W, dtype=np.float64) - cx)[None, None, :]
    ys = cy + sin * x + cos * y  # (n, H, W) source row
    xs = cx + cos * x - sin * y  # (n, H, W) source column
    # cos(90 deg) is 6e-17, not 0; snapping near-integers keeps right-angle turns and the
    # identity exact instead of mixing in 1e-16 of a neighbour (or of fill).
    ys = np.where(np.abs(ys - np.rint(ys)) < 1e-9, np.rint(ys), ys)
    xs = np.where(np.abs(xs - np.rint(xs)) < 1e-9, np.rint(xs), xs)
    r0 = np.floor(ys).astype(np.int64)
    c0 = np.floor(xs).astype(np.int64)
    fy = ys - r0
    fx = xs - c0
    batch = np.arange(n)[:, None, None]

    def corner(r, c):
        inside = (r >= 0) & (r < H) & (c >= 0) & (c < W)
        values = images[batch, np.clip(r, 0, H - 1), np.clip(c, 0, W - 1)]
        return np.where(inside, values, fill)

    return (
        (1 - fy) * (1 - fx) * corner(r0, c0)
        + (1 - fy) * fx * corner(r0, c0 + 1)
        + fy * (1 - fx) * corner(r0 + 1, c0)
        + fy * fx * corner(r0 + 1, c0 + 1)
    )


def flip_images(images, flip_h, flip_v):
    """Mirror chosen images left-right and/or top-bottom.

    ::

        out[i] = images[i, :, ::-1]  if flip_h[i]  (then)
        out[i] = out[i, ::-1, :]     if flip_v[i]

    Parameters
    ----------
    images : ndarray, shape (n, H, W)
        Real images (any real dtype).
    flip_h, flip_v : array of bool, shape (n,) or scalar
        Which images to mirror left-right, and which top-bottom.

    Returns
    -------
    ndarray, shape (n, H, W)
        A new array, of the dtype of ``images``.

    Raises
    ------
    ArgumentError
        ``images`` not a real array (n, H, W); flips not booleans of shape () or (n,).
    """
    images = _check_images(images)
    n = images.shape[0]
    flip_h = _per_image("flip_h", flip_h, n, "b", "booleans")[:, None, None]
    flip_v = _per_image("flip_v", flip_v, n, "b", "booleans")[:, None, None]
    out = np.where(flip_h, images[:, :, ::-1], images)
    return np.where(flip_v, out[:, ::-1, :], out)


# ---------------------------------------------------------------------------------------------
# augmenters
# ---------------------------------------------------------------------------------------------


class Augmenter:
    """Base class: owns the seed, the fallback Generator and the config round trip.

    A subclass sets its hyperparameters in ``__init__`` (after calling
    ``super().__init__(seed)``), lists them in ``_config()``, and writes ``__call__``,
    getting its Generator from ``self._rng(rng)``.

    Parameters
    ----------
    seed : None or int >= 0, default None
        Seed of the Generator used when a call gets no ``rng``.

    Raises
    ------
    ArgumentError
        ``seed`` neither None nor an int >= 0; at a call, an ``rng`` that is not a numpy
        Generator, or an X of the wrong shape for ``image_shape``.
    """

    def __init__(self, seed=None):
        self.seed = check_seed("seed", seed)
        self._own_rng = np.random.default_rng(self.seed)

    def _rng(self, rng):
        if rng is None:
            return self._own_rng
        return check_instance("rng", rng, np.random.Generator, "a numpy.random.Generator or None")

    def _config(self):
        return {}

    def get_config(self):
        """JSON-serialisable dict: ``{"name": class name, **constructor arguments}``.

        Returns
        -------
        dict
            What ``from_config`` rebuilds the augmenter from.
        """
        return {"name": type(self).__name__, **self._config(), "seed": self.seed}

    def __call__(self, X, rng=None):
        raise NotImplementedError

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({args})"


class GaussianNoise(Augmenter):
    """Add independent Gaussian noise to every entry: ``X + std * Z``, ``Z ~ N(0, 1)``.

    Works on any input shape. The noise is drawn in float64 and the sum cast to X's dtype.

    Parameters
    ----------
    std : float
        Standard deviation of the noise, finite and >= 0 (0 returns a copy of X), in X's units.
    seed : None or int
        Seed of the Generator used when ``__call__`` gets no ``rng``.

    Raises
    ------
    ArgumentError
        ``std`` < 0 or not finite, an invalid ``seed``.
    """

    def __init__(self, std, seed=None):
        super().__init__(seed)
        self.std = check_real("std", std, 0.0)

    def _config(self):
        return {"std": self.std}

    def __call__(self, X, rng=None):
        X = np.asarray(X)
        noise = self._rng(rng).standard_normal(size=X.shape)
        return (X + self.std * noise).astype(_float_work(X), copy=False)


class _ImageAugmenter(Augmenter):
    def __init__(self, seed=None, image_shape=(8, 8)):
        super().__init__(seed)
        self.image_shape = _image_shape(image_shape)

    def _config(self):
        return {"image_shape": list(self.image_shape)}


class RandomShift(_ImageAugmenter):
    """Translate each image by a random whole number of pixels, filling with ``fill``.

    For each sample ``i``, independently::

        dy_i, dx_i ~ uniform{-max_shift, ..., max_shift}
        out[i, r, c] = X[i, r - dy_i, c - dx_i]   (fill where that pixel is outside)

    See ``shift_images``. ``max_shift=0`` is the identity.

    Parameters
    ----------
    max_shift : int, default 1
        Largest shift in pixels along each axis, >= 0.
    seed : None or int
        Seed of the Generator used when ``__call__`` gets no ``rng``.
    image_shape : (int, int), default (8, 8)
        ``(H, W)``; X may be ``(n, H*W)`` or ``(n, H, W)``.
    fill : float, default 0.0
        Value of the pixels uncovered by the shift (0 is the digits' background).

    Raises
    ------
    ArgumentError
        ``max_shift`` < 0 or at least the image's shorter side (nothing of the image would be
        left), an invalid ``image_shape``, ``fill`` or ``seed``.
    """

    def __init__(self, max_shift=1, seed=None, image_shape=(8, 8), fill=0.0):
        super().__init__(seed, image_shape)
        # a shift of a whole side leaves nothing of the image: fill only
        self.max_shift = check_int("max_shift", max_shift, 0, min(self.image_shape) - 1)
        self.fill = _fill(fill)

    def _config(self):
        return {"max_shift": self.max_shift, **super()._config(), "fill": self.fill}

    def __call__(self, X, rng=None):
        X = np.asarray(X)
        images = _as_images(X, self.image_shape)
        dy, dx = self._rng(rng).integers(-self.max_shift, self.max_shift, size=(2, images.shape[0]), endpoint=True)
        return shift_images(images, dy, dx, self.fill).reshape(X.shape)


class RandomRotation(_ImageAugmenter):
    """Rotate each image about its centre by a random angle, with bilinear interpolation.

    For each sample ``i``, independently::

        a_i ~ U(-max_degrees, max_degrees)      (degrees, counter-clockwise as displayed)
        out[i] = rotate(X[i], a_i)               (see rotate_images for the mapping)

    Corners rotated in from outside the image take ``fill``. On 8x8 digits, interpolation
    blurs strokes a little; keep ``max_degrees`` small (10-15).

    Parameters
    ----------
    max_degrees : float, default 15
        Largest rotation in degrees, finite and >= 0 (0 is the identity).
    seed : None or int
        Seed of the Generator used when ``__call__`` gets no ``rng``.
    image_shape : (int, int), default (8, 8)
        ``(H, W)``; X may be ``(n, H*W)`` or ``(n, H, W)``.
    fill : float, default 0.0
        Value outside the original image.

    Raises
    ------
    ArgumentError
        ``max_degrees`` < 0 or not finite, an invalid ``image_shape``, ``fill`` or ``seed``.
    """

    def __init__(self, max_degrees=15, seed=None, image_shape=(8, 8), fill=0.0):
        super().__init__(seed, image_shape)
        self.max_degrees = check_real("max_degrees", max_degrees, 0.0)
        self.fill = _fill(fill)

    def _config(self):
        return {"max_degrees": self.max_degrees, **super()._config(), "fill": self.fill}

    def __call__(self, X, rng=None):
        X = np.asarray(X)
        images = _as_images(X, self.image_shape)
        angles = self._rng(rng).uniform(-self.max_degrees, self.max_degrees, size=images.shape[0])
        out = rotate_images(images, angles, self.fill)
        return out.reshape(X.shape).astype(_float_work(X), copy=False)


class RandomFlip(_ImageAugmenter):
    """Mirror each image with probability ``p``, left-right and/or top-bottom.

    For each sample ``i``, independently for each enabled axis::

        h_i ~ Bernoulli(p)  if horizontal else 0      (mirror columns: c -> W - 1 - c)
        v_i ~ Bernoulli(p)  if vertical   else 0      (mirror rows:    r -> H - 1 - r)

    Only for data whose label survives the mirror (symmetric shapes, most natural photos left to
    right). It is wrong for digits: a mirrored 2, 3, 4, 7 or 9 is no longer that digit.

    Parameters
    ----------
    horizontal : bool, default True
        Allow left-right mirroring.
    vertical : bool, default False
        Allow top-bottom mirroring.
    p : float, default 0.5
        Probability of each enabled flip, in [0, 1].
    seed : None or int
        Seed of the Generator used when ``__call__`` gets no ``rng``.
    image_shape : (int, int), default (8, 8)
        ``(H, W)``; X may be ``(n, H*W)`` or ``(n, H, W)``.

    Raises
    ------
    ArgumentError
        ``horizontal`` or ``vertical`` not a bool, ``p`` outside [0, 1], an invalid
        ``image_shape`` or ``seed``.
    """

    def __init__(self, horizontal=True, vertical=False, p=0.5, seed=None, image_shape=(8, 8)):
        super().__init__(seed, image_shape)
        self.horizontal = check_bool("horizontal", horizontal)
        self.vertical = check_bool("vertical", vertical)
        self.p = check_real("p", p, 0, 1)

    def _config(self):
        return {
            "horizontal": self.horizontal,
            "vertical": self.vertical,
            "p": self.p,
            **super()._config(),
        }

    def __call__(self, X, rng=None):
        X = np.asarray(X)
        images = _as_images(X, self.image_shape)
        # Both axes are always drawn so that enabling one does not change the other's stream.
        h, v = self._rng(rng).random(size=(2, images.shape[0])) < self.p
        out = flip_images(images, h & self.horizontal, v & self.vertical)
        return out.reshape(X.shape)


class Compose(Augmenter):
    """Apply augmenters in order: ``out = a_k(... a_2(a_1(X, rng), rng) ..., rng)``.

    Every step gets the same ``rng``; with ``rng=None`` each step uses its own Generator.

    Parameters
    ----------
    augmenters : sequence of Augmenter (or callables ``f(X, rng=None)``)
        The steps, in order (none: a copy of X).

    Raises
    ------
    ArgumentError
        ``augmenters`` not a sequence, or a step that is not callable.
    """

    def __init__(self, augmenters):
        super().__init__(None)
        try:
            self.augmenters = list(augmenters)
        except TypeError:
            raise fail("augmenters", "a sequence of augmenters", augmenters) from None
        for i, aug in enumerate(self.augmenters):
            check_callable(f"augmenters[{i}]", aug, "callable as f(X, rng=None)")

    def get_config(self):
        """``{"name": "Compose", "augmenters": [each step's config]}``.

        Returns
        -------
        dict
            What ``from_config`` rebuilds the composition from (every step must be an
            Augmenter: a plain function has no ``get_config``, and raises AttributeError).
        """
        return {"name": "Compose", "augmenters": [a.get_config() for a in self.augmenters]}

    def __call__(self, X, rng=None):
        # Validate once here: each step would otherwise fall back to its own Generator silently.
        if rng is not None:
            self._rng(rng)
        out = np.asarray(X)
        for aug in self.augmenters:
            out = aug(out, rng=rng)
        # With no steps, still honour "never returns X itself".
        return out.copy() if out is X else out

    def __repr__(self):
        return f"Compose({self.augmenters!r})"


AUGMENTERS = {cls.__name__: cls for cls in (GaussianNoise, RandomShift, RandomRotation, RandomFlip, Compose)}


def from_config(cfg):
    """Rebuild an augmenter from ``get_config()`` output.

    Parameters
    ----------
    cfg : dict
        ``{"name": one of AUGMENTERS, **constructor arguments}``; Compose nests its steps'
        configs under ``"augmenters"``.

    Returns
    -------
    Augmenter
        A new object whose own Generator restarts from the recorded seed.

    Raises
    ------
    ArgumentError (a ValueError)
        If ``cfg`` is not a dict or has no known ``"name"``; the message lists the valid names;
        or an argument value the class refuses. (An argument the class does not take raises
        Python's TypeError, a Compose without "augmenters" KeyError.)
    """
    if not isinstance(cfg, dict):
        raise fail("cfg", 'a dict {"name": ..., **arguments}', cfg)
    name = cfg.get("name")
    if not isinstance(name, str) or name not in AUGMENTERS:
        raise fail('cfg["name"]', f"one of {sorted(AUGMENTERS)}", name)
    kwargs = {k: v for k, v in cfg.items() if k != "name"}
    cls = AUGMENTERS[cfg["name"]]
    if cls is Compose:
        return Compose([from_config(c) for c in kwargs["augmenters"]])
    return cls(**kwargs)
