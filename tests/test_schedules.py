"""Every schedule against torch.optim.lr_scheduler, plus validation, registry and config."""

import json
import math

import numpy as np
import pytest
import torch
from torch.optim import lr_scheduler as tls

from mlplab import schedules as S

N_STEPS = 300


def torch_lrs(make, base_lr, n=N_STEPS):
    """The lr torch's optimizer holds before each of ``n`` updates under ``make(opt)``."""
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=base_lr)
    sched = make(opt)
    lrs = []
    for _ in range(n):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return np.array(lrs, dtype=np.float64)


# (id, torch factory, mlplab schedule); the torch optimizer is built with lr = sched.base_lr
CASES = [
    ("constant-default", lambda o: tls.ConstantLR(o), S.ConstantLR(0.1)),
    (
        "constant-half-40",
        lambda o: tls.ConstantLR(o, factor=0.5, total_iters=40),
        S.ConstantLR(0.1, factor=0.5, total_iters=40),
    ),
    ("linear-default", lambda o: tls.LinearLR(o), S.LinearLR(0.1)),
    (
        "linear-warmup",
        lambda o: tls.LinearLR(o, start_factor=0.01, total_iters=50),
        S.LinearLR(0.3, start_factor=0.01, total_iters=50),
    ),
    (
        "linear-decay-to-0",
        lambda o: tls.LinearLR(o, 1.0, 0.0, total_iters=200),
        S.LinearLR(0.05, 1.0, 0.0, total_iters=200),
    ),
    ("step-30", lambda o: tls.StepLR(o, step_size=30), S.StepLR(0.1, step_size=30)),
    ("step-7-gamma0.5", lambda o: tls.StepLR(o, 7, gamma=0.5), S.StepLR(1.0, 7, gamma=0.5)),
    ("multistep", lambda o: tls.MultiStepLR(o, [30, 80, 250]), S.MultiStepLR(0.1, [30, 80, 250])),
    (
        "multistep-0-gamma0.3",
        lambda o: tls.MultiStepLR(o, [0, 10, 11], gamma=0.3),
        S.MultiStepLR(0.1, [0, 10, 11], gamma=0.3),
    ),
    ("exponential-0.98", lambda o: tls.ExponentialLR(o, 0.98), S.ExponentialLR(0.1, 0.98)),
    ("exponential-1.001", lambda o: tls.ExponentialLR(o, 1.001), S.ExponentialLR(0.01, 1.001)),
    ("cosine-100", lambda o: tls.CosineAnnealingLR(o, T_max=100), S.CosineAnnealingLR(0.1, T_max=100)),
    (
        "cosine-7-etamin",
        lambda o: tls.CosineAnnealingLR(o, T_max=7, eta_min=1e-3),
        S.CosineAnnealingLR(0.1, T_max=7, eta_min=1e-3),
    ),
    ("cosine-1", lambda o: tls.CosineAnnealingLR(o, T_max=1), S.CosineAnnealingLR(0.1, T_max=1)),
    (
        "restarts-mult1",
        lambda o: tls.CosineAnnealingWarmRestarts(o, T_0=25),
        S.CosineAnnealingWarmRestarts(0.1, T_0=25),
    ),
    (
        "restarts-mult2",
        lambda o: tls.CosineAnnealingWarmRestarts(o, T_0=10, T_mult=2, eta_min=1e-4),
        S.CosineAnnealingWarmRestarts(0.1, T_0=10, T_mult=2, eta_min=1e-4),
    ),
    (
        "restarts-mult3-T1",
        lambda o: tls.CosineAnnealingWarmRestarts(o, T_0=1, T_mult=3),
        S.CosineAnnealingWarmRestarts(0.1, T_0=1, T_mult=3),
    ),
    (
        "cyclic-triangular",
        lambda o: tls.CyclicLR(o, 0.001, 0.1, step_size_up=20, cycle_momentum=False),
        S.CyclicLR(0.001, 0.1, step_size_up=20),
    ),
    (
        "cyclic-triangular-down",
        lambda o: tls.CyclicLR(o, 0.001, 0.1, step_size_up=10, step_size_down=37, cycle_momentum=False),
        S.CyclicLR(0.001, 0.1, step_size_up=10, step_size_down=37),
    ),
    (
        "cyclic-triangular2",
        lambda o: tls.CyclicLR(
            o, 0.01, 0.5, step_size_up=15, step_size_down=5, mode="triangular2", cycle_momentum=False
        ),
        S.CyclicLR(0.01, 0.5, step_size_up=15, step_size_down=5, mode="triangular2"),
    ),
    (
        "cyclic-exp_range",
        lambda o: tls.CyclicLR(o, 0.01, 0.2, step_size_up=13, mode="exp_range", gamma=0.99, cycle_momentum=False),
        S.CyclicLR(0.01, 0.2, step_size_up=13, mode="exp_range", gamma=0.99),
    ),
    (
        "cyclic-scale_fn-cycle",
        lambda o: tls.CyclicLR(o, 0.01, 0.2, step_size_up=9, scale_fn=lambda x: 1 / x, cycle_momentum=False),
        S.CyclicLR(0.01, 0.2, step_size_up=9, scale_fn=lambda x: 1 / x),
    ),
    (
        "cyclic-scale_fn-iterations",
        lambda o: tls.CyclicLR(
            o, 0.01, 0.2, step_size_up=9, scale_fn=lambda x: 0.995**x, scale_mode="iterations", cycle_momentum=False
        ),
        S.CyclicLR(0.01, 0.2, step_size_up=9, scale_fn=lambda x: 0.995**x, scale_mode="iterations"),
    ),
    (
        "onecycle-cos",
        lambda o: tls.OneCycleLR(o, max_lr=0.1, total_steps=N_STEPS, cycle_momentum=False),
        S.OneCycleLR(0.1, total_steps=N_STEPS),
    ),
    (
        "onecycle-linear",
        lambda o: tls.OneCycleLR(
            o,
            max_lr=0.5,
            total_steps=N_STEPS + 20,
            pct_start=0.25,
            anneal_strategy="linear",
            div_factor=10.0,
            final_div_factor=100.0,
            cycle_momentum=False,
        ),
        S.OneCycleLR(
            0.5, N_STEPS + 20, pct_start=0.25, anneal_strategy="linear", div_factor=10.0, final_div_factor=100.0
        ),
    ),
    (
        "onecycle-cos-three_phase",
        lambda o: tls.OneCycleLR(
            o, max_lr=0.1, total_steps=N_STEPS, pct_start=0.4, three_phase=True, cycle_momentum=False
        ),
        S.OneCycleLR(0.1, N_STEPS, pct_start=0.4, three_phase=True),
    ),
    (
        "onecycle-linear-three_phase",
        lambda o: tls.OneCycleLR(
            o, max_lr=0.1, total_steps=N_STEPS, anneal_strategy="linear", three_phase=True, cycle_momentum=False
        ),
        S.OneCycleLR(0.1, N_STEPS, anneal_strategy="linear", three_phase=True),
    ),
    (
        "sequential-linear-cosine",
        lambda o: tls.SequentialLR(
            o, [tls.LinearLR(o, 0.01, total_iters=20), tls.CosineAnnealingLR(o, T_max=200, eta_min=1e-4)], [20]
        ),
        S.SequentialLR(
            [S.LinearLR(0.1, 0.01, total_iters=20), S.CosineAnnealingLR(0.1, T_max=200, eta_min=1e-4)], [20]
        ),
    ),
    (
        "sequential-constant-exp-step",
        lambda o: tls.SequentialLR(
            o,
            [tls.ConstantLR(o, 0.1, total_iters=50), tls.ExponentialLR(o, 0.99), tls.StepLR(o, 25, gamma=0.5)],
            [30, 120],
        ),
        S.SequentialLR(
            [S.ConstantLR(0.1, 0.1, total_iters=50), S.ExponentialLR(0.1, 0.99), S.StepLR(0.1, 25, gamma=0.5)],
            [30, 120],
        ),
    ),
    (
        "sequential-linear-restarts",
        lambda o: tls.SequentialLR(
            o, [tls.LinearLR(o, 0.1, total_iters=10), tls.CosineAnnealingWarmRestarts(o, T_0=15, T_mult=2)], [10]
        ),
        S.SequentialLR(
            [S.LinearLR(0.1, 0.1, total_iters=10), S.CosineAnnealingWarmRestarts(0.1, T_0=15, T_mult=2)], [10]
        ),
    ),
    ("lambda", lambda o: tls.LambdaLR(o, lambda t: 1 / (1 + 0.05 * t)), S.LambdaLR(0.1, lambda t: 1 / (1 + 0.05 * t))),
]


