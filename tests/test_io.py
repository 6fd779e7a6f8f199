"""Model files and checkpoints (mlplab.io): round trips, refusal of bad files, bit-identical resume.

Oracles: a loaded model must reproduce the saved model's predictions exactly (the same
float bits); a resumed run must reproduce the uninterrupted run's weights and History
exactly. A refused file must raise ModelFileError and run nothing: the pickle payloads below
would create a marker file if anything unpickled them, and a control shows they do.

Malformed files are forged as a deliberate editor would forge them (a valid archive, digests
matching the arrays), so that each is refused by the check of its one change; a control shows
an unchanged forgery loads. The fuzz tests mutate bytes of real files (bit flips, truncation,
removed, inserted and overwritten bytes) with fixed seeds for MLPLAB_FUZZ_SECONDS in all
(default 5): each mutated file is refused with ModelFileError or loads the identical model.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import io as pyio
import json
import os
import pathlib
import pickle
import stat
import subprocess
import sys
import time
import tracemalloc
import zipfile

import numpy as np
import pytest

import mlplab as ml
from mlplab import cli, io


def _models(dtype):
    return [
        ml.MLP([5, 7, 6, 3], activation="relu", output="softmax", dtype=dtype, seed=0),
        ml.MLP([5, 7, 2], activation=ml.LeakyReLU(0.2), output="sigmoid", dtype=dtype, seed=1, dropout=0.3),
        ml.MLP([5, 4, 1], activation="elu", dtype=dtype, seed=2),
        ml.Sequential(
            [
                ml.Dense(5, 6, seed=3, dtype=dtype),
                ml.ELU(0.5),
                ml.Dropout(0.1),
                ml.Dense(6, 6, seed=4, dtype=dtype),
                ml.GELU(),
                ml.Dense(6, 4, seed=5, dtype=dtype),
                ml.Softplus(),
                ml.Dense(4, 2, seed=6, dtype=dtype),
                ml.Tanh(),
                ml.LeakyReLU(0.05),
                ml.Identity(),
                ml.Sigmoid(),
            ],
            dtype=dtype,
        ),
    ]


@pytest.mark.parametrize("k", range(4))
def test_round_trip_is_exact(tmp_path, dtype, rng, k):
    model = _models(dtype.name)[k]
    model.set_weights(rng.normal(size=model.n_params))  # not the initial weights: they are saved
    X = rng.normal(size=(9, 5))
    path = tmp_path / "model.mlp"
    assert model.save(path) == str(path)
    loaded = ml.load(path)
    assert type(loaded) is type(model) and loaded.dtype == model.dtype
    assert loaded.get_config() == model.get_config()
    np.testing.assert_array_equal(loaded.get_weights(), model.get_weights())
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_activation_arguments_survive(tmp_path):
    seq = _models("float64")[3]
    seq.save(tmp_path / "s.mlp")
    loaded = ml.load(tmp_path / "s.mlp")
    assert loaded.layers[1].alpha == 0.5 and loaded.layers[9].negative_slope == 0.05
    mlp = _models("float64")[1]
    mlp.save(tmp_path / "m.mlp")
    assert ml.load(tmp_path / "m.mlp").layers[1].negative_slope == 0.2


def test_save_is_atomic_and_overwrites(tmp_path, rng):
    path = tmp_path / "m.mlp"
    a, b = ml.MLP([3, 4, 2], seed=0), ml.MLP([3, 5, 2], seed=1)
    a.save(path)
    b.save(path)
    assert sorted(os.listdir(tmp_path)) == ["m.mlp"]  # no temporary file left behind
    assert ml.load(path).sizes == [3, 5, 2]
    assert np.load(path, allow_pickle=False)["__mlplab__"].dtype == np.uint8  # a plain .npz


def test_save_refuses_custom_layers(tmp_path):
    class Custom(ml.Layer):
        def forward(self, X, training=False):
            return X

    model = ml.Sequential([ml.Dense(2, 3), Custom()])
    with pytest.raises(TypeError, match="Custom"):
        model.save(tmp_path / "m.mlp")
    assert not os.listdir(tmp_path)


# -- files that must be refused --------------------------------------------------------------
@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "good.mlp"
    ml.MLP([4, 8, 3], output="softmax", seed=0, dtype="float64").save(path)
    return path


def _rewrite(src, dst, change):
    """Copy the archive ``src`` to ``dst`` member by member, ``change(name, bytes)`` deciding
    each member's new bytes (None drops it); returns dst."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            data = change(info.filename, zin.read(info))
            if data is not None:
                zout.writestr(info.filename, data)
    return dst


def _npy(a):
    buf = pyio.BytesIO()
    np.lib.format.write_array(buf, np.asarray(a), allow_pickle=True)
    return buf.getvalue()


def _meta(path):
    with np.load(path, allow_pickle=False) as f:
        return json.loads(f["__mlplab__"].tobytes())


