"""The schema of mlplab's files, and the models their configurations build.

What the metadata of a model file or a checkpoint (``mlplab.io``) may hold is checked here
field by field before anything of the model's size is allocated (``check_meta``): the type
and range of every field, the layer classes (built-in only), the widths chaining from layer
to layer, an MLP's layers agreeing with its sizes, activation, output and dropout, the
optimizer (a built-in class with valid arguments) and the name, shape and dtype of each of
its state arrays, the random generators' states. ``parse_json`` parses the metadata only
once its bytes are known to nest at most ``MAX_DEPTH`` deep. ``model_from_config`` rebuilds
a Sequential or an MLP from ``get_config()``: only known layer classes, so a configuration
never names code to run. A refusal raises ``Invalid``, which io turns into ModelFileError.
"""

from __future__ import annotations

import json
import math
import re
from types import SimpleNamespace

import numpy as np

from . import activations, initializers, optim, schedules
from ._validation import check_choice, fail
from .activations import Activation
from .layers import Dense, Dropout
from .model import MLP, Sequential

__all__ = [
    "check_meta",
    "check_config",
    "check_rng",
    "new_optimizer",
    "parse_json",
    "dumps",
    "Invalid",
    "model_from_config",
    "FORMAT",
    "FORMAT_VERSION",
]

FORMAT = "mlplab"
FORMAT_VERSION = 1
MAX_META_BYTES = 16 << 20  # the JSON of a real model is a few kB, of a long History a few MB
MAX_DEPTH = 32  # nesting of the metadata JSON; a checkpoint with a SequentialLR needs about 10
MAX_CONTAINERS = 200_000  # JSON arrays and objects in the metadata
MAX_LAYERS = 10_000
MAX_DIRECTORY = 1 << 20  # bytes of the zip's central directory: about 10k members
MAX_NPY_HEADER = 10_000  # numpy's own default limit for .npy headers
MAX_INT = 2**63 - 1  # update counts and epochs
FLOATS = {"float32": np.dtype("<f4"), "float64": np.dtype("<f8")}
GENERATORS = ("MT19937", "PCG64", "PCG64DXSM", "Philox", "SFC64")
KEYS = {"model": {"format", "format_version", "kind", "config", "sha256"}}
KEYS["checkpoint"] = KEYS["model"] | {"optimizer", "epoch", "history", "rng_state", "dropout_rng_states"}
OPTIONAL = {"model": set(), "checkpoint": {"callbacks", "data"}}  # keys added in version 1.1
MAX_CALLBACKS = 1000


class Invalid(Exception):
    """The metadata breaks the schema; ``field`` is the top-level key at fault."""

    def __init__(self, where, message):
        super().__init__(message)
        self.field = where.split("[")[0]


def _need(ok, where, what, value=None, got=None):
    if not ok:
        raise Invalid(where, str(fail(where, what, value, got=got)))


def _is_int(v, low=0, high=MAX_INT) -> bool:
    return type(v) is int and low <= v <= high


def _is_real(v, low, high=math.inf, high_open=False) -> bool:
    if type(v) is int:
        v = float(v) if abs(v) < 2**1000 else math.inf
    return type(v) is float and math.isfinite(v) and low <= v and (v < high if high_open else v <= high)


def _keys(where, d, required, optional=()):
    _need(isinstance(d, dict), where, "a JSON object", d)
    missing, extra = set(required) - set(d), set(d) - set(required) - set(optional)
    what = f"an object with keys {sorted(required)}" + (f", optionally {sorted(optional)}" if optional else "")
    _need(not missing and not extra, where, what, got=f"keys {sorted(d)}")
    return d


