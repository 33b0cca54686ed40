"""The judge of the membership attacks: ROC metrics with 95% intervals, the empirical lower bound on epsilon,
its check against the run's accountant and the null test. Only this module reads ``MembershipTruth``.

A *trial* is one (release, person) pair: a fold model and a member (a training participant of that fold) or a
non-member (a test participant of that fold). At window level every window of the person is scored against
the person's membership; a person's windows share it, so they are not independent trials and count, where
trials are counted (the Clopper-Pearson bounds), as the one trial of their person.

Epsilon lower bound. An (epsilon, delta)-DP mechanism bounds every test that tells a member trial from a
non-member one: TPR <= e^eps FPR + delta and 1 - FPR <= e^eps (1 - TPR) + delta. So, for each threshold of the
attack's ROC, with TPR_low and FPR_high the Clopper-Pearson bounds of its rates (each one-sided at 97.5%,
jointly 95%),

    eps_lb = max over thresholds of max( log((TPR_low - delta) / FPR_high), log((1 - delta - FPR_high) / (1 - TPR_low)) )

floored at 0. Choosing the best threshold on the same trials makes it an estimate in the privacy-auditing
literature's sense (Jagielski et al. 2020, Nasr et al. 2021), not a certificate; so does treating the trials of
one run as independent (valid for candidates included independently at random, Steinke et al. 2023;
cross-validation's folds assign people at random but not independently).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import beta

from privbench.attacks.membership.attack import Scores
from privbench.attacks.membership.threat import MembershipTruth
from privbench.attacks.shared.metrics import bootstrap_intervals

LEVEL = 0.95
FPRS = {"tpr_at_1fpr": 0.01, "tpr_at_01fpr": 0.001}
BASELINE = {"auc": 0.5, "tpr_at_1fpr": 0.01, "tpr_at_01fpr": 0.001, "balanced_accuracy": 0.5,
            "epsilon_lower_bound": 0.0}


class AuditError(RuntimeError):
    """An empirical lower bound on epsilon above the accountant's epsilon: a bug in the accountant, the DP
    training or the audit. Never an input error: nothing is written and the command fails."""


@dataclass(frozen=True)
class Trials:
    """One attack's scored trials at one level: scores, membership, the person of each row (the bootstrap
    resamples people), how many member and non-member trials there are, and the attack's own threshold."""

    scores: np.ndarray
    member: np.ndarray
    groups: np.ndarray
    counts: tuple[int, int]
    threshold: float


def trials(scored: dict[str, Scores], truth: MembershipTruth, level: str) -> Trials:
    """The trials of ``scored`` (release -> the attack's scores) at ``level`` ("participant" or "window")."""
    scores, member, groups = [], [], []
    for release, pid, is_member in truth.trials():
        values = np.atleast_1d(scored[release].people[pid] if level == "participant" else scored[release].windows[pid])
        scores.append(values)
        member.append(np.full(len(values), is_member))
        groups.append(np.full(len(values), pid))
    first = next(iter(scored.values()))
    threshold = first.people_threshold if level == "participant" else first.window_threshold
    counted = truth.trials()
    counts = (sum(m for *_, m in counted), sum(not m for *_, m in counted))
    return Trials(np.concatenate(scores), np.concatenate(member), np.concatenate(groups), counts, threshold)


