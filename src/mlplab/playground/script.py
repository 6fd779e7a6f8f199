"""Export: a run of the playground as the Python script that reproduces it, and its model file.

The script builds the same data (the generator with its seed, or the custom points written
out with every digit), the same network (``MLP`` or ``Sequential``, same seed), optimizer,
schedule, regularizer and early stopping, and trains with ``Trainer.fit`` for the run's
epochs, which gives bit for bit the page's weights (``run.py`` explains why); a weight edited
on the page between epochs is written as the same assignment between two ``fit`` calls. It
prints the losses of the whole training and test sets, the numbers the page shows.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile

from .. import activations, optim
from . import spec

__all__ = ["script", "model_file", "MODEL_FILE"]

MODEL_FILE = "playground_model.mlp"


def _r(v) -> str:
    """A value as Python source: floats with every digit (repr round-trips), strings in double
    quotes (ruff's style)."""
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, (list, tuple)):
        inner = ", ".join(_r(x) for x in v)
        return f"({inner})" if isinstance(v, tuple) else f"[{inner}]"
    return repr(v)


def _array(rows) -> str:
    return "np.array([\n" + "".join(f"    {_r(list(r))},\n" for r in rows) + "])"


def _data_lines(run) -> list:
    cfg, d = run.cfg, run.data
    if not d.custom:
        name = cfg["dataset"] if cfg["problem"] == "classification" else cfg["regDataset"]
        return [
            f"# TF Playground's {_r(name)}: {spec.n_points(cfg)} points, noise {cfg['noise']}% "
            f"(noise={cfg['noise'] / 100!r}), {cfg['percTrainData']}% for training",
            f"X, y = generate({_r(name)}, n={spec.n_points(cfg)}, noise={cfg['noise'] / 100!r}, seed=seed, "
            f"n_classes={spec.n_classes(cfg)})",
            f"X_train, y_train, X_test, y_test = split(X, y, perc_train={cfg['percTrainData']}, seed=seed)",
        ]
    X, y = d.pool
    lines = [
        "# the page's own points (uploaded or clicked), in TF Playground's units",
        f"X = {_array(X.tolist())}",
        f"y = np.array({_r(y.tolist())})",
        f"X_train, y_train, X_test, y_test = split(X, y, perc_train={cfg['percTrainData']}, seed=seed)",
    ]
    if d.added:
        lines += [
            "added = " + _array(d.added) + "  # points clicked on the page: (x1, x2, label), training points",
            "X_train = np.concatenate([X_train, added[:, :2]])",
            "y_train = np.concatenate([y_train, added[:, 2].astype(y_train.dtype)])",
        ]
    return lines


def _model_lines(run) -> list:
    cfg = run.cfg
    if run.imported:
        return ['model = ml.load("imported_model.mlp")  # the model file you imported on the page, renamed']
    k = run.data.n_classes
    out_units = 1 if k == 2 or cfg["problem"] == "regression" else k
    sizes = [len(run.names), *cfg["networkShape"], out_units]
    acts = ["identity" if a == "linear" else a for a in spec.layer_activations(cfg)]
    output = spec.output_activation(cfg, k)
    if len(set(acts)) <= 1:
        drop = f", dropout={cfg['dropout']!r}" if cfg["dropout"] else ""
        act = _r(acts[0] if acts else "tanh")
        return [f"model = ml.MLP({sizes}, activation={act}, output={_r(output)}, seed=seed{drop})"]
    lines = ["rng = np.random.default_rng(seed)  # draws every layer's initial weights, in order", "layers = ["]
    for i, act in enumerate([*acts, None]):
        init = "he" if act in activations.RELU_FAMILY else "glorot"
        row = f"    ml.Dense({sizes[i]}, {sizes[i + 1]}, init={_r(init)}, seed=rng),"
        if act is not None:
            row += f" ml.{type(activations.get(act)).__name__}(),"
            if cfg["dropout"]:
                row += f" ml.Dropout({cfg['dropout']!r}, seed=int(rng.integers(2**32))),"
        lines.append(row)
    if output is not None:
        lines.append(f"    ml.{type(activations.get(output)).__name__}(),")
    return [*lines, "]", "model = ml.Sequential(layers, seed=seed)"]


def _optimizer_lines(cfg) -> list:
    cls = optim.OPTIMIZERS[cfg["optimizer"]].__name__
    lr, lines = _r(cfg["learningRate"]), []
    if cfg["schedule"] != "none":
        args = ", ".join(f"{k}={_r(v)}" for k, v in spec.schedule_args(cfg).items())
        sched = type(spec.build_optimizer(cfg).lr).__name__
        first = "max_lr" if cfg["schedule"] == "onecycle" else "base_lr"
        lines.append(f'schedule = ml.schedules.{sched}({first}={lr}, {args}, interval="epoch")  # t counts epochs')
        lr = "schedule"
    params = "".join(f", {k}={_r(tuple(v) if k == 'betas' else v)}" for k, v in cfg["opt"].items() if v is not None)
    return [*lines, f"optimizer = ml.optim.{cls}(lr={lr}{params})"]


