"""The playground's configuration: its keys (TF Playground's URL names where they mean the same),
defaults, limits, checks, and the mlplab objects it builds.

A configuration is a flat dict, the page's URL hash: ``check_config(dict)`` returns it complete
and normalised, or raises ``ArgumentError`` naming the key, what it must be and what it got.
Every limit is enforced here, on the server, whatever the page allows. From a checked
configuration, ``build_model``, ``build_optimizer``, ``build_regularizer``, ``loss_name`` and
``build_callbacks`` make the engine's objects, and ``script.py`` writes the same calls as
Python. ``options()`` describes all of it for the page (the "hello" message).
"""

from __future__ import annotations

import inspect
import math
import re

import numpy as np

from .. import activations, optim, schedules
from .._validation import check_choice, check_int, check_real, fail
from ..callbacks import EarlyStopping
from ..errors import ArgumentError
from ..layers import Dense, Dropout
from ..model import MLP, Sequential
from ..regularizers import L1, L2, ElasticNet
from .data import CLASSIFICATION, FEATURES, MAX_CLASSES, MAX_POINTS, ONE_D, REGRESSION, seed_value

__all__ = [
    "DEFAULTS",
    "LIMITS",
    "HIDDEN_ACTIVATIONS",
    "check_config",
    "check_link",
    "options",
    "n_points",
    "n_classes",
    "feature_names",
    "layer_activations",
    "loss_name",
    "loss_for",
    "build_model",
    "build_optimizer",
    "build_regularizer",
    "build_callbacks",
    "imported_config",
    "DATA_KEYS",
    "VIEW_KEYS",
    "MAX_LANES",
    "lane_config",
    "lane_text",
]

MAX_LAYERS, MAX_NEURONS = 8, 64
#: TF Playground's numSamples per problem, used when numSamples is 0
TF_POINTS = {"classification": 500, "regression": 1200}
#: every mlplab hidden activation, TF's names first ("linear" is identity)
HIDDEN_ACTIVATIONS = ("tanh", "relu", "sigmoid", "linear", "leaky_relu", "elu", "gelu", "softplus")
LOSSES = {"binary": ("bce", "mse"), "multiclass": ("cross_entropy", "mse"), "regression": ("mse", "mae", "huber")}
REGULARIZATIONS = ("none", "L1", "L2", "elasticnet")

DEFAULTS = {
    "problem": "classification",
    "dataset": "circle",
    "regDataset": "reg-plane",
    "classes": 2,
    "numSamples": 0,
    "noise": 0,
    "percTrainData": 50,
    "seed": "0",
    "batchSize": 10,
    "learningRate": 0.03,
    "activation": "tanh",
    "networkShape": [4, 2],
    "regularization": "none",
    "regularizationRate": 0.0,
    "l1Ratio": 0.5,
    "loss": "auto",
    "optimizer": "sgd",
    "opt": {},
    "schedule": "none",
    "sched": {},
    "dropout": 0.0,
    "patience": 0,
    "epochs": 0,
    "speed": 1,
    "showTestData": False,
    "discretize": False,
    **{name: name in ("x", "y") for name in FEATURES},
    "race": [],
}
#: the optimizer race: at most this many runs beside the main one (4 runs in all)
MAX_LANES = 3
#: what changes the data (a new data set); every other key but VIEW_KEYS restarts the run
DATA_KEYS = frozenset({"problem", "dataset", "regDataset", "classes", "numSamples", "noise", "percTrainData", "seed"})
#: what only the page's drawing or pace depends on: changing them keeps the run going
VIEW_KEYS = frozenset({"showTestData", "discretize", "speed"})

