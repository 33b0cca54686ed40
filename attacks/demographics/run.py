"""``privbench attack demographics``: settings and the run over the dataset's attributes."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from privbench.attacks.demographics.attack import attribute_values, out_of_fold, scores
from privbench.attacks.runner import AttackEntry, AttackOutcome
from privbench.attacks.shared import metrics as m
from privbench.attacks.shared import plots
from privbench.attacks.shared.features import windows_of
from privbench.attacks.shared.models import MODELS, Released
from privbench.config import require
from privbench.data.layout import Dataset
from privbench.errors import DatasetError
from privbench.progress import Progress
from privbench.release.build import build_release, release_line
from privbench.release.settings import ReleaseSettings


@dataclass(frozen=True, kw_only=True)
class DemographicsConfig:
    """Settings of the ``demographics`` attack (configs/demographics.yaml documents each key)."""

    model: str
    transform: ReleaseSettings
    window_seconds: float
    stride_seconds: float
    folds: int
    min_per_class: int
    permutations: int
    bootstrap: int

    def __post_init__(self) -> None:
        require(self.model in MODELS, f"unknown attack model {self.model!r}; valid: {', '.join(MODELS)}")
        require(self.window_seconds > 0 and self.stride_seconds > 0, "window_seconds and stride_seconds must be "
                "positive")
        require(self.folds >= 2, f"folds must be at least 2, got {self.folds}")
        require(self.min_per_class >= 2, f"min_per_class must be at least 2, got {self.min_per_class}")
        require(self.permutations >= 10, f"permutations must be at least 10, got {self.permutations}")
        require(self.bootstrap >= 20, f"bootstrap must be at least 20, got {self.bootstrap}")


def run_demographics(dataset: Dataset, config: DemographicsConfig, *, seed: int, from_run: Path | None,
                     progress: Progress) -> AttackOutcome:
    """Every attribute of participants.csv with enough people per class; the others are listed as such."""
    attributes = [c for c in dataset.participants.columns if c != "participant_id"]
    if not attributes or dataset.participants[attributes].isna().all().all():
        raise DatasetError(f"{dataset.root / 'participants.csv'}: no demographic attributes to infer "
                           "(the dataset has no participant metadata)")
    release = build_release(dataset, config.transform, run=from_run, progress=progress)
    length = max(2, round(config.window_seconds * release.fps))
    windows = {p: windows_of(v, length, max(1, round(config.stride_seconds * release.fps)))
               for p, v in release.series.items()}
    released = Released(release.columns, release.fps)
    representer = MODELS.get(config.model)(released, seed)  # features once per person, reused by every fit
    inputs = {p: representer.represent(w) for p, w in windows.items() if len(w)}
    metrics: dict[str, dict] = {"metrics": {}, "baseline": {}, "ci95": {}}
    skipped, rows = {}, []
    refits = 2 + config.bootstrap + config.permutations  # the permutation test rescores the truth once
    task = progress.add("demographic attributes", total=len(attributes) * refits)
    for name in attributes:
        values = {p: v for p, v in attribute_values(dataset.participants, name).items() if p in inputs}
        reason = too_few(values, config.min_per_class)
        if reason:
            skipped[name] = reason
            progress.advance(task, steps=refits)
        else:
            result = score_attribute(name, values, inputs, config, released, seed,
                                     tick=partial(progress.advance, task, f"demographics: {name}"))
            for part in metrics:
                metrics[part].update(result[part])
            rows.append({"attribute": name, "classes": len(set(values.values())), "people": len(values),
                         **{metric.removeprefix(f"{name}_"): v for metric, v in result["metrics"].items()}})
    progress.remove(task)
    threat = {"release": release.representation, "model": config.model, "participants": len(inputs),
              "folds": config.folds, "window_seconds": config.window_seconds, "not_scored": skipped,
              **release_line(release), **({"release_privacy": release.privacy} if release.privacy else {})}
    table = pd.DataFrame(rows)
    figures = {"attributes.png": partial(plots.attributes, table)} if len(table) else {}
    return AttackOutcome(metrics={"attack": "demographics", "threat_model": threat, **metrics}, rows=table,
                         figures=figures)


def too_few(values: dict[str, str], minimum: int) -> str:
    """Why an attribute cannot be scored ("" if it can): one class only, or a class with too few people."""
    counts = pd.Series(list(values.values())).value_counts()
    if len(counts) < 2:
        return f"one class only ({', '.join(counts.index) or 'no values'})"
    if counts.min() < minimum:
        return f"class {counts.idxmin()!r} has {counts.min()} people (min_per_class {minimum})"
    return ""


def score_attribute(name: str, values: dict[str, str], inputs: dict[str, np.ndarray], config: DemographicsConfig,
                    released: Released, seed: int, tick: Callable[[], None]) -> dict[str, dict]:
    """Headline numbers of one attribute with baselines, 95% intervals and the permutation p-value;
    ``tick`` is called before each of its 2 + bootstrap + permutations cross-validations."""
    def attack(labels: dict[str, str], weight: dict[str, float] | None = None, split: int = seed) -> dict[str, float]:
        tick()
        return scores(out_of_fold(inputs, labels, model=config.model, released=released, seed=split, folds=folds,
                                  weight=weight))

    folds = min(config.folds, int(pd.Series(list(values.values())).value_counts().min()))
    observed = attack(values)
    rng = np.random.default_rng(seed)
    resampled: dict[str, list[float]] = {}
    for resample in range(config.bootstrap):  # people reweighed, folds redrawn, the attack refitted
        weight = m.bayesian_bootstrap_weights(sorted(values), rng)
        for metric, value in attack(values, weight, split=seed + 1 + resample).items():
            resampled.setdefault(metric, []).append(value)
    intervals = m.percentile_intervals(resampled)
    classes = len(set(values.values()))
    out: dict[str, dict] = {"metrics": {}, "baseline": {}, "ci95": {}}
    for metric, value in observed.items():
        out["metrics"][f"{name}_{metric}"] = value
        out["baseline"][f"{name}_{metric}"] = 1 / classes if metric.endswith("balanced_accuracy") else 0.5
        out["ci95"][f"{name}_{metric}"] = list(intervals[metric])
    people = sorted(values)

    def accuracy(labels: np.ndarray) -> float:
        return attack(dict(zip(people, labels)))["balanced_accuracy"]

    out["metrics"][f"{name}_p_value"] = m.permutation_p_value(accuracy, np.array([values[p] for p in people]),
                                                              np.array(people), permutations=config.permutations,
                                                              seed=seed)
    return out


DEMOGRAPHICS = AttackEntry(DemographicsConfig, run_demographics)