def roc_points(scores: np.ndarray, member: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(FPR, TPR) at every distinct threshold (score >= threshold: member), from (0, 0) up: sklearn's
    ``roc_curve(drop_intermediate=False)`` in one sort, cheap enough for every bootstrap resample."""
    order = np.argsort(-scores, kind="mergesort")
    ranked, hits = scores[order], member[order]
    ends = np.r_[np.flatnonzero(np.diff(ranked)), len(ranked) - 1]
    true = np.cumsum(hits)[ends]
    return np.r_[0.0, (ends + 1 - true) / (~member).sum()], np.r_[0.0, true / member.sum()]


def roc_metrics(scores: np.ndarray, member: np.ndarray, threshold: float) -> dict[str, float]:
    """AUC, TPR at 1% and 0.1% FPR, and balanced accuracy at the attack's own threshold."""
    if member.all() or not member.any():
        return {}  # a resample with one class has no ROC
    fpr, tpr = roc_points(scores, member)
    values = {"auc": float(np.trapezoid(tpr, fpr))}
    values.update({name: float(tpr[fpr <= rate].max()) for name, rate in FPRS.items()})
    said = scores >= threshold
    values["balanced_accuracy"] = float((said[member].mean() + (~said[~member]).mean()) / 2)
    return values


def score(t: Trials, *, delta: float, resamples: int, seed: int) -> tuple[dict[str, float], dict[str, tuple]]:
    """The metrics of ``t`` with their 95% bootstrap intervals over people, and the epsilon lower bound."""
    metrics = roc_metrics(t.scores, t.member, t.threshold)
    ci95 = bootstrap_intervals(lambda rows: roc_metrics(t.scores[rows], t.member[rows], t.threshold), t.groups,
                               resamples=resamples, seed=seed)
    metrics["epsilon_lower_bound"] = epsilon_lower_bound(t.scores, t.member, delta=delta, counts=t.counts)["epsilon"]
    return metrics, ci95


def clopper_pearson(hits: np.ndarray, trials: int, level: float = LEVEL) -> tuple[np.ndarray, np.ndarray]:
    """Clopper-Pearson bounds of a proportion (``hits`` may be fractional: window rates times trial counts)."""
    hits = np.asarray(hits, dtype=float)
    tail = (1 - level) / 2
    low = np.where(hits > 0, beta.ppf(tail, np.maximum(hits, 1e-12), trials - hits + 1), 0.0)
    high = np.where(hits < trials, beta.ppf(1 - tail, hits + 1, np.maximum(trials - hits, 1e-12)), 1.0)
    return low, high


def epsilon_lower_bound(scores: np.ndarray, member: np.ndarray, *, delta: float,
                        counts: tuple[int, int] | None = None, level: float = LEVEL) -> dict[str, float]:
    """The module's eps_lb over every threshold of the ROC of ``scores``; ``counts``: the member and non-member
    trials the rates are counted over (default: one per row)."""
    member = np.asarray(member, bool)
    fpr, tpr = roc_points(np.asarray(scores, dtype=float), member)
    n_in, n_out = counts or (int(member.sum()), int((~member).sum()))
    tpr_low, _ = clopper_pearson(tpr * n_in, n_in, level)
    _, fpr_high = clopper_pearson(fpr * n_out, n_out, level)
    with np.errstate(divide="ignore", invalid="ignore"):
        forms = np.stack([np.log((tpr_low - delta) / fpr_high), np.log((1 - delta - fpr_high) / (1 - tpr_low))])
    forms = np.where(np.isfinite(forms), forms, -np.inf)
    form, best = np.unravel_index(int(np.argmax(forms)), forms.shape)
    epsilon = max(0.0, float(forms[form, best]))
    return {"epsilon": epsilon, "tpr": float(tpr[best]), "fpr": float(fpr[best]), "tpr_low": float(tpr_low[best]),
            "fpr_high": float(fpr_high[best]), "form": "tpr/fpr" if form == 0 else "(1-fpr)/(1-tpr)",
            "member_trials": n_in, "non_member_trials": n_out}


def compare(bound: float, privacy: dict[str, Any]) -> dict[str, Any]:
    """The lower bound beside the run's accountant epsilon (the largest over its fold models). Comparable only
    where the privacy unit is the one a membership trial changes, the participant; a bound above the
    accountant's epsilon there raises ``AuditError``."""
    if not privacy:
        return {"accountant_epsilon": None, "unit": None, "comparable": False,
                "reason": "trained without DP: no guarantee to check"}
    epsilon, unit = float(privacy["epsilon"]), privacy["unit"]
    record = {"accountant_epsilon": epsilon, "unit": unit, "accountant": privacy.get("accountant"),
              "delta": privacy.get("delta")}
    if unit != "participant":
        return {**record, "comparable": False,
                "reason": f"the {unit} is the privacy unit: its epsilon bounds one {unit}, while a membership trial "
                          "changes a whole person (all their windows; group privacy over k windows gives k*epsilon "
                          "at delta k*e^((k-1)*epsilon)*delta, vacuous here)"}
    if bound > epsilon:
        raise AuditError(f"empirical epsilon lower bound {bound:.3f} is above the accountant's epsilon {epsilon:.3f} "
                         f"(unit participant, delta {privacy.get('delta')}): a bug in the accountant, the DP training "
                         "or the audit; nothing was written")
    return {**record, "comparable": True, "holds": True}


def null_test(scored: dict[str, Scores], truth: MembershipTruth, *, resamples: int, seed: int) -> dict[str, Any]:
    """People the model never saw (each release's non-members) split at random into pretend members and
    non-members: the attack's participant-level AUC must be chance, its 95% interval holding 0.5."""
    people = [(release, pid) for release, pid, member in truth.trials() if not member]
    fake = np.zeros(len(people), bool)
    fake[np.random.default_rng([seed, 3]).permutation(len(people))[: len(people) // 2]] = True
    scores = np.array([scored[release].people[pid] for release, pid in people])
    groups = np.array([f"{release}/{pid}" for release, pid in people])
    auc = roc_metrics(scores, fake, 0.0)["auc"]
    intervals = bootstrap_intervals(lambda rows: {k: v for k, v in roc_metrics(scores[rows], fake[rows], 0.0).items()
                                                  if k == "auc"}, groups, resamples=resamples, seed=seed)
    low, high = intervals["auc"]
    return {"auc": auc, "ci95": [low, high], "people": len(people), "holds": bool(low <= 0.5 <= high)}
