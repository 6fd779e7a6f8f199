"""Callbacks: code that ``fit`` calls at fixed points of training.

The protocol (as Keras's): ``on_train_begin(logs)``, ``on_epoch_begin(epoch, logs)``,
``on_batch_begin(batch, logs)``, ``on_batch_end(batch, logs)``, ``on_epoch_end(epoch, logs)``,
``on_train_end(logs)``. A callback sees the model as ``self.model`` and stops training by
setting ``self.model.stop_training = True`` (and, politely, ``self.model.stop_reason``).
``logs`` holds the numbers of the moment: batch ``loss`` and ``size``; epoch ``loss``,
``val_loss``, metrics, ``lr``.
"""
from __future__ import annotations

import math
import sys

__all__ = ["Callback", "CallbackList", "History", "ProgressBar", "TerminateOnNaN"]


class Callback:
    """Base class: every hook does nothing."""

    model = None

    def set_model(self, model):
        self.model = model

    def on_train_begin(self, logs=None): ...
    def on_train_end(self, logs=None): ...
    def on_epoch_begin(self, epoch, logs=None): ...
    def on_epoch_end(self, epoch, logs=None): ...
    def on_batch_begin(self, batch, logs=None): ...
    def on_batch_end(self, batch, logs=None): ...


class CallbackList(Callback):
    """Calls each hook of several callbacks in order."""

    def __init__(self, callbacks=()):
        self.callbacks = list(callbacks)

    def set_model(self, model):
        for c in self.callbacks:
            c.set_model(model)

    def _each(name):
        def hook(self, *args):
            for c in self.callbacks:
                getattr(c, name)(*args)

        hook.__name__ = name
        return hook

    on_train_begin = _each("on_train_begin")
    on_train_end = _each("on_train_end")
    on_epoch_begin = _each("on_epoch_begin")
    on_epoch_end = _each("on_epoch_end")
    on_batch_begin = _each("on_batch_begin")
    on_batch_end = _each("on_batch_end")
    del _each


class History(Callback):
    """Per-epoch record of training, returned by ``fit``.

    ``history.history`` maps each logged name ("loss", "val_loss", "accuracy", "lr", ...)
    to a list with one value per epoch; ``history["loss"]`` is a shortcut. ``epoch`` lists
    the epoch numbers, ``best_epoch`` is set by early stopping or a monitored callback,
    ``stop_reason`` says why training ended.
    """

    def __init__(self):
        self.history: dict[str, list] = {}
        self.epoch: list[int] = []
        self.best_epoch = None
        self.stop_reason = None

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)

    def __getitem__(self, key):
        return self.history[key]

    def __contains__(self, key):
        return key in self.history

    def __len__(self):
        return len(self.epoch)

    def to_dict(self) -> dict:
        """A JSON-serialisable copy."""
        return {
            "history": {k: list(v) for k, v in self.history.items()},
            "epoch": list(self.epoch),
            "best_epoch": self.best_epoch,
            "stop_reason": self.stop_reason,
        }

    @classmethod
    def from_dict(cls, d):
        h = cls()
        h.history = {k: list(v) for k, v in d.get("history", {}).items()}
        h.epoch = list(d.get("epoch", []))
        h.best_epoch = d.get("best_epoch")
        h.stop_reason = d.get("stop_reason")
        return h

    def __repr__(self):
        last = {k: (round(v[-1], 5) if isinstance(v[-1], float) else v[-1]) for k, v in self.history.items() if v}
        return f"History(epochs={len(self.epoch)}, last={last}, stop_reason={self.stop_reason!r})"


class ProgressBar(Callback):
    """A tqdm progress bar per epoch, showing the running mean loss.

    verbose=1: a bar per epoch; verbose=2: one line per epoch; verbose=0: silent.
    """

    def __init__(self, verbose=1, file=None):
        self.verbose = verbose
        self.file = file
        self.bar = None

    def on_train_begin(self, logs=None):
        self.epochs = (logs or {}).get("epochs")
        self.steps = (logs or {}).get("steps")

    def on_epoch_begin(self, epoch, logs=None):
        self._sum, self._n = 0.0, 0
        if self.verbose == 1:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=self.steps, desc=f"epoch {epoch + 1}/{self.epochs}", unit="batch",
                            leave=True, file=self.file or sys.stderr, dynamic_ncols=True, mininterval=0.2)

    def on_batch_end(self, batch, logs=None):
        if self.bar is not None:
            size = logs.get("size", 1)
            self._sum += logs["loss"] * size
            self._n += size
            self.bar.update(1)
            if batch % 10 == 0 or batch == self.steps - 1:
                self.bar.set_postfix(loss=f"{self._sum / max(self._n, 1):.4f}", refresh=False)

    def on_epoch_end(self, epoch, logs=None):
        text = " ".join(f"{k}={v:.4g}" for k, v in (logs or {}).items() if isinstance(v, float))
        if self.bar is not None:
            self.bar.set_postfix_str(text, refresh=True)
            self.bar.close()
            self.bar = None
        elif self.verbose == 2:
            print(f"epoch {epoch + 1}/{self.epochs} {text}", file=self.file or sys.stderr)

    def on_train_end(self, logs=None):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class TerminateOnNaN(Callback):
    """Stop training (without raising) when the loss becomes NaN or infinite.

    Without this callback, ``fit`` raises ``DivergenceError`` instead. Either way the
    model keeps the last weights whose loss was finite.
    """

    terminate_on_nan = True

    def on_batch_end(self, batch, logs=None):
        if logs is not None and not math.isfinite(logs.get("loss", 0.0)):
            self.model.stop_training = True
