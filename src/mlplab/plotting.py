"""Plots. The only module that imports matplotlib, and only when a plot is asked for
(``pip install mlplab[plot]``)."""

from __future__ import annotations

import os

import numpy as np

__all__ = [
    "pyplot",
    "save",
    "finish",
    "colormap",
    "plot_history",
    "plot_diagnostics",
    "plot_lr_find",
    "have_matplotlib",
]


def have_matplotlib() -> bool:
    """Whether matplotlib can be imported (plots need the plot extra: ``pip install 'mlplab[plot]'``).

    Returns
    -------
    bool
        True when ``import matplotlib`` succeeds.
    """
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def pyplot():
    """matplotlib.pyplot with the non-interactive Agg backend, or a clear ImportError.

    Returns
    -------
    module
        ``matplotlib.pyplot``, its backend set to Agg (for every later figure too).

    Raises
    ------
    ImportError
        matplotlib is missing (``pip install 'mlplab[plot]'``).
    """
    try:
        import matplotlib
    except ImportError:
        raise ImportError("plotting needs matplotlib: pip install 'mlplab[plot]'") from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def colormap(name, colors):
    """A matplotlib colormap named ``name`` blending ``colors`` evenly, first to last
    (``LinearSegmentedColormap.from_list``).

    Parameters
    ----------
    name : str
        The colormap's name.
    colors : sequence of colors
        Any colors matplotlib reads ("#1f77b4", "white", RGB tuples), at least two.

    Returns
    -------
    matplotlib.colors.LinearSegmentedColormap
        From the first color (at 0) to the last (at 1).

    Raises
    ------
    ImportError
        matplotlib is missing (see ``pyplot``).
    """
    pyplot()  # matplotlib present (a clear ImportError otherwise), Agg backend
    from matplotlib.colors import LinearSegmentedColormap

    return LinearSegmentedColormap.from_list(name, colors)


