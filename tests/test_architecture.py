"""The shape of the code: dependencies point one way between layers, no package cycles, small modules
and functions (docs/architecture.md explains the layers). Every import counts, also those inside
functions: an import hidden in a function is still a dependency."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "privbench"
ATTACKS = ROOT.parent / "attacks"  # installed as privbench.attacks
# Higher layers may import lower ones (and their own package); never the other way round.
LAYERS = {
    "__main__": 9, "cli": 8,
    "bench": 7, "report": 7,
    "attacks": 6,
    "experiment": 5,
    "methods": 4, "defences": 4, "release": 4,
    "federated": 3, "train": 3,
    "models": 2, "data": 2, "evaluate": 2,
    "core": 1,
}
CORE = {"config", "settings", "registry", "errors", "io", "types", "progress", "stats", "results", "configs"}
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def package_of(module: str) -> str | None:
    """privbench.data.layout -> data; privbench.io -> core; privbench (the root) -> None."""
    parts = module.split(".")
    if parts[0] != "privbench" or len(parts) == 1:
        return None
    return "core" if parts[1] in CORE else parts[1]


def modules() -> dict[str, Path]:
    """privbench's modules by name, the attacks folder under privbench.attacks."""
    found = {}
    for root, prefix in ((ROOT, ("privbench",)), (ATTACKS, ("privbench", "attacks"))):
        for path in sorted(root.rglob("*.py")):
            parts = (*prefix, *path.relative_to(root).with_suffix("").parts)
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(path: Path, module: str) -> set[str]:
    """Every privbench module ``path`` imports, at any depth of its code."""
    found = set()
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
    return {name for name in found if name.split(".")[0] == "privbench"}


def package_edges() -> dict[tuple[str, str], list[str]]:
    """(from package, to package) -> the modules that make the edge."""
    edges: dict[tuple[str, str], list[str]] = {}
    for module, path in modules().items():
        source = package_of(module)
        for target in imports(path, module):
            destination = package_of(target)
            if source and destination and source != destination:
                edges.setdefault((source, destination), []).append(f"{module} -> {target}")
    return edges


def test_every_package_has_a_layer():
    packages = {package_of(m) for m in modules()} - {None}
    assert packages <= set(LAYERS), f"give these a layer in LAYERS and docs/architecture.md: {packages - set(LAYERS)}"


def test_dependencies_point_down_the_layers():
    upward = {edge: where for edge, where in package_edges().items() if LAYERS[edge[0]] < LAYERS[edge[1]]}
    assert not upward, "\n".join(line for where in upward.values() for line in where)


def test_the_report_reads_result_folders_only():
    """The judge imports neither the system under test nor the adversary: only the core (results, io, ...)."""
    reached = {destination for (source, destination) in package_edges() if source == "report"}
    assert reached <= {"core"}, f"report imports {sorted(reached - {'core'})}: {package_edges()}"


def test_no_cycle_between_packages():
    graph: dict[str, set[str]] = {}
    for source, destination in package_edges():
        graph.setdefault(source, set()).add(destination)

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        return any(n == goal or (n not in seen and reaches(n, goal, seen | {n})) for n in graph.get(start, ()))

    cycles = [p for p in graph if reaches(p, p, {p})]
    assert not cycles, f"packages on a cycle: {cycles}; edges: {sorted(package_edges())}"


@pytest.mark.parametrize("module, path", sorted(modules().items()))
def test_modules_and_functions_stay_small(module, path):
    source = path.read_text()
    lines = source.count("\n")
    assert lines <= MAX_MODULE_LINES, f"{module}: {lines} lines (max {MAX_MODULE_LINES})"
    long = [f"{node.name} ({node.end_lineno - node.lineno + 1} lines)" for node in ast.walk(ast.parse(source))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]
    assert not long, f"{module}: functions over {MAX_FUNCTION_LINES} lines: {', '.join(long)}"


def test_the_checker_sees_an_upward_import(tmp_path, monkeypatch):
    """The checks can fail: a core module importing the method layer is reported."""
    fake = tmp_path / "privbench"
    (fake / "methods").mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "methods" / "__init__.py").write_text("")
    (fake / "io.py").write_text("def f():\n    from privbench.methods import thing\n")
    monkeypatch.setattr(__import__(__name__), "ROOT", fake)
    monkeypatch.setattr(__import__(__name__), "ATTACKS", tmp_path / "no-attacks")
    assert package_edges() == {("core", "methods"): ["privbench.io -> privbench.methods"]}
