"""mlplab: build, train and understand multi-layer perceptrons, from scratch on NumPy.

    import mlplab as ml
    X, y = ml.datasets.circle(n=400, noise=0.1, seed=0)
    model = ml.MLP([2, 16, 16, 1], activation="relu", output="sigmoid", seed=0)
    model.fit(X, y, loss="bce", optimizer=ml.optim.SGD(lr=0.1), epochs=50)
"""
from . import activations, augment, callbacks, datasets, initializers, losses, metrics, optim, regularizers, schedules
from .activations import ELU, GELU, Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Softplus, Tanh
from .callbacks import Callback, History, TerminateOnNaN
from .gradcheck import gradcheck
from .io import ModelFileError, load, load_checkpoint, save_checkpoint
from .layers import Dense, Dropout, Layer
from .losses import BCE, MAE, MSE, CrossEntropy, Huber
from .model import MLP, DivergenceError, Sequential
from .regularizers import L1, L2, ElasticNet

__version__ = "0.1.0"

__all__ = [
    "activations", "augment", "callbacks", "datasets", "initializers", "losses", "metrics", "optim",
    "regularizers", "schedules",
    "Layer", "Dense", "Dropout",
    "Identity", "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "ELU", "GELU", "Softplus", "Softmax",
    "MSE", "MAE", "Huber", "BCE", "CrossEntropy",
    "Sequential", "MLP", "DivergenceError",
    "L1", "L2", "ElasticNet",
    "Callback", "History", "TerminateOnNaN",
    "gradcheck",
    "load", "save_checkpoint", "load_checkpoint", "ModelFileError",
]
