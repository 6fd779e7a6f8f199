"""Models: a stack of layers with the lecture's four training steps.

1. forward pass from the input to the output layer      ``forward``
2. objective J = 1/n sum_i loss(y_hat_i, y_i)            ``loss_and_grad``
3. gradient of J, back-propagated from the last layer   ``backward``
   to the first by the chain rule
4. parameter update                                      ``optimizer.step(model)``

``fit`` repeats them over mini-batches and epochs. All parameters live in one contiguous
buffer (``flat_params()``), every layer's W and b being views into it, and all gradients
likewise (``flat_grads()``): an optimizer updates the whole network in a few vectorized
calls. Weights come first in the buffer, then biases, so weight penalties act on one slice.
"""
from __future__ import annotations

import contextlib
import math
import signal
import threading

import numpy as np

from . import activations, losses, metrics as metrics_mod, optim, regularizers
from .activations import RELU_FAMILY, Activation
from .backend import SMALL_MATMUL_FLOPS, as_dtype, single_blas_thread, xp
from .callbacks import Callback, CallbackList, History, ProgressBar
from .layers import Dense, Dropout, Layer, as_rng

__all__ = ["Sequential", "MLP", "DivergenceError", "check_X"]

_DEFAULT_METRICS = ("accuracy",)
_PREDICT_CHUNK = 8192  # rows per forward pass in predict: bounds the memory of big inputs


class DivergenceError(FloatingPointError):
    """Training stopped because the loss became NaN or infinite. ``.history`` holds the
    History so far; the model kept the last weights whose loss was finite."""

    def __init__(self, msg, history=None):
        super().__init__(msg)
        self.history = history


def check_X(X, n_features=None, dtype=np.float64, name="X"):
    """Validate an input matrix and return it as a C-contiguous array of ``dtype``.

    Raises TypeError for non-numeric data and ValueError for a wrong number of dimensions,
    no samples, a wrong feature count, or NaN / infinity.
    """
    if hasattr(X, "toarray") or type(X).__name__ in {"csr_matrix", "csc_matrix", "coo_matrix"}:
        raise TypeError(f"{name} must be a dense array; sparse input is not supported, use {name}.toarray()")
    try:
        A = np.asarray(X)
    except Exception as e:  # ragged lists and the like
        raise ValueError(f"{name} could not be converted to an array: {e}") from None
    if A.dtype == object or not (np.issubdtype(A.dtype, np.number) or A.dtype == bool):
        raise TypeError(f"{name} must hold numbers, got dtype {A.dtype}")
    if np.iscomplexobj(A):
        raise TypeError(f"{name} must be real, got dtype {A.dtype}")
    if A.ndim != 2:
        hint = f"; for a single feature use {name}.reshape(-1, 1)" if A.ndim == 1 else ""
        raise ValueError(f"{name} must be 2-D (n_samples, n_features), got shape {A.shape}{hint}")
    if A.shape[0] == 0:
        raise ValueError(f"{name} is empty: got shape {A.shape}, expected at least one sample")
    if n_features is not None and A.shape[1] != n_features:
        raise ValueError(f"{name} has {A.shape[1]} features, but the model expects {n_features}: got shape {A.shape}")
    A = np.ascontiguousarray(A, dtype=dtype)
    # sum a^2 (one BLAS pass, no input-sized temporary) carries any NaN or infinity; it may
    # also overflow on finite data, so only then min and max decide
    flat = A.reshape(-1)
    if not np.isfinite(np.vdot(flat, flat)) and not (np.isfinite(A.min()) and np.isfinite(A.max())):
        raise ValueError(f"{name} contains NaN or infinity")
    return A


def _check_int(name, v, lo):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
        raise ValueError(f"{name} must be an int >= {lo}, got {v!r}")
    return int(v)


@contextlib.contextmanager
def _interruptible():
    """Turn the first Ctrl-C into a flag that fit checks after each batch; a second one
    raises KeyboardInterrupt as usual."""
    state = {"interrupted": False}
    if threading.current_thread() is not threading.main_thread():
        yield state
        return

    def handler(signum, frame):
        if state["interrupted"]:
            raise KeyboardInterrupt
        state["interrupted"] = True

    old = signal.signal(signal.SIGINT, handler)
    try:
        yield state
    finally:
        signal.signal(signal.SIGINT, old)