#: (low, high) of every number; ints are the keys in _INTS
LIMITS = {
    "classes": (2, MAX_CLASSES),
    "numSamples": (0, MAX_POINTS),
    "noise": (0, 50),
    "percTrainData": (10, 90),
    "batchSize": (1, 1000),
    "learningRate": (1e-6, 10.0),
    "regularizationRate": (0.0, 10.0),
    "l1Ratio": (0.0, 1.0),
    "dropout": (0.0, 0.9),
    "patience": (0, 1000),
    "epochs": (0, 100_000),
    "speed": (0, 100),
}
_INTS = {"classes", "numSamples", "percTrainData", "batchSize", "patience", "epochs", "speed"}
_CHOICES = {
    "problem": ("classification", "regression"),
    "dataset": (*CLASSIFICATION, "custom"),
    "regDataset": (*REGRESSION, "custom"),
    "regularization": REGULARIZATIONS,
    "loss": ("auto", *sorted({n for v in LOSSES.values() for n in v})),
    "optimizer": tuple(optim.OPTIMIZERS),
    "schedule": ("none", "step", "exponential", "cosine", "cosine_restarts", "linear", "onecycle"),
}
#: bounds of the optimizers' hyper-parameters the page may set (torch's names)
OPT_LIMITS = {
    "momentum": (0.0, 0.999),
    "dampening": (0.0, 1.0),
    "weight_decay": (0.0, 10.0),
    "eps": (1e-12, 1.0),
    "alpha": (0.0, 0.9999),
    "lr_decay": (0.0, 10.0),
    "initial_accumulator_value": (0.0, 10.0),
    "momentum_decay": (0.0, 1.0),
    "betas": (0.0, 0.9999),
    "clip_norm": (1e-6, 1000.0),
}
#: the schedules' parameters (interval "epoch": t counts epochs): name -> (default, low, high, int?)
SCHED_PARAMS = {
    "step": {"step_size": (50, 1, 100_000, True), "gamma": (0.5, 0.0, 1.0, False)},
    "exponential": {"gamma": (0.99, 0.0, 1.0, False)},
    "cosine": {"T_max": (200, 1, 100_000, True), "eta_min": (0.0, 0.0, 10.0, False)},
    "cosine_restarts": {"T_0": (50, 1, 100_000, True), "T_mult": (1, 1, 10, True), "eta_min": (0.0, 0.0, 10.0, False)},
    "linear": {"start_factor": (0.1, 0.001, 1.0, False), "end_factor": (1.0, 0.0, 1.0, False),
               "total_iters": (20, 1, 100_000, True)},
    "onecycle": {"total_steps": (200, 2, 100_000, True), "pct_start": (0.3, 0.01, 0.99, False)},
}  # fmt: skip
#: points of a 1-D data set's function in its thumbnail (``options``)
THUMB_POINTS = 49
_SEED = re.compile(r"[A-Za-z0-9._-]{1,32}")


def _opt_params(name) -> dict:
    """{hyper-parameter: default} of optimizer ``name`` the page may set (all but lr, clip_value)."""
    sig = inspect.signature(optim.OPTIMIZERS[name])
    return {k: p.default for k, p in sig.parameters.items() if k not in ("lr", "clip_value")}


def _check_opt(name, params) -> dict:
    if not isinstance(params, dict):
        raise fail("opt", "an object {hyper-parameter: value}", params)
    allowed = _opt_params(name)
    out = {}
    for key, value in params.items():
        if key not in allowed:
            raise fail("opt", f"hyper-parameters of {name}: {', '.join(allowed)}", got=repr(key))
        default = allowed[key]
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise fail(f"opt.{key}", "true or false", value)
            out[key] = value
        elif key == "betas":
            if not isinstance(value, (list, tuple)) or len(value) != 2:
                raise fail("opt.betas", "a pair [beta1, beta2]", value)
            out[key] = [check_real(f"opt.betas[{i}]", b, *OPT_LIMITS["betas"]) for i, b in enumerate(value)]
        elif key == "clip_norm" and value is None:
            out[key] = None
        else:
            out[key] = check_real(f"opt.{key}", value, *OPT_LIMITS[key])
    return out


