"""scikit-learn estimators: ``MLPClassifier`` and ``MLPRegressor`` trained by mlplab.

They are drop-in replacements for ``sklearn.neural_network.MLPClassifier`` / ``MLPRegressor``
(same constructor parameters where they mean the same thing, same fitted attributes) that
pass scikit-learn's ``check_estimator`` and work in pipelines and grid searches. Training
runs mlplab's ``training.Trainer``; ``model_`` is the trained mlplab model (save it with
``est.model_.save(path)``, export it with ``est.to_onnx(path)``).

What is the same as scikit-learn's MLP
--------------------------------------
The objective minimised on each mini-batch B (``mlplab.sklearn_objective``), with
S_B = sum_{i in B} w_i (the batch size without ``sample_weight``) and W every weight matrix
(not the biases)::

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

from . import activations, export, losses, optim
from ._validation import check_choice, check_instance, check_int, check_real, check_sample_weight, fail
from .backend import as_dtype, to_numpy
from .errors import DivergenceError
from .model import MLP
from .sklearn_objective import BatchPenalty, HalfSquaredError, InvScaling, Monitor, SummedLogLoss, make_optimizer
from .training import ArraySource, Trainer

# the names of these classes before they moved: pickled estimators may refer to them
_HalfSquaredError, _SummedLogLoss, _BatchPenalty, _InvScaling = (
    HalfSquaredError,
    SummedLogLoss,
    BatchPenalty,
    InvScaling,
)

__all__ = ["MLPClassifier", "MLPRegressor"]

_SKLEARN_ACTIVATIONS = {"identity": "identity", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu"}
_PENALTIES = ("l2", "l1", "elasticnet")
_LEARNING_RATES = ("constant", "invscaling", "adaptive")


def _set_params(est, params):
    """Store each constructor argument as the attribute of its name: all that scikit-learn
    lets an ``__init__`` do (``params`` is the constructor's ``locals()``)."""
    for name, value in params.items():
        if name != "self":
            setattr(est, name, value)


#: (parameter, int?, low, high, low_open, high_open): the numbers and their bounds, as scikit-learn's
_NUMBERS = (
    ("alpha", False, 0, None, False, False),
    ("learning_rate_init", False, 0, None, True, False),
    ("power_t", False, 0, None, False, False),
    ("max_iter", True, 1, None, False, False),
    ("tol", False, 0, None, False, False),
    ("momentum", False, 0, 1, False, False),
    ("validation_fraction", False, 0, 1, True, True),
    ("beta_1", False, 0, 1, False, True),
    ("beta_2", False, 0, 1, False, True),
    ("epsilon", False, 0, None, True, False),
    ("n_iter_no_change", True, 1, None, False, False),
    ("dropout", False, 0, 1, False, True),
    ("l1_ratio", False, 0, 1, False, False),
)


class _BaseMLP(BaseEstimator):
    """Shared code of MLPClassifier and MLPRegressor (see the module docstring)."""

    _is_classifier = False

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=1e-4,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=1e-3,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        optimizer=None,
        optimizer_kwargs=None,
        schedule=None,
        penalty="l2",
        l1_ratio=0.15,
        dropout=0.0,
        augment=None,
        dtype="float32",
    ):
        _set_params(self, locals())

    # -- parameters ------------------------------------------------------------------------
    def _hidden_sizes(self):
        h = self.hidden_layer_sizes
        sizes = [h] if isinstance(h, numbers.Integral) and not isinstance(h, bool) else h
        try:
            return [check_int("hidden_layer_sizes", s, 1) for s in sizes]
        except TypeError:
            raise fail("hidden_layer_sizes", "an int or a sequence of positive ints", h) from None

    def _activation_name(self):
        names = tuple(dict.fromkeys((*_SKLEARN_ACTIVATIONS, *activations.ACTIVATIONS)))
        a = check_choice("activation", self.activation, names)
        return _SKLEARN_ACTIVATIONS.get(a, a)

    def _optimizer_name(self):
        if self.optimizer is not None:
            if isinstance(self.optimizer, optim.Optimizer):
                return type(self.optimizer).__name__.lower()
            if not isinstance(self.optimizer, str) or self.optimizer.lower() not in optim.OPTIMIZERS:
                raise fail("optimizer", f"None, an Optimizer or one of {sorted(optim.OPTIMIZERS)}", self.optimizer)
            return self.optimizer.lower()
        if self.solver == "lbfgs":
            raise fail(
                "solver",
                f"'adam' or 'sgd' (lbfgs is not available in mlplab; or give optimizer= one of "
                f"{sorted(optim.OPTIMIZERS)})",
                self.solver,
            )
        return check_choice("solver", self.solver, ("sgd", "adam"))

    def _check_params(self, incremental):
        self._hidden_sizes()
        self._activation_name()
        self._optimizer_name()
        as_dtype(self.dtype)
        for name, integer, low, high, low_open, high_open in _NUMBERS:
            value = getattr(self, name)
            if integer:
                check_int(name, value, low, high)
            else:
                check_real(name, value, low, high, low_open=low_open, high_open=high_open)
        if not (isinstance(self.batch_size, str) and self.batch_size == "auto"):
            check_int("batch_size", self.batch_size, 1)
        check_choice("learning_rate", self.learning_rate, _LEARNING_RATES)
        check_choice("penalty", self.penalty, _PENALTIES)
        if self.optimizer_kwargs is not None:
            check_instance("optimizer_kwargs", self.optimizer_kwargs, dict, "a dict or None")
        if self.schedule is not None and not (isinstance(self.schedule, str) or callable(self.schedule)):
            raise fail("schedule", "None, a schedule name, a mlplab Schedule or a callable", self.schedule)
        if self.schedule is not None and self.learning_rate != "constant":
            raise fail("learning_rate", "'constant' when schedule= is given (one or the other)", self.learning_rate)
        if self.augment is not None and not callable(self.augment):
            raise fail("augment", "None or a callable f(X, rng)", self.augment)
        if self.early_stopping and incremental:
            raise fail("early_stopping", "False for partial_fit", self.early_stopping)
        if isinstance(self.optimizer, optim.Optimizer) and (self.optimizer_kwargs or self.schedule is not None):
            raise fail(
                "optimizer_kwargs and schedule",
                "left out with an Optimizer instance, which is used as it is "
                "(they apply to an optimizer given by name)",
                got=f"optimizer_kwargs={self.optimizer_kwargs!r}, schedule={self.schedule!r}",
            )

    def _make_loss(self):
        return HalfSquaredError()

    # -- fitting ---------------------------------------------------------------------------
    def _fit(self, X, y, sample_weight=None, incremental=False, classes=None):
        self._check_params(incremental)
        first = not hasattr(self, "model_") or (not self.warm_start and not incremental)
        X, y = validate_data(
            self,
            X,
            y,
            reset=first,
            dtype=(np.float64, np.float32),
            multi_output=True,
            y_numeric=not self._is_classifier,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if isinstance(sample_weight, numbers.Real) and not isinstance(sample_weight, bool):
            sample_weight = np.full(X.shape[0], float(sample_weight))  # one weight for all, as scikit-learn
        sw = check_sample_weight(sample_weight, X.shape[0], np.float64)
        Y = self._encode(y, first, incremental, classes, sw)
        rs = check_random_state(self.random_state)
        sizes = [X.shape[1], *self._hidden_sizes(), Y.shape[1]]
        act = self._activation_name()
        if first:
            self._init_model(sizes, act, rs)
        elif self.model_.sizes != sizes or self.model_.activation != act:
            before = f"{self.model_.sizes} with {self.model_.activation!r}"
            raise fail(
                "the architecture",
                f"that of the previous fit for warm_start and partial_fit, {before}",
                got=f"{sizes} with {act!r}",
            )
        if not incremental:
            self._optimizer = None  # a fresh optimizer for every fit, as scikit-learn
        val = None
        if self.early_stopping:
            stratify = y if self._is_classifier and y.ndim == 1 else None
            parts = train_test_split(
                X,
                Y,
                y,
                *([] if sw is None else [sw]),
                random_state=rs,
                test_size=self.validation_fraction,
                stratify=stratify,
            )
            X, Xv, Y, yv = parts[0], parts[1], parts[2], parts[5]
            sw, swv = (None, None) if sw is None else parts[6:8]
            if Xv.shape[0] < 2:
                raise fail(
                    "validation_fraction",
                    "large enough to hold out 2 samples or more (the validation set is too small)",
                    self.validation_fraction,
                )
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
                warnings.warn(
                    "Got `batch_size` less than 1 or larger than sample size. It is going to be clipped",
                    UserWarning,
                    stacklevel=3,
                )
            bs = min(self.batch_size, n)
        if self._optimizer is None:
            self._optimizer = make_optimizer(self, self._optimizer_name(), n)
        self._adaptive = self._optimizer_name() == "sgd" and self.learning_rate == "adaptive" and self.schedule is None
        loss = self._make_loss()
        reg = (
            BatchPenalty(
                self.alpha, 0.0 if self.penalty == "l2" else 1.0 if self.penalty == "l1" else self.l1_ratio, loss
            )
            if self.alpha > 0
            else None
        )
        monitor = Monitor(self, n, val)
        self.n_iter_ = 0
        start = self._epochs_done
        seed, epochs = int(rs.randint(np.iinfo(np.int32).max)), start + (1 if incremental else self.max_iter)
        trainer = Trainer(
            self.model_,
            loss,
            self._optimizer,
            regularizer=reg,
            metrics=None,
            callbacks=[monitor],
            augment=self.augment,
            verbose=2 if self.verbose else 0,
            seed=seed,
        )
        try:
            trainer.fit(ArraySource(X, Y, bs, bool(self.shuffle), sample_weight=sw), epochs, initial_epoch=start)
        except DivergenceError as e:
            raise ValueError(
                f"Solver produced a non-finite loss ({e}). The input data may contain large values "
                f"and need to be preprocessed (e.g. StandardScaler), or learning_rate_init is too "
                f"large."
            ) from e
        finally:
            self._epochs_done += self.n_iter_
        if self.early_stopping and self._best_weights is not None:
            self.model_.set_weights(self._best_weights)
        if not incremental and not monitor.converged and self.n_iter_ == self.max_iter:
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and the optimization "
                f"hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=3,
            )
        return self

    def _init_model(self, sizes, act, rs):
        out = {"logistic": "sigmoid", "softmax": "softmax", "identity": None}[self._out_activation()]
        seed = int(rs.randint(np.iinfo(np.int32).max))
        self.model_ = MLP(sizes, activation=act, output=out, dtype=self.dtype, seed=seed, dropout=float(self.dropout))
        self.n_outputs_, self.n_layers_, self.out_activation_ = sizes[-1], len(sizes), self._out_activation()
        self.loss_curve_, self.t_, self._epochs_done, self._no_improvement_count = [], 0, 0, 0
        self._best_weights = self._optimizer = None
        # with early stopping the validation score decides, else the training loss (scikit-learn's attributes)
        scores = ([], -np.inf, None) if self.early_stopping else (None, None, np.inf)
        self.validation_scores_, self.best_validation_score_, self.best_loss_ = scores

    # -- prediction ------------------------------------------------------------------------
    def _outputs(self, X):
        """The network's outputs computed in float64 from its weights: a float32 product may round a
        row differently depending on the rows it comes with; in float64 the difference is ~1e-16,
        so predictions do not depend on the batch (scikit-learn checks it), and are more accurate."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=(np.float64, np.float32))
        return to_numpy(self.model_.astype("float64").predict(X))

    def __sklearn_is_fitted__(self):
        return "model_" in self.__dict__

    @property
    def coefs_(self):
        """Weight matrices W of the Dense layers, (n_in, n_out) each: views into ``model_``."""
        self._need_model("coefs_")
        return self.model_.params()[0::2]

    @property
    def intercepts_(self):
        """Bias vectors b of the Dense layers: views into ``model_``."""
        self._need_model("intercepts_")
        return self.model_.params()[1::2]

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
            raise fail("y", "binary, multiclass or multi-label (indicator) targets", got=f"{y_type} targets")
        if incremental and first:
            if classes is None:
                raise fail("classes", "passed on the first call to partial_fit (every label y may take)", None)
            lb = LabelBinarizer().fit(np.asarray(classes))
            if len(lb.classes_) < 2:
                raise fail("classes", "at least 2 classes", lb.classes_.tolist())
            if y_type != "multilabel-indicator" and len(np.setdiff1d(unique_labels(y), lb.classes_)):
                raise fail(
                    "y",
                    f"labels among classes={lb.classes_.tolist()}",
                    got=f"{unique_labels(y).tolist()}, with labels not in classes",
                )
        elif incremental and classes is not None and not np.array_equal(unique_labels(classes), self.classes_):
            raise fail("classes", f"those of the first call to partial_fit, {self.classes_.tolist()}", classes)
        if first:
            if not incremental:
                lb = LabelBinarizer().fit(y)
                kept = unique_labels(y if sw is None or y.ndim > 1 else y[sw > 0])
                if y.ndim == 1 and len(kept) < 2:
                    raise fail(
                        "y",
                        "labels of at least 2 classes (among the samples of positive sample_weight)",
                        got=f"1 class: {kept.tolist()[0]!r}",
                    )
            self._label_binarizer = lb
            self.classes_ = lb.classes_
        else:
            seen = unique_labels(y)
            if self.warm_start and not incremental:
                if set(seen) != set(self.classes_):
                    raise fail(
                        "y",
                        f"labels of the same classes as the previous fit for warm_start, {self.classes_.tolist()}",
                        got=f"{seen.tolist()}",
                    )
            elif len(np.setdiff1d(seen, self.classes_)):
                raise fail(
                    "y",
                    f"labels among classes_={self.classes_.tolist()}",
                    got=f"{seen.tolist()}, with labels not in classes_",
                )
        return self._label_binarizer.transform(y).astype(np.float64)

    def _make_loss(self):
        return losses.CrossEntropy() if self.out_activation_ == "softmax" else SummedLogLoss()

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
        "absolute_error" is mlplab's "mae" (``1/k sum_j |p_j - y_j|``), "huber" its Huber loss
        with delta = 1.
    """

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        loss="squared_error",
        solver="adam",
        alpha=1e-4,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=1e-3,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        optimizer=None,
        optimizer_kwargs=None,
        schedule=None,
        penalty="l2",
        l1_ratio=0.15,
        dropout=0.0,
        augment=None,
        dtype="float32",
    ):
        _set_params(self, locals())

    _LOSSES = {"squared_error": HalfSquaredError, "absolute_error": losses.MAE, "huber": losses.Huber}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags

    def _check_params(self, incremental):
        check_choice("loss", self.loss, tuple(self._LOSSES))
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
