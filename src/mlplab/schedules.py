"""Learning-rate schedules: pure functions of the update count, equal to torch.optim.lr_scheduler.

A schedule maps the optimizer's update count ``t`` to a learning rate::

    lr = schedule(t)        # t = 0 is the lr of the first update, t = 1 of the second, ...

Every optimizer that takes ``lr`` also takes a schedule and calls ``schedule(t)`` itself.
A call reads no state and writes none, so ``sched(5)`` then ``sched(2)`` is fine and a run
resumed at update ``t`` continues with exactly the learning rates of an uninterrupted one.

Relation to PyTorch: after ``k`` calls of ``scheduler.step()`` torch's optimizer holds
``param_groups[0]["lr"] == schedule(k)``, for the same arguments (``base_lr`` is the lr the
torch optimizer was built with). Several torch schedulers are defined by a recurrence on the
previous lr; the classes below use the closed form the recurrence telescopes to, which agrees
with torch to rounding (the tests ask for 1e-10 relative over 300 steps). Momentum cycling
(CyclicLR's and OneCycleLR's ``cycle_momentum``) is out of scope: these schedules return an lr
only.

Any update count: ``t`` is a Python int of any size, and ``schedule(t)`` is the closed form for
every ``t`` (10**12 updates, or more, as a model trained for years by ``partial_fit`` reaches),
never an ``OverflowError`` or a value that lost its precision. ``t`` is reduced modulo a period
in integers before it meets a float (cosines, cycles), a power ``gamma ** n`` that leaves the
float range gives its rounded value (0.0 when it decays below the smallest float), and a schedule
whose lr grows past the largest float (``gamma > 1``) raises ``ArgumentError`` naming ``t`` and
the last update at which it is finite; a result that is not finite is never returned. So that
the lrs a run has seen keep their bits, a periodic schedule keeps its historical float
expression, written in ``t`` itself (torch's, for CyclicLR), while ``t < 4096 * T_max`` (4096
times the shorter half-cycle for CyclicLR), where its error is what it always was: it grows like
``t / T_max * 2**-51`` of the amplitude, under 2**-39 there. From there on ``t`` is reduced first.

``interval`` ("batch" or "epoch", keyword on every constructor) tells the training loop whether
``t`` counts updates or epochs; the loop passes the right count, the schedule only stores it.

Serialization: ``sched.get_config()`` returns ``{"class_name": ..., "config": {...}}``, plain
JSON; ``from_config(cfg)`` rebuilds the schedule. Schedules that hold a Python callable
(``LambdaLR``, ``CyclicLR(scale_fn=...)``) raise ``TypeError`` instead.
"""

from __future__ import annotations

import math
import sys
from bisect import bisect_right
from decimal import MAX_EMAX, MIN_EMIN, Context, Decimal
from fractions import Fraction

from ._validation import (
    check_bool,
    check_callable,
    check_choice,
    check_instance,
    check_int,
    check_list,
    check_real,
    fail,
    lookup,
)

__all__ = [
    "Schedule",
    "ConstantLR",
    "LinearLR",
    "StepLR",
    "MultiStepLR",
    "ExponentialLR",
    "CosineAnnealingLR",
    "CosineAnnealingWarmRestarts",
    "CyclicLR",
    "OneCycleLR",
    "SequentialLR",
    "LambdaLR",
    "SCHEDULES",
    "INTERVALS",
    "get",
    "from_config",
]

#: what ``t`` counts, as told to the training loop.
INTERVALS = ("batch", "epoch")


# --------------------------------------------------------------------------- argument checks


def _milestones(name, values, *, low):
    """Return ``values`` as a list of strictly increasing ints >= ``low``, or raise naming ``name``."""
    values = check_list(name, values, f"a list of ints >= {low}")
    out = [check_int(f"{name}[{i}]", m, low) for i, m in enumerate(values)]
    if any(b <= a for a, b in zip(out, out[1:])):
        raise fail(name, "strictly increasing", out)
    return out


# --------------------------------------------------------------------------- any t

#: a periodic schedule keeps its historical float expression in ``t`` (so that every lr a run
#: has seen keeps its bits) while t < _LEGACY * T_max (CosineAnnealingLR: 2048 periods) or
#: _LEGACY * the shorter half-cycle (CyclicLR); from there on ``t`` is reduced in integers first
_LEGACY = 4096
_EXACT_INT = 2**53  # every int up to here is a float exactly
_TINY = sys.float_info.min  # the smallest normal float, 2**-1022
#: 60 digits and no exponent limit: powers near the ends of the float range, rounded once at the end
_WIDE = Context(prec=60, Emax=MAX_EMAX, Emin=MIN_EMIN)


