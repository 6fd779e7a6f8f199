"""Model files and training checkpoints, without pickle.

A model file (``model.save(path)``, ``mlplab.load(path)``) is a NumPy ``.npz`` archive
(an uncompressed zip of ``.npy`` arrays) holding

    __mlplab__          the metadata: UTF-8 JSON as a uint8 array (format name and version,
                        kind, the architecture from ``model.get_config()``, a SHA-256 digest
                        of every array)
    layers.<i>.W        the parameters of layer i, in the model's dtype
    layers.<i>.b

A checkpoint (``save_checkpoint``, ``load_checkpoint``, ``fit(resume_from=path)``) is the
same file with ``kind = "checkpoint"`` and, besides the model, everything a resumed run needs
to continue bit for bit: the optimizer's ``state_dict()`` (its arrays stored as
``optimizer.<name>``), the last finished epoch, the History so far, the state of the
training loop's random generator and of every Dropout layer's generator.

Loading never runs code from the file, and refuses every malformed file with
``ModelFileError`` (a ``ValueError``) naming the file and the cause, before anything of the
model's size is allocated:

1. the archive: its end record announces a central directory of at most ``_MAX_DIRECTORY``
   bytes; every member is a stored (uncompressed, unencrypted) ``.npy`` file, the members
   together no larger than the file;
2. the metadata: at most ``_MAX_META_BYTES`` of UTF-8 JSON, nested at most ``_MAX_DEPTH``
   deep (checked on the raw bytes, so the parser cannot recurse), no duplicated keys, then
   checked against an explicit schema (``_check_meta``): the type and range of every field,
   the layer classes (built-in only), the widths chaining from layer to layer, an MLP's
   layers agreeing with its sizes, the optimizer (a built-in class, its arguments valid)
   and the exact name, shape and dtype of each of its state arrays, which one update of a
   one-parameter stand-in shows (``_state_layout``), the random generators' states;
3. every array's ``.npy`` header (shape, dtype, byte order, C order) against the array the
   schema expects, and its size against the member's: the parameters the file announces
   are there in full, so the model built next is never larger than the file;
4. the data: the zip CRC and the SHA-256 digest of every array, and all of it finite.

Every other failure while reading (``zipfile.BadZipFile``, ``OSError`` after the file is
open, ``NotImplementedError``, ``UnicodeDecodeError``, ...) becomes a ``ModelFileError``
too. Arrays are read with ``np.frombuffer`` on plain numeric dtypes: nothing is unpickled.
``save`` and ``save_checkpoint`` run the same checks on what they write and refuse, with an
``ArgumentError`` naming the argument, what ``load`` would refuse (non-finite weights, a
configuration ``load`` could not rebuild). The digests detect accidental corruption; they
cannot detect a deliberate edit that rewrites them consistently. Saving writes a temporary
file in the destination folder and renames it over ``path`` (``os.replace``), so a crash
mid-write never leaves a half-written model behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import struct
import tempfile
import zipfile
from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np

from . import activations, initializers, optim, schedules
from ._validation import check_instance, check_int, check_path, fail
from .backend import all_finite, to_numpy
from .errors import ModelFileError
from .history import History
from .layers import Dense, Dropout
from .model import Sequential, model_from_config

__all__ = ["ModelFileError", "Checkpoint", "save", "load", "save_checkpoint", "load_checkpoint"]
__all__ += ["FORMAT", "FORMAT_VERSION", "atomic_open"]

FORMAT = "mlplab"
FORMAT_VERSION = 1
_META = "__mlplab__"
_MAX_META_BYTES = 16 << 20  # the JSON of a real model is a few kB, of a long History a few MB
_MAX_DEPTH = 32  # nesting of the metadata JSON; a checkpoint with a SequentialLR needs about 10
_MAX_CONTAINERS = 200_000  # JSON arrays and objects in the metadata
_MAX_LAYERS = 10_000
_MAX_DIRECTORY = 1 << 20  # bytes of the zip's central directory: about 10k members
_MAX_NPY_HEADER = 10_000  # numpy's own default limit for .npy headers
_MAX_INT = 2**63 - 1  # update counts and epochs
_FLOATS = {"float32": np.dtype("<f4"), "float64": np.dtype("<f8")}
_GENERATORS = ("MT19937", "PCG64", "PCG64DXSM", "Philox", "SFC64")
_KEYS = {"model": {"format", "format_version", "kind", "config", "sha256"}}
_KEYS["checkpoint"] = _KEYS["model"] | {"optimizer", "epoch", "history", "rng_state", "dropout_rng_states"}
#: what reading a damaged file may raise, from zipfile, numpy, json or a constructor
# (ValueError covers UnicodeDecodeError, RuntimeError NotImplementedError and RecursionError)
_READ_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, RuntimeError, ValueError)
_READ_ERRORS += (OverflowError, LookupError, TypeError, AttributeError, struct.error)


class _Invalid(Exception):
    """The metadata breaks the schema; ``field`` is the top-level key at fault."""

    def __init__(self, where, message):
        super().__init__(message)
        self.field = where.split("[")[0]


def _need(ok, where, what, value=None, got=None):
    if not ok:
        raise _Invalid(where, str(fail(where, what, value, got=got)))


def _is_int(v, low=0, high=_MAX_INT) -> bool:
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
    ok = isinstance(layers, list) and 0 < len(layers) <= _MAX_LAYERS
    _need(ok, "config['layers']", f"a list of 1 to {_MAX_LAYERS} layers", layers)
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
                raise _Invalid(where, f"{where} must be the arguments of {name}, got {c!r:.80} ({e})") from None
    _need(width is not None, "config['layers']", "a list with a Dense layer", got="none")
    return shapes, dropouts


def _check_mlp(cfg):
    """An MLP is rebuilt from its sizes, activation, output and dropout: its layers must be those."""
    sizes, act, out, p = cfg["sizes"], cfg["activation"], cfg["output"], cfg["dropout"]
    _need(
        isinstance(sizes, list) and 2 <= len(sizes) <= _MAX_LAYERS,
        "config['sizes']",
        f"a list of 2 to {_MAX_LAYERS} widths",
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


def _check_config(cfg) -> tuple[np.dtype, dict, list]:
    """(dtype, parameter shapes, Dropout indices) of a model configuration."""
    keys = {"MLP": ("class", "dtype", "layers", "sizes", "activation", "output", "init", "dropout")}
    keys["Sequential"] = keys["MLP"][:3]
    ok = isinstance(cfg, dict) and isinstance(cfg.get("class"), str) and cfg["class"] in keys
    _need(ok, "config", "a model configuration of class 'MLP' or 'Sequential'", cfg)
    _keys("config", cfg, keys[cfg["class"]])
    dtype = cfg["dtype"]
    _need(isinstance(dtype, str) and dtype in _FLOATS, "config['dtype']", "'float32' or 'float64'", dtype)
    shapes, dropouts = _check_layers(cfg["layers"])
    if cfg["class"] == "MLP":
        _check_mlp(cfg)
    return _FLOATS[dtype], shapes, dropouts


def _new_optimizer(cfg):
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
        raise _Invalid("optimizer", f"optimizer['config'] must be valid arguments of {cfg['name']} ({e})") from None


def _state_layout(cfg, t, n, dtype) -> dict:
    """name -> (shape, dtype) of each state array of the optimizer ``cfg`` after t updates of
    n parameters: none before the first update; after it, those one update of a stand-in
    creates, each of the buffer's shape (n,) or a scalar (NAdam's mu_product)."""
    opt = _new_optimizer(cfg)
    if t == 0:
        return {}
    theta, grad = np.zeros(1, dtype), np.ones(1, dtype)
    opt.step(SimpleNamespace(flat_params=lambda: theta, flat_grads=lambda: grad))  # what step reads
    return {k: ((n,) if np.ndim(a) else (), _FLOATS.get(a.dtype.name, a.dtype)) for k, a in opt.state.items()}


def _check_rng(state, where) -> np.random.Generator:
    """A generator in the saved state (of one of NumPy's bit generators)."""
    ok = isinstance(state, dict) and isinstance(state.get("bit_generator"), str)
    _need(ok and state["bit_generator"] in _GENERATORS, where, f"a bit_generator.state of {_GENERATORS}", state)
    rng = np.random.Generator(getattr(np.random, state["bit_generator"])())
    try:  # numpy converts some values (1.5 -> 1): the state read back must be the one written
        rng.bit_generator.state = state
        ok = _dumps(rng.bit_generator.state) == _dumps(state)
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


def _check_meta(meta, kinds) -> dict:
    """Check the metadata against the schema; return name -> (shape, dtype) of every array
    it announces. Nothing of the model's size is allocated here."""
    _need(isinstance(meta, dict), "the metadata", "a JSON object", got=type(meta).__name__)
    fmt, version, kind = meta.get("format"), meta.get("format_version"), meta.get("kind")
    if fmt != FORMAT:
        raise _Invalid("format", f"not a mlplab model file (format {fmt!r:.40})")
    _need(_is_int(version, 1), "format_version", "an int >= 1", version)
    if version > FORMAT_VERSION:
        raise _Invalid("format_version", f"written by a newer mlplab (format version {version}): upgrade mlplab")
    if not (isinstance(kind, str) and kind in kinds):
        raise _Invalid("kind", f"holds a {kind!r:.40}, expected {' or '.join(map(repr, kinds))}")
    _keys("the metadata", meta, _KEYS[kind])
    dtype, shapes, dropouts = _check_config(meta["config"])
    arrays = {k: (s, dtype) for k, s in shapes.items()}
    if kind == "checkpoint":
        n = sum(math.prod(s) for s in shapes.values())
        opt = _keys("optimizer", meta["optimizer"], ("config", "t", "epoch", "state"))
        for k in ("t", "epoch"):
            _need(_is_int(opt[k]), f"optimizer[{k!r}]", f"an int in [0, {_MAX_INT}]", opt[k])
        layout = _state_layout(opt["config"], opt["t"], n, dtype)
        want = {k: {"shape": list(s), "dtype": dt.name} for k, (s, dt) in layout.items()}
        what = f"the state of {opt['config']['name']} after {opt['t']} updates of {n} parameters, {want}"
        _need(opt["state"] == want, "optimizer['state']", what, opt["state"])
        arrays.update({f"optimizer.{k}": v for k, v in layout.items()})
        _need(_is_int(meta["epoch"]), "epoch", f"an int in [0, {_MAX_INT}]", meta["epoch"])
        _check_history(meta["history"])
        if meta["rng_state"] is not None:
            _check_rng(meta["rng_state"], "rng_state")
        states = meta["dropout_rng_states"]
        _keys("dropout_rng_states", states, [str(i) for i in dropouts])
        for k, s in states.items():
            _check_rng(s, f"dropout_rng_states[{k!r}]")
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


def _parse_json(raw: bytes):
    """The metadata, parsed only once its bytes are known to nest at most _MAX_DEPTH deep, so
    the parser cannot recurse further: the brackets outside strings are counted first (a
    quote after an odd run of backslashes is escaped, not the end of a string)."""
    _need(len(raw) <= _MAX_META_BYTES, "the metadata", f"at most {_MAX_META_BYTES} bytes", got=f"{len(raw)} bytes")
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
    _need(n <= _MAX_CONTAINERS, "the metadata", f"JSON of at most {_MAX_CONTAINERS} arrays and objects", got=n)
    _need(n == closing.sum(), "the metadata", "JSON whose brackets balance", got=f"{n} opened, {closing.sum()} closed")
    depth = int(np.cumsum(np.where(opening[opening | closing], 1, -1)).max(initial=0))
    _need(depth <= _MAX_DEPTH, "the metadata", f"JSON nested at most {_MAX_DEPTH} deep", got=f"depth {depth}")
    return json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates)


