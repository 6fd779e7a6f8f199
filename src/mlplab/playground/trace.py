"""Step-through backpropagation: one mini-batch update, every number of it the engine's own.

"step_batch" makes one update of every run (the race stays in step) on its next mini-batch and
records it (``Trace``); "inspect" then answers with the numbers of one neuron or one link of the
network, for the page to show beside the lecture's chain rule:

- the forward pass: the layer's input a^[l-1] (the previous activation, after dropout, or the
  input features), z = a^[l-1] W + b and a = f(z), per sample of the batch;
- the backward pass: delta = dJ/dz per sample, and for a hidden unit its factors dJ/da (the
  sum over the next layer, sum_k w_jk delta_k) and f'(z); dJ/dw = sum_n a_i^(n) delta_j^(n) and
  dJ/db = sum_n delta_j^(n) (J being the batch's mean loss, 1/n sits inside delta), plus the
  penalty's gradient (``regularizer.add_grad`` at the weights before the update) if any;
- the update: the optimizer's rule, its state for that parameter before and after (momentum
  buffer, Adam's averages ...), the gradient it used (after clipping), the learning rate, and
  the parameter before and after.

How the numbers are taken: just before the run's update, a copy of its network (``astype``:
the same weights and the same dropout generators) runs ``loss_and_grad`` on the same batch with
the same loss and penalty (the call ``Trainer.train_step`` makes), its layers' ``forward`` and
``backward`` wrapped to keep a copy of what each one gives and gets; the copy's
``flat_grads()`` is dJ/dtheta. Then the run makes its update (``train_step``) and the trace
reads the parameters, gradient and optimizer state after it. The per-sample numbers cover the
first ``ROWS`` samples of the batch; every sum is over the whole batch.
"""

from __future__ import annotations

import numpy as np

from ..activations import Activation
from ..errors import ArgumentError
from ..layers import Dense
from . import spec
from .protocol import REQUIRED, integer, message

__all__ = ["Trace", "ROWS"]

ROWS = 32  # samples of the batch whose per-sample numbers are sent


def _copy(a):
    return None if a is None else np.array(a, copy=True)


def _record(model, X, Y, loss, regularizer):
    """J of ``model.loss_and_grad`` on (X, Y), and per layer what its forward gave ("out") and
    its backward got ("dY") and gave ("dX")."""
    rec = [{} for _ in model.layers]
    for i, layer in enumerate(model.layers):

        def forward(A, training=False, i=i, f=layer.forward):
            out = f(A, training)
            rec[i]["out"] = _copy(out)
            return out

        def backward(dY, i=i, f=layer.backward):
            rec[i]["dY"] = _copy(dY)
            dX = f(dY)
            rec[i]["dX"] = _copy(dX)
            return dX

        layer.forward, layer.backward = forward, backward  # on this copy of the network only
    J = model.loss_and_grad(X, Y, loss, regularizer)
    return J, rec


