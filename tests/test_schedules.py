"""Every schedule against torch.optim.lr_scheduler, plus validation, registry and config."""

import bisect
import json
import math
from decimal import MAX_EMAX, MIN_EMIN, Context, Decimal
from fractions import Fraction

import numpy as np
import pytest
import torch
from torch.optim import lr_scheduler as tls

from mlplab import schedules as S
from mlplab.errors import ArgumentError

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


# --------------------------------------------------------------------------- any t: 10**12 and beyond
#
# Each schedule at large t against its closed form, computed here independently: periods and
# cycles reduced with exact integer / Fraction arithmetic, powers exactly (Fraction) or in
# 80-digit decimals, then rounded once. Cosines are math.cos of the exactly reduced argument.

_D = Context(prec=80, Emax=MAX_EMAX, Emin=MIN_EMIN)
BIG_T = [10**6, 10**9, 10**12 - 1, 10**12, 10**12 + 1, 10**15]
FAR_T = [2**53 + 1, 10**18, 10**30, 10**400]  # past every float's exact-integer range


class Raises:
    """The expected outcome when the closed form has no finite float value: ArgumentError."""

    def __init__(self, match):
        self.match = match


def _power(c, gamma, n):
    """``c * gamma ** n``: a Fraction (exact) for n <= 2000, else an 80-digit Decimal, and 0 when
    it is below 10**-400 (every float rounds it to 0.0)."""
    if n <= 2000:
        return Fraction(c) * Fraction(gamma) ** n
    log10 = _D.add(_D.log10(Decimal(c)), _D.multiply(Decimal(n), _D.log10(Decimal(gamma))))
    if log10 < -400:
        return Fraction(0)
    return _D.multiply(Decimal(c), _D.power(Decimal(gamma), n))


def _dec(x):
    x = Fraction(x)
    return _D.divide(Decimal(x.numerator), Decimal(x.denominator))


def _plus(a, b):
    """a + b for Fractions and Decimals, exact when both are Fractions."""
    if isinstance(a, Fraction) and isinstance(b, Fraction):
        return a + b
    return _D.add(a if isinstance(a, Decimal) else _dec(a), b if isinstance(b, Decimal) else _dec(b))


def _times(a, b):
    if isinstance(a, Fraction) and isinstance(b, Fraction):
        return a * b
    return _D.multiply(a if isinstance(a, Decimal) else _dec(a), b if isinstance(b, Decimal) else _dec(b))


def _cosine(base, eta, num, den):
    """``eta + (base - eta) * (1 + cos(pi * num / den)) / 2``, num / den reduced modulo 2 exactly."""
    x = Fraction(num, den) % 2
    return eta + (base - eta) * (1 + math.cos(math.pi * float(x))) / 2


def _restarts(s, t):
    """CosineAnnealingWarmRestarts' closed form, from the schedule's arguments."""
    T_0, m = s.T_0, s.T_mult
    if m == 1:
        T_cur, T_i = t % T_0, T_0
    else:
        # period i starts at T_0 * (m**i - 1) / (m - 1), the geometric sum of the periods before it
        i = 0
        while T_0 * (m ** (i + 1) - 1) // (m - 1) <= t:
            i += 1
        T_cur, T_i = t - T_0 * (m**i - 1) // (m - 1), T_0 * m**i
    return _cosine(s.base_lr, s.eta_min, T_cur, T_i)


def _cyclic(s, t):
    """CyclicLR's closed form (built-in modes), from the schedule's arguments, exact."""
    up = s.step_size_up
    down = up if s.step_size_down is None else s.step_size_down
    q, pos = divmod(t, up + down)  # q = cycle - 1
    h = Fraction(pos, up) if pos <= up else Fraction(up + down - pos, down)
    if s.mode == "triangular":
        scale = Fraction(1)
    elif s.mode == "triangular2":
        # past 2**-100000 the term is below every float's half-ulp, and below 2**-1075
        scale = Fraction(1, 2**q) if q <= 100_000 else Fraction(0)
    else:
        scale = _power(1.0, s.gamma, t)
    return _plus(Fraction(s.base_lr), _times((Fraction(s.max_lr) - Fraction(s.base_lr)) * h, scale))