def save(fig, path) -> str:
    """Save ``fig`` to ``path`` (creating its folder) and close it.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure, closed afterwards.
    path : str or path-like
        The file; its extension sets the format (".png"); saved at 110 dpi.

    Returns
    -------
    str
        ``path``, as a str.

    Raises
    ------
    OSError
        The folder or the file cannot be written.
    """
    d = os.path.dirname(os.fspath(path))
    if d:
        os.makedirs(d, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    pyplot().close(fig)
    return os.fspath(path)


def finish(fig, path, title, fontsize=11) -> str:
    """Give ``fig`` its title, lay it out tightly and ``save`` it to ``path``.

    Parameters
    ----------
    fig, path : Figure and str or path-like
        As for ``save``.
    title : str
        The figure's title (``suptitle``).
    fontsize : float, default 11
        The title's size, in points.

    Returns
    -------
    str
        What ``save`` returns.

    Raises
    ------
    OSError
        As ``save``.
    """
    fig.suptitle(title, fontsize=fontsize)
    fig.tight_layout()
    return save(fig, path)


def plot_history(history, path, title=None) -> str:
    """Loss (and validation loss) per epoch, plus accuracy when recorded, as a PNG.

    Parameters
    ----------
    history : History or dict
        A History, or its ``history`` dict (name -> list per epoch), with "loss".
    path : str or path-like
        The image to write.
    title : str, optional
        The figure's title.

    Returns
    -------
    str
        ``path``, the PNG written.

    Raises
    ------
    ImportError
        matplotlib is missing (``pip install 'mlplab[plot]'``).
    KeyError
        ``history`` has no "loss".
    """
    plt = pyplot()
    h = history.history if hasattr(history, "history") else history
    acc = [k for k in ("accuracy", "val_accuracy") if k in h]
    fig, axes = plt.subplots(1, 2 if acc else 1, figsize=(10 if acc else 5.5, 4), squeeze=False)
    ax = axes[0, 0]
    epochs = range(1, len(h["loss"]) + 1)
    ax.plot(epochs, h["loss"], label="training loss")
    if "val_loss" in h:
        ax.plot(epochs, h["val_loss"], label="validation loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss J")
    ax.set_yscale("log")
    ax.legend()
    ax.grid(alpha=0.3)
    if acc:
        ax = axes[0, 1]
        for k in acc:
            ax.plot(epochs, h[k], label=k.replace("_", " "))
        ax.set_xlabel("epoch")
        ax.set_ylabel("accuracy")
        ax.legend()
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    return save(fig, path)


def _layer_colors(plt, n):
    return plt.get_cmap("viridis")(np.linspace(0, 0.9, max(n, 1)))


def plot_diagnostics(diagnostics, path, title=None) -> str:
    """The figures of ``mlplab.callbacks.Diagnostics`` (the callback or its ``to_dict()``) as a
    PNG: the gradient norm by layer (first and last measurement) and over training, the
    update/weight ratio, the activations' mean and spread by layer, the dead or saturated
    fraction and the loss; the warnings' kinds in the title.

    Parameters
    ----------
    diagnostics : Diagnostics or dict
        The callback after training, or its ``to_dict()``.
    path, title : str or path-like, and str or None
        As for ``plot_history`` (the title a first line above the warnings).

    Returns
    -------
    str
        ``path``, as ``plot_history`` returns it.

    Raises
    ------
    ImportError
        As ``plot_history``: matplotlib is missing.
    """
    plt = pyplot()
    d = diagnostics.to_dict() if hasattr(diagnostics, "to_dict") else diagnostics
    layers, steps = d["layers"], np.asarray(d["step"], dtype=float)
    L = len(layers)

    def arr(name):
        return np.array([[np.nan if v is None else v for v in row] for row in d[name]], dtype=float).reshape(-1, L)

    colors = _layer_colors(plt, L)
    fig, axes = plt.subplots(2, 3, figsize=(15, 8.2))
    depth = np.arange(1, L + 1)
    g = arr("grad_norm")
    ax = axes[0, 0]
    for k, (row, style) in enumerate(((0, "o--"), (len(g) - 1, "o-"))):
        if len(g) and (k == 1 or len(g) > 1):
            ax.plot(depth, g[row], style, color="C3" if k else "C0", label=f"update {int(steps[row])}")
    ax.set(yscale="log", xlabel="Dense layer (1 = input side)", ylabel="||dJ/dW|| (Frobenius)")
    ax.set_title("gradient norm by layer")
    ax.set_xticks(depth)
    ax.legend(fontsize=8)
    panels = (
        (axes[0, 1], g, "||dJ/dW|| (Frobenius)", "gradient norm over training", "log"),
        (axes[0, 2], arr("update_ratio"), "||dW|| / ||W|| per update", "update / weight ratio", "log"),
    )

    def layer_label(i):  # the first and the last layer named, the others coloured between them
        return f"layer {i + 1} (input side)" if i == 0 else f"layer {i + 1} (output)" if i == L - 1 else None

    for ax, values, ylabel, name, scale in panels:
        for i in range(L):
            ax.plot(steps, values[:, i], color=colors[i], lw=1.2, label=layer_label(i))
        ax.set(yscale=scale, xlabel="update (step)", ylabel=ylabel)
        ax.set_title(name)
    axes[0, 2].axhline(1e-3, color="grey", ls=":", lw=1, label="1e-3 (usual)")
    axes[0, 1].legend(fontsize=7)
    axes[0, 2].legend(fontsize=7)
    ax = axes[1, 0]
    mean, std = arr("act_mean"), arr("act_std")
    if len(mean) and np.isfinite(mean[-1]).any():
        ax.errorbar(depth, mean[-1], yerr=std[-1], fmt="o", capsize=3, label="mean +- std")
        ax.legend(fontsize=8)
    ax.set(xlabel="Dense layer (1 = input side)", ylabel="activation A_l over the probe batch")
    ax.set_title(f"activations by layer (update {int(steps[-1]) if len(steps) else '-'})")
    ax.set_xticks(depth)
    ax = axes[1, 1]
    shown = False
    for name, what in (("dead_fraction", "dead"), ("saturated_fraction", "saturated")):
        values = arr(name)
        for i in range(L):
            if np.isfinite(values[:, i]).any():
                label = f"{what}, layer {i + 1}" if i in (0, L - 2) else None  # the first and last hidden
                ls = "-" if what == "dead" else "--"
                ax.plot(steps, 100 * values[:, i], color=colors[i], lw=1.2, ls=ls, label=label)
                shown = True
    if shown:
        ax.legend(fontsize=7)
    else:
        ax.text(0.5, 0.5, "no ReLU, sigmoid or tanh layer", ha="center", va="center", transform=ax.transAxes)
    ax.set(xlabel="update (step)", ylabel="% of units (dead) / activations (saturated)", ylim=(-3, 103))
    ax.set_title("dead ReLUs and saturated units")
    ax = axes[1, 2]
    loss = np.array([np.nan if v is None else v for v in d["loss"]], dtype=float)
    ax.plot(steps, loss, "o-", ms=3)
    wide = np.isfinite(loss).any() and np.nanmin(loss) > 0 and np.nanmax(loss) / np.nanmin(loss) > 10
    ax.set(yscale="log" if wide else "linear", xlabel="update (step)", ylabel="training loss J")
    ax.set_title("loss at the measurements")
    for ax in axes.flat:
        ax.grid(alpha=0.3)
    kinds = sorted({w["kind"] for w in d.get("warnings", [])})
    fig.suptitle(
        (title + "\n" if title else "") + "Diagnostics per Dense layer; warnings: " + (", ".join(kinds) or "none")
    )
    fig.tight_layout()
    return save(fig, path)


def plot_lr_find(result, path, title=None) -> str:
    """The learning-rate range test (``mlplab.lr_find``'s result or its ``to_dict()``) as a PNG:
    the loss of each update and its smoothed curve against the learning rate (log scale), with
    each rule's suggestion marked, the chosen one in the legend.

    Parameters
    ----------
    result : LRFindResult or dict
        ``lr_find``'s result, or its ``to_dict()``.
    path, title : str or path-like, and str or None
        The PNG to write and a first line of the title, as for ``plot_history``.

    Returns
    -------
    str
        The PNG's path.

    Raises
    ------
    ImportError
        Without matplotlib (the plot extra).
    """
    plt = pyplot()
    d = result.to_dict() if hasattr(result, "to_dict") else result
    lr = np.asarray(d["lr"], dtype=float)
    loss = np.array([np.nan if v is None else v for v in d["loss"]], dtype=float)
    smooth = np.array([np.nan if v is None else v for v in d["smoothed_loss"]], dtype=float)
    fig, ax = plt.subplots(figsize=(7.5, 4.6))
    ax.plot(lr, loss, color="C0", alpha=0.3, lw=0.8, label="loss of each update")
    ax.plot(lr, smooth, color="C0", lw=2, label=f"smoothed (exponential average, beta {d['beta']:g})")
    words = {"minimum": "minimum / 10", "steepest": "steepest fall"}
    for (name, value), color in zip(d["suggestions"].items(), ("C3", "C2", "C4")):
        if value is None:
            continue
        chosen = " (suggested)" if name == d["rule"] else ""
        label = f"{words.get(name, name)}: lr = {value:.3g}{chosen}"
        ax.axvline(value, color=color, ls="--" if chosen else ":", lw=1.5, label=label)
    finite = smooth[np.isfinite(smooth)]
    if finite.size:  # the flat start and the fall, not the blow-up at the end
        i = int(np.nanargmin(smooth))
        lo, hi = min(finite.min(), np.nanmin(loss[: i + 1])), finite[0]
        ax.set_ylim(lo - 0.05 * (hi - lo + 1e-12), hi + 0.4 * (hi - lo + 1e-12))
    ax.set_xscale("log")
    ax.set_xlabel("learning rate (log scale)")
    ax.set_ylabel("training loss J (mini-batch)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(
        (title + "\n" if title else "")
        + f"learning-rate range test: {d['optimizer_text']}, batch {d['batch_size']}, {len(lr)} updates",
        fontsize=10,
    )
    fig.tight_layout()
    return save(fig, path)
