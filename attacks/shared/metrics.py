"""Attack metrics, in the vocabulary of membership-inference toolkits: top-k accuracy, ROC AUC, equal
error rate, TPR at a fixed FPR, balanced accuracy; and the uncertainty every headline number gets,
a bootstrap interval over participants and a permutation-test p-value.

Every function refuses non-finite scores: an attack that produced NaN has no score.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from scipy.stats import beta
from sklearn import metrics as skm


def _finite(name: str, values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    if not np.isfinite(values).all():
        raise ValueError(f"{name} holds non-finite values; no score is defined")
    return values


def top_k_accuracy(scores: np.ndarray, truth: np.ndarray, k: int) -> float:
    """Share of probes whose true identity is among the ``k`` highest of their ``scores`` row
    ([probes, identities]; ``truth`` holds column indices). Ties count against the attack."""
    scores = _finite("scores", scores)
    truth = np.asarray(truth, dtype=int)
    true_score = scores[np.arange(len(truth)), truth]
    rank = (scores >= true_score[:, None]).sum(axis=1)  # 1 = strictly best; ties push the rank down
    return float(np.mean(rank <= k))


def roc_auc(same: np.ndarray, similarity: np.ndarray) -> float:
    """ROC AUC of ``similarity`` for telling pairs of one person (``same`` True) from pairs of two."""
    return float(skm.roc_auc_score(np.asarray(same, bool), _finite("similarity", similarity)))


def equal_error_rate(same: np.ndarray, similarity: np.ndarray) -> float:
    """The error rate where false accepts equal false rejects (interpolated on the ROC curve)."""
    fpr, tpr, _ = skm.roc_curve(np.asarray(same, bool), _finite("similarity", similarity))
    fnr = 1 - tpr
    i = int(np.argmax(fnr <= fpr))  # first threshold where the curves cross
    if i == 0:
        return float(fpr[0])
    a, b = fpr[i - 1] - fnr[i - 1], fpr[i] - fnr[i]
    t = a / (a - b) if a != b else 0.0
    return float(fpr[i - 1] + t * (fpr[i] - fpr[i - 1]))


def tpr_at_fpr(same: np.ndarray, similarity: np.ndarray, fpr_target: float = 0.01) -> float:
    """The highest true-positive rate reachable with a false-positive rate at most ``fpr_target``."""
    fpr, tpr, _ = skm.roc_curve(np.asarray(same, bool), _finite("similarity", similarity))
    return float(tpr[fpr <= fpr_target].max())


def balanced_accuracy(truth: np.ndarray, predicted: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Mean recall over the classes present in ``truth`` (1/K for K classes at chance; the majority
    class predictor scores exactly 1/K), each example counted with its weight."""
    truth, predicted = np.asarray(truth), np.asarray(predicted)
    weights = np.ones(len(truth)) if weights is None else np.asarray(weights, dtype=float)
    return float(np.mean([np.average(predicted[truth == c] == c, weights=weights[truth == c])
                          for c in np.unique(truth)]))


def bootstrap_ci(statistic: Callable[[np.ndarray], float], groups: np.ndarray, *, resamples: int = 1000,
                 level: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Percentile interval of ``statistic(rows)`` when whole groups (participants) are resampled with
    replacement; ``statistic`` receives the indices of the rows drawn (a row may repeat)."""
    intervals = bootstrap_intervals(lambda rows: {"value": statistic(rows)}, groups, resamples=resamples,
                                    level=level, seed=seed)
    return intervals["value"]


def proportion_interval(statistic: Callable[[np.ndarray], float], groups: np.ndarray, *, resamples: int = 1000,
                        level: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """``bootstrap_ci`` of a proportion (a share of hits), widened to at least the Jeffreys interval of
    that proportion over as many trials as there are groups. With few probes the bootstrap collapses
    to a point when no probe (or every probe) is a hit, an interval of [0, 0] that excludes chance; the
    Jeffreys interval over participants cannot collapse, and counting participants rather than probes
    keeps it conservative when one person's probes stand or fall together."""
    low, high = bootstrap_ci(statistic, groups, resamples=resamples, level=level, seed=seed)
    trials = len(np.unique(groups))
    hits = statistic(np.arange(len(groups))) * trials
    tail = (1 - level) / 2
    jeffreys_low = beta.ppf(tail, hits + 0.5, trials - hits + 0.5) if hits > 0 else 0.0
    jeffreys_high = beta.ppf(1 - tail, hits + 0.5, trials - hits + 0.5) if hits < trials else 1.0
    return float(min(low, jeffreys_low)), float(max(high, jeffreys_high))


def bootstrap_intervals(statistic: Callable[[np.ndarray], dict[str, float]], groups: np.ndarray, *,
                        resamples: int = 1000, level: float = 0.95, seed: int = 0) -> dict[str, tuple[float, float]]:
    """``bootstrap_ci`` for a statistic that returns several named numbers from the same resamples."""
    groups = np.asarray(groups)
    names = np.unique(groups)
    members = [np.flatnonzero(groups == name) for name in names]
    rng = np.random.default_rng(seed)
    values: dict[str, list[float]] = {}
    for _ in range(resamples):
        drawn = rng.integers(0, len(names), len(names))
        for key, value in statistic(np.concatenate([members[i] for i in drawn])).items():
            values.setdefault(key, []).append(value)
    return percentile_intervals(values, level)


def percentile_intervals(values: dict[str, list[float]], level: float = 0.95) -> dict[str, tuple[float, float]]:
    """The central ``level`` percentile interval of each named series of resampled statistics."""
    tail = (1 - level) / 2 * 100
    intervals = {}
    for key, series in values.items():
        low, high = np.percentile(_finite(f"bootstrap statistics of {key}", np.asarray(series)), [tail, 100 - tail])
        intervals[key] = (float(low), float(high))
    return intervals


def bayesian_bootstrap_weights(names: list[str], rng: np.random.Generator) -> dict[str, float]:
    """One Bayesian-bootstrap resample (Rubin 1981) of participants: Dirichlet(1, ..., 1) weights, scaled
    to mean 1. Unlike drawing with replacement it keeps every person, so an attack refitted on the
    resample learns from as many people as the real one (a drawn resample holds ~63% of them)."""
    return dict(zip(names, rng.dirichlet(np.ones(len(names))) * len(names)))


def permutation_p_value(statistic: Callable[[np.ndarray], float], labels: np.ndarray, groups: np.ndarray, *,
                        permutations: int = 200, seed: int = 0) -> float:
    """One-sided p-value of ``statistic(labels)`` against the same statistic with labels shuffled
    between groups (participants), so the structure within a participant is kept; (1 + hits) / (1 + n)."""
    labels, groups = np.asarray(labels), np.asarray(groups)
    names, first = np.unique(groups, return_index=True)
    per_group = labels[first]
    index = np.searchsorted(names, groups)
    observed = statistic(labels)
    rng = np.random.default_rng(seed)
    hits = sum(statistic(rng.permutation(per_group)[index]) >= observed for _ in range(permutations))
    return float((1 + hits) / (1 + permutations))