class Sequential:
    """A network as a list of layers applied in order.

    Parameters
    ----------
    layers : list of Layer
        e.g. ``[Dense(2, 16), ReLU(), Dense(16, 1), Sigmoid()]``.
    dtype : "float32" or "float64", optional
        Computation dtype; by default the dtype of the first Dense layer.
    """

    def __init__(self, layers, dtype=None):
        layers = list(layers)
        if not layers:
            raise ValueError("layers must hold at least one layer")
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"layers[{i}] must be a mlplab Layer, got {type(layer).__name__}")
        dense = [layer for layer in layers if layer.param_names]
        if not dense or not isinstance(dense[0], Dense):
            raise ValueError("the first layer with parameters must be a Dense layer (it fixes the input width)")
        self.layers = layers
        for prev, layer in zip(layers, layers[1:-1]):
            # a hidden activation may overwrite the Dense output before it: nothing else reads it
            if isinstance(layer, Activation) and layer.can_inplace and isinstance(prev, Dense):
                layer.inplace = True
        self.dtype = as_dtype(dtype if dtype is not None else dense[0].dtype)
        self.n_inputs = dense[0].in_features
        width = self.n_inputs
        for layer in layers:
            width = layer.output_size(width)
        self.n_outputs = width
        self.stop_training = False
        self.stop_reason = None
        self.optimizer = None
        self._bufs: dict = {}
        self._bind()

    # -- parameters in one buffer ----------------------------------------------------
    def _bind(self):
        slots = [(layer, name) for layer in self.layers for name in layer.param_names]
        # weights first, then biases: penalties act on theta[:n_weights]
        slots.sort(key=lambda s: s[1] != "W")
        total = sum(getattr(layer, name).size for layer, name in slots)
        self._theta = xp.empty(total, dtype=self.dtype)
        self._grad = xp.zeros(total, dtype=self.dtype)
        self.n_weights = 0
        #: (layer, parameter name, start, stop) of each parameter array in the flat buffer
        self.param_slots = []
        o = 0
        for layer, name in slots:
            cur = getattr(layer, name)
            self.param_slots.append((layer, name, o, o + cur.size))
            view = self._theta[o:o + cur.size].reshape(cur.shape)
            view[...] = cur
            layer.__dict__[name] = view  # past the slot's copy-into-view: this is the binding
            layer.__dict__["d" + name] = self._grad[o:o + cur.size].reshape(cur.shape)
            if name == "W":
                self.n_weights = o + cur.size
            if hasattr(layer, "dtype"):
                layer.dtype = self.dtype
            o += cur.size
        for layer in self.layers:
            object.__setattr__(layer, "_bound", True)
        # layers before the first one with parameters need no backward pass at all
        self._first_param = next(i for i, layer in enumerate(self.layers) if layer.param_names)

    # pickling and copy.deepcopy: the layers' parameters arrive as separate arrays, so
    # bind them into a new flat buffer instead of keeping views of a buffer that is gone
    def __getstate__(self):
        return {k: v for k, v in self.__dict__.items() if k not in ("_theta", "_grad", "_bufs", "_P", "param_slots")}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._bufs = {}
        self._bind()

    def flat_params(self):
        """All parameters as one 1-D array (weights of every layer, then biases): a view, not a copy."""
        return self._theta

    def flat_grads(self):
        """All gradients, laid out as ``flat_params()``."""
        return self._grad

    def params(self):
        """Parameter arrays in layer order ([W1, b1, W2, b2, ...]), views into the flat buffer."""
        return [getattr(layer, n) for layer in self.layers for n in layer.param_names]

    def grads(self):
        """Gradient arrays in the order of ``params()`` ([dW1, db1, ...])."""
        return [getattr(layer, "d" + n) for layer in self.layers for n in layer.param_names]

    @property
    def n_params(self) -> int:
        return int(self._theta.size)

    def get_weights(self):
        """A copy of the flat parameter buffer."""
        return self._theta.copy()

    def set_weights(self, weights):
        """Set every parameter from a flat array (``get_weights()``) or a list like ``params()``."""
        if isinstance(weights, (list, tuple)):
            ps = self.params()
            if len(weights) != len(ps):
                raise ValueError(f"weights must hold {len(ps)} arrays, got {len(weights)}")
            for i, (p, w) in enumerate(zip(ps, weights)):
                w = np.asarray(w)
                if w.shape != p.shape:
                    raise ValueError(f"weights[{i}] must have shape {p.shape}, got {w.shape}")
                p[...] = w
            return
        w = np.asarray(weights)
        if w.shape != self._theta.shape:
            raise ValueError(f"weights must have shape {self._theta.shape}, got {w.shape}")
        if not np.isfinite(w).all():
            raise ValueError("weights contain NaN or infinity")
        self._theta[...] = w

    # -- the four steps ----------------------------------------------------------------
    def _check_X(self, X, name="X"):
        return check_X(X, self.n_inputs, self.dtype, name)

    def _forward(self, X, training):
        for layer in self.layers:
            X = layer.forward(X, training)
        return X

    def forward(self, X, training=False):
        """Forward pass: the network's output for X, shape (n, n_outputs).

        With ``training=True`` dropout is active and every layer keeps what ``backward``
        needs. Returns a new array.
        """
        return self._forward(self._check_X(X), training).copy()

    def backward(self, dY):
        """Back-propagate dY = dJ/d(output) from the last layer to the first.

        Leaves dW and db in every Dense layer (and in ``flat_grads()``) and returns
        dX = dJ/dX. Call after ``forward``.
        """
        dY = np.ascontiguousarray(dY, dtype=self.dtype)
        if dY.ndim != 2 or dY.shape[1] != self.n_outputs:
            raise ValueError(f"dY must have shape (n, {self.n_outputs}), got {dY.shape}")
        # loss_and_grad turns dX off on the first layer with parameters, which need not be layers[0]
        self.layers[self._first_param].need_dx = True
        for layer in reversed(self.layers):
            dY = layer.backward(dY)
        return dY

    def _fused(self, loss) -> bool:
        last = self.layers[-1]
        return loss.fused_with is not None and isinstance(last, Activation) and last.name == loss.fused_with

    def _loss_and_grad(self, X, Y, loss, regularizer=None, sample_weight=None, training=True):
        """loss_and_grad on validated arrays: the training hot path."""
        layers = self.layers
        fused = self._fused(loss)
        body = layers[:-1] if fused else layers
        out = X
        for layer in body:
            out = layer.forward(out, training)
        if fused:
            P = layers[-1].forward(out, training)
            J = loss.forward_logits(out, P, Y, sample_weight, getattr(layers[-1], "lse", None))
            dY = loss.backward_logits(out=self._buf("dZ", P.shape))
        else:
            P = out
            J = loss.forward(P, Y, sample_weight)
            dY = loss.backward()
        self._P = P
        first = self._first_param
        layers[first].need_dx = False  # nothing below it needs dJ/dX
        for i in range(len(body) - 1, first - 1, -1):
            dY = body[i].backward(dY)
        self._data_loss = J
        if regularizer is not None:
            k = self._theta.size if regularizer.include_bias else self.n_weights
            theta = self._theta[:k]
            J += regularizer.penalty(theta)
            regularizer.add_grad(theta, self._grad[:k])
        return J

    def loss_and_grad(self, X, y, loss=None, regularizer=None, sample_weight=None):
        """Forward pass, objective J and backward pass in one call.

        Returns J = sum_i w_i loss_i / sum_i w_i (+ the regularizer's penalty) as a float
        and leaves dJ/dtheta in ``flat_grads()`` (and dW, db in every Dense layer).
        Dropout is active, as in a training step.
        """
        loss = self._resolve_loss(loss)
        X = self._check_X(X)
        Y = loss.prepare_targets(y, self.n_outputs, self.dtype)
        if Y.shape[0] != X.shape[0]:
            raise ValueError(f"X and y must have the same number of samples, got {X.shape[0]} and {Y.shape[0]}")
        sw = self._check_sample_weight(sample_weight, X.shape[0])
        return self._loss_and_grad(X, Y, loss, regularizers.get(regularizer), sw)

    def _buf(self, key, shape):
        b = self._bufs.get(key)
        if b is None or b.shape != shape:
            b = self._bufs[key] = xp.empty(shape, dtype=self.dtype)
        return b

    # -- prediction ---------------------------------------------------------------------
    def _predict(self, X, batch_size=None):
        n = X.shape[0]
        chunk = batch_size or _PREDICT_CHUNK
        if n <= chunk:
            return self._forward(X, False).copy()
        out = xp.empty((n, self.n_outputs), dtype=self.dtype)
        for s in range(0, n, chunk):
            out[s:s + chunk] = self._forward(X[s:s + chunk], False)
        return out

    def predict(self, X, batch_size=None):
        """Network outputs for X (probabilities after a sigmoid or softmax output)."""
        return self._predict(self._check_X(X), batch_size)

    @property
    def multilabel(self) -> bool:
        last = self.layers[-1]
        return isinstance(last, activations.Sigmoid) and self.n_outputs > 1

    def predict_classes(self, X):
        """Predicted class per sample: argmax of the outputs, or p >= 0.5 for one output
        (and for each label of a multi-label sigmoid output, giving an (n, k) 0/1 array)."""
        P = self.predict(X)
        if self.multilabel:
            return (P >= 0.5).astype(np.int64)
        return metrics_mod.classes_from_outputs(P)

    def evaluate(self, X, y, loss=None, metrics=_DEFAULT_METRICS, sample_weight=None):
        """Loss and metrics on (X, y), as a dict {"loss": ..., "accuracy": ...}."""
        loss = self._resolve_loss(loss)
        X = self._check_X(X)
        Y = loss.prepare_targets(y, self.n_outputs, self.dtype)
        if Y.shape[0] != X.shape[0]:
            raise ValueError(f"X and y must have the same number of samples, got {X.shape[0]} and {Y.shape[0]}")
        sw = self._check_sample_weight(sample_weight, X.shape[0])
        return self._evaluate(X, Y, loss, self._resolve_metrics(metrics, loss), sw)

    def _evaluate(self, X, Y, loss, metric_fns, sw=None, prefix=""):
        fused = self._fused(loss)
        n = X.shape[0]
        tot, P_all = 0.0, xp.empty((n, self.n_outputs), dtype=self.dtype)
        for s in range(0, n, _PREDICT_CHUNK):
            e = min(s + _PREDICT_CHUNK, n)
            body = self.layers[:-1] if fused else self.layers
            out = X[s:e]
            for layer in body:
                out = layer.forward(out, False)
            w = None if sw is None else sw[s:e]
            if fused:
                P = self.layers[-1].forward(out, False)
                J = loss.forward_logits(out, P, Y[s:e], w, getattr(self.layers[-1], "lse", None))
            else:
                P = out
                J = loss.forward(P, Y[s:e], w)
            tot += J * ((e - s) if sw is None else float(w.sum()))
            P_all[s:e] = P
        res = {prefix + "loss": tot / (n if sw is None else float(sw.sum()))}
        for name, f in metric_fns.items():
            res[prefix + name] = f(P_all, Y)
        return res

    # -- training -------------------------------------------------------------------------
    def _resolve_loss(self, loss):
        if loss is None:
            last = self.layers[-1]
            if isinstance(last, activations.Softmax):
                return losses.CrossEntropy()
            if isinstance(last, activations.Sigmoid):
                return losses.BCE()
            return losses.MSE()
        return losses.get(loss)

    def _resolve_metrics(self, metrics, loss):
        if metrics is None:
            return {}
        if isinstance(metrics, str):
            metrics = (metrics,)
        if metrics is _DEFAULT_METRICS and not loss.classification:
            return {}  # accuracy means nothing for a regression loss
        out = {}
        for m in metrics:
            if m == "accuracy" and not loss.classification:
                raise ValueError(f"metric 'accuracy' needs a classification loss (bce or cross_entropy), not {loss.name}")
            if m == "accuracy" and self.multilabel:
                out[m] = _multilabel_accuracy
            else:
                out[m if isinstance(m, str) else getattr(m, "__name__", "metric")] = metrics_mod.get(m)
        return out

    def _check_sample_weight(self, sample_weight, n, name="sample_weight"):
        if sample_weight is None:
            return None
        w = np.asarray(sample_weight, dtype=np.float64)
        if w.ndim != 1 or w.shape[0] != n:
            raise ValueError(f"{name} must have shape ({n},), got {w.shape}")
        if not np.isfinite(w).all() or (w < 0).any():
            raise ValueError(f"{name} must be finite and >= 0")
        if w.sum() <= 0:
            raise ValueError(f"{name} must not be all zero")
        return w.astype(self.dtype)

    def _class_weights(self, class_weight, Y):
        labels = Y.argmax(axis=1) if Y.shape[1] > 1 else (Y[:, 0] >= 0.5).astype(np.int64)
        n_classes = max(Y.shape[1], 2)
        if isinstance(class_weight, str):
            if class_weight != "balanced":
                raise ValueError(f"class_weight must be a dict or 'balanced', got {class_weight!r}")
            counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
            table = np.where(counts > 0, labels.size / (n_classes * np.maximum(counts, 1)), 0.0)
        elif isinstance(class_weight, dict):
            table = np.ones(n_classes)
            for c, w in class_weight.items():
                if not (isinstance(c, (int, np.integer)) and 0 <= c < n_classes):
                    raise ValueError(f"class_weight key {c!r} is not a class in 0..{n_classes - 1}")
                if not (math.isfinite(w) and w >= 0):
                    raise ValueError(f"class_weight[{c}] must be finite and >= 0, got {w!r}")
                table[c] = w
        else:
            raise TypeError(f"class_weight must be a dict or 'balanced', got {type(class_weight).__name__}")
        return table[labels]

    def fit(self, X, y, loss=None, optimizer=None, epochs=10, batch_size=32, shuffle=True, seed=None,
            validation_data=None, metrics=_DEFAULT_METRICS, verbose=1, *, validation_split=0.0,
            callbacks=None, regularizer=None, augment=None, sample_weight=None, class_weight=None,
            initial_epoch=0, resume_from=None):
        """Train by mini-batch gradient descent.

        For each epoch, the samples are shuffled (``shuffle=True``) and cut into batches; for
        each batch: forward pass, J, backward pass, ``optimizer.step(self)``.

        Parameters
        ----------
        X : array (n, n_inputs)
        y : array
            Class labels (n,) or one-hot rows for cross_entropy; 0/1 labels for bce;
            targets (n,) or (n, n_outputs) for regression losses.
        loss : str or Loss, optional
            Default: cross_entropy after softmax, bce after sigmoid, mse otherwise.
        optimizer : Optimizer or name, optional
            Default ``optim.SGD(lr=0.1)``. A name uses that optimizer's defaults.
        epochs : int
        batch_size : int or None
            None: full batch, the lecture's plain gradient descent (one step per epoch).
        shuffle : bool
        seed : int, optional
            Seeds shuffling and augmentation.
        validation_data : (X_val, y_val) or (X_val, y_val, w_val), optional
        metrics : sequence of str
            "accuracy" (classification), "mse", "mae", "r2".
        verbose : 0, 1 or 2
            1: a progress bar per epoch with the running loss; 2: a line per epoch.
        validation_split : float in [0, 1)
            Hold out this fraction (the last samples, before shuffling) for validation.
        callbacks : list of Callback
        regularizer : Regularizer or name, optional
            Penalty added to J (``mlplab.regularizers``); History keeps "data_loss" too.
        augment : callable ``f(X_batch, rng) -> X_batch``, optional
            Applied to each training batch, with fit's seeded generator, never to validation
            data nor at predict time (``mlplab.augment``). Must return a new array of the
            batch's shape, not write to its input.
        sample_weight : array (n,), optional
        class_weight : dict {class: weight} or "balanced", optional
        initial_epoch : int
            Epoch to start from (for resumed runs).
        resume_from : str or path-like, optional
            A checkpoint (``mlplab.save_checkpoint``): restores the weights, the optimizer's
            state (the optimizer given must be of the saved class; None uses the saved one),
            the History so far, the shuffling generator and the Dropout generators, and
            continues at the epoch after the saved one. With the same arguments, the result
            is bit for bit that of an uninterrupted run.

        Returns
        -------
        History
            Per-epoch "loss", "val_loss", metrics and "lr"; why training stopped.
        """
        loss = self._resolve_loss(loss)
        resumed = None
        if resume_from is not None:
            from .io import _Resume

            resumed = _Resume(self, resume_from, optimizer)
            optimizer, initial_epoch = resumed.optimizer, resumed.epoch + 1
        if optimizer is None:
            optimizer = optim.SGD(lr=0.1)
        optimizer = optim.get(optimizer)
        regularizer = regularizers.get(regularizer)
        if augment is not None and not callable(augment):
            raise TypeError(f"augment must be callable f(X, rng), got {type(augment).__name__}")
        epochs = _check_int("epochs", epochs, 0)
        initial_epoch = _check_int("initial_epoch", initial_epoch, 0)
        if verbose not in (0, 1, 2, True, False):
            raise ValueError(f"verbose must be 0, 1 or 2, got {verbose!r}")
        X = self._check_X(X)
        Y = loss.prepare_targets(y, self.n_outputs, self.dtype)
        if Y.shape[0] != X.shape[0]:
            raise ValueError(f"X and y must have the same number of samples, got {X.shape[0]} and {Y.shape[0]}")
        sw = self._check_sample_weight(sample_weight, X.shape[0])
        if class_weight is not None:
            cw = self._class_weights(class_weight, Y).astype(self.dtype)
            sw = cw if sw is None else sw * cw
        if not (isinstance(validation_split, (int, float)) and 0.0 <= validation_split < 1.0):
            raise ValueError(f"validation_split must be a float in [0, 1), got {validation_split!r}")
        val = None
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
                raise ValueError("validation_data must be a tuple (X_val, y_val) or (X_val, y_val, sample_weight_val)")
            Xv = self._check_X(validation_data[0], "validation_data X")
            Yv = loss.prepare_targets(validation_data[1], self.n_outputs, self.dtype)
            if Yv.shape[0] != Xv.shape[0]:
                raise ValueError(f"validation_data X and y must have the same number of samples, got {Xv.shape[0]} and {Yv.shape[0]}")
            swv = None if len(validation_data) == 2 else self._check_sample_weight(validation_data[2], Xv.shape[0], "validation sample_weight")
            val = (Xv, Yv, swv)
        elif validation_split > 0:
            k = int(round(X.shape[0] * (1.0 - validation_split)))
            if k < 1 or k >= X.shape[0]:
                raise ValueError(f"validation_split={validation_split} leaves no training or no validation sample out of {X.shape[0]}")
            val = (X[k:], Y[k:], None if sw is None else sw[k:])
            X, Y, sw = X[:k], Y[:k], None if sw is None else sw[:k]
        n = X.shape[0]
        if batch_size is None:
            bs = n
        else:
            bs = min(_check_int("batch_size", batch_size, 1), n)
        steps = math.ceil(n / bs)
        metric_fns = self._resolve_metrics(metrics, loss)

        history = History()
        cbs = [history]
        if verbose:
            cbs.append(ProgressBar(verbose=int(verbose)))
        for c in callbacks or ():
            if not isinstance(c, Callback):
                raise TypeError(f"callbacks must be Callback instances, got {type(c).__name__}")
            cbs.append(c)
        cb = CallbackList(cbs)
        cb.set_model(self)
        self.history = history
        self.optimizer = optimizer
        self.stop_training, self.stop_reason = False, None
        rng = self._fit_rng = np.random.default_rng(seed)
        if resumed is not None:
            resumed.restore(history, rng)

        batch_hooks = cb.batch_hooks
        need_copy = shuffle and steps > 1
        Xb = xp.empty((bs, X.shape[1]), dtype=self.dtype) if need_copy else None
        Yb = xp.empty((bs, Y.shape[1]), dtype=self.dtype) if need_copy else None
        backup = xp.empty_like(self._theta)
        stepped = False
        cb.on_train_begin({"epochs": epochs, "steps": steps})
        largest = max((2.0 * bs * layer.W.size for layer in self.layers if "W" in layer.param_names), default=0.0)
        threads = single_blas_thread() if largest < SMALL_MATMUL_FLOPS else contextlib.nullcontext()
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"), _interruptible() as sig, \
                threads:
            for epoch in range(initial_epoch, epochs):
                optimizer.epoch = epoch
                cb.on_epoch_begin(epoch, {})
                order = rng.permutation(n) if need_copy else None
                tot = tot_data = wsum = 0.0  # weighted sums of J and of its data term
                msum = dict.fromkeys(metric_fns, 0.0)
                for b in range(steps):
                    s, e = b * bs, min((b + 1) * bs, n)
                    m = e - s
                    if need_copy:
                        idx = order[s:e]
                        # mode="clip" (the indices are a permutation, always in range): with out=,
                        # the default mode="raise" gathers into a temporary and copies it over
                        xb = X.take(idx, axis=0, out=Xb[:m], mode="clip")
                        yb = Y.take(idx, axis=0, out=Yb[:m], mode="clip")
                        wb = None if sw is None else sw[idx]
                    else:  # in order (a single full batch needs no shuffling: J is a mean)
                        xb, yb, wb = X[s:e], Y[s:e], None if sw is None else sw[s:e]
                    if augment is not None:
                        shape = xb.shape
                        xb = np.asarray(augment(xb, rng), dtype=self.dtype)
                        if xb.shape != shape:
                            raise ValueError(f"augment must return an array of the batch's shape {shape}, "
                                             f"got {xb.shape}")
                    if batch_hooks:
                        cb.on_batch_begin(b, {"size": m})
                    J = self._loss_and_grad(xb, yb, loss, regularizer, wb)
                    if not math.isfinite(J):
                        if stepped:
                            xp.copyto(self._theta, backup)
                        self.stop_reason = (f"loss became {J} at epoch {epoch + 1}, batch {b + 1}: training diverged; "
                                            f"the model keeps the last weights with a finite loss. Try a lower "
                                            f"learning rate (now {optimizer.last_lr:g}) or gradient clipping (clip_norm=).")
                        cb.on_batch_end(b, {"loss": J, "size": m})
                        if not self.stop_training:
                            history.stop_reason = self.stop_reason
                            cb.on_train_end({})
                            raise DivergenceError(self.stop_reason, history)
                        break
                    xp.copyto(backup, self._theta)
                    optimizer.step(self)
                    stepped = True
                    wm = m if wb is None else float(wb.sum())
                    tot += J * wm
                    tot_data += self._data_loss * wm
                    wsum += wm
                    for name, f in metric_fns.items():
                        msum[name] += f(self._P, yb) * m
                    if batch_hooks:
                        cb.on_batch_end(b, {"loss": J, "size": m})
                    if self.stop_training or sig["interrupted"]:
                        break
                if wsum == 0:  # stopped before the first step of this epoch
                    break
                done = b + 1 if math.isfinite(J) else b
                logs = {"loss": tot / wsum}
                if regularizer is not None:
                    logs["data_loss"] = tot_data / wsum
                seen = min(done * bs, n)
                for name in metric_fns:
                    logs[name] = msum[name] / max(seen, 1)
                logs["lr"] = optimizer.last_lr
                if val is not None:
                    logs.update(self._evaluate(val[0], val[1], loss, metric_fns, val[2], prefix="val_"))
                    if regularizer is not None:
                        logs["val_data_loss"] = logs["val_loss"]
                cb.on_epoch_end(epoch, logs)
                if sig["interrupted"]:
                    self.stop_reason = self.stop_reason or f"interrupted by the user (Ctrl-C) during epoch {epoch + 1}"
                    break
                if self.stop_training:
                    break
        if self.stop_reason is None:
            self.stop_reason = f"completed {epochs} epochs"
        history.stop_reason = self.stop_reason
        cb.on_train_end({})
        return history

    # -- description ----------------------------------------------------------------------
    def summary(self) -> str:
        """A table of layers with their output width and parameter count."""
        rows = [("layer", "output", "params")]
        width = self.n_inputs
        rows.append(("input", str(width), "0"))
        for layer in self.layers:
            width = layer.output_size(width)
            rows.append((repr(layer), str(width), f"{layer.n_params():,}"))
        w0 = max(len(r[0]) for r in rows)
        w1 = max(len(r[1]) for r in rows)
        w2 = max(len(r[2]) for r in rows)
        line = "-" * (w0 + w1 + w2 + 4)
        out = [f"{type(self).__name__} ({self.dtype.name})", line]
        for i, (a, b, c) in enumerate(rows):
            out.append(f"{a:<{w0}}  {b:>{w1}}  {c:>{w2}}")
            if i == 0:
                out.append(line)
        out += [line, f"total parameters: {self.n_params:,}"]
        return "\n".join(out)

    def __repr__(self):
        return self.summary()

    def get_config(self) -> dict:
        """The architecture as a JSON-serialisable dict (see ``from_config``)."""
        return {
            "class": "Sequential",
            "dtype": self.dtype.name,
            "layers": [{"class": type(layer).__name__, "config": layer.get_config()} for layer in self.layers],
        }

    @staticmethod
    def from_config(config: dict) -> "Sequential":
        """Rebuild an architecture (with fresh weights) from ``get_config()``."""
        return model_from_config(config)

    # -- files ----------------------------------------------------------------------------
    def save(self, path) -> str:
        """Write the architecture and weights to ``path`` (``mlplab.load`` reads it back;
        no pickle, atomic write). Returns ``path``. See ``mlplab.io``."""
        from . import io

        return io.save(self, path)

    def to_onnx(self, path=None, **kwargs):
        """Export the prediction graph to ONNX (needs ``pip install 'mlplab[onnx]'``).

        Writes ``path`` and returns it, or returns the ``onnx.ModelProto`` when path is None.
        Keyword arguments go to ``mlplab.export.to_onnx``.
        """
        from . import export

        return export.to_onnx(self, path, **kwargs)


