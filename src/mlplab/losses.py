"""Losses and the objective J of the lecture: the (weighted) mean of per-sample losses,

    J = sum_i w_i loss(p_i, y_i) / sum_i w_i       (w_i = 1 by default: J = 1/n sum_i loss_i)

``forward(P, Y, w)`` returns J and keeps what ``backward()`` needs; ``backward()`` returns
dJ/dP. Targets are prepared once per fit by ``prepare_targets`` into a 2-D float array the
shape of the model output (integer class labels become one-hot rows).

Two losses fuse with the output activation that precedes them, which is both exact and
stable: sigmoid + bce and softmax + cross_entropy. Their ``forward_logits(Z, P, Y, w)``
computes J from the pre-activation Z (log-sum-exp form, never log(0)) and
``backward_logits()`` returns dJ/dZ = w_i (p_i - y_i) / sum(w) directly (no division by p;
divided by k too for bce, the mean over its k outputs).

J is the lecture's objective (slide "Multi-layer perceptron training", step 2); each loss's
formula is torch's (torch.nn.MSELoss, L1Loss, HuberLoss, PoissonNLLLoss, BCELoss,
BCEWithLogitsLoss, CrossEntropyLoss, all with reduction="mean"), as each class says.
"""

from __future__ import annotations

import numpy as np

from . import activations
from ._validation import as_finite, as_numeric_array, check_real, fail, lookup
from .backend import dot, row_max, row_sum, vdot, xp

__all__ = ["Loss", "MSE", "MAE", "Huber", "Poisson", "BCE", "CrossEntropy", "LOSSES", "get"]


def _as_array(y, name="y"):
    """y as a NumPy array, as scikit-learn takes it (None and non-numbers refused, naming y)."""
    if y is None:
        raise fail(name, "an array of targets", y)
    return as_numeric_array(y, name)