def _check_sched(name, params) -> dict:
    if not isinstance(params, dict):
        raise fail("sched", "an object {parameter: value}", params)
    table = SCHED_PARAMS.get(name, {})
    out = {}
    for key, value in params.items():
        if key not in table:
            raise fail("sched", f"parameters of schedule {name}: {', '.join(table) or 'none'}", got=repr(key))
        _, low, high, is_int = table[key]
        out[key] = (check_int if is_int else check_real)(f"sched.{key}", value, low, high)
    return out


def _check_shape(shape):
    if not isinstance(shape, (list, tuple)) or len(shape) > MAX_LAYERS:
        raise fail("networkShape", f"a list of at most {MAX_LAYERS} hidden layer widths", shape)
    return [check_int(f"networkShape[{i}]", w, 1, MAX_NEURONS) for i, w in enumerate(shape)]


def check_config(cfg, base=None) -> dict:
    """``base`` (default DEFAULTS) updated with the dict ``cfg``, every key checked.

    Parameters
    ----------
    cfg : dict
        {key: value}, keys among those of ``DEFAULTS`` (any subset); numbers within ``LIMITS``
        (noise in percent, 0 .. 50, as TF Playground's slider).
    base : dict or None, default None
        A checked configuration to update (None: ``DEFAULTS``). Changing ``optimizer`` or
        ``schedule`` from the base's, without giving ``opt`` / ``sched``, resets those to {}.

    Returns
    -------
    dict
        A new configuration, every key of ``DEFAULTS``, normalised: ``activation`` one name
        when all hidden layers share it, else a list; ``seed`` a str; ``opt``, ``sched`` and
        ``race`` checked against the optimizer, schedule and ``lane_config``.

    Raises
    ------
    ArgumentError
        For an unknown key or a value of the wrong type or out of ``LIMITS``, naming the key;
        also when no input feature is on, when ``activation`` lists a number of names other
        than the hidden layers', when the loss does not fit the problem. (A "custom" data set
        without custom data is the caller's check.)
    """
    if not isinstance(cfg, dict):
        raise fail("config", "an object {key: value}", cfg)
    out = dict(DEFAULTS if base is None else base)
    for key, value in cfg.items():
        if key not in DEFAULTS:
            raise fail("config", f"keys among {', '.join(DEFAULTS)}", got=repr(key))
        default = DEFAULTS[key]
        if key in _CHOICES:
            out[key] = check_choice(key, value, _CHOICES[key])
        elif key in LIMITS:
            out[key] = (check_int if key in _INTS else check_real)(key, value, *LIMITS[key])
        elif isinstance(default, bool):
            if not isinstance(value, bool):
                raise fail(key, "true or false", value)
            out[key] = value
        elif key == "seed":
            if not isinstance(value, (str, int)) or isinstance(value, bool) or not _SEED.fullmatch(str(value)):
                raise fail("seed", "1 to 32 letters, digits, '.', '_' or '-'", value)
            out[key] = str(value)
        elif key == "networkShape":
            out[key] = _check_shape(value)
        elif key == "activation":
            names = value.split(",") if isinstance(value, str) else value
            if not isinstance(names, (list, tuple)) or not names:
                raise fail("activation", "a hidden activation name or a list of them, one per layer", value)
            out[key] = [check_choice("activation", a, HIDDEN_ACTIVATIONS) for a in names]
        else:  # opt, sched: checked against the optimizer and schedule below
            out[key] = value
    for key, params in (("optimizer", "opt"), ("schedule", "sched")):  # a new one starts from its defaults
        if key in cfg and params not in cfg and base is not None and cfg[key] != base[key]:
            out[params] = {}
    if isinstance(out["activation"], str):
        out["activation"] = [out["activation"]]
    acts = out["activation"]
    if len(acts) > 1 and len(acts) != len(out["networkShape"]):
        raise fail("activation", f"one name, or one per hidden layer ({len(out['networkShape'])})", ",".join(acts))
    if len(set(acts)) == 1:
        out["activation"] = acts[0]
    out["opt"] = _check_opt(out["optimizer"], out["opt"])
    out["sched"] = _check_sched(out["schedule"], out["sched"])
    if not feature_names(out):
        raise fail("features", "at least one input feature on", got="none")
    kind = problem_kind(out, n_classes(out))
    if out["loss"] != "auto" and out["loss"] not in LOSSES[kind]:
        raise fail("loss", f"one of auto, {', '.join(LOSSES[kind])} for a {kind} problem", out["loss"])
    out["race"] = _check_race(out["race"], out)
    return out