def _onecycle(s, t):
    """OneCycleLR's closed form as its docstring writes it, from the schedule's arguments."""
    if t > s.total_steps:
        return Raises(f"t must be <= total_steps={s.total_steps}")
    n, p = s.total_steps, s.pct_start
    lo, hi = s.max_lr / s.div_factor, s.max_lr
    end_lr = lo / s.final_div_factor
    if s.three_phase:
        phases = [(p * n - 1, lo, hi), (2 * p * n - 2, hi, lo), (n - 1, lo, end_lr)]
    else:
        phases = [(p * n - 1, lo, hi), (n - 1, hi, end_lr)]
    start = 0.0
    for i, (end, a, b) in enumerate(phases):
        if t <= end or i == len(phases) - 1:
            pct = (Fraction(t) - Fraction(start)) / (Fraction(end) - Fraction(start))
            if s.anneal_strategy == "cos":
                return b + (a - b) * (1 + math.cos(math.pi * float(pct))) / 2
            return Fraction(a) + (Fraction(b) - Fraction(a)) * pct
        start = end


def _around(*centres):
    return sorted({c + d for c in centres for d in (-1, 0, 1)})


_REST_STARTS = [10 * (2**i - 1) for i in (30, 37, 45)]  # restarts at 1.1e10, 1.4e12, 3.5e14
_CYC_47 = (10**12 // 47) * 47  # a cycle boundary of step_size_up=10, step_size_down=37

# registry name -> [(id, schedule, oracle(schedule, t), ts, abs_tol)]: the lr must be within 4 ulps of the
# closed form rounded once, plus abs_tol: the float expression's own error where it has one
# (a cosine's argument: 2e-15 of the amplitude, 0.1 in every case here)
LARGE_T_CASES = {
    "constant": [
        ("to-1e12", S.ConstantLR(0.1, 0.5, total_iters=10**12), lambda s, t: 0.05 if t < 10**12 else 0.1, BIG_T, 0),
    ],
    "linear": [
        (
            "ramp-1e12",
            S.LinearLR(0.1, 0.01, 1.0, total_iters=10**12),
            lambda s, t: Fraction(0.1) * (Fraction(0.01) + (1 - Fraction(0.01)) * Fraction(min(t, 10**12), 10**12)),
            BIG_T + [3 * 10**11 + 7],
            0,
        ),
    ],
    "step": [
        # t // step_size reaches 10**12 // 10**9 = 1000: 0.5**1000 is a normal float
        ("halve-1e9", S.StepLR(1.0, 10**9, 0.5), lambda s, t: _power(1.0, 0.5, t // 10**9), BIG_T + _around(10**12), 0),
        # the float range's lower end: 2**-1074, then 2**-1075 (a tie, to even: 0.0) and 3 * 2**-1075 (to 2**-1073)
        (
            "halve-underflow",
            S.StepLR(3.0, 10**9, 0.5),
            lambda s, t: _power(3.0, 0.5, t // 10**9),
            _around(1073 * 10**9, 1074 * 10**9, 1075 * 10**9, 1076 * 10**9),
            0,
        ),
        ("default-gamma", S.StepLR(0.1, 30), lambda s, t: _power(0.1, 0.1, t // 30), BIG_T + FAR_T, 0),
        (
            "grow",
            S.StepLR(0.1, 7, gamma=1.5),
            lambda s, t: (
                Raises(r"t must be <= 12298, the last update at which") if t > 12298 else _power(0.1, 1.5, t // 7)
            ),
            BIG_T + FAR_T + [12298, 12299],
            0,
        ),
    ],
    "multistep": [
        (
            "milestones-1e6-1e9-1e12",
            S.MultiStepLR(0.1, [10**6, 10**9, 10**12], gamma=0.001),
            lambda s, t: _power(0.1, 0.001, bisect.bisect_right([10**6, 10**9, 10**12], t)),
            BIG_T + _around(10**6, 10**9) + FAR_T,
            0,
        ),
        (
            "grow-past-float",
            S.MultiStepLR(0.1, [10, 10**12], gamma=1e300),
            lambda s, t: Raises(r"t must be <= 999999999999,") if t >= 10**12 else _power(0.1, 1e300, 1),
            BIG_T + FAR_T,
            0,
        ),
    ],
    "exponential": [
        ("decay-0.98", S.ExponentialLR(0.1, 0.98), lambda s, t: _power(0.1, 0.98, t), BIG_T + FAR_T + [36_000], 0),
        # 1e12 updates of 1 - 1e-12: exp(-1) of base_lr, a normal float
        (
            "decay-1-1e-12",
            S.ExponentialLR(0.1, 1 - 1e-12),
            lambda s, t: _power(0.1, 1 - 1e-12, t),
            BIG_T + [10**13, 10**14],
            0,
        ),
        (
            "grow-1.001",
            S.ExponentialLR(0.01, 1.001),
            lambda s, t: Raises(r"t must be <= 714745,") if t > 714745 else _power(0.01, 1.001, t),
            BIG_T + FAR_T + [714745, 714746],
            0,
        ),
    ],
    "cosine": [
        (
            "T7",
            S.CosineAnnealingLR(0.1, 7, eta_min=1e-3),
            lambda s, t: _cosine(0.1, 1e-3, t, 7),
            BIG_T + FAR_T + _around(7 * 142857142857, 14 * 71428571428),
            2e-16,
        ),
        (
            "T1e8",
            S.CosineAnnealingLR(0.1, 10**8),
            lambda s, t: _cosine(0.1, 0.0, t, 10**8),
            BIG_T + FAR_T + _around(10**12 + 5 * 10**7, 10**12 + 10**8, 4096 * 10**8),
            2e-16,
        ),
    ],
    "cosine_restarts": [
        (
            "T25",
            S.CosineAnnealingWarmRestarts(0.1, 25),
            _restarts,
            BIG_T + FAR_T,
            2e-16,
        ),
        (
            "T10-mult2",
            S.CosineAnnealingWarmRestarts(0.1, 10, T_mult=2, eta_min=1e-4),
            _restarts,
            BIG_T + FAR_T + _around(*_REST_STARTS),
            2e-16,
        ),
        (
            "T1-mult3",
            S.CosineAnnealingWarmRestarts(0.1, 1, T_mult=3),
            _restarts,
            BIG_T + FAR_T + _around((3**25 - 1) // 2),
            2e-16,
        ),
    ],
    "cyclic": [
        (
            "triangular",
            S.CyclicLR(0.001, 0.1, step_size_up=20),
            _cyclic,
            BIG_T + FAR_T + _around(10**12, 10**12 + 20),
            0,
        ),
        (
            "triangular-up10-down37",
            S.CyclicLR(0.001, 0.1, 10, 37),
            _cyclic,
            BIG_T + FAR_T + _around(_CYC_47, _CYC_47 + 10),
            0,
        ),
        (
            "triangular-falling",  # max_lr < base_lr
            S.CyclicLR(0.1, 0.001, 3, 5),
            _cyclic,
            BIG_T + FAR_T,
            0,
        ),
        (
            "triangular2",
            S.CyclicLR(0.01, 0.5, 15, 5, mode="triangular2"),
            _cyclic,
            BIG_T + FAR_T + _around(1024 * 20, 1024 * 20 + 15),
            0,
        ),
        (
            "triangular2-to-0",  # base_lr 0: the halved amplitude itself, down to 2**-1074 and 0.0
            S.CyclicLR(0.0, 1.0, 1, mode="triangular2"),
            _cyclic,
            BIG_T + FAR_T + _around(2 * 1074 + 1, 2 * 1075 + 1),
            0,
        ),
        (
            "exp_range-0.99",
            S.CyclicLR(0.01, 0.2, 13, mode="exp_range", gamma=0.99),
            _cyclic,
            BIG_T + FAR_T,
            0,
        ),
        (
            "exp_range-1-1e-12",  # gamma ** t = exp(-1) at t = 1e12
            S.CyclicLR(0.01, 0.2, 1000, 3000, mode="exp_range", gamma=1 - 1e-12),
            _cyclic,
            BIG_T + _around(10**12 + 1000),
            0,
        ),
        (
            "exp_range-grow",  # finite only where h = 0, at the start of a cycle
            S.CyclicLR(0.01, 0.2, 13, mode="exp_range", gamma=1.01),
            lambda s, t: 0.01 if t % 26 == 0 else Raises(r"t must be an update at which .*gamma \*\* t is a finite"),
            [10**6, 10**6 + 2, 26 * 10**10, 26 * 10**10 + 1, 10**15, 26 * 10**30],
            0,
        ),
    ],
    "onecycle": [
        (
            "1e12-cos",
            S.OneCycleLR(0.1, 10**12),
            _onecycle,
            BIG_T + FAR_T + _around(3 * 10**11 - 1),
            2e-16,
        ),
        (
            "1e12-linear-three_phase",
            S.OneCycleLR(0.1, 10**12, 0.25, "linear", three_phase=True),
            _onecycle,
            BIG_T + FAR_T + _around(25 * 10**10 - 1, 5 * 10**11 - 2),
            4 * math.ulp(0.1),  # torch's (b - a) * pct + a rounds at the scale of max_lr
        ),
        ("100", S.OneCycleLR(0.1, 100), _onecycle, BIG_T + FAR_T, 0),
    ],
    "sequential": [
        (
            "warmup-cosine",
            S.SequentialLR([S.LinearLR(0.1, 0.01, total_iters=1000), S.CosineAnnealingLR(0.1, 7)], [1000]),
            lambda s, t: _cosine(0.1, 0.0, t - 1000, 7),
            BIG_T + FAR_T,
            2e-16,
        ),
        (
            "warmup-exponential",
            S.SequentialLR([S.LinearLR(0.1, 0.01, total_iters=10), S.ExponentialLR(0.1, 1 - 1e-12)], [10]),
            lambda s, t: _power(0.1, 1 - 1e-12, t - 10),
            BIG_T,
            0,
        ),
    ],
    "lambda": [
        (
            "inverse",
            S.LambdaLR(0.1, lambda t: 1000 / (1000 + t)),
            lambda s, t: Fraction(0.1) * Fraction(1000, 1000 + t),
            BIG_T + FAR_T,
            0,
        ),
    ],
}


def _check(case, sched, oracle, t, abs_tol):
    want = oracle(sched, t)
    if isinstance(want, Raises):
        with pytest.raises(ArgumentError, match=want.match):
            sched(t)
        return
    got = sched(t)
    assert type(got) is float and math.isfinite(got), (case, t, got)
    want = float(want)  # rounded once from the exact value
    tol = 4 * math.ulp(want) + abs_tol if want else 0.0
    assert abs(got - want) <= tol, f"{case}, t={t}: got {got!r}, closed form {want!r} (off by {abs(got - want):.3g})"


@pytest.mark.parametrize("name", sorted(S.SCHEDULES))
def test_large_t_matches_the_closed_form(name):
    # registry-driven: a new schedule fails here until it has its closed form in LARGE_T_CASES
    cases = LARGE_T_CASES.get(name)
    assert cases, f"add {name!r} to LARGE_T_CASES with its closed form"
    for case, sched, oracle, ts, abs_tol in cases:
        assert isinstance(sched, S.SCHEDULES[name])
        for t in ts:
            _check(case, sched, oracle, t, abs_tol)


@pytest.mark.parametrize("name", sorted(S.SCHEDULES))
def test_far_beyond_1e12_the_lr_stays_finite(name):
    # finite, or the documented ArgumentError naming t (a finite horizon, or gamma > 1)
    for _, sched, oracle, _, _ in LARGE_T_CASES.get(name, []):
        for t in [10**15, 10**18 + 1, 10**100, 10**400 + 7]:
            if isinstance(oracle(sched, t), Raises):
                with pytest.raises(ArgumentError, match="^t must be"):
                    sched(t)
            else:
                assert math.isfinite(sched(t))


def test_growing_gamma_names_the_last_finite_update():
    # the last t whose closed form 0.01 * 1.001 ** t rounds to a finite float, found here from
    # the largest float's rounding boundary 2**1024 * (1 - 2**-54), with 80-digit logarithms
    edge = _D.multiply(Decimal(2) ** 1024, 1 - Decimal(2) ** -54)
    t_max = int(_D.divide(_D.subtract(edge.ln(_D), Decimal(0.01).ln(_D)), Decimal(1.001).ln(_D)))
    assert t_max == 714745
    grow = S.ExponentialLR(0.01, 1.001)
    assert math.isfinite(grow(t_max))
    with pytest.raises(ArgumentError, match=f"t must be <= {t_max}, the last update at which base_lr"):
        grow(t_max + 1)
    # the lr's reach past the largest float is found however far t is
    with pytest.raises(ArgumentError, match=f"<= {t_max},.*got 10000000000"):
        grow(10**400)


def test_powers_near_the_ends_of_the_float_range():
    # base_lr * gamma ** n where gamma ** n alone leaves the float range but the product does not
    assert S.ExponentialLR(1e-10, 2.0)(1050) == float(Fraction(1e-10) * 2**1050)  # ~1.2e306
    assert S.ExponentialLR(1e5, 0.5)(1080) == float(Fraction(10**5, 2**1080))  # ~7.7e-321
    assert S.ExponentialLR(1e5, 0.5)(1091) == float(Fraction(10**5, 2**1091)) == 5e-324  # 0.76 * 2**-1074
    assert S.StepLR(10.0, 1, gamma=0.5)(1077) == 5e-324  # 1.25 * 2**-1074
    for n in (33_000, 35_000, 36_500):  # 0.98 ** n is subnormal, or below every float
        assert S.ExponentialLR(0.1, 0.98)(n) == float(_power(0.1, 0.98, n))


def test_legacy_expression_and_integer_reduction_agree_at_the_switch():
    # below t = 4096 * T_max (4096 * the shorter half-cycle) the historical float expression,
    # with its documented error (t / T_max * 2**-51 of the amplitude); from there on, exact
    for sched, oracle, edge in [
        (S.CosineAnnealingLR(1.0, 3), lambda s, t: _cosine(1.0, 0.0, t, 3), 4096 * 3),
        (S.CyclicLR(0.0, 1.0, 20), _cyclic, 4096 * 20),
        (S.CyclicLR(0.0, 1.0, 7, 3), _cyclic, 4096 * 3),
    ]:
        for t in range(edge - 50, edge):
            assert abs(sched(t) - float(oracle(sched, t))) <= (t + 1) / (edge / 4096) * 2**-51
        for t in range(edge, edge + 50):
            assert abs(sched(t) - float(oracle(sched, t))) <= 2e-15


def test_callables_must_return_finite_numbers():
    with pytest.raises(ArgumentError, match=r"lr_lambda\(t\) must be a finite number, got inf"):
        S.LambdaLR(0.1, lambda t: math.inf)(3)
    with pytest.raises(ArgumentError, match=r"lr_lambda\(t\) must be a finite number, got 'x'"):
        S.LambdaLR(0.1, lambda t: "x")(3)
    with pytest.raises(ArgumentError, match=r"scale_fn\(x\) must be a finite number, got nan"):
        S.CyclicLR(0.1, 1.0, 5, scale_fn=lambda x: math.nan)(3)
    with pytest.raises(ArgumentError, match=r"t must be an update at which LambdaLR gives a finite lr"):
        S.LambdaLR(1e300, lambda t: 1e10)(0)  # each factor finite, the product not
