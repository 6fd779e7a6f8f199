"""Data augmentation: test accuracy on digits from 100 training images, with and without rotations and shifts.

The lecture's claim: a small training set leads to overfitting, and augmenting it with
label-preserving transforms raises the test accuracy. For each of several random training
subsets (10 images per class, 100 in all; the other 1697 digits are the test set) the same
network, from the same initial weights, is trained without and with augmentation of every
mini-batch: a random rotation of up to +-10 degrees (``augment.RandomRotation``), then for
20 % of the images a shift by one pixel (``augment.RandomShift``). A whole pixel is an
eighth of these 8x8 images, whose digits are centred, so shifting every image would move
the training data away from the test data. Validation and test data are never augmented.
"""

from __future__ import annotations

import numpy as np

from .. import augment, datasets, optim
from .._validation import check_int, check_real, fail
from ..model import MLP
from ..plotting import pyplot, save
from . import POSITIVE_INT

__all__ = ["run", "plot", "table", "add_arguments", "Sometimes", "augmenter"]


class Sometimes:
    """Apply ``aug`` to a random fraction ``p`` of the rows of each batch, keep the others.

    Called as ``fit`` calls an augmenter: ``f(X, rng) -> X_new`` (X is not written to).
    """

    def __init__(self, aug, p):
        self.aug, self.p = aug, check_real("p", p, 0, 1)

    def __call__(self, X, rng=None):
        rng = np.random.default_rng() if rng is None else rng
        out = np.array(self.aug(X, rng), copy=True)
        keep = rng.random(X.shape[0]) >= self.p
        out[keep] = X[keep]
        return out

    def __repr__(self):
        return f"Sometimes({self.aug!r}, p={self.p})"


def augmenter(max_degrees=10.0, shift_p=0.2):
    """The experiment's augmentation: rotate every image, shift a fraction ``shift_p``."""
    return augment.Compose([augment.RandomRotation(max_degrees), Sometimes(augment.RandomShift(1), shift_p)])


def add_arguments(parser):
    parser.add_argument(
        "--splits", type=POSITIVE_INT, default=None, help="random training subsets (default 8, quick 3)"
    )
    parser.add_argument(
        "--n-train", type=POSITIVE_INT, default=100, help="training images, a multiple of 10 (default 100)"
    )


def _subset(y, n_per_class, rng):
    idx = np.concatenate([rng.permutation(np.flatnonzero(y == c))[:n_per_class] for c in range(10)])
    rest = np.setdiff1d(np.arange(len(y)), idx)
    return idx, rest


