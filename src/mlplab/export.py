"""ONNX export of a model's prediction graph (``model.to_onnx(path)``).

The graph takes one input ``X`` of shape (N, n_inputs) in the model's dtype (float for
float32 models, double for float64) and returns ``model.predict(X)``. Each layer becomes:

    Dense       Y = MatMul(X, W) + b                          (W, b as initializers)
    Dropout     nothing (prediction is the identity)
    Identity    nothing
    Sigmoid     Sigmoid          Tanh        Tanh           ReLU      Relu
    Softmax     Softmax(axis=1)
    LeakyReLU   Max(z, slope * z)            (mlplab's own formula, exact for slope < 1)
    ELU         Where(z > 0, z, alpha * (Exp(Min(z, 0)) - 1))
    GELU        0.5 * z * (1 + Tanh(sqrt(2/pi) * (z + 0.044715 * z^3)))    (tanh approximation)
    Softplus    Where(z > 20, z, Log(1 + Exp(Min(z, 20))))   (torch's threshold, no overflow)

ELU, GELU and Softplus are spelled out with basic operators because opset 17 has no
tanh-approximate Gelu, ONNX's Softplus has no threshold (exp overflows for large z), and
onnxruntime implements Elu and Softplus for float only. Opset 17 with IR version 8 by
default: any onnxruntime since 1.13 runs the file.

``onnx`` is imported only when exporting: ``pip install 'mlplab[onnx]'`` (onnx and
onnxruntime).
"""

from __future__ import annotations

import os

import numpy as np

from . import activations as A
from ._validation import check_bool, check_instance, check_int, check_path, fail
from ._version import __version__
from .backend import to_numpy
from .io import atomic_open
from .layers import Dense, Dropout
from .model import Sequential

__all__ = ["to_onnx", "DEFAULT_OPSET"]

DEFAULT_OPSET = 17


def _onnx():
    try:
        import onnx
        from onnx import helper, numpy_helper
    except ImportError as e:
        raise ImportError(
            "ONNX export needs the 'onnx' package: pip install 'mlplab[onnx]' (installs onnx and onnxruntime)"
        ) from e
    return onnx, helper, numpy_helper


