"""ONNX export (mlplab.export): onnxruntime must compute what the model computes.

Oracle: ``model.predict`` (itself checked against PyTorch in test_activations / test_model)
and, for the scikit-learn estimators, their ``predict_proba`` / ``predict``. Agreement is
asked within 1e-5 (absolute, outputs are O(1)) for float32 and 1e-12 for float64.
"""

from __future__ import annotations

import sys

import numpy as np
import onnx
import onnxruntime as ort
import pytest

import mlplab as ml
from mlplab import activations, export

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

TOL = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-12}


def _run(proto_or_path, X, dtype):
    data = proto_or_path.SerializeToString() if isinstance(proto_or_path, onnx.ModelProto) else str(proto_or_path)
    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: np.asarray(X, dtype=dtype)})[0]


def _inputs(rng, n_in):
    # wide range: negative tails (ELU, softplus), z > 20 (softplus threshold), saturation
    return np.vstack([rng.normal(size=(40, n_in)), 30.0 * rng.normal(size=(20, n_in))])


@pytest.mark.parametrize("output", [None, *sorted(set(activations.ACTIVATIONS) - {"linear"})])
def test_every_output(output, dtype, rng):
    model = ml.MLP([4, 9, 3], activation="tanh", output=output, dtype=dtype.name, seed=0)
    X = _inputs(rng, 4)
    np.testing.assert_allclose(_run(model.to_onnx(), X, dtype), model.predict(X), rtol=0, atol=TOL[dtype])


def test_every_hidden_activation(activation_name, dtype, rng):
    model = ml.MLP([4, 9, 7, 2], activation=activation_name, output="softmax", dtype=dtype.name, seed=1)
    model.set_weights(2.0 * rng.normal(size=model.n_params))  # large pre-activations on both sides
    X = _inputs(rng, 4)
    np.testing.assert_allclose(_run(model.to_onnx(), X, dtype), model.predict(X), rtol=0, atol=TOL[dtype])


def test_layer_arguments_and_dropout(tmp_path, dtype, rng):
    model = ml.Sequential(
        [
            ml.Dense(3, 6, seed=0, dtype=dtype.name),
            ml.LeakyReLU(0.3),
            ml.Dropout(0.5),
            ml.Dense(6, 5, seed=1, dtype=dtype.name),
            ml.ELU(0.4),
            ml.Dense(5, 2, seed=2, dtype=dtype.name),
            ml.Softplus(),
        ],
        dtype=dtype.name,
    )
    X = _inputs(rng, 3)
    path = model.to_onnx(tmp_path / "m.onnx")
    np.testing.assert_allclose(_run(path, X, dtype), model.predict(X), rtol=0, atol=TOL[dtype])
    proto = onnx.load(path)
    onnx.checker.check_model(proto)
    assert proto.opset_import[0].version == 17 and proto.ir_version == 8
    assert {n.op_type for n in proto.graph.node} >= {"MatMul", "Add", "Max", "Where", "Exp", "Log"}


def test_sklearn_estimators_export(tmp_path, rng):
    from mlplab.sklearn import MLPClassifier, MLPRegressor

    X = rng.normal(size=(60, 4))
    y3 = rng.integers(0, 3, 60)
    cases = [
        (MLPClassifier((8,), max_iter=5, random_state=0).fit(X, np.array(["a", "b"])[y3 % 2]), "predict_proba"),
        (MLPClassifier((8,), max_iter=5, random_state=0).fit(X, y3), "predict_proba"),
        (
            MLPClassifier((8,), max_iter=5, random_state=0).fit(X, np.eye(3)[y3] + np.eye(3)[(y3 + 1) % 3]),
            "predict_proba",
        ),
        (MLPRegressor(hidden_layer_sizes=(8,), max_iter=5, random_state=0).fit(X, X[:, :2]), "predict"),
        (MLPRegressor(hidden_layer_sizes=(8,), max_iter=5, random_state=0, dtype="float64").fit(X, X[:, 0]), "predict"),
    ]
    for est, method in cases:
        out = _run(est.to_onnx(tmp_path / "e.onnx"), X, est.model_.dtype)
        expected = getattr(est, method)(X)
        np.testing.assert_allclose(out.reshape(expected.shape), expected, rtol=0, atol=TOL[est.model_.dtype])


def test_cli_export(tmp_path, rng, capsys):
    from mlplab.cli import main

    model = ml.MLP([4, 6, 3], activation="gelu", output="softmax", seed=0)
    model.save(tmp_path / "m.mlp")
    assert main(["export", str(tmp_path / "m.mlp"), str(tmp_path / "m.onnx")]) == 0
    assert "wrote" in capsys.readouterr().out
    X = _inputs(rng, 4)
    np.testing.assert_allclose(_run(tmp_path / "m.onnx", X, np.float32), model.predict(X), rtol=0, atol=1e-5)
    assert main(["export", str(tmp_path / "m.onnx"), str(tmp_path / "x.onnx")]) == 2
    assert "not a mlplab model file" in capsys.readouterr().err


def test_missing_onnx_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # as if onnx were not installed
    with pytest.raises(ImportError, match=r"mlplab\[onnx\]"):
        ml.MLP([2, 2]).to_onnx()


def test_bad_arguments():
    model = ml.MLP([2, 3, 1], output="sigmoid")
    with pytest.raises(ValueError, match="opset"):
        model.to_onnx(opset=11)
    with pytest.raises(ValueError, match="binary_proba"):
        ml.MLP([2, 3, 2], output="softmax").to_onnx(binary_proba=True)
    with pytest.raises(TypeError, match="Sequential"):
        export.to_onnx("not a model")
