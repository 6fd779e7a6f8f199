"""Optimizers: update rules on the model's flat parameter buffer.

An optimizer's ``step(model)`` applies one update from the gradients that
``model.loss_and_grad`` left in ``model.flat_grads()``. Parameters and gradients each live
in one contiguous buffer, so every rule is a fixed handful of vectorized, in-place calls
whatever the depth of the network.

The base class owns what every rule shares: the learning rate (a float or a schedule
``lr(t)`` from ``mlplab.schedules``), the update count t, lazily allocated state of the
buffer's size, gradient clipping (``clip_norm``, ``clip_value``) and ``state_dict()``.
A subclass writes only ``_update(theta, g, lr)``, in place. Names, defaults, epsilon
placement and update rules follow torch.optim (2.13, single-tensor path), so code and
hyper-parameters port both ways; the tests run every rule beside torch.optim.

Notation of the docstrings: theta is the parameter buffer, g = dJ/dtheta the gradient
(after clipping), lr the learning rate of this update, and t = 1, 2, ... the step number
(torch's ``state["step"]``), i.e. ``self.t + 1`` during the update. Operations on vectors
are element-wise.
"""

from __future__ import annotations

import math

import numpy as np

from ._validation import check_bool, check_int, check_real, fail, lookup
from .backend import axpy, xp

