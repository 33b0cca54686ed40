"""A matrix expanded into jobs: each a resolved train run or attack, keyed by a hash of its resolved
config, the data set's identity and the key of the run it attacks."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Literal

from privbench.attacks import ATTACKS
from privbench.attacks.runner import AttackSpec
from privbench.attacks.runner import resolve as resolve_attack
from privbench.bench.identity import dataset_identity
from privbench.bench.matrix import BenchConfig
from privbench.bench.targets import TARGETS
from privbench.config import to_dict
from privbench.defences import DEFENCES
from privbench.experiment import RunSpec, resolve, resolve_data

KEY_FORMAT = 1  # bump when what a key covers changes: every job then runs anew


@dataclass(frozen=True, kw_only=True)
class Job:
    """One unit of the matrix: a train run or an attack, and the train run it waits for (if any)."""

    key: str
    kind: Literal["train", "attack"]
    label: str
    axes: dict[str, str]
    spec: RunSpec | AttackSpec
    depends_on: str | None = None  # the folder of the train run an attack reads
    dataset: dict[str, str] = field(default_factory=dict)

    @property
    def folder(self) -> str:
        """Its result folder's name in the store: readable, unique by key."""
        slug = "-".join(v for k, v in self.axes.items() if k != "defence" or v != "none")
        return f"{self.kind}-{slug}-{self.key[:12]}"

    @property
    def similar(self) -> str:
        """Jobs with the same ``similar`` cost about the same (the dry run's estimate)."""
        return f"{self.kind}:{self.axes.get('target') or self.axes.get('method')}:{self.spec.profile}"


def expand(config: BenchConfig) -> list[Job]:
    """Every job of ``config``: train runs (methods x rnns x defences x seeds), then attacks."""
    synthetic, _ = resolve_data(config.data, config.profile, list(config.set))
    identity = dataset_identity(config.data, synthetic)
    trains = [train_job(config, method, rnn, defence, seed, identity)
              for seed in config.seeds for method in config.methods for rnn in config.rnns
              for defence in config.defences if DEFENCES.get(defence).applies_to(method)]
    attacks = []
    for name in config.attacks:
        target = TARGETS.get(name)
        if target.on == "data":
            attacks += [attack_job(config, name, seed, identity, None) for seed in config.seeds]
        else:
            attacks += [attack_job(config, name, run.spec.seed, identity, run) for run in trains
                        if target.attacks(run.axes["method"])]
    return trains + attacks


def train_job(config: BenchConfig, method: str, rnn: str, defence: str, seed: int,
              identity: dict[str, str]) -> Job:
    needed = [a for name in config.attacks for a in TARGETS.get(name).run_assignments if TARGETS.get(name).attacks(method)]
    assignments = [*needed, *config.set, *DEFENCES.get(defence).assignments_for(defence, method),
                   *config.assignments(method)]
    spec = resolve(method, rnn, config.profile, seed, config.folds, config.device, config.data, assignments)
    record = {"method": method, "rnn": rnn, "profile": spec.profile, "seed": seed, "folds": spec.folds,
              "device": spec.device, "synthetic": to_dict(spec.synthetic), "train": to_dict(spec.train)}
    axes = {"method": method, "rnn": rnn, "defence": defence, "seed": f"s{seed}"}
    return Job(key=job_key("train", record, identity, None), kind="train", axes=axes, spec=spec, dataset=identity,
               label=f"{method}/{rnn} seed {seed}" + ("" if defence == "none" else f" {defence}"))


def attack_job(config: BenchConfig, name: str, seed: int, identity: dict[str, str], run: Job | None) -> Job:
    target = TARGETS.get(name)
    data_keys = [a for a in config.set if a.startswith("data.")]
    spec = resolve_attack(target.attack, ATTACKS.get(target.attack).config_type, profile=config.profile, seed=seed,
                          data=config.data, from_run=None,
                          assignments=[*data_keys, *target.assignments, *config.assignments(name)])
    record = {"attack": target.attack, "profile": spec.profile, "seed": seed, "synthetic": to_dict(spec.synthetic),
              "settings": to_dict(spec.settings)}
    axes = {"target": name, **({k: v for k, v in run.axes.items() if k != "seed"} if run else {}), "seed": f"s{seed}"}
    on = f" on {run.label}" if run else f" seed {seed}"
    return Job(key=job_key("attack", record, identity, run.key if run else None), kind="attack", axes=axes,
               spec=spec, depends_on=run.folder if run else None, dataset=identity, label=f"{name}{on}")


def job_key(kind: str, record: dict[str, Any], identity: dict[str, str], depends_on: str | None) -> str:
    """A hash of everything that decides a job's result (never of where the store lives)."""
    payload = {"format": KEY_FORMAT, "kind": kind, "config": record, "dataset": identity["id"],
               "depends_on": depends_on}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()
