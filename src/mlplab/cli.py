"""The ``mlplab`` command.

mlplab train [--dataset digits] [--layers 128,64] [--epochs 30] ...   train and report test accuracy
mlplab lab [NAME] [--out DIR] [--quick] [--seed S] [NAME's options]  list or run an experiment
mlplab export MODEL.mlp MODEL.onnx [--opset 17]                      export a saved model to ONNX
mlplab lr-find [--dataset digits] [--optimizer sgd] [--out DIR] ...  suggest a learning rate
mlplab playground [--port 8000] [--host 127.0.0.1] [--no-browser]    the browser playground

``mlplab COMMAND --help`` and ``mlplab lab NAME --help`` describe every option and its default.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import sys
import time

from . import activations, datasets, io, lr_finder, optim
from . import export as export_mod
from . import lab as lab_mod
from ._version import __version__
from .errors import ArgumentError, DivergenceError
from .lab import NONNEGATIVE_FLOAT, NONNEGATIVE_INT, POSITIVE_FLOAT, POSITIVE_INT, arg_type
from .model import MLP
from .playground import server as playground_server
from .plotting import have_matplotlib, plot_history, plot_lr_find
from .regularizers import L2

__all__ = ["main", "build_parser"]

CLASSIFICATION = ("digits", "circle", "xor", "gaussian", "spiral", "moons", "iris", "wine", "breast_cancer")
REGRESSION = ("diabetes",)
#: activations that only make sense on the output layer (softmax couples a layer's units)
OUTPUT_ONLY = ("softmax",)
HIDDEN_ACTIVATIONS = tuple(name for name in activations.ACTIVATIONS if name not in OUTPUT_ONLY)

#: what ``mlplab train`` uses when an option is not given: classification, then regression
#: ("sgd_lr": --lr of --optimizer sgd; the other optimizers use their own default lr).
#: Regression (diabetes: 353 training rows, 10 features) overfits a wide net trained briefly
#: with SGD; a small net with Adam, an L2 penalty and more epochs matches a linear model.
DEFAULTS = {
    "classification": {"layers": [128, 64], "optimizer": "sgd", "epochs": 30, "weight_decay": 0.0, "sgd_lr": 0.05},
    "regression": {"layers": [16], "optimizer": "adam", "epochs": 300, "weight_decay": 0.1, "sgd_lr": 0.002},
}
SGD_MOMENTUM = 0.9


def _optimizer_lr(name):
    """The default learning rate of optimizer ``name`` (not sgd) with ``mlplab train``: its own."""
    return inspect.signature(optim.OPTIMIZERS[name]).parameters["lr"].default


def _layers(text):
    try:  # "" is no hidden layer; an empty piece (64,,32) is a typo, refused
        sizes = [int(s) for s in text.split(",")] if text.strip() else []
    except ValueError:
        raise argparse.ArgumentTypeError(f"--layers must be comma-separated ints like 64,32, got {text!r}") from None
    if any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError(f"--layers must hold positive widths, got {text!r}")
    return sizes


def _hidden_activation(text):
    if text in OUTPUT_ONLY:
        raise argparse.ArgumentTypeError(
            f"{text!r} is an output activation, not a hidden one (the classifiers' output layer already "
            f"uses softmax); choose from {', '.join(HIDDEN_ACTIVATIONS)}"
        )
    return text


def _folder(text):
    """An argparse ``type=`` for ``--out``: a folder, created if missing; an existing file is refused
    when the command line is read, before any training."""
    if os.path.exists(text) and not os.path.isdir(text):
        raise argparse.ArgumentTypeError(f"expected a folder (created if missing), got the existing file {text!r}")
    try:  # created now: a folder that cannot be made is said before the work, not after it
        os.makedirs(text, exist_ok=True)
    except OSError as e:
        raise argparse.ArgumentTypeError(f"cannot create the folder {text!r}: {e.strerror}") from None
    return text


def _load(name, seed):
    if name in ("circle", "xor", "gaussian", "spiral", "moons"):
        return datasets.load(name, n=1000, noise=0.1, seed=seed)
    return datasets.load(name)


def _fill_defaults(args):
    """Fill the options left at None with the defaults of the data set's task."""
    defaults = DEFAULTS["regression" if args.dataset in REGRESSION else "classification"]
    for key in ("layers", "optimizer", "epochs", "weight_decay"):
        if getattr(args, key) is None:
            setattr(args, key, defaults[key])
    if args.lr is None:
        args.lr = defaults["sgd_lr"] if args.optimizer == "sgd" else _optimizer_lr(args.optimizer)
    return args


