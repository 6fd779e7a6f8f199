"""Momentum, AdaGrad, RMSProp and Adam against plain gradient descent on an elongated bowl and on a network.

The lecture: gradient descent is slow in elongated bowls (it zigzags across the steep
direction while it crawls along the shallow one); momentum v <- eta v - alpha dJ/dbeta,
beta <- beta + v adds inertia, and RMSProp (like AdaGrad, Adam) scales each coordinate's
step by its gradients' history, which "improves the behaviour in the case of elongated
bowls". The optimizers are mlplab's (torch's rules and defaults; momentum 0.9, torch's form
of the lecture's, the same for a constant learning rate):

- the bowl: J(theta) = 1/2 theta^T H theta in the plane, H with eigenvalues 1 and 100 (the
  condition number of a long narrow valley) along axes turned by 30 degrees, from
  theta_0 = (-4, 2). Each optimizer runs at each learning rate of a grid (1e-4 to 10, a
  quarter decade apart) and is scored at its best one: the updates it needs to bring J
  below 1e-4 J(theta_0). Its path at that rate is drawn on the contours of J;
- a network: MLP [64, 32, 10] (ReLU, softmax) on the 8x8 digits, full-batch (each update
  on the whole training split, the lecture's gradient descent), from the same initial
  weights, each optimizer at its best rate of a grid (1e-3 to 3, half a decade apart),
  scored by the updates it needs to bring the training loss J below 0.3.
"""

from __future__ import annotations

import math

import numpy as np

from .. import datasets, optim
from .._validation import check_int
from ..backend import single_blas_thread
from ..model import MLP
from ..plotting import finish, pyplot
from . import POSITIVE_INT, json_number

__all__ = ["OPTIMIZERS", "Bowl", "run", "plot", "table", "add_arguments"]

#: label -> (name in mlplab.optim.OPTIMIZERS, fixed keyword arguments)
OPTIMIZERS = {
    "GD": ("sgd", {}),
    "momentum": ("sgd", {"momentum": 0.9}),
    "AdaGrad": ("adagrad", {}),
    "RMSProp": ("rmsprop", {}),
    "Adam": ("adam", {}),
}
CURVATURES, ANGLE, START = (1.0, 100.0), math.radians(30), (-4.0, 2.0)
BOWL_TARGET = 1e-4  # of J(theta_0)
BOWL_LRS = tuple(10.0 ** (k / 4) for k in range(-16, 5))
BOWL_STEPS = 1000
NET_TARGET = 0.3
NET_LRS = tuple(10.0 ** (k / 2) for k in range(-6, 2))
_NET_STEPS = {False: 300, True: 100}


class Bowl:
    """The quadratic J(theta) = 1/2 theta^T H theta as an optimizer sees a model: its
    parameters ``flat_params()`` and the gradient H theta in ``flat_grads()`` (the contract
    of ``Optimizer.step``), left there by ``loss_and_grad()``."""

    def __init__(self, curvatures=CURVATURES, angle=ANGLE, start=START):
        c, s = math.cos(angle), math.sin(angle)
        R = np.array([[c, -s], [s, c]])
        self.H = R @ np.diag(curvatures) @ R.T
        self.theta = np.array(start, dtype=np.float64)
        self.grad = np.zeros(2)

    def flat_params(self):
        return self.theta

    def flat_grads(self):
        return self.grad

    def loss(self, theta) -> float:
        return 0.5 * float(theta @ self.H @ theta)

    def loss_and_grad(self) -> float:
        np.matmul(self.H, self.theta, out=self.grad)
        return self.loss(self.theta)


def _descend(name, kwargs, lr, steps):
    """(J per update, path) of one optimizer on the bowl; stops at divergence (J > 1e6)."""
    bowl, opt = Bowl(), optim.get(name, lr=lr, **kwargs)
    losses, path = [], [bowl.theta.tolist()]
    for _ in range(steps):
        J = bowl.loss_and_grad()
        losses.append(J)
        if not math.isfinite(J) or J > 1e6:
            break
        opt.step(bowl)
        path.append(bowl.theta.tolist())
    losses.append(bowl.loss(bowl.theta))
    return losses, path


def _steps_to(losses, target):
    """The first update count after which the loss is at most target (None: never)."""
    hit = [t for t, J in enumerate(losses) if J <= target]
    return hit[0] if hit else None


def _best(scores):
    """(lr, steps) with the fewest steps, the smaller lr on ties; (None, None) if none arrives."""
    arrived = [(s, lr) for lr, s in scores.items() if s is not None]
    return (None, None) if not arrived else min(arrived)[::-1]


