"""Early stopping: training and validation loss per epoch, with the best and the stop epochs marked.

The lecture's picture: on a small noisy training set a wide network keeps lowering its
training loss while its validation loss reaches a minimum and rises again. ``EarlyStopping``
watches the validation loss, stops once ``patience`` epochs have passed without improvement
and restores the weights of the best epoch. The same network is also trained, from the same
initial weights and with the same mini-batches, for all the epochs without stopping, to show
what the stop avoided. A test set that neither run sees measures both.

Data: the two moons with noise 0.35 (100 training, 200 validation, 700 test points).
"""

from __future__ import annotations

import numpy as np

from .. import datasets, optim
from .._validation import check_int
from ..callbacks import EarlyStopping
from ..model import MLP
from ..plotting import pyplot, save
from . import POSITIVE_INT

__all__ = ["run", "plot", "table", "add_arguments"]


def add_arguments(parser):
    parser.add_argument(
        "--patience", type=POSITIVE_INT, default=None, help="epochs without improvement (default 20, quick 10)"
    )
    parser.add_argument("--epochs", type=POSITIVE_INT, default=None, help="most epochs (default 300, quick 120)")


def run(seed=0, quick=False, patience=None, epochs=None) -> dict:
    """Train with and without early stopping; return both runs' curves and the marked epochs.

    Parameters
    ----------
    seed : int
        Seeds the data, the initial weights (shared by both runs) and the batch order.
    quick : bool
        Fewer epochs and a shorter patience (a second or two).
    patience : int, optional
        Default 20 (quick: 10).
    epochs : int, optional
        Most epochs; default 300 (quick: 120).

    Returns
    -------
    dict
        ``loss``, ``val_loss`` per epoch of the stopped run; ``best_epoch`` and
        ``stopped_epoch`` (0-based, None if it never stopped); ``best_val_loss``;
        ``restored_val_loss`` (the validation loss of the restored model, equal to
        ``best_val_loss``); ``full`` with the curves of the run without stopping; test loss
        and accuracy of both final models.
    """
    patience = check_int("patience", (10 if quick else 20) if patience is None else patience, 1)
    epochs = check_int("epochs", (120 if quick else 300) if epochs is None else epochs, 1)
    X, y = datasets.moons(n=1000, noise=0.35, seed=seed)
    Xtr, ytr, Xva, yva, Xte, yte = X[:100], y[:100], X[100:300], y[100:300], X[300:], y[300:]
    model = MLP([2, 128, 128, 1], activation="relu", output="sigmoid", seed=seed)
    w0 = model.get_weights()

    def fit(callbacks):
        model.set_weights(w0)
        return model.fit(
            Xtr,
            ytr,
            optimizer=optim.SGD(lr=0.05, momentum=0.9),
            epochs=int(epochs),
            batch_size=16,
            seed=seed,
            validation_data=(Xva, yva),
            verbose=0,
            callbacks=callbacks,
        )

    es = EarlyStopping(monitor="val_loss", patience=int(patience), restore_best_weights=True)
    h = fit([es])
    restored = model.evaluate(Xva, yva)
    test_es = model.evaluate(Xte, yte)
    h_full = fit([])
    test_full = model.evaluate(Xte, yte)
    best = h.best_epoch
    return {
        "experiment": "early-stopping",
        "seed": seed,
        "quick": bool(quick),
        "data": "moons(noise=0.35)",
        "n_train": 100,
        "n_val": 200,
        "n_test": 700,
        "sizes": model.sizes,
        "optimizer": "SGD(lr=0.05, momentum=0.9)",
        "batch_size": 16,
        "patience": int(patience),
        "max_epochs": int(epochs),
        "loss": [float(v) for v in h["loss"]],
        "val_loss": [float(v) for v in h["val_loss"]],
        "best_epoch": best,
        "stopped_epoch": es.stopped_epoch,
        "stop_reason": h.stop_reason,
        "best_val_loss": float(h["val_loss"][best]),
        "restored_val_loss": float(restored["loss"]),
        "test_loss": float(test_es["loss"]),
        "test_accuracy": float(test_es["accuracy"]),
        "full": {
            "loss": [float(v) for v in h_full["loss"]],
            "val_loss": [float(v) for v in h_full["val_loss"]],
            "test_loss": float(test_full["loss"]),
            "test_accuracy": float(test_full["accuracy"]),
        },
    }


def table(result) -> str:
    """The marked epochs and both runs' final numbers."""
    r, f = result, result["full"]
    stop = "never" if r["stopped_epoch"] is None else f"epoch {r['stopped_epoch'] + 1}"
    return "\n".join(
        [
            f"{r['data']}, MLP {r['sizes']}, {r['optimizer']}, batch {r['batch_size']}, patience {r['patience']}",
            f"best epoch {r['best_epoch'] + 1} (val loss {r['best_val_loss']:.4f}), stopped at {stop}",
            f"restored model: val loss {r['restored_val_loss']:.4f} "
            f"(= best epoch's: {r['restored_val_loss'] == r['best_val_loss']})",
            f"{'':<24}{'val loss':>10}{'test loss':>11}{'test acc':>10}",
            f"{'early stopping':<24}{r['best_val_loss']:>10.4f}{r['test_loss']:>11.4f}{r['test_accuracy']:>10.3f}",
            f"{'all ' + str(len(f['loss'])) + ' epochs':<24}{f['val_loss'][-1]:>10.4f}{f['test_loss']:>11.4f}"
            f"{f['test_accuracy']:>10.3f}",
        ]
    )


def plot(result, path) -> str:
    """Loss per epoch: the stopped run over the full run, best and stop epochs marked."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.2))
    f = result["full"]
    ep_full = np.arange(1, len(f["loss"]) + 1)
    ax.plot(ep_full, f["loss"], color="C0", alpha=0.3, lw=1, label="training loss, no stopping")
    ax.plot(ep_full, f["val_loss"], color="C1", alpha=0.3, lw=1, label="validation loss, no stopping")
    ep = np.arange(1, len(result["loss"]) + 1)
    ax.plot(ep, result["loss"], color="C0", lw=2, label="training loss")
    ax.plot(ep, result["val_loss"], color="C1", lw=2, label="validation loss")
    b = result["best_epoch"] + 1
    ax.axvline(b, color="C2", ls="--", label=f"best epoch {b}")
    ax.plot([b], [result["best_val_loss"]], "o", color="C2")
    if result["stopped_epoch"] is not None:
        s = result["stopped_epoch"] + 1
        ax.axvline(s, color="C3", ls=":", label=f"stop (epoch {s}, patience {result['patience']})")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (bce)")
    ax.set_yscale("log")
    ax.set_title(
        f"Early stopping on {result['data']}: test acc {result['test_accuracy']:.3f} "
        f"vs {result['full']['test_accuracy']:.3f} without"
    )
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return save(fig, path)
