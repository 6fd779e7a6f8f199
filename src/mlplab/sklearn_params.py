"""scikit-learn's MLP parameters in mlplab's terms (used by ``mlplab.sklearn``): their checks,
as scikit-learn's ``_parameter_constraints`` state them, and their translation into mlplab's
objects: the network's sizes, activation and dtype, the solver, the batch size and the
learning-rate schedule named by ``schedule=``.

Schedules by name
-----------------
``schedule="cosine"`` (any name of ``SCHEDULE_DEFAULTS``) builds ``mlplab.schedules``' schedule
of that name with ``learning_rate_init`` as its rate and defaults drawn from the run's length T:
``max_iter`` epochs, or ``max_iter`` times the batches of an epoch for a schedule that steps per
batch. ``schedule_params`` (a dict) gives the schedule's own arguments, which replace those
defaults (``interval`` too: T then counts in its unit)::

    constant         epoch   torch's: lr / 3 for 5 epochs, then lr
    linear           epoch   torch's warm-up: from lr / 3 to lr over 5 epochs
    step             epoch   lr / 10 after each third of the run (step_size = T // 3)
    multistep        epoch   lr / 10 at half and at three quarters of the run
    exponential      epoch   gamma = 0.01^(1/T): down to lr / 100 at the end of the run
    cosine           batch   one half cosine from lr to 0 over the run (T_max = T)
    cosine_restarts  batch   four cosines from lr to 0 (T_0 = T // 4)
    cyclic           batch   four triangles between lr and 10 lr (step_size_up = T // 8)
    onecycle         batch   one cycle peaking at max_lr = lr (total_steps = T)

``sequential`` and ``lambda`` are built from schedules and from a function: pass the schedule
object itself (``schedule=ml.schedules.SequentialLR(...)``), as for any schedule.
``partial_fit`` counts T from ``max_iter`` too (one epoch per call); onecycle refuses updates
past its end.
"""

from __future__ import annotations

import inspect
import math
import numbers
import warnings

import numpy as np
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets, type_of_target, unique_labels

from . import activations, initializers, optim, schedules
from ._validation import (
    check_arguments,
    check_bool,
    check_choice,
    check_instance,
    check_int,
    check_memory,
    check_real,
    fail,
)
from .backend import as_dtype

__all__ = [
    "SKLEARN_ACTIVATIONS",
    "SCHEDULE_DEFAULTS",
    "check_params",
    "hidden_sizes",
    "activation_name",
    "solver",
    "model_dtype",
    "encode_labels",
    "sklearn_weights",
    "batch_size",
    "make_schedule",
]