def _prepare(args):
    """(model, optimizer, data) of ``mlplab train`` and ``mlplab lr-find``: the data set split
    (80/20), standardized as _TRAIN_EPILOG says, and the untrained model and optimizer."""
    from sklearn.preprocessing import StandardScaler

    X, y = _load(args.dataset, args.seed)
    regression = args.dataset in REGRESSION
    Xtr, Xte, ytr, yte = datasets.train_test_split(
        X, y, test_size=0.2, random_state=args.seed, stratify=None if regression else y
    )
    standardized = []
    if args.dataset != "digits":  # digits are already in [0, 1]
        scaler = StandardScaler().fit(Xtr)
        Xtr, Xte = scaler.transform(Xtr), scaler.transform(Xte)
        standardized.append("inputs")
    mu, sd = 0.0, 1.0
    if regression:  # trained on standardized targets, predictions mapped back to the data's units
        mu, sd = ytr.mean(), ytr.std()
        standardized.append("targets")
    n_out, output = (1, None) if regression else (int(y.max()) + 1, "softmax")
    model = MLP([X.shape[1], *args.layers, n_out], activation=args.activation, output=output, seed=args.seed)
    opt = optim.get(args.optimizer, lr=args.lr, **({"momentum": SGD_MOMENTUM} if args.optimizer == "sgd" else {}))
    ytr_fit = (ytr - mu) / sd if regression else ytr
    data = argparse.Namespace(Xtr=Xtr, Xte=Xte, ytr=ytr, yte=yte, ytr_fit=ytr_fit, mu=mu, sd=sd)
    return model, opt, data, standardized


