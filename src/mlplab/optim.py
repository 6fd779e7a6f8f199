"""Optimizers: update rules on the model's flat parameter buffer.

An optimizer's ``step(model)`` applies one update from the gradients that
``model.loss_and_grad`` left in ``model.flat_grads()``. Parameters and gradients each live
in one contiguous buffer, so every rule is a handful of vectorized calls whatever the depth.

The base class owns what every rule shares: the learning rate (a float or a schedule
``lr(t)`` from ``mlplab.schedules``), the update count t, lazily allocated state of the
buffer's size, gradient clipping (``clip_norm``, ``clip_value``) and ``state_dict()``.
A subclass writes only ``_update(theta, g, lr)``, in place. Names, defaults and update
rules follow torch.optim, so code ports both ways.
"""
from __future__ import annotations

import math

import numpy as np

from .backend import xp

__all__ = ["Optimizer", "SGD", "OPTIMIZERS", "get"]


def _check_nonneg(name, v):
    if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)) or not math.isfinite(v) or v < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {v!r}")
    return float(v)


class Optimizer:
    """Base class of the optimizers.

    Parameters
    ----------
    lr : float or schedule
        Learning rate, or a callable ``schedule(t) -> float`` of the update count t
        (0-based); a schedule with ``interval == "epoch"`` is called with the epoch instead.
    clip_norm : float, optional
        Rescale the whole gradient g to norm at most clip_norm: g <- g * min(1, c / ||g||_2)
        (torch.nn.utils.clip_grad_norm_, over all parameters at once).
    clip_value : float, optional
        Clip every gradient coordinate to [-clip_value, clip_value]
        (torch.nn.utils.clip_grad_value_). Applied before clip_norm.
    """

    #: hyper-parameters saved by get_config / state_dict (set by subclasses)
    hyper: tuple[str, ...] = ()

    def __init__(self, lr=1e-3, clip_norm=None, clip_value=None):
        if callable(lr):
            self.lr = lr
        else:
            self.lr = _check_nonneg("lr", lr)
        self.clip_norm = None if clip_norm is None else _check_nonneg("clip_norm", clip_norm)
        self.clip_value = None if clip_value is None else _check_nonneg("clip_value", clip_value)
        self.t = 0  # number of updates applied
        self.epoch = 0  # set by fit, for schedules that step per epoch
        self.state: dict[str, np.ndarray] = {}
        self.last_lr = self.lr_at(0, 0) if callable(lr) else self.lr

    # -- learning rate -------------------------------------------------------------
    def lr_at(self, t=None, epoch=None) -> float:
        """The learning rate for update t (default: the next one)."""
        if not callable(self.lr):
            return self.lr
        t = self.t if t is None else t
        epoch = self.epoch if epoch is None else epoch
        return float(self.lr(epoch if getattr(self.lr, "interval", "batch") == "epoch" else t))

    # -- state -------------------------------------------------------------------
    def _state(self, name, like, fill=0.0):
        """The state array ``name``, allocated on first use with the buffer's shape."""
        s = self.state.get(name)
        if s is None or s.shape != like.shape or s.dtype != like.dtype:
            s = xp.full(like.shape, fill, dtype=like.dtype)
            self.state[name] = s
        return s

    def _clip(self, g):
        if self.clip_value is not None:
            xp.clip(g, -self.clip_value, self.clip_value, out=g)
        if self.clip_norm is not None:
            norm = math.sqrt(float(xp.dot(g, g)))
            # torch: clip_coef = max_norm / (total_norm + 1e-6), applied when below 1
            coef = self.clip_norm / (norm + 1e-6)
            if coef < 1.0:
                g *= coef

    def step(self, model) -> None:
        """Apply one update to ``model`` from the gradients in ``model.flat_grads()``."""
        theta, g = model.flat_params(), model.flat_grads()
        self._clip(g)
        lr = self.lr_at()
        self._update(theta, g, lr)
        self.last_lr = lr
        self.t += 1

    def _update(self, theta, g, lr) -> None:
        raise NotImplementedError

    # -- (de)serialisation -----------------------------------------------------------
    def get_config(self) -> dict:
        cfg = {"name": type(self).__name__}
        lr = self.lr
        if callable(lr):
            if not hasattr(lr, "get_config"):
                raise TypeError("this optimizer's lr is a callable without get_config(); it cannot be serialised")
            cfg["lr"] = {"schedule": lr.get_config()}
        else:
            cfg["lr"] = lr
        for k in self.hyper + ("clip_norm", "clip_value"):
            v = getattr(self, k)
            cfg[k] = list(v) if isinstance(v, tuple) else v
        return cfg

    def state_dict(self) -> dict:
        """Everything a resumed run needs: config, update count, epoch and state arrays (copies)."""
        return {
            "config": self.get_config(),
            "t": self.t,
            "epoch": self.epoch,
            "state": {k: v.copy() for k, v in self.state.items()},
        }

    def load_state_dict(self, sd: dict) -> None:
        """Restore a ``state_dict()``; the optimizer then continues exactly where it stopped."""
        cfg = sd.get("config", {})
        if cfg.get("name", type(self).__name__) != type(self).__name__:
            raise ValueError(f"state_dict is for {cfg.get('name')}, not {type(self).__name__}")
        self.t = int(sd["t"])
        self.epoch = int(sd.get("epoch", 0))
        self.state = {k: xp.array(v, copy=True) for k, v in sd["state"].items()}

    def __repr__(self):
        items = {k: v for k, v in self.get_config().items() if k != "name"} if not callable(self.lr) else {}
        return f"{type(self).__name__}(" + ", ".join(f"{k}={v!r}" for k, v in items.items()) + ")"