def _multilabel_accuracy(P, Y):
    """Fraction of rows whose every label (p >= 0.5) is right."""
    return float(np.mean(((P >= 0.5) == (Y >= 0.5)).all(axis=1)))


class MLP(Sequential):
    """Multi-layer perceptron: Dense layers of the given sizes with an activation between them.

    ``MLP([2, 16, 16, 1], activation="relu", output="sigmoid")`` is
    Dense(2, 16), ReLU, Dense(16, 16), ReLU, Dense(16, 1), Sigmoid.

    Parameters
    ----------
    sizes : sequence of int
        Input width, hidden widths, output width (at least two numbers).
    activation : str or Activation class, default "relu"
        Hidden activation (``mlplab.activations.ACTIVATIONS``).
    output : None, "sigmoid", "softmax" or another activation name
        Output activation; None leaves the output linear (regression).
    init : str, optional
        Weight initializer; default "he" for the ReLU family, "glorot" otherwise.
    dtype : "float32" (default) or "float64"
    seed : int, optional
        Seeds the initial weights (and dropout masks).
    dropout : float, default 0
        If > 0, a Dropout(dropout) layer after each hidden activation.
    """

    def __init__(self, sizes, activation="relu", output=None, init=None, dtype="float32", seed=None, dropout=0.0):
        if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__len__") or len(sizes) < 2:
            raise ValueError(f"sizes must list at least an input and an output width, e.g. [2, 16, 1], got {sizes!r}")
        for s in sizes:
            if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1:
                raise ValueError(f"sizes must be positive ints, got {list(sizes)!r}")
        act_name = activation if isinstance(activation, str) else getattr(activation, "name", None)
        activations.get(activation)  # validates the name before building anything
        if output is not None:
            activations.get(output)
        if init is None:
            init = "he" if act_name in RELU_FAMILY else "glorot"
        rng = as_rng(seed)
        layers = []
        for i in range(len(sizes) - 1):
            layers.append(Dense(sizes[i], sizes[i + 1], init=init, seed=rng, dtype=dtype))
            if i < len(sizes) - 2:
                layers.append(_new_activation(activation))
                if dropout:
                    layers.append(Dropout(dropout, seed=int(rng.integers(2**32))))
        if output is not None:
            layers.append(_new_activation(output))
        self.sizes = [int(s) for s in sizes]
        self.activation = act_name
        self.output = output if isinstance(output, str) or output is None else getattr(output, "name", None)
        self.init = init
        self.dropout = float(dropout)
        super().__init__(layers, dtype=dtype)

    def get_config(self):
        cfg = super().get_config()
        cfg.update({"class": "MLP", "sizes": self.sizes, "activation": self.activation, "output": self.output,
                    "init": self.init if isinstance(self.init, str) else None, "dropout": self.dropout})
        return cfg

    def __repr__(self):
        return (f"MLP({self.sizes}, activation={self.activation!r}, output={self.output!r}, "
                f"dtype={self.dtype.name!r}, n_params={self.n_params})")


