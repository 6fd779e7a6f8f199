"""Learning-rate schedules, plain SGD on the digits: constant, step, cosine, cyclic and one-cycle at a fixed budget.

The lecture: "in practice, the best results in the state of the art are obtained with a
simple stochastic gradient descent, and a programmed update of the learning rate (cyclic,
cosine, etc.)". One network (MLP [64, 128, 64, 10], ReLU, softmax) on the 8x8 digits,
plain SGD (no momentum), batches of 32, a fixed budget of epochs; only the learning rate's
program changes (``mlplab.schedules``, torch's definitions, stepped every update, T the
number of updates of the run, peak the largest rate):

- constant: peak throughout;
- step: MultiStepLR, peak divided by 10 at T/2 and again at 3T/4;
- cosine: CosineAnnealingLR, from peak down to 0 along half a cosine;
- cyclic: CyclicLR, triangles between peak/10 and peak, three cycles in T;
- one-cycle: OneCycleLR, up from peak/25 to peak over 0.3 T, then down to peak/25e4.

Each schedule runs at each peak of a grid (0.03, 0.1, 0.3, 1) and several seeds (data split,
weights, batch order); it is judged at its best peak by the final test accuracy (mean over
the seeds), with the final training loss J on the whole training split beside it. A run
that diverges is recorded as such (accuracy None).
"""

from __future__ import annotations

import numpy as np

from .. import datasets, optim
from .. import schedules as sched
from .._validation import check_int
from ..callbacks import Callback
from ..errors import DivergenceError
from ..model import MLP
from ..plotting import finish, pyplot
from . import POSITIVE_INT, json_number

__all__ = ["SCHEDULES", "PEAKS", "run", "plot", "table", "add_arguments"]

SCHEDULES = ("constant", "step", "cosine", "cyclic", "one-cycle")
PEAKS = (0.03, 0.1, 0.3, 1.0)
_QUICK_PEAKS = (0.1, 0.3)
_SEEDS, _QUICK_SEEDS = 3, 2
_EPOCHS, _QUICK_EPOCHS = 10, 8
_BATCH = 32


