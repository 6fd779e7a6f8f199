"""Shared fixtures and the PyTorch oracle of the test suite.

* ``dtype`` (float32 / float64) and ``rng`` (a seeded numpy Generator) fixtures;
* ``torch_mirror(model)``: a torch ``nn.Sequential`` with the same layers and weights as an
  mlplab model (mlplab's W has shape (in, out), torch Linear's weight is W.T);
* ``torch_module(layer)``: the same for a single layer;
* ``torch_grads(tmodel)``: torch's gradients laid out as mlplab's ``grads()`` ([dW1, db1, ...]);
* ``assert_rel(actual, expected, tol)``: agreement within ``tol`` relative to the size of
  ``expected`` (so entries near zero are judged on the array's scale, as gradcheck does);
* ``lab_quick(name)``: ``mlplab lab NAME --quick --out DIR`` once a session, (result, DIR);
* ``activation_name`` and ``loss_case`` (``model_loss_case``: the cases a model accepts):
  parametrized over every entry of the registries
  ``activations.ACTIVATIONS`` and ``losses.LOSSES``, so a new entry is tested automatically
  (and fails loudly until its torch counterpart is written down here).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
import torch

import mlplab as ml
from mlplab import activations, lab, losses
from mlplab.cli import main

#: the playground's browser fixtures (url, browser, page), for every test_playground_* module
pytest_plugins = ["playground_page"]

# the oracle's tensors are tiny: torch's thread pool only adds start-up and contention
torch.set_num_threads(1)

#: mlplab activation class -> torch module with the same definition
TORCH_ACTIVATIONS = {
    ml.Identity: lambda a: torch.nn.Identity(),
    ml.Sigmoid: lambda a: torch.nn.Sigmoid(),
    ml.Tanh: lambda a: torch.nn.Tanh(),
    ml.ReLU: lambda a: torch.nn.ReLU(),
    ml.LeakyReLU: lambda a: torch.nn.LeakyReLU(a.negative_slope),
    ml.ELU: lambda a: torch.nn.ELU(a.alpha),
    ml.GELU: lambda a: torch.nn.GELU(approximate="tanh"),
    ml.Softplus: lambda a: torch.nn.Softplus(),
    ml.Softmax: lambda a: torch.nn.Softmax(dim=1),
}


@pytest.fixture(params=["float32", "float64"])
def dtype(request):
    return np.dtype(request.param)


@pytest.fixture
def rng():
    return np.random.default_rng(20240607)


@pytest.fixture(scope="session")
def lab_quick(tmp_path_factory):
    """``lab_quick(name) -> (result, folder)``: the experiment run once a session through the
    command line, ``mlplab lab NAME --quick --out folder``, its JSON read back; checked on the
    way: listed by ``mlplab lab``, plain JSON (no NaN), a PNG written."""
    done = {}

    def run(name):
        if name not in done:
            assert name in lab.available()
            folder = tmp_path_factory.mktemp(name)
            assert main(["lab", name, "--quick", "--out", str(folder)]) == 0
            with open(folder / f"{name}.json") as f:
                result = json.load(f)
            json.dumps(result, allow_nan=False)
            assert result["quick"] is True and result["experiment"] == name
            assert (folder / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
            done[name] = (result, folder)
        return done[name]

    return run


def torch_layer(layer, torch_dtype=torch.float64):
    """The torch module computing what the mlplab ``layer`` computes (same weights)."""
    if isinstance(layer, ml.Dense):
        lin = torch.nn.Linear(layer.in_features, layer.out_features, dtype=torch_dtype)
        with torch.no_grad():
            lin.weight.copy_(torch.tensor(np.asarray(layer.W).T, dtype=torch_dtype))
            lin.bias.copy_(torch.tensor(np.asarray(layer.b), dtype=torch_dtype))
        return lin
    if isinstance(layer, ml.Dropout):
        return torch.nn.Dropout(layer.p)
    for cls, make in TORCH_ACTIVATIONS.items():
        if type(layer) is cls:
            return make(layer)
    raise KeyError(f"no torch counterpart for {type(layer).__name__}: add it to TORCH_ACTIVATIONS in conftest.py")


def _torch_mirror(model, torch_dtype=torch.float64):
    return torch.nn.Sequential(*[torch_layer(layer, torch_dtype) for layer in model.layers])


def _torch_grads(tmodel):
    out = []
    for m in tmodel:
        if isinstance(m, torch.nn.Linear):
            out += [m.weight.grad.detach().numpy().T, m.bias.grad.detach().numpy()]
    return out


def _assert_rel(actual, expected, tol, what=""):
    actual, expected = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    scale = max(float(np.abs(expected).max()) if expected.size else 0.0, 1e-300)
    np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol * scale, err_msg=what)


@pytest.fixture
def torch_mirror():
    """``torch_mirror(model, torch_dtype=torch.float64) -> nn.Sequential`` with identical weights."""
    return _torch_mirror


@pytest.fixture
def torch_module():
    """``torch_module(layer, torch_dtype=torch.float64)``: the torch module of one mlplab layer."""
    return torch_layer


@pytest.fixture
def torch_grads():
    """``torch_grads(tmodel) -> [dW1, db1, dW2, db2, ...]`` in mlplab's layout (dW = weight.grad.T)."""
    return _torch_grads


@pytest.fixture
def assert_rel():
    return _assert_rel