def _scaled_power(c, gamma, n):
    """``c * gamma ** n`` rounded to a float, for floats c >= 0, gamma > 0 and any int n >= 0.

    0.0 when it is below the smallest float, ``math.inf`` when above the largest (the
    caller raises). Where ``gamma ** n`` is a normal float the historical ``c * gamma ** n``
    is returned bit for bit (pow's error is below 1 ulp, and one rounding follows). Otherwise
    (only near or past the ends of the float range) the exact value rounded once, ties to
    even, when it can be a tie (n <= 64, or gamma a power of two), else ``exp(ln c + n ln
    gamma)`` in 60-digit decimals, rounded once (tens of microseconds).
    """
    if c == 0.0 or gamma == 1.0:
        return c
    if n <= _EXACT_INT:  # n converts to a float exactly
        try:
            p = gamma**n
        except OverflowError:
            p = math.inf
        if _TINY <= p < math.inf:
            lr = c * p
            if lr < math.inf:
                return lr
    lg = math.log2(gamma)
    # log2 of the result, to far better than the margins below (n * lg is inf for a huge n)
    log2_lr = math.log2(c) + (lg * n if n.bit_length() < 1000 else math.copysign(math.inf, lg))
    if log2_lr < -1100:  # below 2**-1075: rounds to 0.0
        return 0.0
    if log2_lr > 1050:
        return math.inf
    try:
        if n <= 64:  # exact (3.0 * 0.5 ** 1075 is a tie, for instance)
            return float(Fraction(c) * Fraction(gamma) ** n)
        m, e = math.frexp(gamma)
        if m == 0.5:  # gamma = 2 ** (e - 1): exact
            return math.ldexp(c, (e - 1) * n)
    except OverflowError:
        return math.inf
    # no tie: gamma ** n has more than 54 significant bits. |n * ln gamma| < 1600 here, so 60
    # digits leave the result exact to about 1e-55
    w = _WIDE
    return float(w.exp(w.add(w.ln(Decimal(c)), w.multiply(Decimal(n), w.ln(Decimal(gamma))))))


def _last_finite_power(c, gamma, n):
    """The largest ``k < n`` with ``_scaled_power(c, gamma, k)`` finite (gamma > 1, and finite at 0)."""
    lo, hi = 0, n
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _scaled_power(c, gamma, mid) < math.inf:
            lo = mid
        else:
            hi = mid
    return lo


def _grows_past_float(t, t_max, formula):
    return fail(
        "t",
        f"<= {t_max}, the last update at which {formula} is a finite float (gamma > 1 grows without bound)",
        t,
    )


# --------------------------------------------------------------------------- base class


class Schedule:
    """Base class: a learning rate as a pure function of the update count ``t``.

    A subclass sets ``base_lr`` and its arguments in ``__init__``, and writes
    ``_lr(t)`` (the formula, for a validated int ``t >= 0``) and ``_params()`` (the
    constructor arguments, for ``get_config`` and ``repr``). Everything else lives here.

    Parameters
    ----------
    base_lr : float
        The learning rate the schedule scales (>= 0, finite).
    interval : {"batch", "epoch"}, default "batch"
        What ``t`` counts; read by the training loop, not by the schedule.

    Raises
    ------
    ArgumentError
        ``base_lr`` < 0 or not finite, an unknown ``interval``; calling it with a ``t`` that
        is not an int >= 0, or past the last update with a finite lr.
    """

    def __init__(self, base_lr, *, interval="batch"):
        self.base_lr = check_real("base_lr", base_lr, 0.0)
        self.interval = check_choice("interval", interval, INTERVALS)

    def __call__(self, t) -> float:
        """Return the learning rate of update ``t`` (0-based), a Python float, finite."""
        lr = float(self._lr(check_int("t", t, 0)))
        if not math.isfinite(lr):  # each schedule raises its own, clearer, error first
            raise fail("t", f"an update at which {type(self).__name__} gives a finite lr (it gives {lr})", t)
        return lr

    def _lr(self, t: int) -> float:
        raise NotImplementedError

    def _params(self) -> dict:
        raise NotImplementedError

    def get_config(self) -> dict:
        """Return ``{"class_name": ..., "config": {...}}``, JSON-serialisable, for ``from_config``.

        Returns
        -------
        dict
            "class_name" (the class's name) and "config" (the constructor's arguments,
            ``interval`` included).

        Raises
        ------
        TypeError
            The schedule holds a Python callable (``LambdaLR``, ``CyclicLR(scale_fn=...)``).
        """
        return {"class_name": type(self).__name__, "config": {**self._params(), "interval": self.interval}}

    @classmethod
    def _from_params(cls, params: dict) -> Schedule:
        return cls(**params)

    def __repr__(self) -> str:
        args = [f"{k}={v!r}" for k, v in self._params().items()]
        if self.interval != "batch":
            args.append(f"interval={self.interval!r}")
        return f"{type(self).__name__}({', '.join(args)})"


def _not_serialisable(sched, arg):
    return TypeError(
        f"{type(sched).__name__}.get_config(): {arg} is a Python callable and cannot be "
        "written to a JSON config; rebuild this schedule in code, or write a Schedule "
        "subclass with plain-number arguments and add it to SCHEDULES"
    )


# --------------------------------------------------------------------------- schedules