def _new_activation(a):
    if isinstance(a, Activation):
        import copy

        return copy.deepcopy(a)
    return activations.get(a)


def _layer_from_config(d):
    from . import initializers, layers as layers_mod

    if not isinstance(d, dict) or not isinstance(d.get("class"), str) or not isinstance(d.get("config", {}), dict):
        raise ValueError(f"a layer configuration must be a dict {{'class': str, 'config': dict}}, got {d!r}")
    cls_name, cfg = d["class"], dict(d.get("config", {}))
    if cls_name == "Dense":
        init = cfg.get("init")
        init = init if isinstance(init, str) and init in initializers.INITIALIZERS and init != "zeros" else "glorot"
        return layers_mod.Dense(cfg["in_features"], cfg["out_features"], init=init)
    if cls_name == "Dropout":
        return layers_mod.Dropout(cfg["p"])
    for cls in set(activations.ACTIVATIONS.values()):
        if cls.__name__ == cls_name:
            return cls(**cfg)  # the activations' arguments: LeakyReLU negative_slope, ELU alpha
    raise ValueError(f"unknown layer class {cls_name!r} in the model configuration")


def model_from_config(config: dict) -> Sequential:
    """Rebuild a Sequential or MLP from ``get_config()`` (fresh weights). Only known layer
    classes are accepted: a configuration never names code to run."""
    if not isinstance(config, dict) or "class" not in config:
        raise ValueError("a model configuration must be a dict with a 'class' key")
    if config["class"] == "MLP":
        model = MLP(config["sizes"], activation=config["activation"], output=config.get("output"),
                    init=config.get("init") or "glorot", dtype=config.get("dtype", "float32"),
                    dropout=config.get("dropout", 0.0))
        layer_cfgs = config.get("layers")
        if layer_cfgs is not None:
            if not isinstance(layer_cfgs, list) or [d.get("class") if isinstance(d, dict) else None
                                                    for d in layer_cfgs] != [type(la).__name__ for la in model.layers]:
                raise ValueError("the MLP configuration's 'layers' do not match its sizes, activation and output")
            # an activation built from an instance keeps its arguments (LeakyReLU(0.2)) only here
            for i, d in enumerate(layer_cfgs):
                if isinstance(model.layers[i], Activation) and d.get("config"):
                    model.layers[i] = _layer_from_config(d)
        return model
    if config["class"] == "Sequential":
        if not isinstance(config.get("layers"), list):
            raise ValueError("a Sequential configuration needs a list of 'layers'")
        return Sequential([_layer_from_config(d) for d in config["layers"]], dtype=config.get("dtype"))
    raise ValueError(f"unknown model class {config['class']!r}")
