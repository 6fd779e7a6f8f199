"""Playground: decision surfaces of MLPs of growing capacity on circle, xor, gaussian and spiral.

mlplab's version of playground.tensorflow.org, which the lecture points to. Its claim:
adding layers and neurons to a multi-layer perceptron raises its capacity, hence its
separating ability (and, by the universal approximation theorem, one wide enough hidden
layer can draw any reasonable boundary). The four playground problems
(``mlplab.datasets``), with the raw inputs (x1, x2) only, no hand-made features:

- no hidden layer, [2, 1]: logistic regression, a straight boundary; enough for the
  gaussian blobs, near chance on circle and xor;
- [2, 4, 1]: one small hidden layer bends the boundary: circle and xor are solved;
- [2, 8, 8, 1] and [2, 16, 16, 16, 1]: deeper and wider, until the spiral is separated.

Each network (``activation`` hidden units, a sigmoid output, binary cross-entropy) is
trained by full-batch Adam (lr = 0.03) on half of the points and tested on the other
half, as playground's default 50 % split does. The predicted probability p(x1, x2) is
recorded on a regular grid over the input square, like playground's output panel.
"""

from __future__ import annotations

import math

import numpy as np

from .. import activations, datasets, optim
from .._validation import check_choice, check_int, check_real
from ..model import MLP
from ..plotting import colormap, pyplot, save
from . import NONNEGATIVE_FLOAT, POSITIVE_INT, check_names, names_arg

__all__ = [
    "PROBLEMS",
    "ARCHITECTURES",
    "LR",
    "run",
    "plot",
    "table",
    "add_arguments",
    "problem_data",
    "train",
    "surface_colormap",
    "draw_surface",
    "check_options",
    "problems_arg",
]

#: the playground problems, names of generators in mlplab.datasets
PROBLEMS = ("circle", "xor", "gaussian", "spiral")
#: hidden widths of each network, in order of growing capacity (input 2, output 1 around them)
ARCHITECTURES = ((), (4,), (8, 8), (16, 16, 16))
#: Adam's learning rate (playground's default rate is 0.03 too, for its SGD)
LR = 0.03
_SETUP = {False: (600, 1000, 80), True: (400, 400, 40)}  # quick -> (points, epochs, grid resolution)
_HALF = 1.2  # the grid spans [-1.2, 1.2]^2 (playground's [-6, 6]^2 over R = 5), more if points lie outside
_DECIMALS = 5  # grid probabilities are stored rounded, to keep the JSON small


def check_options(problems, noise, activation, epochs):
    """(problems as a list, noise as a float), checked, and the activation and epochs checked."""
    problems = check_names("problems", problems, PROBLEMS)
    noise = check_real("noise", noise, 0)
    check_choice("activation", activation, sorted(set(activations.ACTIVATIONS) - {"softmax"}))
    if epochs is not None:
        check_int("epochs", epochs, 1)
    return problems, noise


def _grid(X, resolution):
    """Cell centres of a resolution x resolution grid over the square [-h, h]^2 holding X.

    Row i, column j is the point (x1_j, x2_i), x2 growing with i (imshow's origin="lower")."""
    h = max(_HALF, math.ceil(10 * float(np.abs(X).max())) / 10)
    c = -h + (np.arange(resolution) + 0.5) * (2 * h / resolution)
    X1, X2 = np.meshgrid(c, c)
    return [-h, h, -h, h], np.stack([X1.ravel(), X2.ravel()], axis=1)


def problem_data(problem, n, noise, seed, resolution):
    """One problem's points, split in halves (stratified, as playground's 50 % split), and its
    grid: ((X_train, X_test, y_train, y_test), the JSON record of the points and the grid's
    extent, the grid's cell centres G of shape (resolution**2, 2))."""
    X, y = getattr(datasets, problem)(n=n, noise=noise, seed=seed)
    Xtr, Xte, ytr, yte = datasets.train_test_split(X, y, test_size=0.5, random_state=seed, stratify=y)
    extent, G = _grid(X, resolution)
    record = {"X_train": Xtr.tolist(), "y_train": ytr.tolist(), "X_test": Xte.tolist(), "y_test": yte.tolist()}
    return (Xtr, Xte, ytr, yte), {**record, "extent": extent}, G