def check_link(cfg, base=None) -> tuple:
    """The configuration of a link (the page's URL hash): what ``check_config`` accepts of
    ``cfg``, a key it refuses dropped with its message, the other keys kept.

    Parameters
    ----------
    cfg : dict
        {key: value}, as for ``check_config``.
    base : dict or None, default None
        As for ``check_config``.

    Returns
    -------
    tuple of (dict, list of str)
        The checked configuration, and one message per dropped key (``check_config``'s).

    Raises
    ------
    ArgumentError
        When ``cfg`` is not a dict.
    """
    if not isinstance(cfg, dict):
        raise fail("config", "an object {key: value}", cfg)
    try:
        return check_config(cfg, base), []
    except ArgumentError:
        pass
    kept, why = {}, {}
    for _ in range(2):  # a second pass for a key that fits only after a later one (activation)
        for key, value in cfg.items():
            if key in kept:
                continue
            try:
                check_config({**kept, key: value}, base)
            except ArgumentError as e:
                why[key] = str(e)
                continue
            kept[key] = value
            why.pop(key, None)
    return check_config(kept, base), list(why.values())


# -- the optimizer race: runs beside the main one, differing in their training only -------------
def _check_race(lanes, cfg) -> list:
    if not isinstance(lanes, (list, tuple)) or len(lanes) > MAX_LANES:
        raise fail("race", f"a list of at most {MAX_LANES} runs like 'adam:0.003' beside the main one", lanes)
    out = []
    for i, lane in enumerate(lanes):
        try:
            out.append(lane_text(lane_config(cfg, lane), cfg))
        except ArgumentError as e:
            raise ArgumentError(f"race[{i}] = {lane!r}: {e}") from None
    return out


def lane_config(cfg, lane) -> dict:
    """The configuration of a run of the race: ``cfg`` (the main run's) with what the lane's
    text changes. A lane is ``optimizer:learning rate``, then any of ``:schedule`` (a schedule's
    name), ``:name=value`` (a hyper-parameter of the optimizer or of the schedule, betas as
    ``b1/b2``) and ``:act=name`` (the hidden layers' activation), e.g. ``sgd:0.1:momentum=0.9``,
    ``adam:0.01:cosine:T_max=100``, ``sgd:0.03:act=sigmoid``. Same data, network shape, seed
    (so the same initial weights for the same activation, and the same batch order) and every
    other setting.

    Parameters
    ----------
    cfg : dict
        The main run's configuration, checked by ``check_config``.
    lane : str
        The lane's text, at most 200 characters.

    Returns
    -------
    dict
        The lane's checked configuration (its own ``race`` empty).

    Raises
    ------
    ArgumentError
        Naming the lane's part that is wrong (or the configuration key it makes wrong).
    """
    if not isinstance(lane, str) or not 0 < len(lane) <= 200:
        raise fail("race", "runs written like 'adam:0.003' (at most 200 characters)", lane)
    name, _, rest = lane.partition(":")
    lr, *parts = rest.split(":") if rest else ["", ""]
    try:
        lr = float(lr)
    except ValueError:
        raise fail("learning rate", "a number after the optimizer's name, as in 'adam:0.003'", got=repr(lr)) from None
    new = {"optimizer": name, "learningRate": lr, "schedule": "none", "opt": {}, "sched": {}, "race": []}
    new["activation"] = cfg["activation"]
    params = _opt_params(check_choice("optimizer", name, tuple(optim.OPTIMIZERS)))
    for part in parts:
        if "=" not in part:
            new["schedule"] = check_choice("schedule", part, _CHOICES["schedule"])
    seen = set()
    for part in parts:
        key, eq, value = part.partition("=")
        if eq and key in seen:
            raise fail(key, "given once", got=f"{key} twice")
        seen.add(key)
        if eq and key == "act":
            new["activation"] = value.split("/")
        elif eq:
            if key not in params and key not in SCHED_PARAMS.get(new["schedule"], {}):
                what = f"name=value with a hyper-parameter of {name} ({', '.join(params)}) or of the schedule"
                raise fail("race", what, got=repr(key))
            new["opt" if key in params else "sched"][key] = _lane_value(key, value, params.get(key))
    out = check_config(new, base={**cfg, "race": []})
    build_optimizer(out)  # what the optimizer refuses of its hyper-parameters together (nesterov)
    return out