# -- writing ---------------------------------------------------------------------------
def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"{type(o).__name__} is not JSON-serialisable")


def _dumps(o) -> str:
    return json.dumps(o, default=_json_default, sort_keys=True)


def _digest(a: np.ndarray) -> str:
    h = hashlib.sha256()
    h.update(f"{a.dtype.str}{a.shape}".encode())
    h.update(np.ascontiguousarray(a).reshape(-1).view(np.uint8))  # the C-order bytes, not a copy
    return h.hexdigest()


def _check_savable(model):
    check_instance("model", model, Sequential, "a mlplab Sequential or MLP")
    known = {Dense, Dropout, *activations.ACTIVATIONS.values()}
    for i, layer in enumerate(model.layers):
        if type(layer) not in known:
            what = "one of mlplab's built-in layers (Dense, Dropout, the activations): loading never runs code"
            raise fail(f"model.layers[{i}]", what, got=f"a {type(layer).__name__}")


def _param_arrays(model) -> dict:
    return {
        f"layers.{i}.{n}": np.ascontiguousarray(to_numpy(getattr(layer, n)))
        for i, layer in enumerate(model.layers)
        for n in layer.param_names
    }


_ARGUMENT = {"optimizer": "optimizer", "epoch": "epoch", "history": "history", "rng_state": "rng_state"}