class SGD(Optimizer):
    """Stochastic gradient descent, with optional momentum (torch.optim.SGD).

    For each update, with g = dJ/dtheta::

        g <- g + weight_decay * theta                    (if weight_decay != 0)
        if momentum != 0:
            buf <- g                                     (first update)
            buf <- momentum * buf + (1 - dampening) * g  (afterwards)
            g <- g + momentum * buf   if nesterov else   g <- buf
        theta <- theta - lr * g

    With momentum = 0 this is the lecture's gradient descent, theta <- theta - alpha dJ/dtheta
    (full batch with ``fit(batch_size=None)``, mini-batch SGD otherwise). The lecture writes
    momentum in velocity form, v <- eta v - alpha g, theta <- theta + v. With v = -lr * buf
    the two forms are the same while the learning rate is constant; when lr changes (a
    schedule), torch's form rescales the whole accumulated buffer with the new lr, the
    velocity form does not. mlplab follows torch.
    """

    hyper = ("momentum", "dampening", "nesterov", "weight_decay")

    def __init__(self, lr=1e-3, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0,
                 clip_norm=None, clip_value=None):
        super().__init__(lr, clip_norm, clip_value)
        self.momentum = _check_nonneg("momentum", momentum)
        self.dampening = _check_nonneg("dampening", dampening)
        self.weight_decay = _check_nonneg("weight_decay", weight_decay)
        self.nesterov = bool(nesterov)
        if self.nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ValueError("nesterov=True requires momentum > 0 and dampening = 0")

    def _update(self, theta, g, lr):
        if self.weight_decay:
            g += self.weight_decay * theta
        if self.momentum:
            first = "momentum_buffer" not in self.state
            buf = self._state("momentum_buffer", theta)
            if first:
                xp.copyto(buf, g)
            else:
                buf *= self.momentum
                buf += (1.0 - self.dampening) * g if self.dampening else g
            if self.nesterov:
                g += self.momentum * buf
            else:
                g = buf
        theta -= lr * g


OPTIMIZERS = {"sgd": SGD}


def get(opt, **kwargs) -> Optimizer:
    """An optimizer from an instance, a class or a name ("sgd", "adam", ...)."""
    if isinstance(opt, Optimizer):
        return opt
    if isinstance(opt, type) and issubclass(opt, Optimizer):
        return opt(**kwargs)
    if isinstance(opt, str) and opt.lower() in OPTIMIZERS:
        return OPTIMIZERS[opt.lower()](**kwargs)
    raise ValueError(f"optimizer must be an Optimizer or one of {sorted(OPTIMIZERS)}, got {opt!r}")