class Trace:
    """One recorded update of ``run`` on the mini-batch (X, Y) (see the module docstring):
    made before the update (``run.on_batch``), completed by ``finish(run)`` after it.

    Parameters
    ----------
    run : Run
        The run, before its update; its network and optimizer state are copied, not changed.
    X : ndarray, shape (m, n_features)
        The mini-batch's inputs, as the network takes them.
    Y : ndarray, shape (m,) or (m, K)
        Its targets, as the loss takes them.
    """

    def __init__(self, run, X, Y):
        model, opt = run.model, run.trainer.optimizer
        self.run_id, self.epoch, self.batch = run.id, run.epoch, run.batch
        self.X, self.Y = _copy(X), _copy(Y)
        self.theta_before = _copy(model.flat_params())
        self.state_before = {k: _copy(v) for k, v in opt.state.items()}
        copy = model.astype(model.dtype)
        self.J, rec = _record(copy, X, Y, run.trainer.loss, run.trainer.regularizer)
        self.grad = _copy(copy.flat_grads())
        self.penalty = np.zeros_like(self.grad)  # the penalty's share of dJ/dtheta (0 without one)
        reg = run.trainer.regularizer
        if reg is not None:
            k = self.grad.size if reg.include_bias else model.n_weights
            reg.add_grad(self.theta_before[:k], self.penalty[:k])
        self.fused = copy._fused(run.trainer.loss)
        self.loss_name = type(run.trainer.loss).__name__
        self.layers = self._per_dense(copy, X, rec)
        self.slots = {}
        dense = [layer for layer in model.layers if isinstance(layer, Dense)]
        for layer, name, start, stop in model.param_slots:
            if isinstance(layer, Dense):
                self.slots[(dense.index(layer), name)] = (start, stop, getattr(layer, name).shape)

    def _per_dense(self, model, X, rec) -> list:
        """Per Dense layer: its input, z, delta; its activation's a, dJ/da and f'(z)."""
        out, layers = [], model.layers
        for i, layer in enumerate(layers):
            if not isinstance(layer, Dense):
                continue
            nxt = layers[i + 1] if i + 1 < len(layers) else None
            act = nxt if isinstance(nxt, Activation) else None
            entry = {
                "input": _copy(X) if i == 0 else rec[i - 1]["out"],
                "z": rec[i]["out"],
                "delta": rec[i]["dY"],
                "activation": "identity" if act is None else act.name,
                "a": rec[i]["out"] if act is None else rec[i + 1]["out"],
                "da": None,
                "fprime": None,
            }
            if act is not None and "dY" in rec[i + 1]:  # not the output activation a fused loss skips
                entry["da"] = rec[i + 1]["dY"]
                if act.name != "softmax":  # f'(z) from the engine's own derivative, f' . 1
                    entry["fprime"] = _copy(type(act).backward(act, np.ones_like(entry["a"])))
            out.append(entry)
        return out

    def finish(self, run):
        """Read the update the run made: parameters, gradient used, optimizer state, lr.

        Parameters
        ----------
        run : Run
            The run given to the constructor, after its update.
        """
        opt = run.trainer.optimizer
        self.theta_after = _copy(run.model.flat_params())
        self.g_used = _copy(run.model.flat_grads())  # the optimizer clips it in place
        self.state_after = {k: _copy(v) for k, v in opt.state.items()}
        self.lr, self.t = float(opt.last_lr), int(opt.t)
        self.status = run.status  # "diverged": no update was made
        self.optimizer = {"name": type(opt).__name__, **{k: v for k, v in opt.get_config().items() if k != "lr"}}
        if not isinstance(self.optimizer.get("lr"), (int, float)):
            self.optimizer.pop("lr", None)

    # -- what the page is sent -------------------------------------------------------------------
    def summary(self) -> dict:
        """The "trace" message: which update, J, the batch (X as the network takes it, Y).

        Returns
        -------
        dict
            JSON-ready: type "trace", run, epoch, batch, t (the optimizer's update count),
            J, status, lr, loss, fused, optimizer (name and hyper-parameters), rows, X, Y.
        """
        return {
            "type": "trace",
            "run": self.run_id,
            "epoch": self.epoch,
            "batch": self.batch,
            "t": self.t,
            "J": float(self.J),
            "status": self.status,
            "lr": self.lr,
            "loss": self.loss_name,
            "fused": self.fused,
            "optimizer": self.optimizer,
            "rows": int(self.X.shape[0]),
            "X": self.X.tolist(),
            "Y": self.Y.tolist(),
        }

    def _param(self, layer, name, index) -> dict:
        start, _, shape = self.slots[(layer, name)]
        k = start + int(np.ravel_multi_index(index, shape))
        return {
            "index": k,
            "grad": float(self.grad[k]),
            "penalty": float(self.penalty[k]),
            "g_used": float(self.g_used[k]),
            "before": float(self.theta_before[k]),
            "after": float(self.theta_after[k]),
            "update": float(self.theta_after[k] - self.theta_before[k]),
            "state_before": {s: float(v[k]) for s, v in self.state_before.items()},
            "state_after": {s: float(v[k]) for s, v in self.state_after.items()},
        }

    def inspect(self, layer, to, frm=None) -> dict:
        """The numbers of unit ``to`` of Dense layer ``layer`` (its bias) or, with ``frm``, of
        the weight from unit ``frm`` of the layer before: the "inspect" message.

        Parameters
        ----------
        layer : int
            Index among the network's Dense layers.
        to : int
            The unit of that layer (the weight's column).
        frm : int or None, default None
            The unit of the layer before, or input feature (the weight's row); None for the
            bias only.

        Returns
        -------
        dict
            JSON-ready: the unit's per-sample z, a, delta, dJ/da, f'(z) (first ``ROWS``
            samples), ``delta_sum`` (dJ/db before the penalty), ``bias`` and, with ``frm``,
            ``input`` and ``weight``: per parameter its gradient, penalty, gradient used,
            value before and after, update and optimizer state before and after.

        Raises
        ------
        ArgumentError
            For a layer, unit or input that the network does not have.
        """
        if layer >= len(self.layers):
            raise ArgumentError(f"inspect.layer must be a Dense layer 0 .. {len(self.layers) - 1}, got {layer}")
        L = self.layers[layer]
        if to >= L["z"].shape[1] or (frm is not None and frm >= L["input"].shape[1]):
            raise ArgumentError(f"inspect: no unit {to} (or input {frm}) in Dense layer {layer}")

        def col(a, j):
            return None if a is None else [float(v) for v in a[:ROWS, j]]

        out = {
            "type": "inspect",
            "run": self.run_id,
            "layer": layer,
            "to": to,
            "from": frm,
            "last": layer == len(self.layers) - 1,
            "activation": L["activation"],
            "z": col(L["z"], to),
            "a": col(L["a"], to),
            "delta": col(L["delta"], to),
            "da": col(L["da"], to),
            "fprime": col(L["fprime"], to),
            "delta_sum": float(L["delta"][:, to].sum(dtype=np.float64)),
            "bias": self._param(layer, "b", (to,)),
        }
        if frm is not None:
            out["input"] = col(L["input"], frm)
            out["weight"] = self._param(layer, "W", (frm, to))
        return out


