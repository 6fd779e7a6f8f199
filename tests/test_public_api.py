"""Fuzzing the public API: any argument either works or is refused with a ValueError or
TypeError naming it; no other exception, and never a model with NaN or infinite weights.

Two suites over every public function, constructor and model method (``SPECS``):

- a deterministic sweep: each argument, alone, replaced by each of ``ODD`` (None, bools,
  huge, negative and non-finite numbers, NumPy scalars, strings, empty, complex, object and
  3-D arrays, dicts, callables...);
- hypothesis: arguments replaced by generated values (numbers of every kind, text, lists,
  NumPy arrays of every dtype and small shape), one or two at a time, with a fixed seed
  (``MLPLAB_FUZZ_SEED``, default 0). ``MLPLAB_FUZZ_SECONDS`` (default 5) sets its budget,
  150 examples a second: ``MLPLAB_FUZZ_SECONDS=600 pytest tests/test_public_api.py`` runs for
  minutes.

What counts as naming the argument: an ``ArgumentError`` whose name (before " must be")
contains the argument's name or its documented alias (the registry lookups name the
argument of ``fit`` they serve: ``optim.get(opt)`` says "optimizer"). Also accepted:
``ModelFileError`` or ``OSError`` for a path that is not a model file or cannot be written,
``DivergenceError`` (with finite weights left) for values that make training diverge, and,
in the scikit-learn estimators' ``fit``, scikit-learn's own errors for X and y (a drop-in
raises what scikit-learn raises).
"""

from __future__ import annotations

import atexit
import inspect
import math
import os
import pathlib
import re
import shutil
import signal
import tempfile
import time
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import mlplab as ml
from mlplab import augment, callbacks, datasets, initializers, losses, metrics, optim, regularizers, schedules
from mlplab import sklearn as mlsk
from mlplab.errors import ArgumentError, DivergenceError, ModelFileError
from mlplab.export import to_onnx

FUZZ_SECONDS = float(os.environ.get("MLPLAB_FUZZ_SECONDS", "5"))
FUZZ_SEED = int(os.environ.get("MLPLAB_FUZZ_SEED", "0"))  # hypothesis's seed: the same examples every run
CALL_SECONDS = 1.0  # a call running longer (e.g. epochs=1000) is stopped and counts as working

_rng = np.random.default_rng(0)
X = _rng.normal(size=(12, 3))
y = np.arange(12) % 2


def _model():
    return ml.MLP([3, 4, 2], output="softmax", seed=0)


class _Odd:
    def __repr__(self):
        return "<an object>"


ODD = [
    None, True, False, 0, -1, 1, 2**70, 0.5, -0.5, 2.5, math.nan, math.inf, -math.inf, 1e308, -0.0,
    np.float32(0.5), np.float16(2.0), np.int64(3), np.float64("nan"), 1j, "", "8", "abc", b"x", [], [1], [[1.0]],
    (), {}, {"a": 1}, np.array([]), np.zeros((0, 3)), np.array([1 + 2j]), np.full((4, 3), np.nan),
    np.zeros((2, 2, 2)), np.array(["a"]), np.array([None], dtype=object), np.ones((12, 3)) * (1 + 1j),
    np.ones(12) * (1 + 1j), lambda *a, **k: None, _Odd(),
]  # fmt: skip

#: the argument name each registry lookup reports (the argument of fit or MLP it serves)
ALIASES = {"opt": "optimizer", "name_or_schedule": "schedule", "reg": "regularizer", "name": "metric"}
PATHS = {"path", "filepath", "filename", "resume_from"}


# -- the calls ------------------------------------------------------------------------------------
class Spec:
    """A public callable, the valid arguments it is called with, and how its arguments are
    replaced. ``fn(**kwargs)`` returns a model to check, or anything."""

    def __init__(self, label, fn, valid=None, signature_of=None, skip=()):
        self.label, self.fn, self.valid = label, fn, dict(valid or {})
        sig = inspect.signature(signature_of or fn)
        kinds = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
        skip = ("self", *skip)
        self.params = [p.name for p in sig.parameters.values() if p.kind not in kinds and p.name not in skip]

    def __repr__(self):
        return self.label


def _method(name, **valid):
    def call(**kw):
        m = _model()
        out = getattr(m, name)(**kw)
        return m if name == "fit" else out

    return Spec(f"MLP.{name}", call, valid, getattr(_model(), name), skip=("verbose",))


