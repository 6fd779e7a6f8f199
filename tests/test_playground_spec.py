"""The playground's configuration: TF Playground's keys and defaults, the server's limits, the
objects a configuration builds and the configuration an imported model gets.

Oracles: TF Playground's ``src/state.ts`` (its keys and defaults, quoted below), the limits
the issue sets (8 layers of 64 neurons, 10,000 points, 5 classes), and mlplab's own classes,
built by hand.
"""

from __future__ import annotations

import numpy as np
import pytest

import mlplab as ml
from mlplab.errors import ArgumentError
from mlplab.playground import spec

#: TF Playground's State defaults (src/state.ts), by its URL keys
TF_DEFAULTS = {
    "learningRate": 0.03,
    "regularizationRate": 0,
    "showTestData": False,
    "noise": 0,
    "batchSize": 10,
    "discretize": False,
    "percTrainData": 50,
    "activation": "tanh",
    "regularization": "none",
    "problem": "classification",
    "networkShape": [4, 2],
    "x": True,
    "y": True,
    "xTimesY": False,
    "xSquared": False,
    "ySquared": False,
    "sinX": False,
    "sinY": False,
    "dataset": "circle",
    "regDataset": "reg-plane",
}


def test_defaults_are_tf_playgrounds():
    cfg = spec.check_config({})
    assert {k: cfg[k] for k in TF_DEFAULTS} == TF_DEFAULTS
    assert spec.n_points(cfg) == 500 and spec.n_points({**cfg, "problem": "regression"}) == 1200


def test_a_tf_link_is_a_configuration():
    tf = {"activation": "relu", "regularization": "L2", "regularizationRate": 0.001, "dataset": "xor",
          "networkShape": [6, 6, 6, 6, 6, 6], "seed": "0.51286", "noise": 35, "batchSize": 30,
          "learningRate": 10, "percTrainData": 90, "xTimesY": True}  # fmt: skip
    cfg = spec.check_config(tf)
    assert cfg["networkShape"] == [6] * 6 and cfg["activation"] == "relu" and cfg["seed"] == "0.51286"


@pytest.mark.parametrize(
    "update, match",
    [
        ({"networkShape": [4] * 9}, "networkShape must be a list of at most 8"),
        ({"networkShape": [65]}, r"networkShape\[0\] must be an int in \[1, 64\]"),
        ({"networkShape": [0]}, r"networkShape\[0\]"),
        ({"numSamples": 10_001}, "numSamples must be an int in"),
        ({"classes": 6}, "classes"),
        ({"learningRate": 11}, "learningRate"),
        ({"learningRate": "0.1"}, "learningRate"),
        ({"batchSize": 0}, "batchSize"),
        ({"batchSize": 2.5}, "batchSize"),
        ({"noise": 60}, "noise"),
        ({"percTrainData": 95}, "percTrainData"),
        ({"regularizationRate": -1}, "regularizationRate"),
        ({"dropout": 0.95}, "dropout"),
        ({"activation": "softmax"}, "activation"),
        ({"activation": ["tanh", "relu", "tanh"]}, "one per hidden layer"),
        ({"dataset": "moons"}, "dataset"),
        ({"optimizer": "lbfgs"}, "optimizer"),
        ({"opt": {"momentum": 0.9}, "optimizer": "adam"}, "hyper-parameters of adam"),
        ({"opt": {"momentum": 2}}, "opt.momentum"),
        ({"opt": {"betas": [0.9]}, "optimizer": "adam"}, "opt.betas"),
        ({"schedule": "cosine", "sched": {"T_max": 0}}, "sched.T_max"),
        ({"schedule": "step", "sched": {"gamma": 0.5, "oops": 1}}, "parameters of schedule step"),
        ({"seed": "../../etc"}, "seed"),
        ({"seed": "x" * 33}, "seed"),
        ({"showTestData": "yes"}, "showTestData"),
        ({"x": False, "y": False}, "at least one input feature"),
        ({"loss": "cross_entropy"}, "loss must be one of auto, bce, mse"),
        ({"tutorial": "x"}, "config must be keys among"),
    ],
)
def test_limits_are_enforced(update, match):
    with pytest.raises(ArgumentError, match=match):
        spec.check_config(update)