def _lane_value(key, text, default):
    if isinstance(default, bool):
        if text not in ("true", "false"):
            raise fail(key, "true or false", text)
        return text == "true"
    if "/" in text:
        return [_number(key, v) for v in text.split("/")]
    return None if text == "none" else _number(key, text)


def _number(key, text):
    try:
        v = float(text)
    except ValueError:
        raise fail(key, "a number", text) from None
    return int(v) if v.is_integer() and "." not in text and "e" not in text.lower() else v


def lane_text(lane, cfg) -> str:
    """The text of a lane's checked configuration (what ``lane_config`` reads), every value
    written in full: the race's part of the URL.

    Parameters
    ----------
    lane : dict
        The lane's configuration, from ``lane_config``.
    cfg : dict
        The main run's; the lane's activation is written only where it differs.

    Returns
    -------
    str
        ``optimizer:lr[:schedule][:name=value ...][:act=a/b]``, floats by ``repr``.
    """

    def show(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (list, tuple)):
            return "/".join(show(x) for x in v)
        return "none" if v is None else repr(v)

    parts = [lane["optimizer"], repr(lane["learningRate"])]
    if lane["schedule"] != "none":
        parts.append(lane["schedule"])
    parts += [f"{k}={show(v)}" for k, v in {**lane["opt"], **lane["sched"]}.items()]
    if lane["activation"] != cfg["activation"]:
        acts = lane["activation"]
        parts.append("act=" + (acts if isinstance(acts, str) else "/".join(acts)))
    return ":".join(parts)


def n_classes(cfg) -> int:
    """Classes of the configured data: ``classes`` for gauss, spiral and custom data, else 2.

    Parameters
    ----------
    cfg : dict
        A configuration checked by ``check_config`` (the other functions' ``cfg`` too);
        ``problem``, ``dataset`` and ``classes`` are read.

    Returns
    -------
    int
        K in [2, 5]; 2 for a regression problem.
    """
    if cfg["problem"] == "regression" or not CLASSIFICATION.get(cfg["dataset"], True):
        return 2
    return cfg["classes"]


def problem_kind(cfg, n_classes) -> str:
    """ "binary", "multiclass" or "regression"."""
    if cfg["problem"] == "regression":
        return "regression"
    return "binary" if n_classes == 2 else "multiclass"


def n_points(cfg) -> int:
    """The number of points to draw: ``numSamples``, or TF Playground's own when it is 0.

    Parameters
    ----------
    cfg : dict
        As for ``n_classes``; ``numSamples`` and ``problem`` are read.

    Returns
    -------
    int
        ``numSamples`` if > 0, else ``TF_POINTS[problem]`` (500 or 1200).
    """
    return cfg["numSamples"] or TF_POINTS[cfg["problem"]]


def feature_names(cfg) -> list:
    """The input features on, in the order of ``data.FEATURES``.

    Parameters
    ----------
    cfg : dict
        As for ``n_classes``, or any dict with a bool per feature key.

    Returns
    -------
    list of str
        TF Playground's URL names of the features switched on (may be empty).
    """
    return [name for name in FEATURES if cfg[name]]


