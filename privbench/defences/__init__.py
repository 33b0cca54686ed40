"""The defences: one registry of what a study can switch on, each entry with the settings that switch
it on and the methods it applies to. The benchmark's ``defences`` axis takes its values from here.

``none`` is the undefended system; ``dpsgd-<unit>-e<epsilon>`` are DP-SGD (``privbench.train.dpsgd``) at
epsilon 1, 3 and 8 with the window or the participant as the privacy unit; ``dpfed-<mode>-e<epsilon>`` are
FedAvg's mechanisms (``privbench.defences.federated``: server, client and local client-level DP, DP-SGD in the
clients), ``head`` and ``head-dpfed-<mode>-e<epsilon>`` the same for the head alone on a frozen public backbone
(``trainable=head``); ``secagg`` and ``secagg-dpfed-<mode>-e<epsilon>``
secure aggregation (``privbench.federated.secure``), alone or under client or local DP; ``release-<transform>[-<strength>]`` are
the AU release transforms (``privbench.release``) at the strengths ``privbench.release.STRENGTHS`` names.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

from privbench.errors import ConfigError
from privbench.registry import Registry
from privbench.release import STRENGTHS, TRANSFORMS
from privbench.settings import DPSettings

if TYPE_CHECKING:
    from privbench.train.dpsgd import DPSGD

# Opacus's notices that docs/defences.md states: seeded noise (not a secure random source), RDP's order
# range, backward hooks on inputs without gradients
for _message in ("Secure RNG turned off", "Optimal order is the largest alpha", "Full backward hook is firing"):
    warnings.filterwarnings("ignore", message=f".*{_message}")


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


DP_METHODS = ("au", "central", "fedavg")
FRAME_REQUIREMENTS = {"central": ("loss=ccc_window", "backbone.norm=group"),  # what DP needs of a frame model
                      "fedavg": ("backbone.norm=group",)}


def dp_assignments(method: str, epsilon: float, *, delta: float | None = None,
                   given: list[str] | tuple[str, ...] = ()) -> list[str]:
    """``--dp-epsilon`` / ``--dp-delta`` as ``--set`` assignments, with what DP needs of ``method``'s other
    settings (GroupNorm; for DP-SGD on ``central`` and in ``fedavg``'s clients a per-window loss and, under the window
    unit, a data-independent frame normalisation; in the clients no federated frame warm-up rounds)
    wherever ``given`` (the user's own assignments) does not set that key: the user's choice is kept, and
    checked."""
    if method not in DP_METHODS:
        raise ConfigError(f"--dp-epsilon applies to {', '.join(DP_METHODS)}, not {method}")
    if epsilon <= 0:
        raise ConfigError(f"--dp-epsilon must be positive, got {epsilon}")
    wanted = [f"dp.epsilon={epsilon}"] + ([f"dp.delta={delta}"] if delta is not None else [])
    keys = {a.partition("=")[0].strip() for a in given}
    wanted += FRAME_REQUIREMENTS.get(method, ())
    values = {a.partition("=")[0].strip(): a.partition("=")[2].strip() for a in given}
    if method == "central" and values.get("dp.unit", "window") == "window":
        wanted.append("normalise=imagenet")
    if method == "fedavg" and values.get("dp.mode") == "dpsgd":  # DP-SGD inside each client, the window the unit
        wanted += ["loss=ccc_window", "normalise=imagenet"]
        wanted += [] if values.get("trainable") == "head" else ["warmup_rounds=0"]
    return [*given, *(a for a in wanted if a.partition("=")[0] not in keys)]


class DPDefence(Defence):
    """DP at a target epsilon, as the benchmark's defence axis applies it (``dp_assignments``)."""

    def assignments_for(self, name: str, method: str) -> list[str]:
        super().assignments_for(name, method)
        epsilon = float(next(a for a in self.assignments if a.startswith("dp.epsilon=")).partition("=")[2])
        return dp_assignments(method, epsilon, given=[a for a in self.assignments if not a.startswith("dp.epsilon=")])


FEDERATED_MODES = {"server": "noise added by the server", "client": "clipped on the client, noise added by the "
                   "server", "local": "clipped and noised on each client (local DP)"}
DEFENCES: Registry[Defence] = Registry("defence")
DEFENCES.register("none", "no defence: the system as the paper describes it")(Defence())
for _epsilon in (1, 3, 8):
    for _unit in ("window", "participant"):
        DEFENCES.register(f"dpsgd-{_unit}-e{_epsilon}", f"DP-SGD (Opacus) at epsilon {_epsilon}, delta 1e-5, the "
                          f"{_unit} as the privacy unit")(
            DPDefence(assignments=(f"dp.epsilon={_epsilon}", f"dp.unit={_unit}"), methods=("au", "central")))
for _epsilon in (1, 3, 8):
    for _mode, _what in FEDERATED_MODES.items():
        DEFENCES.register(f"dpfed-{_mode}-e{_epsilon}", f"client-level DP for FedAvg at epsilon {_epsilon}, delta "
                          f"1e-5: {_what}")(
            DPDefence(assignments=(f"dp.epsilon={_epsilon}", f"dp.mode={_mode}"), methods=("fedavg",)))
DEFENCES.register("head", "FedAvg of the head only: the backbone warmed up on public data and frozen (no DP)")(
    Defence(assignments=("trainable=head",), methods=("fedavg",)))
for _epsilon in (1, 3, 8):
    DEFENCES.register(f"dpfed-dpsgd-e{_epsilon}", f"DP-SGD (Opacus) inside each FedAvg client at epsilon {_epsilon}, "
                      "delta 1e-5, the window as the unit (no federated warm-up rounds)")(
        DPDefence(assignments=(f"dp.epsilon={_epsilon}", "dp.mode=dpsgd"), methods=("fedavg",)))
    for _mode, _what in {**FEDERATED_MODES, "dpsgd": "DP-SGD inside each client, the window as the unit"}.items():
        DEFENCES.register(f"head-dpfed-{_mode}-e{_epsilon}", f"FedAvg of the head only (backbone warmed up on public "
                          f"data, frozen) under DP at epsilon {_epsilon}, delta 1e-5: {_what}")(
            DPDefence(assignments=(f"dp.epsilon={_epsilon}", f"dp.mode={_mode}", "trainable=head"),
                      methods=("fedavg",)))
DEFENCES.register("secagg", "secure aggregation for FedAvg (Flower's SecAgg+): the server learns only each round's "
                  "sum of updates")(Defence(assignments=("secagg.enabled=true",), methods=("fedavg",)))
for _epsilon in (1, 3, 8):
    for _mode in ("client", "local"):
        DEFENCES.register(f"secagg-dpfed-{_mode}-e{_epsilon}", f"client-level DP for FedAvg at epsilon {_epsilon}, "
                          f"delta 1e-5, {FEDERATED_MODES[_mode]}, summed by secure aggregation (SecAgg+)")(
            DPDefence(assignments=(f"dp.epsilon={_epsilon}", f"dp.mode={_mode}", "secagg.enabled=true"),
                      methods=("fedavg",)))
for _name, _strengths in STRENGTHS.items():  # the AU release transforms (privbench.release), at their strengths
    for _label, _set in _strengths.items():
        DEFENCES.register("-".join(["release", _name] + ([_label] if _label else [])),
                          " ".join(["AU release", _name, *_set]) + f": {TRANSFORMS.describe(_name)}")(
            Defence(assignments=(f"release={_name}", *_set), methods=("au",)))


def private_stage(dp: DPSettings, *, epochs: int, seed: int) -> DPSGD | None:
    """The DP-SGD wrapper for a stage of ``epochs`` when ``dp`` is on, else None (opacus imported only then)."""
    if not dp.enabled:
        return None
    from privbench.train.dpsgd import DPSGD

    return DPSGD(dp, epochs=epochs, seed=seed)


__all__ = ["DEFENCES", "DPDefence", "Defence", "dp_assignments", "private_stage"]