def _with(fn, label, signature_of, valid=None, **fixed):
    def call(**kw):
        return fn(**{**{k: f() for k, f in fixed.items()}, **kw})

    return Spec(label, call, valid, signature_of)


def _trainer_fit(**kw):
    t = ml.Trainer(_model(), verbose=0)
    t.fit(**{"batches": ml.ArraySource(X, y), **kw})
    return t.model


def _lbfgs_fit(**kw):
    m = _model()
    ml.LBFGS(m, max_iter=3).fit(**kw)
    return m


def _source(cls):
    def call(**kw):
        t = ml.Trainer(_model(), verbose=0)
        t.fit(cls(**kw), 1)
        return t.model

    return call


def _estimator(cls, target, method=None):
    def call(**kw):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if method is None:
                return cls(**kw).fit(X, target)
            return cls(max_iter=3).fit(**{"y": target, **kw})

    return call


def _backward(**kw):
    m = _model()
    m.forward(X, training=True)
    return m.backward(**kw)


def _specs(tmp):
    S = []
    for mod in (ml.activations, losses, regularizers, optim, schedules):
        for name in mod.__all__:
            obj = getattr(mod, name)
            if inspect.isclass(obj) and obj.__module__ == mod.__name__ and not inspect.isabstract(obj):
                if name in ("Activation", "Loss", "Regularizer", "Optimizer", "Schedule"):
                    continue
                valid = (
                    {"schedulers": [schedules.StepLR(0.1, 2)] * 2, "milestones": [3]} if name == "SequentialLR" else {}
                )
                S.append(Spec(f"{mod.__name__.split('.')[-1]}.{name}", obj, valid))
    required = dict(
        base_lr=0.1, step_size=3, milestones=[2, 4], gamma=0.5, T_max=10, T_0=5, max_lr=0.5, total_steps=20,
        lr_lambda=lambda t: 1.0, std=0.1,
    )  # fmt: skip
    for s in S:
        for p in s.params:
            if p in required and p not in s.valid:
                s.valid[p] = required[p]
    S += [
        Spec("callbacks.EarlyStopping", callbacks.EarlyStopping),
        Spec("callbacks.ReduceLROnPlateau", callbacks.ReduceLROnPlateau),
        Spec("callbacks.ModelCheckpoint", callbacks.ModelCheckpoint, {"filepath": str(tmp / "ck.mlp")}),
        Spec("callbacks.CSVLogger", callbacks.CSVLogger, {"filename": str(tmp / "log.csv")}),
        Spec("callbacks.LearningRateScheduler", callbacks.LearningRateScheduler, {"schedule": lambda e: 0.1}),
        Spec("callbacks.ProgressBar", callbacks.ProgressBar),
        *(Spec(f"datasets.{n}", getattr(datasets, n)) for n in ("circle", "xor", "gaussian", "spiral", "moons")),
        Spec("datasets.load_digits", datasets.load_digits),
        Spec("datasets.load", datasets.load, {"name": "iris"}),
        Spec("augment.GaussianNoise", augment.GaussianNoise, {"std": 0.1}),
        *(Spec(f"augment.{n}", getattr(augment, n)) for n in ("RandomShift", "RandomRotation", "RandomFlip")),
        Spec("augment.Compose", augment.Compose, {"augmenters": [augment.GaussianNoise(0.1)]}),
        Spec("augment.shift_images", augment.shift_images, {"images": np.zeros((2, 8, 8)), "dy": 1, "dx": 0}),
        Spec("augment.rotate_images", augment.rotate_images, {"images": np.zeros((2, 8, 8)), "angles": 30.0}),
        Spec(
            "augment.flip_images", augment.flip_images, {"images": np.zeros((2, 8, 8)), "flip_h": True, "flip_v": False}
        ),
        Spec("Dense", ml.Dense, {"in_features": 3, "out_features": 2}),
        Spec("Dropout", ml.Dropout),
        Spec("MLP", ml.MLP, {"sizes": [3, 4, 2]}),
        Spec("Sequential", ml.Sequential, {"layers": [ml.Dense(3, 2)]}),
        Spec("activations.get", ml.activations.get, {"activation": "relu"}),
        Spec("losses.get", losses.get, {"loss": "mse"}),
        Spec("optim.get", optim.get, {"opt": "adam"}),
        _with(
            schedules.get,
            "schedules.get",
            schedules.get,
            {"name_or_schedule": "step"},
            base_lr=lambda: 0.1,
            step_size=lambda: 2,
        ),  # fmt: skip
        Spec("regularizers.get", regularizers.get, {"reg": "l2"}),
        Spec("metrics.get", metrics.get, {"name": "accuracy"}),
        Spec("initializers.get", initializers.get, {"init": "glorot"}),
        _method("fit", X=X, y=y, epochs=2, verbose=0),
        *(_method(n, X=X) for n in ("predict", "predict_proba", "predict_classes", "forward")),
        _method("evaluate", X=X, y=y),
        _method("loss_and_grad", X=X, y=y),
        _method("set_weights", weights=_model().get_weights()),
        _method("astype", dtype="float64"),
        _method("save", path=str(tmp / "m.mlp")),
        _method("summary", print_fn=lambda s: None),
        Spec("MLP.backward", _backward, {"dY": np.zeros((12, 2))}, _model().backward),
        _with(ml.Trainer, "Trainer", ml.Trainer, {"verbose": 0}, model=_model),
        Spec("Trainer.fit", _trainer_fit, {"epochs": 2}, ml.Trainer.fit),
        _with(
            lambda **kw: ml.Trainer(_model(), verbose=0).train_step(**kw),
            "Trainer.train_step",
            ml.Trainer.train_step,
            {"X": X, "Y": y},
        ),  # fmt: skip
        _with(
            lambda **kw: ml.Trainer(_model(), verbose=0).run_epoch(**kw),
            "Trainer.run_epoch",
            ml.Trainer.run_epoch,
            {"batches": ml.ArraySource(X, y)},
        ),  # fmt: skip
        Spec("ArraySource", _source(ml.ArraySource), {"X": X, "y": y}, ml.ArraySource),
        Spec("ChunkSource", _source(ml.ChunkSource), {"chunks": [(X, y)]}, ml.ChunkSource),
        _with(ml.gradcheck, "gradcheck", ml.gradcheck, {"X": X, "y": y}, model=lambda: _model().astype("float64")),
        Spec("load", ml.load, {"path": _model().save(str(tmp / "ok.mlp"))}),
        Spec(
            "load_checkpoint",
            ml.load_checkpoint,
            {"path": ml.save_checkpoint(str(tmp / "ok.ckpt"), _model(), optim.SGD(), 0)},
        ),
        _with(
            ml.save_checkpoint,
            "save_checkpoint",
            ml.save_checkpoint,
            {"path": str(tmp / "c.mlp"), "epoch": 0},
            model=_model,
            optimizer=optim.SGD,
        ),  # fmt: skip
        _with(to_onnx, "to_onnx", to_onnx, {"path": str(tmp / "m.onnx")}, model=_model),
        Spec("callbacks.Diagnostics", callbacks.Diagnostics),
        _with(ml.lr_find, "lr_find", ml.lr_find, {"X": X, "y": y, "num_steps": 5}, model=_model),
        Spec("MLPClassifier", _estimator(mlsk.MLPClassifier, y), {"max_iter": 3}, mlsk.MLPClassifier),
        Spec("MLPRegressor", _estimator(mlsk.MLPRegressor, X[:, 0]), {"max_iter": 3}, mlsk.MLPRegressor),
        Spec("MLPClassifier.fit", _estimator(mlsk.MLPClassifier, y, "fit"), {"X": X}, mlsk.MLPClassifier.fit),
        Spec("MLPRegressor.fit", _estimator(mlsk.MLPRegressor, X[:, 0], "fit"), {"X": X}, mlsk.MLPRegressor.fit),
        _with(ml.LBFGS, "LBFGS", ml.LBFGS, {"max_iter": 3}, model=_model),
        Spec("LBFGS.fit", _lbfgs_fit, {"X": X, "y": y}, ml.LBFGS.fit),
    ]
    return S


