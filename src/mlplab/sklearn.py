"""scikit-learn estimators: ``MLPClassifier`` and ``MLPRegressor`` trained by mlplab.

They are drop-in replacements for ``sklearn.neural_network.MLPClassifier`` / ``MLPRegressor``
(same constructor parameters where they mean the same thing, same fitted attributes) that
pass scikit-learn's ``check_estimator`` and work in pipelines and grid searches. Training
runs mlplab's ``Model.fit``; ``model_`` is the trained mlplab model (save it with
``est.model_.save(path)``, export it with ``est.to_onnx(path)``).

What is the same as scikit-learn's MLP
--------------------------------------
The objective minimised on each mini-batch B, with S_B = sum_{i in B} w_i (the batch size
without ``sample_weight``) and W every weight matrix (not the biases)::

    J_B = sum_{i in B} w_i loss_i / S_B  +  alpha / (2 S_B) * ||W||^2

    loss_i = 1/(2k) sum_j (p_ij - y_ij)^2                       squared_error (regression)
    loss_i = -sum_j [y_ij log p_ij + (1 - y_ij) log(1 - p_ij)]  logistic output (binary, one
                                                                output; multi-label, summed
                                                                over the k labels)
    loss_i = -sum_j y_ij log p_ij                               softmax output (multiclass)

so ``alpha`` means what it means in scikit-learn: in mlplab's terms it is a
``regularizers.L2(lam)`` penalty with lam = alpha / S_B, recomputed for every batch. The
penalty can also be ``"l1"`` or ``"elasticnet"`` (mixing r = ``l1_ratio``)::

    alpha / S_B * ( r * sum |W|  +  (1 - r) / 2 * ||W||^2 )

Also the same: ``batch_size="auto"`` is min(200, n); the stopping rule (training loss, or with
``early_stopping=True`` the validation score -- accuracy or R^2 -- on a held-out
``validation_fraction``, must improve by ``tol`` at least once in ``n_iter_no_change + 1``
epochs; with early stopping the best weights are restored); ``ConvergenceWarning`` when
``max_iter`` epochs end without meeting it; ``learning_rate`` "invscaling"
(lr = learning_rate_init / (t + 1)^power_t with t the samples seen before the epoch) and
"adaptive" (lr / 5 each time the rule fails, stop below 1e-6) for ``solver="sgd"``;
``warm_start``; ``partial_fit`` (one epoch; ``classes=`` on the first call).

What differs, deliberately
--------------------------
* The optimizers are torch's (``mlplab.optim``): Adam adds eps to sqrt(v_hat) where
  scikit-learn adds it to sqrt(v) (scikit-learn's eps is eps / sqrt(1 - beta2^t) in torch's
  terms, a difference only while sqrt(v) ~ eps); SGD momentum is torch's form, equal to
  scikit-learn's velocity form while the learning rate is constant.
* Initial weights: mlplab's defaults (He normal for the ReLU family, Glorot uniform
  otherwise; biases zero) rather than scikit-learn's uniform weights and biases.
* ``solver="lbfgs"`` is not available; ``optimizer=`` may name any of ``mlplab.optim.OPTIMIZERS``
  (then it replaces ``solver``), with ``optimizer_kwargs``; ``schedule=`` takes a
  ``mlplab.schedules`` schedule; ``dropout``, ``augment`` and ``dtype`` (float32 by default)
  are mlplab's. Sparse input is refused (densify it with ``X.toarray()``).
"""
from __future__ import annotations

import copy
import inspect
import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets, type_of_target, unique_labels
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from . import activations, losses, optim, regularizers, schedules
from .backend import as_dtype, to_numpy, xp
from .callbacks import Callback
from .layers import Dense, Dropout
from .model import MLP, DivergenceError

__all__ = ["MLPClassifier", "MLPRegressor"]

