"""The house rules, read from the code: layers import downwards only, no circles, no hidden local imports.

``docs/architecture.md`` explains the layers; this test is what keeps them.
A module may import modules of its own layer or of lower ones; project
imports inside functions are allowed only where they defer a heavy
dependency on purpose, marked with a ``# deferred:`` comment on the line or
on the line above its block of imports.
"""

from __future__ import annotations

import ast
import fnmatch
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

from tests.conftest import ROOT

# bottom (0) to top; a name ending in ".*" covers a package
LAYERS: list[list[str]] = [
    ["ofa_dash", "ofa_dash.space", "ofa_dash.progress", "ofa_dash.files"],
    ["ofa_dash.workspace", "ofa_dash.data", "ofa_dash.imagefolder", "ofa_dash.datasets", "ofa_dash.nn", "ofa_dash.nn.*", "ofa_dash.specialized"],
    [
        "ofa_dash.checkpoints",
        "ofa_dash.runtime",
        "ofa_dash.runtime.*",
        "ofa_dash.hardware",
        "ofa_dash.hardware.*",
        "ofa_dash.predictors",
        "ofa_dash.predictors.*",
        "ofa_dash.store",
        "ofa_dash.shortlist",
    ],
    ["ofa_dash.evaluate", "ofa_dash.calibration", "ofa_dash.validation_queue"],
    [
        "ofa_dash.subnets",
        "ofa_dash.train",
        "ofa_dash.finetune",
        "ofa_dash.measure",
        "ofa_dash.search",
        "ofa_dash.search.*",
        "ofa_dash.decision",
        "ofa_dash.rescore",
        "ofa_dash.refit",
    ],
    ["ofa_dash.export", "ofa_dash.export.*", "ofa_dash.validation", "ofa_dash.ladder", "ofa_dash.ladder.*"],
    ["ofa_dash.ui", "ofa_dash.ui.*"],
    ["ofa_dash.commands", "ofa_dash.commands.*", "ofa_dash.cli", "ofa_dash.__main__", "ofa_dash.testing", "ofa_dash.testing.*", "pages.*", "app"],
]
STANDALONE = {"ofa_dash.export.bundle_predict", "ofa_dash.ladder.pick"}  # shipped inside model bundles and ladders: import nothing of the project


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _sources() -> dict[str, Path]:
    files = [*sorted((ROOT / "ofa_dash").rglob("*.py")), *sorted((ROOT / "pages").glob("*.py")), ROOT / "app.py"]
    return {_module_name(p): p for p in files}


def _layer(module: str) -> int:
    for i, patterns in enumerate(LAYERS):
        if any(fnmatch.fnmatchcase(module, p) for p in patterns):
            return i
    raise AssertionError(f"{module} is in no layer of tests/test_architecture.py; add it where it belongs")


def _project_imports(tree: ast.AST, module: str, known: set[str]) -> list[tuple[str, ast.stmt, bool]]:
    """(imported module, node, inside a function) for every import of a project module."""
    out = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            local = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            if isinstance(child, ast.Import):
                out.extend((alias.name, child, in_function) for alias in child.names if alias.name.split(".")[0] in ("ofa_dash", "pages"))
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0 and child.module.split(".")[0] in ("ofa_dash", "pages"):
                for alias in child.names:
                    sub = f"{child.module}.{alias.name}"
                    out.append((sub if sub in known else child.module, child, in_function))
            visit(child, local)

    visit(tree, False)
    return out


def _declared(lines: list[str], index: int) -> bool:
    """A ``# deferred:`` comment on the import's line, or on the line above its block of imports."""
    if "# deferred:" in lines[index]:
        return True
    i = index - 1
    while i >= 0 and (not lines[i].strip() or lines[i].strip().startswith(("from ", "import "))):
        i -= 1
    return i >= 0 and lines[i].strip().startswith("# deferred:")


def _graph() -> tuple[dict[str, set[str]], list[str]]:
    """Module -> the project modules it imports, and the undeclared function-local imports."""
    sources = _sources()
    known = set(sources)
    graph: dict[str, set[str]] = {}
    undeclared_local = []
    for module, path in sources.items():
        graph.setdefault(module, set())
        text = path.read_text()
        lines = text.splitlines()
        for target, node, in_function in _project_imports(ast.parse(text), module, known):
            if target != module:
                graph[module].add(target)
            if in_function and not _declared(lines, node.lineno - 1):
                undeclared_local.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {target} inside a function")
    return graph, undeclared_local


def test_no_import_circles():
    graph, _ = _graph()
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as exc:
        raise AssertionError("import circle: " + " -> ".join(exc.args[1])) from None


def test_imports_run_downwards_only():
    graph, _ = _graph()
    upward = [f"{a} (layer {_layer(a)}) imports {b} (layer {_layer(b)})" for a, targets in graph.items() for b in sorted(targets) if _layer(b) > _layer(a)]
    assert not upward, "\n".join(upward)


def test_standalone_modules_import_nothing_of_the_project():
    graph, _ = _graph()
    for module in STANDALONE:
        assert not graph.get(module), f"{module} must stay importable on its own"


def test_project_imports_inside_functions_are_declared():
    _, undeclared = _graph()
    assert not undeclared, "\n".join(undeclared)
