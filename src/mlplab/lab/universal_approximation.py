"""Universal approximation: one hidden layer, widths 1 to 512; the sup error of what exists and of what training finds.

The lecture's theorem (Cybenko 1989; proven for ReLU too): any continuous f from [0, 1]^m
to R is approximated by a multi-layer perceptron with a single hidden layer, given enough
units, and the lecture adds that it "does not say how to choose the best network
architecture and how to estimate the network parameters efficiently". Both halves, made
concrete on continuous functions of [0, 1] and [0, 1]^2 (``FUNCTIONS``). For each function,
hidden activation (sigmoid, ReLU) and width k (1, 2, 4, ..., 512), three networks
MLP([m, k, 1]), each measured by its sup error max |f_hat(x) - f(x)| on a fine grid
(4001 points of [0, 1], 201 x 201 of [0, 1]^2):

- construction (1-D only), the classical proofs written as weights: ReLU, the piecewise-
  linear interpolant of f at the k + 1 knots j / k (unit j is relu(x - j/k), its output
  weight the change of slope there), whose error is at most h^2 / 8 max |f''| with h = 1/k;
  sigmoid, a staircase of k steep steps sigma(40 k (x - m_j)) at the midpoints m_j, each of
  the height f(j/k) - f((j-1)/k), whose error is about the oscillation of f over 1/k;
- least squares: a random hidden layer (directions and centres drawn once, the first k of
  512 units, so wider networks contain narrower ones), the output layer solved by least
  squares on a grid (1025 points, 33 x 33): the best output weights for those units (the
  directions of singular values below 1e-6 of the largest left out, which would otherwise
  blow up between the grid points);
- trained: the MLP as built by default (He or Glorot weights, zero biases) on inputs scaled
  to [-1, 1], trained by full-batch Adam (lr 0.01, 2000 epochs) on a grid (257 points,
  17 x 17), as a user would; the scaling is then folded into the first layer, so that the
  network takes x in [0, 1] as the others do.

What the theorem does not promise shows as the width needed (the smallest k whose sup
error reaches 0.05 grows with how much f wiggles) and as the gap between what exists and
what training finds.
"""

from __future__ import annotations

import numpy as np

from .. import optim
from .._validation import check_int
from ..model import MLP
from ..plotting import finish, pyplot
from . import POSITIVE_INT, check_names, json_number, names_arg

__all__ = ["FUNCTIONS", "WIDTHS", "TARGET", "run", "plot", "table", "add_arguments"]


def _sin(X):
    return np.sin(2 * np.pi * X[:, 0])


def _kink(X):
    return np.abs(2 * X[:, 0] - 1)


def _wiggle(X):
    return np.sin(8 * np.pi * X[:, 0]) * np.exp(-2 * X[:, 0])


def _bump(X):
    return np.exp(-10 * ((X[:, 0] - 0.5) ** 2 + (X[:, 1] - 0.5) ** 2))


#: name -> (input dimension m, f, formula)
FUNCTIONS = {
    "sin": (1, _sin, "sin(2 pi x)"),
    "kink": (1, _kink, "|2x - 1|"),
    "wiggle": (1, _wiggle, "sin(8 pi x) exp(-2x)"),
    "bump": (2, _bump, "exp(-10 |x - (1/2, 1/2)|^2)"),
}
ACTIVATIONS = ("sigmoid", "relu")
WIDTHS = tuple(2**i for i in range(10))  # 1 ... 512
_QUICK_WIDTHS = (1, 4, 16, 64)
TARGET = 0.05  # the sup error of "the width needed"
_LR = 0.01
_EPOCHS, _QUICK_EPOCHS = 2000, 1000
_GRIDS = {1: (1025, 257, 4001), 2: (33, 17, 201)}  # points per axis: least squares, training, fine grid
_SHOW = 201  # points per axis of the curves kept for the figure
_STEEP = 40.0  # the staircase's steepness, times k
_RCOND = 1e-6  # least squares: singular values below this fraction of the largest are cut


