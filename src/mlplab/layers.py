"""Layers: the building blocks of a network, each with its own backward pass.

A layer's ``forward(X, training)`` keeps what its ``backward`` needs; ``backward(dY)``
returns dX = dJ/dX and fills the layer's own gradients (``dW``, ``db``). Output buffers
are allocated once per batch shape and reused, so a training step allocates nothing.
"""

from __future__ import annotations

import math

import numpy as np

from . import initializers
from ._validation import as_rng, check_int, check_memory, check_real, fail
from .backend import as_dtype, col_sum, matmul, xp

__all__ = ["Layer", "Dense", "Dropout"]


class _ParamSlot:
    """Attribute for a parameter (W) or its gradient (dW).

    Reading is plain attribute access (no ``__get__``: the instance dict answers), so the
    hot path pays nothing. Assigning to a parameter of a layer bound into a model's flat
    buffer copies into the view, so the buffer the optimizer updates stays the parameter.
    """

    def __init__(self, name):
        self.name = name

    def __set__(self, layer, value):
        cur = layer.__dict__.get(self.name)
        if cur is not None and layer._bound:
            value = np.asarray(value)
            if value.shape != cur.shape:
                raise fail(f"{type(layer).__name__}.{self.name}", f"of shape {cur.shape}", got=f"shape {value.shape}")
            cur[...] = value
        else:
            layer.__dict__[self.name] = value


