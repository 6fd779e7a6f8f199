"""Model files and checkpoints (mlplab.io): round trips, refusal of bad files, bit-identical resume.

Oracles: a loaded model must reproduce the saved model's predictions exactly (the same
float bits); a resumed run must reproduce the uninterrupted run's weights and History
exactly. A refused file must raise ModelFileError and run nothing: the pickle payloads below
would create a marker file if anything unpickled them, and a control shows they do.
"""

from __future__ import annotations

import io as pyio
import json
import os
import pathlib
import pickle
import zipfile

import numpy as np
import pytest

import mlplab as ml
from mlplab import io


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