@pytest.mark.parametrize("make_torch, sched", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_matches_torch(make_torch, sched):
    expected = torch_lrs(make_torch, sched.base_lr)
    got = np.array([sched(t) for t in range(N_STEPS)])
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-15)


def test_every_registry_entry_is_checked_against_torch():
    checked = {type(c[2]) for c in CASES}
    assert set(S.SCHEDULES.values()) <= checked


@pytest.mark.parametrize("sched", [c[2] for c in CASES], ids=[c[0] for c in CASES])
def test_calls_are_pure(sched):
    # any order, any number of times: a resumed run sees the same values
    forward = [sched(t) for t in range(60)]
    backward = [sched(t) for t in reversed(range(60))][::-1]
    assert forward == backward
    assert all(type(v) is float for v in forward)


def test_hand_values():
    # cosine at a quarter period: 0.1 * (1 + cos(pi/4)) / 2 = 0.0853553390593...
    assert S.CosineAnnealingLR(0.1, 100)(25) == pytest.approx(0.1 * (1 + math.sqrt(0.5)) / 2)
    assert S.StepLR(1.0, 10, gamma=0.5)(25) == 0.25
    # T_mult=2, T_0=10: restarts at t = 10, 30, 70
    restarts = S.CosineAnnealingWarmRestarts(0.1, 10, T_mult=2)
    assert [restarts(t) for t in (0, 10, 30, 70)] == [0.1] * 4
    one = S.OneCycleLR(0.1, 100)
    assert one.base_lr == pytest.approx(0.004) and one(0) == pytest.approx(0.004)
    assert one.min_lr == pytest.approx(0.004 / 1e4)
    assert one(99) == pytest.approx(one.min_lr)
    # OneCycleLR(three_phase=True, pct 0.4, 300 steps): phase 1 ends at t = 119 on max_lr
    assert S.OneCycleLR(0.1, 300, 0.4, three_phase=True)(119) == pytest.approx(0.1)


