"""The package's shape, read from its source with ``ast``: the module-level import graph is
acyclic and follows the order written in ``mlplab/__init__.py``'s docstring; no function imports
an mlplab module except a short allowlist of facades; no module holds more than 450 lines of
code (docstrings, comments and blank lines not counted); matplotlib is imported only by
plotting.py, and only when a plot is drawn.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

import pytest

import mlplab

PACKAGE = Path(mlplab.__file__).parent
MAX_CODE_LINES = 450

#: (module, function) pairs that may import an mlplab module when called: the model's facades,
#: which keep model.py below the training loop, the files, their schema and the ONNX export
FACADES = {
    ("model", "Sequential.fit"),
    ("model", "Sequential.save"),
    ("model", "Sequential.to_onnx"),
    ("model", "Sequential.from_config"),
}


#: subpackages, each one unit of the order (its modules import each other freely)
SUBPACKAGES = ("lab", "playground")


def _modules() -> dict[str, Path]:
    """Module name (as the docstring's order writes it) -> source file; each subpackage is one unit."""
    out = {p.stem: p for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    for sub in SUBPACKAGES:
        for p in (PACKAGE / sub).glob("*.py"):
            out[sub if p.stem == "__init__" else f"{sub}.{p.stem}"] = p
    return out


def _unit(name: str) -> str:
    return name.split(".")[0]


MODULES = _modules()


def _order() -> list[str]:
    doc = mlplab.__doc__
    m = re.search(r"in this order[^:]*:\s*\n\n(.*?)\n\n", doc, re.S)
    assert m, "mlplab/__init__.py's docstring must write the module order after 'in this order ...:'"
    return [name.strip() for name in m.group(1).replace("\n", " ").split(",")]


def _mlplab_targets(node, module: str) -> list[str]:
    """The mlplab modules (units) an import statement in ``module`` names."""
    parts = module.split(".")
    package = ["mlplab", *parts[:-1]] if "." in module else ["mlplab"]
    if module in SUBPACKAGES:  # lab/__init__.py is the package lab itself
        package = ["mlplab", module]
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names if a.name == "mlplab" or a.name.startswith("mlplab.")]
        return [_unit(n.split(".", 1)[1]) if "." in n else "mlplab" for n in names]
    if node.level == 0:
        if not (node.module or "").startswith("mlplab"):
            return []
        base = node.module.split(".")
    else:
        base = package[: len(package) - (node.level - 1)] + (node.module.split(".") if node.module else [])
    if len(base) > 1:
        return [_unit(".".join(base[1:]))]
    # "from . import a, b" at the package's top: each name is a module
    return [_unit(a.name) for a in node.names]


def _imports(module: str):
    """(module-level imports, function-level imports) of ``module``, each a list of
    (importing function or None, imported unit)."""
    tree = ast.parse(MODULES[module].read_text())
    top, local = [], []

    def visit(node, qualname, in_function):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                for target in _mlplab_targets(child, module):
                    (local if in_function else top).append((".".join(qualname) or None, target))
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                visit(child, [*qualname, child.name], True)
            elif isinstance(child, ast.ClassDef):  # a class body runs when its module is imported
                visit(child, [*qualname, child.name], in_function)
            else:
                visit(child, qualname, in_function)

    visit(tree, [], False)
    return top, local


def test_the_order_names_every_module_once():
    order = _order()
    assert len(order) == len(set(order)), "a module appears twice in the order"
    units = {_unit(m) for m in MODULES}
    assert set(order) == units, f"missing from the order: {units - set(order)}; not modules: {set(order) - units}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_module_level_imports_follow_the_order(module):
    order = _order()
    rank = {name: i for i, name in enumerate(order)}
    top, _ = _imports(module)
    for _, target in top:
        if target in ("mlplab", _unit(module)):
            assert target != "mlplab", f"{module} imports the package mlplab itself"
            continue  # a subpackage's modules use each other (lab's use the helpers of lab/__init__.py)
        assert rank[target] < rank[_unit(module)], (
            f"{module} imports {target} at module level, but {target} comes after it in the order"
        )


def test_the_module_level_import_graph_is_acyclic():
    graph = {}
    for module in MODULES:
        graph.setdefault(_unit(module), set()).update(
            t for _, t in _imports(module)[0] if t not in (_unit(module), "mlplab")
        )
    done, stack = set(), []

    def visit(node):
        if node in stack:
            raise AssertionError(f"import cycle: {' -> '.join(stack[stack.index(node) :] + [node])}")
        if node in done:
            return
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            visit(nxt)
        stack.pop()
        done.add(node)

    for node in sorted(graph):
        visit(node)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_function_local_mlplab_imports_outside_the_facades(module):
    _, local = _imports(module)
    offending = [(f, t) for f, t in local if (module, f) not in FACADES]
    assert not offending, f"{module} imports mlplab modules inside functions: {offending}"


def test_the_facades_exist_and_model_never_imports_callbacks_or_training_at_module_level():
    _, local = _imports("model")
    assert {("model", f) for f, _ in local} == FACADES
    top, _ = _imports("model")
    assert not {t for _, t in top} & {"callbacks", "training", "io", "export"}


def _code_lines(path: Path) -> int:
    src = path.read_text()
    docs = set()
    for node in ast.walk(ast.parse(src)):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                docs.update(range(body[0].lineno, body[0].end_lineno + 1))
    lines = set()
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER}
    for tok in tokenize.generate_tokens(io.StringIO(src).readline):
        if tok.type not in skip:
            lines.update(line for line in range(tok.start[0], tok.end[0] + 1) if line not in docs)
    return len(lines)


def test_code_lines_counts_code_only(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        '"""Doc\nstring."""\n\n# a comment\nx = 1  # code\n\n\ndef f():\n    """Doc."""\n'
        "    return (x +\n            1)\n"
    )
    assert _code_lines(sample) == 4  # x = 1, def f():, and the two lines of the return


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_above_450_code_lines(module):
    n = _code_lines(MODULES[module])
    assert n <= MAX_CODE_LINES, f"{module} has {n} code lines (at most {MAX_CODE_LINES}): split it by concern"


def test_fit_is_a_short_facade():
    tree = ast.parse(MODULES["model"].read_text())
    seq = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Sequential")
    fit = next(n for n in seq.body if isinstance(n, ast.FunctionDef) and n.name == "fit")
    body = fit.body[1:]  # after the docstring
    assert body[-1].end_lineno - body[0].lineno + 1 < 40


def test_matplotlib_is_imported_only_by_plotting_and_only_inside_functions():
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            if any(n == "matplotlib" or n.startswith("matplotlib.") for n in names):
                assert module == "plotting", f"{module} imports matplotlib"
                assert node not in tree.body, "plotting imports matplotlib at module level"
