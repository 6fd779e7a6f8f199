"""Sigmoid, tanh, ReLU, ELU and GELU in a deep MLP: gradient norm per layer at initialisation and training loss.

The lecture's claim: the derivative of the sigmoid lies in [0, 1/4], which shrinks the
gradient at every layer it is propagated through (the vanishing gradient problem), while
ReLU, whose derivative is 1 wherever it is active, does not.

The same deep MLP (``depth`` hidden layers of ``width`` units, softmax output,
cross-entropy) is built on the 8x8 digits once per hidden activation, each with the
initialiser MLP chooses for it (He for the ReLU family relu / leaky_relu / elu / gelu,
Glorot otherwise). For each:

- at initialisation, one ``loss_and_grad`` on the whole training set gives the norm
  ||dW_l||_F of every Dense layer l = 1 (first) .. depth + 1 (output layer), and the ratio
  ||dW_1|| / ||dW_last||;
- the spread of the last hidden layer's output over the training samples (the mean over
  its units of their standard deviation across samples): near zero means the output
  layer sees almost the same vector for every image, so it can learn no more than the
  class frequencies and the loss stays near ln 10;
- the network is trained with plain SGD (same learning rate, batch size, batch order
  for every activation), recording the training loss per epoch (the mean over the
  epoch's mini-batches, as ``fit`` reports it) and the final test accuracy;
- max f'(z) over a grid of z, measured through the activation layer itself
  (``forward(z)``, then ``backward(ones)`` returns f'(z)), not written down: 1/4 for the
  sigmoid (s (1 - s) is largest at s = 1/2, z = 0), 1 for tanh, ReLU and ELU.

Tanh's derivative also reaches 1 (at z = 0): with Glorot initialisation its gradients do
not vanish at this depth either; the 1/4 bound is the sigmoid's.
"""

from __future__ import annotations

import math

import numpy as np

from .. import activations as acts
from .. import datasets, optim
from .._validation import check_int, check_real, fail
from ..errors import DivergenceError
from ..layers import Dense
from ..model import MLP
from ..plotting import pyplot, save
from . import POSITIVE_FLOAT, POSITIVE_INT, json_number

__all__ = ["ACTIVATIONS", "run", "plot", "table", "add_arguments"]

#: hidden activations compared by default
ACTIVATIONS = ("sigmoid", "tanh", "relu", "elu", "gelu")

_DEPTH, _WIDTH, _LR, _BATCH = 8, 64, 0.05, 32
_EPOCHS, _QUICK_EPOCHS = 20, 5
_TEST_SIZE = 0.3
_GRID = (-8.0, 8.0, 16001)  # z from -8 to 8 by steps of 1e-3, z = 0 included


def _check_activations(names):
    allowed = sorted(set(acts.ACTIVATIONS) - {"softmax"})  # softmax is row-wise: no scalar f'(z)
    if isinstance(names, str) or not hasattr(names, "__iter__"):
        raise fail("activations", f"a list of names from {allowed}", names)
    names = list(names)
    if not names or any(not isinstance(n, str) or n not in allowed for n in names) or len(set(names)) != len(names):
        raise fail("activations", f"a non-empty list of distinct names from {allowed}", names)
    return names


def _max_derivative(name):
    """max f'(z) over the grid, and where, from the layer's own forward and backward."""
    layer = acts.get(name)
    Z = np.linspace(*_GRID).reshape(1, -1)
    layer.forward(Z, True)
    D = np.asarray(layer.backward(np.ones_like(Z)), dtype=np.float64).ravel()
    i = int(np.argmax(D))
    return float(D[i]), float(Z[0, i])


