"""Binary frames: what the page draws, packed for the WebSocket.

A binary message is::

    uint32 (little-endian)  n, the length of the JSON header
    n bytes                 the header, UTF-8 JSON, padded with spaces to a multiple of 4
    sections                the arrays the header's "sections" lists as [name, dtype, shape],
                            one after the other, each padded to a multiple of 4 bytes

dtypes are "u1" (uint8) and "f4" (float32, little-endian), as JavaScript's typed arrays
read them. The header's "type" says what the message is: "frame" (the state of a run, sent
newest-first) or "data" (a run's points, sent once per data set).

A frame's sections, all from one forward pass of the run's network over the view's
N x N grid (``data.grid``; row 0 at the top, x2 = +6), N = 100 as TF Playground's, or 50 for
a network whose pass over 100 x 100 points would cost more than ``MAX_FLOPS`` (the header's
"density"):

- ``boundary`` (u1, N x N): one output read as a byte, b = round(255 v) with v the
  probability of class 1 (binary), or (clip(y, -1, 1) + 1) / 2 (regression): b >= 128
  exactly when ``model.predict`` gives p >= 0.5, the class ``predict_classes`` gives;
- or for K > 2 classes, ``classes`` (u1, argmax of the probabilities) and ``confidence``
  (u1, 255 (p_max - 1/K) / (1 - 1/K));
- ``nodes`` (u1, n x N/5 x N/5): a thumbnail per input feature and hidden neuron, in the
  network's order: the 5 x 5 block means of its values clipped to [-1, 1], as bytes
  round(255 (v + 1) / 2) (TF Playground clips to [-1, 1] too);
- ``focus`` (u1, N x N): the same at full resolution for the node the page hovers;
- ``weights`` (f4): every Dense layer's W (row-major, n_in x n_out) then b, layer by layer;
- for a 1-D data set (``data.ONE_D``): ``fn`` (f4, FN_POINTS), the network's output along the
  x1 axis (x1 from -6 to 6, x2 = 0), and with one hidden layer ``fn_units`` (f4, units x
  FN_POINTS), each hidden unit's share of it, w_j a_j(x1) (the output is their sum plus the
  output bias, the header's "fn_bias"): the universal approximation theorem's sum, drawn.

A race's other runs ("lane1" ...) get lighter frames (``render(full=False)``): no neuron maps.
The header carries the run's live diagnostics too (``watch.header``).
"""

from __future__ import annotations

import json
import struct

import numpy as np

from ..backend import blas_threads
from ..layers import Dense
from . import watch
from .data import DENSITY, DOMAIN, ONE_D, features, grid

__all__ = ["encode", "decode", "Renderer", "data_message", "density", "MAX_FLOPS", "FN_POINTS", "fn_grid"]

FN_POINTS = 241  # the 1-D view's points along x1: every 0.05 from -6 to 6

_BLOCK = 5  # a thumbnail pixel is the mean of 5 x 5 grid points
MAX_FLOPS = 6e7  # of one pass over the 100 x 100 grid; a larger network is drawn on 50 x 50


def density(model) -> int:
    """The side of the grid a model's frames use: 100, or 50 when a pass over 100 x 100
    points costs more than MAX_FLOPS (2 per multiply-add).

    Parameters
    ----------
    model : Sequential
        The network; its Dense layers' weights count.

    Returns
    -------
    int
        The grid's side in pixels: DENSITY (100) or DENSITY // 2 (50).
    """
    flops = 2.0 * DENSITY**2 * sum(L.W.size for L in model.layers if isinstance(L, Dense))
    return DENSITY if flops <= MAX_FLOPS else DENSITY // 2


def encode(header: dict, sections=()) -> bytes:
    """Pack a header and [(name, array)] sections (uint8 or float32 arrays) into one message,
    in the layout of the module docstring.

    Parameters
    ----------
    header : dict
        JSON-ready fields (no NaN or infinity); ``encode`` adds "sections".
    sections : iterable of (str, ndarray), default ()
        Named arrays of dtype uint8 or float32, any shape (sent row-major, little-endian).

    Returns
    -------
    bytes
        The message, its length a multiple of 4.

    Raises
    ------
    KeyError
        For an array of another dtype.
    ValueError
        For a NaN or infinity in the header (``json.dumps(allow_nan=False)``).
    """
    arrays, specs = [], []
    for name, a in sections:
        a = np.ascontiguousarray(a)
        code = {np.dtype(np.uint8): "u1", np.dtype(np.float32): "f4"}[a.dtype]
        specs.append([name, code, list(a.shape)])
        arrays.append(a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes())
    head = json.dumps({**header, "sections": specs}, separators=(",", ":"), allow_nan=False).encode()
    head += b" " * (-len(head) % 4)
    parts = [struct.pack("<I", len(head)), head]
    for raw in arrays:
        parts += [raw, b"\0" * (-len(raw) % 4)]
    return b"".join(parts)


