"""``privbench attack membership --from-run RUN``: settings, the run (shadow models, the two attacks at two
levels, the audit) and what it writes."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from privbench.attacks.membership import audit
from privbench.attacks.membership.attack import ATTACKS, VARIANCES, LiRA, Scores, loss_attack, loss_calibration
from privbench.attacks.membership.losses import losses_of
from privbench.attacks.membership.shadows import train_shadows
from privbench.attacks.membership.target import AttackedRun, open_run
from privbench.attacks.membership.threat import Candidates
from privbench.attacks.runner import AttackEntry, AttackOutcome
from privbench.attacks.shared import plots
from privbench.config import require
from privbench.data.layout import Dataset
from privbench.errors import InputError
from privbench.progress import Progress

LEVELS = ("participant", "window")
WHAT_LEVELS_BOUND = {
    "participant": "one decision per (fold model, person) from the person's mean window loss: a test of whether "
                   "the person was trained on; its epsilon lower bound bounds the person-level (participant "
                   "unit) epsilon",
    "window": "one decision per window from that window's loss, against its person's membership: many more "
              "samples (the ROC reaches lower false-positive rates), but a person's windows share their "
              "membership, so they count as one trial in the epsilon bound, which again bounds the person-level "
              "epsilon, never the window unit's (a run trains on all of a member's windows: no window of a "
              "member is held out to test window-level membership)",
}


@dataclass(frozen=True, kw_only=True)
class MembershipConfig:
    """Settings of the ``membership`` attack (configs/membership.yaml documents each key)."""

    shadow_models: int
    lira_variance: str
    bootstrap: int

    def __post_init__(self) -> None:
        require(self.shadow_models >= 2 and self.shadow_models % 2 == 0,
                f"shadow_models must be even and at least 2 (halves and their complements), got {self.shadow_models}")
        require(self.lira_variance in VARIANCES, f"unknown lira_variance {self.lira_variance!r}; valid: "
                f"{', '.join(VARIANCES)}")
        require(self.bootstrap >= 100, f"bootstrap must be at least 100, got {self.bootstrap}")


def attack_run(attacked: AttackedRun, dataset: Dataset, config: MembershipConfig, *, seed: int,
               progress: Progress) -> dict[str, dict[str, Scores]]:
    """The adversary's side: shadows trained on the candidates, then each attack's scores of every release."""
    from privbench.methods.au import au_sequence

    candidates = Candidates({pid: au_sequence(dataset, pid) for pid in dataset.ids})
    shadows = train_shadows(attacked.recipe, dataset, candidates, count=config.shadow_models, seed=seed,
                            progress=progress)
    thresholds = loss_calibration(shadows, candidates.people)
    lira = LiRA.fit(shadows, candidates.people, config.lira_variance)
    scored: dict[str, dict[str, Scores]] = {name: {} for name in ATTACKS}
    for released in attacked.releases:
        losses = losses_of(released.model, released.normalizer, released.windows, released.loss,
                           candidates.sequences)
        scored["loss"][released.release] = loss_attack(losses, thresholds)
        scored["lira"][released.release] = lira.scores(losses)
    return scored


def judge(scored: dict[str, dict[str, Scores]], attacked: AttackedRun, config: MembershipConfig,
          seed: int) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, audit.Trials]]:
    """The scorer's side: every attack at every level, with intervals, bounds, the check and the null test."""
    metrics: dict[str, float] = {}
    ci95: dict[str, tuple[float, float]] = {}
    rows, scored_trials, bounds = [], {}, {}
    for name in ATTACKS:
        for level in LEVELS:
            trials = audit.trials(scored[name], attacked.truth, level)
            values, intervals = audit.score(trials, delta=attacked.delta, resamples=config.bootstrap, seed=seed)
            prefix = name if level == "participant" else f"{name}_window"
            metrics.update({f"{prefix}_{k}": v for k, v in values.items()})
            ci95.update({f"{prefix}_{k}": v for k, v in intervals.items()})
            rows.append({"attack": name, "level": level, **values})
            scored_trials[f"{name}, {level}"] = trials
            bounds[prefix] = values["epsilon_lower_bound"]
    best = max(ATTACKS, key=lambda n: metrics[f"{n}_auc"])
    headline = {k: metrics[f"{best}_{k}"] for k in ("auc", *audit.FPRS, "balanced_accuracy")}
    epsilon = max(bounds.values())
    comparison = audit.compare(epsilon, attacked.privacy)  # raises when the bound is above the accountant's
    null = {name: audit.null_test(scored[name], attacked.truth, resamples=config.bootstrap, seed=seed)
            for name in ATTACKS}
    result = {"attack": "membership", "threat_model": threat_model(attacked, config, best, bounds, comparison),
              "metrics": {**headline, "epsilon_lower_bound": epsilon, **metrics},
              "baseline": baselines([*headline, "epsilon_lower_bound", *metrics]),
              "ci95": {**{k: ci95[f"{best}_{k}"] for k in headline if f"{best}_{k}" in ci95}, **ci95},
              "null_test": {**null, "holds": all(n["holds"] for n in null.values())}}
    return result, rows, scored_trials