def _grid(m, k):
    c = np.linspace(0.0, 1.0, k)
    if m == 1:
        return c[:, None]
    A, B = np.meshgrid(c, c)
    return np.stack([A.ravel(), B.ravel()], axis=1)


def _set(model, W1, b1, W2, b2):
    dense = [layer for layer in model.layers if hasattr(layer, "W")]
    dense[0].W, dense[0].b, dense[1].W, dense[1].b = W1, b1, W2.reshape(-1, 1), np.atleast_1d(b2)
    return model


def construction(f, k, activation):
    """The classical one-hidden-layer approximation of f on [0, 1] with k units, as an MLP."""
    t = np.arange(k + 1) / k
    ft = f(t[:, None])
    model = MLP([1, k, 1], activation=activation, dtype="float64")
    if activation == "relu":  # f(0) + sum_j c_j relu(x - t_j): the interpolant at the knots t_j
        slopes = np.diff(ft) * k
        c = np.diff(np.concatenate([[0.0], slopes]))
        return _set(model, np.ones((1, k)), -t[:k], c, ft[0])
    s = _STEEP * k  # f(0) + sum_j (f(t_j) - f(t_{j-1})) sigma(s (x - m_j)), steps at the midpoints
    mid = (t[:-1] + t[1:]) / 2
    return _set(model, np.full((1, k), s), -s * mid, np.diff(ft), ft[0])


def _random_units(m, activation, rng, n=WIDTHS[-1]):
    """Hidden weights of n random units z = w . (x - c): unit directions, centres c in the
    cube, slopes about 30 for the sigmoid (steep enough for detail), 1 for ReLU."""
    W = rng.normal(size=(n, m))
    W /= np.linalg.norm(W, axis=1, keepdims=True)
    if activation == "sigmoid":
        W *= 30.0 * (np.abs(rng.normal(size=(n, 1))) + 0.1)
    C = rng.uniform(0.0, 1.0, size=(n, m))
    return W.T.copy(), -(W * C).sum(axis=1)


def least_squares(X, y, W1, b1, activation):
    """MLP([m, k, 1]) with the hidden layer (W1, b1) and the output layer that fits y at X best
    (least squares)."""
    m, k = W1.shape
    model = _set(MLP([m, k, 1], activation=activation, dtype="float64"), W1, b1, np.zeros(k), 0.0)
    H = model.layers[1].forward(model.layers[0].forward(X), False)
    coef = np.linalg.lstsq(np.hstack([H, np.ones((X.shape[0], 1))]), y, rcond=_RCOND)[0]
    return _set(model, W1, b1, coef[:-1], coef[-1])


def _sup(model, X, y):
    return float(np.abs(model.predict(X)[:, 0].astype(np.float64) - y).max())