def _write(path, meta: dict, arrays: dict) -> str:
    """Write the file after the checks ``load`` will make: what it would refuse is refused
    here, with an ArgumentError naming the argument at fault."""
    path = check_path("path", path)
    arrays = {k: np.asarray(v) for k, v in arrays.items()}
    for k, a in arrays.items():
        if a.dtype.kind != "f" or not all_finite(a):
            arg = "optimizer" if k.startswith("optimizer.") else "model"
            got = f"{k} not finite" if a.dtype.kind == "f" else f"{k} of dtype {a.dtype}"
            raise fail(arg, "finite numbers in every array (load refuses NaN and infinity)", got=got)
    meta = dict(meta, format=FORMAT, format_version=FORMAT_VERSION, sha256={k: _digest(a) for k, a in arrays.items()})
    for k, v in meta.items():  # the argument that cannot be written, named
        try:
            _dumps(v)
        except (TypeError, ValueError, RecursionError) as e:
            raise fail(_ARGUMENT.get(k, "model"), "JSON-serialisable", got=f"{type(e).__name__}: {e}") from None
    blob = _dumps(meta).encode("utf-8")
    try:
        expected = _check_meta(_parse_json(blob), (meta["kind"],))
    except _Invalid as e:
        raise fail(_ARGUMENT.get(e.field, "model"), "what mlplab.load can read back", got=f"one where {e}") from None
    for k, (shape, dtype) in expected.items():
        if arrays[k].shape != shape or arrays[k].dtype.newbyteorder("<") != dtype:
            got = f"{k} of shape {arrays[k].shape} and dtype {arrays[k].dtype}, its configuration says {shape} {dtype}"
            raise fail(_ARGUMENT.get(k.split(".")[0], "model"), "consistent with its configuration", got=got)
    with atomic_open(path, "wb") as f:
        # a file object, not a name: np.savez would append ".npz" to a name
        np.savez(f, **{_META: np.frombuffer(blob, dtype=np.uint8)}, **arrays)
    return path