class ConstantLR(Schedule):
    """Scale the lr by a constant ``factor`` for the first ``total_iters`` updates.

    ::

        lr(t) = base_lr * factor    if t < total_iters
              = base_lr             otherwise

    Parameters
    ----------
    base_lr : float
        Learning rate after the constant phase.
    factor : float, default 1/3
        Multiplier during the first ``total_iters`` updates, 0 < factor <= 1 (torch divides
        by it to leave the phase, so 0 is refused).
    total_iters : int, default 5
        Length of the scaled phase, >= 1 (torch with 0 keeps ``factor`` for ever, a quirk of
        its recurrence that is refused here).
    interval : {"batch", "epoch"}, default "batch"
        What ``t`` counts (see ``Schedule``).

    Raises
    ------
    ArgumentError
        An argument out of its range above, named in the message.

    Notes
    -----
    torch multiplies by ``factor`` at t = 0 and by ``1 / factor`` at t = total_iters; the
    closed form differs from that by one rounding.
    """

    def __init__(self, base_lr, factor=1.0 / 3, total_iters=5, *, interval="batch"):
        super().__init__(base_lr, interval=interval)
        self.factor = check_real("factor", factor, 0.0, 1.0, low_open=True)
        self.total_iters = check_int("total_iters", total_iters, 1)

    def _lr(self, t):
        return self.base_lr * self.factor if t < self.total_iters else self.base_lr

    def _params(self):
        return {"base_lr": self.base_lr, "factor": self.factor, "total_iters": self.total_iters}


class LinearLR(Schedule):
    """Scale the lr by a factor moving linearly from ``start_factor`` to ``end_factor``.

    ::

        lr(t) = base_lr * (start_factor
                           + (end_factor - start_factor) * min(t, total_iters) / total_iters)

    Parameters
    ----------
    base_lr : float
        Learning rate the factors scale, >= 0.
    start_factor : float, default 1/3
        Multiplier at t = 0, 0 < start_factor <= 1 (torch's bounds).
    end_factor : float, default 1.0
        Multiplier from t = total_iters on, 0 <= end_factor <= 1.
    total_iters : int, default 5
        Updates the ramp takes, >= 1.
    interval : {"batch", "epoch"}, default "batch"
        What ``t`` counts (see ``Schedule``).

    Raises
    ------
    ArgumentError
        An argument out of its range above, named in the message.

    Notes
    -----
    torch defines it by the recurrence ``lr(t) = lr(t-1) * (1 + (end_factor - start_factor)
    / (total_iters * start_factor + (t - 1) * (end_factor - start_factor)))`` for
    1 <= t <= total_iters, whose product telescopes to the closed form above. The usual
    warm-up is ``SequentialLR([LinearLR(lr, 0.01, 1.0, W), CosineAnnealingLR(lr, T)], [W])``.
    """

    def __init__(self, base_lr, start_factor=1.0 / 3, end_factor=1.0, total_iters=5, *, interval="batch"):
        super().__init__(base_lr, interval=interval)
        self.start_factor = check_real("start_factor", start_factor, 0.0, 1.0, low_open=True)
        self.end_factor = check_real("end_factor", end_factor, 0.0, 1.0)
        self.total_iters = check_int("total_iters", total_iters, 1)

    def _lr(self, t):
        frac = min(t, self.total_iters) / self.total_iters
        return self.base_lr * (self.start_factor + (self.end_factor - self.start_factor) * frac)

    def _params(self):
        return {
            "base_lr": self.base_lr,
            "start_factor": self.start_factor,
            "end_factor": self.end_factor,
            "total_iters": self.total_iters,
        }