def train(arrays, G, hidden, activation, epochs, seed) -> dict:
    """Train MLP [2, *hidden, 1] (``activation`` hidden units, sigmoid output, bce) by
    full-batch Adam (lr ``LR``) on ``arrays`` (``problem_data``'s); its record: ``sizes``,
    ``n_params``, ``train_accuracy``, ``test_accuracy``, ``loss`` per epoch, ``weights`` and
    ``p``, the probability of class 1 at G as a square grid, rounded to ``_DECIMALS``."""
    Xtr, Xte, ytr, yte = arrays
    resolution = math.isqrt(G.shape[0])
    model = MLP([2, *hidden, 1], activation=activation, output="sigmoid", seed=seed)
    h = model.fit(
        Xtr,
        ytr,
        loss="bce",
        optimizer=optim.Adam(lr=LR),
        epochs=epochs,
        batch_size=None,
        seed=seed,
        metrics=None,
        verbose=0,
    )
    P = model.predict(G)[:, 0].astype(np.float64).reshape(resolution, resolution)
    return {
        "sizes": model.sizes,
        "n_params": int(model.n_params),
        "train_accuracy": float((model.predict_classes(Xtr) == ytr).mean()),
        "test_accuracy": float((model.predict_classes(Xte) == yte).mean()),
        "loss": [float(v) for v in h["loss"]],
        "weights": [{"W": layer.W.tolist(), "b": layer.b.tolist()} for layer in model.layers if hasattr(layer, "W")],
        "p": np.round(P, _DECIMALS).tolist(),
    }


def run(seed=0, quick=False, problems=PROBLEMS, noise=0.1, activation="tanh", epochs=None) -> dict:
    """Train each architecture on each problem; record accuracies, losses and decision surfaces.

    Parameters
    ----------
    seed : int
        Seeds each problem's points, the train/test split and the initial weights.
    quick : bool
        400 points, 400 epochs, a 40 x 40 grid (a second or two) instead of 600, 1000, 80 x 80.
    problems : sequence of str or comma-separated str
        Some of ``PROBLEMS``.
    noise : float
        Playground's noise, passed to each generator (default 0.1).
    activation : str
        Hidden activation (default "tanh", playground's default).
    epochs : int, optional
        Full-batch Adam steps; default 1000 (quick: 400).

    Returns
    -------
    dict
        ``data``: per problem, the training and test points (``X_train``, ``y_train``,
        ``X_test``, ``y_test``) and the grid's ``extent`` [x1_min, x1_max, x2_min, x2_max];
        ``runs``: one per (problem, architecture), problem-major, with ``sizes``,
        ``train_accuracy``, ``test_accuracy``, ``loss`` per epoch, ``weights``
        ([{"W", "b"}] per Dense layer, W of shape (n_in, n_out)) and ``p``, the predicted
        probability of class 1 at the grid's cell centres (``resolution`` rows of x2, from
        bottom to top, each of ``resolution`` columns of x1, left to right).
    """
    problems, noise = check_options(problems, noise, activation, epochs)
    n, default_epochs, resolution = _SETUP[bool(quick)]
    epochs = default_epochs if epochs is None else int(epochs)
    data, runs = {}, []
    for problem in problems:
        arrays, data[problem], G = problem_data(problem, n, noise, seed, resolution)
        for hidden in ARCHITECTURES:
            runs.append({"problem": problem, **train(arrays, G, hidden, activation, epochs, seed)})
    return {
        "experiment": "playground",
        "seed": seed,
        "quick": bool(quick),
        "problems": problems,
        "noise": noise,
        "activation": activation,
        "epochs": epochs,
        "optimizer": f"Adam(lr={LR:g}), full batch",
        "loss": "bce",
        "n": n,
        "test_size": 0.5,
        "architectures": [[2, *hidden, 1] for hidden in ARCHITECTURES],
        "resolution": resolution,
        "decimals": _DECIMALS,
        "data": data,
        "runs": runs,
    }


def table(result) -> str:
    """Test accuracy per (problem, architecture)."""
    archs = [str(s) for s in result["architectures"]]
    acc = {(r["problem"], str(r["sizes"])): r["test_accuracy"] for r in result["runs"]}
    w0 = max(len("problem"), *(len(p) for p in result["problems"]))
    w = [max(len(a), 5) for a in archs]
    out = [
        f"test accuracy, {result['activation']} hidden units, sigmoid output, {result['optimizer']}, "
        f"{result['epochs']} epochs, noise {result['noise']:g}, {result['n']} points (half for training)",
        "  ".join([f"{'problem':<{w0}}"] + [f"{a:>{wi}}" for a, wi in zip(archs, w)]),
    ]
    out.append("-" * len(out[-1]))
    for p in result["problems"]:
        out.append("  ".join([f"{p:<{w0}}"] + [f"{acc[(p, a)]:>{wi}.3f}" for a, wi in zip(archs, w)]))
    return "\n".join(out)


