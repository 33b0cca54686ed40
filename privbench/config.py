"""Typed configuration: profiles from configs/<name>.yaml, ``--set key=value`` overrides.

A config file maps a profile name to flat settings. ``default`` holds every key; other profiles
list only what they change, and ``<profile>.<variant>`` (e.g. ``paper.bigru``) refines a profile
for one RNN head. Values are checked against a frozen dataclass, composed of ``Group`` dataclasses
(privbench.settings) whose keys stay flat: unknown keys and values of the wrong type raise
``ConfigError``.
"""

from __future__ import annotations

import copy
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


class Group:
    """Marks a dataclass as a group of settings inside a method config: its keys are addressed by
    their own names in YAML and ``--set`` (``lr``, not ``optim.lr``; the long form works too)."""


def build(cls: type[T], values: Mapping[str, Any], where: str) -> T:
    """Instantiate dataclass ``cls`` from flat ``values``, checking keys and types.

    Keys of a group field go to that group; dotted keys (``backbone.norm``, ``optim.lr``) fill
    nested dataclass fields.
    """
    values = _nest(values)
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    groups = {n: hints[n] for n in names if _is_group(hints[n])}
    own: dict[str, Any] = {}
    grouped: dict[str, dict[str, Any]] = {g: {} for g in groups}
    unknown = []
    for key, value in values.items():
        holder = key if key in groups and isinstance(value, Mapping) else _group_of(groups, key)
        if holder is not None:
            grouped[holder].update(value if holder == key else {key: value})
        elif key in names:
            own[key] = value
        else:
            unknown.append(key)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}; valid: {', '.join(keys_of(cls))}")
    missing = [n for n in names if n not in groups and n not in own and _required(cls, n)]
    missing += [k for g, kind in groups.items() for k in _field_names(kind)
                if k not in grouped[g] and _required(kind, k)]
    if missing:
        raise ConfigError(f"{where}: missing key(s) {', '.join(missing)}")
    kwargs = {n: _coerce(hints[n], v, f"{where}: {n}") for n, v in own.items()}
    kwargs.update({g: build(kind, grouped[g], where) for g, kind in groups.items()})
    return cls(**kwargs)


def override(obj: T, assignments: list[str], where: str = "--set") -> T:
    """Apply ``key=value`` strings (YAML-parsed values; dotted keys reach nested dataclasses). The config is
    checked once, with every assignment applied, so their order does not matter (``head=rnn`` before
    ``seq_len=2`` is as good as after)."""
    for assignment in assignments:
        key, sep, raw = assignment.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{where}: expected key=value, got {assignment!r}")
        obj = _set(obj, key.strip().split("."), _parse(raw.strip()), key.strip(), where)
    return _checked(obj) if assignments else obj


def _unchecked(obj: T, **changes: Any) -> T:
    """A copy of the dataclass ``obj`` with ``changes``, its ``__post_init__`` checks not run (``_checked``
    runs them once all assignments are in)."""
    changed = copy.copy(obj)
    for name, value in changes.items():
        object.__setattr__(changed, name, value)
    return changed


def _checked(obj: T) -> T:
    """``obj`` rebuilt inside out, so that every nested dataclass's ``__post_init__`` runs on its final values."""
    nested = {f.name: _checked(getattr(obj, f.name)) for f in dataclasses.fields(obj)
              if f.init and dataclasses.is_dataclass(getattr(obj, f.name))}
    return dataclasses.replace(obj, **nested)


def to_dict(obj: Any) -> Any:
    """A config as plain dicts, one level (groups flattened; other dataclasses nested): config.yaml,
    the deployed client's settings and cache keys. ``build`` reads it back."""
    if not dataclasses.is_dataclass(obj):
        return obj
    flat: dict[str, Any] = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if isinstance(value, Group):
            flat.update(to_dict(value))
        else:
            flat[f.name] = dataclasses.asdict(value) if dataclasses.is_dataclass(value) else value
    return flat


def keys_of(cls: type) -> list[str]:
    """Every key a config class takes, as written in YAML and ``--set`` (``backbone.norm`` for nested ones)."""
    hints = typing.get_type_hints(cls)
    keys: list[str] = []
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        if _is_group(hint):
            keys += keys_of(hint)
        elif dataclasses.is_dataclass(hint):
            keys += [f"{f.name}.{k}" for k in keys_of(hint)]
        else:
            keys.append(f.name)
    return keys


def _is_group(hint: Any) -> bool:
    return isinstance(hint, type) and issubclass(hint, Group)


def _field_names(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


def _group_of(groups: Mapping[str, type], key: str) -> str | None:
    """The group field holding ``key``, if any."""
    return next((g for g, kind in groups.items() if key in _field_names(kind)), None)


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
    names = _field_names(type(obj))
    head = path[0]
    if head not in names:
        groups = {n: type(getattr(obj, n)) for n in names if isinstance(getattr(obj, n), Group)}
        holder = _group_of(groups, head)
        if holder is None:
            raise ConfigError(f"{where}: unknown key {key!r}; valid: {', '.join(keys_of(type(obj)))}")
        return _unchecked(obj, **{holder: _set(getattr(obj, holder), path, value, key, where)})
    current = getattr(obj, head)
    if len(path) > 1:
        if not dataclasses.is_dataclass(current):
            raise ConfigError(f"{where}: unknown key {key!r}; valid: {', '.join(keys_of(type(obj)))}")
        return _unchecked(obj, **{head: _set(current, path[1:], value, key, where)})
    if dataclasses.is_dataclass(current):
        raise ConfigError(f"{where}: {key!r} is a group; set one of its keys, e.g. {keys_of(type(current))[0]}")
    hint = typing.get_type_hints(type(obj))[head]
    return _unchecked(obj, **{head: _coerce(hint, value, f"{where}: {key}")})


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