def test_a_link_loses_only_its_refused_keys():
    link = {"dataset": "spiral", "networkShape": [6, 6], "learningRate": -1, "activation": ["relu", "tanh"]}
    cfg, refused = spec.check_link(link)
    assert cfg == spec.check_config({"dataset": "spiral", "networkShape": [6, 6], "activation": ["relu", "tanh"]})
    assert len(refused) == 1 and refused[0].startswith("learningRate must be")
    # a key that fits only with a later one (activation per layer, then networkShape) is kept
    cfg, refused = spec.check_link({"activation": ["relu", "tanh", "relu"], "networkShape": [3, 3, 3], "noise": 99})
    assert cfg["activation"] == ["relu", "tanh", "relu"] and cfg["networkShape"] == [3, 3, 3]
    assert [r.split()[0] for r in refused] == ["noise"]
    assert spec.check_link({"noise": 10}) == (spec.check_config({"noise": 10}), [])


def test_partial_updates_and_a_new_optimizer_drop_the_old_hyperparameters():
    cfg = spec.check_config({"optimizer": "sgd", "opt": {"momentum": 0.9}})
    cfg = spec.check_config({"optimizer": "adam"}, base=cfg)
    assert cfg["opt"] == {} and cfg["optimizer"] == "adam"
    cfg = spec.check_config({"learningRate": 0.1}, base=cfg)
    assert cfg["optimizer"] == "adam" and cfg["learningRate"] == 0.1


def test_built_objects():
    cfg = spec.check_config(
        {
            "optimizer": "rmsprop",
            "opt": {"momentum": 0.5, "centered": True},
            "learningRate": 0.1,
            "schedule": "step",
            "sched": {"step_size": 7},
            "regularization": "L1",
            "regularizationRate": 0.01,
            "patience": 4,
        }  # fmt: skip
    )
    opt = spec.build_optimizer(cfg)
    assert isinstance(opt, ml.optim.RMSprop) and opt.momentum == 0.5 and opt.centered
    assert opt.lr.interval == "epoch" and opt.lr(6) == 0.1 and opt.lr(7) == pytest.approx(0.05)
    reg = spec.build_regularizer(cfg)
    assert isinstance(reg, ml.L1) and reg.lam == 0.01
    (stop,) = spec.build_callbacks(cfg)
    assert stop.patience == 4 and stop.monitor == "val_loss" and not stop.restore_best_weights
    one = spec.build_optimizer(spec.check_config({"schedule": "onecycle", "learningRate": 0.3}))
    assert one.lr.max_lr == 0.3 and one.lr.total_steps == 200


def test_model_is_mlp_or_the_same_layers_by_hand():
    cfg = spec.check_config({"networkShape": [3, 2], "activation": "relu", "dropout": 0.2})
    model = spec.build_model(cfg, 2, 2)
    ref = ml.MLP([2, 3, 2, 1], activation="relu", output="sigmoid", seed=0, dropout=0.2)
    assert type(model) is ml.MLP and np.array_equal(model.get_weights(), ref.get_weights())
    cfg = {"networkShape": [3, 2], "activation": ["relu", "linear"], "classes": 4, "dataset": "gauss"}
    cfg = spec.check_config(cfg)
    model = spec.build_model(cfg, 2, 4)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["Dense", "ReLU", "Dense", "Identity", "Dense", "Softmax"]
    assert model.n_outputs == 4
    reg = spec.build_model(spec.check_config({"problem": "regression", "networkShape": []}), 2, 2)
    assert [type(layer).__name__ for layer in reg.layers] == ["Dense"]


def test_imported_config():
    model = ml.MLP([2, 6, 5, 3], activation="elu", output="softmax", seed=0, dropout=0.1)
    cfg = spec.imported_config(model, spec.check_config({"dataset": "circle"}))
    assert cfg["networkShape"] == [6, 5] and cfg["activation"] == ["elu", "elu"] and cfg["classes"] == 3
    assert cfg["dataset"] == "spiral" and cfg["dropout"] == 0.1 and cfg["x"] and not cfg["xSquared"]
    reg = spec.imported_config(ml.MLP([2, 4, 1], activation="tanh", seed=0), spec.check_config({}))
    assert reg["problem"] == "regression"