def layer_activations(cfg) -> list:
    """The hidden activation of each hidden layer.

    Parameters
    ----------
    cfg : dict
        As for ``n_classes``; ``activation`` (one name, or a list of one per hidden layer)
        and ``networkShape`` are read.

    Returns
    -------
    list of str
        One name of ``HIDDEN_ACTIVATIONS`` per entry of ``networkShape`` (TF's "linear" kept).
    """
    acts = cfg["activation"]
    return [acts] * len(cfg["networkShape"]) if isinstance(acts, str) else list(acts)


def loss_name(cfg, n_classes) -> str:
    """The loss the configuration trains with (``loss_for`` of its problem kind).

    Parameters
    ----------
    cfg : dict
        As for ``n_classes``; ``problem`` and ``loss`` are read.
    n_classes : int
        Classes of the data (``n_classes(cfg)``; 2 for regression).

    Returns
    -------
    str
        An mlplab loss name: "bce", "cross_entropy", "mse", "mae" or "huber".
    """
    return loss_for(problem_kind(cfg, n_classes), cfg["loss"])


def loss_for(kind, choice) -> str:
    """The loss of a problem kind: ``choice``, or the kind's first (bce, cross_entropy, mse).

    Parameters
    ----------
    kind : {"binary", "multiclass", "regression"}
        The problem kind (``problem_kind``).
    choice : str
        The ``loss`` key: "auto" or a loss of ``LOSSES[kind]``.

    Returns
    -------
    str
        The loss name.

    Raises
    ------
    ArgumentError
        When ``choice`` (named "loss") is not a loss of that kind.
    """
    if choice == "auto":
        return LOSSES[kind][0]
    return check_choice("loss", choice, LOSSES[kind])


def output_activation(cfg, n_classes):
    """The output layer: sigmoid (one unit), softmax (K units) or linear (regression)."""
    kind = problem_kind(cfg, n_classes)
    return {"binary": "sigmoid", "multiclass": "softmax", "regression": None}[kind]


def _act_name(name) -> str:
    return "identity" if name == "linear" else name


def build_model(cfg, n_inputs, n_classes) -> Sequential:
    """The network of ``cfg``: ``MLP(sizes, activation, output, seed, dropout)`` when every
    hidden layer has one activation, else the same layers one by one (Dense with MLP's
    default init: He for the ReLU family, Glorot otherwise; the activation; Dropout), drawn
    from one generator seeded with the configuration's seed as MLP does.

    Parameters
    ----------
    cfg : dict
        As for ``n_classes``; the network's keys and ``seed`` are read.
    n_inputs : int
        Input features (columns of X).
    n_classes : int
        As for ``loss_name``. The output has 1 unit for 2 classes or regression, else K
        (softmax).

    Returns
    -------
    Sequential
        The network ``n_inputs -> networkShape -> output``, its weights drawn from the seed
        (``data.seed_value(cfg["seed"])``).
    """
    from_seed = _seed(cfg)
    out_units = 1 if n_classes == 2 or cfg["problem"] == "regression" else n_classes
    sizes = [n_inputs, *cfg["networkShape"], out_units]
    acts = [_act_name(a) for a in layer_activations(cfg)]
    output = output_activation(cfg, n_classes)
    if len(set(acts)) <= 1:
        return MLP(sizes, activation=acts[0] if acts else "tanh", output=output, seed=from_seed, dropout=cfg["dropout"])
    rng = np.random.default_rng(from_seed)
    layers = []
    for i, act in enumerate([*acts, None]):
        init = "he" if act in activations.RELU_FAMILY else "glorot"
        layers.append(Dense(sizes[i], sizes[i + 1], init=init, seed=rng))
        if act is not None:
            layers.append(activations.get(act))
            if cfg["dropout"]:
                layers.append(Dropout(cfg["dropout"], seed=int(rng.integers(2**32))))
    if output is not None:
        layers.append(activations.get(output))
    return Sequential(layers, seed=from_seed)