class Loss:
    """Base class. Subclasses define ``_per_sample(P, Y)`` (loss per row, shape (n,)) and
    ``_grad(P, Y, dP)`` (d loss_i / dP_i, written into dP)."""

    name = "loss"
    #: name of the output activation this loss fuses with, if any
    fused_with: str | None = None
    #: whether the loss is for classification (accuracy makes sense)
    classification = False

    def __call__(self, P, Y, sample_weight=None) -> float:
        return self.forward(P, Y, sample_weight)

    _link_layer = None

    def link(self, Z):
        """(P, lse) for logits Z: P = f(Z) with f the activation this loss fuses with (softmax
        or sigmoid), and for softmax the row-wise log-sum-exp of Z. With it a loss applies to
        a linear output as torch's losses on logits do (``CrossEntropyLoss``,
        ``BCEWithLogitsLoss``): ``forward_logits(Z, P, Y)``, then ``backward_logits()``.

        Only for a loss with ``fused_with`` (bce, cross_entropy).

        Parameters
        ----------
        Z : ndarray of shape (n, k)
            Logits: a linear output layer's values.

        Returns
        -------
        P : ndarray of shape (n, k)
            sigmoid(Z) or softmax(Z), in a work buffer of the loss overwritten by the next
            call.
        lse : ndarray of shape (n,) or None
            log sum_k exp(z_ik) for softmax; None for sigmoid.
        """
        act = self._link_layer
        if act is None:
            act = self._link_layer = activations.get(self.fused_with)
        P = act.forward(Z)
        return P, getattr(act, "lse", None)

    def _scale(self, n, w, dtype):
        """Per-row weights w_i / sum(w), as a column (or the scalar 1/n)."""
        if w is None:
            return 1.0 / n
        return (w / w.sum()).astype(dtype, copy=False)[:, None]

    def forward(self, P, Y, sample_weight=None) -> float:
        """J = sum_i w_i loss(p_i, y_i) / sum_i w_i (the module's formula); keeps P, Y and the
        weights for ``backward``. No validation: the model validates and prepares its inputs.

        Parameters
        ----------
        P : ndarray of shape (n, k)
            The model's outputs (probabilities for bce and cross_entropy).
        Y : ndarray of shape (n, k)
            Targets as ``prepare_targets`` makes them, in P's dtype.
        sample_weight : ndarray of shape (n,), optional
            Weights w_i >= 0, not all 0; None for w_i = 1.

        Returns
        -------
        float
            J.
        """
        self.P, self.Y, self.w = P, Y, sample_weight
        losses = self._per_sample(P, Y)
        if sample_weight is None:
            return float(losses.mean())
        return float(xp.dot(losses, sample_weight) / sample_weight.sum())

    def backward(self):
        """dJ/dP of the last ``forward``: w_i d loss_i / dp_i / sum_i w_i (1/n for w = None).

        Returns
        -------
        ndarray of shape (n, k)
            A new array, in P's dtype.
        """
        P, Y = self.P, self.Y
        dP = xp.empty_like(P)
        self._grad(P, Y, dP)
        s = self._scale(P.shape[0], self.w, P.dtype)
        dP *= s
        return dP

    # fused output gradient; only losses with ``fused_with`` implement these
    def forward_logits(self, Z, P, Y, sample_weight=None, lse=None) -> float:
        """J computed from the pre-activation Z, in the stable form each fused loss gives (BCE,
        CrossEntropy); keeps P, Y and the weights for ``backward_logits``.

        Parameters
        ----------
        Z : ndarray of shape (n, k)
            Pre-activations (logits) of the output layer.
        P : ndarray of shape (n, k)
            f(Z), already computed (the output activation's, or ``link``'s).
        Y : ndarray of shape (n, k)
            Targets as ``prepare_targets`` makes them.
        sample_weight : ndarray of shape (n,), optional
            Weights w_i >= 0, not all 0; None for w_i = 1.
        lse : ndarray of shape (n,), optional
            log sum_k exp(z_ik), when the softmax layer kept it (computed here otherwise;
            unused by bce).

        Returns
        -------
        float
            J.
        """
        raise NotImplementedError

    def backward_logits(self, out=None):
        """dJ/dZ = w_i (p_i - y_i) / sum(w) (also divided by k for bce, the mean over its k
        outputs), for the fused pairs, after ``forward_logits``.

        Parameters
        ----------
        out : ndarray of shape (n, k), optional
            Where to write dJ/dZ; a new array if None.

        Returns
        -------
        ndarray of shape (n, k)
            dJ/dZ, the lecture's delta of the output layer (``out`` when given).
        """
        P, Y = self.P, self.Y
        dZ = xp.subtract(P, Y, out=out)
        dZ *= self._scale(P.shape[0], self.w, P.dtype)
        if self.fused_with == "sigmoid":
            dZ *= 1.0 / P.shape[1]  # bce is the mean over the outputs of a row
        return dZ

    def prepare_targets(self, y, n_outputs: int, dtype, name="y") -> np.ndarray:
        """Validate ``y`` and return it as a float array of shape (n, n_outputs).

        Parameters
        ----------
        y : array-like of shape (n,) or (n, n_outputs)
            Targets, as scikit-learn's ``check_array`` takes them (lists, any real dtype,
            pandas). For cross_entropy, integer class labels (n,) become one-hot rows.
        n_outputs : int
            The model's output width k.
        dtype : numpy dtype
            The model's dtype.
        name : str, default "y"
            The argument's name in error messages.

        Returns
        -------
        ndarray of shape (n, n_outputs)
            C-contiguous, of ``dtype``.

        Raises
        ------
        ArgumentError
            Targets that are None or cannot be an array, of more than 2 dimensions, of
            another width than the model output, not numeric, holding NaN or infinity or
            values beyond ``dtype``'s range; for poisson a negative count, for bce a value
            outside [0, 1], for cross_entropy a label outside 0..k-1, a non-integer label
            or a negative value in a row. The message names ``name``.
        """
        y = _as_array(y, name)
        given = y.shape
        if y.ndim == 1:
            y = y.reshape(-1, 1)
        if y.ndim != 2:
            raise fail(name, "1-D or 2-D", got=f"shape {given}")
        if y.shape[1] != n_outputs:
            # labels 0..k-1 given to a loss on values (mse after k outputs): name the loss they need
            labels = " (class labels 0..k-1 need loss='cross_entropy')" if len(given) == 1 and n_outputs > 1 else ""
            raise fail(name, f"of shape (n, {n_outputs}) to match the model output{labels}", got=f"shape {given}")
        if y.dtype.kind not in "biuf":
            raise fail(name, "real numbers", got=f"dtype {y.dtype}")
        return as_finite(y, dtype, name)

    def get_config(self) -> dict:
        """The constructor's arguments (``type(loss)(**loss.get_config())`` rebuilds it).

        Returns
        -------
        dict
            Argument name -> value (empty but for Huber's delta).
        """
        return {}

    def __repr__(self):
        return f"{type(self).__name__}()"


