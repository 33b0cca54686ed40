"""The defences: one registry of what a study can switch on, each entry with the settings that switch
it on and the methods it applies to. The benchmark's ``defences`` axis takes its values from here.

``none`` is the undefended system; ``dpsgd-<unit>-e<epsilon>`` are DP-SGD (``privbench.defences.dpsgd``) at
epsilon 1, 3 and 8 with the window or the participant as the privacy unit. The federated mechanisms and the
AU release transforms register here as they are built.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from privbench.errors import ConfigError
from privbench.registry import Registry
from privbench.settings import DPSettings

if TYPE_CHECKING:
    from privbench.defences.dpsgd import DPSGD


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


DP_METHODS = ("au", "central")
FRAME_REQUIREMENTS = ("loss=ccc_window", "backbone.norm=group")  # what DP-SGD needs of a frame model


def dp_assignments(method: str, epsilon: float, *, delta: float | None = None,
                   given: list[str] | tuple[str, ...] = ()) -> list[str]:
    """``--dp-epsilon`` / ``--dp-delta`` as ``--set`` assignments, with what DP-SGD needs of ``method``'s other
    settings (a per-window loss, GroupNorm, a data-independent frame normalisation under the window unit)
    wherever ``given`` (the user's own assignments) does not set that key: the user's choice is kept, and
    checked."""
    if method not in DP_METHODS:
        raise ConfigError(f"--dp-epsilon applies to {' and '.join(DP_METHODS)}; DP for {method} (client-level DP, "
                          "DP-SGD in clients, local DP) is not built yet")
    if epsilon <= 0:
        raise ConfigError(f"--dp-epsilon must be positive, got {epsilon}")
    wanted = [f"dp.epsilon={epsilon}"] + ([f"dp.delta={delta}"] if delta is not None else [])
    keys = {a.partition("=")[0].strip() for a in given}
    if method != "au":
        unit = next((a.partition("=")[2].strip() for a in given if a.partition("=")[0].strip() == "dp.unit"), "window")
        wanted += [*FRAME_REQUIREMENTS, *(["normalise=imagenet"] if unit == "window" else [])]
    return [*given, *(a for a in wanted if a.partition("=")[0] not in keys)]


class DPDefence(Defence):
    """DP-SGD at a target epsilon, as the benchmark's defence axis applies it (``dp_assignments``)."""

    def assignments_for(self, name: str, method: str) -> list[str]:
        super().assignments_for(name, method)
        epsilon = float(next(a for a in self.assignments if a.startswith("dp.epsilon=")).partition("=")[2])
        return dp_assignments(method, epsilon, given=[a for a in self.assignments if not a.startswith("dp.epsilon=")])


DEFENCES: Registry[Defence] = Registry("defence")
DEFENCES.register("none", "no defence: the system as the paper describes it")(Defence())
for _epsilon in (1, 3, 8):
    for _unit in ("window", "participant"):
        DEFENCES.register(f"dpsgd-{_unit}-e{_epsilon}", f"DP-SGD (Opacus) at epsilon {_epsilon}, delta 1e-5, the "
                          f"{_unit} as the privacy unit")(
            DPDefence(assignments=(f"dp.epsilon={_epsilon}", f"dp.unit={_unit}"), methods=DP_METHODS))



def private_stage(dp: DPSettings, *, epochs: int, seed: int) -> DPSGD | None:
    """The DP-SGD wrapper for a stage of ``epochs`` when ``dp`` is on, else None (opacus imported only then)."""
    if not dp.enabled:
        return None
    from privbench.defences.dpsgd import DPSGD

    return DPSGD(dp, epochs=epochs, seed=seed)


__all__ = ["DEFENCES", "DPDefence", "Defence", "dp_assignments", "private_stage"]