def run(seed=0, quick=False, splits=None, n_train=100) -> dict:
    """Train without and with augmentation on several small training subsets.

    Parameters
    ----------
    seed : int
        Split i uses seed + i for its subset, its initial weights and its batch order.
    quick : bool
        Three subsets instead of eight (a few seconds).
    splits : int, optional
    n_train : int
        Training images per subset, a multiple of 10 (default 100).

    Returns
    -------
    dict
        ``runs``: per subset, ``accuracy_plain`` and ``accuracy_augmented`` on its test set;
        ``mean_plain``, ``mean_augmented``, ``mean_gain``; ``examples``: a few training
        images and augmented versions of them (8x8 lists), for the figure.
    """
    splits = check_int("splits", (3 if quick else 8) if splits is None else splits, 1)
    if check_int("n_train", n_train, 10) % 10:
        raise fail("n_train", "a positive multiple of 10 (10 classes)", n_train)
    X, y = datasets.load_digits()
    epochs, hidden, batch_size = 100, 512, 10
    runs = []
    for i in range(int(splits)):
        s = seed + i
        idx, rest = _subset(y, int(n_train) // 10, np.random.default_rng(s))
        acc = {}
        for name, aug in (("plain", None), ("augmented", augmenter())):
            model = MLP([64, hidden, 10], activation="relu", output="softmax", seed=s)
            model.fit(
                X[idx],
                y[idx],
                optimizer=optim.SGD(lr=0.05, momentum=0.9),
                epochs=epochs,
                batch_size=batch_size,
                seed=s,
                augment=aug,
                verbose=0,
            )
            acc[name] = float((model.predict_classes(X[rest]) == y[rest]).mean())
        runs.append(
            {
                "seed": s,
                "n_test": int(rest.size),
                "accuracy_plain": acc["plain"],
                "accuracy_augmented": acc["augmented"],
            }
        )
    plain = float(np.mean([r["accuracy_plain"] for r in runs]))
    aug = float(np.mean([r["accuracy_augmented"] for r in runs]))
    ex_rng = np.random.default_rng(seed)
    ex_idx = [int(np.flatnonzero(y == c)[0]) for c in (2, 4, 7)]
    aug_f = augmenter()
    examples = [
        {
            "label": int(y[j]),
            "original": X[j].reshape(8, 8).round(4).tolist(),
            "augmented": [aug_f(X[j : j + 1], ex_rng)[0].reshape(8, 8).round(4).tolist() for _ in range(4)],
        }
        for j in ex_idx
    ]
    return {
        "experiment": "augmentation",
        "seed": seed,
        "quick": bool(quick),
        "n_train": int(n_train),
        "sizes": [64, hidden, 10],
        "optimizer": "SGD(lr=0.05, momentum=0.9)",
        "epochs": epochs,
        "batch_size": batch_size,
        "augmentation": repr(augmenter()),
        "runs": runs,
        "mean_plain": plain,
        "mean_augmented": aug,
        "mean_gain": aug - plain,
        "examples": examples,
    }


def table(result) -> str:
    """Test accuracy per training subset, without and with augmentation."""
    out = [
        f"digits, {result['n_train']} training images per subset, MLP {result['sizes']}, "
        f"{result['epochs']} epochs; augmentation: {result['augmentation']}",
        f"{'subset seed':<12}{'plain':>9}{'augmented':>11}{'gain':>8}",
        "-" * 40,
    ]
    for r in result["runs"]:
        g = r["accuracy_augmented"] - r["accuracy_plain"]
        out.append(f"{r['seed']:<12}{r['accuracy_plain']:>9.3f}{r['accuracy_augmented']:>11.3f}{g:>+8.3f}")
    out.append("-" * 40)
    out.append(f"{'mean':<12}{result['mean_plain']:>9.3f}{result['mean_augmented']:>11.3f}{result['mean_gain']:>+8.3f}")
    return "\n".join(out)


def plot(result, path) -> str:
    """Test accuracy per subset (bars), and a few training digits with augmented versions."""
    plt = pyplot()
    ex = result["examples"]
    n_aug = len(ex[0]["augmented"])
    fig = plt.figure(figsize=(11, 4.2))
    # columns: the bars, a spacer, the original digit, its augmented versions
    grid = fig.add_gridspec(len(ex), 3 + n_aug, width_ratios=[6, 0.4] + [1] * (1 + n_aug), wspace=0.15, hspace=0.15)
    ax = fig.add_subplot(grid[:, 0])
    runs = result["runs"]
    x = np.arange(len(runs) + 1)
    plain = [r["accuracy_plain"] for r in runs] + [result["mean_plain"]]
    aug = [r["accuracy_augmented"] for r in runs] + [result["mean_augmented"]]
    ax.bar(x - 0.2, plain, 0.4, label="without augmentation", color="C7")
    ax.bar(x + 0.2, aug, 0.4, label="with augmentation", color="C0")
    ax.set_xticks(x, [str(r["seed"]) for r in runs] + ["mean"])
    ax.set_xlabel("training subset (seed)")
    ax.set_ylabel("test accuracy")
    lo = min(plain + aug)
    ax.set_ylim(max(0.0, lo - 0.05), min(1.0, max(plain + aug) + 0.03))
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3, axis="y")
    ax.set_title(f"{result['n_train']} training digits: mean gain {100 * result['mean_gain']:+.1f} points")
    for i, e in enumerate(ex):
        for j, img in enumerate([e["original"]] + e["augmented"]):
            a = fig.add_subplot(grid[i, 2 + j])
            a.imshow(np.asarray(img), cmap="gray_r", vmin=0, vmax=1)
            a.set_xticks([])
            a.set_yticks([])
            if i == 0:
                a.set_title("original" if j == 0 else "augmented", fontsize=8)
    return save(fig, path)