def run(seed=0, quick=False, depth=_DEPTH, width=_WIDTH, activations=None, lr=_LR, epochs=None) -> dict:
    """Measure each activation's per-layer gradient at initialisation, then train.

    Parameters
    ----------
    seed : int
        Seeds the split, the initial weights and the batch order (the same for every
        activation).
    quick : bool
        Fewer epochs (a second or two).
    depth : int
        Hidden layers (default 8); the network has depth + 1 Dense layers.
    width : int
        Units per hidden layer (default 64).
    activations : list of str, optional
        Hidden activations, names of ``mlplab.activations.ACTIVATIONS`` except softmax;
        default ``ACTIVATIONS`` (sigmoid, tanh, relu, elu, gelu).
    lr : float
        Learning rate of plain SGD (default 0.05), batch size 32.
    epochs : int, optional
        Default 20 (quick: 5).

    Returns
    -------
    dict
        ``runs``: per activation, ``init`` (the initialiser), ``grad_norms`` (||dW_l|| for
        l = 1 .. depth + 1 at initialisation), ``ratio`` (first / last), ``init_loss``,
        ``last_hidden_spread``, ``max_derivative`` and ``argmax_z`` (on ``grid``),
        ``loss`` per epoch, ``final_loss``, ``test_accuracy`` (None when diverged) and
        ``diverged``.
    """
    depth = check_int("depth", depth, 1)
    width = check_int("width", width, 1)
    names = _check_activations(ACTIVATIONS if activations is None else activations)
    check_real("lr", lr, 0, low_open=True)
    epochs = check_int("epochs", (_QUICK_EPOCHS if quick else _EPOCHS) if epochs is None else epochs, 1)
    X, y = datasets.load_digits()
    Xtr, Xte, ytr, yte = datasets.train_test_split(X, y, test_size=_TEST_SIZE, random_state=seed, stratify=y)
    sizes = [X.shape[1], *[width] * depth, 10]
    runs = []
    for name in names:
        model = MLP(sizes, activation=name, output="softmax", seed=seed)
        J0 = model.loss_and_grad(Xtr, ytr)
        dense = [layer for layer in model.layers if isinstance(layer, Dense)]
        norms = [float(np.linalg.norm(np.asarray(layer.dW, dtype=np.float64))) for layer in dense]
        A = np.ascontiguousarray(Xtr, dtype=model.dtype)
        for layer in model.layers[:-2]:  # up to the last hidden activation
            A = layer.forward(A, False)
        spread = float(np.asarray(A, dtype=np.float64).std(axis=0).mean())
        dmax, zmax = _max_derivative(name)
        try:
            h = model.fit(
                Xtr,
                ytr,
                optimizer=optim.SGD(lr=float(lr)),
                epochs=epochs,
                batch_size=_BATCH,
                seed=seed,
                metrics=None,
                verbose=0,
            )
            diverged = False
        except DivergenceError as e:
            h, diverged = e.history, True
        loss = [json_number(v) for v in h.history.get("loss", [])]
        runs.append(
            {
                "activation": name,
                "init": model.init,
                "grad_norms": norms,
                "ratio": norms[0] / norms[-1] if norms[-1] > 0 else None,
                "init_loss": json_number(J0),
                "last_hidden_spread": spread,
                "max_derivative": dmax,
                "argmax_z": zmax,
                "diverged": diverged,
                "loss": loss,
                "final_loss": None if diverged or not loss else loss[-1],
                "test_accuracy": None if diverged else float((model.predict_classes(Xte) == yte).mean()),
            }
        )
    return {
        "experiment": "activations",
        "seed": seed,
        "quick": bool(quick),
        "depth": depth,
        "width": width,
        "sizes": sizes,
        "dtype": "float32",
        "optimizer": f"SGD(lr={float(lr):g})",
        "lr": float(lr),
        "batch_size": _BATCH,
        "epochs": epochs,
        "test_size": _TEST_SIZE,
        "n_train": int(len(ytr)),
        "n_test": int(len(yte)),
        "grid": {"start": _GRID[0], "stop": _GRID[1], "num": _GRID[2]},
        "runs": runs,
    }


