"""Mini-batch size: the variance of mini-batch gradients (1/B) and loss curves at equal samples seen.

The lecture's note: "a mini-batch that is too small can generate too much noise on the
gradient estimation and prevent convergence". On the 8x8 digits (the training split, n
rows) and one network (MLP [64, 32, 10], ReLU, softmax, cross-entropy, float64):

- the noise, measured: at the initial weights, the full gradient g = dJ/dtheta over the n
  rows, and for each batch size B the mean of ||g_B - g||^2 over many mini-batches drawn
  without replacement (as an epoch's batches are), g_B the mean gradient of the batch.
  Theory (sampling without replacement from n per-sample gradients g_i, with
  sigma^2 = 1/n sum_i ||g_i - g||^2, computed from the n per-sample gradients)::

      E ||g_B - g||^2 = sigma^2 / B * (n - B) / (n - 1)

  that is sigma^2 / B, the 1/B of the lecture's noise, until B nears n (0 at B = n);
- its effect: plain SGD at one learning rate for every batch size, the same number of
  epochs (so the same number of samples seen), the full training loss J after each epoch.
  At a rate that suits mid-sized batches, B = 1 stays noisy and high while full-batch
  gradient descent, with one update an epoch, has barely started.
"""

from __future__ import annotations

import numpy as np

from .. import datasets, optim
from .._validation import check_int, check_real
from ..backend import single_blas_thread
from ..callbacks import Callback
from ..model import MLP
from ..plotting import finish, pyplot
from . import POSITIVE_FLOAT, POSITIVE_INT, json_number

__all__ = ["SIZES", "run", "plot", "table", "add_arguments"]

SIZES = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)  # and n, the full batch
_QUICK_SIZES = (1, 4, 16, 64, 256)
CURVE_SIZES = (1, 4, 16, 64, 256)  # and n
_QUICK_CURVE_SIZES = (1, 16)
_DRAWS = {False: (400, 100), True: (150, 40)}  # mini-batches drawn for B <= 64, for larger B
_EPOCHS, _QUICK_EPOCHS = 20, 8
_LR = 0.2
_HIDDEN = 32


class _FullLoss(Callback):
    """Records J on the whole training set after each epoch."""

    def __init__(self, X, y):
        self.X, self.y, self.loss = X, y, []

    def on_epoch_end(self, epoch, logs=None):
        self.loss.append(self.model.evaluate(self.X, self.y)["loss"])


def _per_sample(model, X, y):
    """The n per-sample gradients (n, parameters) and the full gradient."""
    G = np.empty((X.shape[0], model.n_params))
    for i in range(X.shape[0]):
        model.loss_and_grad(X[i : i + 1], y[i : i + 1])
        G[i] = model.flat_grads()
    model.loss_and_grad(X, y)
    return G, model.flat_grads().copy()


def run(seed=0, quick=False, lr=_LR, epochs=None) -> dict:
    """Measure the mini-batch gradient noise, then train with each batch size.

    Parameters
    ----------
    seed : int
        Seeds the split, the initial weights, the mini-batches drawn and the batch order.
    quick : bool
        Fewer batch sizes, draws and epochs (a few seconds).
    lr : float
        The SGD learning rate of every loss curve (default 0.2).
    epochs : int, optional
        Epochs of every loss curve (default 20, quick 8).

    Returns
    -------
    dict
        ``n``; ``variance``: per batch size B (``batch_sizes``, ending with n), the measured
        mean of ||g_B - g||^2 (``measured``), the number of ``draws``, the ``theory`` and
        ``sigma2``; ``curves``: per batch size of ``curve_sizes`` (ending with n), the full
        training loss J after each epoch (``loss``) and the ``updates`` made.
    """
    lr = check_real("lr", lr, 0, low_open=True)
    epochs = check_int("epochs", (_QUICK_EPOCHS if quick else _EPOCHS) if epochs is None else epochs, 1)
    X, y = datasets.load_digits()
    Xtr, _, ytr, _ = datasets.train_test_split(X, y, test_size=0.25, random_state=seed, stratify=y)
    n = Xtr.shape[0]
    model = MLP([64, _HIDDEN, 10], activation="relu", output="softmax", dtype="float64", seed=seed)
    w0 = model.get_weights()
    rng = np.random.default_rng(seed)
    sizes = [*(_QUICK_SIZES if quick else SIZES), n]
    small, large = _DRAWS[bool(quick)]
    with single_blas_thread():  # many small products: one thread each is fastest on a shared machine
        G, g = _per_sample(model, Xtr, ytr)
        sigma2 = float(((G - g) ** 2).sum(axis=1).mean())
        measured, draws = [], []
        for B in sizes:
            k = 1 if B == n else small if B <= 64 else large
            v = 0.0
            for _ in range(k):
                idx = rng.choice(n, B, replace=False)
                model.loss_and_grad(Xtr[idx], ytr[idx])
                d = model.flat_grads() - g
                v += float(d @ d)
            measured.append(v / k)
            draws.append(k)
    theory = [sigma2 / B * (n - B) / (n - 1) for B in sizes]
    curves = []
    for B in [*(_QUICK_CURVE_SIZES if quick else CURVE_SIZES), n]:
        model.set_weights(w0)
        record = _FullLoss(Xtr, ytr)
        sgd = optim.SGD(lr=lr)
        model.fit(Xtr, ytr, optimizer=sgd, epochs=epochs, batch_size=B, seed=seed, verbose=0, callbacks=[record])
        curves.append({"batch_size": B, "updates": sgd.t, "loss": [json_number(v) for v in record.loss]})
    return {
        "experiment": "minibatch",
        "seed": seed,
        "quick": bool(quick),
        "dataset": "digits",
        "sizes": model.sizes,
        "n": n,
        "sigma2": sigma2,
        "variance": {"batch_sizes": sizes, "measured": measured, "theory": theory, "draws": draws},
        "lr": lr,
        "epochs": epochs,
        "curve_sizes": [c["batch_size"] for c in curves],
        "curves": curves,
    }


