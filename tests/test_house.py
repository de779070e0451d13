"""The package's shape: no import cycles, dependencies that point down, small modules and
functions, no comment that needs the issue tracker to be understood."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PKG = Path(__file__).resolve().parent.parent / "medialake"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PKG.rglob("*.py")):
        parts = path.relative_to(PKG.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """medialake modules that ``name`` imports, at module level or inside functions."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            targets = [base] + [f"{base}.{a.name}" for a in node.names]
        for t in targets:
            while t and t not in known:
                t = t.rpartition(".")[0]
            if t and t != name and t.startswith("medialake"):
                found.add(t)
    return found


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    return {name: _imports(name, path, set(mods)) for name, path in mods.items()}


def test_no_import_cycles():
    graph = _graph()
    # the package root and sub-package roots only re-export; the edges that matter are between modules
    edges = {m: {d for d in deps if graph.get(d) is not None and not _is_root(d)} for m, deps in graph.items()}
    state: dict[str, int] = {}
    cycles = []

    def visit(m: str, stack: list[str]) -> None:
        state[m] = 1
        for d in sorted(edges[m]):
            if state.get(d) == 1:
                cycles.append(stack[stack.index(d):] + [d] if d in stack else [m, d])
            elif d not in state:
                visit(d, stack + [d])
        state[m] = 2

    for m in sorted(edges):
        if m not in state:
            visit(m, [m])
    assert not cycles, f"import cycles: {cycles}"


def _is_root(name: str) -> bool:
    return name == "medialake" or (name.count(".") == 1 and (PKG / name.split(".")[1] / "__init__.py").exists())


def test_lower_layers_import_neither_pipelines_nor_jobs():
    graph = _graph()
    bad = {m: sorted(d for d in deps if d.startswith(("medialake.pipelines", "medialake.jobs")))
           for m, deps in graph.items()
           if m.startswith(("medialake.operators", "medialake.models", "medialake.search"))}
    assert not {m: d for m, d in bad.items() if d}


def test_the_ray_free_layers_do_not_import_ray():
    for name, path in _modules().items():
        if name.startswith(("medialake.operators", "medialake.models", "medialake.search")):
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                    [node.module or ""] if isinstance(node, ast.ImportFrom) else []
                assert not any(n == "ray" or n.startswith("ray.") for n in names), name


def test_modules_and_functions_stay_small():
    long_modules, long_functions = [], []
    for name, path in _modules().items():
        text = path.read_text()
        if text.count("\n") > MAX_MODULE_LINES:
            long_modules.append((name, text.count("\n")))
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    long_functions.append((f"{name}.{node.name}", n))
    assert not long_modules, long_modules
    assert not long_functions, long_functions


def test_no_comment_points_at_an_issue_number():
    pattern = re.compile(r"\bissues?\s*#?\d+", re.IGNORECASE)
    hits = [f"{p.relative_to(PKG.parent)}:{i}" for p in PKG.rglob("*.py")
            for i, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)]
    assert not hits, hits