class Layer:
    """Base class of every layer.

    Subclasses set ``param_names`` (e.g. ``("W", "b")``) and implement ``forward`` and
    ``backward``. Parameters named in ``param_names`` are plain attributes until a model
    binds them into its flat buffer (``bind``); from then on ``layer.W`` is a view into that
    buffer, and assigning ``layer.W = array`` copies into the view. ``unbind`` gives them
    arrays of their own again.
    """

    param_names: tuple[str, ...] = ()
    #: False on the first layer of a model, whose input gradient nobody needs.
    need_dx: bool = True

    _bound: bool = False

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        for name in cls.param_names:
            for attr in (name, "d" + name):
                if not isinstance(cls.__dict__.get(attr), _ParamSlot):
                    setattr(cls, attr, _ParamSlot(attr))

    def __init__(self):
        self._bufs: dict = {}

    #: what forward keeps for backward: not part of a pickled or copied layer
    _transient = frozenset({"X", "Z", "Y", "T", "lse", "mask", "_bufs"})

    def bind(self, params: dict, grads: dict) -> None:
        """Make each parameter and its gradient the given arrays. Done by ``Sequential`` only.

        Parameters
        ----------
        params : dict
            Each name of ``param_names`` -> a view into the model's flat parameter buffer,
            of the parameter's shape, already holding its values.
        grads : dict
            Each name of ``param_names`` -> the matching view into the gradient buffer.
        """
        for name in self.param_names:
            self.__dict__[name] = params[name]
            self.__dict__["d" + name] = grads[name]
        self._bound = True

    def unbind(self) -> None:
        """Give every parameter and gradient an array of its own again (a copy of its view)."""
        for name in self.param_names:
            for attr in (name, "d" + name):
                self.__dict__[attr] = self.__dict__[attr].copy()
        self._bound = False

    def __getstate__(self):
        state = {k: v for k, v in self.__dict__.items() if k not in self._transient}
        state["_bound"] = False  # the parameters travel as plain arrays; a model binds them again
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._bufs = {}

    def _buf(self, key, shape, dtype):
        """A reusable work array for ``key``; reallocated only when the shape or dtype
        (a numpy dtype instance) changes."""
        b = self._bufs.get(key)
        if b is None or b.shape != shape or b.dtype is not dtype:  # builtin dtypes are singletons
            b = xp.empty(shape, dtype=dtype)
            self._bufs[key] = b
        return b

    def forward(self, X, training: bool = False):
        """The layer's output for X: step 1 of the lecture, one layer at a time.

        Parameters
        ----------
        X : ndarray of shape (n, n_in)
            The layer's input, in the model's dtype (the first Dense layer also takes a
            SciPy CSR matrix).
        training : bool, default False
            A training step: keep what ``backward`` needs (and drop units, for Dropout).

        Returns
        -------
        ndarray of shape (n, n_out)
            A work buffer of the layer, overwritten by its next ``forward`` (copy it to keep
            it), or X itself for a layer that leaves its input as it is.
        """
        raise NotImplementedError

    def backward(self, dY):
        """Back-propagate through the layer by the chain rule (step 3 of the lecture): dX from dY,
        and the layer's own gradients (dW, db) for a layer with parameters. Call after
        ``forward(X, training=True)``.

        Parameters
        ----------
        dY : ndarray of shape (n, n_out)
            dJ/d(output) of this layer.

        Returns
        -------
        ndarray of shape (n, n_in) or None
            dX = dJ/dX, a work buffer of the layer (or dY itself for a layer that passes it
            on unchanged); None when ``need_dx`` is False (the model's first Dense layer).
        """
        raise NotImplementedError

    def bound(self, b: float) -> float:
        """An upper bound of ``|output|`` in prediction when every ``|input| <= b``; inf when the
        layer cannot tell (the divergence guard then runs the network instead).

        Parameters
        ----------
        b : float >= 0
            A bound of every ``|input|`` (the inputs' ``||X||_2`` for the first layer).

        Returns
        -------
        float
            A bound of every ``|output|``, or inf.
        """
        return math.inf

    def output_size(self, n_in: int) -> int:
        """Width of this layer's output given the width of its input.

        Parameters
        ----------
        n_in : int
            Width of the input (the previous layer's output).

        Returns
        -------
        int
            Width of the output (n_in for a layer without parameters).

        Raises
        ------
        ArgumentError
            ``n_in`` does not fit the layer (a Dense layer's ``in_features``).
        """
        return n_in

    def get_config(self) -> dict:
        """The constructor's arguments, as ``mlplab.io`` saves them.

        Returns
        -------
        dict
            Argument name -> JSON-serialisable value (empty for a layer without arguments).
        """
        return {}

    def n_params(self) -> int:
        """The number of parameters.

        Returns
        -------
        int
            Entries of every array in ``param_names`` (in_features * out_features +
            out_features for a Dense layer, 0 for the others).
        """
        return int(sum(getattr(self, p).size for p in self.param_names))

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class Dense(Layer):
    """Fully connected layer: Z = X W + b.

    X has shape (n, in_features), W (in_features, out_features), b (out_features,).
    Backward, for dY = dJ/dZ:

        dW = X^T dY        db = sum_i dY_i        dX = dY W^T

    The backward formulas are the lecture's chain rule (dz_j/dw_ij = x_i, dz/dh_j = w_j)
    for a batch, as torch.nn.Linear computes them (with W stored transposed there).

    Parameters
    ----------
    in_features, out_features : int >= 1
        Widths n_in and n_out.
    init : str or callable, default "glorot"
        Weight initializer name (see ``mlplab.initializers``) or ``f(shape, rng, dtype)``.
        Biases start at zero.
    seed : int, Generator or None, default None
        Seed of the initializer; None draws fresh entropy.
    dtype : {"float32", "float64"}, default "float32"
        Dtype of W and b.

    Raises
    ------
    ArgumentError
        A width below 1, a weight matrix larger than the machine's memory, an unknown
        ``init`` or one that does not give a finite real array of shape (n_in, n_out), a bad
        ``seed`` or ``dtype``.
    """

    param_names = ("W", "b")

    def __init__(self, in_features: int, out_features: int, init="glorot", seed=None, dtype="float32"):
        super().__init__()
        self.in_features = check_int("in_features", in_features, 1)
        self.out_features = check_int("out_features", out_features, 1)
        dtype = as_dtype(dtype)
        n = self.in_features * self.out_features
        # W and its gradient, and the initializer's float64 draw
        check_memory("in_features, out_features", n, 8 + 2 * dtype.itemsize, "a weight matrix")
        self.init = init
        init_fn = initializers.get(init)
        shape, rng = (self.in_features, self.out_features), as_rng(seed)
        try:
            W = np.asarray(init_fn(shape, rng, dtype))
            ok = W.shape == shape and W.dtype.kind in "biuf" and np.isfinite(W).all()
        except (TypeError, ValueError) as e:
            W, ok = e, False
        if not ok:
            got = (
                f"one giving {W!r:.60}"
                if not isinstance(W, np.ndarray)
                else f"one giving shape {W.shape}, dtype {W.dtype}"
            )
            raise fail("init", f"an initializer giving a finite real array of shape {shape}", got=got)
        self.W = xp.asarray(W, dtype=dtype)
        self.b = xp.zeros(self.out_features, dtype=dtype)
        self.dW = xp.zeros_like(self.W)
        self.db = xp.zeros_like(self.b)

    @property
    def dtype(self):
        """The dtype of W and b (the model's, once bound)."""
        return self.W.dtype

    def forward(self, X, training=False):
        self.X = X
        Z = self._buf("Z", (X.shape[0], self.out_features), self.W.dtype)
        matmul(X, self.W, Z)
        Z += self.b
        return Z

    def backward(self, dY):
        matmul(self.X.T, dY, self.dW)
        col_sum(dY, self.db)
        if not self.need_dx:
            return None
        dX = self._buf("dX", (dY.shape[0], self.in_features), dY.dtype)
        return matmul(dY, self.W.T, dX)

    def bound(self, b):
        """``|z_j| <= sum_i |x_i| |W_ij| + |b_j| <= b max_j sum_i |W_ij| + max_j |b_j|``.

        Parameters
        ----------
        b : float >= 0
            A bound of every ``|x_i|``.

        Returns
        -------
        float
            The bound of every ``|z_j|``.
        """
        return b * float(xp.abs(self.W).sum(axis=0).max()) + float(xp.abs(self.b).max())

    def output_size(self, n_in):
        if n_in != self.in_features:
            raise fail("Dense in_features", f"{n_in}, the width of the previous layer's output", self.in_features)
        return self.out_features

    def get_config(self):
        init = self.init if isinstance(self.init, str) else getattr(self.init, "__name__", "custom")
        return {"in_features": self.in_features, "out_features": self.out_features, "init": init}