@contextlib.contextmanager
def atomic_open(path, mode="w"):
    """Open a temporary file beside ``path`` for writing; on success it is flushed to disk
    and renamed over ``path`` (``os.replace``), on error removed. Readers see the old file
    or the new one, never half of one."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def save(model, path) -> str:
    """Write ``model`` (architecture and weights) to ``path``; returns ``path``.

    The file is an uncompressed ``.npz`` archive (any extension; ``.mlp`` by convention)
    that ``mlplab.load`` reads back without pickle. The write is atomic: a temporary file in
    the same folder is renamed over ``path`` once complete.

    Raises
    ------
    ArgumentError (a TypeError and a ValueError)
        If the model holds a layer class that is not built into mlplab, or anything
        ``mlplab.load`` would refuse: a weight that is NaN or infinite, a configuration it
        could not rebuild (e.g. an MLP whose layers were replaced after it was built).
    """
    _check_savable(model)
    return _write(path, {"kind": "model", "config": model.get_config()}, _param_arrays(model))


def save_checkpoint(path, model, optimizer, epoch, history=None, rng_state=None) -> str:
    """Write a training checkpoint: model, optimizer state, epoch, History and rng state.

    Parameters
    ----------
    path : str or path-like
    model : Sequential
    optimizer : Optimizer
        Its ``state_dict()`` is saved (hyper-parameters, update count t, state arrays).
    epoch : int
        The last finished epoch (0-based); ``fit(resume_from=path)`` continues at epoch + 1.
    history : History or dict, optional
        The History so far (``History.to_dict()`` is saved; a dict must have that form).
    rng_state : dict or numpy Generator, optional
        The generator the training loop shuffles and augments with (``trainer.rng``), or its
        ``bit_generator.state``. The states of the model's Dropout generators are saved too,
        automatically.

    Returns
    -------
    str
        ``path``.

    Raises
    ------
    ArgumentError
        Naming the argument, for anything ``load_checkpoint`` would refuse (as ``save``;
        also an optimizer state that does not fit the model, a non-finite one).
    """
    _check_savable(model)
    check_instance("optimizer", optimizer, optim.Optimizer, "a mlplab Optimizer")
    epoch = check_int("epoch", epoch, 0, _MAX_INT)
    if isinstance(history, History):
        history = history.to_dict()
    elif history is not None:
        check_instance("history", history, dict, "a History, a dict or None")
    if isinstance(rng_state, np.random.Generator):
        rng_state = rng_state.bit_generator.state
    elif rng_state is not None:
        check_instance("rng_state", rng_state, dict, "a numpy Generator, its bit_generator.state dict, or None")
    try:
        sd = optimizer.state_dict()
    except TypeError as e:  # a learning rate without get_config()
        raise fail("optimizer", "an optimizer whose configuration can be saved", got=str(e)) from None
    arrays = _param_arrays(model)
    state = {}
    for k in sorted(sd["state"]):
        a = arrays[f"optimizer.{k}"] = np.asarray(to_numpy(sd["state"][k]), order="C")  # keeps 0-d arrays 0-d
        state[k] = {"shape": list(a.shape), "dtype": a.dtype.name}
    dropouts = {str(i): la.rng.bit_generator.state for i, la in enumerate(model.layers) if isinstance(la, Dropout)}
    opt = {"config": sd["config"], "t": int(sd["t"]), "epoch": int(sd.get("epoch", 0)), "state": state}
    meta = dict(kind="checkpoint", config=model.get_config(), optimizer=opt, epoch=epoch, history=history)
    return _write(path, dict(meta, rng_state=rng_state, dropout_rng_states=dropouts), arrays)


# -- reading ---------------------------------------------------------------------------
def _directory_size(f, size):
    """The size of the zip's central directory, from its end record(s) as zipfile finds
    them (None: no end record, not a zip archive). Read before zipfile parses the directory,
    so that a small file of a million empty members is refused without building them."""
    f.seek(max(0, size - (22 + 65535 + 76)))
    tail = f.read()
    if tail[-22:-18] == b"PK\x05\x06" and tail[-2:] == b"\0\0":
        at = len(tail) - 22
    else:
        at = tail.rfind(b"PK\x05\x06", max(0, len(tail) - 22 - 65535))
        if at < 0 or at + 22 > len(tail):
            return None
    n = struct.unpack("<L", tail[at + 12 : at + 16])[0]
    if at >= 76 and tail[at - 20 : at - 16] == b"PK\x06\x07" and tail[at - 76 : at - 72] == b"PK\x06\x06":
        n = max(n, struct.unpack("<Q", tail[at - 36 : at - 28])[0])  # zip64: zipfile reads this one
    return n


def _read_header(zf, info):
    """(shape, dtype, header length) of one .npy member, from its header only."""
    with zf.open(info) as fp:
        try:
            version = np.lib.format.read_magic(fp)
            if version not in ((1, 0), (2, 0), (3, 0)):
                raise ValueError(f"unsupported .npy version {version}")
            read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, fortran, dtype = read(fp, max_header_size=_MAX_NPY_HEADER)
            header_len = fp.tell()
        except (ValueError, SyntaxError, TypeError, OverflowError) as e:
            raise ModelFileError(f"member {info.filename!r} is not a valid .npy array ({e})") from None
    if dtype.hasobject:
        raise ModelFileError(f"member {info.filename!r} holds Python objects (dtype {dtype}): never loaded (pickle)")
    size = header_len + math.prod(shape) * dtype.itemsize
    if fortran or info.file_size != size:  # mlplab writes C order only
        raise ModelFileError(f"member {info.filename!r} of {info.file_size} bytes announces {size}: it is corrupted")
    return tuple(shape), dtype, header_len


def _members(zf, size) -> dict:
    infos = {}
    for info in zf.infolist():
        stem = info.filename[:-4]
        if not info.filename.endswith(".npy") or stem in infos or len(infos) >= 2 * _MAX_LAYERS:
            raise ModelFileError(f"unexpected archive member {info.filename!r}: not a mlplab model file")
        if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 0x41 or info.compress_size != info.file_size:
            why = "compressed, encrypted or of two sizes (mlplab writes np.savez archives)"
            raise ModelFileError(f"member {info.filename!r} is {why}")
        infos[stem] = info
    if _META not in infos:
        raise ModelFileError(f"not a mlplab model file (no {_META!r} entry): an .npz archive made by something else")
    if sum(i.file_size for i in infos.values()) > size:
        raise ModelFileError(f"the members announce more bytes than the file's {size}: it is corrupted")
    return infos


def _array(zf, info, shape, dtype, header_len):
    """The member's data (the zip CRC checked) as a read-only array; nothing unpickled."""
    return np.frombuffer(zf.read(info), dtype=dtype, offset=header_len).reshape(shape)