_SKLEARN_ACTIVATIONS = {"identity": "identity", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu"}
_PENALTIES = ("l2", "l1", "elasticnet")
_LEARNING_RATES = ("constant", "invscaling", "adaptive")


# -- the objective, as scikit-learn writes it -------------------------------------------------
class _HalfSquaredError(losses.MSE):
    """scikit-learn's squared_error: loss_i = 1/(2k) sum_j (p_ij - y_ij)^2 (half of "mse")."""

    name = "squared_error"

    def _per_sample(self, P, Y):
        return 0.5 * super()._per_sample(P, Y)

    def _grad(self, P, Y, dP):
        super()._grad(P, Y, dP)
        dP *= 0.5


class _SummedLogLoss(losses.BCE):
    """scikit-learn's binary log-loss: -sum_j [y_ij log p_ij + (1 - y_ij) log(1 - p_ij)],
    summed over the k outputs (mlplab's "bce" takes their mean); the same for one output."""

    name = "log_loss"

    def _per_sample(self, P, Y):
        return P.shape[1] * super()._per_sample(P, Y)

    def _grad(self, P, Y, dP):
        super()._grad(P, Y, dP)
        dP *= P.shape[1]

    def forward_logits(self, Z, P, Y, sample_weight=None, lse=None):
        return P.shape[1] * super().forward_logits(Z, P, Y, sample_weight, lse)

    def backward_logits(self, out=None):
        dZ = super().backward_logits(out)
        dZ *= self.P.shape[1]
        return dZ


class _BatchPenalty(regularizers.Regularizer):
    """scikit-learn's alpha penalty: alpha / S_B * (r sum|W| + (1 - r)/2 ||W||^2), where
    S_B is the sum of the current batch's sample weights (its size without weights).

    The loss has just computed the batch when the model asks for the penalty, so S_B is
    read from it (``loss.w``, ``loss.P``)."""

    def __init__(self, alpha, l1_ratio, loss):
        super().__init__(lam=alpha)
        self.r = float(l1_ratio)
        self.loss = loss

    def _c(self):
        w = self.loss.w
        return self.lam / (float(w.sum()) if w is not None else self.loss.P.shape[0])

    def penalty(self, theta):
        c = self._c()
        out = 0.0
        if self.r:
            out += c * self.r * float(xp.abs(theta).sum())
        if self.r != 1.0:
            out += 0.5 * c * (1.0 - self.r) * float(xp.dot(theta, theta))
        return out

    def add_grad(self, theta, grad):
        c = self._c()
        if self.r:
            grad += (c * self.r) * xp.sign(theta)
        if self.r != 1.0:
            grad += (c * (1.0 - self.r)) * theta


class _InvScaling:
    """scikit-learn's "invscaling" rate, per epoch e: lr_init / (e * n + 1)^power_t
    (e * n samples seen before the epoch). A class, not a lambda, so estimators pickle."""

    interval = "epoch"

    def __init__(self, lr_init, power_t, n):
        self.lr_init, self.power_t, self.n = float(lr_init), float(power_t), int(n)

    def __call__(self, epoch):
        return self.lr_init / (epoch * self.n + 1.0) ** self.power_t


class _Monitor(Callback):
    """scikit-learn's bookkeeping and stopping rule, run at the end of every epoch."""

    def __init__(self, est, n_train, val=None):
        self.est, self.n_train, self.val = est, n_train, val
        self.converged = False

    def on_epoch_end(self, epoch, logs=None):
        est, model = self.est, self.model
        loss = float(logs["loss"])
        est.n_iter_ += 1
        est.t_ += self.n_train
        est.loss_ = loss
        est.loss_curve_.append(loss)
        if self.val is not None:
            Xv, yv, wv = self.val
            score = est._score_raw(Xv, yv, wv)
            est.validation_scores_.append(score)
            if est.verbose:
                print(f"Validation score: {score:f}")
            if score < est.best_validation_score_ + est.tol:
                est._no_improvement_count += 1
            else:
                est._no_improvement_count = 0
            if score > est.best_validation_score_:
                est.best_validation_score_ = score
                est._best_weights = model.get_weights()
        else:
            if loss > est.best_loss_ - est.tol:
                est._no_improvement_count += 1
            else:
                est._no_improvement_count = 0
            est.best_loss_ = min(est.best_loss_, loss)
        if est._no_improvement_count > est.n_iter_no_change:
            what = "Validation score" if self.val is not None else "Training loss"
            msg = f"{what} did not improve more than tol={est.tol:f} for {est.n_iter_no_change} consecutive epochs."
            opt = model.optimizer
            if est._adaptive and opt.lr > 1e-6:
                opt.lr /= 5.0  # scikit-learn's "adaptive": divide and go on
                est._no_improvement_count = 0
                if est.verbose:
                    print(f"{msg} Setting learning rate to {opt.lr:f}")
            else:
                self.converged = True
                model.stop_training = True
                model.stop_reason = msg
                if est.verbose:
                    print(msg + " Stopping.")


def _forward64(model, X, chunk=8192):
    """``model.predict(X)`` computed in float64 from the model's (float32 or float64) weights.

    A float32 matrix product may round a row differently depending on how many rows it is
    computed with; in float64 the difference is ~1e-16, so predictions do not depend on
    the batch a row comes in (scikit-learn checks this), and they are more accurate."""
    X = xp.ascontiguousarray(xp.asarray(X), dtype=xp.float64)
    out = xp.empty((X.shape[0], model.n_outputs), dtype=xp.float64)
    params = {id(layer): (layer.W.astype(xp.float64), layer.b.astype(xp.float64))
              for layer in model.layers if isinstance(layer, Dense)}
    for s in range(0, X.shape[0], chunk):
        A = X[s:s + chunk]
        for layer in model.layers:
            if isinstance(layer, Dense):
                W, b = params[id(layer)]
                A = A @ W
                A += b
            elif not isinstance(layer, Dropout):  # dropout is the identity in prediction
                A = layer.forward(A, False)  # activations compute in the dtype they are given
        out[s:s + chunk] = A
    return to_numpy(out)


def _check_number(name, v, lo=None, hi=None, lo_open=False, hi_open=False, integer=False):
    kind = numbers.Integral if integer else numbers.Real
    if isinstance(v, bool) or not isinstance(v, kind) or not np.isfinite(v):
        raise ValueError(f"{name} must be a{'n int' if integer else ' finite number'}, got {v!r}")
    if lo is not None and (v <= lo if lo_open else v < lo):
        raise ValueError(f"{name} must be {'>' if lo_open else '>='} {lo}, got {v!r}")
    if hi is not None and (v >= hi if hi_open else v > hi):
        raise ValueError(f"{name} must be {'<' if hi_open else '<='} {hi}, got {v!r}")
    return v


class _BaseMLP(BaseEstimator):
    """Shared code of MLPClassifier and MLPRegressor (see the module docstring)."""

    _is_classifier = False

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam", alpha=1e-4,
                 batch_size="auto", learning_rate="constant", learning_rate_init=1e-3, power_t=0.5,
                 max_iter=200, shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, optimizer=None,
                 optimizer_kwargs=None, schedule=None, penalty="l2", l1_ratio=0.15, dropout=0.0,
                 augment=None, dtype="float32"):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.optimizer = optimizer
        self.optimizer_kwargs = optimizer_kwargs
        self.schedule = schedule
        self.penalty = penalty
        self.l1_ratio = l1_ratio
        self.dropout = dropout
        self.augment = augment
        self.dtype = dtype

    # -- parameters ------------------------------------------------------------------------
    def _hidden_sizes(self):
        h = self.hidden_layer_sizes
        sizes = [h] if isinstance(h, numbers.Integral) and not isinstance(h, bool) else h
        try:
            sizes = list(sizes)
        except TypeError:
            raise ValueError(f"hidden_layer_sizes must be an int or a sequence of ints, got {h!r}") from None
        for s in sizes:
            if isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 1:
                raise ValueError(f"hidden_layer_sizes must hold positive ints, got {h!r}")
        return [int(s) for s in sizes]

    def _activation_name(self):
        a = self.activation
        if isinstance(a, str) and a in _SKLEARN_ACTIVATIONS:
            return _SKLEARN_ACTIVATIONS[a]
        if isinstance(a, str) and a in activations.ACTIVATIONS:
            return a
        raise ValueError(f"activation must be one of {sorted(set(_SKLEARN_ACTIVATIONS) | set(activations.ACTIVATIONS))}, "
                         f"got {a!r}")

    def _optimizer_name(self):
        if self.optimizer is not None:
            if isinstance(self.optimizer, optim.Optimizer):
                return type(self.optimizer).__name__.lower()
            if not isinstance(self.optimizer, str) or self.optimizer.lower() not in optim.OPTIMIZERS:
                raise ValueError(f"optimizer must be None, a mlplab Optimizer or one of {sorted(optim.OPTIMIZERS)}, "
                                 f"got {self.optimizer!r}")
            return self.optimizer.lower()
        if self.solver == "lbfgs":
            raise ValueError("solver='lbfgs' is not available in mlplab; use solver='adam' or 'sgd', or "
                             f"optimizer= one of {sorted(optim.OPTIMIZERS)}")
        if self.solver not in ("sgd", "adam"):
            raise ValueError(f"solver must be 'adam' or 'sgd', got {self.solver!r}")
        return self.solver

    def _check_params(self, incremental):
        self._hidden_sizes()
        self._activation_name()
        self._optimizer_name()
        as_dtype(self.dtype)
        _check_number("alpha", self.alpha, lo=0.0)
        if not (self.batch_size == "auto" or (isinstance(self.batch_size, numbers.Integral)
                                              and not isinstance(self.batch_size, bool) and self.batch_size >= 1)):
            raise ValueError(f"batch_size must be 'auto' or an int >= 1, got {self.batch_size!r}")
        if self.learning_rate not in _LEARNING_RATES:
            raise ValueError(f"learning_rate must be one of {_LEARNING_RATES}, got {self.learning_rate!r}")
        _check_number("learning_rate_init", self.learning_rate_init, lo=0.0, lo_open=True)
        _check_number("power_t", self.power_t, lo=0.0)
        _check_number("max_iter", self.max_iter, lo=1, integer=True)
        _check_number("tol", self.tol, lo=0.0)
        _check_number("momentum", self.momentum, lo=0.0, hi=1.0)
        _check_number("validation_fraction", self.validation_fraction, lo=0.0, hi=1.0, lo_open=True, hi_open=True)
        _check_number("beta_1", self.beta_1, lo=0.0, hi=1.0, hi_open=True)
        _check_number("beta_2", self.beta_2, lo=0.0, hi=1.0, hi_open=True)
        _check_number("epsilon", self.epsilon, lo=0.0, lo_open=True)
        _check_number("n_iter_no_change", self.n_iter_no_change, lo=1, integer=True)
        _check_number("dropout", self.dropout, lo=0.0, hi=1.0, hi_open=True)
        _check_number("l1_ratio", self.l1_ratio, lo=0.0, hi=1.0)
        if self.penalty not in _PENALTIES:
            raise ValueError(f"penalty must be one of {_PENALTIES}, got {self.penalty!r}")
        if self.optimizer_kwargs is not None and not isinstance(self.optimizer_kwargs, dict):
            raise TypeError(f"optimizer_kwargs must be a dict or None, got {type(self.optimizer_kwargs).__name__}")
        if self.schedule is not None and not (isinstance(self.schedule, (str, schedules.Schedule)) or callable(self.schedule)):
            raise TypeError(f"schedule must be None, a schedule name, a mlplab Schedule or a callable, "
                            f"got {type(self.schedule).__name__}")
        if self.schedule is not None and self.learning_rate != "constant":
            raise ValueError(f"give either schedule= or learning_rate={self.learning_rate!r}, not both")
        if self.augment is not None and not callable(self.augment):
            raise TypeError(f"augment must be None or a callable f(X, rng), got {type(self.augment).__name__}")
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        if isinstance(self.optimizer, optim.Optimizer) and (self.optimizer_kwargs or self.schedule is not None):
            raise ValueError("optimizer_kwargs and schedule apply to an optimizer given by name; an Optimizer "
                             "instance is used as it is (set its arguments and lr when building it)")

    def _make_optimizer(self, n_train):
        name = self._optimizer_name()
        if isinstance(self.optimizer, optim.Optimizer):
            return copy.deepcopy(self.optimizer)  # fit never changes its parameters
        is_sgd = name == "sgd"
        lr = self.learning_rate_init
        if self.schedule is not None:
            lr = (schedules.get(self.schedule, base_lr=self.learning_rate_init) if isinstance(self.schedule, str)
                  else copy.deepcopy(self.schedule))
        elif is_sgd and self.learning_rate == "invscaling":
            lr = _InvScaling(self.learning_rate_init, self.power_t, n_train)
        kw = {}
        params = inspect.signature(optim.OPTIMIZERS[name]).parameters
        if is_sgd:
            kw = {"momentum": float(self.momentum), "nesterov": bool(self.nesterovs_momentum and self.momentum > 0)}
        elif "betas" in params:  # the Adam family shares scikit-learn's beta_1, beta_2, epsilon
            kw = {"betas": (float(self.beta_1), float(self.beta_2)), "eps": float(self.epsilon)}
        kw.update(self.optimizer_kwargs or {})
        return optim.get(name, lr=lr, **kw)

    def _make_loss(self):
        return _HalfSquaredError()

    # -- fitting ---------------------------------------------------------------------------
    def _check_sample_weight(self, sample_weight, n):
        if sample_weight is None:
            return None
        if isinstance(sample_weight, numbers.Real) and not isinstance(sample_weight, bool):
            sample_weight = np.full(n, float(sample_weight))
        try:
            w = np.asarray(sample_weight, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"sample_weight must be an array of numbers, got {type(sample_weight).__name__}") from None
        if w.ndim != 1 or w.shape[0] != n:
            raise ValueError(f"sample_weight.shape == {w.shape}, expected ({n},)")
        if not np.isfinite(w).all() or (w < 0).any():
            raise ValueError("sample_weight must be finite and >= 0")
        if w.sum() <= 0:
            raise ValueError("sample_weight must not be all zero")
        return w

    def _fit(self, X, y, sample_weight=None, incremental=False, classes=None):
        self._check_params(incremental)
        first = not hasattr(self, "model_") or (not self.warm_start and not incremental)
        X, y = validate_data(self, X, y, reset=first, dtype=(np.float64, np.float32), multi_output=True,
                             y_numeric=not self._is_classifier)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        sw = self._check_sample_weight(sample_weight, X.shape[0])
        Y = self._encode(y, first, incremental, classes, sw)
        rs = check_random_state(self.random_state)
        sizes = [X.shape[1], *self._hidden_sizes(), Y.shape[1]]
        act = self._activation_name()
        if first:
            self._init_model(sizes, act, rs)
        elif self.model_.sizes != sizes or self.model_.activation != act:
            raise ValueError(f"warm_start and partial_fit need the architecture of the previous fit: it was "
                             f"{self.model_.sizes} with {self.model_.activation!r}, now {sizes} with {act!r}")
        if not incremental:
            self._optimizer = None  # a fresh optimizer for every fit, as scikit-learn
        val = None
        if self.early_stopping:
            stratify = y if self._is_classifier and y.ndim == 1 else None
            parts = train_test_split(X, Y, y, *([] if sw is None else [sw]), random_state=rs,
                                     test_size=self.validation_fraction, stratify=stratify)
            X, Xv, Y, yv = parts[0], parts[1], parts[2], parts[5]
            sw, swv = (None, None) if sw is None else parts[6:8]
            if Xv.shape[0] < 2:
                raise ValueError("The validation set is too small. Increase 'validation_fraction' or the size "
                                 "of your dataset.")
            val = (Xv, yv, swv)
            if self.validation_scores_ is None:  # a warm start of a fit without early stopping
                self.validation_scores_, self.best_validation_score_ = [], -np.inf
        elif self.best_loss_ is None:
            self.best_loss_ = np.inf
        n = X.shape[0]
        if self.batch_size == "auto":
            bs = min(200, n)
        else:
            if self.batch_size > n:
                warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is going to be clipped",
                              UserWarning, stacklevel=3)
            bs = min(self.batch_size, n)
        if self._optimizer is None:
            self._optimizer = self._make_optimizer(n)
        self._adaptive = self._optimizer_name() == "sgd" and self.learning_rate == "adaptive" and self.schedule is None
        loss = self._make_loss()
        reg = _BatchPenalty(self.alpha, 0.0 if self.penalty == "l2" else 1.0 if self.penalty == "l1" else self.l1_ratio,
                            loss) if self.alpha > 0 else None
        monitor = _Monitor(self, n, val)
        self.n_iter_ = 0
        start = self._epochs_done
        try:
            self.model_.fit(X, Y, loss=loss, optimizer=self._optimizer, epochs=start + (1 if incremental else self.max_iter),
                            initial_epoch=start, batch_size=bs, shuffle=bool(self.shuffle),
                            seed=int(rs.randint(np.iinfo(np.int32).max)), metrics=None,
                            verbose=2 if self.verbose else 0, callbacks=[monitor], regularizer=reg,
                            augment=self.augment, sample_weight=sw)
        except DivergenceError as e:
            raise ValueError(f"Solver produced a non-finite loss ({e}). The input data may contain large values "
                             f"and need to be preprocessed (e.g. StandardScaler), or learning_rate_init is too "
                             f"large.") from e
        finally:
            self._epochs_done += self.n_iter_
        if self.early_stopping and self._best_weights is not None:
            self.model_.set_weights(self._best_weights)
        if not incremental and not monitor.converged and self.n_iter_ == self.max_iter:
            warnings.warn(f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and the optimization "
                          f"hasn't converged yet.", ConvergenceWarning, stacklevel=3)
        return self

    def _init_model(self, sizes, act, rs):
        out = {"logistic": "sigmoid", "softmax": "softmax", "identity": None}[self._out_activation()]
        self.model_ = MLP(sizes, activation=act, output=out, dtype=self.dtype,
                          seed=int(rs.randint(np.iinfo(np.int32).max)), dropout=float(self.dropout))
        self.n_outputs_ = sizes[-1]
        self.n_layers_ = len(sizes)
        self.out_activation_ = self._out_activation()
        self.loss_curve_ = []
        self.t_ = 0
        self._epochs_done = 0
        self._no_improvement_count = 0
        self._best_weights = None
        self._optimizer = None
        if self.early_stopping:
            self.validation_scores_ = []
            self.best_validation_score_ = -np.inf
            self.best_loss_ = None
        else:
            self.validation_scores_ = None
            self.best_validation_score_ = None
            self.best_loss_ = np.inf

    # -- prediction ------------------------------------------------------------------------
    def _outputs(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=(np.float64, np.float32))
        return _forward64(self.model_, X)

    def __sklearn_is_fitted__(self):
        return "model_" in self.__dict__

    @property
    def coefs_(self):
        """Weight matrices W of the Dense layers, (n_in, n_out) each: views into ``model_``."""
        self._need_model("coefs_")
        return [layer.W for layer in self.model_.layers if "W" in layer.param_names]

    @property
    def intercepts_(self):
        """Bias vectors b of the Dense layers: views into ``model_``."""
        self._need_model("intercepts_")
        return [layer.b for layer in self.model_.layers if "b" in layer.param_names]

    def _need_model(self, name):
        if "model_" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__} has no attribute {name!r} before fit")

    def to_onnx(self, path=None, **kwargs):
        """Export the fitted network to ONNX (``pip install 'mlplab[onnx]'``).

        The graph's input ``X`` is (N, n_features_in_) in the estimator's ``dtype``
        (float32 by default). A classifier's output ``probabilities`` equals
        ``predict_proba``; a regressor's output ``predictions`` is (N, n_outputs_).
        Writes ``path`` and returns it, or returns the ``onnx.ModelProto`` if path is None.
        """
        from . import export

        check_is_fitted(self)
        kwargs.setdefault("output_name", "probabilities" if self._is_classifier else "predictions")
        if self._is_classifier and self.out_activation_ == "logistic" and self._label_binarizer.y_type_ == "binary":
            kwargs.setdefault("binary_proba", True)
        return export.to_onnx(self.model_, path, **kwargs)


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """Multi-layer perceptron classifier, scikit-learn compatible, trained by mlplab.

    Binary targets get one logistic (sigmoid) output and the binary log-loss, multiclass
    targets a softmax output and the cross-entropy, multi-label targets (a 2-D 0/1 indicator
    matrix) one logistic output per label; ``out_activation_`` says which. See the module
    docstring for the objective and how it matches ``sklearn.neural_network.MLPClassifier``.

    Parameters
    ----------
    hidden_layer_sizes : int or tuple of int, default (100,)
        Widths of the hidden layers.
    activation : str, default "relu"
        Hidden activation: scikit-learn's "identity", "logistic", "tanh", "relu", or any
        name of ``mlplab.activations.ACTIVATIONS`` ("leaky_relu", "elu", "gelu", ...).
    solver : {"adam", "sgd"}, default "adam"
        Optimizer, unless ``optimizer`` is given.
    alpha : float, default 1e-4
        Penalty strength: alpha / (2 S_B) ||W||^2 per batch (S_B: sum of the batch's sample
        weights), as scikit-learn. 0 turns the penalty off.
    batch_size : int or "auto", default "auto"
        min(200, n_samples) with "auto".
    learning_rate : {"constant", "invscaling", "adaptive"}, default "constant"
        For ``solver="sgd"`` only, as scikit-learn.
    learning_rate_init : float, default 1e-3
    power_t : float, default 0.5
        Exponent of "invscaling".
    max_iter : int, default 200
        Epochs at most.
    shuffle : bool, default True
    random_state : int, RandomState or None
        Seeds the initial weights, the shuffling, dropout and the early-stopping split.
    tol : float, default 1e-4
    verbose : bool, default False
        True prints one line per epoch.
    warm_start : bool, default False
        Continue from the previous fit's weights (with a fresh optimizer, as scikit-learn).
    momentum : float, default 0.9
        SGD momentum (torch's form).
    nesterovs_momentum : bool, default True
    early_stopping : bool, default False
        Hold out ``validation_fraction`` (stratified) and stop when its accuracy stalls;
        the best weights are kept.
    validation_fraction : float, default 0.1
    beta_1, beta_2, epsilon : float
        Adam's betas and eps (also passed to the other optimizers that have them).
    n_iter_no_change : int, default 10
    optimizer : str or mlplab Optimizer, optional
        Any of ``mlplab.optim.OPTIMIZERS`` ("adamw", "rmsprop", "nadam", ...); replaces
        ``solver``. Built with lr=learning_rate_init, the Adam family with beta_1, beta_2,
        epsilon, and ``optimizer_kwargs``. An Optimizer instance is copied and used as it is.
    optimizer_kwargs : dict, optional
        More arguments of the optimizer (e.g. ``{"weight_decay": 1e-2}``).
    schedule : str, Schedule or callable, optional
        Learning-rate schedule (``mlplab.schedules``); a name is built with
        base_lr=learning_rate_init.
    penalty : {"l2", "l1", "elasticnet"}, default "l2"
        Form of the alpha penalty (see the module docstring).
    l1_ratio : float in [0, 1], default 0.15
        Share of L1 in the "elasticnet" penalty.
    dropout : float in [0, 1), default 0
        Dropout after each hidden activation (during training only).
    augment : callable f(X_batch, rng) -> X_batch, optional
        Applied to training batches (``mlplab.augment``).
    dtype : {"float32", "float64"}, default "float32"
        Computation dtype of the network.

    Attributes
    ----------
    classes_ : ndarray or list of ndarray
        Class labels (for multi-label, 0..k-1).
    model_ : mlplab.MLP
        The trained network.
    loss_ : float
        Objective (with the penalty) averaged over the last epoch.
    best_loss_ : float or None
        Lowest ``loss_`` seen (None with early stopping).
    loss_curve_ : list of float
        ``loss_`` of every epoch.
    validation_scores_ : list of float or None
        Held-out accuracy per epoch with early stopping, else None.
    best_validation_score_ : float or None
    n_iter_ : int
        Epochs run by the last fit.
    t_ : int
        Training samples seen, over all fits of a warm start or partial_fit sequence.
    coefs_, intercepts_ : list of ndarray
        W and b of each Dense layer (views into ``model_``).
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when X has string column names.
    n_layers_ : int
        Hidden layers + 2.
    n_outputs_ : int
    out_activation_ : {"logistic", "softmax"}
    """

    _is_classifier = True

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags

    def _out_activation(self):
        return "softmax" if self._label_binarizer.y_type_ == "multiclass" else "logistic"

    def _encode(self, y, first, incremental, classes, sw):
        y_type = type_of_target(y, input_name="y")
        if y_type not in ("binary", "multiclass", "multilabel-indicator"):
            check_classification_targets(y)  # raises scikit-learn's message for continuous targets
            raise ValueError(f"{type(self).__name__} supports binary, multiclass and multi-label (indicator) "
                             f"targets, got {y_type}")
        if incremental and first:
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit.")
            lb = LabelBinarizer().fit(np.asarray(classes))
            if len(lb.classes_) < 2:
                raise ValueError(f"classes must hold at least 2 classes, got {list(lb.classes_)}")
            if y_type != "multilabel-indicator" and len(np.setdiff1d(unique_labels(y), lb.classes_)):
                raise ValueError(f"`y` has classes not in `classes`={list(lb.classes_)}: {list(unique_labels(y))}")
        elif incremental and classes is not None and not np.array_equal(unique_labels(classes), self.classes_):
            raise ValueError(f"`classes={classes!r}` is not the same as on the last call to partial_fit, was: "
                             f"{self.classes_!r}")
        if first:
            if not incremental:
                lb = LabelBinarizer().fit(y)
                kept = unique_labels(y if sw is None or y.ndim > 1 else y[sw > 0])
                if y.ndim == 1 and len(kept) < 2:
                    raise ValueError(f"{type(self).__name__} needs samples of at least 2 classes (with a positive "
                                     f"sample_weight), got 1 class: {kept[0]!r}")
            self._label_binarizer = lb
            self.classes_ = lb.classes_
        else:
            seen = unique_labels(y)
            if self.warm_start and not incremental:
                if set(seen) != set(self.classes_):
                    raise ValueError(f"warm_start can only be used where `y` has the same classes as in the previous "
                                     f"call to fit. Previously got {self.classes_}, `y` has {seen}")
            elif len(np.setdiff1d(seen, self.classes_)):
                raise ValueError(f"`y` has classes not in `self.classes_`. `self.classes_` has {self.classes_}. "
                                 f"'y' has {seen}.")
        return self._label_binarizer.transform(y).astype(np.float64)

    def _make_loss(self):
        return losses.CrossEntropy() if self.out_activation_ == "softmax" else _SummedLogLoss()

    def _score_raw(self, X, y, sample_weight):
        return accuracy_score(y, self._predict_from(self.model_.predict(X)), sample_weight=sample_weight)

    def _predict_from(self, P):
        if self.n_outputs_ == 1:
            P = P.ravel()
        return self._label_binarizer.inverse_transform(P)

    def fit(self, X, y, sample_weight=None):
        """Fit the network to (X, y).

        Parameters
        ----------
        X : array (n_samples, n_features)
        y : array (n_samples,) of labels, or (n_samples, n_labels) 0/1 indicator matrix
        sample_weight : array (n_samples,), optional

        Returns
        -------
        self
        """
        return self._fit(X, y, sample_weight)

    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch over (X, y), keeping the optimizer state between calls.

        ``classes`` (every label y can take) is needed on the first call.
        """
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def predict(self, X):
        """Predicted labels (n_samples,), or the (n_samples, n_labels) indicator matrix."""
        return self._predict_from(self._outputs(X))

    def predict_proba(self, X):
        """Class probabilities (n_samples, n_classes), columns in the order of ``classes_``
        (binary: [1 - p, p]; multi-label: p of each label)."""
        P = self._outputs(X)
        if self.n_outputs_ == 1 and self._label_binarizer.y_type_ == "binary":
            return np.hstack([1.0 - P, P])
        return P

    def predict_log_proba(self, X):
        """log of ``predict_proba``."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))