# -- the schema of the metadata --------------------------------------------------------
def _check_layers(layers) -> tuple[dict, list]:
    """(name -> shape of each parameter array, indices of the Dropout layers)."""
    ok = isinstance(layers, list) and 0 < len(layers) <= MAX_LAYERS
    _need(ok, "config['layers']", f"a list of 1 to {MAX_LAYERS} layers", layers)
    acts = {cls.__name__: cls for cls in activations.ACTIVATIONS.values()}
    shapes, dropouts, width = {}, [], None
    for i, d in enumerate(layers):
        where = f"config['layers'][{i}]"
        _keys(where, d, ("class", "config"))
        name, c, where = d["class"], d["config"], where + "['config']"
        if name == "Dense":
            _keys(where, c, ("in_features", "out_features", "init"))
            for k in ("in_features", "out_features"):
                _need(_is_int(c[k], 1), f"{where}[{k!r}]", "an int >= 1", c[k])
            _need(isinstance(c["init"], str), f"{where}['init']", "a str", c["init"])
            _need(width in (None, c["in_features"]), f"{where}['in_features']", f"{width}, the width before", c)
            width = c["out_features"]
            shapes[f"layers.{i}.W"], shapes[f"layers.{i}.b"] = (c["in_features"], width), (width,)
        elif name == "Dropout":
            _keys(where, c, ("p",))
            _need(_is_real(c["p"], 0.0, 1.0, high_open=True), f"{where}['p']", "a number in [0, 1)", c["p"])
            dropouts.append(i)
        else:
            _need(isinstance(name, str) and name in acts, f"{where[:-10]}['class']", "a built-in layer class", name)
            try:
                acts[name](**c)  # an activation's arguments: LeakyReLU negative_slope, ELU alpha
            except (TypeError, ValueError, OverflowError) as e:
                raise Invalid(where, f"{where} must be the arguments of {name}, got {c!r:.80} ({e})") from None
    _need(width is not None, "config['layers']", "a list with a Dense layer", got="none")
    return shapes, dropouts


def _check_mlp(cfg):
    """An MLP is rebuilt from its sizes, activation, output and dropout: its layers must be those."""
    sizes, act, out, p = cfg["sizes"], cfg["activation"], cfg["output"], cfg["dropout"]
    _need(
        isinstance(sizes, list) and 2 <= len(sizes) <= MAX_LAYERS,
        "config['sizes']",
        f"a list of 2 to {MAX_LAYERS} widths",
        sizes,
    )
    _need(all(_is_int(s, 1) for s in sizes), "config['sizes']", "a list of ints >= 1", sizes)
    names = {k: cls.__name__ for k, cls in activations.ACTIVATIONS.items()}
    _need(isinstance(act, str) and act in names, "config['activation']", f"one of {sorted(names)}", act)
    _need(out is None or (isinstance(out, str) and out in names), "config['output']", "None or an activation", out)
    init = cfg["init"]
    ok = init is None or (isinstance(init, str) and init in initializers.INITIALIZERS)
    _need(ok, "config['init']", "None or an initializer's name", init)
    _need(_is_real(p, 0.0, 1.0, high_open=True), "config['dropout']", "a number in [0, 1)", p)
    want = []
    for i in range(len(sizes) - 1):
        want.append(("Dense", {"in_features": sizes[i], "out_features": sizes[i + 1]}))
        if i < len(sizes) - 2:
            want += [(names[act], None)] + ([("Dropout", {"p": p})] if p else [])
    want += [(names[out], None)] if out is not None else []
    got = [(d["class"], {k: d["config"].get(k) for k in w[1]} if w[1] else None) for d, w in zip(cfg["layers"], want)]
    what = f"the layers of sizes {sizes}, activation {act!r}, output {out!r} and dropout {p}"
    _need(len(cfg["layers"]) == len(want) and got == want, "config['layers']", what, [c for c, _ in got])


def check_config(cfg) -> tuple[np.dtype, dict, list]:
    """(dtype, parameter shapes, Dropout indices) of a model configuration."""
    keys = {"MLP": ("class", "dtype", "layers", "sizes", "activation", "output", "init", "dropout")}
    keys["Sequential"] = keys["MLP"][:3]
    ok = isinstance(cfg, dict) and isinstance(cfg.get("class"), str) and cfg["class"] in keys
    _need(ok, "config", "a model configuration of class 'MLP' or 'Sequential'", cfg)
    _keys("config", cfg, keys[cfg["class"]], ("logits",))
    if "logits" in cfg:
        last = cfg["layers"][-1] if isinstance(cfg["layers"], list) and cfg["layers"] else None
        linear = isinstance(last, dict) and last.get("class") in ("Dense", "Identity")
        what = "'softmax' or 'sigmoid', on a linear output"
        _need(cfg["logits"] in ("softmax", "sigmoid") and linear, "config['logits']", what, cfg["logits"])
    dtype = cfg["dtype"]
    _need(isinstance(dtype, str) and dtype in FLOATS, "config['dtype']", "'float32' or 'float64'", dtype)
    shapes, dropouts = _check_layers(cfg["layers"])
    if cfg["class"] == "MLP":
        _check_mlp(cfg)
    return FLOATS[dtype], shapes, dropouts


