"""Tests for mlplab.augment: exact kernels, statistics, determinism, purity, dtypes, errors."""

import json
import re

import numpy as np
import pytest

from mlplab import augment
from mlplab.augment import (
    Compose,
    GaussianNoise,
    RandomFlip,
    RandomRotation,
    RandomShift,
    flip_images,
    from_config,
    rotate_images,
    shift_images,
)


@pytest.fixture(params=[np.float32, np.float64], ids=["float32", "float64"])
def dtype(request):
    return request.param


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def digits_like(rng):
    """A batch of 16 flat 8x8 'images' with distinct values, so any misplaced pixel shows."""
    return rng.uniform(0.0, 1.0, size=(16, 64))


def all_augmenters():
    return [
        GaussianNoise(0.1, seed=0),
        RandomShift(2, seed=0),
        RandomRotation(20, seed=0),
        RandomFlip(horizontal=True, vertical=True, seed=0),
        Compose([RandomShift(1, seed=0), RandomRotation(10, seed=1), GaussianNoise(0.05, seed=2)]),
    ]


AUG_IDS = ["noise", "shift", "rotation", "flip", "compose"]


def roll_with_fill(img, dy, dx, fill=0.0):
    """Reference shift for one 2-D image: np.roll, then blank what wrapped around."""
    out = np.roll(img, (dy, dx), axis=(0, 1)).copy()
    if dy > 0:
        out[:dy, :] = fill
    elif dy < 0:
        out[dy:, :] = fill
    if dx > 0:
        out[:, :dx] = fill
    elif dx < 0:
        out[:, dx:] = fill
    return out


# ------------------------------------------------------------------ kernels


@pytest.mark.parametrize("dy, dx", [(1, 0), (0, 1), (1, 1), (-1, 2), (0, -3), (8, 0), (-9, 1)])
def test_shift_images_matches_roll_with_fill(digits_like, dy, dx):
    images = digits_like.reshape(-1, 8, 8)
    out = shift_images(images, dy, dx, fill=0.0)
    for i in range(len(images)):
        np.testing.assert_array_equal(out[i], roll_with_fill(images[i], dy, dx))


def test_shift_images_per_sample_shifts_and_fill(digits_like):
    images = digits_like.reshape(-1, 8, 8)
    dy = np.arange(16) % 5 - 2
    dx = (np.arange(16) * 3) % 5 - 2
    out = shift_images(images, dy, dx, fill=-1.0)
    for i in range(len(images)):
        np.testing.assert_array_equal(out[i], roll_with_fill(images[i], dy[i], dx[i], fill=-1.0))


def test_rotate_images_zero_is_identity(digits_like):
    images = digits_like.reshape(-1, 8, 8)
    np.testing.assert_array_equal(rotate_images(images, np.zeros(16)), images)


@pytest.mark.parametrize("size", [8, 7])  # even and odd sides: centre between or on pixels
def test_rotate_images_quarter_turns_match_rot90(rng, size):
    images = rng.uniform(size=(4, size, size))
    for k, angle in [(1, 90.0), (2, 180.0), (3, 270.0), (3, -90.0)]:
        out = rotate_images(images, np.full(4, angle))
        np.testing.assert_allclose(out, np.rot90(images, k, axes=(1, 2)), atol=1e-12)


def test_rotate_images_per_sample_angles(rng):
    images = rng.uniform(size=(3, 6, 6))
    out = rotate_images(images, np.array([0.0, 90.0, 180.0]))
    np.testing.assert_allclose(out[0], images[0], atol=1e-12)
    np.testing.assert_allclose(out[1], np.rot90(images[1]), atol=1e-12)
    np.testing.assert_allclose(out[2], np.rot90(images[2], 2), atol=1e-12)


def test_rotate_images_bilinear_half_pixel():
    # The centre pixel maps to itself for any angle.
    images = np.arange(9, dtype=np.float64).reshape(1, 3, 3)
    out = rotate_images(images, 45.0, fill=0.0)
    assert out[0, 1, 1] == 4.0
    # Output (0, 1) (offset y=-1, x=0) pulls from y_src = cos45*-1, x_src = -sin45*-1:
    # source (1 - 0.7071, 1 + 0.7071) = (0.2929, 1.7071), between pixels (0,1), (0,2),
    # (1,1) and (1,2).
    s = np.sqrt(0.5)
    fy, fx = 1 - s, s  # fractional parts of 0.2929 and 1.7071
    expected = (1 - fy) * (1 - fx) * 1 + (1 - fy) * fx * 2 + fy * (1 - fx) * 4 + fy * fx * 5
    np.testing.assert_allclose(out[0, 0, 1], expected, rtol=1e-12)


def test_flip_images_kernel(digits_like):
    images = digits_like.reshape(-1, 8, 8)
    h = np.arange(16) % 2 == 0
    v = np.arange(16) % 3 == 0
    out = flip_images(images, h, v)
    for i in range(16):
        expected = images[i]
        if h[i]:
            expected = expected[:, ::-1]
        if v[i]:
            expected = expected[::-1, :]
        np.testing.assert_array_equal(out[i], expected)