def run(seed=0, quick=False, functions=None, epochs=None) -> dict:
    """Build and fit every network; record sup errors and, for the figure, a few curves.

    Parameters
    ----------
    seed : int
        Seeds the random hidden units and the trained networks' initial weights.
    quick : bool
        Widths 1, 4, 16, 64 and 1000 epochs (a few seconds) instead of 1 ... 512 and 2000.
    functions : sequence of str or comma-separated str, optional
        Some of ``FUNCTIONS`` (default all).
    epochs : int, optional
        Full-batch Adam steps of the trained networks.

    Returns
    -------
    dict
        ``errors``: per function, per activation, per method ("construction" for 1-D
        functions, "least_squares", "trained"), the sup error for each width of ``widths``;
        ``needed``: the same keys, the smallest width whose sup error is at most ``target``
        (None if none); ``curves``: per 1-D function, f and the fits of width ``show_width``
        on ``x``; ``bump``: for a 2-D function, the trained ReLU's error map at the largest
        width.
    """
    names = list(FUNCTIONS) if functions is None else check_names("functions", functions, FUNCTIONS)
    epochs = check_int("epochs", (_QUICK_EPOCHS if quick else _EPOCHS) if epochs is None else epochs, 1)
    widths = list(_QUICK_WIDTHS if quick else WIDTHS)
    show = widths[len(widths) // 2]
    errors, needed, curves, maps = {}, {}, {}, {}
    for name in names:
        m, f, _ = FUNCTIONS[name]
        n_ls, n_train, n_fine = _GRIDS[m]
        Xls, Xtr, Xte = _grid(m, n_ls), _grid(m, n_train), _grid(m, n_fine)
        yls, ytr, yte = f(Xls), f(Xtr), f(Xte)
        Xshow = _grid(1, _SHOW)
        errors[name], needed[name] = {}, {}
        if m == 1:
            curves[name] = {"x": Xshow[:, 0].tolist(), "f": f(Xshow).tolist()}
        for activation in ACTIVATIONS:
            W1, b1 = _random_units(m, activation, np.random.default_rng([seed, m]))
            methods = (["construction"] if m == 1 else []) + ["least_squares", "trained"]
            errors[name][activation], needed[name][activation] = {}, {}
            for method in methods:
                errs = []
                for k in widths:
                    if method == "construction":
                        model = construction(f, k, activation)
                    elif method == "least_squares":
                        model = least_squares(Xls, yls, W1[:, :k], b1[:k], activation)
                    else:
                        model = _trained(Xtr, ytr, k, activation, epochs, seed)
                    errs.append(_sup(model, Xte, yte))
                    if m == 1 and k == show:
                        curves[name][f"{method} {activation}"] = model.predict(Xshow)[:, 0].astype(float).tolist()
                    if m == 2 and k == widths[-1] and method == "trained" and activation == "relu":
                        G = _grid(2, 51)
                        maps[name] = (model.predict(G)[:, 0] - f(G)).reshape(51, 51).tolist()
                errors[name][activation][method] = [json_number(e) for e in errs]
                ok = [k for k, e in zip(widths, errs) if e <= TARGET]
                needed[name][activation][method] = ok[0] if ok else None
    return {
        "experiment": "universal-approximation",
        "seed": seed,
        "quick": bool(quick),
        "functions": {n: {"inputs": FUNCTIONS[n][0], "formula": FUNCTIONS[n][2]} for n in names},
        "activations": list(ACTIVATIONS),
        "widths": widths,
        "epochs": epochs,
        "optimizer": f"Adam(lr={_LR:g}), full batch",
        "target": TARGET,
        "grids": {str(m): {"least_squares": g[0], "train": g[1], "fine": g[2]} for m, g in _GRIDS.items()},
        "show_width": show,
        "errors": errors,
        "needed": needed,
        "curves": curves,
        "error_maps": maps,
    }


def _trained(X, y, k, activation, epochs, seed):
    """MLP([m, k, 1]) trained on (2X - 1, y), then given x in [0, 1]: W (2x - 1) + b = 2W x + b - W 1."""
    model = MLP([X.shape[1], k, 1], activation=activation, seed=seed)
    model.fit(
        2 * X - 1, y, loss="mse", optimizer=optim.Adam(lr=_LR), epochs=epochs, batch_size=None, metrics=None, verbose=0
    )
    first = model.layers[0]
    first.b = first.b - first.W.sum(axis=0)
    first.W = 2 * first.W
    return model


_STYLE = {"construction": "--", "least_squares": "-", "trained": ":"}
_COLOR = {"sigmoid": "C0", "relu": "C3"}
_FLOOR = 1e-6
_WORDS = {"construction": "construction", "least_squares": "least squares", "trained": "trained"}


def table(result) -> str:
    """Per function and activation, the sup error of each method by width, and the width needed."""
    widths = result["widths"]
    out = [
        f"sup error max |f_hat - f| on the fine grid, one hidden layer of k units; trained: {result['optimizer']}, "
        f"{result['epochs']} epochs; 'needed': the smallest k with sup error <= {result['target']:g}",
        f"{'function':<8} {'units':<8} {'method':<14}" + "".join(f"{f'k={k}':>10}" for k in widths) + f"{'needed':>8}",
    ]
    out.append("-" * len(out[-1]))
    for name, by_act in result["errors"].items():
        for act, by_method in by_act.items():
            for method, errs in by_method.items():
                need = result["needed"][name][act][method]
                cells = "".join(f"{'-' if e is None else f'{e:.2e}':>10}" for e in errs)
                out.append(f"{name:<8} {act:<8} {_WORDS[method]:<14}{cells}{'-' if need is None else need:>8}")
    out.append("functions: " + "; ".join(f"{n} = {d['formula']}" for n, d in result["functions"].items()))
    return "\n".join(out)


def plot(result, path) -> str:
    """Top: sup error against width (log-log) per function, per activation and method. Below:
    the 1-D functions with the fits of one width, and the trained ReLU network's error over
    [0, 1]^2 at the largest width."""
    plt = pyplot()
    names = list(result["errors"])
    fig, axes = plt.subplots(2, len(names), figsize=(4.3 * len(names), 7.8), squeeze=False)
    widths = result["widths"]
    for ax, name in zip(axes[0], names):
        for act, by_method in result["errors"][name].items():
            for method, errs in by_method.items():
                ys = [np.nan if e is None else max(e, _FLOOR) for e in errs]  # 0 (exact) drawn at the floor
                ax.plot(
                    widths, ys, _STYLE[method], color=_COLOR[act], marker="o", ms=3, label=f"{act}, {_WORDS[method]}"
                )
        ax.axhline(result["target"], color="grey", lw=0.8)
        if any(e == 0 for by in result["errors"][name].values() for errs in by.values() for e in errs):
            ax.text(0.98, 0.1, f"0 (exact) drawn at {_FLOOR:g}", ha="right", transform=ax.transAxes, fontsize=7)
        ax.set(xscale="log", yscale="log", xlabel="hidden units k (log scale)", ylabel="sup error max |f_hat - f|")
        ax.set_xticks(widths, [str(k) for k in widths], fontsize=7)
        ax.set_title(f"{name}: {result['functions'][name]['formula']}", fontsize=9)
        ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=7)
    show = result["show_width"]
    for ax, name in zip(axes[1], names):
        if name in result["curves"]:
            c = result["curves"][name]
            ax.plot(c["x"], c["f"], color="k", lw=2.5, alpha=0.35, label="f")
            for key, values in c.items():
                if key in ("x", "f") or key.startswith("construction sigmoid"):
                    continue
                method, act = key.split()
                ax.plot(c["x"], values, _STYLE[method], color=_COLOR[act], lw=1.2, label=f"{act}, {_WORDS[method]}")
            ax.set(xlabel="x", ylabel="f(x) and the fits")
            ax.set_title(f"{name}: the networks of {show} units", fontsize=9)
            ax.legend(fontsize=6)
            ax.grid(alpha=0.3)
        elif name in result["error_maps"]:
            E = np.asarray(result["error_maps"][name])
            lim = float(np.abs(E).max())
            im = ax.imshow(E, origin="lower", extent=[0, 1, 0, 1], cmap="RdBu_r", vmin=-lim, vmax=lim)
            fig.colorbar(im, ax=ax, label="f_hat - f")
            ax.set(xlabel="x1", ylabel="x2")
            ax.set_title(f"{name}: trained ReLU, {widths[-1]} units: error", fontsize=9)
        else:
            ax.axis("off")
    return finish(
        fig,
        path,
        "Universal approximation: one hidden layer of k units can approximate a continuous f (construction, least "
        "squares: the error falls with k)\nbut the theorem says neither how many units (grey line: sup error "
        f"{result['target']:g}) nor that training finds them (dotted: {result['optimizer']}, "
        f"{result['epochs']} epochs)",
        fontsize=10,
    )


def add_arguments(parser) -> None:
    parser.add_argument(
        "--functions",
        type=names_arg("--functions", FUNCTIONS),
        default=None,
        help=f"comma-separated, from {','.join(FUNCTIONS)} (default all)",
    )
    parser.add_argument(
        "--epochs",
        type=POSITIVE_INT,
        default=None,
        help=f"full-batch Adam steps of the trained networks (default {_EPOCHS}, quick {_QUICK_EPOCHS})",
    )
