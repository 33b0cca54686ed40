"""A wheel must carry every subpackage and the configs (setuptools lists packages explicitly)."""

from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]


def test_every_subpackage_and_the_configs_are_packaged():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    listed = set(project["tool"]["setuptools"]["packages"])
    on_disk = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "privbench").rglob("__init__.py")}
    assert on_disk <= listed, f"not in pyproject.toml: {sorted(on_disk - listed)}"
    assert "privbench.configs" in listed
    assert project["tool"]["setuptools"]["package-data"]["privbench.configs"] == ["*.yaml", "bench/*.yaml"]
    assert {p.stem for p in (ROOT / "privbench" / "configs").glob("*.yaml")} >= {"au", "central", "fedavg", "synthetic"}
    assert {p.stem for p in (ROOT / "privbench" / "configs" / "bench").glob("*.yaml")} >= {"quick", "default", "paper", "dp",
                                                                                   "dp-central"}


def test_the_attacks_folder_installs_under_the_privbench_namespace():
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert setuptools["package-dir"] == {"privbench.attacks": "attacks"}  # no generic top-level `attacks`
    on_disk = {".".join(("privbench", *p.parent.relative_to(ROOT).parts)) for p in (ROOT / "attacks").rglob("__init__.py")}
    assert on_disk <= set(setuptools["packages"]), f"not in pyproject.toml: {sorted(on_disk - set(setuptools['packages']))}"
    assert "attacks" not in setuptools["packages"]