def test_onecycle_past_total_steps_raises_like_torch():
    sched = S.OneCycleLR(0.1, 10)
    sched(10)  # torch also computes this one (the lr after the last scheduler.step())
    with pytest.raises(ValueError, match="total_steps"):
        sched(11)


@pytest.mark.parametrize("t, exc", [(-1, ValueError), (1.0, TypeError), (True, TypeError), ("3", TypeError)])
def test_call_validates_t(t, exc):
    with pytest.raises(exc, match="t must"):
        S.StepLR(0.1, 10)(t)


def test_call_accepts_numpy_integers():
    assert S.StepLR(0.1, 10)(np.int64(25)) == S.StepLR(0.1, 10)(25)


BAD_ARGS = [
    (lambda: S.StepLR(-0.1, 10), "base_lr"),
    (lambda: S.StepLR(float("nan"), 10), "base_lr"),
    (lambda: S.StepLR(float("inf"), 10), "base_lr"),
    (lambda: S.StepLR(0.1, 0), "step_size"),
    (lambda: S.StepLR(0.1, 10, gamma=0.0), "gamma"),
    (lambda: S.StepLR(0.1, 10, gamma=float("nan")), "gamma"),
    (lambda: S.MultiStepLR(0.1, [10, 10]), "milestones"),
    (lambda: S.MultiStepLR(0.1, [20, 10]), "milestones"),
    (lambda: S.MultiStepLR(0.1, [-1, 10]), "milestones"),
    (lambda: S.ExponentialLR(0.1, -0.5), "gamma"),
    (lambda: S.ExponentialLR(0.1, float("inf")), "gamma"),
    (lambda: S.ConstantLR(0.1, factor=0.0), "factor"),
    (lambda: S.ConstantLR(0.1, factor=1.5), "factor"),
    (lambda: S.ConstantLR(0.1, total_iters=0), "total_iters"),
    (lambda: S.LinearLR(0.1, start_factor=0.0), "start_factor"),
    (lambda: S.LinearLR(0.1, end_factor=1.1), "end_factor"),
    (lambda: S.LinearLR(0.1, total_iters=0), "total_iters"),
    (lambda: S.CosineAnnealingLR(0.1, 0), "T_max"),
    (lambda: S.CosineAnnealingLR(0.1, -5), "T_max"),
    (lambda: S.CosineAnnealingLR(0.1, 10, eta_min=-1e-3), "eta_min"),
    (lambda: S.CosineAnnealingWarmRestarts(0.1, 0), "T_0"),
    (lambda: S.CosineAnnealingWarmRestarts(0.1, 10, T_mult=0), "T_mult"),
    (lambda: S.CyclicLR(0.1, 1.0, mode="sawtooth"), "mode"),
    (lambda: S.CyclicLR(0.1, 1.0, step_size_up=0), "step_size_up"),
    (lambda: S.CyclicLR(0.1, 1.0, step_size_down=0), "step_size_down"),
    (lambda: S.CyclicLR(0.1, float("nan")), "max_lr"),
    (lambda: S.CyclicLR(0.1, 1.0, scale_mode="epochs"), "scale_mode"),
    (lambda: S.CyclicLR(0.1, 1.0, mode="exp_range", gamma=0.0), "gamma"),
    (lambda: S.OneCycleLR(0.1, 0), "total_steps"),
    (lambda: S.OneCycleLR(0.1, 100, pct_start=1.5), "pct_start"),
    (lambda: S.OneCycleLR(0.1, 100, pct_start=0.6, three_phase=True), "pct_start"),
    (lambda: S.OneCycleLR(0.1, 10, pct_start=0.1), "pct_start"),  # zero-length phase
    (lambda: S.OneCycleLR(0.1, 100, anneal_strategy="exp"), "anneal_strategy"),
    (lambda: S.OneCycleLR(0.1, 100, div_factor=0.0), "div_factor"),
    (lambda: S.OneCycleLR(0.1, 100, final_div_factor=-1.0), "final_div_factor"),
    (lambda: S.SequentialLR([], []), "schedulers"),
    (lambda: S.SequentialLR([S.StepLR(0.1, 5), S.StepLR(0.1, 5)], []), "milestones"),
    (lambda: S.SequentialLR([S.StepLR(0.1, 5), S.StepLR(0.1, 5)], [0]), "milestones"),
    (lambda: S.SequentialLR([S.StepLR(0.1, 5)] * 3, [10, 10]), "milestones"),
    (lambda: S.StepLR(0.1, 10, interval="update"), "interval"),
]