def schedule(name, peak, T):
    """The learning rate of schedule ``name`` for a run of T updates with largest rate peak."""
    if name == "constant":
        return sched.ConstantLR(peak, factor=1.0, total_iters=1)
    if name == "step":
        return sched.MultiStepLR(peak, [T // 2, 3 * T // 4], gamma=0.1)
    if name == "cosine":
        return sched.CosineAnnealingLR(peak, T)
    if name == "cyclic":
        return sched.CyclicLR(peak / 10, peak, step_size_up=max(T // 6, 1))
    return sched.OneCycleLR(peak, T)


class _TestAccuracy(Callback):
    def __init__(self, X, y):
        self.X, self.y, self.accuracy = X, y, []

    def on_epoch_end(self, epoch, logs=None):
        self.accuracy.append(float((self.model.predict_classes(self.X) == self.y).mean()))


def _one(seed, name, peak, epochs, data):
    """One training run: its record (curves per epoch, final figures)."""
    Xtr, Xte, ytr, yte = data
    T = epochs * -(-Xtr.shape[0] // _BATCH)
    lr = schedule(name, peak, T)
    model = MLP([64, 128, 64, 10], activation="relu", output="softmax", seed=seed)
    test = _TestAccuracy(Xte, yte)
    try:
        h = model.fit(
            Xtr,
            ytr,
            optimizer=optim.SGD(lr=lr),
            epochs=epochs,
            batch_size=_BATCH,
            seed=seed,
            verbose=0,
            callbacks=[test],
        )
    except DivergenceError as e:
        h, diverged = e.history, True
    else:
        diverged = False
    return {
        "diverged": diverged,
        "loss": [json_number(v) for v in h.history.get("loss", [])],
        "test_accuracy": test.accuracy,
        "final_train_loss": None if diverged else json_number(model.evaluate(Xtr, ytr)["loss"]),
        "final_test_accuracy": None if diverged else test.accuracy[-1],
        "lr": [lr(t) for t in range(T)],
    }


def run(seed=0, quick=False, epochs=None) -> dict:
    """Train every schedule at every peak for every seed.

    Parameters
    ----------
    seed : int
        The first seed; seeds seed, seed + 1, ... (3, quick 2) split the data, draw the
        weights and order the batches.
    quick : bool
        Peaks 0.1 and 0.3, two seeds, 8 epochs (a few seconds) instead of 4 peaks, 3 seeds, 10.
    epochs : int, optional
        The budget of every run.

    Returns
    -------
    dict
        ``runs``: one per (schedule, peak, seed) with ``loss`` (epoch means of the batches'
        J), ``test_accuracy`` per epoch, ``final_train_loss``, ``final_test_accuracy``,
        ``diverged``, and ``lr`` per update (seed ``seed``'s runs only); ``summary``: per
        schedule and peak, the means over the seeds and, per schedule, its ``best_peak``.
    """
    epochs = check_int("epochs", (_QUICK_EPOCHS if quick else _EPOCHS) if epochs is None else epochs, 1)
    peaks = list(_QUICK_PEAKS if quick else PEAKS)
    seeds = [seed + k for k in range(_QUICK_SEEDS if quick else _SEEDS)]
    X, y = datasets.load_digits()
    runs = []
    for s in seeds:
        data = datasets.train_test_split(X, y, test_size=0.25, random_state=s, stratify=y)
        for name in SCHEDULES:
            for peak in peaks:
                r = _one(s, name, peak, epochs, data)
                if s != seed:
                    del r["lr"]
                runs.append({"schedule": name, "peak": peak, "seed": s, **r})
    summary = {}
    for name in SCHEDULES:
        per_peak = {}
        for peak in peaks:
            rs = [r for r in runs if r["schedule"] == name and r["peak"] == peak]
            ok = [r for r in rs if not r["diverged"]]
            per_peak[str(peak)] = {
                "test_accuracy": float(np.mean([r["final_test_accuracy"] for r in ok])) if ok else None,
                "train_loss": float(np.mean([r["final_train_loss"] for r in ok])) if ok else None,
                "diverged": len(rs) - len(ok),
            }
        scored = [(v["test_accuracy"], -float(p)) for p, v in per_peak.items() if v["test_accuracy"] is not None]
        best = None if not scored else str(-max(scored)[1])
        summary[name] = {"peaks": per_peak, "best_peak": None if best is None else float(best)}
    return {
        "experiment": "schedules",
        "seed": seed,
        "quick": bool(quick),
        "dataset": "digits",
        "sizes": [64, 128, 64, 10],
        "optimizer": "SGD (no momentum)",
        "batch_size": _BATCH,
        "epochs": epochs,
        "peaks": peaks,
        "seeds": seeds,
        "schedules": list(SCHEDULES),
        "runs": runs,
        "summary": summary,
    }


def table(result) -> str:
    """Final test accuracy (training loss) per schedule and peak, means over the seeds."""
    peaks = result["peaks"]
    out = [
        f"digits, MLP {result['sizes']}, {result['optimizer']}, batch {result['batch_size']}, {result['epochs']} "
        f"epochs; final test accuracy (final training loss J), mean over seeds {result['seeds']}; * best peak",
        f"{'schedule':<10}" + "".join(f"{f'peak {p:g}':>20}" for p in peaks),
    ]
    out.append("-" * len(out[-1]))
    for name, s in result["summary"].items():
        cells = []
        for p in peaks:
            v = s["peaks"][str(p)]
            mark = "*" if s["best_peak"] == p else " "
            text = "diverged" if v["test_accuracy"] is None else f"{v['test_accuracy']:.4f} ({v['train_loss']:.3f})"
            cells.append(f"{text + mark:>20}")
        out.append(f"{name:<10}" + "".join(cells))
    return "\n".join(out)


_COLORS = {"constant": "k", "step": "C1", "cosine": "C0", "cyclic": "C2", "one-cycle": "C3"}


def plot(result, path) -> str:
    """At each schedule's best peak (first seed): the learning rate per update, the test
    accuracy and the training loss per epoch; and the final test accuracy against the peak."""
    plt = pyplot()
    fig, axes = plt.subplots(2, 2, figsize=(13, 8.6))
    axes = axes.ravel()
    first = result["seeds"][0]
    for name, s in result["summary"].items():
        if s["best_peak"] is None:
            continue
        (r,) = [
            r for r in result["runs"] if r["schedule"] == name and r["peak"] == s["best_peak"] and r["seed"] == first
        ]
        label = f"{name} (peak {s['best_peak']:g})"
        axes[0].plot(range(len(r["lr"])), r["lr"], color=_COLORS[name], label=label)
        epochs = range(1, len(r["test_accuracy"]) + 1)
        axes[1].plot(epochs, r["test_accuracy"], "o-", ms=3, color=_COLORS[name], label=label)
        axes[2].plot(range(1, len(r["loss"]) + 1), r["loss"], "o-", ms=3, color=_COLORS[name], label=label)
        peaks = result["peaks"]
        acc = [
            np.nan if s["peaks"][str(p)]["test_accuracy"] is None else s["peaks"][str(p)]["test_accuracy"]
            for p in peaks
        ]
        axes[3].plot(peaks, acc, "o-", color=_COLORS[name], label=name)
    axes[0].set(xlabel="update", ylabel="learning rate", title="the programs, at each one's best peak")
    axes[1].set(xlabel="epoch", ylabel="test accuracy", title=f"test accuracy (seed {first})")
    axes[2].set(
        xlabel="epoch", ylabel="training loss J (epoch mean)", yscale="log", title=f"training loss (seed {first})"
    )
    axes[3].set(xscale="log", xlabel="peak learning rate (log scale)", ylabel="final test accuracy (mean over seeds)")
    axes[3].set_title("final test accuracy against the peak")
    lo = min(a for line in axes[1].get_lines() for a in line.get_ydata())
    axes[1].set_ylim(max(lo, 0.5), 1.0)
    axes[3].set_ylim(0.5, 1.0)
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    budget = f"{result['epochs']} epochs, batch {result['batch_size']}"
    return finish(
        fig, path, f"Plain SGD with a programmed learning rate on the digits ({budget}): each at its best peak"
    )


def add_arguments(parser) -> None:
    help = f"the budget of every run (default {_EPOCHS}, quick {_QUICK_EPOCHS})"
    parser.add_argument("--epochs", type=POSITIVE_INT, default=None, help=help)
