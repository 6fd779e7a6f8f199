"""Tests of mlplab.schema: the metadata parser's limits, the configuration checks and
model_from_config. The whole-file behaviour (every malformed file refused) is in test_io.py."""

from __future__ import annotations

import json

import numpy as np
import pytest

import mlplab as ml
from mlplab import schema


def test_parse_json_refuses_deep_nesting_before_parsing():
    deep = ("[" * (schema.MAX_DEPTH + 1) + "]" * (schema.MAX_DEPTH + 1)).encode()
    with pytest.raises(schema.Invalid, match=f"nested at most {schema.MAX_DEPTH} deep"):
        schema.parse_json(deep)
    ok = ("[" * schema.MAX_DEPTH + "]" * schema.MAX_DEPTH).encode()
    assert schema.parse_json(ok) == json.loads(ok)
    # brackets inside strings, escaped quotes included, do not count
    tricky = json.dumps({"a": '[[[[\\"]]]' * 20, "b": [1, 2]}).encode()
    assert schema.parse_json(tricky) == json.loads(tricky)


def test_parse_json_refuses_duplicated_keys():
    with pytest.raises(schema.Invalid, match="without duplicated keys"):
        schema.parse_json(b'{"a": 1, "a": 2}')


@pytest.mark.parametrize(
    "make",
    [
        lambda: ml.MLP([3, 5, 2], activation="tanh", output="softmax", dropout=0.2, seed=0),
        lambda: ml.MLP([4, 1], dtype="float64", seed=0),
        lambda: ml.Sequential([ml.Dense(3, 4), ml.LeakyReLU(0.2), ml.Dropout(0.1), ml.Dense(4, 2), ml.ELU(0.5)]),
    ],
)
def test_every_model_configuration_passes_and_rebuilds(make):
    model = make()
    cfg = json.loads(json.dumps(model.get_config()))
    dtype, shapes, dropouts = schema.check_config(cfg)
    assert dtype == model.dtype and sorted(shapes.values()) == sorted(p.shape for p in model.params())
    assert dropouts == [i for i, layer in enumerate(model.layers) if isinstance(layer, ml.Dropout)]
    rebuilt = schema.model_from_config(cfg)
    assert type(rebuilt) is type(model) and rebuilt.get_config() == model.get_config()


def test_model_from_config_refuses_unknown_classes():
    with pytest.raises(ValueError, match="unknown layer class"):
        schema.model_from_config({"class": "Sequential", "layers": [{"class": "Conv2d", "config": {}}]})
    with pytest.raises(ValueError, match="unknown model class"):
        schema.model_from_config({"class": "Pipeline"})


def test_check_rng_reads_the_state_back():
    state = np.random.default_rng(3).bit_generator.state
    rng = schema.check_rng(state, "rng_state")
    assert rng.bit_generator.state == state
    bad = dict(state, state={**state["state"], "state": 1.5})  # numpy would silently read 1
    with pytest.raises(schema.Invalid, match="rng_state must be a valid PCG64 state"):
        schema.check_rng(bad, "rng_state")


def test_logits_only_on_a_linear_output():
    cfg = ml.MLP([3, 4, 2], output="softmax", seed=0).get_config()
    with pytest.raises(schema.Invalid, match="config\\['logits'\\] must be 'softmax' or 'sigmoid', on a linear output"):
        schema.check_config({**cfg, "logits": "softmax"})
    linear = ml.MLP([3, 4, 2], seed=0).get_config()
    assert schema.check_config({**linear, "logits": "sigmoid"})[0] == np.float32
    assert schema.model_from_config({**linear, "logits": "sigmoid"}).logits == "sigmoid"


def _checkpoint_meta(tmp_path):
    """The metadata of a real checkpoint with a callback's state and a data fingerprint."""
    X, y = np.random.default_rng(0).normal(size=(30, 3)), np.arange(30) % 2
    m = ml.MLP([3, 4, 2], output="softmax", seed=0, dtype="float64")
    es = ml.callbacks.EarlyStopping("loss", patience=9)
    trainer = ml.Trainer(m, optimizer=ml.optim.Adam(lr=0.01), callbacks=[es], seed=0, verbose=0)
    trainer.fit(ml.ArraySource(X, y, 8), 2)
    path = trainer.save_checkpoint(tmp_path / "c.mlp", 1)
    with np.load(path, allow_pickle=False) as f:
        return json.loads(f["__mlplab__"].tobytes()), m.flat_params().size


def test_callback_states_and_data_in_the_schema(tmp_path):
    meta, n = _checkpoint_meta(tmp_path)
    arrays = schema.check_meta(meta, ("checkpoint",))
    assert meta["callbacks"][0]["class"] == "EarlyStopping" and meta["callbacks"][0]["arrays"] == ["best_weights"]
    assert arrays["callbacks.0.best_weights"] == ((n,), np.dtype("<f8"))
    assert meta["optimizer"]["initial_lr"] == 0.01 and len(meta["data"]["sha256"]) == 64
    digests = {k: v for k, v in meta["sha256"].items() if not k.startswith("callbacks.")}
    older = {k: v for k, v in meta.items() if k not in ("callbacks", "data")}
    schema.check_meta({**older, "sha256": digests}, ("checkpoint",))  # optional: older checkpoints read
    entry = meta["callbacks"][0]
    for bad, where in [
        ({"callbacks": {}}, "callbacks"),
        ({"callbacks": [entry] * (schema.MAX_CALLBACKS + 1)}, "callbacks"),
        ({"callbacks": [{**entry, "class": "os.system"}]}, r"callbacks\[0\]\['class'\]"),
        ({"callbacks": [{**entry, "state": []}]}, r"callbacks\[0\]\['state'\]"),
        ({"callbacks": [{**entry, "arrays": ["wait"]}]}, r"callbacks\[0\]\['arrays'\]"),  # also in its state
        ({"callbacks": [{**entry, "arrays": ["a", "a"]}]}, r"callbacks\[0\]\['arrays'\]"),
        ({"callbacks": [{**entry, "extra": 1}]}, r"callbacks\[0\]"),
        ({"data": {"shapes": [[30, 3]], "sha256": "x"}}, r"data\['sha256'\]"),
        ({"data": {"shapes": [[-1]], "sha256": "0" * 64}}, r"data\['shapes'\]"),
        ({"optimizer": {**meta["optimizer"], "initial_lr": -1}}, r"optimizer\['initial_lr'\]"),
    ]:
        with pytest.raises(schema.Invalid, match=rf"^{where} must be"):
            schema.check_meta({**meta, **bad}, ("checkpoint",))