class MSE(Loss):
    """Mean squared error, mean over all elements (as torch.nn.MSELoss):

    loss_i = 1/k sum_j (p_ij - y_ij)^2,     d loss_i / dp_ij = 2 (p_ij - y_ij) / k
    """

    name = "mse"

    def _per_sample(self, P, Y):
        D = P - Y
        D *= D
        return row_sum(D) / D.shape[1]

    def _grad(self, P, Y, dP):
        xp.subtract(P, Y, out=dP)
        dP *= 2.0 / P.shape[1]


class MAE(Loss):
    """Mean absolute error (torch.nn.L1Loss): ``loss_i = 1/k sum_j |p_ij - y_ij|``,
    d loss_i / dp_ij = sign(p_ij - y_ij) / k (0 where p = y)."""

    name = "mae"

    def _per_sample(self, P, Y):
        return row_sum(xp.abs(P - Y)) / P.shape[1]

    def _grad(self, P, Y, dP):
        xp.subtract(P, Y, out=dP)
        xp.sign(dP, out=dP)
        dP *= 1.0 / P.shape[1]


class Huber(Loss):
    """Huber loss (torch.nn.HuberLoss).

    With d = p - y, the mean over the k outputs of::

        h(d) = d^2 / 2                    if |d| <= delta
             = delta (|d| - delta / 2)    otherwise
        h'(d) = clip(d, -delta, delta)

    Parameters
    ----------
    delta : float > 0, default 1.0
        Where the loss turns from quadratic to linear, in the targets' units.

    Raises
    ------
    ArgumentError
        ``delta`` <= 0 or not finite.
    """

    name = "huber"

    def __init__(self, delta: float = 1.0):
        self.delta = check_real("delta", delta, 0, low_open=True)

    def _per_sample(self, P, Y):
        A = xp.abs(P - Y)
        H = xp.where(A <= self.delta, 0.5 * A * A, self.delta * (A - 0.5 * self.delta))
        return row_sum(H) / H.shape[1]

    def _grad(self, P, Y, dP):
        xp.subtract(P, Y, out=dP)
        xp.clip(dP, -self.delta, self.delta, out=dP)
        dP *= 1.0 / P.shape[1]

    def get_config(self):
        return {"delta": self.delta}


class Poisson(Loss):
    """Poisson negative log-likelihood on log-rates (torch.nn.PoissonNLLLoss(log_input=True,
    full=False)), mean over the k outputs: the model's (linear) output z is the log of the
    rate, exp(z) the predicted count, and y >= 0 a count::

        loss_i = 1/k sum_j [ exp(z_ij) - y_ij z_ij ],     d loss_i / dz_ij = (exp(z_ij) - y_ij) / k

    The gradient is computed from z in one pass, exp(z) - y (the Poisson family's canonical
    link: the same p - y as the fused classification pairs, with p = exp(z) the rate).
    log(y!) (torch's ``full=True`` Stirling term) is left out, as torch's default: it does not
    depend on the model.
    """

    name = "poisson"

    def _per_sample(self, P, Y):
        L = xp.exp(P)
        L -= Y * P
        return row_sum(L) / L.shape[1]

    def _grad(self, P, Y, dP):
        xp.exp(P, out=dP)
        dP -= Y
        dP *= 1.0 / P.shape[1]

    def prepare_targets(self, y, n_outputs, dtype, name="y"):
        Y = super().prepare_targets(y, n_outputs, dtype, name)
        negative = Y < 0
        if negative.any():
            raise fail(name, "counts >= 0 for the poisson loss", got=f"the value {Y[negative][0]:g}")
        return Y


