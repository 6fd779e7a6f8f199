"""The ``mlplab`` command.

mlplab train [--dataset digits] [--layers 128,64] [--epochs 30] ...   train and report test accuracy
mlplab lab [NAME] [--out DIR] [--quick] [--seed S]                   list or run an experiment
mlplab export MODEL.mlp MODEL.onnx [--opset 17]                      export a saved model to ONNX
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from . import activations, datasets, io, optim
from . import export as export_mod
from . import lab as lab_mod
from ._version import __version__
from .lab import POSITIVE_FLOAT, POSITIVE_INT
from .model import MLP
from .plotting import have_matplotlib, plot_history

__all__ = ["main"]

CLASSIFICATION = ("digits", "circle", "xor", "gaussian", "spiral", "moons", "iris", "wine", "breast_cancer")
REGRESSION = ("diabetes",)


def _layers(text):
    try:
        sizes = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--layers must be comma-separated ints like 64,32, got {text!r}") from None
    if any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError(f"--layers must hold positive widths, got {text!r}")
    return sizes


def _load(name, seed):
    if name in ("circle", "xor", "gaussian", "spiral", "moons"):
        return datasets.load(name, n=1000, noise=0.1, seed=seed)
    return datasets.load(name)


def train(args) -> dict:
    import numpy as np
    from sklearn.preprocessing import StandardScaler

    X, y = _load(args.dataset, args.seed)
    regression = args.dataset in REGRESSION
    Xtr, Xte, ytr, yte = datasets.train_test_split(
        X, y, test_size=0.2, random_state=args.seed, stratify=None if regression else y
    )
    if args.dataset != "digits":  # digits are already in [0, 1]
        scaler = StandardScaler().fit(Xtr)
        Xtr, Xte = scaler.transform(Xtr), scaler.transform(Xte)
    if regression:
        mu, sd = ytr.mean(), ytr.std()
        ytr_fit = (ytr - mu) / sd
        n_out, output = 1, None
    else:
        ytr_fit = ytr
        n_out, output = int(y.max()) + 1, "softmax"
    model = MLP([X.shape[1], *args.layers, n_out], activation=args.activation, output=output, seed=args.seed)
    opt = optim.get(args.optimizer, lr=args.lr, **({"momentum": 0.9} if args.optimizer == "sgd" else {}))
    t0 = time.perf_counter()
    history = model.fit(
        Xtr,
        ytr_fit,
        optimizer=opt,
        epochs=args.epochs,
        batch_size=args.batch_size,
        seed=args.seed,
        verbose=0 if args.json else 1,
    )
    seconds = time.perf_counter() - t0
    result = {
        "dataset": args.dataset,
        "layers": [X.shape[1], *args.layers, n_out],
        "activation": args.activation,
        "optimizer": args.optimizer,
        "lr": args.lr,
        "epochs": len(history.epoch),
        "batch_size": args.batch_size,
        "train_seconds": round(seconds, 3),
        "final_loss": history["loss"][-1],
    }
    if regression:
        pred = model.predict(Xte)[:, 0] * sd + mu
        result["test_r2"] = float(1 - ((yte - pred) ** 2).sum() / ((yte - yte.mean()) ** 2).sum())
        result["test_rmse"] = float(np.sqrt(((yte - pred) ** 2).mean()))
    else:
        result["test_accuracy"] = float((model.predict_classes(Xte) == yte).mean())
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with io.atomic_open(os.path.join(args.out, "history.json")) as f:
            json.dump(history.to_dict(), f, indent=1)
        if have_matplotlib():
            result["loss_curve"] = plot_history(
                history, os.path.join(args.out, "loss.png"), title=f"{args.dataset}: MLP {result['layers']}"
            )
        if hasattr(model, "save"):
            result["model_file"] = model.save(os.path.join(args.out, "model.mlp"))
    return result


def _print_train(result):
    if "test_accuracy" in result:
        print(
            f"test accuracy: {result['test_accuracy']:.4f}  ({result['dataset']}, {result['epochs']} epochs, "
            f"{result['train_seconds']:.1f} s)"
        )
    else:
        print(
            f"test R^2: {result['test_r2']:.4f}, RMSE {result['test_rmse']:.2f}  ({result['dataset']}, "
            f"{result['epochs']} epochs, {result['train_seconds']:.1f} s)"
        )
    for k in ("loss_curve", "model_file"):
        if k in result:
            print(f"wrote {result[k]}")


def lab(args, extra) -> int:
    if not args.name:
        print("experiments (mlplab lab NAME --out DIR [--quick] [--seed S]):")
        for name, desc in lab_mod.available().items():
            print(f"  {name:<16} {desc}")
        return 0
    mod = lab_mod.get(args.name)
    p = argparse.ArgumentParser(prog=f"mlplab lab {args.name}")
    if hasattr(mod, "add_arguments"):
        mod.add_arguments(p)
    options = vars(p.parse_args(extra))
    result, written = lab_mod.run_and_save(args.name, out=args.out, seed=args.seed, quick=args.quick, **options)
    print(mod.table(result))
    for path in written.values():
        print(f"wrote {path}")
    if args.out and "png" not in written:
        print("(no figure: install matplotlib with pip install 'mlplab[plot]')")
    return 0


def build_parser():
    p = argparse.ArgumentParser(prog="mlplab", description="Build, train and understand multi-layer perceptrons.")
    p.add_argument("--version", action="version", version=f"mlplab {__version__}")
    sub = p.add_subparsers(dest="command")
    t = sub.add_parser("train", help="train an MLP on a dataset and report its test accuracy")
    t.add_argument("--dataset", default="digits", choices=CLASSIFICATION + REGRESSION)
    t.add_argument("--layers", type=_layers, default=[128, 64], help="hidden widths, e.g. 64,32 (default 128,64)")
    t.add_argument("--activation", default="relu")
    t.add_argument("--optimizer", default="sgd", choices=sorted(optim.OPTIMIZERS))
    t.add_argument("--epochs", type=POSITIVE_INT, default=30)
    t.add_argument("--batch-size", type=POSITIVE_INT, default=32)
    t.add_argument("--lr", type=POSITIVE_FLOAT, default=0.05)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--out", help="folder for the loss curve (PNG), history and model")
    t.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    la = sub.add_parser("lab", help="list or run the experiments of the lecture")
    la.add_argument("name", nargs="?")
    la.add_argument("--out", help="folder for NAME.json and NAME.png")
    la.add_argument("--seed", type=int, default=0)
    la.add_argument("--quick", action="store_true", help="a small, fast version (for tests)")
    ex = sub.add_parser("export", help="export a saved model (model.save / --out) to ONNX")
    ex.add_argument("model", help="a model file written by model.save(path), e.g. model.mlp")
    ex.add_argument("onnx", help="the .onnx file to write")
    ex.add_argument("--opset", type=int, default=17, help="ONNX opset (default 17, at least 13)")
    return p


def export(args) -> int:
    try:
        model = io.load(args.model)
        export_mod.to_onnx(model, args.onnx, opset=args.opset)
    except (OSError, ImportError, ValueError, TypeError) as e:
        print(f"mlplab export: error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {args.onnx} ({type(model).__name__}, {model.n_inputs} inputs -> {model.n_outputs} outputs)")
    return 0


def main(argv=None) -> int:
    p = build_parser()
    args, extra = p.parse_known_args(argv)
    if args.command == "lab":
        try:
            return lab(args, extra)
        except ValueError as e:
            print(f"mlplab lab: error: {e}", file=sys.stderr)
            return 2
    if extra:
        p.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command == "export":
        return export(args)
    if args.command == "train":
        if args.activation not in activations.ACTIVATIONS:
            p.error(f"--activation must be one of {sorted(activations.ACTIVATIONS)}")
        result = train(args)
        if args.json:
            print(json.dumps(result))
        else:
            _print_train(result)
        return 0
    p.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
