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

Loading never runs code from the file. The archive is read with ``allow_pickle=False``; every
member's ``.npy`` header is read first and an object dtype (a pickle in disguise), an
unexpected member, a shape or dtype that does not match the architecture, or a digest that
does not match the data is refused with ``ModelFileError`` (a ``ValueError``) before any
array is used. The architecture names only built-in layer classes (``model_from_config``).
Saving writes a temporary file in the destination folder and renames it over ``path``
(``os.replace``), so a crash mid-write never leaves a half-written model behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import tempfile
import zipfile
from dataclasses import dataclass, field

import numpy as np

from . import activations, optim, schedules
from ._validation import check_instance, check_int, check_path, fail
from .backend import as_dtype, to_numpy
from .errors import ModelFileError
from .history import History
from .layers import Dense, Dropout
from .model import Sequential, model_from_config

__all__ = [
    "ModelFileError",
    "Checkpoint",
    "save",
    "load",
    "save_checkpoint",
    "load_checkpoint",
    "FORMAT",
    "FORMAT_VERSION",
    "atomic_open",
]

FORMAT = "mlplab"
FORMAT_VERSION = 1
_META = "__mlplab__"
_MAX_META_BYTES = 64 << 20  # the JSON of a real model is a few kB; refuse absurd headers
_MAX_NPY_HEADER = 10_000  # numpy's own default limit for .npy headers


# -- writing ---------------------------------------------------------------------------
def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, tuple):
        return list(o)
    raise TypeError(f"{type(o).__name__} is not JSON-serialisable")


def _digest(a: np.ndarray) -> str:
    h = hashlib.sha256()
    h.update(f"{a.dtype.str}{a.shape}".encode())
    h.update(np.asarray(a, order="C").tobytes())
    return h.hexdigest()


def _check_savable(model):
    check_instance("model", model, Sequential, "a mlplab Sequential or MLP")
    known = {Dense, Dropout, *activations.ACTIVATIONS.values()}
    for i, layer in enumerate(model.layers):
        if type(layer) not in known:
            raise fail(
                f"model.layers[{i}]",
                "one of mlplab's built-in layers (Dense, Dropout, the activations): "
                "loading never runs code from a file",
                got=f"a {type(layer).__name__}",
            )


def _param_arrays(model) -> dict:
    return {
        f"layers.{i}.{n}": np.ascontiguousarray(to_numpy(getattr(layer, n)))
        for i, layer in enumerate(model.layers)
        for n in layer.param_names
    }


def _dropout_states(model) -> dict:
    return {str(i): layer.rng.bit_generator.state for i, layer in enumerate(model.layers) if isinstance(layer, Dropout)}


def _write(path, meta: dict, arrays: dict) -> str:
    path = check_path("path", path)
    arrays = {k: np.asarray(v) for k, v in arrays.items()}
    for k, a in arrays.items():
        if a.dtype.hasobject:
            raise fail(f"array {k!r}", "numbers (model files never hold pickled objects)", got="dtype object")
    meta = dict(meta, format=FORMAT, format_version=FORMAT_VERSION, sha256={k: _digest(a) for k, a in arrays.items()})
    blob = json.dumps(meta, default=_json_default, sort_keys=True).encode("utf-8")
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
    TypeError
        If the model holds a layer class that is not built into mlplab.
    """
    _check_savable(model)
    meta = {"kind": "model", "config": model.get_config()}
    return _write(path, meta, _param_arrays(model))


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
        The History so far (``History.to_dict()`` is saved).
    rng_state : dict or numpy Generator, optional
        The generator the training loop shuffles and augments with (``trainer.rng``), or its
        ``bit_generator.state``. The states of the model's Dropout generators are saved too,
        automatically.

    Returns
    -------
    str
        ``path``.
    """
    _check_savable(model)
    check_instance("optimizer", optimizer, optim.Optimizer, "a mlplab Optimizer")
    epoch = check_int("epoch", epoch, 0)
    if isinstance(history, History):
        history = history.to_dict()
    elif history is not None:
        check_instance("history", history, dict, "a History, a dict or None")
    if isinstance(rng_state, np.random.Generator):
        rng_state = rng_state.bit_generator.state
    elif rng_state is not None:
        check_instance("rng_state", rng_state, dict, "a numpy Generator, its bit_generator.state dict, or None")
    sd = optimizer.state_dict()
    arrays = _param_arrays(model)
    state = {}
    for k in sorted(sd["state"]):
        a = arrays[f"optimizer.{k}"] = np.asarray(to_numpy(sd["state"][k]), order="C")  # keeps 0-d arrays 0-d
        state[k] = {"shape": list(a.shape), "dtype": a.dtype.name}
    meta = {
        "kind": "checkpoint",
        "config": model.get_config(),
        "optimizer": {"config": sd["config"], "t": int(sd["t"]), "epoch": int(sd.get("epoch", 0)), "state": state},
        "epoch": int(epoch),
        "history": history,
        "rng_state": rng_state,
        "dropout_rng_states": _dropout_states(model),
    }
    return _write(path, meta, arrays)


