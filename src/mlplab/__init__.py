"""mlplab: build, train and understand multi-layer perceptrons, from scratch on NumPy.

    import mlplab as ml
    X, y = ml.datasets.circle(n=400, noise=0.1, seed=0)
    model = ml.MLP([2, 16, 16, 1], activation="relu", output="sigmoid", seed=0)
    model.fit(X, y, loss="bce", optimizer=ml.optim.SGD(lr=0.1), epochs=50)

The network and the lecture's steps (forward, loss_and_grad, backward) are ``model``; the
training loop is ``training.Trainer`` (train_step, run_epoch, fit), which ``model.fit``
drives. The package is flat, one module per concern. Modules, each importing at module
level only modules before it in this order (tests/test_architecture.py checks it):

    _version, errors, backend, _validation, initializers, layers, activations, losses,
    regularizers, metrics, schedules, history, model, optim, schema, io, export, gradcheck,
    diagnostics, callbacks, batches, training, lr_finder, lbfgs, sklearn_params, sklearn_objective,
    sklearn, augment, datasets, plotting, lab, playground, cli

backend holds the array library and the measured kernels, _validation every argument
check; model never imports the training loop or the callbacks (``model.fit``, ``save`` and
``to_onnx`` are facades that import theirs when called). ``playground`` (the browser playground,
``mlplab playground``) sits on top: the library never imports it.
"""

from . import (
    activations,
    augment,
    callbacks,
    datasets,
    diagnostics,
    history,
    initializers,
    lbfgs,
    losses,
    metrics,
    optim,
    regularizers,
    schedules,
    training,
)
from ._version import __version__
from .activations import ELU, GELU, Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Softplus, Tanh
from .callbacks import Callback, TerminateOnNaN
from .errors import ArgumentError, DivergenceError, ModelFileError
from .gradcheck import gradcheck
from .history import History
from .io import load, load_checkpoint, save_checkpoint
from .layers import Dense, Dropout, Layer
from .lbfgs import LBFGS
from .losses import BCE, MAE, MSE, CrossEntropy, Huber, Poisson
from .lr_finder import lr_find
from .model import MLP, Sequential
from .regularizers import L1, L2, ElasticNet
from .training import ArraySource, ChunkSource, Trainer

__all__ = [
    "activations",
    "augment",
    "callbacks",
    "datasets",
    "diagnostics",
    "history",
    "initializers",
    "lbfgs",
    "losses",
    "metrics",
    "optim",
    "regularizers",
    "schedules",
    "training",
    "Layer",
    "Dense",
    "Dropout",
    "Identity",
    "Sigmoid",
    "Tanh",
    "ReLU",
    "LeakyReLU",
    "ELU",
    "GELU",
    "Softplus",
    "Softmax",
    "MSE",
    "MAE",
    "Huber",
    "Poisson",
    "BCE",
    "CrossEntropy",
    "Sequential",
    "MLP",
    "L1",
    "L2",
    "ElasticNet",
    "Trainer",
    "LBFGS",
    "ArraySource",
    "ChunkSource",
    "Callback",
    "History",
    "TerminateOnNaN",
    "gradcheck",
    "lr_find",
    "load",
    "save_checkpoint",
    "load_checkpoint",
    "ArgumentError",
    "DivergenceError",
    "ModelFileError",
    "__version__",
]