class StepLR(Schedule):
    """Multiply the lr by ``gamma`` every ``step_size`` updates.

    ::

        lr(t) = base_lr * gamma ** (t // step_size)

    Parameters
    ----------
    base_lr : float
        Learning rate at t = 0, >= 0.
    step_size : int
        Updates between decays, >= 1.
    gamma : float, default 0.1
        Decay factor, > 0. Decaying (< 1), the lr reaches 0.0 once below the smallest float;
        growing (> 1), ``t`` past the last update with a finite lr raises ``ArgumentError``.
    interval : {"batch", "epoch"}, default "batch"
        What ``t`` counts (see ``Schedule``).

    Raises
    ------
    ArgumentError
        An argument out of its range above, named in the message.
    """

    def __init__(self, base_lr, step_size, gamma=0.1, *, interval="batch"):
        super().__init__(base_lr, interval=interval)
        self.step_size = check_int("step_size", step_size, 1)
        self.gamma = check_real("gamma", gamma, 0.0, low_open=True)

    def _lr(self, t):
        lr = _scaled_power(self.base_lr, self.gamma, t // self.step_size)
        if lr == math.inf:
            n = _last_finite_power(self.base_lr, self.gamma, t // self.step_size)
            raise _grows_past_float(t, (n + 1) * self.step_size - 1, "base_lr * gamma ** (t // step_size)")
        return lr

    def _params(self):
        return {"base_lr": self.base_lr, "step_size": self.step_size, "gamma": self.gamma}


class MultiStepLR(Schedule):
    """Multiply the lr by ``gamma`` at each milestone.

    ::

        lr(t) = base_lr * gamma ** (number of milestones m with m <= t)

    Parameters
    ----------
    base_lr : float
        Learning rate at t = 0, >= 0.
    milestones : list of int
        Strictly increasing update counts >= 0 (torch also counts a repeated milestone
        twice; write ``gamma ** 2`` instead).
    gamma : float, default 0.1
        Decay factor, > 0.
    interval : {"batch", "epoch"}, default "batch"
        What ``t`` counts (see ``Schedule``).

    Raises
    ------
    ArgumentError
        An argument out of its range above, named in the message.
    """

    def __init__(self, base_lr, milestones, gamma=0.1, *, interval="batch"):
        super().__init__(base_lr, interval=interval)
        self.milestones = _milestones("milestones", milestones, low=0)
        self.gamma = check_real("gamma", gamma, 0.0, low_open=True)

    def _lr(self, t):
        k = bisect_right(self.milestones, t)
        lr = _scaled_power(self.base_lr, self.gamma, k)
        if lr == math.inf:
            n = _last_finite_power(self.base_lr, self.gamma, k)
            raise _grows_past_float(t, self.milestones[n] - 1, "base_lr * gamma ** (milestones passed)")
        return lr

    def _params(self):
        return {"base_lr": self.base_lr, "milestones": list(self.milestones), "gamma": self.gamma}


class ExponentialLR(Schedule):
    """Multiply the lr by ``gamma`` every update.

    ::

        lr(t) = base_lr * gamma ** t

    Parameters
    ----------
    base_lr : float
        Learning rate at t = 0, >= 0.
    gamma : float
        Decay factor per update, > 0. Decaying (< 1), the lr reaches 0.0 once below the
        smallest float; growing (> 1), ``t`` past the last update with a finite lr raises
        ``ArgumentError``.
    interval : {"batch", "epoch"}, default "batch"
        What ``t`` counts (see ``Schedule``).

    Raises
    ------
    ArgumentError
        An argument out of its range above, named in the message.
    """

    def __init__(self, base_lr, gamma, *, interval="batch"):
        super().__init__(base_lr, interval=interval)
        self.gamma = check_real("gamma", gamma, 0.0, low_open=True)

    def _lr(self, t):
        lr = _scaled_power(self.base_lr, self.gamma, t)
        if lr == math.inf:
            raise _grows_past_float(t, _last_finite_power(self.base_lr, self.gamma, t), "base_lr * gamma ** t")
        return lr

    def _params(self):
        return {"base_lr": self.base_lr, "gamma": self.gamma}


class CosineAnnealingLR(Schedule):
    """Cosine from ``base_lr`` down to ``eta_min`` over ``T_max`` updates, then back up.

    ::

        lr(t) = eta_min + (base_lr - eta_min) * (1 + cos(pi * t / T_max)) / 2

    Parameters
    ----------
    base_lr : float
        Learning rate at t = 0, >= 0.
    T_max : int
        Updates from ``base_lr`` to ``eta_min``, >= 1.
    eta_min : float, default 0.0
        Lowest learning rate, >= 0.
    interval : {"batch", "epoch"}, default "batch"
        What ``t`` counts (see ``Schedule``).

    Raises
    ------
    ArgumentError
        An argument out of its range above, named in the message.

    Notes
    -----
    torch defines it by a recurrence on the previous lr,
    ``lr(t) = eta_min + (lr(t-1) - eta_min) * (1 + cos(pi*t/T_max)) / (1 + cos(pi*(t-1)/T_max))``
    (with a special case when the denominator is 0), which telescopes to the closed form.
    Neither stops at ``T_max``: for T_max < t <= 2*T_max the lr climbs back to ``base_lr``,
    and so on with period ``2 * T_max``. To hold ``eta_min`` after ``T_max``, follow it with
    another schedule in ``SequentialLR``; for restarts use ``CosineAnnealingWarmRestarts``.
    From ``t = 4096 * T_max`` (after 2048 periods) on, ``t`` is first reduced modulo
    ``2 * T_max`` in integers, so the cosine's argument stays below ``2 * pi`` for any ``t``
    (before, ``pi * t / T_max`` is off by at most ``t / T_max * 2**-51``, < 2**-39).
    """

    def __init__(self, base_lr, T_max, eta_min=0.0, *, interval="batch"):
        super().__init__(base_lr, interval=interval)
        self.T_max = check_int("T_max", T_max, 1)
        self.eta_min = check_real("eta_min", eta_min, 0.0)

    def _lr(self, t):
        if t >= _LEGACY * self.T_max:
            t %= 2 * self.T_max  # exact; the cosine is periodic in 2 * T_max
        return self.eta_min + (self.base_lr - self.eta_min) * (1 + math.cos(math.pi * t / self.T_max)) / 2

    def _params(self):
        return {"base_lr": self.base_lr, "T_max": self.T_max, "eta_min": self.eta_min}


class CosineAnnealingWarmRestarts(Schedule):
    """Cosine annealing restarted from ``base_lr``, each period ``T_mult`` times the last (SGDR).

    ::

        T_i   = T_0 * T_mult ** i                          length of period i = 0, 1, ...
        start = T_0 + T_0*T_mult + ... + T_0*T_mult**(i-1) first update of period i
        T_cur = t - start                                   for the period with
                                                            start <= t < start + T_i
        lr(t) = eta_min + (base_lr - eta_min) * (1 + cos(pi * T_cur / T_i)) / 2

    With ``T_mult = 1`` this is ``T_cur = t % T_0``, ``T_i = T_0``.

    Parameters
    ----------
    base_lr : float
        Learning rate at the start of every period.
    T_0 : int
        Length of the first period, >= 1.
    T_mult : int, default 1
        Growth of the period at each restart, an integer >= 1 (as in torch).
    eta_min : float, default 0.0
        Learning rate the cosine heads for, >= 0; never reached exactly, because the restart
        happens when T_cur would reach T_i.
    interval : {"batch", "epoch"}, default "batch"
        What ``t`` counts (see ``Schedule``).

    Raises
    ------
    ArgumentError
        An argument out of its range above, named in the message.

    Notes
    -----
    torch steps ``T_cur += 1`` and, when ``T_cur >= T_i``, sets ``T_cur -= T_i`` and
    ``T_i *= T_mult``; the period is found here by the same integer walk, so the values are
    torch's exactly (torch's fractional-epoch ``step(epoch)`` form is not needed).

    References
    ----------
    Loshchilov & Hutter, "SGDR: Stochastic Gradient Descent with Warm Restarts", ICLR 2017.
    """

    def __init__(self, base_lr, T_0, T_mult=1, eta_min=0.0, *, interval="batch"):
        super().__init__(base_lr, interval=interval)
        self.T_0 = check_int("T_0", T_0, 1)
        self.T_mult = check_int("T_mult", T_mult, 1)
        self.eta_min = check_real("eta_min", eta_min, 0.0)

    def _lr(self, t):
        if self.T_mult == 1:
            T_cur, T_i = t % self.T_0, self.T_0
        else:
            # integer walk, not torch's log formula: a float log can land one period off
            T_cur, T_i = t, self.T_0
            while T_cur >= T_i:
                T_cur -= T_i
                T_i *= self.T_mult
        # the integer ratio, exactly divided, once T_i no longer converts to a float exactly
        angle = math.pi * T_cur / T_i if T_i <= _EXACT_INT else math.pi * (T_cur / T_i)
        return self.eta_min + (self.base_lr - self.eta_min) * (1 + math.cos(angle)) / 2

    def _params(self):
        return {"base_lr": self.base_lr, "T_0": self.T_0, "T_mult": self.T_mult, "eta_min": self.eta_min}


_CYCLIC_MODES = ("triangular", "triangular2", "exp_range")


class CyclicLR(Schedule):
    """Triangular cycles between ``base_lr`` and ``max_lr`` (cyclical learning rates, CLR).

    ::

        size  = step_size_up + step_size_down
        cycle = floor(1 + t / size)                       1, 2, ...
        x     = 1 + t / size - cycle                      position in the cycle, in [0, 1)
        r     = step_size_up / size
        h     = x / r               if x <= r             rising edge, 0 -> 1
              = (x - 1) / (r - 1)   otherwise             falling edge, 1 -> 0
        lr(t) = base_lr + (max_lr - base_lr) * h * scale

    with ``scale`` by ``mode``: "triangular" 1; "triangular2" ``1 / 2 ** (cycle - 1)``
    (amplitude halves each cycle); "exp_range" ``gamma ** t``. A custom ``scale_fn``
    replaces ``mode`` and is called on ``cycle`` (scale_mode="cycle") or on ``t``
    (scale_mode="iterations").

    Parameters
    ----------
    base_lr : float
        Lower boundary of the cycle, >= 0.
    max_lr : float
        Upper boundary, >= 0; reached only when ``scale`` is 1.
    step_size_up : int, default 2000
        Updates in the rising half of a cycle, >= 1.
    step_size_down : int or None, default None
        Updates in the falling half, >= 1; None means ``step_size_up``.
    mode : {"triangular", "triangular2", "exp_range"}, default "triangular"
        The ``scale`` above; ignored when ``scale_fn`` is given.
    gamma : float, default 1.0
        Base of the "exp_range" scale, > 0.
    scale_fn : callable or None, default None
        ``scale_fn(x) -> float`` with 0 <= scale_fn(x) <= 1; a schedule holding one cannot
        be written by ``get_config``.
    scale_mode : {"cycle", "iterations"}, default "cycle"
        Argument of ``scale_fn``. As in torch it is used only with a custom ``scale_fn``:
        the built-in modes fix it ("cycle" for the triangular ones, "iterations" for
        "exp_range").
    interval : {"batch", "epoch"}, default "batch"
        What ``t`` counts (see ``Schedule``).

    Raises
    ------
    ArgumentError
        An argument out of its range above, named in the message.

    Notes
    -----
    torch's ``CyclicLR`` also cycles momentum inversely to the lr (``cycle_momentum``);
    that is out of scope here: this schedule gives the lr only, so compare it with torch's
    ``cycle_momentum=False``. torch computes the same closed form in ``t``, in floats; that
    expression is kept, bit for bit, while ``t < 4096 * min(step_size_up, step_size_down)``
    (2048 cycles of equal halves), and from there on ``cycle`` and the position in the cycle
    come from integer division of ``t`` (the float expression drifts by about
    ``t / half * 2**-52`` of ``max_lr - base_lr``, ``half`` the length of the current half of
    the cycle). With "exp_range" and ``gamma > 1`` an update whose lr exceeds the largest
    float raises ``ArgumentError``; a ``scale_fn`` must return a finite number.

    References
    ----------
    Smith, "Cyclical Learning Rates for Training Neural Networks", WACV 2017.
    """

    def __init__(
        self,
        base_lr,
        max_lr,
        step_size_up=2000,
        step_size_down=None,
        mode="triangular",
        gamma=1.0,
        scale_fn=None,
        scale_mode="cycle",
        *,
        interval="batch",
    ):
        super().__init__(base_lr, interval=interval)
        self.max_lr = check_real("max_lr", max_lr, 0.0)
        self.step_size_up = check_int("step_size_up", step_size_up, 1)
        self.step_size_down = None if step_size_down is None else check_int("step_size_down", step_size_down, 1)
        if scale_fn is not None:
            check_callable("scale_fn", scale_fn, "callable or None")
        # torch checks mode only when there is no scale_fn to replace it
        self.mode = mode if scale_fn is not None else check_choice("mode", mode, _CYCLIC_MODES)
        self.gamma = check_real("gamma", gamma, 0.0, low_open=True)
        self.scale_fn = scale_fn
        self.scale_mode = check_choice("scale_mode", scale_mode, ("cycle", "iterations"))

    def _scaled(self, amp, cycle, t):
        """``amp * scale``, ``amp`` being ``(max_lr - base_lr) * h``."""
        if self.scale_fn is not None:
            return amp * check_real("scale_fn(x)", self.scale_fn(cycle if self.scale_mode == "cycle" else t))
        if self.mode == "triangular":
            return amp
        if self.mode == "triangular2":
            return math.ldexp(amp, 1 - cycle)  # amp / 2 ** (cycle - 1), exact, for any cycle
        out = _scaled_power(abs(amp), self.gamma, t)
        if out == math.inf:
            raise fail(
                "t",
                "an update at which (max_lr - base_lr) * h * gamma ** t is a finite float "
                "(exp_range with gamma > 1 grows without bound)",
                t,
            )
        return math.copysign(out, amp)

    def _lr(self, t):
        up = self.step_size_up
        down = up if self.step_size_down is None else self.step_size_down
        if t < _LEGACY * min(up, down):
            # torch's float expression, bit for bit
            up, down = float(up), float(down)
            size = up + down
            ratio = up / size
            cycle = math.floor(1 + t / size)
            x = 1.0 + t / size - cycle
            h = x / ratio if x <= ratio else (x - 1) / (ratio - 1)
        else:
            q, pos = divmod(t, up + down)
            cycle = q + 1
            h = pos / up if pos <= up else (up + down - pos) / down
        return self.base_lr + self._scaled((self.max_lr - self.base_lr) * h, cycle, t)

    def _params(self):
        return {
            "base_lr": self.base_lr,
            "max_lr": self.max_lr,
            "step_size_up": self.step_size_up,
            "step_size_down": self.step_size_down,
            "mode": self.mode,
            "gamma": self.gamma,
            "scale_fn": self.scale_fn,
            "scale_mode": self.scale_mode,
        }

    def get_config(self):
        if self.scale_fn is not None:
            raise _not_serialisable(self, "scale_fn")
        return super().get_config()


class OneCycleLR(Schedule):
    """The 1cycle policy: warm up to ``max_lr``, then anneal far below the start.

    ::

        initial_lr = max_lr / div_factor               (exposed as .base_lr)
        min_lr     = initial_lr / final_div_factor
        anneal(a, b, p) = b + (a - b) * (1 + cos(pi * p)) / 2   anneal_strategy="cos"
                        = a + (b - a) * p                         anneal_strategy="linear"

    two phases (default), with ``e1 = pct_start * total_steps - 1``, ``e2 = total_steps - 1``::

        lr(t) = anneal(initial_lr, max_lr, t / e1)                if t <= e1
              = anneal(max_lr, min_lr, (t - e1) / (e2 - e1))      otherwise

    three phases, with ``e2 = 2 * pct_start * total_steps - 2``, ``e3 = total_steps - 1``::

        lr(t) = anneal(initial_lr, max_lr, t / e1)                if t <= e1
              = anneal(max_lr, initial_lr, (t - e1) / (e2 - e1))  if t <= e2
              = anneal(initial_lr, min_lr, (t - e2) / (e3 - e2))  otherwise

    Parameters
    ----------
    max_lr : float
        Peak learning rate, >= 0.
    total_steps : int
        Length of the cycle, >= 1. ``lr(t)`` is defined for 0 <= t <= total_steps, as in
        torch (which raises past it); t = total_steps extrapolates the last phase.
    pct_start : float, default 0.3
        Fraction of the cycle spent rising, 0 <= pct_start <= 1 (<= 0.5 with
        ``three_phase``, so the two mirrored phases fit).
    anneal_strategy : {"cos", "linear"}, default "cos"
        The shape of each phase (``anneal`` above).
    div_factor : float, default 25.0
        ``initial_lr = max_lr / div_factor``, > 0.
    final_div_factor : float, default 1e4
        ``min_lr = initial_lr / final_div_factor``, > 0.
    three_phase : bool, default False
        Rise, mirror back down to ``initial_lr``, then anneal to ``min_lr`` (the paper's
        form) instead of fastai's two phases.
    interval : {"batch", "epoch"}, default "batch"
        What ``t`` counts (see ``Schedule``).

    Raises
    ------
    ArgumentError
        An argument out of its range above, named in the message.

    Notes
    -----
    Phase ends are torch's, including the ``- 1`` and ``- 2`` offsets, so phase boundaries
    are generally not integers. torch divides by zero when a phase has zero length (e.g.
    ``pct_start * total_steps == 1``); that is refused here, naming pct_start. torch's
    ``epochs``/``steps_per_epoch`` form is ``total_steps=epochs * steps_per_epoch``.
    Momentum cycling is out of scope (see CyclicLR).

    References
    ----------
    Smith & Topin, "Super-Convergence: Very Fast Training of Neural Networks Using Large
    Learning Rates", 2017.
    """

    def __init__(
        self,
        max_lr,
        total_steps,
        pct_start=0.3,
        anneal_strategy="cos",
        div_factor=25.0,
        final_div_factor=1e4,
        three_phase=False,
        *,
        interval="batch",
    ):
        self.max_lr = check_real("max_lr", max_lr, 0.0)
        self.div_factor = check_real("div_factor", div_factor, 0.0, low_open=True)
        super().__init__(self.max_lr / self.div_factor, interval=interval)
        self.total_steps = check_int("total_steps", total_steps, 1)
        three_phase = check_bool("three_phase", three_phase)
        self.three_phase = three_phase
        self.pct_start = check_real("pct_start", pct_start, 0.0, 0.5 if three_phase else 1.0)
        self.anneal_strategy = check_choice("anneal_strategy", anneal_strategy, ("cos", "linear"))
        self.final_div_factor = check_real("final_div_factor", final_div_factor, 0.0, low_open=True)
        self.min_lr = self.base_lr / self.final_div_factor

        n, p = self.total_steps, self.pct_start
        e1 = float(p * n) - 1
        if three_phase:
            self._phases = [
                (e1, self.base_lr, self.max_lr),
                (float(2 * p * n) - 2, self.max_lr, self.base_lr),
                (n - 1, self.base_lr, self.min_lr),
            ]
        else:
            self._phases = [(e1, self.base_lr, self.max_lr), (n - 1, self.max_lr, self.min_lr)]
        start = 0.0
        for end, _, _ in self._phases:
            if end == start:
                raise fail(
                    "pct_start",
                    f"such that no phase has zero length with total_steps={n} "
                    "(torch divides by zero there; change pct_start or total_steps)",
                    p,
                )
            start = end

    def _anneal(self, a, b, pct):
        if self.anneal_strategy == "cos":
            return b + (a - b) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (b - a) * pct + a

    def _lr(self, t):
        if t > self.total_steps:
            raise fail("t", f"<= total_steps={self.total_steps}, the end of the cycle (torch raises past it too)", t)
        start = 0.0
        # the phase test is torch's: t <= end, the last phase taking everything after
        for i, (end, a, b) in enumerate(self._phases):
            if t <= end or i == len(self._phases) - 1:
                return self._anneal(a, b, (t - start) / (end - start))
            start = end

    def _params(self):
        return {
            "max_lr": self.max_lr,
            "total_steps": self.total_steps,
            "pct_start": self.pct_start,
            "anneal_strategy": self.anneal_strategy,
            "div_factor": self.div_factor,
            "final_div_factor": self.final_div_factor,
            "three_phase": self.three_phase,
        }


class SequentialLR(Schedule):
    """Run schedules one after another, each restarting its count at its milestone.

    ::

        k     = number of milestones m with m <= t
        start = milestones[k - 1] if k > 0 else 0
        lr(t) = schedulers[k](t - start)

    Parameters
    ----------
    schedulers : list of Schedule
        At least one; each keeps its own ``base_lr`` (in torch they all share the
        optimizer's lr). Their ``interval`` is ignored: this schedule's own counts.
    milestones : list of int
        Strictly increasing counts >= 1, one fewer than ``schedulers``.
    interval : {"batch", "epoch"}, default "batch"
        What ``t`` counts (see ``Schedule``).

    Raises
    ------
    ArgumentError
        An argument out of its range above, named in the message.

    Notes
    -----
    As in torch, the schedule after a milestone sees ``t - milestone``: torch resets it with
    its closed form at 0 and steps it from there. ``.base_lr`` is the first schedule's.
    """

    def __init__(self, schedulers, milestones, *, interval="batch"):
        scheds = check_list("schedulers", schedulers, "a non-empty list of Schedule")
        if not scheds:
            raise fail("schedulers", "a non-empty list of Schedule", schedulers)
        for i, s in enumerate(scheds):
            check_instance(f"schedulers[{i}]", s, Schedule, "a Schedule")
        self.schedulers = scheds
        self.milestones = _milestones("milestones", milestones, low=1)
        if len(self.milestones) != len(scheds) - 1:
            raise fail(
                "milestones",
                f"{len(scheds) - 1} long, one entry fewer than the {len(scheds)} schedulers",
                self.milestones,
            )
        super().__init__(scheds[0].base_lr, interval=interval)

    def _lr(self, t):
        k = bisect_right(self.milestones, t)
        start = self.milestones[k - 1] if k > 0 else 0
        return self.schedulers[k](t - start)

    def _params(self):
        return {"schedulers": list(self.schedulers), "milestones": list(self.milestones)}

    def get_config(self):
        return {
            "class_name": type(self).__name__,
            "config": {
                "schedulers": [s.get_config() for s in self.schedulers],
                "milestones": list(self.milestones),
                "interval": self.interval,
            },
        }

    @classmethod
    def _from_params(cls, params):
        params = dict(params)
        params["schedulers"] = [from_config(c) for c in params["schedulers"]]
        return cls(**params)


class LambdaLR(Schedule):
    """Scale the lr by a user function of ``t``.

    ::

        lr(t) = base_lr * lr_lambda(t)

    Parameters
    ----------
    base_lr : float
        Learning rate at t = 0, >= 0.
    lr_lambda : callable
        ``lr_lambda(t) -> float``, a finite multiplier (anything else raises ``ArgumentError``
        naming it); it should be pure, as the schedule is (called in any order, any number of
        times), and ``t`` may be any int >= 0. Not serialisable: ``get_config`` raises.
    interval : {"batch", "epoch"}, default "batch"
        What ``t`` counts (see ``Schedule``).

    Raises
    ------
    ArgumentError
        An argument out of its range above, named in the message.
    """

    def __init__(self, base_lr, lr_lambda, *, interval="batch"):
        super().__init__(base_lr, interval=interval)
        self.lr_lambda = check_callable("lr_lambda", lr_lambda)

    def _lr(self, t):
        return self.base_lr * check_real("lr_lambda(t)", self.lr_lambda(t))

    def _params(self):
        return {"base_lr": self.base_lr, "lr_lambda": self.lr_lambda}

    def get_config(self):
        raise _not_serialisable(self, "lr_lambda")


# --------------------------------------------------------------------------- registry

SCHEDULES = {
    "constant": ConstantLR,
    "linear": LinearLR,
    "step": StepLR,
    "multistep": MultiStepLR,
    "exponential": ExponentialLR,
    "cosine": CosineAnnealingLR,
    "cosine_restarts": CosineAnnealingWarmRestarts,
    "cyclic": CyclicLR,
    "onecycle": OneCycleLR,
    "sequential": SequentialLR,
    "lambda": LambdaLR,
}


def get(name_or_schedule, **kwargs) -> Schedule:
    """Return a schedule: a ``Schedule`` as is, or ``SCHEDULES[name](**kwargs)`` (a ``Schedule``
    subclass is built with ``kwargs`` too).

    Parameters
    ----------
    name_or_schedule : str, Schedule subclass or Schedule
        A key of ``SCHEDULES``, a class, or a built schedule.
    **kwargs
        The class's arguments (``base_lr=0.1, T_max=100``); none with a built schedule.

    Returns
    -------
    Schedule
        A new schedule, or the one given.

    Raises
    ------
    ArgumentError
        (a ValueError and a TypeError) naming ``schedule`` for anything else, listing the
        valid names; for ``kwargs`` given with an already-built schedule; for an unknown or
        missing argument or one out of range.

    Examples
    --------
    >>> get("cosine", base_lr=0.1, T_max=100)
    CosineAnnealingLR(base_lr=0.1, T_max=100, eta_min=0.0)
    """
    return lookup("schedule", SCHEDULES, name_or_schedule, base=Schedule, **kwargs)


def from_config(cfg) -> Schedule:
    """Rebuild a schedule from ``get_config()``'s ``{"class_name": ..., "config": {...}}``.

    ``class_name`` may be a class name (``"StepLR"``) or a ``SCHEDULES`` key (``"step"``).

    Parameters
    ----------
    cfg : dict
        ``{"class_name": ..., "config": {...}}``; a SequentialLR's config holds its
        schedules' configs.

    Returns
    -------
    Schedule
        A new schedule equal to the one that wrote ``cfg``.

    Raises
    ------
    ArgumentError
        ``cfg`` is not such a dict, names an unknown class, or holds an argument value
        out of range.
    TypeError
        ``cfg["config"]`` is not a dict of the class's arguments (an unknown or missing
        argument).
    """
    if not isinstance(cfg, dict) or "class_name" not in cfg or "config" not in cfg:
        raise fail("cfg", 'a dict {"class_name": ..., "config": {...}}', cfg)
    by_class = {cls.__name__: cls for cls in SCHEDULES.values()}
    name = cfg["class_name"]
    cls = (by_class.get(name) or SCHEDULES.get(name)) if isinstance(name, str) else None
    if cls is None:
        raise fail('cfg["class_name"]', f"one of {sorted(by_class)} or of the names {sorted(SCHEDULES)}", name)
    return cls._from_params(cfg["config"])
