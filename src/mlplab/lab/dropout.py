"""Dropout: training and validation curves with and without dropout on a small, overfitting digits setup.

A network much larger than its 100 training digits (10 per class) fits them perfectly and
overfits. The same network, from the same initial weights and with the same mini-batches,
is trained without dropout and with inverted dropout (p = 0.5 after each hidden layer,
``MLP(dropout=0.5)``); 500 other digits are the validation set. The curves are what ``fit``
reports: the training loss is measured with dropout active (so it is noisier and higher
with dropout), the validation loss and accuracy with dropout off, as at prediction time.
The summary also gives the training loss of each final model with dropout off.

What to look for: without dropout the training loss heads to zero, the gradients vanish and
the validation accuracy freezes; with dropout every step trains a different thinned network,
the training loss stays far from zero and the validation numbers keep moving. On a setup
this small the gain in validation accuracy is a point or so and depends on the seed: read
the table rather than the lecture's promise.
"""

from __future__ import annotations

import numpy as np

from .. import datasets, optim
from .._validation import check_int, check_real
from ..model import MLP
from ..plotting import pyplot, save
from . import POSITIVE_INT

__all__ = ["run", "plot", "table", "add_arguments"]


def add_arguments(parser):
    parser.add_argument("--p", type=float, default=0.5, help="dropout probability (default 0.5)")
    parser.add_argument("--epochs", type=POSITIVE_INT, default=None, help="epochs (default 150, quick 60)")


def run(seed=0, quick=False, p=0.5, epochs=None) -> dict:
    """Train the same network without and with dropout; return both runs' curves.

    Parameters
    ----------
    seed : int
        Seeds the subsets, the initial weights, the batch order and the dropout masks.
    quick : bool
        Fewer epochs (a second or two).
    p : float in (0, 1)
        Dropout probability.
    epochs : int, optional
        Default 150 (quick: 60).

    Returns
    -------
    dict
        ``runs``: for p = 0 and p, ``loss`` (with dropout active), ``val_loss`` and
        ``val_accuracy`` per epoch, ``best_epoch``, ``best_val_loss``, ``final_val_loss``,
        ``final_val_accuracy`` and ``train_loss_eval`` (final model, dropout off).
    """
    check_real("p", p, 0, 1, low_open=True, high_open=True)
    epochs = check_int("epochs", (60 if quick else 150) if epochs is None else epochs, 1)
    X, y = datasets.load_digits()
    rng = np.random.default_rng(seed)
    idx = np.concatenate([rng.permutation(np.flatnonzero(y == c))[:10] for c in range(10)])
    val = rng.permutation(np.setdiff1d(np.arange(len(y)), idx))[:500]
    sizes = [64, 256, 256, 10]
    w0 = MLP(sizes, activation="relu", output="softmax", seed=seed).get_weights()
    runs = []
    for rate in (0.0, float(p)):
        model = MLP(sizes, activation="relu", output="softmax", seed=seed, dropout=rate)
        model.set_weights(w0)  # dropout layers hold no parameters: the same initial network
        h = model.fit(
            X[idx],
            y[idx],
            optimizer=optim.SGD(lr=0.01, momentum=0.9),
            epochs=int(epochs),
            batch_size=10,
            seed=seed,
            validation_data=(X[val], y[val]),
            verbose=0,
        )
        v = [float(x) for x in h["val_loss"]]
        best = int(np.argmin(v))
        runs.append(
            {
                "p": rate,
                "loss": [float(x) for x in h["loss"]],
                "val_loss": v,
                "val_accuracy": [float(x) for x in h["val_accuracy"]],
                "best_epoch": best,
                "best_val_loss": v[best],
                "final_val_loss": v[-1],
                "final_val_accuracy": float(h["val_accuracy"][-1]),
                "train_loss_eval": float(model.evaluate(X[idx], y[idx])["loss"]),
            }
        )
    return {
        "experiment": "dropout",
        "seed": seed,
        "quick": bool(quick),
        "p": float(p),
        "epochs": int(epochs),
        "sizes": sizes,
        "optimizer": "SGD(lr=0.01, momentum=0.9)",
        "batch_size": 10,
        "n_train": int(idx.size),
        "n_val": int(val.size),
        "runs": runs,
    }


def table(result) -> str:
    """Best and final validation numbers, without and with dropout."""
    out = [
        f"digits, {result['n_train']} training / {result['n_val']} validation images, MLP {result['sizes']}, "
        f"{result['optimizer']}, {result['epochs']} epochs",
        f"{'dropout':<9}{'best val loss':>15}{'(epoch)':>9}{'final val loss':>16}{'final val acc':>15}"
        f"{'train loss':>12}",
        "-" * 76,
    ]
    for r in result["runs"]:
        out.append(
            f"{r['p']:<9g}{r['best_val_loss']:>15.4f}{r['best_epoch'] + 1:>9}{r['final_val_loss']:>16.4f}"
            f"{r['final_val_accuracy']:>15.3f}{r['train_loss_eval']:>12.4f}"
        )
    out.append("(train loss: the final model on its training images, dropout off)")
    return "\n".join(out)


def plot(result, path) -> str:
    """Loss curves (left) and validation accuracy (right), without and with dropout."""
    plt = pyplot()
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    for r, c in zip(result["runs"], ("C3", "C0")):
        ep = np.arange(1, len(r["loss"]) + 1)
        name = "no dropout" if r["p"] == 0 else f"dropout p={r['p']:g}"
        ax.plot(ep, r["loss"], color=c, alpha=0.45, lw=1, label=f"training loss, {name}")
        ax.plot(ep, r["val_loss"], color=c, lw=2, label=f"validation loss, {name}")
        ax.plot([r["best_epoch"] + 1], [r["best_val_loss"]], "o", color=c)
        ax2.plot(ep, r["val_accuracy"], color=c, lw=2, label=name)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("cross-entropy")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    ax.set_title(f"{result['n_train']} training digits, MLP {result['sizes']}")
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("validation accuracy")
    lo = min(min(r["val_accuracy"][len(r["val_accuracy"]) // 5 :]) for r in result["runs"])
    ax2.set_ylim(max(0.0, lo - 0.02), 1.0)
    ax2.legend(fontsize=8)
    ax2.grid(alpha=0.3)
    return save(fig, path)
