"""Model files and training checkpoints, without pickle.

A model file (``model.save(path)``, ``mlplab.load(path)``) is a NumPy ``.npz`` archive
(an uncompressed zip of ``.npy`` arrays) holding::

    __mlplab__          the metadata: UTF-8 JSON as a uint8 array (format name and version,
                        kind, the architecture from ``model.get_config()``, a SHA-256 digest
                        of every array)
    layers.<i>.W        the parameters of layer i, in the model's dtype
    layers.<i>.b

A checkpoint (``save_checkpoint``, ``load_checkpoint``, ``fit(resume_from=path)``) is the
same file with ``kind = "checkpoint"`` and, besides the model, everything a resumed run needs
to continue bit for bit: the optimizer's ``state_dict()`` (its arrays stored as
``optimizer.<name>``; its current and initial learning rates), the last finished epoch, the
History so far, the state of the training loop's random generator and of every Dropout
layer's generator, the states of the stateful callbacks (weights among them stored as
``callbacks.<i>.<name>``) and a fingerprint of the training data (``Trainer.save_checkpoint``).

Loading never runs code from the file, and refuses every malformed file with
``ModelFileError`` (a ``ValueError``) naming the file and the cause, before anything of the
model's size is allocated:

1. the archive: its end record announces a central directory of at most ``MAX_DIRECTORY``
   bytes; every member is a stored (uncompressed, unencrypted) ``.npy`` file, the members
   together no larger than the file;
2. the metadata: at most ``MAX_META_BYTES`` of UTF-8 JSON, nested at most ``_MAX_DEPTH``
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
import errno
import hashlib
import math
import os
import secrets
import struct
import zipfile
from dataclasses import dataclass, field

import numpy as np

from . import activations, optim
from ._validation import check_instance, check_int, check_list, check_path, fail
from .backend import all_finite, to_numpy
from .errors import ModelFileError
from .history import History
from .layers import Dense, Dropout
from .model import Sequential
from .schema import (
    FORMAT,
    FORMAT_VERSION,
    MAX_DIRECTORY,
    MAX_INT,
    MAX_LAYERS,
    MAX_META_BYTES,
    MAX_NPY_HEADER,
    Invalid,
    check_meta,
    check_rng,
    dumps,
    model_from_config,
    new_optimizer,
    parse_json,
)

__all__ = ["ModelFileError", "Checkpoint", "save", "load", "save_checkpoint", "load_checkpoint"]
__all__ += ["FORMAT", "FORMAT_VERSION", "atomic_open"]

_META = "__mlplab__"

#: what reading a damaged file may raise, from zipfile, numpy, json or a constructor
# (ValueError covers UnicodeDecodeError, RuntimeError NotImplementedError and RecursionError)
_READ_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, RuntimeError, ValueError)
_READ_ERRORS += (OverflowError, LookupError, TypeError, AttributeError, struct.error)


# -- writing ---------------------------------------------------------------------------
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
_ARGUMENT.update(callbacks="callback_states", data="data")


def _write(path, meta: dict, arrays: dict) -> str:
    """Write the file after the checks ``load`` will make: what it would refuse is refused
    here, with an ArgumentError naming the argument at fault."""
    path = check_path("path", path)
    arrays = {k: np.asarray(v) for k, v in arrays.items()}
    for k, a in arrays.items():
        if a.dtype.kind != "f" or not all_finite(a):
            arg = _ARGUMENT.get(k.split(".")[0], "model")
            got = f"{k} not finite" if a.dtype.kind == "f" else f"{k} of dtype {a.dtype}"
            raise fail(arg, "finite numbers in every array (load refuses NaN and infinity)", got=got)
    meta = dict(meta, format=FORMAT, format_version=FORMAT_VERSION, sha256={k: _digest(a) for k, a in arrays.items()})
    for k, v in meta.items():  # the argument that cannot be written, named
        try:
            dumps(v)
        except (TypeError, ValueError, RecursionError) as e:
            raise fail(_ARGUMENT.get(k, "model"), "JSON-serialisable", got=f"{type(e).__name__}: {e}") from None
    blob = dumps(meta).encode("utf-8")
    try:
        expected = check_meta(parse_json(blob), (meta["kind"],))
    except Invalid as e:
        raise fail(_ARGUMENT.get(e.field, "model"), "what mlplab.load can read back", got=f"one where {e}") from None
    for k, (shape, dtype) in expected.items():
        if arrays[k].shape != shape or arrays[k].dtype.newbyteorder("<") != dtype:
            got = f"{k} of shape {arrays[k].shape} and dtype {arrays[k].dtype}, its configuration says {shape} {dtype}"
            raise fail(_ARGUMENT.get(k.split(".")[0], "model"), "consistent with its configuration", got=got)
    with atomic_open(path, "wb") as f:
        # a file object, not a name: np.savez would append ".npz" to a name
        np.savez(f, **{_META: np.frombuffer(blob, dtype=np.uint8)}, **arrays)
    return path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, but another user's
        return True
    return True


def _clean_stale(folder, name):
    """Remove the temporary files that saves to ``name`` left when their process died (the
    writer's pid is in the file's name, so a save in progress elsewhere is never touched)."""
    prefix = f".{name}."
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            parts = entry.name[len(prefix) :].split(".")
            if entry.name.startswith(prefix) and len(parts) == 3 and parts[2] == "tmp" and parts[0].isdigit():
                if not _alive(int(parts[0])):
                    with contextlib.suppress(OSError):
                        os.unlink(entry.path)


@contextlib.contextmanager
def atomic_open(path, mode="w"):
    """Open a temporary file beside ``path`` for writing; on success it is flushed to disk
    and renamed over ``path`` (``os.replace``), on error removed. Readers see the old file
    or the new one, never half of one. The file gets the permissions the user's umask gives
    (as any tool's files), and temporary files left by a save that was killed are removed.

    Parameters
    ----------
    path : str or path-like
        The file to write.
    mode : str, default "w"
        A writing mode of ``open`` ("w", "wb").

    Yields
    ------
    file object
        The temporary file, open in ``mode``.

    Raises
    ------
    ArgumentError
        ``path`` is not a non-empty str or path-like.
    OSError
        The folder cannot be written; whatever the block raises is raised again, after the
        temporary file is removed.
    """
    path = check_path("path", path)
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, "a folder, not a file to write", path)
    folder, name = os.path.split(os.path.abspath(path))
    _clean_stale(folder, name)
    while True:  # created by open() with mode 0o666: the kernel applies the umask
        tmp = os.path.join(folder, f".{name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
            break
        except FileExistsError:
            continue
        except OSError as e:  # the error names the file asked for, not the temporary one
            raise type(e)(e.errno, e.strerror, path) from None
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        try:
            os.replace(tmp, path)
        except OSError as e:  # e.g. path is a folder
            raise type(e)(e.errno, e.strerror, path) from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def save(model, path) -> str:
    """Write ``model`` (architecture and weights) to ``path``; returns ``path``.

    The file is an uncompressed ``.npz`` archive (any extension; ``.mlp`` by convention)
    that ``mlplab.load`` reads back without pickle. The write is atomic: a temporary file in
    the same folder is renamed over ``path`` once complete.

    Parameters
    ----------
    model : Sequential
        The model to save.
    path : str or path-like
        The file to write (replaced if it exists).

    Returns
    -------
    str
        ``path``.

    Raises
    ------
    ArgumentError (a TypeError and a ValueError)
        If the model holds a layer class that is not built into mlplab, or anything
        ``mlplab.load`` would refuse: a weight that is NaN or infinite, a configuration it
        could not rebuild (e.g. an MLP whose layers were replaced after it was built), or
        an invalid ``path``.
    OSError
        The file cannot be written.
    """
    _check_savable(model)
    return _write(path, {"kind": "model", "config": model.get_config()}, _param_arrays(model))


def save_checkpoint(
    path, model, optimizer, epoch, history=None, rng_state=None, *, callback_states=(), data=None
) -> str:
    """Write a training checkpoint: model, optimizer state, epoch, History and rng state.

    Parameters
    ----------
    path : str or path-like
        The file to write (replaced if it exists).
    model : Sequential
        The model whose architecture and weights are saved.
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
    callback_states : sequence of (class name, dict), keyword-only
        The states of the training's callbacks (``Callback.state_dict()``): JSON values, and
        arrays of the model's parameter count (weights), stored as arrays of the file.
    data : dict, optional, keyword-only
        The fingerprint of the training data (``BatchSource.fingerprint()``).

    Returns
    -------
    str
        ``path``, the checkpoint written.

    Raises
    ------
    ArgumentError
        Naming the argument, for anything ``load_checkpoint`` would refuse (as ``save``;
        also an optimizer state that does not fit the model, a non-finite one).
    OSError
        The file cannot be written.
    """
    _check_savable(model)
    check_instance("optimizer", optimizer, optim.Optimizer, "a mlplab Optimizer")
    epoch = check_int("epoch", epoch, 0, MAX_INT)
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
    if sd.get("initial_lr") is not None:
        opt["initial_lr"] = sd["initial_lr"]
    meta = dict(kind="checkpoint", config=model.get_config(), optimizer=opt, epoch=epoch, history=history)
    meta.update(rng_state=rng_state, dropout_rng_states=dropouts, data=data)
    meta["callbacks"] = entries = []
    pairs = check_list("callback_states", callback_states, "a list of (class name, state dict) pairs")
    for i, pair in enumerate(pairs):
        ok = isinstance(pair, (tuple, list)) and len(pair) == 2 and isinstance(pair[0], str)
        if not ok or not isinstance(pair[1], dict):
            raise fail(f"callback_states[{i}]", "a (class name, state dict) pair", pair)
        name, st = pair
        names = sorted(k for k, v in st.items() if isinstance(v, np.ndarray))
        arrays.update({f"callbacks.{i}.{k}": np.ascontiguousarray(st[k], dtype=model.dtype) for k in names})
        entries.append({"class": name, "state": {k: v for k, v in st.items() if k not in names}, "arrays": names})
    return _write(path, meta, arrays)


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
            shape, fortran, dtype = read(fp, max_header_size=MAX_NPY_HEADER)
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
        if not info.filename.endswith(".npy") or stem in infos or len(infos) >= 2 * MAX_LAYERS:
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
    if n > MAX_DIRECTORY:
        raise ModelFileError(f"the archive's directory announces {n} bytes, more than a model file's {MAX_DIRECTORY}")
    with zipfile.ZipFile(f) as zf:
        infos = _members(zf, size)
        shape, dtype, header_len = _read_header(zf, infos[_META])
        if dtype != np.uint8 or len(shape) != 1 or shape[0] > MAX_META_BYTES:
            raise ModelFileError(f"the {_META!r} entry must be 1-D uint8 JSON, got shape {shape} dtype {dtype}")
        meta = parse_json(_array(zf, infos[_META], shape, dtype, header_len).tobytes())
        expected = check_meta(meta, kinds)
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
    if os.path.isdir(fspath):
        raise IsADirectoryError(errno.EISDIR, "a folder, not a model file", fspath)
    if not os.path.isfile(fspath):
        raise FileNotFoundError(f"no such model file: {fspath!r}")
    with open(fspath, "rb") as f:
        try:
            return _read_archive(f, os.fstat(f.fileno()).st_size, kinds)
        except ModelFileError as e:
            raise ModelFileError(f"{fspath}: {e}") from None
        except Invalid as e:
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

    Parameters
    ----------
    path : str or path-like
        The model file.

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
    ArgumentError
        ``path`` is not a non-empty str or path-like.
    """
    meta, arrays = _read(path)
    return _build(path, meta, arrays)


@dataclass
class Checkpoint:
    """What ``load_checkpoint`` returns (a dataclass: each field is an argument of the
    constructor and an attribute).

    Parameters
    ----------
    model : Sequential
        With the saved weights and the saved states of its Dropout generators.
    optimizer : Optimizer
        Rebuilt from its configuration, with its state (t, epoch, arrays) restored.
    epoch : int
        The last finished epoch; a resumed ``fit`` starts at ``epoch + 1``.
    history : History
        The History up to ``epoch``.
    rng_state : dict or None
        The ``bit_generator.state`` of ``fit``'s random generator.
    dropout_rng_states : dict
        Layer index (a str) -> the ``bit_generator.state`` of that Dropout layer.
    callback_states : list of (class name, dict)
        The callbacks' ``state_dict()``, weights as arrays of the model's dtype.
    data : dict or None
        The fingerprint of the training data (``BatchSource.fingerprint()``).
    """

    model: object
    optimizer: object
    epoch: int
    history: object
    rng_state: dict | None = None
    dropout_rng_states: dict = field(default_factory=dict)
    callback_states: list = field(default_factory=list)
    data: dict | None = None


def load_checkpoint(path) -> Checkpoint:
    """Read a checkpoint written by ``save_checkpoint`` (see ``Checkpoint``).

    Parameters
    ----------
    path : str or path-like
        The checkpoint file.

    Returns
    -------
    Checkpoint
        The model, the optimizer, the epoch, the History and the generators' states.

    Raises
    ------
    ModelFileError
        As ``load``; also when the file is a plain model file, not a checkpoint, or when
        its optimizer state does not fit the model (every state array has the model's
        parameter count, or the optimizer's scalar shape).
    OSError
        If the file cannot be opened (FileNotFoundError if there is no such file).
    ArgumentError
        ``path`` is not a non-empty str or path-like.
    """
    meta, arrays = _read(path, kinds=("checkpoint",))
    model = _build(path, meta, arrays)
    opt = meta["optimizer"]
    try:  # all checked by _check_meta
        for key, state in meta["dropout_rng_states"].items():
            model.layers[int(key)].rng = check_rng(state, "dropout_rng_states")
        optimizer = new_optimizer(opt["config"])
        state = {k: arrays[f"optimizer.{k}"] for k in opt["state"]}
        sd = {"config": opt["config"], "t": opt["t"], "epoch": opt["epoch"], "state": state}
        optimizer.load_state_dict(dict(sd, initial_lr=opt.get("initial_lr")))
    except (Invalid, *_READ_ERRORS) as e:
        raise ModelFileError(f"{os.fspath(path)}: invalid optimizer or generator state ({e})") from None
    history = History.from_dict(meta["history"] or {})
    states = [
        (e["class"], {**e["state"], **{k: arrays[f"callbacks.{i}.{k}"] for k in e["arrays"]}})
        for i, e in enumerate(meta.get("callbacks", []))
    ]
    return Checkpoint(
        model,
        optimizer,
        meta["epoch"],
        history,
        meta["rng_state"],
        meta["dropout_rng_states"],
        states,
        meta.get("data"),
    )
