"""The membership attacks: what the adversary computes from a released model's losses on the candidates and
from its own shadow models. Both score every candidate person (participant level: the mean of their window
losses) and every window of theirs (window level); a higher score says "member".

- ``loss``: the loss-threshold attack (Yeom et al. 2018): minus the loss; members were fitted, so their loss
  is lower. Its decision threshold is the one that best separates the shadows' members from their non-members.
- ``lira``: the likelihood-ratio attack with shadow models (Carlini et al. 2022, online): for each person (and
  window), Gaussians fitted to the log loss under the shadows that trained on them and under those that did not;
  the score is the log-likelihood ratio of the released model's log loss, and "member" means a ratio above 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import norm
from sklearn.metrics import roc_curve

from privbench.attacks.membership.shadows import Shadow

ATTACKS = ("loss", "lira")
VARIANCES = ("global", "target")
FLOOR = 1e-12  # losses are logged; an exact zero loss becomes log(1e-12)


@dataclass(frozen=True)
class Scores:
    """One attack's scores of one release: per person, per window (each person's windows in order), and the
    threshold from which (score >= threshold) the attack says "member" at each level."""

    people: dict[str, float]
    windows: dict[str, np.ndarray]
    people_threshold: float
    window_threshold: float


def log_loss(values: np.ndarray) -> np.ndarray:
    return np.log(np.maximum(np.asarray(values, dtype=float), FLOOR))


def person_statistic(losses: dict[str, np.ndarray], people: list[str]) -> np.ndarray:
    """Each person's log mean window loss."""
    return log_loss([losses[p].mean() for p in people])


def window_statistic(losses: dict[str, np.ndarray], people: list[str]) -> np.ndarray:
    """Every window's log loss, the people's windows one after another."""
    return log_loss(np.concatenate([losses[p] for p in people]))


def best_threshold(scores: np.ndarray, member: np.ndarray) -> float:
    """The threshold (score >= threshold: member) with the highest balanced accuracy on labelled scores."""
    fpr, tpr, cuts = roc_curve(np.asarray(member, bool), scores)
    best = int(np.argmax(tpr - fpr))
    return float(cuts[best]) if np.isfinite(cuts[best]) else float(np.max(scores)) + 1.0


def _split(scores: np.ndarray, people: list[str], lengths: list[int]) -> dict[str, np.ndarray]:
    return dict(zip(people, np.split(scores, np.cumsum(lengths)[:-1])))


def loss_calibration(shadows: list[Shadow], people: list[str]) -> tuple[float, float]:
    """The loss attack's thresholds (person, window) chosen on the shadows' members and non-members."""
    person, window, person_in, window_in = [], [], [], []
    for shadow in shadows:
        for pid in people:
            side = shadow.side(pid)
            if side is None:
                continue
            person.append(-shadow.losses[pid].mean())
            window.append(-shadow.losses[pid])
            person_in.append(side)
            window_in.append(np.full(len(shadow.losses[pid]), side))
    return (best_threshold(np.asarray(person), np.asarray(person_in)),
            best_threshold(np.concatenate(window), np.concatenate(window_in)))


def loss_attack(losses: dict[str, np.ndarray], thresholds: tuple[float, float]) -> Scores:
    people = sorted(losses)
    return Scores({p: -float(losses[p].mean()) for p in people}, {p: -losses[p] for p in people}, *thresholds)


@dataclass(frozen=True)
class Gaussians:
    """Per-target in and out Gaussians of a statistic."""

    in_mean: np.ndarray
    out_mean: np.ndarray
    in_sd: np.ndarray
    out_sd: np.ndarray

    def log_ratio(self, x: np.ndarray) -> np.ndarray:
        return norm.logpdf(x, self.in_mean, self.in_sd) - norm.logpdf(x, self.out_mean, self.out_sd)


def fit_gaussians(values: np.ndarray, sides: np.ndarray, variance: str) -> Gaussians:
    """``values`` [shadows, targets] and ``sides`` (1: in, 0: out, NaN: neither) -> Gaussians. ``global``: one sd
    per side over every target and shadow (Carlini et al.'s fixed variance, for few shadows); ``target``: each
    target's own sd where it has two observations on that side, else the global one. A target with no "in"
    observation gets its out mean plus the mean in-out shift of the others."""
    inside, outside = sides == 1, sides == 0
    means, sds = [], []
    for mask in (inside, outside):
        count = mask.sum(0)
        total = np.where(mask, values, 0.0).sum(0)
        means.append(np.divide(total, count, out=np.full(values.shape[1], np.nan), where=count > 0))
        pooled = max(float(np.std(values[mask])), FLOOR) if mask.any() else 1.0
        if variance == "target":
            centred = np.where(mask, values - means[-1], 0.0)
            own = np.sqrt(np.divide((centred ** 2).sum(0), count - 1, out=np.zeros(len(count)), where=count > 1))
            sds.append(np.where((count > 1) & (own > FLOOR), own, pooled))
        else:
            sds.append(np.full(values.shape[1], pooled))
    in_mean, out_mean = means
    both = np.isfinite(in_mean) & np.isfinite(out_mean)
    shift = float(np.mean(in_mean[both] - out_mean[both])) if both.any() else 0.0
    in_mean = np.where(np.isfinite(in_mean), in_mean, out_mean + shift)
    return Gaussians(in_mean, out_mean, *sds)


@dataclass(frozen=True)
class LiRA:
    """LiRA's fits: per person and per window, with the candidates' order and window counts."""

    people: list[str]
    lengths: list[int]
    person: Gaussians
    window: Gaussians

    @classmethod
    def fit(cls, shadows: list[Shadow], people: list[str], variance: str) -> LiRA:
        lengths = [len(shadows[0].losses[p]) for p in people]
        sides = np.array([[np.nan if s.side(p) is None else float(s.side(p)) for p in people] for s in shadows])
        window_sides = np.repeat(sides, lengths, axis=1)
        person = fit_gaussians(np.stack([person_statistic(s.losses, people) for s in shadows]), sides, variance)
        window = fit_gaussians(np.stack([window_statistic(s.losses, people) for s in shadows]), window_sides,
                               variance)
        return cls(people, lengths, person, window)

    def scores(self, losses: dict[str, np.ndarray]) -> Scores:
        person = self.person.log_ratio(person_statistic(losses, self.people))
        window = self.window.log_ratio(window_statistic(losses, self.people))
        return Scores(dict(zip(self.people, person.tolist())), _split(window, self.people, self.lengths), 0.0, 0.0)