def table(result) -> str:
    """Per activation: max f', gradient norms of the first and last layer, their ratio, final loss, test accuracy."""
    rows = [("activation", "init", "max f'", "|dW_1|", "|dW_last|", "first/last", "spread", "final loss", "test acc")]
    for r in result["runs"]:
        g = r["grad_norms"]
        rows.append(
            (
                r["activation"],
                r["init"],
                f"{r['max_derivative']:.4f}",
                f"{g[0]:.3e}",
                f"{g[-1]:.3e}",
                "-" if r["ratio"] is None else f"{r['ratio']:.3e}",
                f"{r['last_hidden_spread']:.2e}",
                f"diverged (epoch {len(r['loss']) + 1})" if r["diverged"] else f"{r['final_loss']:.4f}",
                "-" if r["test_accuracy"] is None else f"{r['test_accuracy']:.3f}",
            )
        )
    w = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    grid = result["grid"]
    out = [
        f"digits, MLP {result['sizes']} (softmax + cross-entropy), {result['optimizer']}, "
        f"batch {result['batch_size']}, {result['epochs']} epochs; gradients at initialisation on the "
        f"{result['n_train']} training samples; max f' over z in [{grid['start']:g}, {grid['stop']:g}]; "
        f"spread: std over samples of the last hidden layer's output, mean over its units"
    ]
    for i, row in enumerate(rows):
        out.append(
            "  ".join([f"{row[0]:<{w[0]}}", f"{row[1]:<{w[1]}}"] + [f"{c:>{w[j + 2]}}" for j, c in enumerate(row[2:])])
        )
        if i == 0:
            out.append("-" * (sum(w) + 2 * (len(w) - 1)))
    return "\n".join(out)


def plot(result, path) -> str:
    """Left: ||dW|| per layer at initialisation (log scale); right: training loss per epoch."""
    plt = pyplot()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    for k, r in enumerate(result["runs"]):
        c = f"C{k % 10}"
        g = r["grad_norms"]
        ax1.plot(
            range(1, len(g) + 1),
            g,
            "o-",
            color=c,
            ms=4,
            label=f"{r['activation']} ({r['init']}, max f' = {r['max_derivative']:.3g})",
        )
        ys = [r["init_loss"]] + [v for v in r["loss"] if v is not None]
        ax2.plot(
            range(len(ys)),
            ys,
            color=c,
            ls="--" if r["diverged"] else "-",
            label=r["activation"] + (" (diverged)" if r["diverged"] else ""),
        )
    ax1.set_yscale("log")
    ax1.set_xlabel("Dense layer (1 = first, last = output)")
    ax1.set_ylabel("||dW|| at initialisation")
    ax1.set_title(f"gradient per layer, {result['depth']} hidden layers of {result['width']}")
    ax2.axhline(math.log(10), color="0.5", ls=":", lw=1, label="ln 10 (class frequencies only)")
    ax2.set_yscale("log")
    ax2.set_xlabel("epoch (0: at initialisation)")
    ax2.xaxis.get_major_locator().set_params(integer=True)
    ax2.set_ylabel("training loss J")
    ax2.set_title(f"{result['optimizer']}, batch {result['batch_size']}")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle("Vanishing gradient: sigmoid vs ReLU on the digits")
    fig.tight_layout()
    return save(fig, path)


def _names(text):
    return [s.strip() for s in text.split(",") if s.strip()]


def add_arguments(parser) -> None:
    parser.add_argument("--depth", type=POSITIVE_INT, default=_DEPTH, help=f"hidden layers (default {_DEPTH})")
    parser.add_argument("--width", type=POSITIVE_INT, default=_WIDTH, help=f"units per hidden layer (default {_WIDTH})")
    parser.add_argument(
        "--activations",
        type=_names,
        default=None,
        help=f"comma-separated hidden activations (default {','.join(ACTIVATIONS)})",
    )
    parser.add_argument("--lr", type=POSITIVE_FLOAT, default=_LR, help=f"SGD learning rate (default {_LR:g})")
    parser.add_argument(
        "--epochs", type=POSITIVE_INT, default=None, help=f"epochs (default {_EPOCHS}, quick {_QUICK_EPOCHS})"
    )
