"""``reid``: re-identification of people from their released AU series (the linkage threat model).

Closed set: an attack model learns every identity from its reference segment and ranks the
identities for each anonymous probe (mean log-probability over the probe's windows): top-1 and
top-5 accuracy against chance. Open set: identities are split into *known* (the model learns them)
and *unseen*; each unseen segment is embedded by the known-identity model's log-probabilities, and
the cosine similarity of a probe and a reference tells same from different people: ROC AUC, EER
and TPR at 1% FPR. Every headline number gets a 95% bootstrap interval over participants.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from privbench.attacks.reid.linkage import LinkageTruth, LinkageView
from privbench.attacks.shared import metrics as m
from privbench.attacks.shared.features import windows_of
from privbench.attacks.shared.models import MODELS, AttackModel, Released


@dataclass(frozen=True, kw_only=True)
class Windowing:
    """Window length and stride in frames, and the attack's seed."""

    length: int
    stride: int
    seed: int


def segment_windows(values: np.ndarray, windowing: Windowing) -> np.ndarray:
    """A segment's windows; a segment shorter than a window is one window of its own length."""
    windows = windows_of(values, windowing.length, windowing.stride)
    return windows if len(windows) else values[None]


def train(model_name: str, segments: dict[str, np.ndarray], view: LinkageView, windowing: Windowing) -> AttackModel:
    """Fit ``model_name`` on the windows of labelled ``segments`` (identity -> series)."""
    model = MODELS.get(model_name)(Released(view.columns, view.fps), windowing.seed)
    parts = [(model.represent(segment_windows(values, windowing)), identity) for identity, values in segments.items()]
    inputs = np.concatenate([x for x, _ in parts])
    return model.fit(inputs, np.concatenate([np.full(len(x), identity) for x, identity in parts]))


def embed(model: AttackModel, values: np.ndarray, windowing: Windowing) -> np.ndarray:
    """Mean log-probability of each class over the segment's windows."""
    probabilities = model.predict_proba(model.represent(segment_windows(values, windowing)))
    return np.log(np.clip(probabilities, 1e-9, None)).mean(0)


@dataclass(frozen=True)
class ClosedSet:
    """Each probe's scores over the known identities; the truth is attached only in ``score``."""

    identities: list[str]
    probes: list[str]
    scores: np.ndarray  # [probes, identities]


def rank(view: LinkageView, model_name: str, windowing: Windowing) -> ClosedSet:
    """The attack proper: learn the references, score every probe. Sees ``view`` only."""
    model = train(model_name, view.references, view, windowing)
    identities = [str(c) for c in model.classes]
    probes = sorted(view.probes)
    return ClosedSet(identities, probes, np.stack([embed(model, view.probes[p], windowing) for p in probes]))


def targets(result: ClosedSet, truth: LinkageTruth) -> tuple[np.ndarray, np.ndarray]:
    """Each probe's owner and the column of that owner in ``result.scores`` (the scorer's side)."""
    column = {identity: i for i, identity in enumerate(result.identities)}
    owners = np.array([truth.identity[p] for p in result.probes])
    return owners, np.array([column[o] for o in owners])


def closed_set_scores(result: ClosedSet, truth: LinkageTruth, *, resamples: int, seed: int) -> dict[str, dict]:
    """top1 and top5 with chance and 95% intervals (participants resampled, at least the Jeffreys interval
    over participants: see ``metrics.proportion_interval``)."""
    owners, target = targets(result, truth)
    n = len(result.identities)
    out: dict[str, dict] = {"metrics": {}, "baseline": {}, "ci95": {}}
    for k in (1, 5):
        def top_k(rows: np.ndarray, k: int = k) -> float:
            return m.top_k_accuracy(result.scores[rows], target[rows], k)

        out["metrics"][f"top{k}"] = top_k(np.arange(len(target)))
        out["baseline"][f"top{k}"] = min(k, n) / n
        out["ci95"][f"top{k}"] = list(m.proportion_interval(top_k, owners, resamples=resamples, seed=seed))
    return out


def verify(view: LinkageView, model_name: str, windowing: Windowing, unseen: list[str]) -> tuple[np.ndarray, list]:
    """Open set: a model of the known identities embeds the unseen ones; cosine similarity of every
    unseen probe with every unseen reference. Returns the similarity matrix and the pairs' keys."""
    known = {i: v for i, v in view.references.items() if i not in unseen}
    model = train(model_name, known, view, windowing)
    references = np.stack([unit_embedding(model, view.references[i], windowing) for i in unseen])
    probes = sorted(view.probes)
    return np.stack([unit_embedding(model, view.probes[p], windowing) for p in probes]) @ references.T, probes


def unit_embedding(model: AttackModel, values: np.ndarray, windowing: Windowing) -> np.ndarray:
    """A segment as a unit vector: its mean log-probabilities over ``model``'s classes, centred (cosine
    similarity of two such vectors is the learned similarity of open-set verification)."""
    vector = embed(model, values, windowing)
    vector = vector - vector.mean()
    return vector / (np.linalg.norm(vector) + 1e-12)


@dataclass(frozen=True)
class Pairs:
    """Every (unseen probe, unseen reference) pair: same person or not, similarity, the probe's owner.
    Probes of known people are left out: the verifier is scored on identities it never saw."""

    same: np.ndarray
    similarity: np.ndarray
    owner: np.ndarray


def unseen_pairs(similarity: np.ndarray, probes: list[str], unseen: list[str], truth: LinkageTruth) -> Pairs:
    keep = [i for i, p in enumerate(probes) if truth.identity[p] in unseen]
    owners = np.array([truth.identity[probes[i]] for i in keep])
    same = owners[:, None] == np.array(unseen)[None, :]
    return Pairs(same.ravel(), similarity[keep].ravel(), np.repeat(owners, len(unseen)))


def open_set_scores(pairs: Pairs, *, resamples: int, seed: int) -> dict[str, dict]:
    """ROC AUC, EER and TPR at 1% FPR, with chance and 95% intervals (probe owners resampled)."""
    functions = {"auc": m.roc_auc, "eer": m.equal_error_rate, "tpr_at_1fpr": m.tpr_at_fpr}
    out: dict[str, dict] = {"metrics": {}, "baseline": {"auc": 0.5, "eer": 0.5, "tpr_at_1fpr": 0.01}, "ci95": {}}
    for name, function in functions.items():
        def statistic(rows: np.ndarray, function=function) -> float:
            return function(pairs.same[rows], pairs.similarity[rows])  # each probe: one same, n-1 other pairs

        out["metrics"][name] = function(pairs.same, pairs.similarity)
        out["ci95"][name] = list(m.bootstrap_ci(statistic, pairs.owner, resamples=resamples, seed=seed))
    return out
