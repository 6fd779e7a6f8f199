"""History: the per-epoch record of a training run, returned by ``fit``."""

from __future__ import annotations

__all__ = ["History"]


class History:
    """Per-epoch record of training, returned by ``fit`` (and ``Trainer.fit``).

    ``history.history`` maps each logged name ("loss", "val_loss", "accuracy", "lr", ...)
    to a list with one value per epoch; ``history["loss"]`` is a shortcut. ``epoch`` lists
    the epoch numbers (0-based); ``best_epoch``, one of them, is set by ``EarlyStopping``
    (or else by ``ModelCheckpoint``) to the epoch of the best monitored value, so that
    ``history["val_loss"][history.epoch.index(best_epoch)]`` is that value; ``stop_reason``
    says why training ended (completed, early stopping, divergence, Ctrl-C, a callback).
    ``mlplab.callbacks.Diagnostics`` adds its per-layer figures ("grad_norm", ...): per epoch,
    a list with one value per Dense layer (left out of the repr).
    """

    def __init__(self):
        self.history: dict[str, list] = {}
        self.epoch: list[int] = []
        self.best_epoch = None
        self.stop_reason = None

    def record(self, epoch, logs) -> None:
        """Append the values of one finished epoch.

        Parameters
        ----------
        epoch : int
            The epoch's number (0-based).
        logs : dict
            Name -> value ("loss", "val_loss", metrics, "lr", ...).
        """
        self.epoch.append(epoch)
        for k, v in logs.items():
            self.history.setdefault(k, []).append(v)

    def __getitem__(self, key):
        return self.history[key]

    def __contains__(self, key):
        return key in self.history

    def __len__(self):
        return len(self.epoch)

    def to_dict(self) -> dict:
        """A JSON-serialisable copy.

        Returns
        -------
        dict
            "history", "epoch", "best_epoch" and "stop_reason".
        """
        return {
            "history": {k: list(v) for k, v in self.history.items()},
            "epoch": list(self.epoch),
            "best_epoch": self.best_epoch,
            "stop_reason": self.stop_reason,
        }

    @classmethod
    def from_dict(cls, d) -> History:
        """The History of ``to_dict()``'s output.

        Parameters
        ----------
        d : dict
            As ``to_dict`` writes it; missing keys give empty or None values.

        Returns
        -------
        History
        """
        h = cls()
        h.history = {k: list(v) for k, v in d.get("history", {}).items()}
        h.epoch = list(d.get("epoch", []))
        h.best_epoch = d.get("best_epoch")
        h.stop_reason = d.get("stop_reason")
        return h

    def __repr__(self):
        # per-layer lists (Diagnostics) are left out: one number per name
        last = {
            k: (round(v[-1], 5) if isinstance(v[-1], float) else v[-1])
            for k, v in self.history.items()
            if v and not isinstance(v[-1], list)
        }
        return f"History(epochs={len(self.epoch)}, last={last}, stop_reason={self.stop_reason!r})"
