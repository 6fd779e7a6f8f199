"""The benchmark workloads and one trainer per library (mlplab, PyTorch, scikit-learn).

A workload fixes the architecture, the loss, the optimizer, the batch size and the
synthetic float32 data (fixed seeds). A trainer wraps one library's model for it and
offers ``epoch()`` (one pass over the training set, shuffling included, with the
library's ordinary public API) and ``predict(X)`` (outputs for X: probabilities for the
classifiers, values for the regressor). The same model object lives across epochs, so
optimizer state carries over as it would in a real training run.

Libraries are imported lazily: the memory measurement runs each library in a process of
its own that imports only that library.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np

__all__ = [
    "Workload",
    "WORKLOADS",
    "LIBRARIES",
    "make_data",
    "make_trainer",
    "train_flops_per_sample",
    "infer_flops_per_sample",
    "adam_available",
]


@dataclasses.dataclass(frozen=True)
class Workload:
    """One benchmark case. ``optimizer`` is "adam", "sgd_momentum" or "gd" (plain gradient
    descent, full batch when ``batch_size`` is None)."""

    key: str
    name: str
    sizes: tuple
    activation: str
    task: str  # "classification" (softmax + cross-entropy) or "regression" (linear + MSE)
    batch_size: int | None
    optimizer: str
    lr: float
    n_samples: int
    quick_samples: int
    momentum: float = 0.0

    def shrink(self, n: int) -> Workload:
        return dataclasses.replace(self, n_samples=n)


WORKLOADS = {
    w.key: w
    for w in (
        Workload(
            "W1",
            "mnist-like",
            (784, 512, 256, 10),
            "relu",
            "classification",
            256,
            "adam",
            1e-3,
            n_samples=8192,
            quick_samples=1024,
        ),
        Workload(
            "W2",
            "playground",
            (2, 16, 16, 2),
            "relu",
            "classification",
            32,
            "adam",
            1e-2,
            n_samples=2048,
            quick_samples=512,
        ),
        Workload(
            "W3",
            "deep-narrow",
            (64,) + (128,) * 8 + (10,),
            "tanh",
            "classification",
            64,
            "sgd_momentum",
            1e-2,
            momentum=0.9,
            n_samples=8192,
            quick_samples=512,
        ),
        Workload(
            "W4",
            "full-batch regression",
            (32, 64, 1),
            "relu",
            "regression",
            None,
            "gd",
            1e-2,
            n_samples=100_000,
            quick_samples=5000,
        ),
    )
}

LIBRARIES = ("mlplab", "torch", "sklearn")


def train_flops_per_sample(w: Workload) -> int:
    """6 * sum(n_in * n_out): 2 for the forward product X W, 2 for dW = X^T dY and 2 for
    dX = dY W^T, per weight and sample (biases, activations and the optimizer neglected).
    mlplab skips dX of the first layer, so this slightly over-counts the work it does."""
    return 6 * sum(a * b for a, b in zip(w.sizes[:-1], w.sizes[1:]))


def infer_flops_per_sample(w: Workload) -> int:
    """2 * sum(n_in * n_out): the forward products only."""
    return 2 * sum(a * b for a, b in zip(w.sizes[:-1], w.sizes[1:]))


def make_data(w: Workload, seed: int = 0):
    """Synthetic float32 inputs and targets for ``w`` (deterministic for a given seed).

    Classification: Gaussian inputs labelled by the argmax of a random linear teacher
    (W2: points in the square [-2, 2]^2 labelled by a circle, the playground's classic).
    Regression: y = tanh(X a) + 0.1 noise. Labels are int64 (n,); targets float32 (n, 1).
    """
    rng = np.random.default_rng(seed)
    n, d, k = w.n_samples, w.sizes[0], w.sizes[-1]
    if w.key == "W2":
        X = rng.uniform(-2.0, 2.0, size=(n, d)).astype(np.float32)
        y = ((X**2).sum(axis=1) < 2.0).astype(np.int64)
        return X, y
    X = rng.standard_normal((n, d), dtype=np.float32)
    if w.task == "classification":
        T = rng.standard_normal((d, k), dtype=np.float32) / np.float32(np.sqrt(d))
        y = (X @ T + 0.1 * rng.standard_normal((n, k), dtype=np.float32)).argmax(axis=1).astype(np.int64)
        return X, y
    a = rng.standard_normal(d, dtype=np.float32) / np.float32(np.sqrt(d))
    y = (np.tanh(X @ a) + 0.1 * rng.standard_normal(n, dtype=np.float32)).astype(np.float32).reshape(-1, 1)
    return X, y


def adam_available() -> bool:
    import mlplab as ml

    return hasattr(ml.optim, "Adam")


class _MlplabTrainer:
    def __init__(self, w: Workload, X, y):
        import mlplab as ml

        self.w, self.X, self.y = w, X, y
        output = "softmax" if w.task == "classification" else None
        self.model = ml.MLP(list(w.sizes), activation=w.activation, output=output, seed=0)
        self.note = ""
        if w.optimizer == "adam":
            if adam_available():
                self.opt = ml.optim.Adam(lr=w.lr)
            else:  # Adam is being added to mlplab.optim; until then SGD stands in, marked in the report
                self.opt = ml.optim.SGD(lr=w.lr)
                self.note = "SGD fallback: mlplab.optim.Adam missing"
        else:
            self.opt = ml.optim.SGD(lr=w.lr, momentum=w.momentum)
        self.loss = "cross_entropy" if w.task == "classification" else "mse"
        self._epoch = 0

    def epoch(self):
        self.model.fit(
            self.X,
            self.y,
            loss=self.loss,
            optimizer=self.opt,
            epochs=1,
            batch_size=self.w.batch_size,
            seed=self._epoch,
            verbose=0,
            metrics=(),
        )
        self._epoch += 1

    def predict(self, X):
        return self.model.predict(X)


class _TorchTrainer:
    def __init__(self, w: Workload, X, y):
        import torch

        self.torch = torch
        self.w = w
        self.note = ""
        torch.manual_seed(0)
        layers = []
        act = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh}[w.activation]
        for i, (a, b) in enumerate(zip(w.sizes[:-1], w.sizes[1:])):
            layers.append(torch.nn.Linear(a, b))
            if i < len(w.sizes) - 2:
                layers.append(act())
        self.model = torch.nn.Sequential(*layers)  # float32 parameters by default
        if w.optimizer == "adam":
            self.opt = torch.optim.Adam(self.model.parameters(), lr=w.lr)
        else:
            self.opt = torch.optim.SGD(self.model.parameters(), lr=w.lr, momentum=w.momentum)
        self.classification = w.task == "classification"
        self.crit = torch.nn.CrossEntropyLoss() if self.classification else torch.nn.MSELoss()
        self.X = torch.from_numpy(X)  # shares memory with the NumPy array
        self.y = torch.from_numpy(y)
        self.gen = torch.Generator().manual_seed(0)

    def epoch(self):
        torch, X, y = self.torch, self.X, self.y
        n = X.shape[0]
        bs = n if self.w.batch_size is None else self.w.batch_size
        self.model.train()
        tot = 0.0
        if bs >= n:  # one full batch: order does not matter, no gather (as mlplab)
            batches = [(X, y)]
        else:
            perm = torch.randperm(n, generator=self.gen)
            batches = ((X[perm[s : s + bs]], y[perm[s : s + bs]]) for s in range(0, n, bs))
        for xb, yb in batches:
            self.opt.zero_grad(set_to_none=True)
            loss = self.crit(self.model(xb), yb)
            loss.backward()
            self.opt.step()
            tot += loss.item() * xb.shape[0]  # the epoch loss, as mlplab's fit logs it
        return tot / n

    def predict(self, X):
        torch = self.torch
        self.model.eval()
        with torch.inference_mode():
            out = self.model(torch.from_numpy(X))
            if self.classification:
                out = torch.softmax(out, dim=1)
        return out.numpy()


class _SklearnTrainer:
    def __init__(self, w: Workload, X, y):
        from sklearn.neural_network import MLPClassifier, MLPRegressor

        self.w, self.X, self.y = w, X, y
        self.note = "binary: 1 logistic output unit" if w.task == "classification" and w.sizes[-1] == 2 else ""
        kw = dict(
            hidden_layer_sizes=w.sizes[1:-1],
            activation=w.activation,
            alpha=0.0,
            learning_rate_init=w.lr,
            shuffle=True,
            random_state=0,
        )
        if w.optimizer == "adam":
            kw.update(solver="adam")
        else:
            kw.update(solver="sgd", momentum=w.momentum, nesterovs_momentum=False, learning_rate="constant")
        kw["batch_size"] = X.shape[0] if w.batch_size is None else w.batch_size
        self.classification = w.task == "classification"
        self.model = MLPClassifier(**kw) if self.classification else MLPRegressor(**kw)
        self.classes = np.arange(w.sizes[-1])
        if not self.classification:
            self.y = y.ravel()

    def epoch(self):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence chatter of one-epoch partial_fit calls
            if self.classification:
                self.model.partial_fit(self.X, self.y, classes=self.classes)
            else:
                self.model.partial_fit(self.X, self.y)

    def predict(self, X):
        return self.model.predict_proba(X) if self.classification else self.model.predict(X)


_TRAINERS = {"mlplab": _MlplabTrainer, "torch": _TorchTrainer, "sklearn": _SklearnTrainer}


def make_trainer(library: str, w: Workload, X, y):
    """A trainer for ``library`` ("mlplab", "torch" or "sklearn") on workload ``w``."""
    return _TRAINERS[library](w, X, y)
