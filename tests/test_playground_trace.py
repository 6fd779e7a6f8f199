"""Step-through backpropagation (playground/trace.py): the numbers of one recorded update.

Oracles: the forward values z and a, and delta = dJ/dz, from PyTorch's autograd (float64) on a
network with the same weights and the same batch; dJ/dw, dJ/db and J from ``loss_and_grad`` on
a copy of the network taken before the update; the update and the optimizer's state from
``optimizer.step`` of a copy of the optimizer taken before it. All within 1e-6 (the engine runs
in float32).
"""

from __future__ import annotations

import copy
import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch

import mlplab as ml
from mlplab.errors import ArgumentError
from mlplab.playground import spec, trace
from mlplab.playground.protocol import Outbox
from mlplab.playground.run import Run, make_data

TOL = 1e-6


def _run(cfg, steps):
    cfg = spec.check_config(cfg)
    run = Run(cfg, make_data(cfg))
    run.advance(steps)
    return run


def _step(run):
    """step_batch through its handler on a minimal session; (the "trace" message, the session)."""
    session = SimpleNamespace(runs={"main": run}, outbox=Outbox(), playing=True, dirty=False)
    trace.step_batch(session, "main")
    (msg,) = [m for m in session.outbox.take() if '"type": "trace"' in m]
    assert not session.playing and session.dirty
    return json.loads(msg), session


def _inspect(session, layer, to, frm=None):
    trace.inspect(session, "main", layer, to, **({"from": frm} if frm is not None else {}))
    return json.loads(session.outbox.take()[-1])


def _torch_pass(model, X, Y, loss):
    """z, a and delta per Dense layer from torch autograd (float64), same weights."""
    layers, zs, acts = [], [], []
    for layer in model.layers:
        if isinstance(layer, ml.Dense):
            lin = torch.nn.Linear(layer.in_features, layer.out_features, dtype=torch.float64)
            with torch.no_grad():
                lin.weight.copy_(torch.tensor(layer.W.T, dtype=torch.float64))
                lin.bias.copy_(torch.tensor(layer.b, dtype=torch.float64))
            layers.append(lin)
        else:
            layers.append({"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid,
                           "softmax": lambda z: torch.softmax(z, dim=1)}[layer.name])  # fmt: skip
    A = torch.tensor(X, dtype=torch.float64)
    for f in layers:
        A = f(A)
        if isinstance(f, torch.nn.Linear):
            A.retain_grad()
            zs.append(A)
            acts.append(A)
        else:
            acts[-1] = A
    P, T = A, torch.tensor(Y, dtype=torch.float64)
    if loss == "bce":
        J = torch.nn.functional.binary_cross_entropy(P, T.reshape(P.shape))
    elif loss == "cross_entropy":
        J = -(T * torch.log(P)).sum(dim=1).mean()  # the targets arrive as one-hot rows
    else:
        J = torch.nn.functional.mse_loss(P, T.reshape(P.shape))
    J.backward()
    return [(z.detach().numpy(), a.detach().numpy(), z.grad.numpy()) for z, a in zip(zs, acts)], J.item()


CASES = [
    ({"networkShape": [4, 3], "activation": "tanh", "optimizer": "sgd", "opt": {"momentum": 0.9}}, "bce", 37),
    ({"dataset": "spiral", "classes": 3, "networkShape": [6, 5], "activation": "relu", "optimizer": "adam",
      "learningRate": 0.01, "regularization": "L2", "regularizationRate": 0.003, "opt": {"clip_norm": 0.05},
      "batchSize": 12}, "cross_entropy", 60),
    ({"problem": "regression", "regDataset": "reg-sine", "networkShape": [8], "activation": "sigmoid",
      "optimizer": "rmsprop", "learningRate": 0.01, "x": True, "y": False}, "mse", 9),
]  # fmt: skip