class Dropout(Layer):
    """Inverted dropout: in training, Y = X * M / (1 - p) with M_ij ~ Bernoulli(1 - p).

    Each unit is zeroed with probability p and the survivors are scaled by 1/(1-p), so the
    expected output equals the input and prediction (training=False) is the identity.

    As torch.nn.Dropout (Srivastava et al., "Dropout: a simple way to prevent neural
    networks from overfitting", JMLR 2014, with the scaling moved to training time).

    Parameters
    ----------
    p : float in [0, 1), default 0.5
        Probability of dropping a unit.
    seed : int, Generator or None, default None
        Seed of the mask generator (``layer.rng``); None draws fresh entropy.

    Raises
    ------
    ArgumentError
        ``p`` outside [0, 1), or a bad ``seed``.
    """

    def __init__(self, p: float = 0.5, seed=None):
        super().__init__()
        self.p = check_real("p", p, 0, 1, high_open=True)
        self.rng = as_rng(seed)
        self.mask = None

    def forward(self, X, training=False):
        if not training or self.p == 0.0:
            self.mask = None
            return X
        M = self._buf("M", X.shape, X.dtype)
        keep = self.rng.random(X.shape, dtype=X.dtype) >= self.p
        xp.multiply(keep, 1.0 / (1.0 - self.p), out=M)
        self.mask = M
        Y = self._buf("Y", X.shape, X.dtype)
        return xp.multiply(X, M, out=Y)

    def backward(self, dY):
        if self.mask is None:
            return dY
        dX = self._buf("dX", dY.shape, dY.dtype)
        return xp.multiply(dY, self.mask, out=dX)

    def bound(self, b):
        return b  # the identity in prediction

    def get_config(self):
        return {"p": self.p}