# ------------------------------------------------------------------ augmenters


def test_gaussian_noise_std_matches(rng):
    X = np.full((200, 500), 3.0)
    out = GaussianNoise(0.25)(X, rng=rng)
    delta = out - X
    # 1e5 draws: the sample std has relative sd about 1/sqrt(2e5) ~ 0.0022; 2% is ~9 sigma.
    np.testing.assert_allclose(delta.std(), 0.25, rtol=0.02)
    assert abs(delta.mean()) < 0.01  # sd of the mean is 0.25 / sqrt(1e5) ~ 0.0008


def test_gaussian_noise_any_shape_and_zero_std(rng):
    X = rng.normal(size=(3, 4, 5, 2))
    assert GaussianNoise(0.1)(X, rng=rng).shape == X.shape
    out = GaussianNoise(0.0)(X, rng=rng)
    np.testing.assert_array_equal(out, X)
    assert out is not X


def test_shift_max_zero_is_identity(digits_like):
    out = RandomShift(max_shift=0, seed=0)(digits_like)
    np.testing.assert_array_equal(out, digits_like)


def test_rotation_zero_degrees_is_identity(digits_like):
    out = RandomRotation(max_degrees=0, seed=0)(digits_like)
    np.testing.assert_array_equal(out, digits_like)


def test_flip_p_zero_and_one(digits_like):
    np.testing.assert_array_equal(RandomFlip(p=0.0, seed=0)(digits_like), digits_like)
    out = RandomFlip(p=1.0, seed=0)(digits_like)
    expected = digits_like.reshape(-1, 8, 8)[:, :, ::-1].reshape(-1, 64)
    np.testing.assert_array_equal(out, expected)
    out = RandomFlip(horizontal=False, vertical=True, p=1.0, seed=0)(digits_like)
    expected = digits_like.reshape(-1, 8, 8)[:, ::-1, :].reshape(-1, 64)
    np.testing.assert_array_equal(out, expected)


def test_flip_frequency_close_to_p():
    X = np.arange(2, dtype=np.float64)[None, :].repeat(10000, axis=0)  # image_shape (1, 2)
    out = RandomFlip(p=0.3, seed=0, image_shape=(1, 2))(X)
    flipped = out[:, 0] == 1.0
    # Binomial(1e4, 0.3) has sd ~ 0.0046 in frequency.
    assert abs(flipped.mean() - 0.3) < 0.02


def test_random_shift_outputs_are_valid_shifts(digits_like):
    # Every output row must equal roll_with_fill of its input for some |dy|, |dx| <= 1.
    out = RandomShift(max_shift=1, seed=0)(digits_like).reshape(-1, 8, 8)
    images = digits_like.reshape(-1, 8, 8)
    seen = set()
    for i in range(len(images)):
        matches = [
            (dy, dx)
            for dy in (-1, 0, 1)
            for dx in (-1, 0, 1)
            if np.array_equal(out[i], roll_with_fill(images[i], dy, dx))
        ]
        assert len(matches) == 1
        seen.add(matches[0])
    assert len(seen) > 1  # the shifts are random, not one shift for the whole batch


def test_image_augmenters_accept_flat_and_3d(digits_like):
    images = digits_like.reshape(-1, 8, 8)
    for aug_cls in (RandomShift, RandomRotation, RandomFlip):
        flat = aug_cls(seed=5)(digits_like)
        cube = aug_cls(seed=5)(images)
        assert flat.shape == digits_like.shape and cube.shape == images.shape
        np.testing.assert_array_equal(flat.reshape(images.shape), cube)


def test_non_square_image_shape(rng):
    X = rng.uniform(size=(5, 12))
    for aug in (
        RandomShift(1, seed=0, image_shape=(3, 4)),
        RandomRotation(30, seed=0, image_shape=(3, 4)),
        RandomFlip(seed=0, image_shape=(3, 4)),
    ):
        assert aug(X).shape == (5, 12)


@pytest.mark.parametrize("i", range(5), ids=AUG_IDS)
def test_seeded_augmenters_are_deterministic(i, digits_like):
    a, b = all_augmenters()[i], all_augmenters()[i]
    first = a(digits_like)
    np.testing.assert_array_equal(first, b(digits_like))
    # The own Generator advances, so a second batch differs from the first.
    assert not np.array_equal(a(digits_like), first)


@pytest.mark.parametrize("i", range(5), ids=AUG_IDS)
def test_external_rng_drives_the_draws(i, digits_like):
    a, b = all_augmenters()[i], all_augmenters()[i]
    out_a = a(digits_like, rng=np.random.default_rng(42))
    out_b = b(digits_like, rng=np.random.default_rng(42))
    np.testing.assert_array_equal(out_a, out_b)
    out_c = b(digits_like, rng=np.random.default_rng(43))
    assert not np.array_equal(out_a, out_c)


@pytest.mark.parametrize("i", range(5), ids=AUG_IDS)
def test_input_never_modified_and_dtype_kept(i, digits_like, dtype):
    X = digits_like.astype(dtype)
    before = X.copy()
    out = all_augmenters()[i](X)
    np.testing.assert_array_equal(X, before)
    assert out is not X and not np.shares_memory(out, X)
    assert out.dtype == dtype and out.shape == X.shape