class _Graph:
    """Collects nodes and initializers with unique names."""

    def __init__(self, helper, numpy_helper, dtype):
        self.helper, self.numpy_helper = helper, numpy_helper
        self.dtype = np.dtype(dtype)
        self.nodes, self.inits = [], []
        self._n = 0

    def name(self, hint):
        self._n += 1
        return f"{hint}_{self._n}"

    def const(self, value, hint="c"):
        name = self.name(hint)
        arr = np.asarray(value, dtype=self.dtype)
        self.inits.append(self.numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    def op(self, op_type, inputs, hint=None, **attrs):
        out = self.name(hint or op_type.lower())
        self.nodes.append(self.helper.make_node(op_type, list(inputs), [out], name=out + "_node", **attrs))
        return out


def _layer(g, layer, x, i):
    """Append the nodes of one layer; return the name of its output."""
    if isinstance(layer, Dense):
        W = g.const(to_numpy(layer.W), f"W{i}")
        b = g.const(to_numpy(layer.b), f"b{i}")
        return g.op("Add", [g.op("MatMul", [x, W], f"XW{i}"), b], f"Z{i}")
    t = type(layer)
    if t in (Dropout, A.Identity):
        return x
    if t is A.Sigmoid:
        return g.op("Sigmoid", [x])
    if t is A.Tanh:
        return g.op("Tanh", [x])
    if t is A.ReLU:
        return g.op("Relu", [x])
    if t is A.Softmax:
        return g.op("Softmax", [x], axis=1)
    if t is A.LeakyReLU:
        return g.op("Max", [x, g.op("Mul", [x, g.const(layer.negative_slope, "slope")])], "leaky_relu")
    if t is A.ELU:
        zero = g.const(0.0, "zero")
        neg = g.op("Sub", [g.op("Exp", [g.op("Min", [x, zero])]), g.const(1.0, "one")])
        neg = g.op("Mul", [neg, g.const(layer.alpha, "alpha")])
        return g.op("Where", [g.op("Greater", [x, zero]), x, neg], "elu")
    if t is A.GELU:
        x3 = g.op("Mul", [g.op("Mul", [x, x]), x])
        u = g.op("Add", [x, g.op("Mul", [x3, g.const(A._GELU_C, "gelu_c")])])
        tanh = g.op("Tanh", [g.op("Mul", [u, g.const(A._GELU_K, "gelu_k")])])
        half_x = g.op("Mul", [x, g.const(0.5, "half")])
        return g.op("Mul", [half_x, g.op("Add", [tanh, g.const(1.0, "one")])], "gelu")
    if t is A.Softplus:
        thr = g.const(layer.threshold, "threshold")
        soft = g.op("Log", [g.op("Add", [g.op("Exp", [g.op("Min", [x, thr])]), g.const(1.0, "one")])])
        return g.op("Where", [g.op("Greater", [x, thr]), x, soft], "softplus")
    raise fail(
        f"model.layers[{i}]",
        "a built-in mlplab layer (only those have an ONNX export)",
        got=f"a {type(layer).__name__}",
    )


def to_onnx(model, path=None, *, opset=DEFAULT_OPSET, input_name="X", output_name="Y", binary_proba=False, doc=None):
    """The ONNX graph of ``model.predict``.

    Parameters
    ----------
    model : Sequential
        Of built-in layers only (those with an ONNX form above).
    path : str or path-like, optional
        Where to write the ``.onnx`` file. None returns the ``onnx.ModelProto`` instead.
    opset : int, default 17
        ONNX opset of the default domain (at least 13, for Softmax over one axis).
    input_name, output_name : str, default "X" and "Y"
        Names of the graph's input (N, n_inputs) and output (N, n_outputs).
    binary_proba : bool, default False
        For a model with one sigmoid output, output the two columns [1 - p, p] (what a
        scikit-learn classifier's ``predict_proba`` returns) instead of p.
    doc : str, optional
        The graph's doc string.

    Returns
    -------
    str or onnx.ModelProto
        ``path`` once written, or the model when ``path`` is None.

    Raises
    ------
    ImportError
        The ``onnx`` package is missing (``pip install 'mlplab[onnx]'``).
    ArgumentError
        A model that is not a Sequential or holds a layer without an ONNX form; empty
        names; an ``opset`` below 13 or above the installed onnx's; ``binary_proba`` for a
        model without one sigmoid output; an invalid ``path`` or ``doc``.
    OSError
        The file cannot be written.
    """
    check_instance("model", model, Sequential, "a mlplab Sequential or MLP")
    for nm, v in (("input_name", input_name), ("output_name", output_name)):
        if not isinstance(v, str) or not v:
            raise fail(nm, "a non-empty str", v)
    path = None if path is None else check_path("path", path)
    check_bool("binary_proba", binary_proba)
    if doc is not None:
        check_instance("doc", doc, str, "a str or None")
    onnx, helper, numpy_helper = _onnx()
    check_int("opset", opset, 13, onnx.defs.onnx_opset_version())  # 13: Softmax over one axis
    g = _Graph(helper, numpy_helper, model.dtype)
    x = input_name
    for i, layer in enumerate(model.layers):
        x = _layer(g, layer, x, i)
    n_out = model.n_outputs
    if binary_proba:
        if n_out != 1 or not isinstance(model.layers[-1], A.Sigmoid):
            raise fail("binary_proba", "False unless the model has one sigmoid output", binary_proba)
        x = g.op("Concat", [g.op("Sub", [g.const(1.0, "one"), x], "p0"), x], "proba", axis=1)
        n_out = 2
    # the output must be produced by a node: name it by an Identity at the end
    g.nodes.append(helper.make_node("Identity", [x], [output_name], name="output"))
    elem = helper.np_dtype_to_tensor_dtype(g.dtype)
    graph = helper.make_graph(
        g.nodes,
        "mlplab",
        [helper.make_tensor_value_info(input_name, elem, ["N", model.n_inputs])],
        [helper.make_tensor_value_info(output_name, elem, ["N", n_out])],
        initializer=g.inits,
        doc_string=doc or f"mlplab {type(model).__name__}: {model.n_inputs} inputs -> {n_out} outputs",
    )
    proto = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="mlplab", producer_version=__version__
    )
    # the oldest IR version that carries this opset, so older runtimes read the file too
    proto.ir_version = helper.find_min_ir_version_for(list(proto.opset_import))
    onnx.checker.check_model(proto)
    if path is None:
        return proto
    with atomic_open(path, "wb") as f:
        f.write(proto.SerializeToString())
    return os.fspath(path)
