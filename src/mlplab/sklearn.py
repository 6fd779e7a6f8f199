"""scikit-learn estimators: ``MLPClassifier`` and ``MLPRegressor`` trained by mlplab.

They are drop-in replacements for ``sklearn.neural_network.MLPClassifier`` / ``MLPRegressor``:
the same constructor parameters meaning the same things (``solver`` "adam", "sgd" or "lbfgs",
``max_iter``, ``max_fun``, ``tol``, ``n_iter_no_change`` up to ``numpy.inf``, ``verbose``
printing scikit-learn's lines on stdout, ``loss="poisson"`` for the regressor, ...), the same
fitted attributes, dense or sparse (CSR/CSC) X, ``partial_fit`` for every target kind
(multi-label too), and they pass scikit-learn's ``check_estimator`` at their default
parameters. Training runs mlplab's ``training.Trainer`` (adam, sgd, any mlplab optimizer) or
``lbfgs.LBFGS`` (lbfgs); ``model_`` is the trained mlplab model (save it with
``est.model_.save(path)``, export it with ``est.to_onnx(path)``).

What is the same as scikit-learn's MLP
--------------------------------------
The objective minimised on each mini-batch B (``mlplab.sklearn_objective``; the whole training
set for lbfgs), with S_B = sum_{i in B} w_i (the batch size without ``sample_weight``) and W
every weight matrix (not the biases)::

    J_B = sum_{i in B} w_i loss_i / S_B  +  alpha / (2 S_B) * ||W||^2

    loss_i = 1/(2k) sum_j (p_ij - y_ij)^2                       squared_error (regression)
    loss_i = sum_j [y_ij log(y_ij / p_ij) - y_ij + p_ij]        poisson (regression, p = exp(z))
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
``warm_start``; ``partial_fit`` (one epoch; ``classes=`` on the first call; not with lbfgs);
``solver="lbfgs"``: SciPy's L-BFGS-B on the whole training set with maxiter=max_iter,
maxfun=max_fun, gtol=tol, ``loss_`` and ``n_iter_`` its result, no ``loss_curve_``; the network
computes in the dtype of X (float32 or float64), sparse X is never densified; the initial
weights and biases, uniform in +-sqrt(6 / (fan_in + fan_out)) (+-sqrt(2 / ...) for logistic),
drawn from ``random_state`` as scikit-learn draws them: the same random_state gives the same
initial network, the same early-stopping split, and with lbfgs the same fit up to rounding.

What differs, deliberately
--------------------------
* The mini-batches: each epoch's shuffle is drawn by mlplab's generator (seeded from
  random_state after the weights), so adam and sgd see the rows in another order than
  scikit-learn's.
* The optimizers are torch's (``mlplab.optim``): Adam adds eps to sqrt(v_hat) where
  scikit-learn adds it to sqrt(v) (scikit-learn's eps is eps / sqrt(1 - beta2^t) in torch's
  terms, a difference only while sqrt(v) ~ eps); SGD momentum is torch's form, equal to
  scikit-learn's velocity form while the learning rate is constant.
* ``loss_`` and ``loss_curve_`` average the batches' objectives weighted by their sample
  weights (scikit-learn weights them by their row counts); a mini-batch whose sample weights
  are all zero contributes nothing (scikit-learn divides by their zero sum).
* ``predict`` and ``predict_proba`` compute in float64 whatever the network's dtype (the same
  rows give the same outputs in any batch); scikit-learn's return X's dtype.
* ``verbose`` with lbfgs prints ``Iteration k, loss = J`` after each iteration; scikit-learn
  passes iprint to SciPy, which since SciPy 1.15 prints nothing.
* ``partial_fit`` is unavailable with lbfgs for the regressor too (scikit-learn's regressor
  offers it and runs a whole L-BFGS fit); negative targets with ``loss="poisson"`` are refused
  (scikit-learn's loss is NaN there).
* mlplab's additions, all off by default: ``optimizer=`` (any of ``mlplab.optim.OPTIMIZERS``;
  it then replaces ``solver``) with ``optimizer_kwargs``, ``schedule=`` with
  ``schedule_params`` (``mlplab.sklearn_params``), ``penalty``/``l1_ratio``, ``dropout``,
  ``augment``, ``init`` (an mlplab initializer instead of scikit-learn's), ``dtype`` (a fixed
  computation dtype), the regressor's "absolute_error" and "huber" losses, any mlplab
  activation, ``to_onnx``.
"""