# -- reading ---------------------------------------------------------------------------
def _fail(path, msg):
    return ModelFileError(f"{os.fspath(path)}: {msg}")


def _read_header(zf, info, path):
    """(shape, dtype) of one .npy member, from its header only."""
    with zf.open(info) as fp:
        try:
            version = np.lib.format.read_magic(fp)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp, max_header_size=_MAX_NPY_HEADER)
            elif version in ((2, 0), (3, 0)):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp, max_header_size=_MAX_NPY_HEADER)
            else:
                raise ValueError(f"unsupported .npy version {version}")
            header_len = fp.tell()
        except Exception as e:
            raise _fail(path, f"member {info.filename!r} is not a valid .npy array ({e})") from None
    if dtype.hasobject:
        raise _fail(
            path,
            f"member {info.filename!r} holds Python objects (dtype {dtype}); model files "
            f"never hold pickled data, refusing to load it",
        )
    nbytes = math.prod(shape) * dtype.itemsize
    if info.file_size != header_len + nbytes:
        raise _fail(
            path,
            f"member {info.filename!r} has {info.file_size} bytes, its header announces "
            f"{header_len + nbytes}: the file is truncated or corrupted",
        )
    return tuple(shape), dtype


def _read(path, kinds=("model", "checkpoint")):
    """Validate a model file and return (meta, arrays)."""
    fspath = check_path("path", path)
    if not os.path.isfile(fspath):
        raise FileNotFoundError(f"no such model file: {fspath!r}")
    if not zipfile.is_zipfile(fspath):
        raise _fail(
            path, "not a mlplab model file (not an .npz archive; truncated, or another format such as a pickle)"
        )
    try:
        zf = zipfile.ZipFile(fspath)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
        raise _fail(path, f"not a readable .npz archive ({e})") from None
    with zf:
        infos = {}
        for info in zf.infolist():
            if not info.filename.endswith(".npy") or info.filename[:-4] in infos:
                raise _fail(path, f"unexpected archive member {info.filename!r}: not a mlplab model file")
            if info.compress_type != zipfile.ZIP_STORED:
                raise _fail(
                    path,
                    f"member {info.filename!r} is compressed; mlplab writes uncompressed "
                    f"archives only (np.savez, not np.savez_compressed)",
                )
            infos[info.filename[:-4]] = info
        if _META not in infos:
            raise _fail(
                path, f"not a mlplab model file (no {_META!r} entry); it is an .npz archive made by something else"
            )
        headers = {name: _read_header(zf, info, path) for name, info in infos.items()}
        shape, dtype = headers[_META]
        if dtype != np.uint8 or len(shape) != 1 or shape[0] > _MAX_META_BYTES:
            raise _fail(
                path,
                f"the {_META!r} entry must be a 1-D uint8 array of at most {_MAX_META_BYTES} "
                f"bytes, got shape {shape} and dtype {dtype}",
            )
        meta = _parse_meta(path, _load_member(zf, infos[_META], path), kinds)
        expected = _expected_arrays(path, meta)
        names = set(infos) - {_META}
        if names != set(expected):
            missing, extra = sorted(set(expected) - names), sorted(names - set(expected))
            raise _fail(path, f"the arrays do not match the architecture: missing {missing}, unexpected {extra}")
        for name, (shape, dtype) in expected.items():
            if headers[name] != (shape, dtype):
                raise _fail(
                    path,
                    f"array {name!r} has shape {headers[name][0]} and dtype {headers[name][1]}, "
                    f"the architecture needs shape {shape} and dtype {dtype}",
                )
        digests = meta.get("sha256")
        if not isinstance(digests, dict):
            raise _fail(path, "the metadata has no 'sha256' table of array digests")
        arrays = {}
        for name in expected:
            a = _load_member(zf, infos[name], path)
            if digests.get(name) != _digest(a):
                raise _fail(
                    path, f"array {name!r} does not match its SHA-256 digest: the file is corrupted or was modified"
                )
            if not np.isfinite(a).all():
                raise _fail(path, f"array {name!r} contains NaN or infinity")
            arrays[name] = a
    return meta, arrays