def _seed(cfg) -> int:
    return seed_value(cfg["seed"])


def schedule_args(cfg) -> dict:
    """The schedule's arguments: the page's values over the table's defaults."""
    table = SCHED_PARAMS[cfg["schedule"]]
    return {k: cfg["sched"].get(k, d) for k, (d, *_rest) in table.items()}


def build_optimizer(cfg):
    """The optimizer of ``cfg`` with its learning rate, or its schedule (interval "epoch").

    Parameters
    ----------
    cfg : dict
        As for ``n_classes``: ``optimizer``, ``learningRate``, ``opt``, ``schedule``,
        ``sched`` are read. A schedule starts at ``learningRate`` (OneCycle: its max_lr).

    Returns
    -------
    Optimizer
        ``optim.get(optimizer, lr=..., **opt)``, unattached to a model.
    """
    lr = cfg["learningRate"]
    if cfg["schedule"] != "none":
        args = schedule_args(cfg)
        if cfg["schedule"] == "onecycle":
            lr = schedules.get("onecycle", max_lr=lr, interval="epoch", **args)
        else:
            lr = schedules.get(cfg["schedule"], base_lr=lr, interval="epoch", **args)
    params = dict(cfg["opt"])
    if "betas" in params:
        params["betas"] = tuple(params["betas"])
    return optim.get(cfg["optimizer"], lr=lr, **params)


def build_regularizer(cfg):
    """The weight penalty of ``cfg``: TF Playground's L1 / L2 with ``regularizationRate``,
    or mlplab's ElasticNet (``r = l1Ratio``).

    Parameters
    ----------
    cfg : dict
        As for ``n_classes``; ``regularization``, ``regularizationRate``, ``l1Ratio`` are read.

    Returns
    -------
    L1, L2, ElasticNet or None
        None when ``regularization`` is "none".
    """
    rate, kind = cfg["regularizationRate"], cfg["regularization"]
    if kind == "none":
        return None
    if kind == "elasticnet":
        return ElasticNet(rate, r=cfg["l1Ratio"])
    return (L1 if kind == "L1" else L2)(rate)


def build_callbacks(cfg) -> list:
    """Early stopping on the test loss (``val_loss``) when ``patience`` > 0; the weights stay
    those of the last epoch (restore_best_weights=False), which the page keeps showing.

    Parameters
    ----------
    cfg : dict
        As for ``n_classes``; ``patience`` is in epochs.

    Returns
    -------
    list of Callback
        [EarlyStopping] when ``patience`` > 0, else [].
    """
    if not cfg["patience"]:
        return []
    return [EarlyStopping(monitor="val_loss", patience=cfg["patience"], restore_best_weights=False)]