from __future__ import annotations

import numbers
import os
import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from . import export, losses
from ._validation import check_choice, check_sample_weight, fail
from .backend import to_numpy
from .errors import DivergenceError
from .io import atomic_open
from .lbfgs import LBFGS
from .model import MLP
from .sklearn_objective import (
    BatchPenalty,
    HalfPoissonDeviance,
    HalfSquaredError,
    InvScaling,
    Monitor,
    SummedLogLoss,
    make_optimizer,
)
from .sklearn_params import (
    activation_name,
    batch_size,
    check_params,
    check_size,
    encode_labels,
    hidden_sizes,
    model_dtype,
    random_state,
    sklearn_weights,
    solver,
)
from .training import ArraySource, Trainer

# the names of these classes before they moved: pickled estimators may refer to them
_HalfSquaredError, _SummedLogLoss, _BatchPenalty, _InvScaling = (
    HalfSquaredError,
    SummedLogLoss,
    BatchPenalty,
    InvScaling,
)

__all__ = ["MLPClassifier", "MLPRegressor"]

_SPARSE = ["csr", "csc"]  # scikit-learn's accept_sparse for its MLP: other formats become CSR
#: the attributes of the stochastic solvers, which an lbfgs fit does not have (as scikit-learn)
_STOCHASTIC_ATTRIBUTES = ("loss_curve_", "best_loss_", "validation_scores_", "best_validation_score_")


def _set_params(est, params):
    """Store each constructor argument as the attribute of its name: all that scikit-learn
    lets an ``__init__`` do (``params`` is the constructor's ``locals()``)."""
    for name, value in params.items():
        if name != "self":
            setattr(est, name, value)