def _network_runs(model, w0, X, y, name, kwargs, steps):
    """One optimizer at every rate of NET_LRS on the network, full batch, from w0."""
    curves = {}
    for lr in NET_LRS:
        model.set_weights(w0)
        opt = optim.get(name, lr=lr, **kwargs)
        curves[lr] = []
        for _ in range(steps):  # the four steps on the whole split: model.fit without its guard
            J = model.loss_and_grad(X, y)
            curves[lr].append(J)
            if not math.isfinite(J) or J > 1e3:
                break
            opt.step(model)
    scores = {lr: _steps_to(c, NET_TARGET) for lr, c in curves.items()}
    lr, best = _best(scores)
    return {
        "steps": [scores[lr_] for lr_ in NET_LRS],
        "best_lr": lr,
        "best_steps": best,
        "loss": [json_number(v) for v in curves[lr if lr is not None else NET_LRS[0]]],
    }


def run(seed=0, quick=False, steps=None) -> dict:
    """Run every optimizer at every learning rate of both grids.

    Parameters
    ----------
    seed : int
        Seeds the digits split and the network's initial weights.
    quick : bool
        100 full-batch updates on the network instead of 300 (the bowl is the same).
    steps : int, optional
        Full-batch updates on the network.

    Returns
    -------
    dict
        ``bowl``: per optimizer, ``steps`` to the target at each lr of ``lrs`` (None: not
        reached), the ``best_lr``, its ``best_steps``, ``path`` (theta after each update, to
        the target and 10 more) and ``loss`` (J per update, 300 at most); ``network``: the
        same scores and, at the best rate, the training loss per update.
    """
    net_steps = check_int("steps", _NET_STEPS[bool(quick)] if steps is None else steps, 1)
    J0 = Bowl().loss(np.array(START))
    bowl = {}
    for label, (name, kwargs) in OPTIMIZERS.items():
        runs = {lr: _descend(name, kwargs, lr, BOWL_STEPS) for lr in BOWL_LRS}
        scores = {lr: _steps_to(loss, BOWL_TARGET * J0) for lr, (loss, _) in runs.items()}
        lr, best = _best(scores)
        loss, path = runs[lr] if lr is not None else runs[BOWL_LRS[0]]
        keep = (best if best is not None else BOWL_STEPS) + 10
        bowl[label] = {
            "steps": [scores[lr_] for lr_ in BOWL_LRS],
            "best_lr": lr,
            "best_steps": best,
            "path": path[: keep + 1],
            "loss": [json_number(v) for v in loss[:300]],
        }
    X, y = datasets.load_digits()
    Xtr, _, ytr, _ = datasets.train_test_split(X, y, test_size=0.25, random_state=seed, stratify=y)
    model = MLP([64, 32, 10], activation="relu", output="softmax", seed=seed)
    w0 = model.get_weights()
    network = {}
    with single_blas_thread():  # small products: one BLAS thread is faster (see backend.blas_threads)
        for label, (name, kwargs) in OPTIMIZERS.items():
            network[label] = _network_runs(model, w0, Xtr, ytr, name, kwargs, net_steps)
    return {
        "experiment": "momentum",
        "seed": seed,
        "quick": bool(quick),
        "optimizers": {label: {"name": n, **kw} for label, (n, kw) in OPTIMIZERS.items()},
        "bowl_setup": {
            "curvatures": list(CURVATURES),
            "angle_degrees": math.degrees(ANGLE),
            "start": list(START),
            "J0": J0,
            "target": BOWL_TARGET * J0,
            "lrs": list(BOWL_LRS),
            "max_steps": BOWL_STEPS,
            "H": Bowl().H.tolist(),
        },
        "bowl": bowl,
        "network_setup": {
            "dataset": "digits",
            "sizes": model.sizes,
            "n_train": int(Xtr.shape[0]),
            "target": NET_TARGET,
            "lrs": list(NET_LRS),
            "max_steps": net_steps,
        },
        "network": network,
    }


def table(result) -> str:
    """Per optimizer: its best learning rate and the updates it needs, on the bowl and the network."""
    b, n = result["bowl_setup"], result["network_setup"]
    out = [
        f"updates to the target at each optimizer's best learning rate: bowl J < {b['target']:.3g} (1e-4 J0, "
        f"curvatures {b['curvatures'][0]:g} and {b['curvatures'][1]:g}), network training loss < {n['target']:g} "
        f"(digits, MLP {n['sizes']}, full batch)",
        f"{'optimizer':<10} {'bowl lr':>9} {'updates':>8}   {'network lr':>10} {'updates':>8}",
    ]
    out.append("-" * len(out[-1]))
    for label in result["optimizers"]:
        cells = []
        for part in ("bowl", "network"):
            r = result[part][label]
            lr = "-" if r["best_lr"] is None else f"{r['best_lr']:.3g}"
            st = "not reached" if r["best_steps"] is None else str(r["best_steps"])
            cells.append((lr, st))
        out.append(f"{label:<10} {cells[0][0]:>9} {cells[0][1]:>8}   {cells[1][0]:>10} {cells[1][1]:>8}")
    return "\n".join(out)


_COLORS = {"GD": "k", "momentum": "C3", "AdaGrad": "C2", "RMSProp": "C0", "Adam": "C4"}