__all__ = ["Optimizer", "SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "NAdam", "Adamax", "OPTIMIZERS", "get"]


def _check_betas(betas):
    """(beta1, beta2), each a number in [0, 1) as torch requires."""
    try:
        pair = None if isinstance(betas, (str, bytes)) or len(betas) != 2 else (betas[0], betas[1])
    except (TypeError, KeyError, IndexError):  # no len(), or not indexable by 0 and 1
        pair = None
    if pair is None:
        raise fail("betas", "a pair (beta1, beta2)", betas)
    return tuple(check_real(f"betas[{i}]", b, 0, 1, high_open=True) for i, b in enumerate(pair))


class Optimizer:
    """Base class of the optimizers.

    Every hyper-parameter is checked when the optimizer is built (numbers finite and in range,
    flags True or False, NumPy scalars accepted, bool never a number).

    Parameters
    ----------
    lr : float >= 0 or schedule, default 1e-3
        Learning rate, or a callable ``schedule(t) -> float`` of the update count t
        (0-based); a schedule with ``interval == "epoch"`` is called with the epoch instead.
    clip_norm : float >= 0, optional
        Rescale the whole gradient g to norm at most clip_norm:
        g <- g * min(1, clip_norm / (||g||_2 + 1e-6)), the norm taken over all parameters at
        once (``torch.nn.utils.clip_grad_norm_``).
    clip_value : float >= 0, optional
        Clip every gradient coordinate to [-clip_value, clip_value]
        (``torch.nn.utils.clip_grad_value_``). Applied before clip_norm.

    Raises
    ------
    ArgumentError
        A hyper-parameter out of range or of the wrong type, named in the message; a
        schedule whose rate at t = 0 is not a finite number >= 0.

    Notes
    -----
    Clipping rewrites ``model.flat_grads()`` in place, as torch's utilities rewrite
    ``p.grad``; the update rules themselves leave the gradient buffer alone (weight decay
    and Nesterov's look-ahead go to a work buffer).
    """

    #: hyper-parameters saved by get_config / state_dict (set by subclasses)
    hyper: tuple[str, ...] = ()

    def __init__(self, lr=1e-3, clip_norm=None, clip_value=None):
        if callable(lr):
            self.lr = lr
        else:
            self.lr = check_real("lr", lr, 0)
        self.initial_lr = None if callable(lr) else self.lr  # torch's param_group["initial_lr"]
        self.clip_norm = None if clip_norm is None else check_real("clip_norm", clip_norm, 0)
        self.clip_value = None if clip_value is None else check_real("clip_value", clip_value, 0)
        self.t = 0  # number of updates applied
        self.epoch = 0  # set by fit, for schedules that step per epoch
        self.state: dict[str, np.ndarray] = {}
        self._work: dict[str, np.ndarray] = {}  # scratch buffers: reused, never saved
        self.last_lr = self._first_lr() if callable(lr) else self.lr

    # -- learning rate -------------------------------------------------------------
    def _first_lr(self) -> float:
        """The rate of a schedule (or any callable ``lr``) at t = 0, checked."""
        try:
            lr0 = self.lr(0)
            ok = not isinstance(lr0, (bool, np.bool_)) and math.isfinite(float(lr0)) and float(lr0) >= 0
        except (TypeError, ValueError, OverflowError, ArithmeticError):
            lr0, ok = "an error", False
        if not ok:
            what = "a float >= 0 or a schedule whose rates are finite numbers >= 0"
            raise fail("lr", what, got=f"one giving {lr0!r}")
        return float(lr0)

    def lr_at(self, t=None, epoch=None) -> float:
        """The learning rate for update t (default: the next one).

        Parameters
        ----------
        t : int, optional
            The update count (0-based); default ``self.t``, the next update's.
        epoch : int, optional
            The epoch, for a schedule with ``interval == "epoch"``; default ``self.epoch``.

        Returns
        -------
        float
            ``lr`` itself, or the schedule's rate at t (or at the epoch).
        """
        if not callable(self.lr):
            return self.lr
        t = self.t if t is None else t
        epoch = self.epoch if epoch is None else epoch
        return float(self.lr(epoch if getattr(self.lr, "interval", "batch") == "epoch" else t))

    # -- state -------------------------------------------------------------------
    def _state(self, name, like, fill=0.0):
        """The state array ``name``, allocated on first use with the buffer's shape and dtype."""
        s = self.state.get(name)
        if s is None or s.shape != like.shape:
            s = xp.full(like.shape, fill, dtype=like.dtype)
            self.state[name] = s
        elif s.dtype != like.dtype:  # e.g. a float64 state loaded into a float32 model
            s = self.state[name] = s.astype(like.dtype)
        return s

    def _scratch(self, name, like):
        """A work buffer of the buffer's shape, allocated once and reused (not part of the state)."""
        s = self._work.get(name)
        if s is None or s.shape != like.shape or s.dtype != like.dtype:
            s = self._work[name] = xp.empty_like(like)
        return s

    def _with_decay(self, theta, g, weight_decay):
        """g + weight_decay * theta (L2 penalty folded into the gradient, as torch does),
        in a work buffer so that ``model.flat_grads()`` keeps dJ/dtheta."""
        if not weight_decay:
            return g
        d = self._scratch("g", theta)
        xp.multiply(theta, weight_decay, out=d)
        d += g
        return d

    def _decay(self, theta, g, lr, decoupled):
        """Weight decay, decoupled (theta <- theta (1 - lr weight_decay), AdamW) or folded
        into the gradient (g + weight_decay theta); returns the gradient to use."""
        if not decoupled:
            return self._with_decay(theta, g, self.weight_decay)
        if self.weight_decay:
            theta *= 1.0 - lr * self.weight_decay
        return g

    def _lerp(self, m, g, w, u):
        """m <- m + w (g - m), torch's ``lerp_`` (for w < 0.5), with u as work space."""
        xp.subtract(g, m, out=u)
        axpy(w, u, m, u)

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
        """Apply one update to ``model`` from the gradients in ``model.flat_grads()``.

        Step 4 of the lecture: clip g (in place), then the rule of the class's docstring
        with lr = ``lr_at()``; t then counts one more update and ``last_lr`` is that lr.

        Parameters
        ----------
        model : Sequential
            Its ``flat_params()`` are updated in place.
        """
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
        """The class name and hyper-parameters (``mlplab.io`` saves them).

        Returns
        -------
        dict
            "name", "lr" (a float, or {"schedule": the schedule's config}), the class's
            hyper-parameters, "clip_norm" and "clip_value".

        Raises
        ------
        TypeError
            ``lr`` is a callable without ``get_config()`` (a plain function).
        """
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
        """Everything a resumed run needs: config (with the current ``lr``), the ``lr`` it was
        built with (``initial_lr``), update count, epoch and state arrays (copies).

        The learning rate of a schedule is not stored: it is recomputed from t (and epoch).

        Returns
        -------
        dict
            "config" (``get_config()``), "initial_lr", "t", "epoch" and "state" (state name
            -> a copy of its array, of the parameter buffer's shape (n_params,)).

        Raises
        ------
        TypeError
            As ``get_config``.
        """
        return {
            "config": self.get_config(),
            "initial_lr": self.initial_lr,
            "t": self.t,
            "epoch": self.epoch,
            "state": {k: v.copy() for k, v in self.state.items()},
        }

    def load_state_dict(self, sd: dict) -> None:
        """Restore a ``state_dict()``; the optimizer then continues exactly where it stopped.

        The learning rate: if this optimizer was built with the ``lr`` the saved one was built
        with (``initial_lr``), or already has the saved current ``lr``, it takes the saved
        current ``lr``, which a callback (``ReduceLROnPlateau``, ``LearningRateScheduler``) may
        have changed, as torch's ``load_state_dict`` restores each group's lr; so an optimizer
        built again as at the start of the run continues it exactly. Built with another
        ``lr``, it keeps its own: a resumed run may, e.g., lower the learning rate. The other
        hyper-parameters stay those this optimizer was built with (the saved config only has
        to name the same class).

        Parameters
        ----------
        sd : dict
            A ``state_dict()`` of an optimizer of this class.

        Raises
        ------
        ArgumentError
            A dict without 't' and 'state', of another class, with a count that is not an
            int >= 0, a learning rate that is not a number >= 0, or a state array holding
            NaN or infinity.
        """
        if not isinstance(sd, dict) or "t" not in sd or "state" not in sd:
            raise fail(
                "sd",
                "a dict from state_dict() with keys 't' and 'state'",
                sd,
                got=f"a dict with keys {sorted(map(str, sd))}" if isinstance(sd, dict) else None,
            )
        cfg = sd.get("config", {})
        if cfg.get("name", type(self).__name__) != type(self).__name__:
            raise fail("sd", f"a state_dict() of {type(self).__name__}", got=f"one of {cfg.get('name')}")
        t, epoch = check_int("sd['t']", sd["t"], 0), check_int("sd['epoch']", sd.get("epoch", 0), 0)
        lrs = self.lr, self.initial_lr
        lr, lr0 = cfg.get("lr"), sd.get("initial_lr")
        if not callable(self.lr) and lr is not None and not isinstance(lr, dict):
            lr = check_real("sd['config']['lr']", lr, 0)
            lr0 = None if lr0 is None else check_real("sd['initial_lr']", lr0, 0)
            if lr == self.lr or (lr0 is not None and lr0 == self.initial_lr):
                lrs = lr, self.initial_lr if lr0 is None else lr0
        state = {}
        for k, v in sd["state"].items():
            a = xp.array(v, copy=True)
            if not xp.isfinite(a).all():
                raise fail(f"sd['state'][{k!r}]", "finite", got="NaN or infinity")
            state[k] = a
        self.t, self.epoch, self.state = t, epoch, state
        self.lr, self.initial_lr = lrs
        if not callable(self.lr):
            self.last_lr = self.lr

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

    Parameters
    ----------
    lr : float >= 0 or schedule, default 1e-3
        Learning rate (the lecture's alpha); a schedule: see ``Optimizer``.
    momentum : float >= 0, default 0
        Momentum factor (the lecture's eta).
    dampening : float >= 0, default 0
        Dampening of g in the momentum buffer.
    nesterov : bool, default False
        Nesterov momentum; needs momentum > 0 and dampening = 0.
    weight_decay : float >= 0, default 0
        L2 penalty coefficient, folded into the gradient.
    clip_norm, clip_value : float >= 0, optional
        Gradient clipping before the momentum buffer (``Optimizer``).

    Raises
    ------
    ArgumentError
        A hyper-parameter out of its range above, or nesterov without momentum > 0 and
        dampening = 0.

    References
    ----------
    Sutskever et al., "On the importance of initialization and momentum in deep learning",
    ICML 2013.
    """

    hyper = ("momentum", "dampening", "nesterov", "weight_decay")

    def __init__(
        self, lr=1e-3, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0, clip_norm=None, clip_value=None
    ):
        super().__init__(lr, clip_norm, clip_value)
        self.momentum = check_real("momentum", momentum, 0)
        self.dampening = check_real("dampening", dampening, 0)
        self.weight_decay = check_real("weight_decay", weight_decay, 0)
        self.nesterov = check_bool("nesterov", nesterov)
        if self.nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise fail(
                "nesterov",
                "False unless momentum > 0 and dampening = 0",
                got=f"True with momentum={momentum!r} and dampening={dampening!r}",
            )

    def _update(self, theta, g, lr):
        g = self._with_decay(theta, g, self.weight_decay)
        u = self._scratch("u", theta)
        if self.momentum:
            buf = self.state.get("momentum_buffer")
            if buf is None or buf.shape != theta.shape:
                buf = self.state["momentum_buffer"] = xp.array(g, dtype=theta.dtype, copy=True)
            else:
                buf = self._state("momentum_buffer", theta)
                buf *= self.momentum
                if self.dampening:
                    axpy(1.0 - self.dampening, g, buf, u)
                else:
                    buf += g
            if self.nesterov:
                xp.multiply(buf, self.momentum, out=u)
                u += g
                g = u
            else:
                g = buf
        axpy(-lr, g, theta, u)


class Adagrad(Optimizer):
    """AdaGrad: a step size per coordinate, shrinking with its accumulated squared gradients
    (torch.optim.Adagrad).

    For each update t = 1, 2, ...::

        g     <- g + weight_decay * theta               (if weight_decay != 0)
        clr   =  lr / (1 + (t - 1) * lr_decay)
        sum   <- sum + g * g                            (sum starts at initial_accumulator_value)
        theta <- theta - clr * g / (sqrt(sum) + eps)

    eps is added outside the square root, as torch does.

    The lecture accumulates one number for the whole network, the norm of the gradient:
    r <- r + ||g||_2, theta <- theta - alpha g / sqrt(r), so every parameter shares a single
    step size. The standard rule here (Duchi et al., torch, Keras) keeps a sum of squares per
    coordinate: parameters that saw large gradients slow down and rarely-updated ones keep a
    large step.

    Parameters
    ----------
    lr : float >= 0 or schedule, default 1e-2
        Learning rate; a schedule: see ``Optimizer``.
    lr_decay : float >= 0, default 0
        Decay of the rate with t (clr above).
    weight_decay : float >= 0, default 0
        L2 penalty coefficient, folded into g.
    initial_accumulator_value : float >= 0, default 0
        The starting value of sum.
    eps : float >= 0, default 1e-10
        Added to sqrt(sum).
    clip_norm, clip_value : float >= 0, optional
        Gradient clipping before sum accumulates g * g (``Optimizer``).

    Raises
    ------
    ArgumentError
        A negative or non-finite lr, lr_decay, weight_decay, initial_accumulator_value, eps or
        clipping bound (named).

    References
    ----------
    Duchi, Hazan and Singer, "Adaptive subgradient methods for online learning and
    stochastic optimization", JMLR 2011.
    """

    hyper = ("lr_decay", "weight_decay", "initial_accumulator_value", "eps")

    def __init__(
        self,
        lr=1e-2,
        lr_decay=0.0,
        weight_decay=0.0,
        initial_accumulator_value=0.0,
        eps=1e-10,
        clip_norm=None,
        clip_value=None,
    ):
        super().__init__(lr, clip_norm, clip_value)
        self.lr_decay = check_real("lr_decay", lr_decay, 0)
        self.weight_decay = check_real("weight_decay", weight_decay, 0)
        self.initial_accumulator_value = check_real("initial_accumulator_value", initial_accumulator_value, 0)
        self.eps = check_real("eps", eps, 0)

    def _update(self, theta, g, lr):
        step = self.t + 1
        g = self._with_decay(theta, g, self.weight_decay)
        s = self._state("sum", theta, fill=self.initial_accumulator_value)
        u = self._scratch("u", theta)
        clr = lr / (1.0 + (step - 1) * self.lr_decay)
        xp.multiply(g, g, out=u)
        s += u
        xp.sqrt(s, out=u)
        u += self.eps
        xp.divide(g, u, out=u)
        axpy(-clr, u, theta, u)


class RMSprop(Optimizer):
    """RMSProp: AdaGrad with an exponential moving average of squared gradients
    (torch.optim.RMSprop).

    For each update::

        g      <- g + weight_decay * theta                   (if weight_decay != 0)
        v      <- alpha * v + (1 - alpha) * g * g
        if centered:
            m  <- m + (1 - alpha) * (g - m)                  (EMA of g)
            d  =  sqrt(v - m * m) + eps
        else:
            d  =  sqrt(v) + eps
        if momentum > 0:
            buf   <- momentum * buf + g / d
            theta <- theta - lr * buf
        else:
            theta <- theta - lr * g / d

    v, m and buf start at 0; eps is outside the square root, as torch does. (Centered:
    v - m * m >= 0 in exact arithmetic; it is clamped at 0 so that rounding cannot give a
    NaN.)

    The lecture writes r <- rho r + (1 - rho) ||g||_2 with one number r for the whole
    gradient (and rho the ``alpha`` here); the standard rule here (Hinton's lecture notes,
    torch, Keras) keeps the average of g^2 per coordinate, so each parameter gets its own
    step size.

    Parameters
    ----------
    lr : float >= 0 or schedule, default 1e-2
        Learning rate; a schedule: see ``Optimizer``.
    alpha : float in [0, 1], default 0.99
        Smoothing constant of the averages (the lecture's rho).
    eps : float >= 0, default 1e-8
        Added to the square root.
    weight_decay : float >= 0, default 0
        L2 penalty coefficient, folded into g.
    momentum : float >= 0, default 0
        Momentum factor of buf.
    centered : bool, default False
        Divide by an estimate of the gradient's standard deviation instead of its RMS.
    clip_norm, clip_value : float >= 0, optional
        Gradient clipping before the averages (``Optimizer``).

    Raises
    ------
    ArgumentError
        alpha outside [0, 1], a negative or non-finite lr, eps, weight_decay, momentum or clipping
        bound, centered not a bool.

    References
    ----------
    Hinton, Srivastava and Swersky, "Neural networks for machine learning", lecture 6e, 2012.
    Graves, "Generating sequences with recurrent neural networks", 2013 (centered form).
    """

    hyper = ("alpha", "eps", "weight_decay", "momentum", "centered")

    def __init__(
        self,
        lr=1e-2,
        alpha=0.99,
        eps=1e-8,
        weight_decay=0.0,
        momentum=0.0,
        centered=False,
        clip_norm=None,
        clip_value=None,
    ):
        super().__init__(lr, clip_norm, clip_value)
        self.alpha = check_real("alpha", alpha, 0, 1)
        self.eps = check_real("eps", eps, 0)
        self.weight_decay = check_real("weight_decay", weight_decay, 0)
        self.momentum = check_real("momentum", momentum, 0)
        self.centered = check_bool("centered", centered)

    def _update(self, theta, g, lr):
        a = self.alpha
        g = self._with_decay(theta, g, self.weight_decay)
        v = self._state("square_avg", theta)
        u = self._scratch("u", theta)
        v *= a
        xp.multiply(g, g, out=u)
        axpy(1.0 - a, u, v, u)
        if self.centered:
            m = self._state("grad_avg", theta)
            self._lerp(m, g, 1.0 - a, u)
            xp.multiply(m, m, out=u)
            xp.subtract(v, u, out=u)
            xp.maximum(u, 0.0, out=u)
            xp.sqrt(u, out=u)
        else:
            xp.sqrt(v, out=u)
        u += self.eps
        xp.divide(g, u, out=u)
        if self.momentum > 0:
            buf = self._state("momentum_buffer", theta)
            buf *= self.momentum
            buf += u
            axpy(-lr, buf, theta, u)
        else:
            axpy(-lr, u, theta, u)


class Adam(Optimizer):
    """Adam: momentum on g and a per-coordinate step size from the average of g^2, both
    bias-corrected (torch.optim.Adam).

    For each update t = 1, 2, ... (beta1, beta2 = betas)::

        g     <- g + weight_decay * theta                 (if weight_decay != 0)
        m     <- beta1 * m + (1 - beta1) * g
        v     <- beta2 * v + (1 - beta2) * g * g
        vmax  <- max(vmax, v)     and use vmax for v     (if amsgrad)
        theta <- theta - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    m, v and vmax start at 0. eps is added to the bias-corrected sqrt(v), outside the square
    root, as torch does (Keras adds it to the uncorrected one).

    Parameters
    ----------
    lr : float >= 0 or schedule, default 1e-3
        Learning rate; a schedule: see ``Optimizer``.
    betas : (float, float), default (0.9, 0.999)
        Decay rates of the averages of g and g^2, each in [0, 1).
    eps : float >= 0, default 1e-8
        Added to the bias-corrected sqrt(v).
    weight_decay : float >= 0, default 0
        L2 penalty folded into g (for decoupled decay use ``AdamW``).
    amsgrad : bool, default False
        Normalise by the running maximum of v (Reddi et al.).
    clip_norm, clip_value : float >= 0, optional
        Gradient clipping before m and v (``Optimizer``).

    Raises
    ------
    ArgumentError
        betas not a pair in [0, 1), a negative or non-finite lr, eps, weight_decay or clipping
        bound, amsgrad not a bool.

    References
    ----------
    Kingma and Ba, "Adam: a method for stochastic optimization", ICLR 2015.
    Reddi, Kale and Kumar, "On the convergence of Adam and beyond", ICLR 2018.
    """

    hyper = ("betas", "eps", "weight_decay", "amsgrad")
    _decoupled = False

    def __init__(
        self, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, clip_norm=None, clip_value=None
    ):
        super().__init__(lr, clip_norm, clip_value)
        self.betas = _check_betas(betas)
        self.eps = check_real("eps", eps, 0)
        self.weight_decay = check_real("weight_decay", weight_decay, 0)
        self.amsgrad = check_bool("amsgrad", amsgrad)

    def _update(self, theta, g, lr):
        step = self.t + 1
        b1, b2 = self.betas
        g = self._decay(theta, g, lr, self._decoupled)
        m = self._state("exp_avg", theta)
        v = self._state("exp_avg_sq", theta)
        u = self._scratch("u", theta)
        # sqrt(v) / c2 + eps = (sqrt(v) + eps c2) / c2 with c2 = sqrt(1 - beta2^t): the
        # division by c2 joins the step size, one pass over the buffer less
        c2 = math.sqrt(1.0 - b2**step)
        self._lerp(m, g, 1.0 - b1, u)
        xp.multiply(v, b2, out=v)
        xp.multiply(g, g, out=u)
        axpy(1.0 - b2, u, v, u)
        if self.amsgrad:
            vmax = self._state("max_exp_avg_sq", theta)
            xp.maximum(vmax, v, out=vmax)
            v = vmax
        xp.sqrt(v, out=u)
        xp.add(u, self.eps * c2, out=u)
        xp.divide(m, u, out=u)
        axpy(-lr * c2 / (1.0 - b1**step), u, theta, u)


class AdamW(Adam):
    """Adam with decoupled weight decay (torch.optim.AdamW).

    For each update t = 1, 2, ... (beta1, beta2 = betas)::

        theta <- theta * (1 - lr * weight_decay)          (decay first, outside the gradient)
        m     <- beta1 * m + (1 - beta1) * g
        v     <- beta2 * v + (1 - beta2) * g * g
        vmax  <- max(vmax, v)     and use vmax for v     (if amsgrad)
        theta <- theta - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    Unlike ``Adam(weight_decay=...)`` the decay does not pass through the adaptive step
    size, so every weight shrinks by the same factor (Loshchilov and Hutter). The decay is
    multiplied by lr: a schedule scales it too.

    Parameters
    ----------
    lr, betas, eps : float or schedule, (float, float), float
        As ``Adam``'s, with its defaults (1e-3, (0.9, 0.999), 1e-8).
    weight_decay : float >= 0, default 1e-2
        Decoupled decay coefficient (theta shrinks by lr * weight_decay per update).
    amsgrad : bool, default False
        Normalise by the running maximum of v.
    clip_norm, clip_value : float >= 0, optional
        Gradient clipping, as in ``Adam``.

    Raises
    ------
    ArgumentError
        As ``Adam``: betas not a pair in [0, 1), another value out of its range above.

    References
    ----------
    Loshchilov and Hutter, "Decoupled weight decay regularization", ICLR 2019.
    """

    _decoupled = True

    def __init__(
        self, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, clip_norm=None, clip_value=None
    ):
        super().__init__(lr, betas, eps, weight_decay, amsgrad, clip_norm, clip_value)


class NAdam(Optimizer):
    """Adam with Nesterov momentum and a warming momentum schedule (torch.optim.NAdam).

    For each update t = 1, 2, ... (beta1, beta2 = betas, psi = momentum_decay)::

        theta <- theta * (1 - lr * weight_decay)      (if decoupled_weight_decay)
        g     <- g + weight_decay * theta             (otherwise, if weight_decay != 0)
        mu_t  =  beta1 * (1 - 0.5 * 0.96^(t psi))
        mu_t1 =  beta1 * (1 - 0.5 * 0.96^((t + 1) psi))
        P     <- P * mu_t                             (mu_product, starts at 1)
        m     <- beta1 * m + (1 - beta1) * g
        v     <- beta2 * v + (1 - beta2) * g * g
        d     =  sqrt(v / (1 - beta2^t)) + eps
        theta <- theta - lr (1 - mu_t) / (1 - P) * g / d
                       - lr mu_t1 / (1 - P mu_t1) * m / d

    m and v start at 0. The product P of the momentum coefficients is part of the state.

    Parameters
    ----------
    lr : float >= 0 or schedule, default 2e-3
        Learning rate; a schedule: see ``Optimizer``.
    betas : (float, float), default (0.9, 0.999)
        Decay rates of the averages of g and g^2, each in [0, 1).
    eps : float >= 0, default 1e-8
        Added to the square root (d above).
    weight_decay : float >= 0, default 0
        Weight decay coefficient.
    momentum_decay : float >= 0, default 4e-3
        psi, the speed of the momentum warm-up.
    decoupled_weight_decay : bool, default False
        Decay theta directly, as AdamW does (torch's "NAdamW").
    clip_norm, clip_value : float >= 0, optional
        Gradient clipping before NAdam's averages (``Optimizer``).

    Raises
    ------
    ArgumentError
        betas not a pair in [0, 1), a negative lr, eps, weight_decay, momentum_decay or clipping
        bound, decoupled_weight_decay not a bool.

    References
    ----------
    Dozat, "Incorporating Nesterov momentum into Adam", ICLR workshop 2016.
    """

    hyper = ("betas", "eps", "weight_decay", "momentum_decay", "decoupled_weight_decay")

    def __init__(
        self,
        lr=2e-3,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=0.0,
        momentum_decay=4e-3,
        decoupled_weight_decay=False,
        clip_norm=None,
        clip_value=None,
    ):
        super().__init__(lr, clip_norm, clip_value)
        self.betas = _check_betas(betas)
        self.eps = check_real("eps", eps, 0)
        self.weight_decay = check_real("weight_decay", weight_decay, 0)
        self.momentum_decay = check_real("momentum_decay", momentum_decay, 0)
        self.decoupled_weight_decay = check_bool("decoupled_weight_decay", decoupled_weight_decay)

    def _update(self, theta, g, lr):
        step = self.t + 1
        b1, b2 = self.betas
        g = self._decay(theta, g, lr, self.decoupled_weight_decay)
        mu = b1 * (1.0 - 0.5 * 0.96 ** (step * self.momentum_decay))
        mu_next = b1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * self.momentum_decay))
        # a scalar kept as a 0-d float64 array so that state_dict carries it with the rest
        P = self.state.get("mu_product")
        if P is None:
            P = self.state["mu_product"] = xp.ones((), dtype=xp.float64)
        mu_product = float(P) * mu
        P[()] = mu_product
        m = self._state("exp_avg", theta)
        v = self._state("exp_avg_sq", theta)
        u = self._scratch("u", theta)
        w = self._scratch("w", theta)
        self._lerp(m, g, 1.0 - b1, u)
        v *= b2
        xp.multiply(g, g, out=u)
        axpy(1.0 - b2, u, v, u)
        xp.divide(v, 1.0 - b2**step, out=u)
        xp.sqrt(u, out=u)
        u += self.eps
        xp.divide(g, u, out=w)
        axpy(-lr * (1.0 - mu) / (1.0 - mu_product), w, theta, w)
        xp.divide(m, u, out=w)
        axpy(-lr * mu_next / (1.0 - mu_product * mu_next), w, theta, w)


class Adamax(Optimizer):
    """Adamax: Adam with the infinity norm in place of the RMS (torch.optim.Adamax).

    For each update t = 1, 2, ... (beta1, beta2 = betas)::

        g     <- g + weight_decay * theta                 (if weight_decay != 0)
        m     <- beta1 * m + (1 - beta1) * g
        u     <- max(beta2 * u, |g| + eps)
        theta <- theta - lr / (1 - beta1^t) * m / u

    m and u start at 0; eps sits inside the maximum, as torch does.

    Parameters
    ----------
    lr : float >= 0 or schedule, default 2e-3
        Learning rate; a schedule: see ``Optimizer``.
    betas : (float, float), default (0.9, 0.999)
        Decay rates of m and of u, each in [0, 1).
    eps : float >= 0, default 1e-8
        Added to ``|g|`` inside the maximum.
    weight_decay : float >= 0, default 0
        L2 penalty coefficient, folded into g.
    clip_norm, clip_value : float >= 0, optional
        Gradient clipping before m and the infinity norm u (``Optimizer``).

    Raises
    ------
    ArgumentError
        betas not a pair in [0, 1), a negative or non-finite lr, eps, weight_decay or clipping
        bound.

    References
    ----------
    Kingma and Ba, "Adam: a method for stochastic optimization", ICLR 2015, section 7.1.
    """

    hyper = ("betas", "eps", "weight_decay")

    def __init__(self, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, clip_norm=None, clip_value=None):
        super().__init__(lr, clip_norm, clip_value)
        self.betas = _check_betas(betas)
        self.eps = check_real("eps", eps, 0)
        self.weight_decay = check_real("weight_decay", weight_decay, 0)

    def _update(self, theta, g, lr):
        step = self.t + 1
        b1, b2 = self.betas
        g = self._with_decay(theta, g, self.weight_decay)
        m = self._state("exp_avg", theta)
        n = self._state("exp_inf", theta)
        u = self._scratch("u", theta)
        self._lerp(m, g, 1.0 - b1, u)
        n *= b2
        xp.abs(g, out=u)
        u += self.eps
        xp.maximum(n, u, out=n)
        xp.divide(m, n, out=u)
        axpy(-lr / (1.0 - b1**step), u, theta, u)


OPTIMIZERS = {
    "sgd": SGD,
    "adagrad": Adagrad,
    "rmsprop": RMSprop,
    "adam": Adam,
    "adamw": AdamW,
    "nadam": NAdam,
    "adamax": Adamax,
}


def get(opt, **kwargs) -> Optimizer:
    """An optimizer from an instance (returned as is), a class or a name ("sgd", "Adam", ...;
    any case), the class or name built with ``kwargs``.

    Parameters
    ----------
    opt : str, Optimizer subclass or Optimizer
        A key of ``OPTIMIZERS`` (any case), a class, or an instance.
    **kwargs
        Arguments of the class (``lr=0.01``); none with an instance.

    Returns
    -------
    Optimizer
        A new optimizer, or the instance given.

    Raises
    ------
    ArgumentError
        ``opt`` is none of these (the valid names listed), an instance given with
        ``kwargs``, an unknown or missing argument, or a hyper-parameter out of range.
    """
    if isinstance(opt, str) and opt.lower() in OPTIMIZERS:
        opt = opt.lower()
    return lookup("optimizer", OPTIMIZERS, opt, base=Optimizer, **kwargs)
