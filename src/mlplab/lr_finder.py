"""The learning-rate range test: ``lr_find(model, X, y)`` suggests a learning rate.

The lecture leaves the learning rate alpha to the reader (and quotes Karpathy's joke that
3e-4 is the best one for Adam). The range test (L. N. Smith, "Cyclical Learning Rates for
Training Neural Networks", WACV 2017, section 3.3; fastai's ``lr_find``; torch-lr-finder)
measures it: train a copy of the model for a few hundred mini-batch updates while the
learning rate grows exponentially, and watch the loss::

    lr_t = start_lr * (end_lr / start_lr) ** (t / (num_steps - 1)),   t = 0, ..., num_steps - 1
    J_t  = the loss of update t's mini-batch (before the update), one update at lr_t
    avg_t = beta avg_{t-1} + (1 - beta) J_t,   smoothed_t = avg_t / (1 - beta ** (t + 1))
    stop when J_t is not finite or smoothed_t > diverge * min_{s <= t} smoothed_s

(the bias-corrected exponential average of fastai, beta = 0.98, and its stop at 4 times the
best). Too small a rate leaves the loss flat, a good one makes it fall, too large a one makes
it blow up. The suggestion is read from the smoothed curve by a rule:

- "minimum" (default): the rate at the smoothed loss's minimum, divided by 10: an order of
  magnitude below where the loss stops falling (fastai's ``minimum``; Smith's advice to stay
  below the rate where the loss turns up), the first num_steps // 10 updates left out as
  fastai leaves them out (there the average holds one or two batches: a lucky first batch
  was the minimum on a noisy spiral, and the suggestion 1e-6);
- "steepest": the rate where the smoothed loss falls fastest per decade of rate (most negative
  d smoothed / d log10 lr, each slope taken across 1 / (2 (1 - beta)) updates on either side),
  before the minimum and after the first 1 / (1 - beta) updates, where the average has not
  settled (torch-lr-finder's suggestion, fastai's ``steep``).

Neither rule suggests a rate when the smoothed loss is lowest within the first
1 / (1 - beta) updates after the skipped ones (at most a quarter of the rest): the curve is
flat, then only rises, and its minimum is noise (a network already trained, or one that cannot
learn from these rates), or when it never falls by more than rounding (1e-6 of its value);
``LRFindResult.no_suggestion`` then says why.

The model and the optimizer given are left as they were, bit for bit (weights, optimizer
state and update count, the model's generators): the test runs on copies.
"""

from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass

import numpy as np

from . import optim
from ._validation import check_choice, check_instance, check_int, check_real, fail
from .batches import ArraySource
from .callbacks import Callback
from .errors import DivergenceError
from .model import Sequential
from .training import Trainer

__all__ = ["RULES", "LRFindResult", "lr_find", "MIN_STEPS", "MAX_STEPS"]

#: the range of ``lr_find``'s num_steps (``mlplab lr-find --steps`` checks it too)
MIN_STEPS, MAX_STEPS = 3, 1_000_000

#: suggestion rules, name -> the rule in words
RULES = {
    "minimum": "the learning rate at the minimum of the smoothed loss, divided by 10 (fastai's 'minimum')",
    "steepest": "the learning rate where the smoothed loss falls fastest per decade of learning rate, before its "
    "minimum (torch-lr-finder's suggestion, fastai's 'steep')",
}


@dataclass
class LRFindResult:
    """What ``lr_find`` measured (a dataclass: each field is an argument of the constructor
    and an attribute).

    Parameters
    ----------
    lr, loss, smoothed_loss : list of float
        Per update made: its learning rate, its mini-batch loss J_t (before the update) and the
        smoothed loss.
    suggestion : float or None
        The suggested learning rate, by ``rule`` (None when there is none: ``no_suggestion`` says why).
    rule : str
        The rule's name.
    rule_text : str
        The rule in words (``RULES[rule]``).
    suggestions : dict
        The rate each rule of ``RULES`` gives (None where it cannot).
    stop_reason : str
        Why the sweep ended: all ``num_steps`` updates, or the loss diverged.
    start_lr, end_lr : float
        The range swept.
    num_steps : int
        The updates asked for.
    beta, diverge : float
        The smoothing and the stop rule.
    batch_size : int or None
        Rows per update (None: full batch).
    optimizer : dict
        The optimizer's ``get_config()`` without its lr.
    optimizer_text : str
        The optimizer in words, e.g. "SGD (momentum 0.9)".
    no_suggestion : str or None, default None
        Why ``suggestion`` is None (None when there is one).
    """

    lr: list
    loss: list
    smoothed_loss: list
    suggestion: float | None
    rule: str
    rule_text: str
    suggestions: dict
    stop_reason: str
    start_lr: float
    end_lr: float
    num_steps: int
    beta: float
    diverge: float
    batch_size: int | None
    optimizer: dict
    optimizer_text: str
    no_suggestion: str | None = None

    def to_dict(self) -> dict:
        """A JSON-serialisable copy (a loss that is not finite as None).

        Returns
        -------
        dict
            Field name -> value.
        """
        d = asdict(self)
        for key in ("loss", "smoothed_loss"):
            d[key] = [v if math.isfinite(v) else None for v in d[key]]
        return d


