"""``privbench attack reid``: settings, the run over attack models, and the segment-length curves."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from privbench.attacks.reid.adaptive import LEARNED, attacker_metrics, fixed_scores, population_scores, strongest
from privbench.attacks.reid.attack import (
    Windowing,
    closed_set_scores,
    open_set_scores,
    rank,
    targets,
    unseen_pairs,
    verify,
)
from privbench.attacks.reid.linkage import Cut, cut
from privbench.attacks.runner import AttackEntry, AttackOutcome
from privbench.attacks.shared import plots
from privbench.attacks.shared.metrics import top_k_accuracy
from privbench.attacks.shared.models import MODELS
from privbench.config import require
from privbench.data.layout import Dataset
from privbench.errors import ConfigError
from privbench.progress import Progress
from privbench.release.build import build_release, release_line
from privbench.release.series import Release
from privbench.release.settings import ReleaseSettings


@dataclass(frozen=True, kw_only=True)
class ReidConfig:
    """Settings of the ``reid`` attack (configs/reid.yaml documents each key)."""

    model: str
    transform: ReleaseSettings
    population: Literal["auto", "none"]
    population_seed: int
    population_participants: int
    population_seconds: float
    window_seconds: float
    stride_seconds: float
    reference_seconds: float
    guard_seconds: float
    probe_seconds: float
    unseen_share: float
    bootstrap: int
    curve_probe_seconds: str
    curve_reference_seconds: str

    def __post_init__(self) -> None:
        require(self.model == "all" or self.model in MODELS, f"unknown attack model {self.model!r}; valid: all, "
                f"{', '.join(MODELS)}")
        require(min(self.window_seconds, self.stride_seconds, self.reference_seconds) > 0,
                "window_seconds, stride_seconds and reference_seconds must be positive")
        require(self.guard_seconds >= self.window_seconds, f"guard_seconds ({self.guard_seconds}) must be at least "
                f"window_seconds ({self.window_seconds}): reference and probes may share no window")
        require(self.reference_seconds >= self.window_seconds,
                f"reference_seconds ({self.reference_seconds}) is shorter than a window ({self.window_seconds} s)")
        require(self.probe_seconds >= 0, "probe_seconds must be >= 0 (0: the whole remainder)")
        require(0 < self.unseen_share < 1, f"unseen_share must be in (0, 1), got {self.unseen_share}")
        require(self.bootstrap >= 100, f"bootstrap must be at least 100, got {self.bootstrap}")
        require(self.population_participants >= 2 and self.population_seconds > 0, "population_participants must "
                "be at least 2 and population_seconds positive")
        for name in ("curve_probe_seconds", "curve_reference_seconds"):
            seconds(getattr(self, name), name)

    @property
    def models(self) -> list[str]:
        return list(MODELS) if self.model == "all" else [self.model]


def seconds(text: str, name: str) -> list[float]:
    """A comma-separated list of non-negative seconds."""
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ConfigError(f"{name}: expected seconds separated by commas, got {text!r}") from None
    if not values or any(not np.isfinite(v) or v < 0 for v in values):
        raise ConfigError(f"{name}: expected non-negative seconds separated by commas, got {text!r}")
    return values


def frames(config: ReidConfig, fps: float, *, reference: float | None = None, probe: float | None = None) -> Cut:
    reference = config.reference_seconds if reference is None else reference
    probe = config.probe_seconds if probe is None else probe
    return Cut(reference=round(reference * fps), guard=round(config.guard_seconds * fps), probe=round(probe * fps))


def run_reid(dataset: Dataset, config: ReidConfig, *, seed: int, from_run: Path | None,
             progress: Progress) -> AttackOutcome:
    """Every chosen attack model, closed and open set; the best model's curves; the adaptive attackers."""
    release = build_release(dataset, config.transform, run=from_run, progress=progress)
    participants = sorted(release.series)
    if len(participants) < 4:
        raise ConfigError(f"reid needs at least 4 participants (2 unseen by the verifier); the data has "
                          f"{len(participants)}")
    windowing = Windowing(length=max(2, round(config.window_seconds * release.fps)),
                          stride=max(1, round(config.stride_seconds * release.fps)), seed=seed)
    view, truth = cut(release, participants, frames(config, release.fps), seed)
    unseen = sorted(np.random.default_rng(seed).choice(participants, max(2, round(config.unseen_share *
                                                                                 len(participants))), replace=False))
    per_model, rows, pairs, closed = {}, [], {}, {}
    task = progress.add("reid attack models", total=len(config.models))
    for name in config.models:
        scores = closed[name] = closed_set_scores(rank(view, name, windowing), truth, resamples=config.bootstrap,
                                                  seed=seed)
        similarity, probes = verify(view, name, windowing, list(unseen))
        pairs[name] = unseen_pairs(similarity, probes, list(unseen), truth)
        opened = open_set_scores(pairs[name], resamples=config.bootstrap, seed=seed)
        per_model[name] = {part: {**scores[part], **opened[part]} for part in ("metrics", "baseline", "ci95")}
        rows.append({"model": name, **per_model[name]["metrics"]})
        progress.advance(task, description=f"reid: {name} top-1 {scores['metrics']['top1']:.3f}")
    progress.remove(task)
    best = max(per_model, key=lambda n: per_model[n]["metrics"]["top1"])
    headline, attackers = adaptive(dataset, release, (view, truth, closed[best]), config, windowing, best, seed,
                                   progress)
    curves = length_curves(release, participants, config, windowing, best, seed)
    threat = {"release": release.representation, "participants": len(participants), "probes": len(view.probes),
              "reference_seconds": config.reference_seconds, "probe_seconds": config.probe_seconds,
              "guard_seconds": config.guard_seconds, "unseen_identities": len(unseen), "best_model": best,
              **release_line(release), **attackers, **({"release_privacy": release.privacy} if release.privacy else {})}
    result = {part: {**per_model[best][part], **headline[part]} for part in ("metrics", "baseline", "ci95")}
    return AttackOutcome(
        metrics={"attack": "reid", "threat_model": threat, **result, "models": per_model},
        rows=pd.DataFrame(rows), tables={"curves.csv": curves},
        figures={"segment_length.png": partial(plots.length_curve, curves),
                 "roc.png": partial(plots.roc, pairs[best].same, pairs[best].similarity, f"unseen identities, {best}")},
    )


