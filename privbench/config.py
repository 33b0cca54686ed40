"""Typed configuration: profiles from configs/<name>.yaml, ``--set key=value`` overrides.

A config file maps a profile name to flat settings. ``default`` holds every key; other profiles
list only what they change, and ``<profile>.<variant>`` (e.g. ``paper.bigru``) refines a profile
for one RNN head. Values are checked against a frozen dataclass: unknown keys and values of the
wrong type raise ``ConfigError``.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from importlib import resources
from typing import Any, Literal, Mapping, TypeVar, Union

import yaml

from privbench.errors import ConfigError

T = TypeVar("T")
PROFILES = ("quick", "default", "paper")


def profile_values(config_name: str, profile: str, variant: str | None = None) -> dict[str, Any]:
    """Settings of ``profile`` (and ``profile.variant`` if present) from configs/<config_name>.yaml."""
    if profile not in PROFILES:
        raise ConfigError(f"unknown profile {profile!r}; valid: {', '.join(PROFILES)}")
    source = resources.files("privbench").joinpath("configs", f"{config_name}.yaml")
    table = yaml.safe_load(source.read_text()) or {}
    values = dict(table.get("default") or {})
    if profile != "default":
        values.update(table.get(profile) or {})
    if variant is not None:
        values.update(table.get(f"{profile}.{variant}") or {})
    return values


def build(cls: type[T], values: Mapping[str, Any], where: str) -> T:
    """Instantiate dataclass ``cls`` from ``values``, checking keys and types.

    Dotted keys (``backbone.norm``) fill nested dataclass fields.
    """
    values = _nest(values)
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; valid: {', '.join(names)}")
    missing = [n for n in names if n not in values and _required(cls, n)]
    if missing:
        raise ConfigError(f"{where}: missing key(s) {', '.join(missing)}")
    kwargs = {n: _coerce(hints[n], values[n], f"{where}: {n}") for n in names if n in values}
    return cls(**kwargs)


def override(obj: T, assignments: list[str], where: str = "--set") -> T:
    """Apply ``key=value`` strings (YAML-parsed values; dotted keys reach nested dataclasses)."""
    for assignment in assignments:
        key, sep, raw = assignment.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{where}: expected key=value, got {assignment!r}")
        obj = _set(obj, key.strip().split("."), _parse(raw.strip()), key.strip(), where)
    return obj


def to_dict(obj: Any) -> Any:
    """A dataclass tree as plain dicts (for config.yaml and hashing)."""
    return dataclasses.asdict(obj) if dataclasses.is_dataclass(obj) else obj


def _nest(values: Mapping[str, Any]) -> dict[str, Any]:
    nested: dict[str, Any] = {}
    for key, value in values.items():
        head, dot, rest = key.partition(".")
        if dot:
            nested.setdefault(head, {})[rest] = value
        else:
            nested[key] = value
    return nested


def _set(obj: Any, path: list[str], value: Any, key: str, where: str) -> Any:
    names = [f.name for f in dataclasses.fields(obj)]
    head = path[0]
    if head not in names:
        raise ConfigError(f"{where}: unknown key {key!r}; valid: {', '.join(_flat_keys(obj))}")
    current = getattr(obj, head)
    if len(path) > 1:
        if not dataclasses.is_dataclass(current):
            raise ConfigError(f"{where}: unknown key {key!r}; valid: {', '.join(_flat_keys(obj))}")
        return dataclasses.replace(obj, **{head: _set(current, path[1:], value, key, where)})
    if dataclasses.is_dataclass(current):
        raise ConfigError(f"{where}: {key!r} is a group; set one of its keys, e.g. {key}.{_flat_keys(current)[0]}")
    hint = typing.get_type_hints(type(obj))[head]
    return dataclasses.replace(obj, **{head: _coerce(hint, value, f"{where}: {key}")})


def _flat_keys(obj: Any, prefix: str = "") -> list[str]:
    keys = []
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            keys += _flat_keys(value, f"{prefix}{f.name}.")
        else:
            keys.append(prefix + f.name)
    return keys


def _required(cls: type, name: str) -> bool:
    f = cls.__dataclass_fields__[name]
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


def _parse(raw: str) -> Any:
    try:
        return yaml.safe_load(raw) if raw else ""
    except yaml.YAMLError:
        return raw


def _coerce(hint: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: expected a mapping")
        return build(hint, value, where)
    if origin in (Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in (o for o in options if o is not type(None)):
            try:
                return _coerce(option, value, where)
            except ConfigError as err:
                errors.append(err)
        raise errors[0]
    if origin is Literal:
        choices = typing.get_args(hint)
        if value not in choices:
            raise ConfigError(f"{where}: {value!r} is not one of {', '.join(map(str, choices))}")
        return value
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{where}: expected true or false, got {value!r}")
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(f"{where}: expected an integer, got {value!r}")
    if hint is float:
        number = _float(value)
        if number is None:
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        if not math.isfinite(number):
            raise ConfigError(f"{where}: expected a finite number, got {value!r}")
        return number
    if hint is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
        raise ConfigError(f"{where}: expected a string, got {value!r}")
    raise TypeError(f"unsupported config type {hint!r} at {where}")


def _float(value: Any) -> float | None:
    """``value`` as a float, or None; YAML 1.1 reads 1e-3 (no dot) as a string."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def require(condition: bool, message: str) -> None:
    """Raise ``ConfigError(message)`` unless ``condition`` holds (for ``__post_init__`` checks)."""
    if not condition:
        raise ConfigError(message)