def train(args) -> dict:
    import numpy as np

    args = _fill_defaults(argparse.Namespace(**vars(args)))
    regression = args.dataset in REGRESSION
    model, opt, d, standardized = _prepare(args)
    Xtr, Xte, ytr_fit, yte, mu, sd = d.Xtr, d.Xte, d.ytr_fit, d.yte, d.mu, d.sd
    n_out = model.n_outputs
    t0 = time.perf_counter()
    history = model.fit(
        Xtr,
        ytr_fit,
        optimizer=opt,
        epochs=args.epochs,
        batch_size=args.batch_size,
        seed=args.seed,
        regularizer=L2(args.weight_decay) if args.weight_decay > 0 else None,
        verbose=0 if args.json or args.quiet else 1,
    )
    seconds = time.perf_counter() - t0
    result = {
        "dataset": args.dataset,
        "layers": [model.n_inputs, *args.layers, n_out],
        "activation": args.activation,
        "optimizer": args.optimizer,
        "lr": args.lr,
        "weight_decay": args.weight_decay,
        "epochs": len(history.epoch),
        "batch_size": args.batch_size,
        "standardized": standardized,
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
    run = f"{result['dataset']}, {result['epochs']} epochs, {result['train_seconds']:.1f} s"
    if "test_accuracy" in result:
        print(f"test accuracy: {result['test_accuracy']:.4f}  ({run})")
    else:
        print(
            f"test R^2: {result['test_r2']:.4f}, RMSE {result['test_rmse']:.2f}  "
            f"({run}; trained on standardized {' and '.join(result['standardized'])})"
        )
    for k in ("loss_curve", "model_file"):
        if k in result:
            print(f"wrote {result[k]}")


def lab(args) -> int:
    if not args.name:
        print("experiments (mlplab lab NAME [--out DIR] [--quick] [--seed S]; mlplab lab NAME --help for its options):")
        listed = lab_mod.available()
        width = max(map(len, listed), default=0)
        for name, desc in listed.items():
            print(f"  {name:<{width}}  {desc}")
        return 0
    options = {dest: getattr(args, dest) for dest in args.lab_options}
    try:
        result, written = lab_mod.run_and_save(args.name, out=args.out, seed=args.seed, quick=args.quick, **options)
    except ArgumentError as e:
        args.lab_parser.error(str(e))
    print(lab_mod.get(args.name).table(result))
    for path in written.values():
        print(f"wrote {path}")
    if args.out and "png" not in written:
        print("(no figure: install matplotlib with pip install 'mlplab[plot]')")
    return 0


_INPUTS = (
    "Inputs are standardized (mean 0 and standard deviation 1 on the training split), except digits, "
    "already in [0, 1]. "
)
_TRAIN_EPILOG = _INPUTS + (
    "Regression (diabetes): the targets are standardized too for training and the "
    "predictions mapped back, so the test R^2 and RMSE are in the data's units. The test split is 20% "
    "(stratified for classification), drawn with --seed."
)
_LR_FIND_EPILOG = _INPUTS + (
    "The range test runs on the training split, 80% of the data (stratified for classification, "
    "drawn with --seed; regression targets standardized), as mlplab train would train on it."
)


def _add_setup(t):
    """The options that set up the data, the model and the optimizer (train and lr-find)."""
    c, r = DEFAULTS["classification"], DEFAULTS["regression"]
    t.add_argument(
        "--dataset",
        default="digits",
        choices=CLASSIFICATION + REGRESSION,
        help="data set; diabetes is regression, the others classification (default: %(default)s)",
    )
    t.add_argument(
        "--layers",
        type=_layers,
        default=None,
        metavar="WIDTHS",
        help=f"hidden widths, comma-separated, e.g. 64,32 (default: {','.join(map(str, c['layers']))}; "
        f"regression: {','.join(map(str, r['layers']))})",
    )
    t.add_argument(
        "--activation",
        type=_hidden_activation,
        default="relu",
        choices=HIDDEN_ACTIVATIONS,
        help="activation of the hidden layers; the output layer's is softmax for classification "
        "(an output activation, refused here) and none for regression (default: %(default)s)",
    )
    t.add_argument(
        "--optimizer",
        default=None,
        choices=sorted(optim.OPTIMIZERS),
        help=f"update rule, torch.optim's (default: {c['optimizer']}; regression: {r['optimizer']})",
    )
    t.add_argument("--batch-size", type=POSITIVE_INT, default=32, help="mini-batch size (default: %(default)s)")
    t.add_argument(
        "--weight-decay",
        type=NONNEGATIVE_FLOAT,
        default=None,
        metavar="LAMBDA",
        help=f"L2 penalty lambda/2 * sum of the squared weights, 0 for none "
        f"(default: {c['weight_decay']:g}; regression: {r['weight_decay']:g})",
    )
    t.add_argument(
        "--seed",
        type=NONNEGATIVE_INT,
        default=0,
        help="seeds the data, the split, the initial weights and the batch order (default: %(default)s)",
    )


def _add_train(sub):
    c, r = DEFAULTS["classification"], DEFAULTS["regression"]
    lrs = ", ".join(f"{name} {_optimizer_lr(name):g}" for name in sorted(optim.OPTIMIZERS) if name != "sgd")
    t = sub.add_parser(
        "train",
        help="train an MLP on a dataset and report its test accuracy (R^2 for regression)",
        description="Train an MLP on a dataset and report its test accuracy, or its test R^2 for regression.",
        epilog=_TRAIN_EPILOG,
    )
    _add_setup(t)
    t.add_argument(
        "--lr",
        type=POSITIVE_FLOAT,
        default=None,
        help=f"learning rate (default: {c['sgd_lr']:g} with sgd, which uses momentum {SGD_MOMENTUM:g}, "
        f"regression: {r['sgd_lr']:g}; the optimizer's own with the others: {lrs})",
    )
    t.add_argument(
        "--epochs",
        type=POSITIVE_INT,
        default=None,
        help=f"passes over the training split (default: {c['epochs']}; regression: {r['epochs']})",
    )
    t.add_argument(
        "--out",
        type=_folder,
        metavar="DIR",
        help="folder for the loss curve (PNG), the history and the model, created if missing (default: none)",
    )
    t.add_argument("--json", action="store_true", help="print one JSON object on stdout, no progress (default: text)")
    t.add_argument(
        "--quiet",
        action="store_true",
        help="no progress, only the result (default: a bar on a terminal, else a line per epoch)",
    )


def _add_lab(sub):
    la = sub.add_parser(
        "lab",
        help="list or run the experiments of the lecture",
        description="Run an experiment: print its table and, with --out DIR, write DIR/NAME.json and "
        "DIR/NAME.png. Without NAME, list the experiments.",
    )
    experiments = la.add_subparsers(dest="name", metavar="NAME", title="experiments")
    for name, desc in lab_mod.available().items():
        e = experiments.add_parser(
            name,
            help=desc,
            description=lab_mod.get(name).__doc__,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        mod = lab_mod.get(name)
        probe = argparse.ArgumentParser(add_help=False)  # which options are the experiment's own
        if hasattr(mod, "add_arguments"):
            mod.add_arguments(e)
            mod.add_arguments(probe)
        own = sorted(vars(probe.parse_args([])))
        common = e.add_argument_group("common options")
        common.add_argument(
            "--out",
            type=_folder,
            metavar="DIR",
            help=f"folder for {name}.json and {name}.png, created if missing (default none)",
        )
        common.add_argument("--seed", type=NONNEGATIVE_INT, default=0, help="random seed (default %(default)s)")
        common.add_argument("--quick", action="store_true", help="a small, fast version, for tests (default off)")
        e.set_defaults(lab_options=own, lab_parser=e)


def _add_lr_find(sub):
    f = sub.add_parser(
        "lr-find",
        help="suggest a learning rate by the range test (mlplab.lr_find) on a dataset",
        description="The learning-rate range test (mlplab.lr_find): train a copy of the model of mlplab train "
        "while the learning rate grows exponentially from --start-lr to --end-lr, and suggest a rate read from "
        "the smoothed loss; then train with mlplab train --lr RATE.",
        epilog=_LR_FIND_EPILOG,
    )
    _add_setup(f)
    f.add_argument("--start-lr", type=POSITIVE_FLOAT, default=1e-7, help="first rate (default: %(default)g)")
    f.add_argument("--end-lr", type=POSITIVE_FLOAT, default=10.0, help="last rate (default: %(default)g)")
    lo, hi = lr_finder.MIN_STEPS, lr_finder.MAX_STEPS  # lr_find's num_steps, said with --steps
    steps = arg_type(int, lambda v: lo <= v <= hi, f"a value in [{lo}, {hi}]")
    f.add_argument("--steps", type=steps, default=200, help="updates at most, 3 to 10^6 (default: %(default)s)")
    f.add_argument(
        "--rule", default="minimum", choices=sorted(lr_finder.RULES), help="rule of the suggestion (default: minimum)"
    )
    f.add_argument("--out", type=_folder, metavar="DIR", help="folder for lr_find.json and lr_find.png (default: none)")
    f.add_argument("--json", action="store_true", help="print one JSON object on stdout (default: text)")


def lr_find(args) -> int:
    if args.end_lr <= args.start_lr:  # said with the options' names, before any work
        print(
            f"mlplab lr-find: error: argument --end-lr: expected a value above --start-lr = {args.start_lr:g}, "
            f"got {args.end_lr:g}",
            file=sys.stderr,
        )
        return 2
    args = _fill_defaults(argparse.Namespace(epochs=None, lr=None, **vars(args)))
    model, opt, d, _ = _prepare(args)
    try:
        r = lr_finder.lr_find(
            model,
            d.Xtr,
            d.ytr_fit,
            optimizer=opt,
            start_lr=args.start_lr,
            end_lr=args.end_lr,
            num_steps=args.steps,
            batch_size=args.batch_size,
            rule=args.rule,
            regularizer=L2(args.weight_decay) if args.weight_decay > 0 else None,
            seed=args.seed,
        )
    except ArgumentError as e:
        print(f"mlplab lr-find: error: {e}", file=sys.stderr)
        return 2
    result = {"dataset": args.dataset, "layers": [model.n_inputs, *args.layers, model.n_outputs], **r.to_dict()}
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with io.atomic_open(os.path.join(args.out, "lr_find.json")) as fh:
            json.dump(result, fh, indent=1)
        if have_matplotlib():
            result["figure"] = plot_lr_find(
                r, os.path.join(args.out, "lr_find.png"), f"{args.dataset}: MLP {result['layers']}"
            )
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{args.dataset}: MLP {result['layers']}, {args.activation}, {r.optimizer_text}, batch {args.batch_size}")
    print(f"swept {len(r.lr)} updates from lr {r.lr[0]:.3g} to {r.lr[-1]:.3g}: {r.stop_reason}")
    for name, value in r.suggestions.items():
        mark = "  <- suggested" if name == r.rule else ""
        print(f"  {name:<9} {'-' if value is None else f'{value:.3g}':>9}   {lr_finder.RULES[name]}{mark}")
    if r.suggestion is not None:
        print(f"train with: mlplab train --dataset {args.dataset} --optimizer {args.optimizer} --lr {r.suggestion:.3g}")
    else:
        print(f"no suggestion: {r.no_suggestion}")
    if "figure" in result:
        print(f"wrote {result['figure']}")
    return 0


def build_parser():
    p = argparse.ArgumentParser(prog="mlplab", description="Build, train and understand multi-layer perceptrons.")
    p.add_argument("--version", action="version", version=f"mlplab {__version__}")
    sub = p.add_subparsers(dest="command")
    _add_train(sub)
    _add_lab(sub)
    _add_lr_find(sub)
    ex = sub.add_parser("export", help="export a saved model (model.save / --out) to ONNX")
    ex.add_argument("model", help="a model file written by model.save(path), e.g. model.mlp")
    ex.add_argument("onnx", help="the .onnx file to write")
    ex.add_argument("--opset", type=int, default=17, help="ONNX opset (default 17, at least 13)")
    pg = sub.add_parser(
        "playground",
        help="the browser playground: TF Playground's page, trained by mlplab",
        description="Serve the playground (TF Playground's page: data sets, features, controls, views and "
        "URL links) with the network trained live by mlplab, and open it in a browser.",
    )
    pg.add_argument("--port", type=NONNEGATIVE_INT, default=8000, help="port (default %(default)s; 0: any free one)")
    pg.add_argument("--host", default="127.0.0.1", help="address to listen on (default %(default)s: this machine only)")
    pg.add_argument("--no-browser", action="store_true", help="print the URL, do not open a browser")
    return p


def playground(args) -> int:
    try:
        return playground_server.serve(args.host, args.port, open_browser=not args.no_browser)
    except ImportError as e:  # fastapi / uvicorn missing: the extra is not installed
        print(f"mlplab playground: error: {e}", file=sys.stderr)
        return 2


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
    args = p.parse_args(argv)
    try:
        return _run(p, args)
    except DivergenceError as e:  # the model is left finite; the message says what to change
        print(f"mlplab {args.command}: error: {e}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # the reader of stdout left (mlplab ... | head): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as e:  # a file or folder that cannot be written
        print(f"mlplab {args.command}: error: {e}", file=sys.stderr)
        return 1


def _run(p, args) -> int:
    if args.command == "lab":
        return lab(args)
    if args.command == "export":
        return export(args)
    if args.command == "playground":
        return playground(args)
    if args.command == "lr-find":
        return lr_find(args)
    if args.command == "train":
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