def _regularizer(cfg) -> str:
    kind, rate = cfg["regularization"], _r(cfg["regularizationRate"])
    return {
        "none": "None",
        "L1": f"ml.L1({rate})",
        "L2": f"ml.L2({rate})",
        "elasticnet": f"ml.ElasticNet({rate}, r={_r(cfg['l1Ratio'])})",
    }[kind]


def script(run) -> str:
    """The Python source that reproduces ``run`` up to its finished epochs.

    Parameters
    ----------
    run : Run
        The run; an epoch under way is not counted (``Run.finish_epoch`` first to include it).

    Returns
    -------
    str
        A script of mlplab calls (ruff-formatted style): the data, features, network,
        optimizer, regularizer, callbacks, ``Trainer.fit`` up to ``run.epoch`` (split around
        each weight edited on the page), then a print of the training and test losses. A run
        of an imported model loads it from "imported_model.mlp".
    """
    cfg = run.cfg
    Y = ("np.eye({k})[y_train]", "np.eye({k})[y_test]") if run.kind == "multiclass" and run.loss == "mse" else None
    callbacks = (
        f'[ml.callbacks.EarlyStopping(monitor="val_loss", patience={cfg["patience"]}, restore_best_weights=False)]'
        if cfg["patience"]
        else "[]"
    )
    lines = [
        '"""A run of the mlplab playground, written as the script that reproduces it.',
        "",
        "The same data, network, optimizer and epochs give, bit for bit, the weights the page had;",
        'the last line prints the losses the page showed. Run it with "python" where mlplab is installed.',
        '"""',
        "",
        "import numpy as np",
        "",
        "import mlplab as ml",
        "from mlplab.playground.data import features, generate, split",
        "",
        f"seed = {spec.seed_value(cfg['seed'])}  # the page's seed {_r(cfg['seed'])}: data, initial weights, shuffling",
        *_data_lines(run),
        f"names = {_r(run.names)}  # the input features (x: x1, y: x2, xSquared: x1^2, ...)",
        "F_train, F_test = features(X_train, names), features(X_test, names)",
    ]
    if Y:
        k = run.data.n_classes
        lines.append(f"Y_train, Y_test = {Y[0].format(k=k)}, {Y[1].format(k=k)}  # one-hot rows for the mse loss")
    else:
        lines.append("Y_train, Y_test = y_train, y_test")
    lines += [
        "",
        *_model_lines(run),
        *_optimizer_lines(cfg),
        f"regularizer = {_regularizer(cfg)}",
        f"callbacks = {callbacks}",
        f"trainer = ml.Trainer(model, {_r(run.loss)}, optimizer, regularizer=regularizer, callbacks=callbacks, "
        "verbose=0, seed=seed)",
        f"source = ml.ArraySource(F_train, Y_train, batch_size={run.batch_size})  # shuffled each epoch by trainer.rng",
    ]
    if run.edits:
        lines.append("dense = [layer for layer in model.layers if isinstance(layer, ml.Dense)]")
    start, first = 0, True
    for epoch, layer, row, col, value in run.edits:
        if first or epoch > start:
            lines.append(_fit(start, epoch))
            start, first = epoch, False
        target = f"dense[{layer}].b[{col}]" if row is None else f"dense[{layer}].W[{row}, {col}]"
        lines.append(f"{target} = {_r(value)}  # edited on the page after epoch {epoch}")
    lines.append(_fit(start, run.epoch))
    lines += [
        "",
        f'train_loss = model.evaluate(F_train, Y_train, loss={_r(run.loss)}, metrics=())["loss"]',
        f'test_loss = model.evaluate(F_test, Y_test, loss={_r(run.loss)}, metrics=())["loss"]',
        'print(f"epochs {len(history.epoch)}, train loss {train_loss:.6f}, test loss {test_loss:.6f}")',
        f'# model.save("{MODEL_FILE}")  # the model file the page exports',
        "",
    ]
    return "\n".join(lines)


def _fit(start, end) -> str:
    init = f", initial_epoch={start}" if start else ""
    return f"history = trainer.fit(source, epochs={end}{init}, validation=(F_test, Y_test))"


def model_file(model) -> str:
    """The model as an mlplab model file (``model.save``), base64-encoded.

    Parameters
    ----------
    model : Sequential
        The model to save (written to a temporary folder, then read back).

    Returns
    -------
    str
        The file's bytes in base64 (ASCII), for a JSON message.
    """
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, MODEL_FILE)
        model.save(path)
        with open(path, "rb") as f:
            return base64.b64encode(f.read()).decode()
