"""docs/lecture.md, the map of the lecture's slides: every test it names exists, every
experiment it names is registered, every API name it gives in ``ml.`` form exists."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import mlplab as ml
from mlplab import lab

ROOT = Path(__file__).parent.parent
DOC = (ROOT / "docs" / "lecture.md").read_text()


def _tests_named():
    """(file, test) pairs: `test_x.py::name`, and `::name` after it for the same file."""
    out, current = [], None
    for m in re.finditer(r"`(test_\w+\.py)?::(\w+)`", DOC):
        current = m.group(1) or current
        out.append((current, m.group(2)))
    return out


def test_every_test_it_names_exists():
    named = _tests_named()
    assert len(named) > 40
    for file, name in named:
        tree = ast.parse((ROOT / "tests" / file).read_text())
        functions = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
        assert name in functions, f"{file}::{name}"


def test_every_experiment_it_names_is_registered():
    named = set(re.findall(r"^\| [^|]+\| `([a-z-]+)`", DOC, re.M))
    assert {"capacity", "universal-approximation", "minibatch", "momentum", "schedules"} <= named
    assert named <= set(lab.available())


def test_every_api_name_it_gives_exists():
    for path in set(re.findall(r"`ml\.([A-Za-z_.]+[A-Za-z_])", DOC)):
        obj = ml
        for part in path.split("."):
            obj = getattr(obj, part)
