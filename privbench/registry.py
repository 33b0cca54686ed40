"""Name -> object registries (methods, RNN heads, engines, losses, ...).

An entry is either registered with its object (``@REGISTRY.register("name")``) or declared by import
path (``REGISTRY.declare("name", "package.module:attribute", description=...)``) and imported on
the first ``get``; names and descriptions never import anything, so listing what exists stays cheap.
This module imports nothing from privbench but its errors.
"""

from __future__ import annotations

import importlib
from typing import Callable, Generic, Iterator, TypeVar

from privbench.errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """Named objects in the order they were added; looking up an unknown name lists the valid ones."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._descriptions: dict[str, str] = {}
        self._targets: dict[str, str] = {}
        self._objects: dict[str, T] = {}

    def declare(self, name: str, target: str, description: str = "") -> None:
        """Add ``name`` without importing it.

        ``target`` is ``"module:attribute"``, or ``"module"`` when importing the module registers ``name``.
        """
        if name in self._descriptions:
            raise ValueError(f"{self.kind} {name!r} is declared twice")
        self._descriptions[name] = description
        self._targets[name] = target

    def register(self, name: str, description: str = "") -> Callable[[T], T]:
        """Decorator adding an object under ``name``, or supplying the object of a declared ``name``."""

        def decorate(obj: T) -> T:
            if name in self._objects or (name in self._descriptions and name not in self._targets):
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._descriptions.setdefault(name, description)
            self._objects[name] = obj
            return obj

        return decorate

    def get(self, name: str) -> T:
        """The object of ``name``, imported now if it was declared and not yet loaded."""
        self.describe(name)
        if name not in self._objects:
            self._load(name)
        return self._objects[name]

    def describe(self, name: str) -> str:
        """The description of ``name`` (without importing it)."""
        try:
            return self._descriptions[name]
        except KeyError:
            raise ConfigError(f"unknown {self.kind} {name!r}; valid: {', '.join(self) or '(none)'}") from None

    def items(self) -> list[tuple[str, str]]:
        """(name, description) of every entry, in order, without importing any."""
        return list(self._descriptions.items())

    def names(self) -> list[str]:
        return list(self._descriptions)

    def _load(self, name: str) -> None:
        module_name, _, attribute = self._targets[name].partition(":")
        module = importlib.import_module(module_name)
        if attribute:
            self._objects[name] = getattr(module, attribute)
        elif name not in self._objects:
            raise LookupError(f"importing {module_name} did not register {self.kind} {name!r}")

    def __contains__(self, name: object) -> bool:
        return name in self._descriptions

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
