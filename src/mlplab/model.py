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

import copy
import inspect

import numpy as np

from . import activations, losses, regularizers
from . import metrics as metrics_mod
from ._validation import (
    as_numeric_array,
    as_rng,
    check_callable,
    check_instance,
    check_int,
    check_list,
    check_memory,
    check_real,
    check_sample_weight,
    check_X,
    fail,
    unexpected_arguments,
)
from .activations import RELU_FAMILY, Activation
from .backend import as_dtype, is_sparse, xp
from .errors import DivergenceError
from .layers import Dense, Dropout, Layer
from .metrics import DEFAULT_METRICS

__all__ = ["Sequential", "MLP", "DivergenceError", "check_X", "DEFAULT_METRICS"]

_PREDICT_CHUNK = 8192  # rows per forward pass in predict: bounds the memory of big inputs


class Sequential:
    """A network as a list of layers applied in order.

    Parameters
    ----------
    layers : list of Layer
        e.g. ``[Dense(2, 16), ReLU(), Dense(16, 1), Sigmoid()]``; the first layer with
        parameters must be a Dense layer, and each layer's width must chain to the next.
    dtype : {"float32", "float64"}, optional
        Computation dtype; by default the dtype of the first Dense layer. The parameters
        are copied into the model's flat buffer in this dtype.
    seed : int >= 0, optional
        Seeds the shuffling of ``fit`` when it is given no seed (see ``run_rng``); None:
        fresh entropy at each ``fit``.

    Attributes
    ----------
    layers, dtype, n_inputs, n_outputs, n_params, n_weights (the weights' share of the flat buffer)
    history, optimizer
        The History and the optimizer of the last training run (``fit``, ``Trainer.fit``).
    stop_training, stop_reason
        A callback sets ``stop_training = True`` (and a ``stop_reason``) to end training after
        the current batch, as in Keras.

    Raises
    ------
    ArgumentError
        ``layers`` is not a non-empty list of Layer, its first layer with parameters is not
        Dense, two widths do not chain, or ``dtype`` or ``seed`` is invalid.
    """

    def __init__(self, layers, dtype=None, seed=None):
        layers = check_list("layers", layers, "a list of layers")
        if not layers:
            raise fail("layers", "a list of at least one layer", layers)
        for i, layer in enumerate(layers):
            check_instance(f"layers[{i}]", layer, Layer, "a mlplab Layer")
        dense = [layer for layer in layers if layer.param_names]
        if not dense or not isinstance(dense[0], Dense):
            raise fail(
                "layers",
                "a list whose first layer with parameters is a Dense layer (it fixes the input width)",
                got=f"{[type(layer).__name__ for layer in layers]}",
            )
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
        self.optimizer = self.history = None
        # fit's generator when fit is given no seed: the n-th run of a seeded model shuffles
        # alike in every process (SeedSequence children), an unseeded model draws fresh entropy
        self._run_seeds = None if seed is None else np.random.SeedSequence(check_int("seed", seed, 0))
        #: for a linear output: "softmax" or "sigmoid" once trained or evaluated with
        #: cross_entropy or bce on its logits (predict_proba and predict_classes apply it)
        self.logits = None
        self._bufs: dict = {}
        self._bind()

    # -- parameters in one buffer ----------------------------------------------------
    def _bind(self):
        """Copy every parameter into one flat buffer of the model's dtype (weights of every
        layer first, then biases: penalties act on theta[:n_weights]) and bind each layer
        to its views of it and of the gradient buffer."""
        slots = [(layer, name) for layer in self.layers for name in layer.param_names]
        slots.sort(key=lambda s: s[1] != "W")
        total = sum(getattr(layer, name).size for layer, name in slots)
        self._theta = xp.empty(total, dtype=self.dtype)
        self._grad = xp.zeros(total, dtype=self.dtype)
        self.n_weights = 0
        #: (layer, parameter name, start, stop) of each parameter array in the flat buffer
        self.param_slots = []
        views = {id(layer): ({}, {}) for layer in self.layers}
        o = 0
        for layer, name in slots:
            cur = getattr(layer, name)
            params, grads = views[id(layer)]
            params[name] = self._theta[o : o + cur.size].reshape(cur.shape)
            params[name][...] = cur
            grads[name] = self._grad[o : o + cur.size].reshape(cur.shape)
            self.param_slots.append((layer, name, o, o + cur.size))
            o += cur.size
            if name == "W":
                self.n_weights = o
        for layer in self.layers:
            layer.bind(*views[id(layer)])
        # layers before the first one with parameters need no backward pass at all
        self._first_param = next(i for i, layer in enumerate(self.layers) if layer.param_names)

    _UNPICKLED = ("_theta", "_grad", "_bufs", "_P", "param_slots")

    # pickling and copy.deepcopy: the layers' parameters arrive as separate arrays, so
    # bind them into a new flat buffer instead of keeping views of a buffer that is gone
    def __getstate__(self):
        return {k: v for k, v in self.__dict__.items() if k not in self._UNPICKLED}

    def __setstate__(self, state):
        self.__dict__.setdefault("logits", None)  # models pickled before these attributes existed
        self.__dict__.setdefault("_run_seeds", None)
        self.__dict__.update(state)
        self._bufs = {}
        self._bind()

    def run_rng(self) -> np.random.Generator:
        """The generator of a new training run (shuffling, augmentation) when it is given no
        seed: the next of a sequence derived from the model's seed, so that a seeded model's
        n-th ``fit`` shuffles the same way in every process; fresh entropy without a seed.

        Returns
        -------
        numpy.random.Generator
            From the n-th child of ``numpy.random.SeedSequence(seed)`` at the n-th call.
        """
        if self._run_seeds is None:
            return np.random.default_rng()
        return np.random.default_rng(self._run_seeds.spawn(1)[0])

    def astype(self, dtype) -> Sequential:
        """A copy of the network that computes in ``dtype``, its weights converted; the
        training state (history, optimizer) is not copied.

        Parameters
        ----------
        dtype : {"float32", "float64"}
            The copy's dtype.

        Returns
        -------
        Sequential
            Of the model's class (an MLP stays an MLP).

        Raises
        ------
        ArgumentError
            ``dtype`` is neither.
        """
        state = {k: v for k, v in self.__getstate__().items() if k not in ("history", "optimizer")}
        clone = type(self).__new__(type(self))
        clone.__dict__.update(copy.deepcopy(state))  # layers arrive unbound, in the old dtype
        clone.history = clone.optimizer = clone.stop_reason = None
        clone.stop_training = False
        clone.dtype = as_dtype(dtype)
        clone._bufs = {}
        clone._bind()
        return clone

    def flat_params(self):
        """All parameters as one 1-D array (weights of every layer, then biases): a view, not a copy.

        Returns
        -------
        ndarray of shape (n_params,)
            theta, the buffer itself: writing to it changes the model.
        """
        return self._theta

    def flat_grads(self):
        """All gradients, laid out as ``flat_params()``.

        Returns
        -------
        ndarray of shape (n_params,)
            dJ/dtheta of the last backward pass, the buffer itself.
        """
        return self._grad

    def params(self):
        """Parameter arrays in layer order ([W1, b1, W2, b2, ...]), views into the flat buffer.

        Returns
        -------
        list of ndarray
            W of shape (n_in, n_out) and b of shape (n_out,) for each Dense layer.
        """
        return [getattr(layer, n) for layer in self.layers for n in layer.param_names]

    def grads(self):
        """Gradient arrays in the order of ``params()`` ([dW1, db1, ...]).

        Returns
        -------
        list of ndarray
            Views into the flat gradient buffer, of the shapes of ``params()``.
        """
        return [getattr(layer, "d" + n) for layer in self.layers for n in layer.param_names]

    @property
    def n_params(self) -> int:
        """The number of parameters, the size of ``flat_params()``."""
        return int(self._theta.size)

    def get_weights(self):
        """A copy of the flat parameter buffer.

        Returns
        -------
        ndarray of shape (n_params,)
            Weights of every layer, then biases, in the model's dtype.
        """
        return self._theta.copy()

    def set_weights(self, weights):
        """Set every parameter from a flat array (``get_weights()``) or a list like ``params()``.

        Parameters
        ----------
        weights : array of shape (n_params,), or list of arrays
            A flat array is copied into the buffer; a list gives one array per parameter,
            of the shapes of ``params()``. Values are cast to the model's dtype.

        Raises
        ------
        ArgumentError
            A flat array of another shape or holding NaN or infinity; a list of another
            length or an array of another shape (a list is not checked for NaN).
        """
        if isinstance(weights, (list, tuple)):
            ps = self.params()
            if len(weights) != len(ps):
                raise fail("weights", f"a list of {len(ps)} arrays (as params())", got=f"{len(weights)} arrays")
            for i, (p, w) in enumerate(zip(ps, weights)):
                w = np.asarray(w)
                if w.shape != p.shape:
                    raise fail(f"weights[{i}]", f"of shape {p.shape}", got=f"shape {w.shape}")
                p[...] = w
            return
        w = np.asarray(weights)
        if w.shape != self._theta.shape:
            raise fail("weights", f"of shape {self._theta.shape} (as get_weights())", got=f"shape {w.shape}")
        if not np.isfinite(w).all():
            raise fail("weights", "finite", got="NaN or infinity")
        self._theta[...] = w

    # -- the four steps ----------------------------------------------------------------
    def _check_X(self, X, name="X"):
        X = check_X(X, self.n_inputs, self.dtype, name)
        if self._first_param and is_sparse(X):  # only a Dense layer's product takes a sparse X
            raise fail(name, "dense when the first layer is not Dense", got=f"a sparse {type(X).__name__}")
        return X

    def _forward(self, X, training):
        for layer in self.layers:
            X = layer.forward(X, training)
        return X

    def forward(self, X, training=False):
        """Forward pass: the network's output for X, shape (n, n_outputs).

        With ``training=True`` dropout is active and every layer keeps what ``backward``
        needs. Returns a new array.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n, n_inputs)
            Inputs (anything scikit-learn's ``check_array`` takes; NaN and infinity refused).
        training : bool, default False
            A training pass (dropout on).

        Returns
        -------
        ndarray of shape (n, n_outputs)
            The output A of the last layer, in the model's dtype.

        Raises
        ------
        ArgumentError
            X is not a finite 2-D real array of n_inputs columns.
        """
        return self._forward(self._check_X(X), training).copy()

    def backward(self, dY):
        """Back-propagate dY = dJ/d(output) from the last layer to the first.

        Leaves dW and db in every Dense layer (and in ``flat_grads()``) and returns
        dX = dJ/dX. Call after ``forward`` (``training=True`` for dropout). The lecture's
        backpropagation: each layer's delta from the next one's by the chain rule.

        Parameters
        ----------
        dY : array of shape (n, n_outputs)
            dJ/d(output), for the rows of the last ``forward``.

        Returns
        -------
        ndarray of shape (n, n_inputs)
            dJ/dX, a work buffer of the first layer (overwritten by the next backward pass).

        Raises
        ------
        ArgumentError
            dY is not a real array of shape (n, n_outputs).
        """
        dY = as_numeric_array(dY, "dY")
        if dY.dtype.kind not in "biuf":
            raise fail("dY", "an array of real numbers", got=f"dtype {dY.dtype}")
        dY = np.ascontiguousarray(dY, dtype=self.dtype)
        if dY.ndim != 2 or dY.shape[1] != self.n_outputs:
            raise fail("dY", f"of shape (n, {self.n_outputs})", got=f"shape {dY.shape}")
        # loss_and_grad turns dX off on the first layer with parameters, which need not be layers[0]
        self.layers[self._first_param].need_dx = True
        for layer in reversed(self.layers):
            dY = layer.backward(dY)
        return dY

    @property
    def output_activation(self) -> str:
        """The name of the output layer's activation; "identity" for a linear output."""
        last = self.layers[-1]
        return last.name if isinstance(last, Activation) else "identity"

    def _fused(self, loss) -> bool:
        """Whether the loss fuses with the output activation (softmax + cross_entropy, sigmoid +
        bce), computed from the pre-activation with the exact gradient p - y."""
        last = self.layers[-1]
        return loss.fused_with is not None and isinstance(last, Activation) and last.name == loss.fused_with

    def _forward_loss(self, X, Y, loss, sample_weight, training):
        """(J, P, body): the forward pass through ``body`` (the layers before the loss) and J.

        P is the output, or, for a loss on probabilities, the probabilities: through the
        output activation it fuses with, or (on a linear output, the outputs being logits)
        through that activation applied by the loss, as torch's losses on logits do."""
        layers = self.layers
        fused = self._fused(loss)
        body = layers[:-1] if fused else layers
        out = X
        for layer in body:
            out = layer.forward(out, training)
        if fused:
            P = layers[-1].forward(out, training)
            return loss.forward_logits(out, P, Y, sample_weight, getattr(layers[-1], "lse", None)), P, body
        if loss.fused_with is not None:  # logits: a linear output (checked by _resolve_loss)
            P, lse = loss.link(out)
            return loss.forward_logits(out, P, Y, sample_weight, lse), P, body
        return loss.forward(out, Y, sample_weight), out, body

    def _loss_and_grad(self, X, Y, loss, regularizer=None, sample_weight=None, training=True):
        """loss_and_grad on validated arrays: the training hot path."""
        layers = self.layers
        J, P, body = self._forward_loss(X, Y, loss, sample_weight, training)
        if loss.fused_with is not None:  # fused or on logits: dJ/dZ = w (p - y) / sum w
            dY = loss.backward_logits(out=self._buf("dZ", P.shape))
        else:
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
        Dropout is active, as in a training step. Steps 1-3 of the lecture.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n, n_inputs)
            Inputs.
        y : array-like
            Targets, as ``fit`` takes them.
        loss : str or Loss, optional
            Default: cross_entropy after softmax, bce after sigmoid; on a linear output whose
            values are logits (``logits``: trained with cross_entropy or bce), that loss;
            mse otherwise.
        regularizer : Regularizer or str, optional
            Penalty added to J (``mlplab.regularizers``).
        sample_weight : array-like of shape (n,), optional
            Weights w_i >= 0, not all 0.

        Returns
        -------
        float
            J.

        Raises
        ------
        ArgumentError
            An invalid X, y, loss (or one that does not fit the output layer),
            regularizer or sample_weight, named in the message.
        """
        loss = self._resolve_loss(loss)
        X, Y, sw = self._check_data(X, y, loss, sample_weight)
        return self._loss_and_grad(X, Y, loss, regularizers.get(regularizer), sw)

    def _check_data(self, X, y, loss, sample_weight, names=("X", "y", "sample_weight"), batch=False):
        """(X, Y, w) validated for this model: Y the loss's prepared targets. ``names`` are the
        three arguments' names in error messages; a ``batch``'s weights may all be zero."""
        X = self._check_X(X, names[0])
        Y = loss.prepare_targets(y, self.n_outputs, self.dtype, names[1])
        if Y.shape[0] != X.shape[0]:
            raise fail(names[1], f"of {X.shape[0]} samples, as many as {names[0]}", got=f"{Y.shape[0]} samples")
        return X, Y, check_sample_weight(sample_weight, X.shape[0], self.dtype, names[2], all_zero=batch)

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
            out[s : s + chunk] = self._forward(X[s : s + chunk], False)
        return out

    def predict(self, X, batch_size=None):
        """Network outputs for X, shape (n, n_outputs): probabilities after a sigmoid or
        softmax output, logits (or values) after a linear one. ``batch_size`` rows per pass
        (default 8192) bound the memory.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n, n_inputs)
            Inputs.
        batch_size : int >= 1, optional
            Rows per forward pass; None: 8192.

        Returns
        -------
        ndarray of shape (n, n_outputs)
            A new array, in the model's dtype.

        Raises
        ------
        ArgumentError
            An invalid X or batch_size.
        """
        if batch_size is not None:
            check_int("batch_size", batch_size, 1)
        return self._predict(self._check_X(X), batch_size)

    @property
    def probabilities(self) -> str | None:
        """How the outputs give class probabilities: "softmax" or "sigmoid" (the output
        activation, or, for a linear output trained or evaluated with cross_entropy or bce,
        the one applied to its logits), None for a regression model."""
        act = self.output_activation
        if act in ("softmax", "sigmoid"):
            return act
        return self.logits if act == "identity" else None

    @property
    def multilabel(self) -> bool:
        """Several sigmoid outputs: one yes/no label each."""
        return self.probabilities == "sigmoid" and self.n_outputs > 1

    def predict_proba(self, X, batch_size=None):
        """Class probabilities for X, shape (n, n_outputs), whatever the output layer: its
        softmax or sigmoid outputs, or those of the logits of a linear output trained with
        cross_entropy (softmax) or bce (sigmoid, one probability per unit).

        Parameters
        ----------
        X, batch_size : array-like or sparse matrix (n, n_inputs), and int >= 1 or None
            As for ``predict``.

        Returns
        -------
        ndarray of shape (n, n_outputs)
            Rows summing to 1 (softmax), or one probability per unit (sigmoid).

        Raises
        ------
        ArgumentError
            For a regression model (``probabilities`` is None), an invalid X or batch_size.
        """
        kind = self.probabilities
        if kind is None:
            raise fail(
                "the model",
                "a classifier (a softmax or sigmoid output, or a linear output trained with cross_entropy or bce)",
                got=f"output={self.output_activation!r}, untrained with a classification loss",
            )
        P = self.predict(X, batch_size)
        if self.output_activation == "identity":
            with np.errstate(over="ignore", under="ignore"):
                P = activations.get(kind).forward(P).copy()
        return P

    def predict_classes(self, X):
        """Predicted class per sample: argmax of the probabilities, or p >= 0.5 for one
        output (z >= 0 for a logit), and for each label of a multi-label output an (n, k)
        0/1 array. A regression model's outputs are read the same way.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n, n_inputs)
            Inputs.

        Returns
        -------
        ndarray of int64, shape (n,) or (n, n_outputs)
            Class indices; for a multi-label model, one 0/1 column per label.

        Raises
        ------
        ArgumentError
            An invalid X.
        """
        P = self.predict_proba(X) if self.probabilities is not None else self.predict(X)
        if self.multilabel:
            return (P >= 0.5).astype(np.int64)
        return metrics_mod.classes_from_outputs(P)

    def evaluate(self, X, y, loss=None, metrics=DEFAULT_METRICS, sample_weight=None):
        """Loss and metrics on (X, y), as a dict {"loss": ..., "accuracy": ...}.

        Prediction mode (no dropout), in chunks of 8192 rows; the loss is the data term J
        without any regularizer.

        Parameters
        ----------
        X, y, loss : as for ``loss_and_grad``
            Inputs (n, n_inputs), targets, and the loss (the default: the output layer's, or
            on logits the one they were trained with, as for ``fit``).
        metrics : sequence of (str or callable), default ("accuracy",)
            As in ``fit``; the default's accuracy is left out for a regression loss.
        sample_weight : array-like of shape (n,), optional
            Weights w_i of the loss (the metrics are unweighted).

        Returns
        -------
        dict
            "loss" -> J, and each metric's name -> its value (floats).

        Raises
        ------
        ArgumentError
            An invalid X, y, loss, metrics or sample_weight, named in the message.
        """
        loss = self._resolve_loss(loss)
        X, Y, sw = self._check_data(X, y, loss, sample_weight)
        return self._evaluate(X, Y, loss, self._resolve_metrics(metrics, loss), sw)

    def _evaluate(self, X, Y, loss, metric_fns, sw=None, prefix=""):
        n = X.shape[0]
        tot, P_all = 0.0, xp.empty((n, self.n_outputs), dtype=self.dtype)
        for s in range(0, n, _PREDICT_CHUNK):
            e = min(s + _PREDICT_CHUNK, n)
            w = None if sw is None else sw[s:e]
            J, P, _ = self._forward_loss(X[s:e], Y[s:e], loss, w, False)
            tot += J * ((e - s) if sw is None else float(w.sum()))
            P_all[s:e] = P
        res = {prefix + "loss": tot / (n if sw is None else float(sw.sum()))}
        for name, f in metric_fns.items():
            res[prefix + name] = f(P_all, Y)
        return res

    # -- training -------------------------------------------------------------------------
    def _resolve_loss(self, loss):
        """The loss object of ``loss`` (default: cross_entropy after softmax, bce after
        sigmoid, the logits' loss on a linear output that has one, mse otherwise), refused if
        it cannot apply to this output: a loss on class probabilities needs its own output
        activation or a linear output (logits, which this then records in ``logits``), and
        cross_entropy two units or more."""
        act = self.output_activation
        if loss is None:  # the output's own loss; on logits, the one they were trained with
            act = self.logits or act
            return losses.CrossEntropy() if act == "softmax" else losses.BCE() if act == "sigmoid" else losses.MSE()
        given, loss = loss, losses.get(loss)
        link = loss.fused_with
        if link is None:
            return loss
        many = self.n_outputs > 1
        if act not in (link, "identity") or (link == "softmax" and not many):
            fits = {
                "softmax": "cross_entropy" if many else "no classification loss (use 2 units, or sigmoid and bce)",
                "sigmoid": "bce",
                "identity": "cross_entropy or bce on its logits" if many else "bce on its logit",
            }
            output = "a linear output (output=None)" if act == "identity" else f"output={act!r}"
            raise fail(
                "loss",
                f"a loss that fits {output} with {self.n_outputs} unit(s): "
                f"{fits.get(act, 'no classification loss')}, or mse, mae, huber",
                given if isinstance(given, str) else loss.name,
            )
        if act == "identity":
            self.logits = link
        return loss

    def _resolve_metrics(self, metrics, loss):
        return metrics_mod.resolve(metrics, loss, self.multilabel)

    def fit(
        self,
        X,
        y,
        loss=None,
        optimizer=None,
        epochs=10,
        batch_size=32,
        shuffle=True,
        seed=None,
        validation_data=None,
        metrics=DEFAULT_METRICS,
        verbose=1,
        *,
        validation_split=0.0,
        callbacks=None,
        regularizer=None,
        augment=None,
        sample_weight=None,
        class_weight=None,
        initial_epoch=0,
        resume_from=None,
        allow_new_data=False,
        **unexpected,
    ):
        """Train by mini-batch gradient descent.

        For each epoch, the samples are shuffled (``shuffle=True``) and cut into batches; for
        each batch: forward pass, J, backward pass, ``optimizer.step(self)``.

        A facade over ``mlplab.training.Trainer``: ``Trainer(self, loss, optimizer, ...)``
        trains on ``ArraySource(X, y, batch_size, shuffle, ...)``.

        Parameters
        ----------
        X : array (n, n_inputs), or a batch source
            A ``mlplab.training.BatchSource`` (e.g. ``ChunkSource`` over a memmap) is trained
            on as it is: y is then None, and batch_size, shuffle, the weights and
            validation_split are the source's own (giving them here is an error).
        y : array or None
            Class labels (n,) or one-hot rows for cross_entropy; 0/1 labels for bce;
            targets (n,) or (n, n_outputs) for regression losses.
        loss : str or Loss, optional
            Default: cross_entropy after softmax, bce after sigmoid; on a linear output whose
            values are logits (``logits``: trained with cross_entropy or bce), that loss;
            mse otherwise.
        optimizer : Optimizer or name, optional
            Default ``optim.SGD(lr=0.1)``. A name uses that optimizer's defaults.
        epochs : int >= 0, default 10
            Passes over the training data (the last epoch is ``epochs - 1``, counting from 0).
        batch_size : int >= 1 or None, default 32
            Rows per mini-batch; None: full batch, the lecture's plain gradient descent (one
            step per epoch).
        shuffle : bool, default True
            Permute the rows at each epoch (by fit's generator).
        seed : int, optional
            Seeds shuffling and augmentation. By default: the model's seed (``MLP(...,
            seed=0)``) seeds them, so the same script gives the same weights in every process
            (the n-th fit of the model draws the n-th of a sequence derived from that seed);
            a model without a seed draws fresh entropy.
        validation_data : (X_val, y_val) or (X_val, y_val, w_val), optional
            Evaluated after each epoch (no dropout), logged as "val_loss" and "val_<metric>".
        metrics : sequence of (str or callable), default ("accuracy",)
            "accuracy" (classification), "mse", "mae", "r2", or ``f(P, Y) -> float``; the
            default's accuracy is left out for a regression loss.
        verbose : {0, 1, 2}, default 1
            1: a progress bar per epoch with the running loss (one line per epoch when the
            output is not a terminal); 2: a line per epoch; 0: silent.
        validation_split : float in [0, 1)
            Hold out this fraction (the last samples, before shuffling) for validation;
            ``validation_data``, when given, takes its place (as in Keras) and every sample trains.
        callbacks : list of Callback, optional
            Called at the start and end of training, of each epoch and of each batch
            (``mlplab.callbacks``).
        regularizer : Regularizer or name, optional
            Penalty added to J (``mlplab.regularizers``); History keeps "data_loss" too.
        augment : callable ``f(X_batch, rng) -> X_batch``, optional
            Applied to each training batch, with fit's seeded generator, never to validation
            data nor at predict time (``mlplab.augment``). Must return a new array of the
            batch's shape, not write to its input.
        sample_weight : array (n,), optional
            Weights w_i >= 0 of J = sum_i w_i loss_i / sum_i w_i.
        class_weight : dict {class: weight} or "balanced", optional
            Multiplies each sample's weight by its class's ("balanced": scikit-learn's
            n / (n_classes * count)).
        initial_epoch : int >= 0, default 0
            Epoch to start from (for resumed runs).
        resume_from : str or path-like, optional
            A full checkpoint (``ModelCheckpoint(save_full=True)``, ``Trainer.save_checkpoint``):
            restores the weights, the optimizer's state and current learning rate (the
            optimizer given must be of the saved class; None uses the saved one), the History
            so far, the shuffling and Dropout generators and the callbacks' states, and
            continues at the epoch after the saved one. With the same arguments, the result
            is bit for bit that of an uninterrupted run (details: ``Trainer.fit``).
        allow_new_data : bool, default False
            Resume on data other than the checkpoint's on purpose (else refused).
        **unexpected
            Refused: an argument fit does not take (``lr=``, ``epoch=``) raises
            ArgumentError saying where it belongs (the optimizer's) or which of fit's
            arguments it resembles.

        Returns
        -------
        History
            Per-epoch "loss", "val_loss", metrics and "lr"; why training stopped.

        Raises
        ------
        ArgumentError (a ValueError and a TypeError)
            For an invalid argument, named in the message, before training; also for data
            other than the checkpoint's with ``resume_from`` (unless ``allow_new_data``).
        DivergenceError
            When J becomes NaN or infinite, or the weights overflow (see ``Trainer.fit``):
            the model is back at its weights of the start of that epoch.
        ModelFileError
            ``resume_from`` is not a valid checkpoint (OSError if it cannot be opened).
        """
        from .training import FIT_HINTS, Trainer, as_source

        if unexpected:
            known = [p for p in inspect.signature(Sequential.fit).parameters if p not in ("self", "unexpected")]
            raise unexpected_arguments("fit", unexpected, known, FIT_HINTS)

        trainer = Trainer(
            self,
            loss,
            optimizer,
            regularizer=regularizer,
            metrics=metrics,
            callbacks=callbacks,
            augment=augment,
            verbose=verbose,
            seed=seed,
        )
        split = check_real("validation_split", validation_split, 0, 1, high_open=True)
        split = 0.0 if validation_data is not None else split  # validation_data wins, as in Keras
        source = as_source(
            X, y, batch_size, shuffle, sample_weight=sample_weight, class_weight=class_weight, validation_split=split
        )
        return trainer.fit(
            source,
            epochs,
            initial_epoch=initial_epoch,
            validation=validation_data,
            resume_from=resume_from,
            allow_new_data=allow_new_data,
        )

    # -- description ----------------------------------------------------------------------
    def summary(self, print_fn=print):
        """Print a table of the layers with their output width and parameter count, as
        Keras's ``summary`` does (``print_fn`` receives the table); with ``print_fn=None``,
        return the table as a string instead (``repr(model)`` also gives it).

        Parameters
        ----------
        print_fn : callable or None, default print
            Called once with the whole table (a str).

        Returns
        -------
        str or None
            The table when ``print_fn`` is None.

        Raises
        ------
        ArgumentError
            ``print_fn`` is neither callable nor None.
        """
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
        if print_fn is not None:
            check_callable("print_fn", print_fn, "a function of one str (print by default) or None")
        if print_fn is None:
            return "\n".join(out)
        print_fn("\n".join(out))

    def __repr__(self):
        return self.summary(print_fn=None)

    def get_config(self) -> dict:
        """The architecture as a JSON-serialisable dict (see ``from_config``); with "logits"
        when the linear output's values are logits (``logits``).

        Returns
        -------
        dict
            "class", "dtype", "layers" (each {"class": name, "config": layer.get_config()});
            an MLP adds its constructor's arguments.
        """
        cfg = {
            "class": "Sequential",
            "dtype": self.dtype.name,
            "layers": [{"class": type(layer).__name__, "config": layer.get_config()} for layer in self.layers],
        }
        if self.logits is not None:
            cfg["logits"] = self.logits
        return cfg

    @staticmethod
    def from_config(config: dict) -> Sequential:
        """Rebuild an architecture (with fresh weights) from ``get_config()``
        (``mlplab.schema.model_from_config``: only built-in layer classes).

        Parameters
        ----------
        config : dict
            As ``get_config()`` returns it.

        Returns
        -------
        Sequential or MLP
            As the configuration's "class" says, with new random weights (a custom
            initializer's name falls back to "glorot").

        Raises
        ------
        ArgumentError
            A configuration that is not a dict with a known "class", names an unknown layer
            class, or whose MLP layers do not match its sizes; an invalid value as the
            constructors refuse it. (A missing key can raise KeyError.)
        """
        from .schema import model_from_config

        return model_from_config(config)

    # -- files ----------------------------------------------------------------------------
    def save(self, path) -> str:
        """Write the architecture and weights to ``path`` (``mlplab.load`` reads it back;
        no pickle, atomic write). Returns ``path``. See ``mlplab.io``.

        Parameters
        ----------
        path : str or path-like
            The file to write (replaced if it exists); ``.mlp`` by convention.

        Returns
        -------
        str
            The path written (``path`` as a str).

        Raises
        ------
        ArgumentError
            A layer class that is not built into mlplab, a weight that is NaN or infinite, an
            invalid ``path`` (see ``mlplab.io.save``).
        OSError
            The file cannot be written.
        """
        from . import io

        return io.save(self, path)

    def to_onnx(self, path=None, **kwargs):
        """Export the prediction graph to ONNX (needs ``pip install 'mlplab[onnx]'``).

        Writes ``path`` and returns it, or returns the ``onnx.ModelProto`` when path is None.
        Keyword arguments go to ``mlplab.export.to_onnx``.

        Parameters
        ----------
        path : str or path-like, optional
            The ``.onnx`` file to write; None returns the ModelProto.
        **kwargs
            ``opset``, ``input_name``, ``output_name``, ``binary_proba``, ``doc``.

        Returns
        -------
        str or onnx.ModelProto
            ``path``, or the model when ``path`` is None.

        Raises
        ------
        ImportError
            The ``onnx`` package is missing.
        ArgumentError
            An invalid argument, or a layer without an ONNX export.
        """
        from . import export

        return export.to_onnx(self, path, **kwargs)


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
    init : str or callable, optional
        Weight initializer (``mlplab.initializers``); default "he" for the ReLU family
        (relu, leaky_relu, elu, gelu), "glorot" otherwise.
    dtype : {"float32", "float64"}, default "float32"
        Computation dtype.
    seed : int or numpy Generator, optional
        Seeds the initial weights, the dropout masks, and the shuffling of ``fit`` when it is
        given no seed of its own.
    dropout : float in [0, 1), default 0
        If > 0, a Dropout(dropout) layer after each hidden activation.

    Raises
    ------
    ArgumentError
        ``sizes`` is not a list of at least two positive ints, or describes a network larger
        than the machine's memory; an unknown ``activation``, ``output`` or ``init``; an
        invalid ``dtype``, ``seed`` or ``dropout``.
    """

    def __init__(self, sizes, activation="relu", output=None, init=None, dtype="float32", seed=None, dropout=0.0):
        what = "a list of positive int widths, input and output at least, e.g. [2, 16, 1]"
        sizes = check_list("sizes", sizes, what)
        if len(sizes) < 2 or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1 for s in sizes):
            raise fail("sizes", what, sizes)
        dtype = as_dtype(dtype)
        n_params = sum(int(a) * int(b) + int(b) for a, b in zip(sizes[:-1], sizes[1:]))
        check_memory("sizes", n_params, 8 + 2 * dtype.itemsize, "a network")  # as Dense counts
        dropout = check_real("dropout", dropout, 0, 1, high_open=True)  # also without hidden layers
        act_name = activation if isinstance(activation, str) else getattr(activation, "name", None)
        activations.get(activation)  # validates the name before building anything
        if output is not None:
            activations.get(output, "output")
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
        # a Generator as seed seeds the runs too, with a number drawn from it after the weights
        run_seed = int(rng.integers(2**63)) if isinstance(seed, np.random.Generator) else seed
        super().__init__(layers, dtype=dtype, seed=run_seed)

    def get_config(self):
        cfg = super().get_config()
        cfg.update(
            {
                "class": "MLP",
                "sizes": self.sizes,
                "activation": self.activation,
                "output": self.output,
                "init": self.init if isinstance(self.init, str) else None,
                "dropout": self.dropout,
            }
        )
        return cfg

    def __repr__(self):
        return (
            f"MLP({self.sizes}, activation={self.activation!r}, output={self.output!r}, "
            f"dtype={self.dtype.name!r}, n_params={self.n_params})"
        )


def _new_activation(a):
    if isinstance(a, Activation):
        return copy.deepcopy(a)
    return activations.get(a)