def new_optimizer(cfg):
    """The optimizer of a saved configuration (a built-in class), fresh."""
    classes = {cls.__name__: cls for cls in optim.OPTIMIZERS.values()}
    ok = isinstance(cfg, dict) and isinstance(cfg.get("name"), str) and cfg["name"] in classes
    _need(ok, "optimizer['config']", f"an optimizer configuration, 'name' one of {sorted(classes)}", cfg)
    kwargs = {k: (tuple(v) if isinstance(v, list) else v) for k, v in cfg.items() if k != "name"}
    try:
        if isinstance(kwargs.get("lr"), dict):
            kwargs["lr"] = schedules.from_config(
                _keys("optimizer['config']['lr']", kwargs["lr"], ("schedule",))["schedule"]
            )
        return classes[cfg["name"]](**kwargs)
    except (TypeError, ValueError, KeyError, IndexError, AttributeError, OverflowError, RecursionError) as e:
        raise Invalid("optimizer", f"optimizer['config'] must be valid arguments of {cfg['name']} ({e})") from None


def _state_layout(cfg, t, n, dtype) -> dict:
    """name -> (shape, dtype) of each state array of the optimizer ``cfg`` after t updates of
    n parameters: none before the first update; after it, those one update of a stand-in
    creates, each of the buffer's shape (n,) or a scalar (NAdam's mu_product)."""
    opt = new_optimizer(cfg)
    if t == 0:
        return {}
    theta, grad = np.zeros(1, dtype), np.ones(1, dtype)
    opt.step(SimpleNamespace(flat_params=lambda: theta, flat_grads=lambda: grad))  # what step reads
    return {k: ((n,) if np.ndim(a) else (), FLOATS.get(a.dtype.name, a.dtype)) for k, a in opt.state.items()}


def check_rng(state, where) -> np.random.Generator:
    """A generator in the saved state (of one of NumPy's bit generators)."""
    ok = isinstance(state, dict) and isinstance(state.get("bit_generator"), str)
    _need(ok and state["bit_generator"] in GENERATORS, where, f"a bit_generator.state of {GENERATORS}", state)
    rng = np.random.Generator(getattr(np.random, state["bit_generator"])())
    try:  # numpy converts some values (1.5 -> 1): the state read back must be the one written
        rng.bit_generator.state = state
        ok = dumps(rng.bit_generator.state) == dumps(state)
    except (TypeError, ValueError, KeyError, IndexError, AttributeError, OverflowError):
        ok = False
    _need(ok, where, f"a valid {state['bit_generator']} state", state)
    return rng


def _check_history(h):
    if h is None:
        return
    _keys("history", h, (), ("history", "epoch", "best_epoch", "stop_reason"))
    values, epochs = h.get("history", {}), h.get("epoch", [])
    ok = isinstance(values, dict) and all(isinstance(v, list) for v in values.values())
    _need(ok, "history['history']", "a dict of lists, one value per epoch", values)
    _need(isinstance(epochs, list) and all(map(_is_int, epochs)), "history['epoch']", "a list of ints >= 0", epochs)
    best, reason = h.get("best_epoch"), h.get("stop_reason")
    _need(best is None or _is_int(best), "history['best_epoch']", "None or an int >= 0", best)
    _need(reason is None or isinstance(reason, str), "history['stop_reason']", "None or a str", reason)


def _check_callbacks(entries, shape, dtype) -> dict:
    """The saved states of the callbacks: [{"class": name, "state": {...}, "arrays": [key, ...]}];
    each key in "arrays" is an array of weights (the model's parameter count and dtype)."""
    ok = isinstance(entries, list) and len(entries) <= MAX_CALLBACKS
    _need(ok, "callbacks", f"a list of at most {MAX_CALLBACKS} callback states", entries)
    arrays = {}
    for i, e in enumerate(entries):
        where = f"callbacks[{i}]"
        _keys(where, e, ("class", "state", "arrays"))
        name, state, names = e["class"], e["state"], e["arrays"]
        ok = isinstance(name, str) and re.fullmatch(r"[A-Za-z_]\w{0,99}", name)
        _need(ok, f"{where}['class']", "a class name", name)
        _need(isinstance(state, dict), f"{where}['state']", "a JSON object", state)
        ok = isinstance(names, list) and all(
            isinstance(k, str) and re.fullmatch(r"[A-Za-z_]\w{0,63}", k) for k in names
        )
        ok = ok and len(set(names)) == len(names) and not set(names) & set(state)
        _need(ok, f"{where}['arrays']", "a list of distinct names of arrays, not in its state", names)
        arrays.update({f"callbacks.{i}.{k}": (shape, dtype) for k in names})
    return arrays