def _load_member(zf, info, path):
    try:
        with zf.open(info) as fp:
            return np.lib.format.read_array(fp, allow_pickle=False, max_header_size=_MAX_NPY_HEADER)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
        raise _fail(
            path, f"member {info.filename!r} could not be read ({e}): the file is truncated or corrupted"
        ) from None


def _parse_meta(path, raw, kinds):
    try:
        meta = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise _fail(path, f"the metadata is not valid JSON ({e})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise _fail(
            path, f"not a mlplab model file (format {meta.get('format') if isinstance(meta, dict) else None!r})"
        )
    version = meta.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise _fail(path, f"format_version must be an int, got {version!r}")
    if version > FORMAT_VERSION:
        raise _fail(
            path,
            f"written by a newer mlplab (format version {version}); this mlplab reads "
            f"versions up to {FORMAT_VERSION}: upgrade mlplab",
        )
    if version < 1:
        raise _fail(path, f"unknown format version {version}")
    if meta.get("kind") not in kinds:
        raise _fail(path, f"holds a {meta.get('kind')!r}, expected {' or '.join(map(repr, kinds))}")
    if not isinstance(meta.get("config"), dict):
        raise _fail(path, "the metadata has no model configuration")
    return meta


def _expected_arrays(path, meta) -> dict:
    """name -> (shape, dtype) of every array the metadata announces, from the configuration
    alone: nothing is allocated before the file is known to hold all of it."""
    cfg = meta["config"]
    try:
        dtype = as_dtype(cfg.get("dtype", "float32"))
        layers = cfg["layers"]
        if not isinstance(layers, list):
            raise TypeError("'layers' must be a list")
        out = {}
        for i, d in enumerate(layers):
            if d["class"] == "Dense":
                n_in, n_out = d["config"]["in_features"], d["config"]["out_features"]
                for v in (n_in, n_out):
                    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                        raise ValueError(f"layer {i}: widths must be positive ints, got {v!r}")
                out[f"layers.{i}.W"] = ((n_in, n_out), dtype)
                out[f"layers.{i}.b"] = ((n_out,), dtype)
    except (KeyError, TypeError, ValueError) as e:
        raise _fail(path, f"invalid model configuration ({type(e).__name__}: {e})") from None
    if meta["kind"] == "checkpoint":
        opt = meta.get("optimizer")
        if not isinstance(opt, dict) or not isinstance(opt.get("state"), dict):
            raise _fail(path, "the checkpoint has no optimizer state")
        n = sum(math.prod(s) for s, _ in out.values())
        for k, spec in opt["state"].items():
            # state arrays are laid out as the flat parameter buffer, or are a few scalars:
            # never larger than the model, so a file cannot make the loader allocate more
            shape = spec.get("shape") if isinstance(spec, dict) else None
            kind = spec.get("dtype") if isinstance(spec, dict) else None
            if (
                not k.isidentifier()
                or not isinstance(shape, list)
                or len(shape) > 1
                or not all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= n for d in shape)
                or kind not in ("float32", "float64")
            ):
                raise _fail(
                    path,
                    f"invalid optimizer state {k!r}: {spec!r} (expected a 0-d or 1-d array of at "
                    f"most {n} float32 or float64 numbers)",
                )
            shape = tuple(shape)
            out[f"optimizer.{k}"] = (shape, np.dtype(kind))
    return out


