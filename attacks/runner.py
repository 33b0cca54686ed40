"""One attack run end to end: resolve its settings, claim the output folder, open and check the
dataset, run the attack, write its result folder (``"kind": "attack"``) with the one writer of result
folders, ``privbench.results.write_result``."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from privbench.config import build, override, profile_values, to_dict
from privbench.data.generate import synthetic_dataset
from privbench.data.layout import Dataset
from privbench.data.synthetic import SyntheticConfig
from privbench.data.validate import validate
from privbench.errors import DatasetError
from privbench.evaluate.efficiency import PeakMemory
from privbench.experiment import resolve_data
from privbench.io import atomic_dir
from privbench.progress import Progress
from privbench.results import check_labels, git_commit, new_run_id, now, versions, write_result


@dataclass(frozen=True)
class AttackOutcome:
    """What an attack produced: metrics.json's content, one row per attack model (folds.csv), and
    extra tables (``name.csv`` -> table) and figures (``name.png`` -> a function writing one)."""

    metrics: dict[str, Any]
    rows: pd.DataFrame
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    figures: dict[str, Callable[[Path], None]] = field(default_factory=dict)


@dataclass(frozen=True)
class AttackEntry:
    """What ``ATTACKS`` holds for each attack: its settings type, the function that runs it
    (``run(dataset, settings, *, seed, from_run, progress) -> AttackOutcome``) and what it reads
    ("aus" or "frames")."""

    config_type: type
    run: Callable[..., AttackOutcome]
    reads: str = "aus"


@dataclass(frozen=True)
class AttackSpec:
    """A resolved attack run (saved as config.yaml)."""

    attack: str
    profile: str
    seed: int
    data: str
    from_run: str | None
    synthetic: SyntheticConfig | None
    settings: Any


def resolve(attack: str, config_type: type, *, profile: str, seed: int, data: str, from_run: Path | None,
            assignments: list[str]) -> AttackSpec:
    """The attack's profile values and ``--set`` overrides, checked (an unknown profile names the valid ones)."""
    synthetic, rest = resolve_data(data, profile, assignments)
    settings = override(build(config_type, profile_values(attack, profile), f"configs/{attack}.yaml"), rest)
    return AttackSpec(attack, profile, seed, data, str(from_run) if from_run else None, synthetic, settings)


def open_dataset(spec: AttackSpec, reads: str, progress: Progress) -> Dataset:
    """The attacked dataset, checked as ``data validate`` checks it, with what the attack ``reads``:
    action units ("aus") or face frames ("frames")."""
    frames = reads == "frames"
    root = synthetic_dataset(spec.synthetic, frames, progress) if spec.synthetic else Path(spec.data)
    dataset = Dataset(root)
    report = validate(dataset)
    if frames and not report.with_frames:
        raise DatasetError(f"{root}: no face frames (frames.npy) to attack")
    if not frames and not report.with_aus:
        raise DatasetError(f"{root}: no action units (aus.csv) to attack")
    return dataset


def run_attack(spec: AttackSpec, entry: AttackEntry, out: Path | None, progress: Progress, *,
               labels: dict[str, str] | None = None) -> tuple[Path, AttackOutcome]:
    """Claim ``out`` (default results/<run_id>), run, and write the folder atomically (``write_result``);
    ``labels`` (e.g. the benchmark runner's job key and axis values) go into run.json when given."""
    check_labels(labels)
    out = Path(out) if out is not None else Path("results") / new_run_id("attack", spec.attack)
    with atomic_dir(out, hint="choose another --out") as folder:
        started = now()
        with PeakMemory() as memory:
            dataset = open_dataset(spec, entry.reads, progress)
            outcome = entry.run(dataset, spec.settings, seed=spec.seed,
                                from_run=Path(spec.from_run) if spec.from_run else None, progress=progress)
        record = {"run_id": out.name, "kind": "attack", "attack": spec.attack, "dataset": dataset.manifest.name,
                  "dataset_path": str(dataset.root.resolve()), "seed": spec.seed, "profile": spec.profile,
                  "from_run": spec.from_run, "started": started, "finished": now(), "status": "complete",
                  "peak_rss_mb": memory.mb, "versions": versions(), "git_commit": git_commit()}
        config = {**{k: v for k, v in dataclasses.asdict(spec).items() if k not in ("synthetic", "settings")},
                  "synthetic": to_dict(spec.synthetic), "attack_settings": to_dict(spec.settings)}
        write_result(folder, config, record, outcome.metrics, outcome.rows, tables=outcome.tables,
                     figures=outcome.figures, labels=labels)
    return out, outcome
