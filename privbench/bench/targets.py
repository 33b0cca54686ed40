"""What the benchmark attacks: one registry of attack targets, each an attack of ``privbench.attacks``
on one kind of release. A target ``on`` "data" attacks the data set's own release (the AU tables, or
a simulated federated round on its frames) once per seed; a target ``on`` "run" attacks what each
train run of the methods it names releases, and waits for that run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from privbench.registry import Registry


@dataclass(frozen=True, kw_only=True)
class AttackTarget:
    """An attack and what it is aimed at.

    ``assignments`` are the attack's ``--set`` values that select the release; ``run_assignments``
    are what the attacked run must do so that its release exists (capture its client updates).
    """

    attack: str
    on: Literal["data", "run"]
    methods: tuple[str, ...] = ()  # for on == "run": the methods whose runs it attacks (empty: all)
    assignments: tuple[str, ...] = ()
    run_assignments: tuple[str, ...] = ()

    def attacks(self, method: str) -> bool:
        return self.on == "run" and (not self.methods or method in self.methods)


TARGETS: Registry[AttackTarget] = Registry("bench attack")
TARGETS.register("reid", "re-identification from the data set's released AU series")(
    AttackTarget(attack="reid", on="data", assignments=("release=raw",)))
TARGETS.register("demographics", "gender, age band and language from the data set's released AU series")(
    AttackTarget(attack="demographics", on="data", assignments=("release=raw",)))
TARGETS.register("gradinv", "gradient inversion of a simulated client round of the frame model")(
    AttackTarget(attack="gradinv", on="data"))
TARGETS.register("reid_predictions", "re-identification from each run's released valence/arousal predictions")(
    AttackTarget(attack="reid", on="run", assignments=("release=predictions",)))
TARGETS.register("demographics_predictions", "demographic inference from each run's released predictions")(
    AttackTarget(attack="demographics", on="run", assignments=("release=predictions",)))
TARGETS.register("gradinv_updates", "gradient inversion of each fedavg run's captured client updates")(
    AttackTarget(attack="gradinv", on="run", methods=("fedavg",), run_assignments=("capture_updates_mb=200",)))
TARGETS.register("reid_release", "re-identification from the AU release each au run trained on (its release transform)")(
    AttackTarget(attack="reid", on="run", methods=("au",), assignments=("release=run",)))
TARGETS.register("demographics_release", "demographic inference from the AU release each au run trained on")(
    AttackTarget(attack="demographics", on="run", methods=("au",), assignments=("release=run",)))
TARGETS.register("membership", "membership inference against each au run's fold models (loss threshold and LiRA)")(
    AttackTarget(attack="membership", on="run", methods=("au",)))
