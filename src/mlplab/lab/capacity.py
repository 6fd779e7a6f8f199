"""Capacity: training accuracy over a grid of depths x widths on spiral, circle and xor, with the decision surfaces.

The lecture's claim: "increasing the number of layers and the number of neurons in a
multi-layer perceptron increases the network's capacity, and thus its separating ability".
Separating ability is measured where capacity shows, on the training points: for each
problem (the playground's, ``mlplab.datasets``, raw inputs x1, x2 only) and each network
with ``depth`` hidden layers of ``width`` units, the training accuracy after full-batch
Adam, with the test accuracy on the held-out half beside it and the decision surface
p(class 1) over the input square.

The networks and their training are the playground experiment's (``lab.playground``: tanh
hidden units, a sigmoid output, binary cross-entropy, full-batch Adam at lr 0.03, half of
the points for training), over a finer grid of architectures: depths 1, 2, 3 and widths 2,
4, 8, 16, 32 (quick: depths 1, 2 and widths 2, 8, 32).
"""

from __future__ import annotations

import numpy as np

from .._validation import check_int
from ..plotting import pyplot, save
from . import playground
from .playground import draw_surface, problem_data, surface_colormap, train

__all__ = ["PROBLEMS", "DEPTHS", "WIDTHS", "run", "plot", "table", "add_arguments"]

PROBLEMS = ("spiral", "circle", "xor")
DEPTHS, WIDTHS = (1, 2, 3), (2, 4, 8, 16, 32)
_QUICK = ((1, 2), (2, 8, 32))
_SETUP = {False: (600, 1000, 50), True: (400, 300, 30)}  # quick -> (points, epochs, grid resolution)
_ACTIVATION = "tanh"


def run(seed=0, quick=False, problems=PROBLEMS, noise=0.1, epochs=None) -> dict:
    """Train one network per (problem, depth, width); record accuracies and surfaces.

    Parameters
    ----------
    seed : int
        Seeds the points, the split and the initial weights.
    quick : bool
        Depths 1, 2, widths 2, 8, 32, 400 points, 300 epochs, a 30 x 30 grid (a few seconds)
        instead of depths 1-3, widths 2-32, 600 points, 1000 epochs, 50 x 50.
    problems : sequence of str or comma-separated str
        From the playground's circle, xor, gaussian, spiral (default spiral, circle, xor);
        the figure draws the surfaces of the first.
    noise : float
        The generators' noise (default 0.1).
    epochs : int, optional
        Full-batch Adam steps (default 1000, quick 300).

    Returns
    -------
    dict
        ``depths``, ``widths``; ``data``: per problem, the points and the grid's extent (as
        the playground's); ``runs``: one per (problem, depth, width), problem-major then
        depth then width, with ``train_accuracy``, ``test_accuracy``, ``n_params``, ``loss``
        per epoch, ``weights`` and ``p`` (the grid of p(class 1), rows from bottom to top).
    """
    problems, noise = playground.check_options(problems, noise, _ACTIVATION, epochs)
    n, default_epochs, resolution = _SETUP[bool(quick)]
    epochs = default_epochs if epochs is None else check_int("epochs", epochs, 1)
    depths, widths = _QUICK if quick else (DEPTHS, WIDTHS)
    data, runs = {}, []
    for problem in problems:
        arrays, data[problem], G = problem_data(problem, n, noise, seed, resolution)
        for depth in depths:
            for width in widths:
                r = train(arrays, G, (width,) * depth, _ACTIVATION, epochs, seed)
                runs.append({"problem": problem, "depth": depth, "width": width, **r})
    return {
        "experiment": "capacity",
        "seed": seed,
        "quick": bool(quick),
        "problems": problems,
        "noise": noise,
        "activation": _ACTIVATION,
        "epochs": epochs,
        "optimizer": f"Adam(lr={playground.LR:g}), full batch",
        "n": n,
        "depths": list(depths),
        "widths": list(widths),
        "resolution": resolution,
        "data": data,
        "runs": runs,
    }


def accuracy_grid(result, problem, key="train_accuracy"):
    """The accuracies of one problem as an array (depths, widths)."""
    acc = {(r["depth"], r["width"]): r[key] for r in result["runs"] if r["problem"] == problem}
    return np.array([[acc[(d, w)] for w in result["widths"]] for d in result["depths"]])