class MLPRegressor(RegressorMixin, _BaseMLP):
    """Multi-layer perceptron regressor, scikit-learn compatible, trained by mlplab.

    A linear output layer of one unit per target (multi-output y of shape (n, k) is
    supported) and, by default, scikit-learn's squared error 1/(2k) sum_j (p_j - y_j)^2.
    Parameters and attributes are those of ``MLPClassifier`` (``out_activation_`` is
    "identity"), plus ``loss``.

    Parameters
    ----------
    loss : {"squared_error", "absolute_error", "huber"}, default "squared_error"
        "absolute_error" is mlplab's "mae" (1/k sum_j |p_j - y_j|), "huber" its Huber loss
        with delta = 1.
    """

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, loss="squared_error", solver="adam",
                 alpha=1e-4, batch_size="auto", learning_rate="constant", learning_rate_init=1e-3, power_t=0.5,
                 max_iter=200, shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, optimizer=None,
                 optimizer_kwargs=None, schedule=None, penalty="l2", l1_ratio=0.15, dropout=0.0,
                 augment=None, dtype="float32"):
        super().__init__(hidden_layer_sizes, activation, solver=solver, alpha=alpha, batch_size=batch_size,
                         learning_rate=learning_rate, learning_rate_init=learning_rate_init, power_t=power_t,
                         max_iter=max_iter, shuffle=shuffle, random_state=random_state, tol=tol, verbose=verbose,
                         warm_start=warm_start, momentum=momentum, nesterovs_momentum=nesterovs_momentum,
                         early_stopping=early_stopping, validation_fraction=validation_fraction, beta_1=beta_1,
                         beta_2=beta_2, epsilon=epsilon, n_iter_no_change=n_iter_no_change, optimizer=optimizer,
                         optimizer_kwargs=optimizer_kwargs, schedule=schedule, penalty=penalty,
                         l1_ratio=l1_ratio, dropout=dropout, augment=augment, dtype=dtype)
        self.loss = loss

    _LOSSES = {"squared_error": _HalfSquaredError, "absolute_error": losses.MAE, "huber": losses.Huber}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags

    def _check_params(self, incremental):
        if self.loss not in self._LOSSES:
            raise ValueError(f"loss must be one of {sorted(self._LOSSES)}, got {self.loss!r}")
        super()._check_params(incremental)

    def _out_activation(self):
        return "identity"

    def _encode(self, y, first, incremental, classes, sw):
        y = np.asarray(y, dtype=np.float64)
        return y.reshape(-1, 1) if y.ndim == 1 else y

    def _make_loss(self):
        return self._LOSSES[self.loss]()

    def _score_raw(self, X, y, sample_weight):
        P = self.model_.predict(X).astype(np.float64)
        return r2_score(y, P.ravel() if self.n_outputs_ == 1 else P, sample_weight=sample_weight)

    def fit(self, X, y, sample_weight=None):
        """Fit the network to (X, y); y is (n_samples,) or (n_samples, n_outputs). Returns self."""
        return self._fit(X, y, sample_weight)

    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over (X, y), keeping the optimizer state between calls. Returns self."""
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X):
        """Predictions (n_samples,), or (n_samples, n_outputs) for multi-output targets."""
        P = self._outputs(X)
        return P.ravel() if self.n_outputs_ == 1 else P