# -- loss cases: one or more rows per registry entry -------------------------------------------
@dataclass
class LossCase:
    """How one loss of the registry is used and what torch computes for it.

    ``output`` is the mlplab output activation that precedes the loss (None: a linear output,
    whose values a classification loss takes as logits); ``make_y(rng, n, k)`` draws targets;
    ``torch_loss(Z, P, y, reduction)`` is the torch oracle given the output layer's input Z
    (logits), the model output P and the targets; with reduction="none" it returns
    per-sample losses (n,). ``model`` is False for a pairing a model refuses (e.g. bce after a
    softmax), which the loss itself still computes when called on probabilities.
    """

    name: str
    variant: str
    output: str | None
    make_y: Callable
    torch_loss: Callable
    #: the targets for torch (e.g. long labels); default: float tensor of y
    torch_target: Callable | None = None
    model: bool = True

    @property
    def id(self):
        return f"{self.name}-{self.variant}"

    def target(self, y, torch_dtype):
        if self.torch_target is not None:
            return self.torch_target(y, torch_dtype)
        return torch.tensor(np.asarray(y), dtype=torch_dtype)


def _rows(f):
    """A torch loss with reduction 'none' gives (n, k) element losses: J is their row mean."""

    def loss(Z, P, Y, reduction):
        out = f(Z, P, Y, reduction)
        return out.mean(dim=1) if reduction == "none" and out.ndim == 2 else out

    return loss


def _regression_y(rng, n, k):
    return rng.normal(size=(n, k))


def _binary_y(rng, n, k):
    return rng.integers(0, 2, size=(n, k)).astype(np.float64)


def _prob_rows(rng, n, k):
    return rng.dirichlet(np.ones(k), size=n)


def _labels(rng, n, k):
    return rng.integers(0, k, size=n)


def _onehot(rng, n, k):
    return np.eye(k)[rng.integers(0, k, size=n)]


def _long(y, torch_dtype):
    return torch.tensor(np.asarray(y), dtype=torch.long)


def _cases_for(name, cls):
    if cls is losses.MSE:
        return [
            LossCase(name, "linear", None, _regression_y, _rows(lambda Z, P, Y, r: torch.nn.MSELoss(reduction=r)(P, Y)))
        ]
    if cls is losses.MAE:
        return [
            LossCase(name, "linear", None, _regression_y, _rows(lambda Z, P, Y, r: torch.nn.L1Loss(reduction=r)(P, Y)))
        ]
    if cls is losses.Huber:
        return [
            LossCase(
                name,
                "linear",
                None,
                lambda rng, n, k: 2.0 * rng.normal(size=(n, k)),
                _rows(lambda Z, P, Y, r: torch.nn.HuberLoss(reduction=r, delta=1.0)(P, Y)),
            )
        ]
    if cls is losses.Poisson:
        # on a linear output, whose values are log-rates: PoissonNLLLoss(log_input=True)
        return [
            LossCase(
                name,
                "log-rates",
                None,
                lambda rng, n, k: rng.poisson(2.0, size=(n, k)).astype(np.float64),
                _rows(lambda Z, P, Y, r: torch.nn.PoissonNLLLoss(log_input=True, reduction=r)(P, Y)),
            )
        ]
    if cls is losses.BCE:
        with_logits = _rows(lambda Z, P, Y, r: torch.nn.BCEWithLogitsLoss(reduction=r)(Z, Y))
        return [
            # fused with the sigmoid output: BCEWithLogitsLoss on the pre-sigmoid values
            LossCase(name, "sigmoid", "sigmoid", _binary_y, with_logits),
            # on a linear output, whose values are the logits: BCEWithLogitsLoss on them
            LossCase(name, "logits", None, _binary_y, with_logits),
            # the loss alone on probabilities (after a softmax, which a model refuses): BCELoss
            LossCase(
                name,
                "standalone",
                "softmax",
                _prob_rows,
                _rows(lambda Z, P, Y, r: torch.nn.BCELoss(reduction=r)(P, Y)),
                model=False,
            ),
        ]
    if cls is losses.CrossEntropy:
        ce = lambda Z, P, Y, r: torch.nn.CrossEntropyLoss(reduction=r)(Z, Y)  # noqa: E731
        return [
            LossCase(name, "labels", "softmax", _labels, ce, torch_target=_long),
            LossCase(name, "onehot", "softmax", _onehot, ce),
            LossCase(name, "probs", "softmax", _prob_rows, ce),
            # on a linear output, whose values are the logits: CrossEntropyLoss on them
            LossCase(name, "logits-labels", None, _labels, ce, torch_target=_long),
            LossCase(name, "logits-probs", None, _prob_rows, ce),
            # the loss alone on probabilities (after a sigmoid, which a model refuses): NLLLoss on log p
            LossCase(
                name,
                "standalone",
                "sigmoid",
                _labels,
                lambda Z, P, Y, r: torch.nn.NLLLoss(reduction=r)(torch.log(P), Y),
                torch_target=_long,
                model=False,
            ),
        ]
    raise KeyError(f"no torch oracle for loss {name!r} ({cls.__name__}): add its LossCase in conftest.py")


LOSS_CASES = [case for name, cls in losses.LOSSES.items() for case in _cases_for(name, cls)]


def pytest_generate_tests(metafunc):
    if "activation_name" in metafunc.fixturenames:
        metafunc.parametrize("activation_name", list(activations.ACTIVATIONS))
    if "loss_case" in metafunc.fixturenames:
        metafunc.parametrize("loss_case", LOSS_CASES, ids=[c.id for c in LOSS_CASES])
    if "model_loss_case" in metafunc.fixturenames:  # the pairings of a loss and an output a model accepts
        cases = [c for c in LOSS_CASES if c.model]
        metafunc.parametrize("model_loss_case", cases, ids=[c.id for c in cases])