def imported_config(model, cfg) -> dict:
    """The configuration keys that describe an imported model, or ``ArgumentError`` if the
    playground cannot show it: two inputs (x1, x2), at most MAX_LAYERS hidden Dense layers of
    at most MAX_NEURONS units with hidden activations the page knows, and an output the
    page reads: one sigmoid unit (two classes), a softmax over 2 .. 5 units, or one linear
    unit (regression).

    Parameters
    ----------
    model : Sequential
        The loaded model.
    cfg : dict
        The current configuration; its data set becomes "spiral" when the model has more
        than 2 classes and the data set has only 2.

    Returns
    -------
    dict
        Keys ``problem``, ``networkShape``, ``activation``, ``dropout``, ``loss``,
        ``classes``, the feature keys (x1, x2 on), and possibly ``dataset``: to update
        ``cfg`` with.

    Raises
    ------
    ArgumentError
        Named "model file", saying which of those conditions the model breaks.
    """
    if model.n_inputs != 2:
        raise fail("model file", "a model with two inputs (x1, x2)", got=f"{model.n_inputs} inputs")
    widths, acts, drop = [], [], 0.0
    layers = model.layers
    for i, layer in enumerate(layers):
        if isinstance(layer, Dense):
            widths.append(layer.out_features)
            nxt = layers[i + 1] if i + 1 < len(layers) else None
            acts.append(nxt.name if isinstance(nxt, activations.Activation) else "identity")
        elif isinstance(layer, Dropout):
            drop = layer.p
    hidden, out_units, output = widths[:-1], widths[-1], acts[-1]
    names = ["linear" if a == "identity" else a for a in acts[:-1]]
    if len(hidden) > MAX_LAYERS or any(w > MAX_NEURONS for w in hidden):
        raise fail("model file", f"at most {MAX_LAYERS} hidden layers of {MAX_NEURONS} units", got=f"widths {hidden}")
    bad = [a for a in names if a not in HIDDEN_ACTIVATIONS]
    if bad:
        raise fail("model file", "hidden activations among " + ", ".join(HIDDEN_ACTIVATIONS), got=bad[0])
    if output == "sigmoid" and out_units == 1:
        problem, k = "classification", 2
    elif output == "softmax" and 2 <= out_units <= MAX_CLASSES:
        problem, k = "classification", out_units
    elif output == "identity" and out_units == 1 and model.logits is None:
        problem, k = "regression", 2
    else:
        raise fail(
            "model file",
            f"an output the playground reads: 1 sigmoid unit, softmax over 2..{MAX_CLASSES} units, or 1 linear unit",
            got=f"{out_units} unit(s) with {output}" + (" logits" if model.logits else ""),
        )
    out = {"problem": problem, "networkShape": hidden, "activation": names or "tanh", "dropout": min(drop, 0.9)}
    out.update({name: name in ("x", "y") for name in FEATURES}, loss="auto", classes=k)
    if problem == "classification" and k > 2 and not CLASSIFICATION.get(cfg["dataset"], True):
        out["dataset"] = "spiral"
    return out


def options() -> dict:
    """What the page offers, with the server's limits (the "hello" message).

    Returns
    -------
    dict
        JSON-ready: ``defaults``, ``limits`` (with ``layers``, ``neurons``, ``lanes``),
        ``choices``, ``features`` (URL name -> label), ``activations``, ``losses`` per kind,
        ``optimizers`` ({name: {hyper-parameter: {default, range}}}), ``default_lr``,
        ``schedules``, ``tf_points``, ``multiclass_datasets``, ``one_d`` (each 1-D data set's
        function at ``THUMB_POINTS`` points from -6 to 6, for its thumbnail) and ``x2_features``
        (the inputs that read x2, always 0 in a 1-D data set).
    """

    def plain(v):
        return list(v) if isinstance(v, tuple) else (None if isinstance(v, float) and math.isinf(v) else v)

    return {
        "defaults": DEFAULTS,
        "limits": {**LIMITS, "layers": MAX_LAYERS, "neurons": MAX_NEURONS, "lanes": MAX_LANES},
        "choices": {k: list(v) for k, v in _CHOICES.items()},
        "features": {k: label for k, (label, _) in FEATURES.items()},
        "activations": list(HIDDEN_ACTIVATIONS),
        "losses": {k: list(v) for k, v in LOSSES.items()},
        "optimizers": {
            name: {k: {"default": plain(d), "range": OPT_LIMITS.get(k)} for k, d in _opt_params(name).items()}
            for name in optim.OPTIMIZERS
        },
        "default_lr": {name: inspect.signature(cls).parameters["lr"].default for name, cls in optim.OPTIMIZERS.items()},
        "schedules": {
            name: {k: {"default": d, "range": [lo, hi], "int": i} for k, (d, lo, hi, i) in table.items()}
            for name, table in SCHED_PARAMS.items()
        },
        "tf_points": TF_POINTS,
        "multiclass_datasets": [k for k, v in CLASSIFICATION.items() if v],
        "one_d": {k: f(np.linspace(-6.0, 6.0, THUMB_POINTS)).tolist() for k, f in ONE_D.items()},
        "x2_features": [k for k, (label, _) in FEATURES.items() if "x2" in label],
    }