def _check_data(data):
    if data is None:
        return
    _keys("data", data, ("shapes", "sha256"))
    shapes = data["shapes"]
    ok = isinstance(shapes, list) and len(shapes) <= 8
    ok = ok and all(s is None or (isinstance(s, list) and len(s) <= 8 and all(map(_is_int, s))) for s in shapes)
    _need(ok, "data['shapes']", "a list of array shapes", shapes)
    _need(
        isinstance(data["sha256"], str) and re.fullmatch("[0-9a-f]{64}", data["sha256"]),
        "data['sha256']",
        "a SHA-256 hex digest",
        data["sha256"],
    )


def check_meta(meta, kinds) -> dict:
    """Check the metadata against the schema; return name -> (shape, dtype) of every array
    it announces. Nothing of the model's size is allocated here."""
    _need(isinstance(meta, dict), "the metadata", "a JSON object", got=type(meta).__name__)
    fmt, version, kind = meta.get("format"), meta.get("format_version"), meta.get("kind")
    if fmt != FORMAT:
        raise Invalid("format", f"not a mlplab model file (format {fmt!r:.40})")
    _need(_is_int(version, 1), "format_version", "an int >= 1", version)
    if version > FORMAT_VERSION:
        raise Invalid("format_version", f"written by a newer mlplab (format version {version}): upgrade mlplab")
    if not (isinstance(kind, str) and kind in kinds):
        raise Invalid("kind", f"holds a {kind!r:.40}, expected {' or '.join(map(repr, kinds))}")
    _keys("the metadata", meta, KEYS[kind], OPTIONAL[kind])
    dtype, shapes, dropouts = check_config(meta["config"])
    arrays = {k: (s, dtype) for k, s in shapes.items()}
    if kind == "checkpoint":
        n = sum(math.prod(s) for s in shapes.values())
        opt = _keys("optimizer", meta["optimizer"], ("config", "t", "epoch", "state"), ("initial_lr",))
        for k in ("t", "epoch"):
            _need(_is_int(opt[k]), f"optimizer[{k!r}]", f"an int in [0, {MAX_INT}]", opt[k])
        lr0 = opt.get("initial_lr")
        _need(lr0 is None or _is_real(lr0, 0), "optimizer['initial_lr']", "None or a finite number >= 0", lr0)
        layout = _state_layout(opt["config"], opt["t"], n, dtype)
        want = {k: {"shape": list(s), "dtype": dt.name} for k, (s, dt) in layout.items()}
        what = f"the state of {opt['config']['name']} after {opt['t']} updates of {n} parameters, {want}"
        _need(opt["state"] == want, "optimizer['state']", what, opt["state"])
        arrays.update({f"optimizer.{k}": v for k, v in layout.items()})
        _need(_is_int(meta["epoch"]), "epoch", f"an int in [0, {MAX_INT}]", meta["epoch"])
        _check_history(meta["history"])
        if meta["rng_state"] is not None:
            check_rng(meta["rng_state"], "rng_state")
        states = meta["dropout_rng_states"]
        _keys("dropout_rng_states", states, [str(i) for i in dropouts])
        for k, s in states.items():
            check_rng(s, f"dropout_rng_states[{k!r}]")
        arrays.update(_check_callbacks(meta.get("callbacks", []), (n,), dtype))
        _check_data(meta.get("data"))
    digests = meta["sha256"]
    _keys("sha256", digests, arrays)
    for k, v in digests.items():
        _need(isinstance(v, str) and re.fullmatch("[0-9a-f]{64}", v), f"sha256[{k!r}]", "a SHA-256 hex digest", v)
    return arrays


def _no_duplicates(pairs):
    d = dict(pairs)
    if len(d) != len(pairs):
        keys = [k for k, _ in pairs]
        _need(False, "the metadata", "JSON without duplicated keys", got=sorted({k for k in keys if keys.count(k) > 1}))
    return d


