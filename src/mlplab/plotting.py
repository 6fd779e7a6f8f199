"""Plots. The only module that imports matplotlib, and only when a plot is asked for
(``pip install mlplab[plot]``)."""

from __future__ import annotations

import os

__all__ = ["pyplot", "save", "colormap", "plot_history", "have_matplotlib"]


def have_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def pyplot():
    """matplotlib.pyplot with the non-interactive Agg backend, or a clear ImportError."""
    try:
        import matplotlib
    except ImportError:
        raise ImportError("plotting needs matplotlib: pip install 'mlplab[plot]'") from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def colormap(name, colors):
    """A matplotlib colormap named ``name`` blending ``colors`` evenly, first to last
    (``LinearSegmentedColormap.from_list``)."""
    pyplot()  # matplotlib present (a clear ImportError otherwise), Agg backend
    from matplotlib.colors import LinearSegmentedColormap

    return LinearSegmentedColormap.from_list(name, colors)


def save(fig, path) -> str:
    """Save ``fig`` to ``path`` (creating its folder) and close it."""
    d = os.path.dirname(os.fspath(path))
    if d:
        os.makedirs(d, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    pyplot().close(fig)
    return os.fspath(path)


def plot_history(history, path, title=None) -> str:
    """Loss (and validation loss) per epoch, plus accuracy when recorded, as a PNG."""
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