def _read_archive(f, size, kinds):
    n = _directory_size(f, size)
    if n is None:
        raise ModelFileError("not a mlplab model file (not an .npz archive: truncated, or a pickle or other format)")
    if n > _MAX_DIRECTORY:
        raise ModelFileError(f"the archive's directory announces {n} bytes, more than a model file's {_MAX_DIRECTORY}")
    with zipfile.ZipFile(f) as zf:
        infos = _members(zf, size)
        shape, dtype, header_len = _read_header(zf, infos[_META])
        if dtype != np.uint8 or len(shape) != 1 or shape[0] > _MAX_META_BYTES:
            raise ModelFileError(f"the {_META!r} entry must be 1-D uint8 JSON, got shape {shape} dtype {dtype}")
        meta = _parse_json(_array(zf, infos[_META], shape, dtype, header_len).tobytes())
        expected = _check_meta(meta, kinds)
        names = set(infos) - {_META}
        if names != set(expected):
            missing, extra = sorted(set(expected) - names), sorted(names - set(expected))
            raise ModelFileError(f"the arrays do not match the architecture: missing {missing}, unexpected {extra}")
        headers = {name: _read_header(zf, infos[name]) for name in expected}
        for name, (shape, dtype) in expected.items():
            if headers[name][:2] != (shape, dtype):
                got, dt = headers[name][:2]
                raise ModelFileError(
                    f"array {name!r} has shape {got} dtype {dt.str}, the architecture's {shape} {dtype.str}"
                )
        arrays = {}
        for name, (shape, dtype) in expected.items():
            a = arrays[name] = _array(zf, infos[name], shape, dtype, headers[name][2])
            if meta["sha256"][name] != _digest(a):
                raise ModelFileError(f"array {name!r} does not match its SHA-256 digest: the file is corrupted")
            if not all_finite(a):
                raise ModelFileError(f"array {name!r} contains NaN or infinity")
    return meta, arrays


