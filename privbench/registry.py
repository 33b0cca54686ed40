"""Name -> object registries (methods, RNN heads, engines, profiles).

Registries live next to the code they register: a module creates a ``Registry`` and decorates
its builders with ``@REGISTRY.register("name")``. This module imports nothing from privbench.
"""

from __future__ import annotations

from typing import Callable, Generic, Iterator, TypeVar

from privbench.errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """A named collection of builders; looking up an unknown name lists the valid ones."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def decorate(obj: T) -> T:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._entries[name] = obj
            return obj

        return decorate

    def get(self, name: str) -> T:
        try:
            return self._entries[name]
        except KeyError:
            valid = ", ".join(sorted(self._entries)) or "(none)"
            raise ConfigError(f"unknown {self.kind} {name!r}; valid: {valid}") from None

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
