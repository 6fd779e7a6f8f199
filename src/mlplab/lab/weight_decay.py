"""Weight decay: no penalty, L2, L1 and elastic net on one network; weight histograms, sparsity, test accuracy.

The lecture's claim: the L2 (ridge) penalty keeps the weights small, the L1 (lasso) penalty
drives the weights of the least useful inputs to zero, a sparse model; the elastic net sits
between. The same network (same initial weights, same mini-batches) is trained on the 8x8
digits with each penalty of the same strength lam. For each run: the fraction of weights
with |w| < 1e-3 (gradient descent on L1 leaves unneeded weights oscillating around zero
by steps of about lr * lam / (1 - momentum) = 5e-4 here, not at exactly zero, hence a
threshold), a histogram of
log10 |w|, the norms of the weights and the test accuracy. Biases are not penalised and
not counted.
"""

from __future__ import annotations

import math

import numpy as np

from .. import datasets, optim
from .. import regularizers as R
from .._validation import check_int, check_real
from ..model import MLP
from ..plotting import pyplot, save
from . import POSITIVE_FLOAT, POSITIVE_INT

__all__ = ["run", "plot", "table", "add_arguments", "THRESHOLD"]

#: a weight counts as (near) zero below this magnitude
THRESHOLD = 1e-3
_BINS = np.linspace(-8.0, 1.0, 37)  # log10 |w|; smaller magnitudes land in the first bin


def add_arguments(parser):
    parser.add_argument("--lam", type=POSITIVE_FLOAT, default=1e-3, help="penalty strength lambda (default 1e-3)")
    parser.add_argument("--epochs", type=POSITIVE_INT, default=None, help="epochs (default 40, quick 15)")


def _penalties(lam):
    return {"none": None, "L2": R.L2(lam), "L1": R.L1(lam), "elastic net (r=0.5)": R.ElasticNet(lam, r=0.5)}


def run(seed=0, quick=False, lam=1e-3, epochs=None) -> dict:
    """Train the network once per penalty and measure its weights.

    Parameters
    ----------
    seed : int
        Seeds the split, the initial weights (shared by every run) and the batch order.
    quick : bool
        Fewer epochs (a second or two).
    lam : float
        Strength of every penalty (default 1e-3).
    epochs : int, optional
        Default 40 (quick: 15).

    Returns
    -------
    dict
        ``runs``: per penalty, ``near_zero`` (fraction of weights with |w| < THRESHOLD),
        ``test_accuracy``, ``l1_norm``, ``l2_norm``, ``hist`` (counts of log10 |w| over
        ``bins``), ``data_loss`` per epoch.
    """
    check_real("lam", lam, 0, low_open=True)
    epochs = check_int("epochs", (15 if quick else 40) if epochs is None else epochs, 1)
    X, y = datasets.load_digits()
    Xtr, Xte, ytr, yte = datasets.train_test_split(X, y, test_size=0.3, random_state=seed, stratify=y)
    model = MLP([64, 64, 10], activation="relu", output="softmax", seed=seed)
    w0 = model.get_weights()
    runs = []
    for name, reg in _penalties(float(lam)).items():
        model.set_weights(w0)
        h = model.fit(
            Xtr,
            ytr,
            optimizer=optim.SGD(lr=0.05, momentum=0.9),
            epochs=int(epochs),
            batch_size=32,
            seed=seed,
            regularizer=reg,
            verbose=0,
        )
        W = np.abs(model.flat_params()[: model.n_weights].astype(np.float64))
        logw = np.log10(np.maximum(W, 10.0 ** _BINS[0]))
        runs.append(
            {
                "penalty": name,
                "regularizer": None if reg is None else {"class": type(reg).__name__, **reg.get_config()},
                "near_zero": float((W < THRESHOLD).mean()),
                "test_accuracy": float((model.predict_classes(Xte) == yte).mean()),
                "l1_norm": float(W.sum()),
                "l2_norm": float(np.sqrt((W * W).sum())),
                "max_abs": float(W.max()),
                "hist": np.histogram(logw, bins=_BINS)[0].tolist(),
                "data_loss": [float(v) for v in h["data_loss" if reg is not None else "loss"]],
            }
        )
    return {
        "experiment": "weight-decay",
        "seed": seed,
        "quick": bool(quick),
        "lam": float(lam),
        "epochs": int(epochs),
        "sizes": model.sizes,
        "optimizer": "SGD(lr=0.05, momentum=0.9)",
        "batch_size": 32,
        "n_train": int(len(ytr)),
        "n_test": int(len(yte)),
        "n_weights": int(model.n_weights),
        "threshold": THRESHOLD,
        "bins": _BINS.tolist(),
        "runs": runs,
    }


def table(result) -> str:
    """Sparsity, norms and test accuracy per penalty."""
    rows = [("penalty", f"|w|<{result['threshold']:g}", "sum |w|", "||w||_2", "test acc")]
    for r in result["runs"]:
        rows.append(
            (
                r["penalty"],
                f"{100 * r['near_zero']:.1f} %",
                f"{r['l1_norm']:.1f}",
                f"{r['l2_norm']:.2f}",
                f"{r['test_accuracy']:.3f}",
            )
        )
    w = [max(len(row[i]) for row in rows) for i in range(5)]
    out = [
        f"digits, MLP {result['sizes']} ({result['n_weights']} weights), lam = {result['lam']:g}, "
        f"{result['epochs']} epochs, same initial weights"
    ]
    for i, row in enumerate(rows):
        out.append("  ".join([f"{row[0]:<{w[0]}}"] + [f"{c:>{w[j + 1]}}" for j, c in enumerate(row[1:])]))
        if i == 0:
            out.append("-" * (sum(w) + 8))
    return "\n".join(out)


def plot(result, path) -> str:
    """One histogram of log10 |w| per penalty, the near-zero threshold marked."""
    plt = pyplot()
    runs = result["runs"]
    fig, axes = plt.subplots(1, len(runs), figsize=(3.6 * len(runs), 3.4), sharey=True)
    bins = np.asarray(result["bins"])
    for ax, r, c in zip(axes, runs, ("C7", "C0", "C3", "C2")):
        ax.bar(bins[:-1], r["hist"], width=np.diff(bins), align="edge", color=c, alpha=0.8)
        ax.axvline(math.log10(result["threshold"]), color="k", ls="--", lw=1)
        ax.set_title(
            f"{r['penalty']}\n{100 * r['near_zero']:.1f} % below {result['threshold']:g}, "
            f"test acc {r['test_accuracy']:.3f}",
            fontsize=9,
        )
        ax.set_xlabel("log10 |w|")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("number of weights")
    fig.suptitle(f"Weights after training on digits, lam = {result['lam']:g} (first bin: |w| <= 1e-8)", y=1.08)
    return save(fig, path)