def _read(path, kinds=("model", "checkpoint")):
    """Validate a model file and return (meta, arrays). Opening it may raise OSError
    (FileNotFoundError, PermissionError); everything after, ModelFileError."""
    fspath = check_path("path", path)
    if not os.path.isfile(fspath):
        raise FileNotFoundError(f"no such model file: {fspath!r}")
    with open(fspath, "rb") as f:
        try:
            return _read_archive(f, os.fstat(f.fileno()).st_size, kinds)
        except ModelFileError as e:
            raise ModelFileError(f"{fspath}: {e}") from None
        except _Invalid as e:
            raise ModelFileError(f"{fspath}: invalid metadata: {e}") from None
        except _READ_ERRORS as e:
            raise ModelFileError(f"{fspath}: corrupted, or not a mlplab model file ({type(e).__name__}: {e})") from None


def _build(path, meta, arrays):
    try:  # the schema was checked: a failure here is a damaged file all the same
        model = model_from_config(meta["config"])
        for i, layer in enumerate(model.layers):
            for n in layer.param_names:
                setattr(layer, n, arrays[f"layers.{i}.{n}"])
    except _READ_ERRORS as e:
        raise ModelFileError(f"{os.fspath(path)}: invalid model configuration ({type(e).__name__}: {e})") from None
    return model


