"""The exceptions mlplab raises, in one place that every other module may import.

``ArgumentError`` is both a ``ValueError`` and a ``TypeError`` (scikit-learn's
``InvalidParameterError`` does the same): a wrong argument is refused with one message shape
whatever went wrong with it, and code written against either exception keeps working.
"""

from __future__ import annotations

__all__ = ["ArgumentError", "DivergenceError", "ModelFileError"]


class ArgumentError(ValueError, TypeError):
    """An argument of the wrong type or value. The message names the argument, says what it
    must be and shows what was given: ``"{name} must be {what}, got {value!r}"``."""


class DivergenceError(FloatingPointError):
    """Training stopped because the loss became NaN or infinite (or the weights overflowed).
    ``.history`` holds the History so far and ``.loss`` the loss that was not finite; the
    model is back at weights that were checked finite: those of the start of the diverging
    epoch (``fit``), of before the update (``Trainer.train_step``), of before ``fit``
    (``LBFGS``).

    Parameters
    ----------
    msg : str
        What diverged, where, and what to try.
    history : History or None, default None
        The record of the epochs before the divergence.
    loss : float or None, default None
        The loss that was not finite; None when the weights or the outputs overflowed
        before any loss was computed.
    """

    def __init__(self, msg, history=None, loss=None):
        super().__init__(msg)
        self.history = history
        self.loss = loss


class ModelFileError(ValueError):
    """A file that is not a valid mlplab model or checkpoint (foreign, truncated, corrupted,
    tampered with, or holding pickled objects)."""