def table(result) -> str:
    """Per problem: training accuracy (test accuracy) for each depth and width."""
    out = [
        f"training accuracy (test accuracy), {result['activation']} hidden units, sigmoid output, "
        f"{result['optimizer']}, {result['epochs']} epochs, {result['n']} points (half for training)"
    ]
    cols = "".join(f"{f'width {w}':>15}" for w in result["widths"])
    for problem in result["problems"]:
        tr, te = accuracy_grid(result, problem), accuracy_grid(result, problem, "test_accuracy")
        out += ["", f"{problem:<10}{cols}"]
        for i, depth in enumerate(result["depths"]):
            row = "".join(f"{f'{a:.3f} ({b:.3f})':>15}" for a, b in zip(tr[i], te[i]))
            out.append(f"{f'depth {depth}':<10}{row}")
    return "\n".join(out)


def plot(result, path) -> str:
    """Top: training accuracy over depth x width, one heat map per problem. Below: the first
    problem's decision surfaces, one row per depth, one column per width."""
    plt = pyplot()
    problems, depths, widths = result["problems"], result["depths"], result["widths"]
    ncol = len(widths)
    fig = plt.figure(figsize=(2.6 * max(ncol, 3), 2.6 * len(depths) + 3.6))
    outer = fig.add_gridspec(2, 1, height_ratios=[1.0, 0.95 * len(depths)], hspace=0.28)
    top = outer[0].subgridspec(1, len(problems) + 1, width_ratios=[1] * len(problems) + [0.06], wspace=0.45)
    for k, problem in enumerate(problems):
        ax = fig.add_subplot(top[0, k])
        acc = accuracy_grid(result, problem)
        im = ax.imshow(acc, origin="lower", cmap="viridis", vmin=0.5, vmax=1.0, aspect="auto")
        for (i, j), a in np.ndenumerate(acc):
            ax.text(j, i, f"{a:.2f}", ha="center", va="center", fontsize=7, color="w" if a < 0.8 else "k")
        ax.set_xticks(range(len(widths)), [str(w) for w in widths], fontsize=8)
        ax.set_yticks(range(len(depths)), [str(d) for d in depths], fontsize=8)
        ax.set_xlabel("width (units per hidden layer)", fontsize=8)
        ax.set_ylabel("depth (hidden layers)", fontsize=8)
        ax.set_title(f"{problem}: training accuracy", fontsize=9)
    fig.colorbar(im, cax=fig.add_subplot(top[0, -1]), label="training accuracy")
    bottom = outer[1].subgridspec(len(depths), ncol, hspace=0.3, wspace=0.08)
    first = problems[0]
    runs = {(r["depth"], r["width"]): r for r in result["runs"] if r["problem"] == first}
    cmap = surface_colormap()
    for i, depth in enumerate(depths):
        for j, width in enumerate(widths):
            ax = fig.add_subplot(bottom[i, j])
            r = runs[(depth, width)]
            draw_surface(ax, result["data"][first], r["p"], cmap)
            ax.set_title(f"{depth} x {width} units: train {r['train_accuracy']:.2f}", fontsize=8)
            if j == 0:
                ax.set_ylabel(f"depth {depth}", fontsize=9)
            if i == len(depths) - 1:
                ax.set_xlabel(f"width {width}", fontsize=9)
    fig.suptitle(
        f"More layers and neurons, more separating ability: training accuracy over depth x width; below, "
        f"{first}'s p(class 1)\n(orange 0, blue 1, p = 0.5 in black; {result['activation']} hidden units, "
        f"{result['optimizer']}, {result['epochs']} epochs; training points shown)",
        fontsize=10,
    )
    return save(fig, path)


def add_arguments(parser) -> None:
    parser.add_argument(
        "--problems",
        type=playground.problems_arg,
        default=list(PROBLEMS),
        help=f"comma-separated, from {','.join(playground.PROBLEMS)}; the figure draws the first's surfaces "
        f"(default {','.join(PROBLEMS)})",
    )
    parser.add_argument("--noise", type=playground.NONNEGATIVE_FLOAT, default=0.1, help="noise (default 0.1)")
    parser.add_argument(
        "--epochs", type=playground.POSITIVE_INT, default=None, help="full-batch Adam steps (default 1000, quick 300)"
    )