SKLEARN_ACTIVATIONS = {"identity": "identity", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu"}
_PENALTIES = ("l2", "l1", "elasticnet")
_LEARNING_RATES = ("constant", "invscaling", "adaptive")

#: (parameter, int?, low, high, low_open, high_open): the numbers and their bounds, as scikit-learn's
_NUMBERS = (
    ("alpha", False, 0, None, False, False),
    ("learning_rate_init", False, 0, None, True, False),
    ("power_t", False, 0, None, False, False),
    ("max_iter", True, 1, None, False, False),
    ("tol", False, 0, None, False, False),
    ("momentum", False, 0, 1, False, False),
    ("validation_fraction", False, 0, 1, False, True),
    ("beta_1", False, 0, 1, False, True),
    ("beta_2", False, 0, 1, False, True),
    ("epsilon", False, 0, None, True, False),
    ("max_fun", True, 1, None, False, False),
    ("dropout", False, 0, 1, False, True),
    ("l1_ratio", False, 0, 1, False, False),
)

#: name -> (the interval it steps per by default, f(lr, T) -> its arguments), T the run's length
SCHEDULE_DEFAULTS = {
    "constant": ("epoch", lambda lr, T: {"base_lr": lr}),
    "linear": ("epoch", lambda lr, T: {"base_lr": lr}),
    "step": ("epoch", lambda lr, T: {"base_lr": lr, "step_size": max(1, T // 3)}),
    "multistep": ("epoch", lambda lr, T: {"base_lr": lr, "milestones": sorted({max(1, T // 2), max(2, 3 * T // 4)})}),
    "exponential": ("epoch", lambda lr, T: {"base_lr": lr, "gamma": 0.01 ** (1.0 / T)}),
    "cosine": ("batch", lambda lr, T: {"base_lr": lr, "T_max": T}),
    "cosine_restarts": ("batch", lambda lr, T: {"base_lr": lr, "T_0": max(1, T // 4)}),
    "cyclic": ("batch", lambda lr, T: {"base_lr": lr, "max_lr": 10.0 * lr, "step_size_up": max(1, T // 8)}),
    "onecycle": ("batch", lambda lr, T: {"max_lr": lr, "total_steps": T}),
}


def hidden_sizes(est) -> list:
    """``hidden_layer_sizes`` as a list of ints >= 1 (an int, or a sequence, maybe empty).

    Parameters
    ----------
    est : MLPClassifier or MLPRegressor
        Its ``hidden_layer_sizes`` is read.

    Returns
    -------
    list of int
        The hidden widths.

    Raises
    ------
    ArgumentError
        Neither an int >= 1 nor a sequence of them.
    """
    h = est.hidden_layer_sizes
    sizes = [h] if isinstance(h, numbers.Integral) and not isinstance(h, bool) else h
    try:
        return [check_int("hidden_layer_sizes", s, 1) for s in sizes]
    except TypeError:
        raise fail("hidden_layer_sizes", "an int or a sequence of positive ints", h) from None


def random_state(est):
    """``random_state`` as scikit-learn takes it: None, an int in [0, 2**32 - 1] or a RandomState."""
    rs = est.random_state
    ok = rs is None or isinstance(rs, np.random.RandomState)
    ok = ok or (isinstance(rs, numbers.Integral) and not isinstance(rs, (bool, np.bool_)) and 0 <= rs < 2**32)
    if not ok:
        raise fail("random_state", "None, an int in [0, 2**32 - 1] or a numpy RandomState", rs)
    return check_random_state(rs)


def check_size(sizes, dtype):
    """Refuse, naming hidden_layer_sizes, a network larger than this machine's memory."""
    n = sum(a * b + b for a, b in zip(sizes, sizes[1:]))
    check_memory("hidden_layer_sizes", n, 8 + 2 * np.dtype(dtype).itemsize, "a network")


def activation_name(est) -> str:
    """mlplab's name of ``activation`` (scikit-learn's four names, or any of mlplab's).

    Parameters
    ----------
    est : MLPClassifier or MLPRegressor
        Whose ``activation`` is translated ("logistic" -> "sigmoid").

    Returns
    -------
    str
        A key of ``mlplab.activations.ACTIVATIONS``, not "softmax" (an output activation).

    Raises
    ------
    ArgumentError
        An unknown name (the valid ones listed).
    """
    # softmax is an output: a hidden one is refused, as scikit-learn refuses it
    names = tuple(n for n in dict.fromkeys((*SKLEARN_ACTIVATIONS, *activations.ACTIVATIONS)) if n != "softmax")
    a = check_choice("activation", est.activation, names)
    return SKLEARN_ACTIVATIONS.get(a, a)


def solver(est) -> str:
    """ "lbfgs", or the name of the mlplab optimizer that trains: ``optimizer``'s if given,
    else ``solver``'s ("sgd" or "adam").

    Parameters
    ----------
    est : MLPClassifier or MLPRegressor
        Its ``optimizer`` and ``solver`` are read.

    Returns
    -------
    str
        "lbfgs" or a key of ``mlplab.optim.OPTIMIZERS`` (lower case).

    Raises
    ------
    ArgumentError
        An unknown ``optimizer`` or ``solver``.
    """
    if est.optimizer is not None:
        if isinstance(est.optimizer, optim.Optimizer):
            return type(est.optimizer).__name__.lower()
        if not isinstance(est.optimizer, str) or est.optimizer.lower() not in optim.OPTIMIZERS:
            raise fail("optimizer", f"None, an Optimizer or one of {sorted(optim.OPTIMIZERS)}", est.optimizer)
        return est.optimizer.lower()
    return check_choice("solver", est.solver, ("lbfgs", "sgd", "adam"))


def sklearn_weights(sizes, activation, rs) -> list:
    """scikit-learn's initial [W1, b1, W2, b2, ...] for layer widths ``sizes``, drawn from the
    RandomState ``rs`` as its MLP draws them (``_init_coef``): for each layer W, then b,
    uniform in +-sqrt(6 / (fan_in + fan_out)), +-sqrt(2 / (fan_in + fan_out)) for "logistic"
    (Glorot and Bengio 2010, as scikit-learn's ``_init_coef``).

    Parameters
    ----------
    sizes : list of int
        Input width, hidden widths, output width.
    activation : str
        scikit-learn's name of the hidden activation ("logistic" narrows the bound).
    rs : numpy.random.RandomState
        Drawn from, in scikit-learn's order.

    Returns
    -------
    list of ndarray
        float64 W of shape (fan_in, fan_out) and b of shape (fan_out,), layer by layer.
    """
    factor = 2.0 if activation == "logistic" else 6.0
    out = []
    for fan_in, fan_out in zip(sizes, sizes[1:]):
        bound = np.sqrt(factor / (fan_in + fan_out))
        out += [rs.uniform(-bound, bound, (fan_in, fan_out)), rs.uniform(-bound, bound, fan_out)]
    return out


def encode_labels(est, y, first, incremental, classes, sw):
    """A classifier's targets y as the 0/1 rows its network learns (scikit-learn's LabelBinarizer,
    ``est._label_binarizer``), setting ``classes_`` on a first fit or first ``partial_fit`` and
    checking later calls against them as scikit-learn does (``classes=`` of partial_fit: every
    label, or for a multi-label y its column indices).

    Parameters
    ----------
    est : MLPClassifier
        Gets ``_label_binarizer`` and ``classes_`` on a first call.
    y : ndarray of shape (n,) or (n, n_labels)
        The labels, or a 0/1 indicator matrix.
    first : bool
        A first fit (or first ``partial_fit``).
    incremental : bool
        Called by ``partial_fit``.
    classes : array-like or None
        ``partial_fit``'s ``classes``.
    sw : ndarray of shape (n,) or None
        Sample weights: a class whose samples all weigh 0 does not count.

    Returns
    -------
    ndarray of float64, shape (n, 1) or (n, n_classes)
        One 0/1 column for two classes, one per class (or label) otherwise.

    Raises
    ------
    ArgumentError
        Targets that are not classes, fewer than two classes, labels outside ``classes``
        or ``classes_``, ``classes`` missing on the first ``partial_fit`` or changed later.
    ValueError
        Continuous targets (scikit-learn's ``check_classification_targets``).
    """
    y_type = type_of_target(y, input_name="y")
    if y_type not in ("binary", "multiclass", "multilabel-indicator"):
        check_classification_targets(y)  # raises scikit-learn's message for continuous targets
        raise fail("y", "binary, multiclass or multi-label (indicator) targets", got=f"{y_type} targets")
    if incremental and first:
        if classes is None:
            raise fail("classes", "passed on the first call to partial_fit (every label y may take)", None)
        # multi-label: the binarizer learns the indicator matrix, classes are its column indices
        lb = LabelBinarizer().fit(y if y_type == "multilabel-indicator" else np.asarray(classes))
        if y_type == "multilabel-indicator" and not np.array_equal(unique_labels(classes), lb.classes_):
            raise fail("classes", f"the label indices of the multi-label y, {lb.classes_.tolist()}", classes)
        if len(lb.classes_) < 2:
            raise fail("classes", "at least 2 classes", lb.classes_.tolist())
        if y_type != "multilabel-indicator" and len(np.setdiff1d(unique_labels(y), lb.classes_)):
            raise fail(
                "y",
                f"labels among classes={lb.classes_.tolist()}",
                got=f"{unique_labels(y).tolist()}, with labels not in classes",
            )
    elif incremental and classes is not None and not np.array_equal(unique_labels(classes), est.classes_):
        raise fail("classes", f"those of the first call to partial_fit, {est.classes_.tolist()}", classes)
    if first:
        if not incremental:
            lb = LabelBinarizer().fit(y)
            kept = unique_labels(y if sw is None or y.ndim > 1 else y[sw > 0])
            if y.ndim == 1 and len(kept) < 2:
                raise fail(
                    "y",
                    "labels of at least 2 classes (among the samples of positive sample_weight)",
                    got=f"1 class: {kept.tolist()[0]!r}",
                )
        est._label_binarizer = lb
        est.classes_ = lb.classes_
    else:
        seen = unique_labels(y)
        if est.warm_start and not incremental:
            if set(seen) != set(est.classes_):
                raise fail(
                    "y",
                    f"labels of the same classes as the previous fit for warm_start, {est.classes_.tolist()}",
                    got=f"{seen.tolist()}",
                )
        elif len(np.setdiff1d(seen, est.classes_)):
            raise fail(
                "y",
                f"labels among classes_={est.classes_.tolist()}",
                got=f"{seen.tolist()}, with labels not in classes_",
            )
    return est._label_binarizer.transform(y).astype(np.float64)


def model_dtype(est, X):
    """The network's dtype: ``dtype`` if given, else the input's (float32 or float64), as
    scikit-learn's MLP computes in the dtype of X.

    Parameters
    ----------
    est : MLPClassifier or MLPRegressor
        Its ``dtype`` is read.
    X : ndarray or sparse matrix
        The validated input, float32 or float64.

    Returns
    -------
    numpy.dtype
        The dtype the network computes in.

    Raises
    ------
    ArgumentError
        An invalid ``dtype``.
    """
    return as_dtype(est.dtype) if est.dtype is not None else X.dtype


def batch_size(est, n) -> int:
    """The rows of a mini-batch for n samples: min(200, n) for "auto", else batch_size clipped
    to n with scikit-learn's warning.

    Parameters
    ----------
    est : MLPClassifier or MLPRegressor
        Its ``batch_size`` ("auto" or an int >= 1, checked by ``check_params``).
    n : int
        Training samples.

    Returns
    -------
    int
        In [1, n].
    """
    if est.batch_size == "auto":
        return min(200, n)
    if est.batch_size > n:
        warnings.warn(
            "Got `batch_size` less than 1 or larger than sample size. It is going to be clipped",
            UserWarning,
            stacklevel=4,
        )
    return min(est.batch_size, n)


def _check_n_iter_no_change(value):
    if isinstance(value, float) and value == math.inf:  # scikit-learn's Options(Real, {np.inf}): never stop
        return value
    try:
        return check_int("n_iter_no_change", value, 1)
    except TypeError:
        raise fail("n_iter_no_change", "an int >= 1 or numpy.inf (never stop on it)", value) from None


def check_params(est, incremental) -> None:
    """Every constructor parameter, as scikit-learn's ``_parameter_constraints`` and mlplab's
    own: a bad one raises ``ArgumentError`` (a ValueError and a TypeError) naming it.

    Parameters
    ----------
    est : MLPClassifier or MLPRegressor
        The estimator whose parameters are checked.
    incremental : bool
        For ``partial_fit`` (which refuses early stopping).

    Raises
    ------
    ArgumentError
        The first bad parameter, or a combination refused (schedule with a learning_rate
        other than "constant", dropout or augment with lbfgs, ...).
    """
    hidden_sizes(est)
    activation_name(est)
    name = solver(est)
    if est.dtype is not None:
        as_dtype(est.dtype)
    if est.init is not None:
        initializers.get(est.init)
    for param, integer, low, high, low_open, high_open in _NUMBERS:
        value = getattr(est, param)
        if integer:
            check_int(param, value, low, high)
        else:
            check_real(param, value, low, high, low_open=low_open, high_open=high_open)
    _check_n_iter_no_change(est.n_iter_no_change)
    for flag in ("shuffle", "warm_start", "nesterovs_momentum", "early_stopping"):
        check_bool(flag, getattr(est, flag))
    if not isinstance(est.verbose, (bool, np.bool_)):
        check_int("verbose", est.verbose, 0)
    if not (isinstance(est.batch_size, str) and est.batch_size == "auto"):
        check_int("batch_size", est.batch_size, 1)
    check_choice("learning_rate", est.learning_rate, _LEARNING_RATES)
    check_choice("penalty", est.penalty, _PENALTIES)
    if est.optimizer_kwargs is not None:
        check_instance("optimizer_kwargs", est.optimizer_kwargs, dict, "a dict or None")
        if name != "lbfgs":
            check_arguments("optimizer_kwargs", est.optimizer_kwargs, optim.OPTIMIZERS[name], partial=True)
    if est.schedule_params is not None:
        check_instance("schedule_params", est.schedule_params, dict, "a dict or None")
        if est.schedule is None or not isinstance(est.schedule, str):
            raise fail("schedule_params", "None unless schedule= names a schedule", est.schedule_params)
    named = isinstance(est.schedule, str) and est.schedule in SCHEDULE_DEFAULTS
    if est.schedule is not None and not callable(est.schedule) and not named:
        raise fail(
            "schedule",
            f"None, a Schedule or callable, or one of {list(SCHEDULE_DEFAULTS)} (for 'sequential' and "
            f"'lambda', pass the schedule object)",
            est.schedule,
        )
    if est.schedule is not None and est.learning_rate != "constant":
        raise fail("learning_rate", "'constant' when schedule= is given (one or the other)", est.learning_rate)
    if est.augment is not None and not callable(est.augment):
        raise fail("augment", "None or a callable f(X, rng)", est.augment)
    if est.early_stopping and incremental:
        raise fail("early_stopping", "False for partial_fit", est.early_stopping)
    if isinstance(est.optimizer, optim.Optimizer) and (est.optimizer_kwargs or est.schedule is not None):
        raise fail(
            "optimizer_kwargs and schedule",
            "left out with an Optimizer instance, which is used as it is (they apply to an optimizer given by name)",
            got=f"optimizer_kwargs={est.optimizer_kwargs!r}, schedule={est.schedule!r}",
        )
    if name == "lbfgs" and (est.dropout or est.augment is not None or est.schedule is not None):
        # L-BFGS's line search needs the same J at the same weights, and takes no learning rate
        what = "dropout" if est.dropout else "augment" if est.augment is not None else "schedule"
        raise fail(what, "left out with solver='lbfgs' (full-batch, deterministic)", getattr(est, what))


def make_schedule(est, steps):
    """The schedule that ``schedule=`` names, built with learning_rate_init, the defaults of
    ``SCHEDULE_DEFAULTS`` for a run of max_iter epochs of ``steps`` batches each, and
    ``schedule_params`` over them (a schedule object given is copied by ``make_optimizer``).

    Parameters
    ----------
    est : MLPClassifier or MLPRegressor
        Its ``schedule`` (a name), ``schedule_params``, ``learning_rate_init``, ``max_iter``.
    steps : int
        Batches per epoch.

    Returns
    -------
    Schedule
        A new schedule.

    Raises
    ------
    ArgumentError
        ``schedule_params`` with an argument the schedule does not take, or a value it
        refuses.
    """
    name = est.schedule
    interval, defaults = SCHEDULE_DEFAULTS[name]
    given = dict(est.schedule_params or {})
    interval = given.get("interval", interval)
    T = est.max_iter * (steps if interval == "batch" else 1)
    kwargs = {**defaults(float(est.learning_rate_init), max(int(T), 1)), "interval": interval, **given}
    accepted = inspect.signature(schedules.SCHEDULES[name]).parameters
    unknown = sorted(set(given) - set(accepted))
    if unknown:
        raise fail("schedule_params", f"arguments of the {name!r} schedule, among {sorted(accepted)}", unknown)
    return schedules.get(name, **kwargs)
