"""Tests of mlplab.errors: the three exceptions' places in Python's hierarchy, the attributes
DivergenceError carries, that every module re-exporting them hands out the same classes, and one
real raise of each from the library.

The oracles: the documented contract of mlplab.errors (ArgumentError is a ValueError and a
TypeError, DivergenceError a FloatingPointError with ``.history`` and ``.loss``,
ModelFileError a ValueError), checked with ``issubclass`` and with plain ``try/except`` blocks
written against the builtin exceptions; for the real raises, the circumstances the library
documents (a negative learning rate, a loss that overflows, a file that is not a model).
"""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest

import mlplab as ml
from mlplab import errors

ERRORS = [errors.ArgumentError, errors.DivergenceError, errors.ModelFileError]


# -- the hierarchy ---------------------------------------------------------------------------------------------
def test_public_names():
    assert errors.__all__ == ["ArgumentError", "DivergenceError", "ModelFileError"]


@pytest.mark.parametrize(
    "cls,bases,not_bases",
    [
        (errors.ArgumentError, [ValueError, TypeError, Exception], [ArithmeticError]),
        (errors.DivergenceError, [FloatingPointError, ArithmeticError, Exception], [ValueError, TypeError]),
        (errors.ModelFileError, [ValueError, Exception], [TypeError, ArithmeticError, OSError]),
    ],
    ids=lambda x: getattr(x, "__name__", None),
)
def test_hierarchy(cls, bases, not_bases):
    for b in bases:
        assert issubclass(cls, b), b
    for b in not_bases:
        assert not issubclass(cls, b), b


def _caught_by(exc, handler):
    """Which handler of a try/except written against builtins catches ``exc``."""
    try:
        raise exc
    except handler:
        return True
    except (ValueError, TypeError, ArithmeticError, OSError):
        return False


def test_argument_error_is_caught_by_except_value_error_and_except_type_error():
    e = errors.ArgumentError("lr must be a number, got 'x'")
    assert _caught_by(e, ValueError) and _caught_by(e, TypeError)
    for handler in (ValueError, TypeError):
        with pytest.raises(handler, match=r"^lr must be a number, got 'x'$"):
            raise e


def test_divergence_error_is_caught_by_except_floating_point_error_and_arithmetic_error():
    e = errors.DivergenceError("diverged")
    assert _caught_by(e, FloatingPointError) and _caught_by(e, ArithmeticError)
    assert not _caught_by(e, ValueError)


def test_model_file_error_is_caught_by_except_value_error():
    e = errors.ModelFileError("m.mlp: not a model")
    assert _caught_by(e, ValueError) and not _caught_by(e, TypeError) and not _caught_by(e, OSError)


def test_divergence_error_carries_history_and_loss():
    h = ml.History()
    h.record(0, {"loss": 1.5})
    e = errors.DivergenceError("the loss became inf", h, loss=math.inf)
    assert str(e) == "the loss became inf" and e.args == ("the loss became inf",)
    assert e.history is h and e.loss == math.inf
    e = errors.DivergenceError("no details")
    assert e.history is None and e.loss is None


def test_divergence_error_survives_pickling():
    # exceptions cross process boundaries (joblib, multiprocessing) by pickle
    h = ml.History()
    h.record(0, {"loss": 2.0})
    e = pickle.loads(pickle.dumps(errors.DivergenceError("nan loss", h, loss=math.nan)))
    assert type(e) is errors.DivergenceError and str(e) == "nan loss"
    assert isinstance(e.history, ml.History) and e.history["loss"] == [2.0] and math.isnan(e.loss)


# -- the same classes everywhere ---------------------------------------------------------------------------
@pytest.mark.parametrize("cls", ERRORS, ids=lambda c: c.__name__)
def test_top_level_names_are_the_errors_module_classes(cls):
    assert getattr(ml, cls.__name__) is cls
    assert cls.__name__ in ml.__all__
    assert cls.__module__ == "mlplab.errors"


def test_reexports_are_the_same_objects():
    from mlplab import _validation, io, model, training

    assert model.DivergenceError is errors.DivergenceError
    assert training.DivergenceError is errors.DivergenceError
    assert io.ModelFileError is errors.ModelFileError
    assert _validation.ArgumentError is errors.ArgumentError


# -- real raises from the library --------------------------------------------------------------------------
@pytest.mark.parametrize("lr", [-1, -1e-9, float("nan"), "0.1", True], ids=repr)
def test_sgd_with_a_bad_learning_rate_raises_argument_error(lr):
    with pytest.raises(errors.ArgumentError, match=r"^lr must be .+, got .+$") as info:
        ml.optim.SGD(lr=lr)
    assert isinstance(info.value, ValueError) and isinstance(info.value, TypeError)
    assert str(info.value).endswith(f"got {lr!r}")


def test_predict_on_a_1d_array_raises_argument_error_with_the_hint():
    model = ml.MLP([1, 3, 1], seed=0)
    with pytest.raises(ValueError, match=r"^X must be 2-D .*X\.reshape\(-1, 1\)"):
        model.predict(np.arange(4.0))


def test_divergence_on_unscaled_targets_raises_divergence_error(rng):
    # the set-up of tests/test_fit.py: targets of scale ~100 and lr=0.5 make SGD overflow
    X = rng.normal(size=(64, 3))
    y = 100.0 * X.sum(axis=1)
    model = ml.MLP([3, 16, 1], dtype="float64", seed=0)
    with pytest.raises(FloatingPointError) as info:
        model.fit(X, y, "mse", ml.optim.SGD(lr=0.5), epochs=50, batch_size=16, verbose=0)
    e = info.value
    assert type(e) is errors.DivergenceError
    assert isinstance(e.history, ml.History)
    assert e.loss is not None and not np.isfinite(e.loss)
    # the History holds the epochs finished before the divergence (their losses finite) and says why it stopped
    assert len(e.history) < 50 and len(e.history.epoch) == len(e.history)
    assert all(np.isfinite(x) for x in e.history.to_dict()["history"].get("loss", []))
    assert "diverged" in e.history.stop_reason
    assert np.isfinite(model.get_weights()).all()


@pytest.mark.parametrize(
    "content",
    [b"", b"hello, not a model\n", pickle.dumps({"W": [1.0, 2.0]}), b"PK\x03\x04 truncated zip header"],
    ids=["empty", "text", "pickle", "broken-zip"],
)
def test_load_of_a_non_model_file_raises_model_file_error(content, tmp_path):
    path = tmp_path / "not_a_model.mlp"
    path.write_bytes(content)
    with pytest.raises(ValueError) as info:
        ml.load(path)
    assert type(info.value) is errors.ModelFileError
    assert str(info.value).startswith(f"{path}: ")


def test_load_of_a_truncated_model_file_raises_model_file_error(tmp_path):
    path = tmp_path / "m.mlp"
    ml.MLP([3, 4, 2], seed=0).save(path)
    ml.load(path)  # the intact file loads
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(errors.ModelFileError, match="^" + str(path).replace("\\", "\\\\")):
        ml.load(path)


def test_load_of_a_missing_file_is_not_a_model_file_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        ml.load(tmp_path / "absent.mlp")