@pytest.mark.parametrize("build, arg", BAD_ARGS, ids=[f"{i}-{a}" for i, (_, a) in enumerate(BAD_ARGS)])
def test_bad_argument_values_raise_value_error(build, arg):
    with pytest.raises(ValueError, match=arg):
        build()


@pytest.mark.parametrize(
    "build, arg",
    [
        (lambda: S.StepLR(0.1, 2.5), "step_size"),
        (lambda: S.StepLR("0.1", 10), "base_lr"),
        (lambda: S.CosineAnnealingLR(0.1, True), "T_max"),
        (lambda: S.LambdaLR(0.1, 0.5), "lr_lambda"),
        (lambda: S.CyclicLR(0.1, 1.0, scale_fn=2.0), "scale_fn"),
        (lambda: S.SequentialLR([0.1], []), "schedulers"),
    ],
)
def test_bad_argument_types_raise_type_error(build, arg):
    with pytest.raises(TypeError, match=arg):
        build()


def test_get_and_registry():
    sched = S.get("cosine", base_lr=0.1, T_max=10)
    assert isinstance(sched, S.CosineAnnealingLR) and sched(0) == 0.1
    assert S.get(sched) is sched
    with pytest.raises(ValueError) as err:
        S.get("cosin")
    for name in S.SCHEDULES:
        assert name in str(err.value)
    with pytest.raises(TypeError):
        S.get(sched, T_max=5)