def plot(result, path) -> str:
    """Top: the paths on the bowl's contours (GD and momentum; the adaptive ones) and J per
    update. Below: the network's training loss per update, the updates each needs, and the
    updates on the bowl against the learning rate."""
    plt = pyplot()
    fig, axes = plt.subplots(2, 3, figsize=(15, 9))
    b = result["bowl_setup"]
    H = np.asarray(b["H"])
    g1, g2 = np.meshgrid(np.linspace(-5, 3, 241), np.linspace(-3.5, 3.5, 211))
    J = 0.5 * (H[0, 0] * g1**2 + 2 * H[0, 1] * g1 * g2 + H[1, 1] * g2**2)
    levels = b["J0"] * np.logspace(-4, 0.5, 10)
    for ax, labels in zip(axes[0, :2], (("GD", "momentum"), ("AdaGrad", "RMSProp", "Adam"))):
        ax.contour(g1, g2, J, levels=levels, colors="grey", linewidths=0.6)
        for label in labels:
            r = result["bowl"][label]
            P = np.asarray(r["path"])
            steps = "not reached" if r["best_steps"] is None else f"{r['best_steps']} updates"
            tag = f"{label}, lr {r['best_lr']:.3g}: {steps}" if r["best_lr"] is not None else f"{label}: {steps}"
            ax.plot(P[:, 0], P[:, 1], ".-", color=_COLORS[label], lw=1, ms=3, label=tag)
        ax.plot(*b["start"], "ks", ms=6)
        ax.plot(0, 0, "k*", ms=10)
        ax.set(xlabel="theta_1", ylabel="theta_2", aspect="equal", xlim=(-5, 3), ylim=(-3.5, 3.5))
        ax.legend(fontsize=8, loc="lower right")
        ax.set_title("paths on the contours of J (start: square, minimum: star)", fontsize=9)
    ax = axes[0, 2]
    for label, r in result["bowl"].items():
        ax.plot([np.nan if v is None else v for v in r["loss"]], color=_COLORS[label], label=label)
    ax.axhline(b["target"], color="grey", ls=":", lw=1, label="target 1e-4 J0")
    ax.set(yscale="log", xlabel="update", ylabel="J(theta)", title="bowl: J per update, best rates")
    ax.legend(fontsize=8)
    n = result["network_setup"]
    ax = axes[1, 0]
    for label, r in result["network"].items():
        lr = "-" if r["best_lr"] is None else f"{r['best_lr']:.3g}"
        ax.plot(range(1, len(r["loss"]) + 1), r["loss"], color=_COLORS[label], label=f"{label}, lr {lr}")
    ax.axhline(n["target"], color="grey", ls=":", lw=1, label=f"target {n['target']:g}")
    ax.set(yscale="log", xlabel="full-batch update", ylabel="training loss J (cross-entropy)")
    ax.set_title(f"network: MLP {n['sizes']} on digits, best rates", fontsize=10)
    ax.legend(fontsize=8)
    ax = axes[1, 1]
    labels = list(result["optimizers"])
    x = np.arange(len(labels))
    for k, (part, name) in enumerate((("bowl", "bowl"), ("network", "network"))):
        cap = b["max_steps"] if part == "bowl" else n["max_steps"]
        v = [result[part][lab]["best_steps"] for lab in labels]
        ax.bar(x + (k - 0.5) * 0.38, [cap if s is None else s for s in v], 0.38, label=name, color=f"C{k + 5}")
        for xi, s in zip(x, v):
            ax.text(
                xi + (k - 0.5) * 0.38,
                (cap if s is None else s) * 1.02,
                "-" if s is None else str(s),
                ha="center",
                fontsize=7,
            )
    ax.set_xticks(x, labels)
    ax.set(ylabel="updates to the target", title="updates needed at the best rate (fewer is better)")
    ax.legend(fontsize=8)
    ax = axes[1, 2]
    for label, r in result["bowl"].items():
        ax.plot(
            b["lrs"], [np.nan if s is None else s for s in r["steps"]], "o-", ms=3, color=_COLORS[label], label=label
        )
    ax.set(xscale="log", yscale="log", xlabel="learning rate (log scale)", ylabel="updates to the target")
    ax.set_title("bowl: updates against the learning rate (gaps: not reached)", fontsize=10)
    ax.legend(fontsize=8)
    for ax in axes.flat:
        ax.grid(alpha=0.3)
    title = (
        f"Elongated bowl (curvatures {b['curvatures'][0]:g} and {b['curvatures'][1]:g}, axes turned "
        f"{b['angle_degrees']:g} degrees) and a network: momentum and adaptive steps against gradient descent"
    )
    return finish(fig, path, title)


def add_arguments(parser) -> None:
    parser.add_argument(
        "--steps",
        type=POSITIVE_INT,
        default=None,
        help=f"full-batch updates on the network (default {_NET_STEPS[False]}, quick {_NET_STEPS[True]})",
    )
