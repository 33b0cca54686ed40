"""The defences: one registry of what a study can switch on, each entry with the settings that switch
it on and the methods it applies to. The benchmark's ``defences`` axis takes its values from here.

Only ``none`` (the undefended system) exists so far; DP-SGD, the federated mechanisms and the AU
release transforms register here as they are built, next to the code that implements them.
"""

from __future__ import annotations

from dataclasses import dataclass

from privbench.errors import ConfigError
from privbench.registry import Registry


@dataclass(frozen=True, kw_only=True)
class Defence:
    """A defence as the benchmark applies it: ``--set`` assignments added to a run of a method it
    applies to (``methods`` empty: every method)."""

    assignments: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()

    def applies_to(self, method: str) -> bool:
        return not self.methods or method in self.methods

    def assignments_for(self, name: str, method: str) -> list[str]:
        """The assignments for a run of ``method``; a method the defence cannot guard is a ConfigError."""
        if not self.applies_to(method):
            raise ConfigError(f"defence {name!r} applies to {', '.join(self.methods)}, not {method}")
        return list(self.assignments)


DEFENCES: Registry[Defence] = Registry("defence")
DEFENCES.register("none", "no defence: the system as the paper describes it")(Defence())

__all__ = ["DEFENCES", "Defence"]