_LOG_FLOOR = -100.0  # torch.nn.BCELoss clamps log(p) at -100 too
# torch's BCELoss backward floors p (1 - p) at its EPSILON, 1e-12 rounded to float32
_BCE_EPS = float(np.float32(1e-12))


class BCE(Loss):
    """Binary cross-entropy on sigmoid outputs p = sigmoid(z), mean over the k outputs:

        loss_i = -1/k sum_j [ y_ij log p_ij + (1 - y_ij) log(1 - p_ij) ]

    After a sigmoid layer it is computed from z in the stable form of
    torch.nn.BCEWithLogitsLoss, ``max(z, 0) - z y + log(1 + exp(-|z|))``, and the gradient with
    respect to z is fused: (p - y) / k per row. On its own (no sigmoid before it), it
    equals torch.nn.BCELoss, with log clamped at -100.
    """

    name = "bce"
    fused_with = "sigmoid"
    classification = True

    def _per_sample(self, P, Y):
        lp = xp.maximum(xp.log(P), _LOG_FLOOR)
        l1p = xp.maximum(xp.log(1.0 - P), _LOG_FLOOR)
        return -row_sum(Y * lp + (1.0 - Y) * l1p) / P.shape[1]

    def forward(self, P, Y, sample_weight=None):
        with np.errstate(divide="ignore"):
            return super().forward(P, Y, sample_weight)

    def _grad(self, P, Y, dP):
        # as torch's BCELoss backward: (p - y) / max(p (1 - p), 1e-12)
        xp.subtract(P, Y, out=dP)
        dP /= xp.maximum(P * (1.0 - P), _BCE_EPS)
        dP *= 1.0 / P.shape[1]

    def forward_logits(self, Z, P, Y, sample_weight=None, lse=None):
        self.P, self.Y, self.w = P, Y, sample_weight
        L = xp.abs(Z)
        xp.negative(L, out=L)
        xp.exp(L, out=L)
        xp.log1p(L, out=L)
        L += xp.maximum(Z, 0.0)
        L -= Z * Y
        losses = row_sum(L) / L.shape[1]
        if sample_weight is None:
            return float(losses.mean())
        return float(xp.dot(losses, sample_weight) / sample_weight.sum())

    def prepare_targets(self, y, n_outputs, dtype, name="y"):
        Y = super().prepare_targets(y, n_outputs, dtype, name)
        outside = (Y < 0) | (Y > 1)
        if outside.any():
            raise fail(name, "in [0, 1] for the bce loss (labels 0/1 or probabilities)", got=f"{Y[outside][0]:g}")
        return Y