def adaptive(dataset: Dataset, release: Release, linkage: tuple, config: ReidConfig, windowing: Windowing, best: str,
             seed: int, progress: Progress) -> tuple[dict[str, dict], dict]:
    """The headline closed-set scores (the strongest adaptive attacker's) with every attacker's own
    ``<attacker>_top1``, and what threat_model says of them (attacks/reid/adaptive.py). ``linkage``: the
    view, its truth and the retrained best model's closed-set scores."""
    view, truth, retrained = linkage
    scored = {"retrained": retrained}
    if config.population == "auto" and release.representation in LEARNED:
        scored["population"] = population_scores(
            view, truth, release.settings, model=best, windowing=windowing, resamples=config.bootstrap, seed=seed,
            population=(config.population_seed, config.population_participants, config.population_seconds),
            progress=progress)
    fixed = fixed_scores(dataset, release, view, truth, frames=frames(config, release.fps), model=best,
                         windowing=windowing, resamples=config.bootstrap, seed=seed)
    chosen = strongest(scored)
    headline = {part: dict(scored[chosen][part]) for part in ("metrics", "baseline", "ci95")}
    for part, values in attacker_metrics(scored, fixed).items():
        headline[part].update(values)
    notes = {"attackers": sorted(scored) + (["fixed"] if fixed else []), "headline_attacker": chosen}
    if fixed:
        notes["fixed_attacker"] = ("trained on the raw references, ignoring the transform: the weaker attacker"
                                   if fixed["metrics"]["top1"] <= scored[chosen]["metrics"]["top1"] else
                                   "trained on the raw references, ignoring the transform: stronger than the adaptive "
                                   "attackers here")
    return headline, notes


def length_curves(release: Release, participants: list[str], config: ReidConfig, windowing: Windowing, model: str,
                  seed: int) -> pd.DataFrame:
    """Top-1 of ``model`` against the probe length (reference fixed) and the reference length (probe
    fixed); lengths the data cannot hold are left out."""
    rows = []
    for axis, values in (("probe", config.curve_probe_seconds), ("reference", config.curve_reference_seconds)):
        for length in seconds(values, f"curve_{axis}_seconds"):
            try:
                view, truth = cut(release, participants, frames(config, release.fps, **{axis: length}), seed)
            except ConfigError:
                continue
            ranked = rank(view, model, windowing)
            top1 = top_k_accuracy(ranked.scores, targets(ranked, truth)[1], 1)
            rows.append({"axis": axis, "seconds": length, "probes": len(view.probes), "top1": top1,
                         "chance": 1 / len(participants)})
    return pd.DataFrame(rows)


REID = AttackEntry(ReidConfig, run_reid)
