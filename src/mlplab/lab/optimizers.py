"""SGD, momentum, Nesterov, AdaGrad, RMSProp and Adam: training loss per epoch over a grid of learning rates.

The lecture's "SGD vs. Adam on a simple example" figure made real: one task (the two-arm
spiral by default, the 8x8 digits with ``dataset="digits"``), one network, the same initial
weights and the same mini-batch order for every run; only the optimizer and its learning
rate change. Each run records its training loss (the mean over the epoch's mini-batches, as
``fit`` reports it) and its validation loss per epoch. A run whose loss becomes NaN or
infinite is recorded as diverged with its curve up to that point.
"""

from __future__ import annotations

import math

from .. import datasets, optim
from .._validation import check_choice, check_int, check_real, fail
from ..errors import DivergenceError
from ..model import MLP
from ..plotting import pyplot, save
from . import POSITIVE_INT, json_number

__all__ = ["OPTIMIZERS", "run", "plot", "table", "add_arguments"]

#: label -> (optimizer name in mlplab.optim.OPTIMIZERS, fixed keyword arguments)
OPTIMIZERS = {
    "SGD": ("sgd", {}),
    "momentum": ("sgd", {"momentum": 0.9}),
    "Nesterov": ("sgd", {"momentum": 0.9, "nesterov": True}),
    "AdaGrad": ("adagrad", {}),
    "RMSProp": ("rmsprop", {}),
    "Adam": ("adam", {}),
}

_LRS = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)
_QUICK_LRS = (1e-3, 1e-2, 1e-1)
_SETUP = {  # dataset -> (hidden widths, epochs, quick epochs, batch size)
    "spiral": ((32, 32), 100, 40, 32),
    "digits": ((64,), 20, 4, 64),
}


def _data(dataset, seed, quick):
    check_choice("dataset", dataset, sorted(_SETUP))
    if dataset == "spiral":
        X, y = datasets.spiral(n=300 if quick else 600, noise=0.1, seed=seed)
        X = X / X.std(axis=0)
    elif dataset == "digits":
        X, y = datasets.load_digits()
        if quick:
            X, y = X[:600], y[:600]
    return datasets.train_test_split(X, y, test_size=0.25, random_state=seed, stratify=y)


def run(seed=0, quick=False, dataset="spiral", lrs=None, epochs=None) -> dict:
    """Train one network per (optimizer, learning rate) and return the loss curves.

    Parameters
    ----------
    seed : int
        Seeds the data split, the initial weights (shared by every run) and the batch order.
    quick : bool
        Fewer samples, learning rates and epochs (a few seconds).
    dataset : {"spiral", "digits"}
    lrs : sequence of float, optional
        Learning rates; default 1e-4, 1e-3, ..., 1 (quick: 1e-3, 1e-2, 1e-1).
    epochs : int, optional
        Default 100 for spiral, 20 for digits (quick: 40 and 4).

    Returns
    -------
    dict
        ``runs``: one entry per (optimizer, lr) with ``loss`` and ``val_loss`` per epoch,
        ``final_loss``, ``final_val_loss`` (None when diverged) and ``diverged``.
    """
    hidden, n_epochs, quick_epochs, batch_size = _SETUP[check_choice("dataset", dataset, sorted(_SETUP))]
    epochs = check_int("epochs", (quick_epochs if quick else n_epochs) if epochs is None else epochs, 1)
    lrs = list(_QUICK_LRS if quick else _LRS) if lrs is None else list(lrs)
    if not lrs:
        raise fail("lrs", "a non-empty list of finite numbers > 0", lrs)
    for i, v in enumerate(lrs):
        check_real(f"lrs[{i}]", v, 0, low_open=True)
    Xtr, Xva, ytr, yva = _data(dataset, seed, quick)
    sizes = [Xtr.shape[1], *hidden, int(max(ytr.max(), yva.max())) + 1]
    model = MLP(sizes, activation="relu", output="softmax", seed=seed)
    w0 = model.get_weights()
    runs = []
    for label, (name, kwargs) in OPTIMIZERS.items():
        for lr in lrs:
            model.set_weights(w0)
            opt = optim.get(name, lr=float(lr), **kwargs)
            try:
                h = model.fit(
                    Xtr,
                    ytr,
                    optimizer=opt,
                    epochs=int(epochs),
                    batch_size=batch_size,
                    seed=seed,
                    validation_data=(Xva, yva),
                    metrics=None,
                    verbose=0,
                )
                diverged = False
            except DivergenceError as e:
                h, diverged = e.history, True
            loss = [json_number(v) for v in h.history.get("loss", [])]
            val = [json_number(v) for v in h.history.get("val_loss", [])]
            runs.append(
                {
                    "optimizer": label,
                    "lr": float(lr),
                    "diverged": diverged,
                    "loss": loss,
                    "val_loss": val,
                    "final_loss": None if diverged or not loss else loss[-1],
                    "final_val_loss": None if diverged or not val else val[-1],
                }
            )
    return {
        "experiment": "optimizers",
        "dataset": dataset,
        "seed": seed,
        "quick": bool(quick),
        "sizes": sizes,
        "batch_size": batch_size,
        "epochs": int(epochs),
        "lrs": [float(v) for v in lrs],
        "optimizers": {label: {"name": n, **kw} for label, (n, kw) in OPTIMIZERS.items()},
        "n_train": int(Xtr.shape[0]),
        "n_val": int(Xva.shape[0]),
        "runs": runs,
    }