def parse_json(raw: bytes):
    """The metadata, parsed only once its bytes are known to nest at most MAX_DEPTH deep, so
    the parser cannot recurse further: the brackets outside strings are counted first (a
    quote after an odd run of backslashes is escaped, not the end of a string)."""
    _need(len(raw) <= MAX_META_BYTES, "the metadata", f"at most {MAX_META_BYTES} bytes", got=f"{len(raw)} bytes")
    b = np.frombuffer(raw, np.uint8)
    quote = b == ord('"')
    slashes = np.flatnonzero(b == ord("\\"))
    if slashes.size:
        starts = np.flatnonzero(np.diff(slashes, prepend=-2) != 1)  # of each run of backslashes
        ends = np.append(starts[1:], slashes.size) - 1
        escaped = slashes[ends[(ends - starts) % 2 == 0]] + 1  # after a run of odd length
        quote[escaped[escaped < b.size]] = False
    outside = np.bitwise_xor.accumulate(quote.view(np.uint8)) == 0
    opening, closing = ((b == ord("[")) | (b == ord("{"))) & outside, ((b == ord("]")) | (b == ord("}"))) & outside
    n = int(opening.sum())
    _need(n <= MAX_CONTAINERS, "the metadata", f"JSON of at most {MAX_CONTAINERS} arrays and objects", got=n)
    _need(n == closing.sum(), "the metadata", "JSON whose brackets balance", got=f"{n} opened, {closing.sum()} closed")
    depth = int(np.cumsum(np.where(opening[opening | closing], 1, -1)).max(initial=0))
    _need(depth <= MAX_DEPTH, "the metadata", f"JSON nested at most {MAX_DEPTH} deep", got=f"depth {depth}")
    return json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates)


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"{type(o).__name__} is not JSON-serialisable")


def dumps(o) -> str:
    return json.dumps(o, default=_json_default, sort_keys=True)


def _layer_from_config(d):
    if not isinstance(d, dict) or not isinstance(d.get("class"), str) or not isinstance(d.get("config", {}), dict):
        raise fail("a layer configuration", "a dict {'class': str, 'config': dict}", d)
    cls_name, cfg = d["class"], dict(d.get("config", {}))
    if cls_name == "Dense":
        init = cfg.get("init")
        init = init if isinstance(init, str) and init in initializers.INITIALIZERS and init != "zeros" else "glorot"
        return Dense(cfg["in_features"], cfg["out_features"], init=init)
    if cls_name == "Dropout":
        return Dropout(cfg["p"])
    for cls in set(activations.ACTIVATIONS.values()):
        if cls.__name__ == cls_name:
            return cls(**cfg)  # the activations' arguments: LeakyReLU negative_slope, ELU alpha
    raise fail("a layer's class", "Dense, Dropout or an activation (unknown layer class)", cls_name)


def model_from_config(config: dict) -> Sequential:
    """Rebuild a Sequential or MLP from ``get_config()`` (fresh weights). Only known layer
    classes are accepted: a configuration never names code to run."""
    if not isinstance(config, dict) or "class" not in config:
        raise fail("config", "a dict with a 'class' key (a model configuration)", config)
    if config["class"] == "MLP":
        model = MLP(
            config["sizes"],
            activation=config["activation"],
            output=config.get("output"),
            init=config.get("init") or "glorot",
            dtype=config.get("dtype", "float32"),
            dropout=config.get("dropout", 0.0),
        )
        layer_cfgs = config.get("layers")
        if layer_cfgs is not None:
            if not isinstance(layer_cfgs, list) or [
                d.get("class") if isinstance(d, dict) else None for d in layer_cfgs
            ] != [type(la).__name__ for la in model.layers]:
                raise fail("config['layers']", "the layers of the MLP's sizes, activation and output", layer_cfgs)
            # an activation built from an instance keeps its arguments (LeakyReLU(0.2)) only here
            for i, d in enumerate(layer_cfgs):
                if isinstance(model.layers[i], Activation) and d.get("config"):
                    model.layers[i] = _layer_from_config(d)
    elif config["class"] == "Sequential":
        if not isinstance(config.get("layers"), list):
            raise fail("config['layers']", "a list of layer configurations", config.get("layers"))
        model = Sequential([_layer_from_config(d) for d in config["layers"]], dtype=config.get("dtype"))
    else:
        raise fail("config['class']", "'MLP' or 'Sequential' (unknown model class)", config["class"])
    if config.get("logits") is not None:
        model.logits = check_choice("config['logits']", config["logits"], ("softmax", "sigmoid"))
    return model