@pytest.mark.parametrize("cfg, loss, steps", CASES, ids=["sgd-momentum", "adam-l2-clip", "rmsprop-1d"])
def test_every_number_of_a_step_is_the_engines(cfg, loss, steps):
    run = _run(cfg, steps)
    before = run.model.astype(run.model.dtype)  # the oracle's copies, taken before the update
    opt = copy.deepcopy(run.trainer.optimizer)
    msg, session = _step(run)
    X, Y = np.array(msg["X"], dtype=np.float32), np.array(msg["Y"])
    assert msg["t"] == steps + 1 and msg["rows"] == X.shape[0] <= trace.ROWS and msg["status"] == "ready"
    torch_layers, _ = _torch_pass(before, X, Y, loss)
    J = before.loss_and_grad(X, Y, run.trainer.loss, run.trainer.regularizer)
    assert msg["J"] == pytest.approx(J, abs=TOL)
    grads = [g.copy() for g in before.grads()]  # dW1, db1, ... of loss_and_grad
    opt.step(before)  # clips before.flat_grads() in place, as the run's optimizer did
    used = before.flat_grads()
    dense = [layer for layer in before.layers if isinstance(layer, ml.Dense)]
    for k, ((z, a, delta), layer) in enumerate(zip(torch_layers, dense)):
        n_in, n_out = layer.W.shape
        for j in range(n_out):
            i = j % n_in
            got = _inspect(session, k, j, frm=i)
            np.testing.assert_allclose(got["z"], z[:, j], rtol=0, atol=TOL)
            np.testing.assert_allclose(got["a"], a[:, j], rtol=0, atol=TOL)
            np.testing.assert_allclose(got["delta"], delta[:, j], rtol=0, atol=TOL)
            w, b = got["weight"], got["bias"]
            assert w["grad"] == pytest.approx(grads[2 * k][i, j], abs=TOL)  # dJ/dw: loss_and_grad's
            assert b["grad"] == pytest.approx(grads[2 * k + 1][j], abs=TOL)
            chain = sum(x * d for x, d in zip(got["input"], got["delta"]))  # the chain rule, summed
            assert chain + w["penalty"] == pytest.approx(w["grad"], abs=TOL)
            assert w["penalty"] == pytest.approx(0.003 * w["before"] if "regularization" in cfg else 0.0, abs=1e-9)
            assert got["delta_sum"] == pytest.approx(b["grad"], abs=TOL)  # dJ/db = sum of delta
            assert w["g_used"] == pytest.approx(float(used[w["index"]]), abs=TOL)  # after clipping
            assert w["after"] == pytest.approx(float(layer.W[i, j]), abs=TOL)  # the optimizer's step
            assert b["after"] == pytest.approx(float(layer.b[j]), abs=TOL)
            assert w["update"] == pytest.approx(w["after"] - w["before"], abs=TOL)
            assert set(w["state_after"]) == set(opt.state) and w["state_after"]
            for name, v in opt.state.items():
                assert w["state_after"][name] == pytest.approx(float(v[w["index"]]), abs=TOL)
            if got["fprime"] is not None:  # a hidden unit: delta = dJ/da * f'(z)
                np.testing.assert_allclose(np.multiply(got["da"], got["fprime"]), got["delta"], rtol=0, atol=TOL)
    assert np.array_equal(run.model.flat_params(), before.flat_params())  # the run made that very update


def test_clipping_shows_and_the_run_is_fit_bit_for_bit_after_stepping():
    """Stepping batch by batch is the same training: after a whole epoch of single steps the
    weights are those of advancing without traces."""
    cfg = {"networkShape": [5], "dropout": 0.2, "optimizer": "adam", "opt": {"clip_norm": 0.01}}
    stepped, plain = _run(cfg, 0), _run(cfg, 0)
    for _ in range(stepped.steps_per_epoch + 3):
        msg, session = _step(stepped)
    plain.advance(plain.steps_per_epoch + 3)
    assert np.array_equal(stepped.model.flat_params(), plain.model.flat_params())
    got = _inspect(session, 0, 1, frm=0)
    assert abs(got["weight"]["g_used"]) <= abs(got["weight"]["grad"])  # clip_norm shrank the gradient


def test_inspect_needs_a_step_and_a_unit_that_exists():
    run = _run({}, 0)
    session = SimpleNamespace(runs={"main": run}, outbox=Outbox(), playing=False, dirty=False)
    with pytest.raises(ArgumentError, match="step one mini-batch first"):
        trace.inspect(session, "main", 0, 0)
    trace.step_batch(session, "main")
    with pytest.raises(ArgumentError, match="no unit 9"):
        trace.inspect(session, "main", 0, 9)
    with pytest.raises(ArgumentError, match="Dense layer 0 .. 2"):
        trace.inspect(session, "main", 5, 0)