class CrossEntropy(Loss):
    """Categorical cross-entropy on softmax outputs p = softmax(z):

        loss_i = -sum_k y_ik log p_ik

    y is given as integer labels (n,) or as one-hot / probability rows (n, K). After a
    softmax layer it is computed from z as sum_k y_ik (logsumexp(z_i) - z_ik), exactly
    torch.nn.CrossEntropyLoss on the pre-softmax values, and the gradient with respect to z
    is fused: p_i - y_i per row (p_i sum_k y_ik - y_i for rows of y that do not sum to 1).
    """

    name = "cross_entropy"
    fused_with = "softmax"
    classification = True

    def _per_sample(self, P, Y):
        with np.errstate(divide="ignore"):
            lp = xp.maximum(xp.log(P), _LOG_FLOOR)
        return -row_sum(Y * lp)

    def _grad(self, P, Y, dP):
        xp.divide(Y, xp.maximum(P, np.finfo(P.dtype).tiny), out=dP)
        xp.negative(dP, out=dP)

    def forward_logits(self, Z, P, Y, sample_weight=None, lse=None):
        self.P, self.Y, self.w = P, Y, sample_weight
        if lse is None:
            m = row_max(Z)
            lse = xp.log(row_sum(xp.exp(Z - m[:, None]))) + m
        self.ysum = ysum = row_sum(Y)
        # sum_i sum_k y_ik (lse_i - z_ik) = lse . ysum - <Y, Z>
        if sample_weight is None:
            return float((dot(lse, ysum) - vdot(Y, Z)) / Z.shape[0])
        losses = lse * ysum - xp.einsum("ij,ij->i", Y, Z)
        return float(xp.dot(losses, sample_weight) / sample_weight.sum())

    def backward_logits(self, out=None):
        """dJ/dz_i = w_i (p_i sum_k y_ik - y_i) / sum(w): p_i - y_i for one-hot or probability
        rows, and still exact (as torch) for rows of y that do not sum to 1.

        Parameters
        ----------
        out : ndarray of shape (n, k), optional
            As for ``Loss.backward_logits``.

        Returns
        -------
        ndarray of shape (n, k)
            dJ/dZ, the output layer's delta (``out`` when given).
        """
        P, Y = self.P, self.Y
        dZ = xp.multiply(P, self.ysum[:, None], out=out)
        xp.subtract(dZ, Y, out=dZ)
        return xp.multiply(dZ, self._scale(P.shape[0], self.w, P.dtype), out=dZ)

    def prepare_targets(self, y, n_outputs, dtype, name="y"):
        y = _as_array(y, name)
        if y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1 and n_outputs > 1):
            y = y.reshape(-1)
            if y.dtype.kind == "f":
                if not np.isfinite(y).all():
                    raise fail(name, "finite", got="NaN or infinity")
                fractional = y != np.round(y)
                if fractional.any():
                    raise fail(
                        name,
                        "integer class labels or one-hot rows for the cross_entropy loss",
                        got=f"non-integer values such as {y[fractional][0]:g}",
                    )
            elif y.dtype.kind not in "iub":
                raise fail(name, "integer class labels", got=f"dtype {y.dtype}")
            labels = y.astype(np.int64)
            if labels.size and (labels.min() < 0 or labels.max() >= n_outputs):
                bad = labels[(labels < 0) | (labels >= n_outputs)][0]
                raise fail(
                    name, f"class labels 0..{n_outputs - 1} (the model has {n_outputs} classes)", got=f"label {bad}"
                )
            Y = np.zeros((labels.size, n_outputs), dtype=dtype)
            Y[np.arange(labels.size), labels] = 1.0
            return Y
        Y = super().prepare_targets(y, n_outputs, dtype, name)
        negative = Y < 0
        if negative.any():
            raise fail(name, "one-hot or probability rows (every value >= 0)", got=f"the value {Y[negative][0]:g}")
        return Y


LOSSES = {
    "mse": MSE,
    "mae": MAE,
    "huber": Huber,
    "poisson": Poisson,
    "bce": BCE,
    "binary_crossentropy": BCE,
    "cross_entropy": CrossEntropy,
    "categorical_crossentropy": CrossEntropy,
}


def get(loss) -> Loss:
    """A loss from a name ("mse") or a class; an instance is returned as is.

    Parameters
    ----------
    loss : str, Loss subclass or Loss
        A key of ``LOSSES`` (a new loss with its defaults), a class (built without
        arguments), or an instance.

    Returns
    -------
    Loss
        A new loss, or the instance given.

    Raises
    ------
    ArgumentError
        Anything else, naming ``loss`` and listing the valid names.
    """
    return lookup("loss", LOSSES, loss, base=Loss)