def decode(message: bytes):
    """(header, {name: array}) of a message made by ``encode`` (for tests and benchmarks).

    Parameters
    ----------
    message : bytes
        A message made by ``encode``.

    Returns
    -------
    header : dict
        The JSON header, its "sections" included.
    arrays : dict of str to ndarray
        Each section with the dtype and shape its header gives, read-only views of ``message``.
    """
    (n,) = struct.unpack_from("<I", message, 0)
    header = json.loads(message[4 : 4 + n])
    out, o = {}, 4 + n
    for name, code, shape in header["sections"]:
        dt = np.dtype(np.uint8 if code == "u1" else "<f4")
        size = int(np.prod(shape)) * dt.itemsize
        out[name] = np.frombuffer(message, dtype=dt, count=size // dt.itemsize, offset=o).reshape(shape)
        o += size + (-size % 4)
    return header, out


def _clean(v):
    """A float for JSON: NaN and infinities become None."""
    v = float(v)
    return v if np.isfinite(v) else None


def _to_byte(v):
    """Values in [0, 1] as bytes round(255 v); NaN as the middle."""
    return np.rint(np.clip(np.nan_to_num(v, nan=0.5), 0.0, 1.0) * 255).astype(np.uint8)


def data_message(run) -> bytes:
    """The run's points: train/test coordinates (f4, n x 2) and labels or targets (f4); for a 1-D
    data set, ``target`` (f4, FN_POINTS): the function to fit along x1 (``data.ONE_D``).

    Parameters
    ----------
    run : Run
        The run whose data to send.

    Returns
    -------
    bytes
        An ``encode`` message of type "data": sections ``train_x``, ``train_y``, ``test_x``,
        ``test_y`` (and ``target``), header fields run, version, classes, kind.
    """
    d, cfg = run.data, run.cfg
    header = {"type": "data", "run": run.id, "version": d.version, "classes": d.n_classes, "kind": run.kind}
    sections = [
        ("train_x", d.X_train.astype(np.float32)),
        ("train_y", d.y_train.astype(np.float32)),
        ("test_x", d.X_test.astype(np.float32)),
        ("test_y", d.y_test.astype(np.float32)),
    ]
    if cfg["problem"] == "regression" and cfg["regDataset"] in ONE_D:  # the function to fit, along x1
        sections.append(("target", ONE_D[cfg["regDataset"]](fn_grid()[:, 0]).astype(np.float32)))
    return encode(header, sections)


def _curve(run, limit=400) -> dict:
    c = run.curve
    n = len(c["epoch"])
    idx = np.unique(np.linspace(0, n - 1, min(n, limit)).round().astype(int)) if n else []
    return {k: [_clean(v[i]) if k != "epoch" else int(v[i]) for i in idx] for k, v in c.items()}


def fn_grid():
    """The 1-D view's points along the x1 axis, every 0.05 from -6 to 6.

    Returns
    -------
    ndarray of float64, shape (FN_POINTS, 2)
        Rows (x1, 0), FN_POINTS = 241.
    """
    return np.stack([np.linspace(-DOMAIN, DOMAIN, FN_POINTS), np.zeros(FN_POINTS)], axis=1)


class Renderer:
    """Draws frames of one run from a copy of its network (``view``), so that drawing never
    disturbs the buffers of the model being trained.

    Parameters
    ----------
    run : Run
        The run to draw; its grid of inputs (``density(run.model)`` per side) is computed once.
    """

    def __init__(self, run):
        self.run = run
        self.view = run.model.astype(run.model.dtype)
        self.density = density(run.model)
        self.thumb = self.density // _BLOCK
        self.G = features(grid(self.density), run.names).astype(run.model.dtype)
        self.frame = 0
        cfg = run.cfg
        self.one_d = cfg["problem"] == "regression" and cfg["regDataset"] in ONE_D
        self.F = features(fn_grid(), run.names).astype(run.model.dtype) if self.one_d else None

    def forward(self, X=None):
        """The view's output on the grid (or on the inputs X) and every hidden layer's values
        (post-activation), the view's weights first copied from the run's model.

        Parameters
        ----------
        X : ndarray, shape (m, n_features), optional
            Inputs (features already taken); default the grid's, m = density^2.

        Returns
        -------
        out : ndarray, shape (m, n_outputs)
            The network's output (probabilities, or the regression's value).
        hidden : list of ndarray
            Per hidden layer, its post-activation values, shape (m, width).
        """
        self.view.flat_params()[...] = self.run.model.flat_params()
        X, hidden = self.G if X is None else X, []
        first = True
        for layer in self.view.layers:
            if isinstance(layer, Dense):
                if not first:
                    hidden.append(X.copy())
                first = False
            X = layer.forward(X, False)
        return X, hidden

    def boundary(self, out):
        """The boundary sections of an output, as the module docstring describes them.

        Parameters
        ----------
        out : ndarray, shape (density^2, n_outputs)
            The network's output on the grid (``forward()``).

        Returns
        -------
        list of (str, ndarray of uint8)
            [("boundary", (density, density))] for binary and regression runs, else
            [("classes", ...), ("confidence", ...)], each (density, density).
        """
        kind, side = self.run.kind, (self.density, self.density)
        with np.errstate(all="ignore"):
            if kind == "binary":
                return [("boundary", _to_byte(out[:, 0]).reshape(side))]
            if kind == "regression":
                return [("boundary", _to_byte((np.clip(out[:, 0], -1, 1) + 1) / 2).reshape(side))]
            K = out.shape[1]
            conf = (out.max(axis=1) - 1.0 / K) / (1.0 - 1.0 / K)
            return [
                ("classes", np.nan_to_num(out, nan=0.0).argmax(axis=1).astype(np.uint8).reshape(side)),
                ("confidence", _to_byte(conf).reshape(side)),
            ]

    def one_d_sections(self):
        """The 1-D view's sections: the output along x1 and, for one hidden layer, each hidden
        unit's share w_j a_j(x1); and the output bias.

        Returns
        -------
        sections : list of (str, ndarray of float32)
            ("fn", shape (FN_POINTS,)) and, with one hidden layer, ("fn_units", shape
            (units, FN_POINTS)).
        bias : float
            The output unit's bias b (the output is sum_j w_j a_j(x1) + b).
        """
        out, hidden = self.forward(self.F)
        sections = [("fn", np.array(out[:, 0], dtype=np.float32))]
        last = [L for L in self.view.layers if isinstance(L, Dense)][-1]
        if len(hidden) == 1:
            sections.append(("fn_units", (hidden[0] * last.W[:, 0]).T.astype(np.float32)))
        return sections, float(last.b[0])

    def render(self, extra=None, focus=None, full=True) -> bytes:
        """A frame of the run's current state; ``focus`` = [layer, index] of a node to send at
        full resolution (layer 0: the input features). ``full=False``: no neuron maps.

        Parameters
        ----------
        extra : dict, optional
            Fields added to the header (last, so they win).
        focus : sequence of two int, optional
            [layer of nodes, index]; ignored when out of range.
        full : bool, default True
            Whether to send the ``nodes`` thumbnails (False for a race's other runs).

        Returns
        -------
        bytes
            An ``encode`` message of type "frame" (sections and header: the module docstring).
        """
        run = self.run
        with blas_threads(2.0 * self.density**2 * max(L.W.size for L in run.dense_layers())):
            out, hidden = self.forward()
        values = [self.G, *hidden]  # per layer of nodes: (DENSITY^2, width)
        sections = self.boundary(out)
        if full:
            with np.errstate(all="ignore"):
                V = np.clip(np.nan_to_num(np.concatenate(values, axis=1), nan=0.0), -1.0, 1.0)
                thumbs = V.reshape(self.thumb, _BLOCK, self.thumb, _BLOCK, -1).mean(axis=(1, 3))
            sections.append(("nodes", _to_byte((np.moveaxis(thumbs, -1, 0) + 1) / 2)))
        if focus is not None and 0 <= focus[0] < len(values) and 0 <= focus[1] < values[focus[0]].shape[1]:
            v = np.clip(np.nan_to_num(values[focus[0]][:, focus[1]], nan=0.0), -1, 1)
            sections.append(("focus", _to_byte((v + 1) / 2).reshape(self.density, self.density)))
        fn_bias = None
        if self.one_d:
            fn, fn_bias = self.one_d_sections()
            sections += fn
        dense = run.dense_layers()
        weights = np.concatenate([np.concatenate([L.W.ravel(), L.b]) for L in dense]).astype(np.float32)
        sections.append(("weights", weights))
        self.frame += 1
        m = run.metrics
        opt = run.trainer.optimizer
        header = {
            "type": "frame",
            "run": run.id,
            "frame": self.frame,
            "epoch": run.epoch,
            "batch": run.batch,
            "steps": opt.t,
            "status": run.status,
            "message": run.message,
            "lr": _clean(opt.last_lr),
            "train": {k: (_clean(v) if k != "confusion" else v) for k, v in m["train"].items()},
            "test": {k: (_clean(v) if k != "confusion" else v) for k, v in m["test"].items()},
            "curve": _curve(run),
            "ms_per_step": round(run.ms_per_step, 4),
            "thumb": self.thumb,
            "density": self.density,
            "data_version": run.data.version,
            "fn_bias": _clean(fn_bias) if fn_bias is not None else None,
            **watch.header(run),
            **(extra or {}),
        }
        return encode(header, sections)
