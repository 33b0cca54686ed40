"""The adversary's packages: one per attack family, beside what they share (attacks/README.md).
A family may use ``shared`` and ``faces``; those use no family, and no family uses another."""

from __future__ import annotations

from test_architecture import ATTACKS, imports, modules

SHARED = {"shared", "faces"}


def family_edges() -> set[tuple[str, str]]:
    """(from subpackage, to subpackage) of privbench.attacks, e.g. ("gradinv", "faces")."""
    edges = set()
    for module, path in modules().items():
        parts = module.split(".")
        if parts[:2] != ["privbench", "attacks"] or len(parts) < 4:
            continue
        for target in imports(path, module):
            other = target.split(".")
            if other[:2] == ["privbench", "attacks"] and len(other) >= 3 and other[2] != parts[2]:
                edges.add((parts[2], other[2]))
    return edges


def test_families_use_only_what_is_shared():
    crossing = {(source, target) for source, target in family_edges() if target not in SHARED | {"runner"}}
    assert not crossing, f"attack packages importing a family: {sorted(crossing)}"


def test_every_family_is_a_package():
    flat = sorted(path.name for path in ATTACKS.glob("*.py"))
    assert flat == ["__init__.py", "runner.py"], f"modules outside a family package: {flat}"