def baselines(names: list[str]) -> dict[str, float]:
    return {name: next(v for k, v in audit.BASELINE.items() if name.endswith(k)) for name in names}


def threat_model(attacked: AttackedRun, config: MembershipConfig, best: str, bounds: dict[str, float],
                 comparison: dict[str, Any]) -> dict[str, Any]:
    members = sum(len(v) for v in attacked.truth.members.values())
    return {
        "released": "each fold model with its input normaliser; the adversary holds every candidate's AU data "
                    "and the training algorithm (method settings, DP included)",
        "from_run": str(attacked.folder), "method": attacked.recipe.method, "rnn": attacked.recipe.rnn,
        "loss": attacked.recipe.config.optim.loss, "releases": len(attacked.releases),
        "member_trials": members, "non_member_trials": sum(len(v) for v in attacked.truth.non_members.values()),
        "excluded": "each fold's validation participants (they chose the kept epoch, were not trained on): not "
                    f"scored ({sum(len(v) for v in attacked.truth.excluded.values())} (fold, person) pairs)",
        "shadow_models": config.shadow_models, "lira_variance": config.lira_variance, "best_attack": best,
        "levels": WHAT_LEVELS_BOUND, "delta": attacked.delta,
        "epsilon_lower_bounds": bounds, "epsilon_comparison": comparison,
    }


def score_table(scored: dict[str, dict[str, Scores]], attacked: AttackedRun) -> pd.DataFrame:
    """scores.csv: every participant-level trial with each attack's score."""
    return pd.DataFrame([{"release": release, "participant": pid, "member": member,
                          **{f"{name}_score": scored[name][release].people[pid] for name in ATTACKS}}
                         for release, pid, member in attacked.truth.trials()])


def run_membership(dataset: Dataset, config: MembershipConfig, *, seed: int, from_run: Path | None,
                   progress: Progress) -> AttackOutcome:
    """Shadow models, both attacks on every fold model, then the audit; an epsilon lower bound above the
    accountant's raises ``AuditError`` before anything is written."""
    if from_run is None:
        raise InputError("the membership attack needs --from-run RUN (an au run with its fold models)")
    attacked = open_run(from_run, dataset.ids)
    scored = attack_run(attacked, dataset, config, seed=seed, progress=progress)
    metrics, rows, scored_trials = judge(scored, attacked, config, seed)
    curves = {label: (t.member, t.scores) for label, t in scored_trials.items()}
    title = f"membership: {attacked.recipe.method} {attacked.recipe.rnn}, {len(attacked.releases)} fold models"
    return AttackOutcome(metrics=metrics, rows=pd.DataFrame(rows), tables={"scores.csv": score_table(scored, attacked)},
                         figures={"roc.png": partial(plots.roc_log, curves, title)})


MEMBERSHIP = AttackEntry(MembershipConfig, run_membership)

__all__ = ["MEMBERSHIP", "MembershipConfig"]