class _Sweep(Callback):
    """Sets each update's learning rate, records J and stops at divergence or the last rate."""

    def __init__(self, lrs, beta, diverge):
        self.lrs, self.beta, self.diverge = lrs, beta, diverge
        self.loss, self.smoothed, self.avg, self.best = [], [], 0.0, math.inf
        self.stop_reason = None

    def on_batch_begin(self, batch, logs=None):
        self.trainer.optimizer.lr = float(self.lrs[len(self.loss)])

    def on_batch_end(self, batch, logs=None):
        J = float(logs["loss"])
        t = len(self.loss)
        self.loss.append(J)
        if not math.isfinite(J):
            self.smoothed.append(math.nan)
            self.stop_reason = f"the loss became {J} at update {t + 1} (lr {self.lrs[t]:.3g})"
            return
        self.avg = self.beta * self.avg + (1.0 - self.beta) * J
        s = self.avg / (1.0 - self.beta ** (t + 1))
        self.smoothed.append(s)
        self.best = min(self.best, s)
        if s > self.diverge * self.best:
            self.stop_reason = (
                f"the smoothed loss passed {self.diverge:g} times its minimum at update {t + 1} (lr {self.lrs[t]:.3g})"
            )
        elif t + 1 == len(self.lrs):
            self.stop_reason = f"all {len(self.lrs)} updates made (up to lr {self.lrs[-1]:.3g})"
        if self.stop_reason:
            self.model.stop_training = True