# -- the judge ----------------------------------------------------------------------------------
class _Timeout(Exception):
    pass


def _call(spec, kwargs):
    """(result, exception) of the call, stopped after CALL_SECONDS (a SIGALRM)."""

    def alarm(*_):
        raise _Timeout

    old = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, CALL_SECONDS)
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return spec.fn(**kwargs), None
    except _Timeout:
        return None, None
    except Exception as e:  # judged by the caller
        return None, e
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _named(message, names) -> bool:
    """The argument is the one the message names, or one it names as the cause ("y must be of
    1 samples, as many as X": X was changed)."""
    head = message.split(" must be")[0].lower()
    return any(n.lower() in head or re.search(rf"\b{re.escape(n)}\b", message) for n in names)


def _judge(spec, changed, result, error, values=()):
    """None if the outcome is allowed, else what is wrong. An argument that is the name the
    messages give (``activations.get(name=)``) is named by its value."""
    names = [*changed, *(ALIASES[c] for c in changed if c in ALIASES)]
    given = [v for v in values if isinstance(v, str)]
    if error is None:
        if isinstance(result, ml.Sequential) and not np.isfinite(result.get_weights()).all():
            return "returned a model with NaN or infinite weights"
        return None
    if isinstance(error, DivergenceError):
        return None  # fit's documented answer to a rate that makes training diverge (weights checked by fit)
    if isinstance(error, (ModelFileError, OSError)) and PATHS & set(changed):
        return None
    if isinstance(error, ArgumentError):
        ok = _named(str(error), names) or str(error).split(" must be")[0] in given
        return None if ok else f"ArgumentError naming another argument: {error}"
    estimator_data = spec.label in ("MLPClassifier.fit", "MLPRegressor.fit") and {"X", "y"} & set(changed)
    if estimator_data and isinstance(error, (ValueError, TypeError)):
        return None  # scikit-learn's validate_data raised it, as in scikit-learn's own MLP
    if spec.label.startswith("MLP") and isinstance(error, ValueError) and str(error).startswith("Solver produced"):
        return None  # the estimators' answer to divergence, scikit-learn's message
    if type(error).__name__ == "InvalidParameterError" and _named(str(error).replace("parameter of", ""), names):
        return None  # scikit-learn's parameter validation: "The 'alpha' parameter of MLPClassifier must be..."
    return f"{type(error).__name__}: {str(error)[:200]}"