def plot(result, path) -> str:
    """Rows = problems, columns = architectures: p(x1, x2) (orange 0, blue 1), the p = 0.5
    boundary and the training points; a last column shows the training loss per epoch."""
    plt = pyplot()
    cmap = surface_colormap()
    problems, archs = result["problems"], result["architectures"]
    runs = {(r["problem"], tuple(r["sizes"])): r for r in result["runs"]}
    nrow, ncol = len(problems), len(archs) + 1
    fig, axes = plt.subplots(nrow, ncol, figsize=(2.7 * ncol, 2.7 * nrow), squeeze=False)
    curve_colors = plt.get_cmap("viridis")(np.linspace(0, 0.85, len(archs)))
    for i, problem in enumerate(problems):
        d = result["data"][problem]
        for j, sizes in enumerate(archs):
            ax, r = axes[i, j], runs[(problem, tuple(sizes))]
            draw_surface(ax, d, r["p"], cmap)
            ax.set_title(f"{sizes}\ntest acc {r['test_accuracy']:.3f}", fontsize=9)
            if j == 0:
                ax.set_ylabel(problem, fontsize=11)
        ax = axes[i, -1]
        for sizes, color in zip(archs, curve_colors):
            loss = runs[(problem, tuple(sizes))]["loss"]
            ax.plot(range(1, len(loss) + 1), loss, color=color, lw=1.2, label=str(sizes))
        ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.set_title("training loss (bce)", fontsize=9)
        if i == nrow - 1:
            ax.set_xlabel("epoch", fontsize=8)
        if i == 0:
            ax.legend(fontsize=6)
        ax.tick_params(labelsize=7)
    fig.suptitle(
        f"More layers and neurons, more separating ability: p(class 1) over the input square, "
        f"p = 0.5 in black\n({result['activation']} hidden units, {result['optimizer']}, "
        f"{result['epochs']} epochs; training points shown, accuracy on the held-out half)",
        fontsize=10,
    )
    fig.tight_layout()
    return save(fig, path)


_ORANGE, _BLUE = "#f59322", "#0877bd"  # playground's colours for its negative and positive class


def surface_colormap():
    """Playground's output colours: orange (class 0), white (p = 0.5), blue (class 1)."""
    return colormap("playground", [_ORANGE, "#f7f7f7", _BLUE])


def draw_surface(ax, d, p, cmap) -> None:
    """One panel: p(class 1) on the grid (``p``, a square list of rows, x2 upwards), the p = 0.5
    boundary and the training points of ``d`` (a problem's record in ``data``)."""
    X, y = np.asarray(d["X_train"]), np.asarray(d["y_train"])
    lo, hi = d["extent"][0], d["extent"][1]
    P = np.asarray(p)
    ax.imshow(P, origin="lower", extent=d["extent"], cmap=cmap, vmin=0, vmax=1, alpha=0.55, interpolation="bilinear")
    if P.min() < 0.5 < P.max():
        c = lo + (np.arange(P.shape[0]) + 0.5) * (hi - lo) / P.shape[0]
        ax.contour(c, c, P, levels=[0.5], colors="k", linewidths=1.2)
    ax.scatter(X[:, 0], X[:, 1], c=np.where(y == 1, _BLUE, _ORANGE), s=9, edgecolors="white", linewidths=0.5)
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_xticks([])
    ax.set_yticks([])


#: argparse type of --problems: distinct names from PROBLEMS, comma-separated
problems_arg = names_arg("--problems", PROBLEMS)


def add_arguments(parser) -> None:
    parser.add_argument(
        "--problems",
        type=problems_arg,
        default=list(PROBLEMS),
        help=f"comma-separated, from {','.join(PROBLEMS)} (default all)",
    )
    parser.add_argument("--noise", type=NONNEGATIVE_FLOAT, default=0.1, help="playground's noise (default 0.1)")
    parser.add_argument(
        "--activation",
        default="tanh",
        choices=sorted(set(activations.ACTIVATIONS) - {"softmax"}),
        help="hidden activation (default tanh)",
    )
    parser.add_argument(
        "--epochs", type=POSITIVE_INT, default=None, help="full-batch Adam steps (default 1000, quick 400)"
    )