def _stochastic(est):
    """partial_fit's availability: the stochastic solvers only (scikit-learn's message)."""
    if est.optimizer is None and est.solver == "lbfgs":
        raise AttributeError(
            f"partial_fit is only available for stochastic optimizers. {est.solver} is not stochastic."
        )
    return True


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
        max_fun=15000,
        optimizer=None,
        optimizer_kwargs=None,
        schedule=None,
        schedule_params=None,
        penalty="l2",
        l1_ratio=0.15,
        dropout=0.0,
        augment=None,
        init=None,
        dtype=None,
    ):
        _set_params(self, locals())

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def _check_params(self, incremental):
        check_params(self, incremental)

    def _make_loss(self):
        return HalfSquaredError()

    def _penalty(self, loss):
        if not self.alpha:
            return None
        return BatchPenalty(self.alpha, {"l2": 0.0, "l1": 1.0}.get(self.penalty, self.l1_ratio), loss)

    # -- fitting ---------------------------------------------------------------------------
    def _fit(self, X, y, sample_weight=None, incremental=False, classes=None):
        self._check_params(incremental)
        first = not hasattr(self, "model_") or (not self.warm_start and not incremental)
        X, y = validate_data(
            self,
            X,
            y,
            reset=first,
            accept_sparse=_SPARSE,
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
        rs = random_state(self)
        sizes = [X.shape[1], *hidden_sizes(self), Y.shape[1]]
        act = activation_name(self)
        if first:
            check_size(sizes, model_dtype(self, X))
            self._init_model(sizes, act, rs, model_dtype(self, X))
        elif self.model_.sizes != sizes or self.model_.activation != act:
            before = f"{self.model_.sizes} with {self.model_.activation!r}"
            raise fail(
                "the architecture",
                f"that of the previous fit for warm_start and partial_fit, {before}",
                got=f"{sizes} with {act!r}",
            )
        if solver(self) == "lbfgs":
            return self._fit_lbfgs(X, Y, sw)
        return self._fit_stochastic(X, Y, y, sw, rs, incremental)

    def _fit_lbfgs(self, X, Y, sw):
        """scikit-learn's _fit_lbfgs: L-BFGS-B over the whole training set (``mlplab.lbfgs``)."""
        loss = self._make_loss()
        trainer = LBFGS(
            self.model_,
            loss,
            regularizer=self._penalty(loss),
            max_iter=self.max_iter,
            max_fun=self.max_fun,
            tol=self.tol,
            verbose=bool(self.verbose),
        )
        try:
            trainer.fit(X, Y, sw)
        except DivergenceError as e:
            raise ValueError(
                "Solver produced non-finite parameter weights. The input data may contain large values and need "
                "to be preprocessed."
            ) from e
        res = trainer.result
        self.n_iter_, self.loss_ = min(int(res.nit), self.max_iter), float(res.fun)
        if res.status != 0:
            msg = f"lbfgs failed to converge after {self.n_iter_} iteration(s) (status={res.status}):\n{res.message}\n"
            if self.n_iter_ == self.max_iter:
                msg += f"\nIncrease the number of iterations to improve the convergence (max_iter={self.max_iter})."
            msg += (
                "\nYou might also want to scale the data as shown in:\n"
                "    https://scikit-learn.org/stable/modules/preprocessing.html"
            )
            warnings.warn(msg, ConvergenceWarning, stacklevel=3)
        return self

    def _fit_stochastic(self, X, Y, y, sw, rs, incremental):
        if "loss_curve_" not in self.__dict__:  # a warm start after an lbfgs fit
            self._init_stochastic()
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
        bs = batch_size(self, n)
        name = solver(self)
        if self._optimizer is None:
            self._optimizer = make_optimizer(self, name, n, -(-n // bs))
        self._adaptive = name == "sgd" and self.learning_rate == "adaptive" and self.schedule is None
        loss = self._make_loss()
        monitor = Monitor(self, n, val)
        self.n_iter_ = 0
        start = self._epochs_done
        seed, epochs = int(rs.randint(np.iinfo(np.int32).max)), start + (1 if incremental else self.max_iter)
        trainer = Trainer(
            self.model_,
            loss,
            self._optimizer,
            regularizer=self._penalty(loss),
            metrics=None,
            callbacks=[monitor],
            augment=self.augment,
            verbose=0,  # the Monitor prints scikit-learn's lines
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

    def _init_model(self, sizes, act, rs, dtype):
        out = {"logistic": "sigmoid", "softmax": "softmax"}.get(self._out_activation())  # identity, exp: linear
        # scikit-learn's initial weights take random_state's first draws, as in scikit-learn (the
        # early-stopping split then is scikit-learn's too); dropout's seed comes after them
        first = None if self.init is not None else sklearn_weights(sizes, self.activation, rs)
        seed = int(rs.randint(np.iinfo(np.int32).max)) if first is None or self.dropout else 0
        init = self.init if first is None else "glorot"
        self.model_ = MLP(sizes, act, out, init, dtype=dtype, seed=seed, dropout=float(self.dropout))
        if first is not None:
            self.model_.set_weights(first)
        self.n_outputs_, self.n_layers_, self.out_activation_ = sizes[-1], len(sizes), self._out_activation()
        self.n_iter_, self.t_, self._epochs_done, self._no_improvement_count = 0, 0, 0, 0
        self._best_weights = self._optimizer = None
        for name in _STOCHASTIC_ATTRIBUTES:
            self.__dict__.pop(name, None)
        if solver(self) != "lbfgs":
            self._init_stochastic()

    def _init_stochastic(self):
        self.loss_curve_ = []
        # with early stopping the validation score decides, else the training loss (scikit-learn's attributes)
        scores = ([], -np.inf, None) if self.early_stopping else (None, None, np.inf)
        self.validation_scores_, self.best_validation_score_, self.best_loss_ = scores

    # -- prediction ------------------------------------------------------------------------
    def _outputs(self, X):
        """The outputs for X (validated), as ``_predict_raw`` computes them."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, accept_sparse=_SPARSE, dtype=(np.float64, np.float32))
        return self._predict_raw(X)

    def _predict_raw(self, X):
        """The network's outputs (the rates exp(z) for poisson) computed in float64 from its
        weights, by a copy of the network: a float32 product may round a row differently
        depending on the rows it comes with, in float64 the difference is ~1e-16, so predictions
        do not depend on the batch (scikit-learn checks it); and the network's layers reuse
        their work buffers, which predictions from several threads at once (dask, joblib's
        threads) must not share."""
        P = to_numpy(self.model_.astype("float64").predict(X))
        if self.out_activation_ == "exp":
            with np.errstate(over="ignore"):
                P = np.exp(P)
        return P

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

        The graph's input ``X`` is (N, ``n_features_in_``) in the network's dtype. A classifier's
        output ``probabilities`` equals ``predict_proba``; a regressor's output
        ``predictions`` is (N, ``n_outputs_``), the rates exp(z) for poisson. Writes ``path`` and
        returns it, or returns the ``onnx.ModelProto`` if path is None.

        Parameters
        ----------
        path : str or path-like, optional
            The ``.onnx`` file; None returns the ModelProto.
        **kwargs
            ``mlplab.export.to_onnx``'s options (``opset``, ``input_name``, ...).

        Returns
        -------
        str or onnx.ModelProto
            ``path`` once written, or the graph.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before ``fit``.
        ImportError
            Without the ``onnx`` package.
        """
        check_is_fitted(self)
        kwargs.setdefault("output_name", "probabilities" if self._is_classifier else "predictions")
        if self._is_classifier and self.out_activation_ == "logistic" and self._label_binarizer.y_type_ == "binary":
            kwargs.setdefault("binary_proba", True)
        if self.out_activation_ != "exp":
            return export.to_onnx(self.model_, path, **kwargs)
        proto = export.to_onnx(self.model_, None, **kwargs)
        proto.graph.node[-1].op_type = "Exp"  # the graph's last node names the output: make it exp(z)
        if path is None:
            return proto
        with atomic_open(path, "wb") as f:
            f.write(proto.SerializeToString())
        return os.fspath(path)


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
        name of ``mlplab.activations.ACTIVATIONS`` ("leaky_relu", "elu", "gelu", ...) but
        "softmax", an output activation.
    solver : {"adam", "sgd", "lbfgs"}, default "adam"
        Optimizer, unless ``optimizer`` is given. "lbfgs": full-batch L-BFGS-B
        (``mlplab.lbfgs``), for small data sets.
    alpha : float, default 1e-4
        Penalty strength: alpha / (2 S_B) ||W||^2 per batch (S_B: sum of the batch's sample
        weights), as scikit-learn. 0 turns the penalty off.
    batch_size : int or "auto", default "auto"
        min(200, n_samples) with "auto".
    learning_rate : {"constant", "invscaling", "adaptive"}, default "constant"
        For ``solver="sgd"`` only, as scikit-learn.
    learning_rate_init : float > 0, default 1e-3
        The optimizer's learning rate (the initial one with a schedule).
    power_t : float, default 0.5
        Exponent of "invscaling".
    max_iter : int, default 200
        Epochs at most (iterations for lbfgs).
    shuffle : bool, default True
        Shuffle the rows at each epoch.
    random_state : int, RandomState or None
        Seeds the initial weights, the shuffling, dropout and the early-stopping split.
    tol : float, default 1e-4
        The least improvement of the stopping rule; for lbfgs, the largest gradient entry
        at which it stops (SciPy's gtol).
    verbose : bool or int, default False
        Print scikit-learn's progress lines on stdout (``Iteration k, loss = J``, validation
        scores, why training stopped).
    warm_start : bool, default False
        Continue from the previous fit's weights (with a fresh optimizer, as scikit-learn).
    momentum : float, default 0.9
        SGD momentum (torch's form).
    nesterovs_momentum : bool, default True
        Nesterov's momentum for sgd (with momentum > 0).
    early_stopping : bool, default False
        Hold out ``validation_fraction`` (stratified) and stop when its accuracy stalls;
        the best weights are kept.
    validation_fraction : float in (0, 1), default 0.1
        The held-out share of the training data with early stopping.
    beta_1, beta_2, epsilon : float, default 0.9, 0.999 and 1e-8
        Adam's betas and eps (also passed to the other optimizers that have them).
    n_iter_no_change : int or numpy.inf, default 10
        numpy.inf turns the stopping rule off.
    max_fun : int, default 15000
        lbfgs only: evaluations of the loss at most.
    optimizer : str or mlplab Optimizer, optional
        Any of ``mlplab.optim.OPTIMIZERS`` ("adamw", "rmsprop", "nadam", ...); replaces
        ``solver``. Built with lr=learning_rate_init, the Adam family with beta_1, beta_2,
        epsilon, and ``optimizer_kwargs``. An Optimizer instance is copied and used as it is.
    optimizer_kwargs : dict, optional
        More arguments of the optimizer (e.g. ``{"weight_decay": 1e-2}``).
    schedule : str, Schedule or callable, optional
        Learning-rate schedule (``mlplab.schedules``); a name is built with
        learning_rate_init as its rate and defaults for a run of max_iter epochs
        (``mlplab.sklearn_params``: e.g. "cosine" is one half cosine over the run).
        Refused with solver="lbfgs", which takes no learning rate.
    schedule_params : dict, optional
        The named schedule's own arguments (e.g. ``{"T_max": 50, "eta_min": 1e-5}``).
    penalty : {"l2", "l1", "elasticnet"}, default "l2"
        Form of the alpha penalty (see the module docstring).
    l1_ratio : float in [0, 1], default 0.15
        Share of L1 in the "elasticnet" penalty.
    dropout : float in [0, 1), default 0
        Dropout after each hidden activation (during training only).
    augment : callable f(X_batch, rng) -> X_batch, optional
        Applied to training batches (``mlplab.augment``).
    init : str, optional
        Weight initializer of ``mlplab.initializers`` ("he", "glorot", ...; biases zero);
        None: scikit-learn's weights and biases, drawn from random_state as it draws them.
    dtype : {"float32", "float64"} or None, default None
        Computation dtype of the network; None: that of X (float32 X trains a float32
        network, anything else float64), as scikit-learn.

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
        ``loss_`` of every epoch (not with lbfgs, as scikit-learn; nor ``best_loss_``,
        ``validation_scores_``, ``best_validation_score_``).
    validation_scores_ : list of float or None
        Held-out accuracy per epoch with early stopping, else None.
    best_validation_score_ : float or None
    n_iter_ : int
        Epochs run by the last fit (iterations for lbfgs).
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

    Raises
    ------
    ArgumentError
        At ``fit``, a parameter that scikit-learn's ``_parameter_constraints`` or mlplab
        refuses, named (the constructor only stores them, as scikit-learn's must); labels
        of fewer than two classes, or outside ``classes``.
    ValueError
        At ``fit``, X or y refused by scikit-learn's ``validate_data`` (NaN, shapes...),
        continuous targets (scikit-learn's messages), or training that produced a
        non-finite loss.
    """

    _is_classifier = True

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags

    def _out_activation(self):
        return "softmax" if self._label_binarizer.y_type_ == "multiclass" else "logistic"

    def _encode(self, y, first, incremental, classes, sw):
        return encode_labels(self, y, first, incremental, classes, sw)

    def _make_loss(self):
        return losses.CrossEntropy() if self.out_activation_ == "softmax" else SummedLogLoss()

    def _score_raw(self, X, y, sample_weight):
        return accuracy_score(y, self._predict_from(self._predict_raw(X)), sample_weight=sample_weight)

    def _predict_from(self, P):
        if self.n_outputs_ == 1:
            P = P.ravel()
        return self._label_binarizer.inverse_transform(P)

    def fit(self, X, y, sample_weight=None):
        """Fit the network to (X, y).

        Parameters
        ----------
        X : array or sparse matrix (n_samples, n_features)
            Training inputs (CSR or CSC stay sparse).
        y : array (n_samples,) of labels, or (n_samples, n_labels) 0/1 indicator matrix
            The classes to learn (at least two).
        sample_weight : array (n_samples,) or float, optional
            Weights w_i >= 0 of the objective (a float: one for every sample).

        Returns
        -------
        MLPClassifier
            ``self``, fitted.

        Raises
        ------
        ArgumentError, ValueError
            A bad parameter or input; training that produced a non-finite loss (see the
            class).
        """
        return self._fit(X, y, sample_weight)

    @available_if(_stochastic)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch over (X, y), keeping the optimizer state between calls.

        ``classes`` (every label y can take; for a multi-label y, its column indices) is
        needed on the first call. Not available with solver="lbfgs".

        Parameters
        ----------
        X : array or sparse matrix (n_samples, n_features)
            A chunk of training inputs.
        y : array (n_samples,) or (n_samples, n_labels)
            Its labels.
        sample_weight : array (n_samples,) or float, optional
            Weights of its samples.
        classes : array-like, optional
            Every label (required on the first call; later ones must repeat it or omit it).

        Returns
        -------
        MLPClassifier
            ``self``.

        Raises
        ------
        ArgumentError
            No ``classes`` on the first call, labels outside them, ``early_stopping=True``,
            or a bad parameter or input.
        """
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def predict(self, X):
        """Predicted labels (n_samples,), or the (n_samples, n_labels) indicator matrix.

        Parameters
        ----------
        X : array or sparse matrix (n_samples, n_features)
            The inputs.

        Returns
        -------
        ndarray
            Labels from ``classes_``.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before ``fit``.
        """
        return self._predict_from(self._outputs(X))

    def predict_proba(self, X):
        """Class probabilities (n_samples, n_classes), columns in the order of ``classes_``
        (binary: [1 - p, p]; multi-label: p of each label).

        Parameters
        ----------
        X : array or sparse matrix (n_samples, n_features)
            The inputs, refused if they hold NaN or infinity.

        Returns
        -------
        ndarray of float64, shape (n_samples, n_classes)
            Each row sums to 1 but for multi-label.
        """
        P = self._outputs(X)
        if self.n_outputs_ == 1 and self._label_binarizer.y_type_ == "binary":
            return np.hstack([1.0 - P, P])
        return P

    def predict_log_proba(self, X):
        """log of ``predict_proba``.

        Parameters
        ----------
        X : array or sparse matrix (n_samples, n_features)
            As for ``predict_proba``.

        Returns
        -------
        ndarray of float64, shape (n_samples, n_classes)
            log p (-inf where p = 0).
        """
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
    loss : {"squared_error", "poisson", "absolute_error", "huber"}, default "squared_error"
        "poisson": scikit-learn's half Poisson deviance of the rates exp(z) of the linear
        outputs z (``out_activation_`` "exp"; y must be >= 0); "absolute_error" is mlplab's
        "mae" (``1/k sum_j |p_j - y_j|``), "huber" its Huber loss with delta = 1.
    hidden_layer_sizes, activation, solver, alpha, batch_size : as MLPClassifier
        The network and the objective, as for ``MLPClassifier``.
    learning_rate, learning_rate_init, power_t, max_iter, shuffle, random_state, tol : as MLPClassifier
        The training run, with the classifier's defaults and meanings.
    verbose, warm_start, momentum, nesterovs_momentum, early_stopping : as MLPClassifier
        As the classifier's; early stopping scores R^2 on the held-out fraction.
    validation_fraction, beta_1, beta_2, epsilon, n_iter_no_change, max_fun : as MLPClassifier
        The held-out share, Adam's constants, the stopping rule and lbfgs's budget.
    optimizer, optimizer_kwargs, schedule, schedule_params, penalty, l1_ratio : as MLPClassifier
        mlplab's optimizers, schedules and penalties (see the classifier).
    dropout, augment, init, dtype : as MLPClassifier
        mlplab's other additions, all off by default.

    Raises
    ------
    ArgumentError
        At ``fit``, a parameter refused as by the classifier, or an unknown ``loss``;
        negative targets with ``loss="poisson"``.
    ValueError
        At ``fit``, training that produced a non-finite loss.
    """

    def __init__(
        self,
        loss="squared_error",  # first, as in scikit-learn's MLPRegressor
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
        max_fun=15000,
        optimizer=None,
        optimizer_kwargs=None,
        schedule=None,
        schedule_params=None,
        penalty="l2",
        l1_ratio=0.15,
        dropout=0.0,
        augment=None,
        init=None,
        dtype=None,
    ):
        _set_params(self, locals())

    _LOSSES = {
        "squared_error": HalfSquaredError,
        "poisson": HalfPoissonDeviance,
        "absolute_error": losses.MAE,
        "huber": losses.Huber,
    }

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        tags.target_tags.positive_only = self.loss == "poisson"
        return tags

    def _check_params(self, incremental):
        check_choice("loss", self.loss, tuple(self._LOSSES))
        super()._check_params(incremental)

    def _out_activation(self):
        return "exp" if self.loss == "poisson" else "identity"

    def _encode(self, y, first, incremental, classes, sw):
        y = np.asarray(y, dtype=np.float64)
        if self.loss == "poisson" and (y < 0).any():
            raise fail("y", "counts >= 0 for loss='poisson'", got=f"the value {y[y < 0][0]:g}")
        return y.reshape(-1, 1) if y.ndim == 1 else y

    def _make_loss(self):
        return self._LOSSES[self.loss]()

    def _score_raw(self, X, y, sample_weight):
        P = self._predict_raw(X)
        if not np.isfinite(P).all():  # as scikit-learn's _score_with_function
            return np.nan
        return r2_score(y, P.ravel() if self.n_outputs_ == 1 else P, sample_weight=sample_weight)

    def fit(self, X, y, sample_weight=None):
        """Fit the network to (X, y); y is (n_samples,) or (n_samples, n_outputs). Returns self.

        Parameters
        ----------
        X : array or sparse matrix (n_samples, n_features)
            Training inputs.
        y : array (n_samples,) or (n_samples, n_outputs)
            Real targets (counts >= 0 for poisson).
        sample_weight : array (n_samples,) or float, optional
            Weights of the objective.

        Returns
        -------
        MLPRegressor
            ``self``, fitted.

        Raises
        ------
        ArgumentError
            A bad parameter, named.
        ValueError
            X or y refused by scikit-learn's ``validate_data``, or training that produced a
            non-finite loss.
        """
        return self._fit(X, y, sample_weight)

    @available_if(_stochastic)
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over (X, y), keeping the optimizer state between calls (not with lbfgs).
        Returns self.

        Parameters
        ----------
        X, y, sample_weight : arrays (n_samples, ...) and an optional weight array or float
            A chunk of the training data, as ``fit`` takes it.

        Returns
        -------
        MLPRegressor
            ``self``.
        """
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X):
        """Predictions (n_samples,), or (n_samples, n_outputs) for multi-output targets.

        Parameters
        ----------
        X : array or sparse matrix (n_samples, n_features)
            The inputs, of the fitted width.

        Returns
        -------
        ndarray of float64
            Computed in float64 whatever the network's dtype (poisson: the rates exp(z)).
        """
        P = self._outputs(X)
        return P.ravel() if self.n_outputs_ == 1 else P