class _Payload:
    """Unpickling this creates the file ``marker``: it stands for arbitrary code."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (pathlib.Path.touch, (pathlib.Path(self.marker),))


@pytest.mark.parametrize("cut", [0.1, 0.5, 0.9, 0.999])
def test_truncated_file_is_refused(saved, tmp_path, cut):
    data = saved.read_bytes()
    bad = tmp_path / "cut.mlp"
    bad.write_bytes(data[: int(len(data) * cut)])
    with pytest.raises(ml.ModelFileError):
        ml.load(bad)


def test_flipped_byte_in_weights_is_refused(saved, tmp_path):
    data = bytearray(saved.read_bytes())
    with zipfile.ZipFile(saved) as z:
        info = z.getinfo("layers.0.W.npy")
    # the first bytes of the array data: local header (30 bytes + name + extra) + npy header
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra) + 128
    data[start + 3] ^= 0x10
    bad = tmp_path / "flipped.mlp"
    bad.write_bytes(bytes(data))
    with pytest.raises(ml.ModelFileError, match="corrupt|digest|CRC"):
        ml.load(bad)


def test_tampered_weights_with_valid_archive_are_refused(saved, tmp_path):
    W = np.load(saved, allow_pickle=False)["layers.0.W"].copy()
    W[0, 0] += 1.0
    bad = _rewrite(saved, tmp_path / "t.mlp", lambda n, d: _npy(W) if n == "layers.0.W.npy" else d)
    with pytest.raises(ml.ModelFileError, match="digest"):
        ml.load(bad)


def test_tampered_architecture_is_refused(saved, tmp_path):
    meta = _meta(saved)
    meta["config"]["sizes"] = [4, 9, 3]
    meta["config"]["layers"][0]["config"]["out_features"] = 9
    meta["config"]["layers"][2]["config"]["in_features"] = 9
    blob = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    bad = _rewrite(saved, tmp_path / "t.mlp", lambda n, d: _npy(blob) if n == "__mlplab__.npy" else d)
    with pytest.raises(ml.ModelFileError, match="shape"):
        ml.load(bad)


@pytest.mark.parametrize(
    "change",
    ["unknown_layer", "newer_version", "not_mlplab", "bad_json", "missing_array", "extra_array", "wrong_dtype"],
)
def test_foreign_or_inconsistent_files_are_refused(saved, tmp_path, change):
    meta = _meta(saved)
    members = {}
    if change == "unknown_layer":
        meta["config"]["class"] = "Sequential"
        meta["config"]["layers"][1] = {"class": "os.system", "config": {}}
    elif change == "newer_version":
        meta["format_version"] = io.FORMAT_VERSION + 1
    elif change == "not_mlplab":
        meta["format"] = "something-else"
    elif change == "missing_array":
        members["layers.2.b.npy"] = None
    elif change == "extra_array":
        members["layers.2.c.npy"] = _npy(np.zeros(3))
    elif change == "wrong_dtype":
        members["layers.2.b.npy"] = _npy(np.zeros(3, dtype=np.float32))
    blob = b"{not json" if change == "bad_json" else json.dumps(meta).encode()
    members.setdefault("__mlplab__.npy", _npy(np.frombuffer(blob, np.uint8)))

    def edit(name, data):
        return members.get(name, data) if name in members else data

    bad = _rewrite(saved, tmp_path / "t.mlp", edit)
    if "layers.2.c.npy" in members:
        with zipfile.ZipFile(bad, "a") as z:
            z.writestr("layers.2.c.npy", members["layers.2.c.npy"])
    with pytest.raises(ml.ModelFileError) as e:
        ml.load(bad)
    assert str(bad) in str(e.value)


def test_other_npz_and_other_formats_are_refused(tmp_path):
    np.savez(tmp_path / "plain.npz", W=np.zeros((2, 2)))
    (tmp_path / "text.mlp").write_text("hello")
    np.savez_compressed(tmp_path / "packed.npz", __mlplab__=np.zeros(3, np.uint8))
    for name, match in [("plain.npz", "no '__mlplab__'"), ("text.mlp", "not an .npz"), ("packed.npz", "compressed")]:
        with pytest.raises(ml.ModelFileError, match=match):
            ml.load(tmp_path / name)
    with pytest.raises(FileNotFoundError):
        ml.load(tmp_path / "absent.mlp")


def test_file_errors_name_the_path_asked_for(tmp_path):
    """Not the temporary file beside it (.m.mlp.<pid>.<hex>.tmp), and a folder said to be one."""
    model = ml.MLP([3, 4, 2], seed=0)
    target = tmp_path / "absent" / "m.mlp"
    for write in (lambda p: model.save(p), lambda p: ml.save_checkpoint(p, model, ml.optim.SGD(), 0)):
        with pytest.raises(FileNotFoundError) as e:
            write(target)
        assert e.value.filename == str(target) and ".tmp" not in str(e.value)
        with pytest.raises(IsADirectoryError, match="a folder, not a file to write"):
            write(tmp_path)
    for read in (ml.load, ml.load_checkpoint):
        with pytest.raises(IsADirectoryError, match="a folder, not a model file"):
            read(tmp_path)
    assert sorted(os.listdir(tmp_path)) == []  # no temporary file left


def test_pickle_payloads_are_never_executed(saved, tmp_path):
    marker = tmp_path / "executed"
    payload = pickle.dumps(_Payload(marker))
    # control: the payload is live, unpickling it does create the marker
    pickle.loads(payload)
    assert marker.exists()
    marker.unlink()

    raw = tmp_path / "raw.mlp"
    raw.write_bytes(payload)
    objects = _rewrite(
        saved,
        tmp_path / "objects.mlp",
        lambda n, d: _npy(np.array([_Payload(marker)], dtype=object)) if n == "layers.0.W.npy" else d,
    )
    meta_obj = _rewrite(
        saved,
        tmp_path / "meta.mlp",
        lambda n, d: _npy(np.array([_Payload(marker)], dtype=object)) if n == "__mlplab__.npy" else d,
    )
    for bad, match in [(raw, "not an .npz"), (objects, "Python objects"), (meta_obj, "Python objects")]:
        with pytest.raises(ml.ModelFileError, match=match):
            ml.load(bad)
        with pytest.raises(ml.ModelFileError):
            ml.load_checkpoint(bad)
        assert not marker.exists(), f"loading {bad.name} executed code from the file"


# -- checkpoints -------------------------------------------------------------------------
class _StopAndSave(ml.Callback):
    """Saves a checkpoint at the end of epoch ``at`` and stops training there."""

    def __init__(self, path, at):
        self.path, self.at = path, at

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.at:
            t = self.trainer
            ml.save_checkpoint(self.path, self.model, t.optimizer, epoch, t.history, t.rng)
            self.model.stop_training = True


def _jitter(X, rng):
    return X + 0.01 * rng.standard_normal(X.shape)


@pytest.mark.parametrize("opt", ["sgd", "adam", "nadam", "rmsprop"])
def test_resume_is_bit_identical(tmp_path, rng, opt):
    X, y = rng.normal(size=(83, 5)), rng.integers(0, 3, 83)
    kw = {"momentum": 0.9, "nesterov": True} if opt == "sgd" else {}
    schedule = ml.schedules.get("step", base_lr=0.02, step_size=7, gamma=0.5)

    def model(seed=1):
        return ml.MLP([5, 12, 8, 3], activation="gelu", output="softmax", dtype="float64", seed=seed, dropout=0.2)

    fit = dict(epochs=6, batch_size=16, seed=3, verbose=0, augment=_jitter)
    straight = model()
    h1 = straight.fit(X, y, optimizer=ml.optim.get(opt, lr=schedule, **kw), **fit)
    path = tmp_path / "ck.mlp"
    model().fit(X, y, optimizer=ml.optim.get(opt, lr=schedule, **kw), callbacks=[_StopAndSave(path, 2)], **fit)
    resumed = model(seed=99)  # other initial weights: all must come from the checkpoint
    h2 = resumed.fit(X, y, resume_from=path, **fit)
    np.testing.assert_array_equal(resumed.get_weights(), straight.get_weights())
    assert h2.history == h1.history and h2.epoch == h1.epoch == list(range(6))
    assert resumed.optimizer.t == straight.optimizer.t
    for k, v in straight.optimizer.state.items():
        np.testing.assert_array_equal(resumed.optimizer.state[k], v)


def test_checkpoint_contents(tmp_path, rng):
    X, y = rng.normal(size=(20, 3)), rng.integers(0, 2, 20)
    m = ml.MLP([3, 4, 1], output="sigmoid", seed=0, dropout=0.5)
    opt = ml.optim.SGD(lr=0.1, momentum=0.5)
    trainer = ml.Trainer(m, optimizer=opt, seed=0, verbose=0)
    h = trainer.fit(ml.ArraySource(X, y, batch_size=8), epochs=2)
    path = ml.save_checkpoint(tmp_path / "c.mlp", m, opt, 1, h, trainer.rng.bit_generator.state)
    ck = ml.load_checkpoint(path)
    assert ck.epoch == 1 and ck.history.history == h.history
    assert ck.rng_state == trainer.rng.bit_generator.state
    assert ck.model.layers[2].rng.bit_generator.state == m.layers[2].rng.bit_generator.state
    assert isinstance(ck.optimizer, ml.optim.SGD) and ck.optimizer.momentum == 0.5 and ck.optimizer.t == opt.t
    np.testing.assert_array_equal(ck.optimizer.state["momentum_buffer"], opt.state["momentum_buffer"])
    np.testing.assert_array_equal(ml.load(path).get_weights(), m.get_weights())  # load reads a checkpoint's model
    with pytest.raises(ml.ModelFileError, match="expected 'checkpoint'"):
        ml.load_checkpoint(m.save(tmp_path / "plain.mlp"))


def test_resume_refuses_mismatches(tmp_path, rng):
    X, y = rng.normal(size=(20, 3)), rng.integers(0, 2, 20)
    m = ml.MLP([3, 4, 1], output="sigmoid", seed=0)
    opt = ml.optim.SGD(lr=0.1)
    m.fit(X, y, optimizer=opt, epochs=1, verbose=0)
    path = ml.save_checkpoint(tmp_path / "c.mlp", m, opt, 0)
    with pytest.raises(ValueError, match="different architecture"):
        ml.MLP([3, 5, 1], output="sigmoid").fit(X, y, resume_from=path, verbose=0)
    with pytest.raises(ValueError, match="SGD"):
        ml.MLP([3, 4, 1], output="sigmoid").fit(X, y, optimizer="adam", resume_from=path, verbose=0)
    with pytest.raises(ValueError, match="epoch"):
        ml.save_checkpoint(tmp_path / "d.mlp", m, opt, -1)
    with pytest.raises(TypeError, match="optimizer"):
        ml.save_checkpoint(tmp_path / "d.mlp", m, "sgd", 0)


def test_model_checkpoint_callback_files_resume_bit_identically(tmp_path, rng):
    X, y = rng.normal(size=(50, 4)), rng.integers(0, 2, 50)

    def run(**kw):
        m = ml.MLP([4, 8, 1], output="sigmoid", dtype="float64", seed=0, dropout=0.1)
        m.fit(
            X,
            y,
            optimizer=ml.optim.get("adam", lr=0.01) if "resume_from" not in kw else None,
            epochs=5,
            batch_size=8,
            seed=1,
            verbose=0,
            **kw,
        )
        return m

    straight = run()
    run(
        callbacks=[ml.callbacks.ModelCheckpoint(str(tmp_path / "ck-{epoch}.mlp"), save_best_only=False, save_full=True)]
    )
    assert sorted(os.listdir(tmp_path)) == [f"ck-{e}.mlp" for e in range(1, 6)]
    resumed = run(resume_from=tmp_path / "ck-3.mlp")  # written after the third epoch
    np.testing.assert_array_equal(resumed.get_weights(), straight.get_weights())


# -- malformed files: every kind refused with ModelFileError --------------------------------
# The files below are forged as a deliberate editor would: a well-formed archive whose digests
# match its arrays, so that only the checks of the metadata (the schema) can refuse them.
def _sha(a):
    """The format's digest of an array, written out here independently of mlplab.io."""
    h = hashlib.sha256(f"{a.dtype.str}{a.shape}".encode())
    h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def _contents(path):
    """(metadata, {name: array}) of a model file, read with NumPy alone."""
    with np.load(path, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    return json.loads(arrays.pop("__mlplab__").tobytes()), arrays


def _forge(dst, meta, arrays, raw=None, digests=True):
    """An archive holding ``meta`` (or the JSON bytes ``raw``) and ``arrays``, with the digests
    of these arrays (``digests``) or those of ``meta``; returns dst."""
    if raw is None:
        raw = json.dumps(dict(meta, sha256={k: _sha(a) for k, a in arrays.items()}) if digests else meta).encode()
    with open(dst, "wb") as f:
        np.savez(f, __mlplab__=np.frombuffer(raw, np.uint8), **arrays)
    return dst


def _trained(model, opt, epochs=2, seed=0):
    """A model trained a little with ``opt``, and the History and generator of its Trainer."""
    X, y = np.random.default_rng(seed).normal(size=(40, 4)), np.arange(40) % 3
    trainer = ml.Trainer(model, optimizer=opt, seed=seed, verbose=0)
    history = trainer.fit(ml.ArraySource(X, y, batch_size=16), epochs=epochs)
    return model, opt, history, trainer.rng


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """name -> path of three model files and three checkpoints (float32 and float64, Dropout,
    LeakyReLU, Adam, SGD with momentum and a schedule, NAdam's scalar state)."""
    d = tmp_path_factory.mktemp("files")
    out = {
        "mlp": ml.MLP([4, 6, 3], output="softmax", seed=0).save(d / "mlp.mlp"),
        "mlp_leaky_dropout64": ml.MLP(
            [4, 5, 2], activation=ml.LeakyReLU(0.2), output="sigmoid", dtype="float64", seed=1, dropout=0.3
        ).save(d / "leaky.mlp"),
        "sequential": ml.Sequential(
            [ml.Dense(4, 5, seed=3), ml.ELU(0.5), ml.Dropout(0.1), ml.Dense(5, 3, seed=4), ml.Softmax()]
        ).save(d / "seq.mlp"),
    }
    runs = {
        "ck_adam64": _trained(
            ml.MLP([4, 6, 3], activation="gelu", output="softmax", dtype="float64", seed=2, dropout=0.2),
            ml.optim.Adam(lr=0.01),
        ),
        "ck_sgd_momentum": _trained(
            ml.MLP([4, 5, 3], activation="tanh", output="softmax", seed=3),
            ml.optim.SGD(lr=ml.schedules.get("step", base_lr=0.05, step_size=2, gamma=0.5), momentum=0.9),
        ),
        "ck_nadam": _trained(ml.MLP([4, 5, 3], output="softmax", seed=4), ml.optim.NAdam(lr=0.01), epochs=1),
    }
    for name, (model, opt, history, gen) in runs.items():
        out[name] = ml.save_checkpoint(d / f"{name}.mlp", model, opt, 1, history, gen)
    X, y = np.random.default_rng(5).normal(size=(40, 4)), np.arange(40) % 3
    stateful = [ml.callbacks.EarlyStopping("loss", patience=9), ml.callbacks.ReduceLROnPlateau("loss", patience=0)]
    model = ml.MLP([4, 5, 3], output="softmax", seed=5)
    trainer = ml.Trainer(model, optimizer=ml.optim.SGD(lr=0.5), callbacks=stateful, verbose=0)
    trainer.fit(ml.ArraySource(X, y, batch_size=16), epochs=3)
    out["ck_callbacks"] = trainer.save_checkpoint(d / "ck_callbacks.mlp", 2)  # their states, the data's fingerprint
    return {k: pathlib.Path(v) for k, v in out.items()}


def _set(meta, path, value):
    """A copy of ``meta`` with the entry at ``path`` (a tuple of keys and indices) replaced."""
    meta = copy.deepcopy(meta)
    node = meta
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value
    return meta


def _refused(path, match=None, checkpoint=False):
    with pytest.raises(ml.ModelFileError, match=match) as e:
        (ml.load_checkpoint if checkpoint else ml.load)(path)
    assert str(path) in str(e.value)


def test_the_forged_files_are_otherwise_valid(files, tmp_path):
    # control: forging a file unchanged gives a file that loads, so each refusal below is the
    # refusal of its one change
    for name in ("mlp_leaky_dropout64", "ck_adam64"):
        meta, arrays = _contents(files[name])
        ck = name.startswith("ck")
        a = (ml.load_checkpoint if ck else ml.load)(_forge(tmp_path / "same.mlp", meta, arrays))
        b = (ml.load_checkpoint if ck else ml.load)(files[name])
        assert _fingerprint(a) == _fingerprint(b)


@pytest.mark.parametrize("where", ["config", "history"])
@pytest.mark.parametrize("depth", [40, 100_000])
def test_deeply_nested_json_is_refused_before_parsing(files, tmp_path, where, depth):
    meta, arrays = _contents(files["ck_adam64"])
    text = json.dumps(dict(meta, sha256={k: _sha(a) for k, a in arrays.items()}))
    deep = "[" * depth + "]" * depth
    if where == "config":
        text = text.replace('"config": {', f'"config": {deep}, "x": {{', 1)
    else:
        text = text.replace('"history": {', f'"history": {{"deep": [{deep}], ', 1)
    _refused(_forge(tmp_path / "deep.mlp", None, arrays, raw=text.encode()), "nested", checkpoint=True)


@pytest.mark.parametrize(
    "path, value",
    [
        (("format_version",), "1"),
        (("format_version",), True),
        (("kind",), ["model"]),
        (("config",), "MLP"),
        (("config", "class"), {"a": 1}),
        (("config", "dtype"), "float16"),
        (("config", "layers"), {}),
        (("config", "sizes"), [4, "6", 3]),
        (("config", "sizes", 1), 1.5),
        (("config", "activation"), None),
        (("config", "dropout"), 1.0),
        (("config", "layers", 0, "config", "in_features"), True),
        (("config", "layers", 0, "config", "out_features"), 10**12),
        (("config", "layers", 1, "config"), []),
        (("config", "layers", 2, "config", "p"), "0.2"),
        (("optimizer", "t"), -1),
        (("optimizer", "t"), 2**64),
        (("optimizer", "epoch"), 1.0),
        (("optimizer", "config", "lr"), "0.01"),
        (("optimizer", "config", "betas"), [0.9]),
        (("optimizer", "config", "name"), ["Adam"]),
        (("optimizer", "state"), []),
        (("epoch",), 10**400),
        (("epoch",), None),
        (("history",), []),
        (("history", "history"), []),
        (("history", "history", "loss"), 5),
        (("history", "epoch"), "abc"),
        (("history", "best_epoch"), "1"),
        (("rng_state",), "PCG64"),
        (("rng_state", "bit_generator"), "os.system"),
        (("rng_state", "state", "state"), -1),
        (("rng_state", "state", "inc"), 2**300),
        (("rng_state", "has_uint32"), 1.5),
        (("dropout_rng_states",), {}),
        (("dropout_rng_states", "2", "state"), None),
        (("sha256",), None),
        (("sha256",), []),
        (("sha256", "layers.0.W"), "0" * 63),
        (("sha256", "layers.0.W"), None),
    ],
)
def test_a_field_of_the_wrong_type_or_range_is_refused(files, tmp_path, path, value):
    meta, arrays = _contents(files["ck_adam64"])
    meta = dict(meta, sha256={k: _sha(a) for k, a in arrays.items()})
    bad = _forge(tmp_path / "bad.mlp", _set(meta, path, value), arrays, digests=False)
    _refused(bad, checkpoint=True)
    if path[0] in ("format_version", "kind", "config", "sha256"):
        _refused(bad)  # load reads a checkpoint's model: it refuses it too


@pytest.mark.parametrize("name", ["mlp_leaky_dropout64", "ck_sgd_momentum"])
def test_no_field_of_any_value_makes_loading_fail_otherwise(files, tmp_path, name):
    # every field, container or leaf, replaced by values of every JSON type: each file loads or
    # is refused with ModelFileError (before the schema: AttributeError, TypeError, OverflowError)
    meta, arrays = _contents(files[name])
    load = ml.load_checkpoint if name.startswith("ck") else ml.load

    def paths(node, path=()):
        yield path
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for k, v in items:
            yield from paths(v, (*path, k))

    tried = 0
    for path in list(paths(meta))[1:]:
        if path[0] == "sha256":
            continue
        for value in (None, False, -1, 2**64, 0.5, float("nan"), "x", [[0]], {"a": {}}):
            bad = _forge(tmp_path / "bad.mlp", _set(meta, path, value), arrays)
            with contextlib.suppress(ml.ModelFileError):
                load(bad)
            tried += 1
    assert tried > 300


@pytest.mark.parametrize("checkpoint", [False, True])
def test_a_small_file_cannot_make_load_allocate_a_large_model(files, tmp_path, checkpoint):
    # the MLP is rebuilt from its sizes: these would allocate 30000^2 parameters (3.6 GB) if
    # the architecture were not checked against the arrays first
    name = "ck_adam64" if checkpoint else "mlp"
    meta, arrays = _contents(files[name])
    bad = _forge(tmp_path / "big.mlp", _set(meta, ("config", "sizes"), [4, 30_000, 30_000, 3]), arrays)
    assert bad.stat().st_size < 20_000
    tracemalloc.start()
    try:
        with pytest.raises(ml.ModelFileError, match="sizes"):
            (ml.load_checkpoint if checkpoint else ml.load)(bad)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2e6


def test_an_archive_of_many_members_is_refused_from_its_end_record(files, tmp_path):
    bad = tmp_path / "many.mlp"
    with zipfile.ZipFile(files["mlp"]) as zin, zipfile.ZipFile(bad, "w") as zout:
        zout.writestr("__mlplab__.npy", zin.read("__mlplab__.npy"))
        for i in range(40_000):
            zout.writestr(f"{i}.npy", b"")
    tracemalloc.start()
    try:
        _refused(bad, "directory")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1e6  # zipfile would have built 40 000 ZipInfo objects (about 15 MB)


def _state_variants():
    for name, key in [("ck_adam64", "exp_avg"), ("ck_sgd_momentum", "momentum_buffer"), ("ck_nadam", "mu_product")]:
        for change in ["shorter", "longer", "scalar", "2-D", "integers", "missing", "extra"]:
            if not (key == "mu_product" and change == "scalar"):
                yield name, key, change


@pytest.mark.parametrize("name, key, change", list(_state_variants()))
def test_an_optimizer_state_that_does_not_fit_the_model_is_refused(files, tmp_path, name, key, change):
    # before: a shorter state was accepted, and the optimizer silently started afresh
    meta, arrays = _contents(files[name])
    a = arrays[f"optimizer.{key}"]
    new = {
        "shorter": a.reshape(-1)[:-1],
        "longer": np.append(a, a.reshape(-1)[:1]),
        "scalar": a.reshape(-1)[0],
        "2-D": a.reshape(1, -1),
        "integers": a.astype(np.int64),
        "missing": None,
        "extra": a,
    }[change]
    state = meta["optimizer"]["state"]
    if change == "extra":
        key = "extra"
    if new is None:
        del arrays[f"optimizer.{key}"], state[key]
    else:
        arrays[f"optimizer.{key}"] = new = np.asarray(new)
        state[key] = {"shape": list(new.shape), "dtype": new.dtype.name}
    _refused(_forge(tmp_path / "state.mlp", meta, arrays), "optimizer", checkpoint=True)


@pytest.mark.parametrize("member", ["layers.0.W", "optimizer.exp_avg"])
@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_arrays_are_refused(files, tmp_path, member, value):
    meta, arrays = _contents(files["ck_adam64"])
    arrays[member] = arrays[member].copy()
    arrays[member].flat[1] = value
    _refused(_forge(tmp_path / "nan.mlp", meta, arrays), "NaN or infinity", checkpoint=True)


@pytest.mark.parametrize("path", [("config", "dropout"), ("optimizer", "config", "lr"), ("optimizer", "config", "eps")])
@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_numbers_in_the_metadata_are_refused(files, tmp_path, path, value):
    meta, arrays = _contents(files["ck_adam64"])
    _refused(_forge(tmp_path / "nan.mlp", _set(meta, path, value), arrays), checkpoint=True)


@pytest.mark.parametrize(
    "edit",
    [
        lambda t: t[:-1] + ', "kind": "checkpoint"}',
        lambda t: t.replace('"class": "MLP"', '"class": "MLP", "class": "Sequential"', 1),
    ],
)
def test_duplicated_json_keys_are_refused(files, tmp_path, edit):
    meta, arrays = _contents(files["mlp"])
    text = json.dumps(dict(meta, sha256={k: _sha(a) for k, a in arrays.items()}))
    _refused(_forge(tmp_path / "dup.mlp", None, arrays, raw=edit(text).encode()), "duplicated")


def test_a_duplicated_archive_member_is_refused(files, tmp_path):
    bad = tmp_path / "dup.mlp"
    bad.write_bytes(files["mlp"].read_bytes())
    with pytest.warns(UserWarning, match="Duplicate"), zipfile.ZipFile(bad, "a") as z:
        z.writestr("layers.0.W.npy", _npy(np.zeros((4, 6), np.float32)))
    _refused(bad, "unexpected archive member")


@pytest.mark.parametrize(
    "name, path, value",
    [
        ("sequential", ("config", "layers", 1, "class"), "Activation"),
        ("sequential", ("config", "layers", 1, "class"), "builtins.eval"),
        ("sequential", ("config", "layers", 1, "config"), {"alpha": 0.5, "__class__": 1}),
        ("sequential", ("config", "layers", 3, "config", "in_features"), 4),  # widths must chain
        ("ck_adam64", ("optimizer", "config", "name"), "Optimizer"),
        ("ck_adam64", ("optimizer", "config", "name"), "os.system"),
        ("ck_sgd_momentum", ("optimizer", "config", "lr", "schedule", "class_name"), "Schedule"),
        (
            "ck_sgd_momentum",
            ("optimizer", "config", "lr", "schedule"),
            {"class_name": "LambdaLR", "config": {"base_lr": 0.1, "lr_lambda": "os.system"}},
        ),
        ("mlp_leaky_dropout64", ("config", "layers", 2, "config", "p"), 0.9),  # not the MLP's dropout
        ("mlp_leaky_dropout64", ("config", "layers", 1, "class"), "Tanh"),  # not the MLP's activation
        ("mlp", ("config", "extra"), 1),
        ("mlp", ("extra",), 1),
        ("ck_adam64", ("rng_state",), {"bit_generator": "MT19937", "state": {"key": [0], "pos": 0}}),
    ],
)
def test_unknown_or_inconsistent_names_are_refused(files, tmp_path, name, path, value):
    meta, arrays = _contents(files[name])
    _refused(_forge(tmp_path / "bad.mlp", _set(meta, path, value), arrays), checkpoint=name.startswith("ck"))


def test_an_extra_digest_is_refused(files, tmp_path):
    meta, arrays = _contents(files["mlp"])
    raw = json.dumps(dict(meta, sha256={**{k: _sha(a) for k, a in arrays.items()}, "layers.9.W": "0" * 64}))
    _refused(_forge(tmp_path / "bad.mlp", None, arrays, raw=raw.encode()), "sha256")


@pytest.mark.parametrize("layout", ["fortran", "big-endian", "float16"])
def test_arrays_in_another_layout_are_refused(files, tmp_path, layout):
    # loading these with their digests would give transposed or converted weights
    meta, arrays = _contents(files["mlp"])
    W = arrays["layers.0.W"]
    if layout == "float16":
        meta = _set(meta, ("config", "dtype"), "float16")
        arrays = {k: a.astype(np.float16) for k, a in arrays.items()}
    else:
        arrays["layers.0.W"] = np.asfortranarray(W) if layout == "fortran" else W.astype(">f4")
    _refused(_forge(tmp_path / "bad.mlp", meta, arrays))


@pytest.mark.parametrize(
    "change", ["compression 99", "encrypted", "strong encryption", "patched data", "local name", "first byte removed"]
)
def test_damaged_archive_headers_are_refused(files, tmp_path, change):
    # before: NotImplementedError, RuntimeError, BadZipFile, OSError
    data = bytearray(files["mlp"].read_bytes())
    directory = data.find(b"PK\x01\x02")  # the first member's entry in the central directory
    flags = {"encrypted": 0x01, "strong encryption": 0x40, "patched data": 0x20}
    if change == "compression 99":
        data[directory + 10] = 99
    elif change in flags:
        data[directory + 8] |= flags[change]
    elif change == "local name":
        data[30] ^= 0x01  # the first member's name in its local header
    else:
        del data[0]
    bad = tmp_path / "bad.mlp"
    bad.write_bytes(bytes(data))
    _refused(bad)


@pytest.mark.parametrize("raw", [b"\xff\xfe{}", b"[1, 2]", b'{"format": "mlplab"', b"", b"1e999"])
def test_metadata_that_is_not_a_json_object_is_refused(files, tmp_path, raw):
    _, arrays = _contents(files["mlp"])
    _refused(_forge(tmp_path / "bad.mlp", None, arrays, raw=raw))


def test_export_reports_a_malformed_file_without_a_traceback(files, tmp_path, capsys):
    meta, arrays = _contents(files["mlp"])
    bad = _forge(tmp_path / "deep.mlp", None, arrays, raw=b"[" * 100_000 + b"]" * 100_000)
    assert cli.main(["export", str(bad), str(tmp_path / "m.onnx")]) == 2
    err = capsys.readouterr().err
    assert "mlplab export: error:" in err and "nested" in err and "Traceback" not in err


# -- save refuses what load would refuse -----------------------------------------------------
def _nan_weights():
    m = ml.MLP([3, 4, 2], seed=0)
    m.layers[0].W[1, 1] = np.nan
    return m


def _replaced_activation():
    m = ml.MLP([3, 4, 2], seed=0)
    m.layers[1] = ml.Tanh()  # load would rebuild the MLP's ReLU
    return m


def _changed_dropout():
    m = ml.MLP([3, 4, 2], seed=0, dropout=0.2)
    m.layers[2].p = 0.5  # load would rebuild p = 0.2
    return m


@pytest.mark.parametrize("make", [_nan_weights, _replaced_activation, _changed_dropout])
def test_save_refuses_a_model_load_would_refuse(tmp_path, make):
    with pytest.raises(ml.ArgumentError, match="^model must be"):
        make().save(tmp_path / "m.mlp")
    assert not os.listdir(tmp_path)


def test_save_checkpoint_refuses_what_load_checkpoint_would_refuse(tmp_path):
    model = ml.MLP([4, 5, 3], output="softmax", seed=0)
    _, adam, _, _ = _trained(ml.MLP([4, 9, 3], output="softmax", seed=0), ml.optim.Adam())  # another model's state
    sgd = ml.optim.SGD(lr=0.1)

    class OwnSchedule(ml.schedules.StepLR):  # not in SCHEDULES: load could not rebuild it
        pass

    cases = [
        ("optimizer", dict(optimizer=adam)),
        ("optimizer", dict(optimizer=ml.optim.SGD(lr=OwnSchedule(0.1, 2)))),
        ("history", dict(history={"loss": [0.5]})),  # not History.to_dict()'s form
        ("history", dict(history={"history": {"loss": [object()]}})),
        ("rng_state", dict(rng_state={"bit_generator": "PCG64", "state": {"state": -1, "inc": 1}})),
        ("epoch", dict(epoch=2**64)),
    ]
    for name, kw in cases:
        with pytest.raises(ml.ArgumentError, match=f"^{name} must be"):
            ml.save_checkpoint(tmp_path / "c.mlp", **{"model": model, "optimizer": sgd, "epoch": 0, **kw})
    assert not os.listdir(tmp_path)
    ml.save_checkpoint(tmp_path / "c.mlp", model, sgd, 0, rng_state=np.random.Generator(np.random.MT19937(1)))
    assert ml.load_checkpoint(tmp_path / "c.mlp").rng_state["bit_generator"] == "MT19937"


# -- fuzzing ---------------------------------------------------------------------------------
#: seconds the whole fuzz suite runs (default 5); MLPLAB_FUZZ_SECONDS=600 runs it for minutes
FUZZ_SECONDS = float(os.environ.get("MLPLAB_FUZZ_SECONDS", "5"))
FUZZ_FILES = ["mlp", "mlp_leaky_dropout64", "sequential", "ck_adam64", "ck_sgd_momentum", "ck_nadam", "ck_callbacks"]
FUZZ_FILES += ["payload"]
MUTATIONS = ["bit flip", "truncation", "removed byte", "inserted byte", "overwritten bytes"]
#: the seconds of one fuzz test: the budget split among the byte and the metadata fuzz tests
FUZZ_TEST_SECONDS = FUZZ_SECONDS / (2 * len(FUZZ_FILES) - 1)


def _fingerprint(obj):
    """Everything a loaded model or checkpoint holds, comparable with ==."""
    ck = obj if isinstance(obj, io.Checkpoint) else None
    model = ck.model if ck else obj
    w = model.get_weights()
    out = [type(model).__name__, json.dumps(model.get_config(), sort_keys=True), str(model.dtype), w.dtype, w.tobytes()]
    if ck:  # a model file holds no generator states: its Dropout layers get fresh ones
        out += [json.dumps(la.rng.bit_generator.state) for la in model.layers if isinstance(la, ml.Dropout)]
        opt = ck.optimizer
        out += [type(opt).__name__, json.dumps(opt.get_config()), opt.t, opt.epoch, ck.epoch]
        out += [(k, v.dtype, v.shape, v.tobytes()) for k, v in sorted(opt.state.items())]
        out += [json.dumps(x, sort_keys=True) for x in (ck.history.to_dict(), ck.rng_state, ck.dropout_rng_states)]
        out += [json.dumps(ck.data, sort_keys=True), json.dumps(ck.optimizer.initial_lr)]
        for name, state in ck.callback_states:
            out += [
                name,
                *((k, v.tobytes() if isinstance(v, np.ndarray) else json.dumps(v)) for k, v in sorted(state.items())),
            ]
    return out


def _mutate(data, kind, rng):
    n = len(data)
    i = int(rng.integers(n))
    if kind == "bit flip":
        return data[:i] + bytes([data[i] ^ (1 << int(rng.integers(8)))]) + data[i + 1 :]
    if kind == "truncation":
        return data[:i]
    if kind == "removed byte":
        return data[:i] + data[i + 1 :]
    if kind == "inserted byte":
        return data[:i] + bytes([int(rng.integers(256))]) + data[i:]
    k = int(rng.integers(1, 9))
    return data[:i] + rng.integers(256, size=k, dtype=np.uint8).tobytes() + data[i + k :]


@pytest.fixture(scope="module")
def payload_file(files, tmp_path_factory):
    """A model file whose first weight array is a pickled object that, unpickled, would create
    the file ``marker``."""
    d = tmp_path_factory.mktemp("payload")
    marker = d / "executed"
    bad = _rewrite(
        files["mlp"], d / "payload.mlp", lambda n, b: _npy(np.array([_Payload(marker)])) if n == "layers.0.W.npy" else b
    )
    return bad, marker


@pytest.mark.parametrize("name", FUZZ_FILES)
def test_fuzz_mutated_files_are_refused_or_load_identically(files, payload_file, tmp_path, name):
    """Byte mutations of model files and checkpoints: ModelFileError or the identical model,
    nothing else, and no payload ever executed. Deterministic seeds; MLPLAB_FUZZ_SECONDS
    bounds the time (split among the files and the kinds of mutation)."""
    path, marker = payload_file if name == "payload" else (files[name], None)
    load = ml.load_checkpoint if name.startswith("ck") else ml.load
    reference = None if name == "payload" else _fingerprint(load(path))
    data = path.read_bytes()
    bad = tmp_path / "mutated.mlp"
    counts = {kind: {"refused": 0, "identical": 0} for kind in MUTATIONS}
    for kind_index, kind in enumerate(MUTATIONS):
        rng = np.random.default_rng([FUZZ_FILES.index(name), kind_index])
        deadline = time.perf_counter() + FUZZ_TEST_SECONDS / len(MUTATIONS)
        tries = 0
        while tries < 20 or time.perf_counter() < deadline:
            bad.write_bytes(_mutate(data, kind, rng))
            tries += 1
            try:
                got = load(bad)
            except ml.ModelFileError:
                counts[kind]["refused"] += 1
                continue
            assert reference is not None and _fingerprint(got) == reference, f"{kind} #{tries} loaded another model"
            counts[kind]["identical"] += 1
        assert marker is None or not marker.exists(), "loading a mutated file executed its payload"
    # every kind of mutation damaged some file beyond repair (some, a flipped date in a zip
    # header or a byte inserted before the archive, leave the model intact and load the same)
    assert all(c["refused"] > 0 for c in counts.values()), counts


@pytest.mark.parametrize("name", FUZZ_FILES[:-1])
def test_fuzz_mutated_metadata_is_refused_or_loads(files, tmp_path, name):
    """Byte mutations of the metadata's JSON inside a valid archive (CRC right, digests those of
    the arrays), where only the schema stands in the way: ModelFileError or a model that loads,
    nothing else (before: OverflowError, TypeError, AttributeError from the rebuilt objects)."""
    with np.load(files[name], allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    raw = arrays.pop("__mlplab__").tobytes()
    load = ml.load_checkpoint if name.startswith("ck") else ml.load
    rng = np.random.default_rng([FUZZ_FILES.index(name), len(MUTATIONS)])
    deadline = time.perf_counter() + FUZZ_TEST_SECONDS
    tries = refused = 0
    while tries < 50 or time.perf_counter() < deadline:
        bad = _forge(tmp_path / "mutated.mlp", None, arrays, raw=_mutate(raw, MUTATIONS[tries % 5], rng))
        tries += 1
        try:
            load(bad)
        except ml.ModelFileError:
            refused += 1
    assert 0 < refused < tries  # most mutations break the JSON or the schema, a few change a number


def test_fuzz_every_single_byte_damage_at_the_start_and_the_end(files):
    # the first and last 64 bytes (local header, end record), exhaustively, on a model file
    data = files["mlp"].read_bytes()
    reference = _fingerprint(ml.load(files["mlp"]))
    bad = files["mlp"].parent / "damaged.mlp"
    positions = [*range(64), *range(len(data) - 64, len(data))]
    for i in positions:
        for mutated in (data[:i] + data[i + 1 :], data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1 :]):
            bad.write_bytes(mutated)
            try:
                assert _fingerprint(ml.load(bad)) == reference
            except ml.ModelFileError:
                pass


@pytest.mark.parametrize("loss,units", [("cross_entropy", 3), ("bce", 1)])
def test_a_model_trained_on_logits_reads_them_the_same_after_loading(loss, units, tmp_path, rng):
    X = rng.normal(size=(30, 4))
    y = rng.integers(0, max(units, 2), size=30)
    model = ml.MLP([4, 6, units], seed=0)
    model.fit(X, y, loss=loss, epochs=2, verbose=0)
    loaded = ml.load(model.save(tmp_path / "m.mlp"))
    assert loaded.logits == model.logits == ("softmax" if units > 1 else "sigmoid")
    np.testing.assert_array_equal(loaded.predict_classes(X), model.predict_classes(X))
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_saved_files_get_the_permissions_the_umask_gives(umask, tmp_path, rng):
    """As every other tool's files: 0o666 less the umask (tempfile's 0o600 before)."""
    model = ml.MLP([3, 4, 2], seed=0)
    old = os.umask(umask)
    try:
        paths = [model.save(tmp_path / "m.mlp"), ml.save_checkpoint(tmp_path / "c.mlp", model, ml.optim.SGD(), 0)]
        with ml.io.atomic_open(tmp_path / "h.json") as f:
            f.write("{}")
        paths.append(tmp_path / "h.json")
    finally:
        os.umask(old)
    for p in paths:
        assert stat.S_IMODE(os.stat(p).st_mode) == 0o666 & ~umask


def test_a_save_cleans_up_what_a_killed_save_left(tmp_path):
    model = ml.MLP([3, 4, 2], seed=0)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)  # a process that has ended
    stale = tmp_path / f".m.mlp.{dead_pid}.0a1b2c3d.tmp"
    live = tmp_path / f".m.mlp.{os.getppid()}.0a1b2c3d.tmp"  # a save in progress in a live process
    other = tmp_path / f".other.mlp.{dead_pid}.0a1b2c3d.tmp"  # another file's
    for p in (stale, live, other):
        p.write_bytes(b"half a model")
    model.save(tmp_path / "m.mlp")
    assert not stale.exists() and live.exists() and other.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, other.name, "m.mlp"])
