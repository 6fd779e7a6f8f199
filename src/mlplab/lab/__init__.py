"""Experiments that show the lecture's claims with numbers and figures.

Each experiment is one module here with:

- a module docstring whose first line describes it (shown by ``mlplab lab``);
- ``run(seed=0, quick=False, **options) -> dict``: the experiment, returning its numbers
  as JSON-serialisable data (no plotting, no printing);
- ``plot(result, path)``: draws the figure from that data (matplotlib imported there only);
- ``table(result) -> str``: the numbers as text;
- optionally ``add_arguments(parser)`` for experiment-specific command-line options, each
  with a help text that says its default, whose values reach ``run`` as keyword arguments.

``mlplab lab NAME --out DIR`` runs one, prints its table and writes NAME.json and NAME.png;
``mlplab lab NAME --help`` shows its options with the common --out, --seed and --quick.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import math
import os

from .._validation import fail
from ..io import atomic_open
from ..plotting import have_matplotlib

__all__ = [
    "EXPERIMENTS",
    "available",
    "get",
    "run_and_save",
    "arg_type",
    "POSITIVE_INT",
    "NONNEGATIVE_INT",
    "POSITIVE_FLOAT",
    "NONNEGATIVE_FLOAT",
    "json_number",
    "check_names",
    "names_arg",
]

#: command-line name -> module name in this package
EXPERIMENTS = {
    "optimizers": "optimizers",
    "early-stopping": "early_stopping",
    "weight-decay": "weight_decay",
    "augmentation": "augmentation",
    "dropout": "dropout",
    "activations": "activations",
    "playground": "playground",
    "capacity": "capacity",
    "universal-approximation": "universal_approximation",
    "minibatch": "minibatch",
    "momentum": "momentum",
    "schedules": "schedules",
}


def arg_type(kind, check=None, what="a value"):
    """An argparse ``type=``: ``kind(text)``, refused with a clear message unless
    ``check(value)`` holds (``what`` says what is expected, e.g. "an int >= 1")."""
    import argparse

    def parse(text):
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {kind.__name__}, got {text!r}") from None
        if check is not None and not check(v):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return v

    return parse


POSITIVE_INT = arg_type(int, lambda v: v > 0, "a value > 0")
NONNEGATIVE_INT = arg_type(int, lambda v: v >= 0, "a value >= 0")
POSITIVE_FLOAT = arg_type(float, lambda v: math.isfinite(v) and v > 0, "a value > 0")
NONNEGATIVE_FLOAT = arg_type(float, lambda v: math.isfinite(v) and v >= 0, "a value >= 0")


def check_names(name, value, allowed) -> list:
    """``value`` (a sequence, or a comma-separated str) as a list of distinct names from
    ``allowed``, at least one; else ArgumentError naming ``name``."""
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    try:
        names = list(value)
    except TypeError:
        names = None
    if not names or any(not isinstance(v, str) or v not in allowed for v in names) or len(set(names)) != len(names):
        raise fail(name, f"a non-empty list of distinct names from {list(allowed)}", value)
    return names


def names_arg(option, allowed):
    """An argparse ``type=`` for ``option``: comma-separated distinct names from ``allowed``."""
    import argparse

    def parse(text):
        try:
            return check_names(option, text, allowed)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{option} must be distinct names from {','.join(allowed)}, got {text!r}"
            ) from None

    return parse


def json_number(v):
    """``float(v)``, or None (JSON null) for NaN and infinity, which JSON cannot hold."""
    v = float(v)
    return v if math.isfinite(v) else None


def available() -> dict:
    """{name: one-line description} of the experiments installed."""
    out = {}
    for name, mod in EXPERIMENTS.items():
        if importlib.util.find_spec(f"{__name__}.{mod}") is not None:
            doc = (get(name).__doc__ or "").strip().splitlines()
            out[name] = doc[0] if doc else ""
    return out


def get(name):
    """The module of experiment ``name``."""
    if (
        not isinstance(name, str)
        or name not in EXPERIMENTS
        or importlib.util.find_spec(f"{__name__}.{EXPERIMENTS[name]}") is None
    ):
        raise fail("name", f"the name of an experiment, one of {sorted(available())}", name)
    return importlib.import_module(f"{__name__}.{EXPERIMENTS[name]}")


def run_and_save(name, out=None, seed=0, quick=False, **options) -> tuple[dict, dict]:
    """Run experiment ``name``; with ``out``, write ``out/NAME.json`` and, when matplotlib is
    installed, ``out/NAME.png``. Returns (result, {kind: path written}). An ``out`` that is an
    existing file is refused before the experiment runs."""
    mod = get(name)
    if out is not None and os.path.exists(out) and not os.path.isdir(out):
        raise fail("out", "a folder (created if missing), not an existing file", out)
    result = mod.run(seed=seed, quick=quick, **options)
    written = {}
    if out is not None:
        os.makedirs(out, exist_ok=True)
        path = os.path.join(out, f"{name}.json")
        with atomic_open(path) as f:
            json.dump(result, f, indent=1)
        written["json"] = path
        if have_matplotlib():
            written["png"] = mod.plot(result, os.path.join(out, f"{name}.png"))
    return result, written
