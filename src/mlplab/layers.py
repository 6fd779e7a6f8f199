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
        """Make each parameter and its gradient the given arrays: ``params`` and ``grads`` map
        every name of ``param_names`` to a view into a model's flat buffers, which already
        holds the parameter's values. Done by ``Sequential`` only."""
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
        raise NotImplementedError

    def backward(self, dY):
        raise NotImplementedError

    def bound(self, b: float) -> float:
        """An upper bound of ``|output|`` in prediction when every ``|input| <= b``; inf when the
        layer cannot tell (the divergence guard then runs the network instead)."""
        return math.inf

    def output_size(self, n_in: int) -> int:
        """Width of this layer's output given the width of its input."""
        return n_in

    def get_config(self) -> dict:
        return {}

    def n_params(self) -> int:
        return int(sum(getattr(self, p).size for p in self.param_names))

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class Dense(Layer):
    """Fully connected layer: Z = X W + b.

    X has shape (n, in_features), W (in_features, out_features), b (out_features,).
    Backward, for dY = dJ/dZ:

        dW = X^T dY        db = sum_i dY_i        dX = dY W^T

    Parameters
    ----------
    in_features, out_features : int
        Widths n_in and n_out.
    init : str or callable, default "glorot"
        Weight initializer name (see ``mlplab.initializers``) or ``f(shape, rng, dtype)``.
        Biases start at zero.
    seed : int, Generator or None
        Seed of the initializer.
    dtype : "float32" (default) or "float64"
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
        """``|z_j| <= sum_i |x_i| |W_ij| + |b_j| <= b max_j sum_i |W_ij| + max_j |b_j|``."""
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

    Parameters
    ----------
    p : float in [0, 1)
        Probability of dropping a unit.
    seed : int, Generator or None
        Seed of the mask generator (``layer.rng``).
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
