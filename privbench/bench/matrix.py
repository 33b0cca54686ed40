"""A benchmark matrix: one level of YAML, its axes checked against the registries they take values from.

```yaml
data: synthetic            # or a dataset folder
profile: quick             # every run and attack
folds: 2
seeds: [0]
methods: [au, central, fedavg]
rnns: [bigru]
defences: [none]
attacks: [reid, reid_predictions, gradinv_updates]
set: [data.participants=8]     # every train run; its data.KEY values reach every job (one data set)
set_fedavg: [rounds=2]         # set_<method>: that method's runs; set_<attack>: that attack's jobs
```
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

from privbench.config import PROFILES
from privbench.defences import DEFENCES
from privbench.errors import ConfigError
from privbench.methods import METHODS
from privbench.models.heads import RNNS
from privbench.registry import Registry
from privbench.bench.targets import TARGETS

AXES: dict[str, Registry[Any]] = {"methods": METHODS, "rnns": RNNS, "defences": DEFENCES, "attacks": TARGETS}
SCALARS = {"data": str, "profile": str, "folds": int, "device": str}
DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True, kw_only=True)
class BenchConfig:
    """A checked matrix: the axes' values, the run settings and the ``--set`` overrides by target."""

    name: str
    data: str = "synthetic"
    profile: str = "default"
    folds: int = 8
    device: str = "auto"
    seeds: tuple[int, ...] = (0,)
    methods: tuple[str, ...] = ()
    rnns: tuple[str, ...] = ()
    defences: tuple[str, ...] = ("none",)
    attacks: tuple[str, ...] = ()
    set: tuple[str, ...] = ()
    overrides: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # set_<method or attack>

    def assignments(self, name: str) -> list[str]:
        """The ``set_<name>`` assignments (a method's or an attack's)."""
        return list(self.overrides.get(name, ()))


def load_bench(path: Path, *, data: str | None = None) -> BenchConfig:
    """Read and check a bench YAML; ``data`` replaces its ``data`` (``privbench bench --data``)."""
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such bench config") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder, not a bench config") from None
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: malformed YAML ({str(err).splitlines()[0]})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of bench keys")
    if data is not None:
        raw["data"] = data
    return parse_bench(raw, name=path.stem, where=str(path))


def parse_bench(raw: Mapping[str, Any], *, name: str, where: str) -> BenchConfig:
    """``raw`` checked: known keys, one level, every axis value known to its registry."""
    values: dict[str, Any] = {}
    overrides: dict[str, tuple[str, ...]] = {}
    for key, value in raw.items():
        if isinstance(value, Mapping):
            raise ConfigError(f"{where}: {key}: a bench config is one level (lists and values, no mappings)")
        if key in SCALARS:
            values[key] = _scalar(value, SCALARS[key], f"{where}: {key}")
        elif key in AXES:
            values[key] = tuple(_axis(value, AXES[key], f"{where}: {key}"))
        elif key == "seeds":
            values[key] = tuple(_scalar(v, int, f"{where}: seeds") for v in _listed(value))
        elif key == "set" or key.startswith("set_"):
            target = key.removeprefix("set_") if key != "set" else ""
            assignments = tuple(_scalar(v, str, f"{where}: {key}") for v in _listed(value))
            _check_override(target, assignments, f"{where}: {key}")
            if target:
                overrides[target] = assignments
            else:
                values["set"] = assignments
        else:
            raise ConfigError(f"{where}: unknown key {key!r}; valid: {', '.join(_valid_keys())}")
    config = BenchConfig(name=name, overrides=overrides, **values)
    _check(config, where)
    return config


def _valid_keys() -> list[str]:
    return [*SCALARS, "seeds", *AXES, "set", "set_<method or attack>"]


def _listed(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [] if value is None else [value]


def _scalar(value: Any, kind: type, where: str) -> Any:
    if isinstance(value, bool) or not isinstance(value, kind):
        raise ConfigError(f"{where}: expected {kind.__name__}, got {value!r}")
    return value


def _axis(value: Any, registry: Registry[Any], where: str) -> list[str]:
    names = [_scalar(v, str, where) for v in _listed(value)]
    for name in names:
        if name not in registry:
            raise ConfigError(f"{where}: unknown {registry.kind} {name!r}; valid: {', '.join(registry)}")
    if len(set(names)) != len(names):
        raise ConfigError(f"{where}: a value is listed twice: {', '.join(names)}")
    return names


def _check_override(target: str, assignments: tuple[str, ...], where: str) -> None:
    if target and target not in METHODS and target not in TARGETS:
        raise ConfigError(f"{where}: {target!r} is neither a method ({', '.join(METHODS)}) nor a bench attack "
                          f"({', '.join(TARGETS)})")
    for assignment in assignments:
        if "=" not in assignment:
            raise ConfigError(f"{where}: expected KEY=VALUE, got {assignment!r}")
        if target and assignment.startswith("data."):
            raise ConfigError(f"{where}: {assignment}: data.KEY belongs in `set` (every job must see one data set)")


def _check(config: BenchConfig, where: str) -> None:
    if config.profile not in PROFILES:
        raise ConfigError(f"{where}: profile: unknown profile {config.profile!r}; valid: {', '.join(PROFILES)}")
    if config.device not in DEVICES:
        raise ConfigError(f"{where}: device: unknown device {config.device!r}; valid: {', '.join(DEVICES)}")
    if config.folds < 2:
        raise ConfigError(f"{where}: folds must be at least 2, got {config.folds}")
    if not config.seeds or len(set(config.seeds)) != len(config.seeds):
        raise ConfigError(f"{where}: seeds: expected distinct seeds, got {list(config.seeds)}")
    if bool(config.methods) != bool(config.rnns):
        raise ConfigError(f"{where}: methods and rnns go together (a run needs both)")
    if not config.methods and not config.attacks:
        raise ConfigError(f"{where}: nothing to run: give methods and rnns, or attacks")
    for defence in config.defences if config.methods else ():
        if not any(DEFENCES.get(defence).applies_to(m) for m in config.methods):
            raise ConfigError(f"{where}: defences: {defence!r} applies to none of {', '.join(config.methods)}")
    for name in config.attacks:
        target = TARGETS.get(name)
        if target.on == "run" and not any(target.attacks(m) for m in config.methods):
            raise ConfigError(f"{where}: attacks: {name!r} attacks runs of {', '.join(target.methods) or 'a method'}, "
                              "and the matrix has none")