def table(result) -> str:
    """The measured and predicted variance per batch size, then the loss after some epochs."""
    v, n = result["variance"], result["n"]
    out = [
        f"digits, MLP {result['sizes']}, at the initial weights, n = {n}: mean ||g_B - g||^2 over the draws against "
        f"sigma^2 / B (n - B) / (n - 1), sigma^2 = {result['sigma2']:.4g}",
        f"{'B':>6} {'draws':>6} {'measured':>12} {'theory':>12} {'ratio':>7} {'B x measured':>13}",
    ]
    for B, k, m, t in zip(v["batch_sizes"], v["draws"], v["measured"], v["theory"]):
        ratio = f"{m / t:.3f}" if t > 0 else "-"
        out.append(f"{B:>6} {k:>6} {m:>12.4g} {t:>12.4g} {ratio:>7} {B * m:>13.4g}")
    E = result["epochs"]
    marks = sorted({1, max(1, E // 2), E})
    out += ["", f"full training loss J after epochs {marks} (SGD, lr {result['lr']:g}, equal samples seen)"]
    out.append(f"{'B':>6} {'updates':>8}" + "".join(f"{f'epoch {e}':>11}" for e in marks))
    for c in result["curves"]:
        cells = "".join(f"{_number(c['loss'][e - 1]):>11}" for e in marks)
        out.append(f"{c['batch_size']:>6} {c['updates']:>8}{cells}")
    return "\n".join(out)


def _number(v):
    return "nan" if v is None else f"{v:.4f}"


def plot(result, path) -> str:
    """Left: the variance of g_B against B, measured and predicted (log-log). Right: the full
    training loss after each epoch, per batch size."""
    plt = pyplot()
    fig, (a, b) = plt.subplots(1, 2, figsize=(12.5, 4.6))
    v, n = result["variance"], result["n"]
    B = np.asarray(v["batch_sizes"][:-1], dtype=float)  # B = n has variance 0: off a log scale
    a.plot(B, v["measured"][:-1], "o", color="C0", label="measured, mean over the draws")
    a.plot(B, v["theory"][:-1], "-", color="C0", alpha=0.6, label="sigma^2 / B (n - B) / (n - 1)")
    a.plot(B, result["sigma2"] / B, ":", color="grey", label="sigma^2 / B")
    a.set(
        xscale="log", yscale="log", xlabel="mini-batch size B (log scale)", ylabel="E ||g_B - g||^2 (squared gradient)"
    )
    a.set_title(f"gradient noise of a mini-batch (digits, n = {n}): 1/B, 0 at B = n", fontsize=10)
    a.legend(fontsize=8)
    a.grid(alpha=0.3, which="both")
    colors = plt.get_cmap("viridis")(np.linspace(0, 0.9, len(result["curves"])))
    for c, color in zip(result["curves"], colors):
        ys = [np.nan if x is None else x for x in c["loss"]]
        label = (
            f"B = {c['batch_size']}" + (" (full batch)" if c["batch_size"] == n else "") + f", {c['updates']} updates"
        )
        b.plot(range(1, len(ys) + 1), ys, "o-", ms=3, color=color, label=label)
    b.set(yscale="log", xlabel="epochs (samples seen / n)", ylabel="full training loss J (cross-entropy)")
    b.set_title(f"SGD at lr {result['lr']:g} for every B, equal samples seen", fontsize=10)
    b.legend(fontsize=8)
    b.grid(alpha=0.3)
    return finish(
        fig,
        path,
        "Too small a mini-batch: too much gradient noise to converge; too large: too few updates",
        fontsize=11,
    )


def add_arguments(parser) -> None:
    parser.add_argument(
        "--lr", type=POSITIVE_FLOAT, default=_LR, help=f"SGD learning rate of the curves (default {_LR:g})"
    )
    parser.add_argument(
        "--epochs",
        type=POSITIVE_INT,
        default=None,
        help=f"epochs of each curve (default {_EPOCHS}, quick {_QUICK_EPOCHS})",
    )