def table(result) -> str:
    """Final training and validation loss per (optimizer, learning rate)."""
    rows = [("optimizer", "lr", "train loss", "val loss")]
    for r in result["runs"]:
        if r["diverged"]:
            tr = va = f"diverged (epoch {len(r['loss']) + 1})"
        else:
            tr, va = f"{r['final_loss']:.4f}", f"{r['final_val_loss']:.4f}"
        rows.append((r["optimizer"], f"{r['lr']:g}", tr, va))
    w = [max(len(row[i]) for row in rows) for i in range(4)]
    out = [
        f"{result['dataset']}: MLP {result['sizes']}, batch {result['batch_size']}, {result['epochs']} epochs, "
        f"same initial weights for every run"
    ]
    for i, row in enumerate(rows):
        out.append(f"{row[0]:<{w[0]}}  {row[1]:>{w[1]}}  {row[2]:>{w[2]}}  {row[3]:>{w[3]}}")
        if i == 0:
            out.append("-" * (sum(w) + 6))
    return "\n".join(out)


def plot(result, path) -> str:
    """One panel per optimizer: training loss per epoch (log scale), one curve per lr."""
    plt = pyplot()
    labels = list(result["optimizers"])
    ncol = 3
    nrow = math.ceil(len(labels) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 3.3 * nrow), sharey=True, squeeze=False)
    lrs = result["lrs"]
    cmap = plt.get_cmap("viridis")
    colors = {lr: cmap(i / max(len(lrs) - 1, 1)) for i, lr in enumerate(lrs)}
    for ax, label in zip(axes.flat, labels):
        for r in result["runs"]:
            if r["optimizer"] != label:
                continue
            ys = [v for v in r["loss"] if v is not None]
            xs = range(1, len(ys) + 1)
            tag = f"lr={r['lr']:g}" + (" (diverged)" if r["diverged"] else "")
            ax.plot(xs, ys, color=colors.get(r["lr"]), ls="--" if r["diverged"] else "-", label=tag)
            if r["diverged"] and ys:
                ax.plot([len(ys)], [ys[-1]], "x", color=colors.get(r["lr"]))
        ax.set_title(label)
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    for ax in axes[:, 0]:
        ax.set_ylabel("training loss J")
    for ax in list(axes.flat)[len(labels) :]:
        ax.axis("off")
    fig.suptitle(f"{result['dataset']}: training loss per epoch, for several learning rates")
    fig.tight_layout()
    return save(fig, path)


def _lr_list(text):
    import argparse

    try:
        v = [float(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--lrs must be comma-separated numbers like 1e-3,1e-2, got {text!r}"
        ) from None
    if not v or any(not (math.isfinite(x) and x > 0) for x in v):
        raise argparse.ArgumentTypeError(f"--lrs must hold finite numbers > 0, got {text!r}")
    return v


def add_arguments(parser) -> None:
    parser.add_argument("--dataset", default="spiral", choices=sorted(_SETUP), help="task (default spiral)")
    parser.add_argument(
        "--lrs",
        type=_lr_list,
        default=None,
        help=f"comma-separated learning rates (default {','.join(f'{v:g}' for v in _LRS)}, "
        f"quick {','.join(f'{v:g}' for v in _QUICK_LRS)})",
    )
    epochs = "; ".join(f"{name} {e}, quick {q}" for name, (_, e, q, _) in _SETUP.items())
    parser.add_argument("--epochs", type=POSITIVE_INT, default=None, help=f"epochs per run (default {epochs})")