def load(path):
    """Read a model written by ``model.save(path)`` (or the model of a checkpoint).

    Returns
    -------
    Sequential or MLP
        The architecture with its saved weights, in its saved dtype.

    Raises
    ------
    ModelFileError
        If the file is not a mlplab model file, or is truncated, corrupted, tampered with,
        inconsistent, or holds pickled objects. Nothing from the file is executed, and nothing
        larger than what the file truly holds is allocated.
    OSError
        If the file cannot be opened (FileNotFoundError if there is no such file).
    """
    meta, arrays = _read(path)
    return _build(path, meta, arrays)


@dataclass
class Checkpoint:
    """What ``load_checkpoint`` returns.

    Attributes
    ----------
    model : Sequential
        With the saved weights and the saved states of its Dropout generators.
    optimizer : Optimizer
        Rebuilt from its configuration, with its state (t, epoch, arrays) restored.
    epoch : int
        The last finished epoch; a resumed ``fit`` starts at ``epoch + 1``.
    history : History
    rng_state : dict or None
        The ``bit_generator.state`` of ``fit``'s random generator.
    """

    model: object
    optimizer: object
    epoch: int
    history: object
    rng_state: dict | None = None
    dropout_rng_states: dict = field(default_factory=dict)


def load_checkpoint(path) -> Checkpoint:
    """Read a checkpoint written by ``save_checkpoint`` (see ``Checkpoint``).

    Raises
    ------
    ModelFileError
        As ``load``; also when the file is a plain model file, not a checkpoint, or when
        its optimizer state does not fit the model (every state array has the model's
        parameter count, or the optimizer's scalar shape).
    """
    meta, arrays = _read(path, kinds=("checkpoint",))
    model = _build(path, meta, arrays)
    opt = meta["optimizer"]
    try:  # all checked by _check_meta
        for key, state in meta["dropout_rng_states"].items():
            model.layers[int(key)].rng = _check_rng(state, "dropout_rng_states")
        optimizer = _new_optimizer(opt["config"])
        state = {k: arrays[f"optimizer.{k}"] for k in opt["state"]}
        optimizer.load_state_dict({"config": opt["config"], "t": opt["t"], "epoch": opt["epoch"], "state": state})
    except (_Invalid, *_READ_ERRORS) as e:
        raise ModelFileError(f"{os.fspath(path)}: invalid optimizer or generator state ({e})") from None
    history = History.from_dict(meta["history"] or {})
    return Checkpoint(model, optimizer, meta["epoch"], history, meta["rng_state"], meta["dropout_rng_states"])