def _suggestions(lrs, smoothed, beta, skip=0) -> tuple[dict, str | None]:
    """The rules' rates, and why there are none (None when the curve has a fall to read); the
    first ``skip`` points are left out of both (fastai's lr_find reads its suggestions after the
    first num_it // 10 updates, where the average is one or two batches and a lucky first batch
    would be the minimum)."""
    none = dict.fromkeys(RULES)
    s = np.asarray(smoothed, dtype=np.float64)
    finite = np.isfinite(s)
    n = int(np.argmin(finite)) if not finite.all() else len(s)  # the points before any NaN
    if n - skip < 3:
        return none, f"the sweep stopped after {len(s)} updates, too few to read"
    s, x = s[:n], np.log10(np.asarray(lrs[:n], dtype=np.float64))
    i = skip + int(np.argmin(s[skip:]))
    # the average holds about 1 / (1 - beta) updates once settled (at most a quarter of the points)
    span = math.ceil(1.0 / (1.0 - beta))
    settle = min(span, (n - skip) // 4)
    flat = s[skip] - s[i] <= 1e-6 * abs(s[skip])  # no fall beyond rounding (no gradient at all)
    if flat or i - skip < settle:  # lowest at once, then only rising: no fall to read
        return none, (
            f"the smoothed loss does not fall: it stays flat, or is lowest before lr {lrs[skip + settle]:.3g} "
            "and only rises after (a network already trained, or one these rates do not train)"
        )
    out = {"minimum": float(10 ** x[i] / 10.0), "steepest": None}
    # skip the updates before the average settles, and take each slope across that many points'
    # worth of the curve (adjacent differences are noise)
    lo = max(skip, min(span, i // 2))
    w = max(1, min(math.ceil(0.5 / (1.0 - beta)), (i - lo) // 4))
    if i - lo > 2 * w:
        k = np.arange(lo + w, i - w + 1)
        slope = (s[k + w] - s[k - w]) / (x[k + w] - x[k - w])
        out["steepest"] = float(10 ** x[k[int(np.argmin(slope))]])
    return out, None


def lr_find(
    model,
    X,
    y,
    loss=None,
    optimizer=None,
    *,
    start_lr=1e-7,
    end_lr=10.0,
    num_steps=200,
    batch_size=32,
    beta=0.98,
    diverge=4.0,
    rule="minimum",
    regularizer=None,
    sample_weight=None,
    seed=None,
) -> LRFindResult:
    """The learning-rate range test on ``(X, y)``: see the module docstring.

    Parameters
    ----------
    model : Sequential
        Left unchanged: a copy is trained.
    X : array-like of shape (n, n_inputs) or sparse matrix
        Inputs, as ``fit`` takes them.
    y : array-like
        Targets, as ``fit`` takes them.
    loss : str or Loss, optional
        Default as ``fit``: cross_entropy after softmax, bce after sigmoid, mse otherwise.
    optimizer : Optimizer or name, optional
        Default ``optim.SGD()``. A copy of it is used, with its state (momentum, Adam's moments)
        and its lr replaced at each update; the one given is left unchanged.
    start_lr, end_lr : float, 0 < start_lr < end_lr
        The range swept, default 1e-7 to 10.
    num_steps : int in [3, 10^6], default 200
        Updates at most (the data is gone through as many times as it takes, reshuffled).
    batch_size : int or None, default 32
        Rows per update; None: full batch.
    beta : float in [0, 1), default 0.98
        Smoothing of the exponential average.
    diverge : float > 1, default 4
        Stop when the smoothed loss passes this many times its minimum.
    rule : "minimum" (default) or "steepest"
        The rule of ``suggestion`` (``RULES``; both are in ``suggestions``).
    regularizer : Regularizer or name, optional
        A penalty added to J, as ``fit`` takes it (the loss recorded then includes it).
    sample_weight : array-like of shape (n,), optional
        Weights w_i >= 0 of J, as ``fit`` takes them.
    seed : int, optional
        Seeds the shuffling (default: the model's, as ``fit`` does, from a copy of it).

    Returns
    -------
    LRFindResult
        The curve (``lr``, ``loss``, ``smoothed_loss``), ``suggestion``, ``rule`` and why the
        sweep stopped. ``mlplab.plotting.plot_lr_find`` draws it.

    Raises
    ------
    ArgumentError
        For a bad argument (named), or data the model cannot take.
    """
    check_instance("model", model, Sequential, "a mlplab Sequential or MLP")
    start_lr = check_real("start_lr", start_lr, 0, low_open=True)
    end_lr = check_real("end_lr", end_lr, 0, low_open=True)
    if end_lr <= start_lr:
        raise fail("end_lr", f"a number above start_lr = {start_lr:g}", end_lr)
    num_steps = check_int("num_steps", num_steps, MIN_STEPS, MAX_STEPS)
    beta = check_real("beta", beta, 0, 1, high_open=True)
    diverge = check_real("diverge", diverge, 1, low_open=True)
    check_choice("rule", rule, tuple(RULES))
    opt = optim.SGD() if optimizer is None else copy.deepcopy(optim.get(optimizer))
    clone = model.astype(model.dtype)  # weights, generators and all: the model given is not touched
    lrs = start_lr * (end_lr / start_lr) ** (np.arange(num_steps) / (num_steps - 1))
    sweep = _Sweep(lrs, beta, diverge)
    trainer = Trainer(clone, loss, opt, regularizer=regularizer, metrics=None, callbacks=[sweep], verbose=0, seed=seed)
    source = ArraySource(X, y, batch_size, True, sample_weight=sample_weight).bind(clone, trainer.loss)
    epoch = 0
    while sweep.stop_reason is None:
        try:
            trainer.run_epoch(source, epoch)
        except DivergenceError as e:
            sweep.stop_reason = sweep.stop_reason or f"training diverged: {e}"
        epoch += 1
    made = len(sweep.loss)
    suggestions, no_suggestion = _suggestions(lrs[:made], sweep.smoothed, beta, skip=num_steps // 10)
    if no_suggestion is None and suggestions[rule] is None:
        no_suggestion = f"the {rule!r} rule found no rate: the loss fell over too few updates before its minimum"
    return LRFindResult(
        lr=[float(v) for v in lrs[:made]],
        loss=sweep.loss,
        smoothed_loss=sweep.smoothed,
        suggestion=suggestions[rule],
        rule=rule,
        rule_text=RULES[rule],
        suggestions=suggestions,
        stop_reason=sweep.stop_reason,
        start_lr=start_lr,
        end_lr=end_lr,
        num_steps=num_steps,
        beta=beta,
        diverge=diverge,
        batch_size=source.batch_size,
        optimizer={k: v for k, v in opt.get_config().items() if k != "lr"},
        optimizer_text=type(opt).__name__ + (f" (momentum {opt.momentum:g})" if getattr(opt, "momentum", 0) else ""),
        no_suggestion=no_suggestion,
    )