@pytest.mark.parametrize(
    "model, match",
    [
        (ml.MLP([3, 4, 1], output="sigmoid"), "two inputs"),
        (ml.MLP([2, 65, 1], output="sigmoid"), "at most 8 hidden layers of 64"),
        (ml.MLP([2, *[4] * 9, 1], output="sigmoid"), "at most 8 hidden layers of 64"),
        (ml.MLP([2, 4, 6], output="softmax"), "softmax over 2..5"),
        (ml.MLP([2, 4, 1], output="tanh"), "1 sigmoid unit"),
        (ml.Sequential([ml.Dense(2, 3), ml.Softmax(), ml.Dense(3, 1), ml.Sigmoid()]), "hidden activations"),
    ],
)
def test_imported_models_the_page_cannot_show_are_refused(model, match):
    with pytest.raises(ArgumentError, match=match):
        spec.imported_config(model, spec.check_config({}))


def test_options_describe_every_optimizer_and_schedule():
    o = spec.options()
    assert set(o["optimizers"]) == set(ml.optim.OPTIMIZERS)
    assert o["optimizers"]["adam"]["betas"]["default"] == [0.9, 0.999]
    assert set(o["activations"]) == set(ml.activations.ACTIVATIONS) - {"identity", "softmax"} | {"linear"}
    assert o["limits"]["layers"] == 8 and o["limits"]["neurons"] == 64 and o["limits"]["numSamples"][1] == 10_000
    for name, table in o["schedules"].items():  # every default builds
        spec.build_optimizer(spec.check_config({"schedule": name}))
        assert table


def test_a_race_lane_is_the_main_configuration_with_what_its_text_changes():
    cfg = spec.check_config({"networkShape": [5, 3], "activation": "tanh", "optimizer": "sgd", "opt": {"momentum": 0.5},
                             "regularization": "L2", "regularizationRate": 0.001, "seed": "7"})  # fmt: skip
    lane = spec.lane_config(cfg, "adam:0.003:betas=0.8/0.99:cosine:T_max=100:act=sigmoid")
    assert lane["optimizer"] == "adam" and lane["learningRate"] == 0.003 and lane["opt"]["betas"] == [0.8, 0.99]
    assert lane["schedule"] == "cosine" and lane["sched"]["T_max"] == 100 and lane["activation"] == "sigmoid"
    for key in ("networkShape", "regularization", "regularizationRate", "seed", "dataset", "batchSize"):
        assert lane[key] == cfg[key]  # same data, shape, seed (initial weights, batch order) and the rest
    assert lane["race"] == []
    opt = spec.build_optimizer(lane)
    assert isinstance(opt, ml.optim.Adam) and opt.betas == (0.8, 0.99)
    plain = spec.lane_config(cfg, "sgd:0.1")
    assert plain["opt"] == {} or plain["opt"].get("momentum", 0) == 0  # the main run's momentum is not inherited
    assert spec.check_config({"race": ["sgd:0.1", "adam:0.01"]}, base=cfg)["race"] == ["sgd:0.1", "adam:0.01"]


@pytest.mark.parametrize(
    "race, match",
    [
        (["adam:0.01"] * 4, "at most 3 runs"),
        (["adamw"], r"race\[0\] = 'adamw': learning rate must be a number after the optimizer's name"),
        (["fancy:0.1"], "optimizer must be one of"),
        (["sgd:0.1:betas=0.9/0.99"], "hyper-parameter of sgd"),
        (["sgd:0.1:warp"], "schedule must be one of"),
        (["sgd:0.1:momentum=lots"], "momentum must be a number, got 'lots'"),
        (["sgd:0.1:momentum=0.9:momentum=0.5"], "momentum must be given once"),  # not the last one silently
        (["sgd:0.1:nesterov=yes"], "nesterov must be true or false"),
        (["adam:0.1", "sgd:0.1:nesterov=true"], r"race\[1\] = 'sgd:0.1:nesterov=true': nesterov must be False unless"),
        (["sgd:0.1:act=wiggle"], "activation"),
        (["sgd:-1"], "learningRate"),
    ],
)
def test_a_bad_lane_is_refused_naming_it(race, match):
    with pytest.raises(ArgumentError, match=match):
        spec.check_config({"race": race})