SERIALISABLE = [c[2] for c in CASES if "lambda" not in c[0] and "scale_fn" not in c[0]]


@pytest.mark.parametrize("sched", SERIALISABLE, ids=repr)
def test_config_round_trip(sched):
    cfg = json.loads(json.dumps(sched.get_config()))
    assert cfg["class_name"] == type(sched).__name__
    again = S.from_config(cfg)
    assert type(again) is type(sched)
    assert again.get_config() == sched.get_config()
    assert repr(again) == repr(sched)
    assert [again(t) for t in range(N_STEPS)] == [sched(t) for t in range(N_STEPS)]


def test_from_config_accepts_registry_key_and_rejects_unknown():
    assert S.from_config({"class_name": "step", "config": {"base_lr": 0.1, "step_size": 3}})(3) == pytest.approx(0.01)
    with pytest.raises(ValueError, match="StepLR"):
        S.from_config({"class_name": "Nope", "config": {}})


def test_registry_errors_name_the_argument_and_get_builds_a_class():
    # get goes through the one registry lookup: a Schedule subclass is built with the kwargs
    sched = S.get(S.StepLR, base_lr=0.1, step_size=3)
    assert isinstance(sched, S.StepLR) and sched(3) == pytest.approx(0.01)
    with pytest.raises(ValueError, match=r"schedule must be a Schedule or one of .*'cosine'.*, got 'cosin'"):
        S.get("cosin")
    with pytest.raises(TypeError, match=r"schedule must be a name or class when arguments \['T_max'\] are given"):
        S.get(sched, T_max=5)
    with pytest.raises(ValueError, match=r'cfg must be a dict \{"class_name"'):
        S.from_config(["StepLR"])
    with pytest.raises(TypeError, match=r'cfg\["class_name"\] must be one of .*StepLR.*, got \[1\]'):
        S.from_config({"class_name": [1], "config": {}})  # unhashable: refused naming it, not a bare TypeError
    with pytest.raises(TypeError, match="three_phase must be True or False, got 1"):
        S.OneCycleLR(0.1, 100, three_phase=1)
    assert S.OneCycleLR(0.1, 100, three_phase=np.bool_(True)).three_phase is True


@pytest.mark.parametrize(
    "sched",
    [
        S.LambdaLR(0.1, lambda t: 1.0),
        S.CyclicLR(0.1, 1.0, scale_fn=lambda x: 1.0),
        S.SequentialLR([S.StepLR(0.1, 5), S.LambdaLR(0.1, lambda t: 1.0)], [10]),
    ],
    ids=["lambda", "cyclic-scale_fn", "sequential-with-lambda"],
)
def test_callables_are_not_serialisable(sched):
    with pytest.raises(TypeError, match="callable"):
        sched.get_config()


def test_interval():
    assert S.StepLR(0.1, 10).interval == "batch"
    for cls, args in [
        (S.ConstantLR, (0.1,)),
        (S.LinearLR, (0.1,)),
        (S.StepLR, (0.1, 3)),
        (S.MultiStepLR, (0.1, [3])),
        (S.ExponentialLR, (0.1, 0.9)),
        (S.CosineAnnealingLR, (0.1, 10)),
        (S.CosineAnnealingWarmRestarts, (0.1, 10)),
        (S.CyclicLR, (0.1, 1.0)),
        (S.OneCycleLR, (0.1, 100)),
        (S.SequentialLR, ([S.StepLR(0.1, 3)], [])),
        (S.LambdaLR, (0.1, lambda t: 1.0)),
    ]:
        sched = cls(*args, interval="epoch")
        assert sched.interval == "epoch"
        assert "interval='epoch'" in repr(sched)
    cfg = S.StepLR(0.1, 10, interval="epoch").get_config()
    assert cfg["config"]["interval"] == "epoch"
    assert S.from_config(cfg).interval == "epoch"


def test_repr():
    assert repr(S.StepLR(0.1, 30)) == "StepLR(base_lr=0.1, step_size=30, gamma=0.1)"