def _build(path, meta, arrays):
    try:
        model = model_from_config(meta["config"])
    except (KeyError, TypeError, ValueError) as e:
        raise _fail(path, f"invalid model configuration ({type(e).__name__}: {e})") from None
    for i, layer in enumerate(model.layers):
        for n in layer.param_names:
            name = f"layers.{i}.{n}"
            if name not in arrays or arrays[name].shape != getattr(layer, n).shape:
                raise _fail(path, f"array {name!r} does not match the rebuilt architecture")
            setattr(layer, n, arrays[name])
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
        or holds pickled objects. Nothing from the file is executed.
    FileNotFoundError
        If there is no such file.
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


def _optimizer_from_state(path, opt_meta, arrays):
    cfg = opt_meta.get("config")
    if not isinstance(cfg, dict) or not isinstance(cfg.get("name"), str):
        raise _fail(path, "the optimizer configuration has no 'name'")
    classes = {cls.__name__: cls for cls in optim.OPTIMIZERS.values()}
    cls = classes.get(cfg["name"])
    if cls is None:
        raise _fail(path, f"unknown optimizer {cfg['name']!r}; known: {sorted(classes)}")
    kwargs = {k: (tuple(v) if isinstance(v, list) else v) for k, v in cfg.items() if k != "name"}
    try:
        if isinstance(kwargs.get("lr"), dict):
            kwargs["lr"] = schedules.from_config(kwargs["lr"]["schedule"])
        opt = cls(**kwargs)
        state = {k: arrays[f"optimizer.{k}"] for k in opt_meta["state"]}
        opt.load_state_dict({"config": cfg, "t": opt_meta["t"], "epoch": opt_meta.get("epoch", 0), "state": state})
    except (KeyError, TypeError, ValueError) as e:
        raise _fail(path, f"invalid optimizer state ({type(e).__name__}: {e})") from None
    return opt


def _set_rng_state(rng, state, what, path):
    try:
        rng.bit_generator.state = state
    except (KeyError, TypeError, ValueError) as e:
        raise _fail(path, f"invalid random generator state for {what} ({type(e).__name__}: {e})") from None


def load_checkpoint(path) -> Checkpoint:
    """Read a checkpoint written by ``save_checkpoint`` (see ``Checkpoint``).

    Raises
    ------
    ModelFileError
        As ``load``; also when the file is a plain model file, not a checkpoint.
    """
    meta, arrays = _read(path, kinds=("checkpoint",))
    model = _build(path, meta, arrays)
    dropout_states = meta.get("dropout_rng_states") or {}
    if not isinstance(dropout_states, dict):
        raise _fail(path, "dropout_rng_states must be a mapping")
    for key, state in dropout_states.items():
        i = int(key) if isinstance(key, str) and key.isdigit() else -1
        if not (0 <= i < len(model.layers)) or not isinstance(model.layers[i], Dropout):
            raise _fail(path, f"dropout_rng_states names layer {key!r}, which is not a Dropout layer")
        _set_rng_state(model.layers[i].rng, state, f"Dropout layer {i}", path)
    optimizer = _optimizer_from_state(path, meta["optimizer"], arrays)
    epoch = meta.get("epoch")
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
        raise _fail(path, f"epoch must be an int >= 0, got {epoch!r}")
    hist = meta.get("history")
    if hist is not None and not isinstance(hist, dict):
        raise _fail(path, "history must be a mapping")
    rng_state = meta.get("rng_state")
    if rng_state is not None:
        if not isinstance(rng_state, dict):
            raise _fail(path, "rng_state must be a mapping")
        _set_rng_state(np.random.default_rng(), rng_state, "fit's generator", path)  # validates it
    return Checkpoint(
        model=model,
        optimizer=optimizer,
        epoch=epoch,
        history=History.from_dict(hist or {}),
        rng_state=rng_state,
        dropout_rng_states=dropout_states,
    )