def test_float32_matches_float64_transform(digits_like):
    out32 = RandomRotation(20, seed=3)(digits_like.astype(np.float32))
    out64 = RandomRotation(20, seed=3)(digits_like)
    np.testing.assert_allclose(out32, out64, atol=1e-6)


def test_integer_input_shift_keeps_dtype_noise_promotes():
    X = np.arange(64 * 2, dtype=np.int32).reshape(2, 64)
    assert RandomShift(1, seed=0)(X).dtype == np.int32
    assert GaussianNoise(0.1, seed=0)(X).dtype == np.float64


def test_compose_applies_in_order_with_same_rng(digits_like):
    steps = [RandomShift(1), RandomRotation(10), GaussianNoise(0.05)]
    out = Compose(steps)(digits_like, rng=np.random.default_rng(7))
    r = np.random.default_rng(7)
    expected = digits_like
    for step in steps:
        expected = step(expected, rng=r)
    np.testing.assert_array_equal(out, expected)


def test_compose_empty_returns_copy(digits_like):
    out = Compose([])(digits_like)
    np.testing.assert_array_equal(out, digits_like)
    assert out is not digits_like


@pytest.mark.parametrize("i", range(5), ids=AUG_IDS)
def test_config_round_trip(i, digits_like):
    aug = all_augmenters()[i]
    cfg = aug.get_config()
    cfg = json.loads(json.dumps(cfg))  # JSON-serialisable
    rebuilt = from_config(cfg)
    assert type(rebuilt) is type(aug)
    assert rebuilt.get_config() == cfg
    # Same seed, fresh Generator: identical first batch.
    np.testing.assert_array_equal(rebuilt(digits_like), all_augmenters()[i](digits_like))


def test_from_config_unknown_name():
    with pytest.raises(ValueError, match=re.escape('cfg["name"]') + " must be one of .*GaussianNoise.*, got 'Blur'"):
        from_config({"name": "Blur"})


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: GaussianNoise(-1.0), "std"),
        (lambda: GaussianNoise(float("nan")), "std"),
        (lambda: GaussianNoise(float("inf")), "std"),
        (lambda: RandomShift(-1), "max_shift"),
        (lambda: RandomShift(1.5), "max_shift"),
        (lambda: RandomShift(8), r"^max_shift must be an int in \[0, 7\], got 8"),  # the whole 8 x 8 image
        (lambda: RandomShift(4, image_shape=(4, 16)), r"^max_shift must be an int in \[0, 3\], got 4"),
        (lambda: RandomRotation(-5), "max_degrees"),
        (lambda: RandomFlip(p=1.5), r"p must .*\[0, 1\]"),
        (lambda: RandomFlip(p=-0.1), r"p must .*\[0, 1\]"),
        (lambda: RandomShift(image_shape=(8,)), "image_shape"),
        (lambda: RandomShift(image_shape=(0, 8)), "image_shape"),
        (lambda: RandomShift(fill="black"), "fill"),
        (lambda: GaussianNoise(0.1, seed=1.5), "seed"),
        (lambda: Compose([1]), r"augmenters\[0\]"),
    ],
)
def test_bad_arguments_raise(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("aug_cls", [RandomShift, RandomRotation, RandomFlip])
@pytest.mark.parametrize("shape", [(4, 63), (4, 8, 7), (64,), (4, 2, 8, 4)])
def test_wrong_image_shape_raises_with_shapes(aug_cls, shape):
    expected = r"X must be of shape \(n, 64\) or \(n, 8, 8\).*got shape " + re.escape(str(shape))
    with pytest.raises(ValueError, match=expected):
        aug_cls(seed=0)(np.zeros(shape))


def test_newly_checked_arguments_are_named():
    # Compose(5) used to fail with list()'s unnamed TypeError, seed=-1 with numpy's unnamed ValueError
    with pytest.raises(TypeError, match="augmenters must be a sequence of augmenters, got 5"):
        Compose(5)
    with pytest.raises(ValueError, match=r"cfg must be a dict .*, got 'GaussianNoise'"):
        from_config("GaussianNoise")
    with pytest.raises(ValueError, match=r"seed must be None or an int >= 0, got -1"):
        GaussianNoise(0.1, seed=-1)
    # fill stays any real number, NaN and infinity included, NumPy scalars too
    assert np.isnan(RandomShift(fill=float("nan")).fill)
    assert RandomRotation(fill=np.float32(-1.0)).fill == -1.0
    assert RandomShift(max_shift=np.int64(2), image_shape=np.array([4, 4])).image_shape == (4, 4)


def test_bad_rng_type_raises(digits_like):
    with pytest.raises(TypeError, match="rng"):
        GaussianNoise(0.1)(digits_like, rng=0)
    with pytest.raises(TypeError, match="rng"):
        Compose([GaussianNoise(0.1)])(digits_like, rng=np.random.RandomState(0))


def test_all_is_complete():
    for name in augment.__all__:
        assert hasattr(augment, name)