@message("step_batch")
def step_batch(session, run):
    """One mini-batch update of every run, recorded; then pause. The handler of the
    "step_batch" message; answered with the run's ``Trace.summary()``.

    Parameters
    ----------
    session : Session
        The page's session; its ``traces`` ({run name: Trace}) are replaced.
    run : str
        The run whose trace to send.

    Raises
    ------
    ArgumentError
        When that run has ended (no update was made).
    """
    session.playing = False
    session.traces = {}
    for name, r in session.runs.items():
        if r.finished:
            continue
        recorded = []
        r.on_batch = lambda X, Y, r=r, recorded=recorded: recorded.append(Trace(r, X, Y))
        try:
            r.advance(1)
        finally:
            r.on_batch = None
        if recorded:
            recorded[0].finish(r)
            session.traces[name] = recorded[0]
    trace = session.traces.get(run)
    if trace is None:
        raise ArgumentError(f"step_batch: the run {run} has ended: reset it to step through it")
    session.outbox.send_json(**trace.summary())
    session.dirty = True


@message(
    "inspect",
    layer=(integer(0, spec.MAX_LAYERS), REQUIRED),
    to=(integer(0, spec.MAX_NEURONS - 1), REQUIRED),
    **{"from": (integer(0, spec.MAX_NEURONS - 1, optional=True), None)},
)
def inspect(session, run, layer, to, **kw):
    """The numbers of one neuron or link in the last recorded update of the run named: the
    handler of the "inspect" message, answered with ``Trace.inspect``.

    Parameters
    ----------
    session : Session
        The page's session.
    run : str
        The run named.
    layer, to : int
        As for ``Trace.inspect``.
    **kw
        ``from``: as ``frm`` of ``Trace.inspect``.

    Raises
    ------
    ArgumentError
        When no update of that run was recorded, or as ``Trace.inspect``.
    """
    trace = getattr(session, "traces", {}).get(run)
    if trace is None:
        raise ArgumentError("inspect: no update recorded yet: step one mini-batch first (step_batch)")
    session.outbox.send_json(**trace.inspect(layer, to, kw.get("from")))