_TMP = pathlib.Path(tempfile.mkdtemp(prefix="mlplab-api-"))
atexit.register(shutil.rmtree, _TMP, ignore_errors=True)
SPECS = {s.label: s for s in _specs(_TMP)}
SPEC_LABELS = list(SPECS)


@pytest.fixture(scope="module")
def specs():
    cwd = os.getcwd()
    os.chdir(_TMP)  # paths given as odd strings ("8", "abc") are written there
    try:
        yield SPECS
    finally:
        os.chdir(cwd)


@pytest.mark.parametrize("label", SPEC_LABELS)
def test_every_argument_refuses_odd_values_by_name(specs, label):
    spec = specs[label]
    result, error = _call(spec, spec.valid)
    assert error is None, f"the valid call of {label} failed: {error!r}"
    wrong = []
    for p in spec.params:
        for v in ODD:
            result, error = _call(spec, {**spec.valid, p: v})
            verdict = _judge(spec, [p], result, error, [v])
            if verdict:
                wrong.append(f"{label}({p}={v!r:.40}): {verdict}")
    assert not wrong, "\n".join(wrong[:20]) + f"\n({len(wrong)} in all)"


_numbers = st.one_of(
    st.integers(-10, 1000),
    st.sampled_from([2**31, 2**63, -(2**63), 2**70]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(-10, 10).map(np.float32),
    st.integers(0, 100).map(np.int32),
    st.complex_numbers(max_magnitude=10),
)
_arrays = hnp.arrays(
    st.sampled_from([np.float64, np.float32, np.int64, np.uint8, np.bool_, np.complex128, np.float16]),
    hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=13),
)
_values = st.one_of(
    st.none(),
    st.booleans(),
    _numbers,
    st.text(max_size=6),
    st.lists(_numbers, max_size=4),
    st.lists(st.lists(st.floats(-5, 5), min_size=3, max_size=3), max_size=13),
    st.dictionaries(st.text(max_size=3), _numbers, max_size=2),
    _arrays,
    st.sampled_from(ODD),
)


@seed(FUZZ_SEED)
@settings(
    max_examples=max(50, int(150 * FUZZ_SECONDS)), deadline=None, suppress_health_check=list(HealthCheck), database=None
)
@given(data=st.data())
def test_hypothesis_over_the_public_api(specs, data):
    """Generated values for one or two arguments of a public callable at a time."""
    spec = specs[data.draw(st.sampled_from(SPEC_LABELS), label="callable")]
    if not spec.params:
        return
    changed = data.draw(st.lists(st.sampled_from(spec.params), min_size=1, max_size=2, unique=True), label="args")
    values = {p: data.draw(_values, label=p) for p in changed}
    start = time.perf_counter()
    result, error = _call(spec, {**spec.valid, **values})
    verdict = _judge(spec, changed, result, error, list(values.values()))
    assert verdict is None, f"{spec.label}({values!r:.300}): {verdict} ({time.perf_counter() - start:.2f} s)"
