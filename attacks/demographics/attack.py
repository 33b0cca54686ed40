"""``demographics``: inferring gender, age band, language, ... from the released AUs of people the
attack model never saw.

Participant-grouped cross-validation: in each fold the adversary holds a labelled population (the
training participants' windows and attributes) and the released windows of unseen people
(``UnseenPeople``); it returns class probabilities per window. The attributes of the unseen people
stay with the scorer. Scores per window and per participant (mean probability over their windows):
balanced accuracy and ROC AUC against the majority baseline; run.py adds the 95%
intervals (participants reweighted by a Bayesian bootstrap, the attack refitted) and the
permutation-test p-value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from privbench.attacks.shared import metrics as m
from privbench.attacks.shared.models import MODELS, Released


@dataclass(frozen=True)
class LabelledPeople:
    """What the adversary knows of its own population: each person's windows (as the attack model
    represents them) and attribute value."""

    inputs: dict[str, np.ndarray]  # participant -> [N, ...]
    attribute: dict[str, str]
    weight: dict[str, float]  # how much each person counts (1 each; a bootstrap resample reweighs)


@dataclass(frozen=True)
class UnseenPeople:
    """What is released about the people under attack: their windows, nothing else."""

    inputs: dict[str, np.ndarray]


def infer(known: LabelledPeople, unseen: UnseenPeople, *, model: str, released: Released,
          seed: int) -> tuple[list[str], dict[str, np.ndarray]]:
    """The attack proper: learn attribute from the known population; class probabilities for every
    unseen window. Returns the class order and participant -> [N, classes]."""
    inputs = np.concatenate(list(known.inputs.values()))
    labels = np.concatenate([np.full(len(x), known.attribute[p]) for p, x in known.inputs.items()])
    weights = np.concatenate([np.full(len(x), known.weight.get(p, 1.0)) for p, x in known.inputs.items()])
    fitted = MODELS.get(model)(released, seed).fit(inputs, labels, weights)
    return [str(c) for c in fitted.classes], {p: fitted.predict_proba(x) for p, x in unseen.inputs.items()}


def attribute_values(participants: pd.DataFrame, column: str) -> dict[str, str]:
    """Each participant's class for ``column``: numeric columns (age) become two bands split at the
    median; empty cells leave the participant out."""
    table = participants[["participant_id", column]].dropna()
    table = table[table[column].astype(str).str.strip() != ""]
    values = pd.to_numeric(table[column], errors="coerce")
    if values.notna().all() and values.nunique() > 2:
        cut = float(values.median())
        labels = np.where(values <= cut, f"<= {cut:g}", f"> {cut:g}")
        return dict(zip(table["participant_id"].astype(str), labels))
    return dict(zip(table["participant_id"].astype(str), table[column].astype(str).str.strip()))


def out_of_fold(inputs: dict[str, np.ndarray], attribute: dict[str, str], *, model: str, released: Released,
                folds: int, seed: int, weight: dict[str, float] | None = None) -> Predictions:
    """Out-of-fold class probabilities for every participant with a value (folds stratified by class),
    each person counted with ``weight`` (default 1) in training and scoring."""
    people = sorted(attribute)
    labels = np.array([attribute[p] for p in people])
    classes = sorted(set(labels))
    weight = weight or dict.fromkeys(people, 1.0)
    out: dict[str, np.ndarray] = {}
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(people, labels):
        known = LabelledPeople({people[i]: inputs[people[i]] for i in train}, attribute, weight)
        unseen = UnseenPeople({people[i]: inputs[people[i]] for i in test})
        order, probabilities = infer(known, unseen, model=model, released=released, seed=seed)
        for pid, p in probabilities.items():  # a class absent from a fold's training people scores 0
            full = np.zeros((len(p), len(classes)))
            full[:, [classes.index(c) for c in order]] = p
            out[pid] = full
    return Predictions(classes, {p: attribute[p] for p in people}, out, weight)


@dataclass(frozen=True)
class Predictions:
    """Out-of-fold class probabilities of each participant's windows and, for the scorer, their truth
    and the weight each person counts with."""

    classes: list[str]
    truth: dict[str, str]
    probabilities: dict[str, np.ndarray]  # participant -> [windows, classes]
    weight: dict[str, float]


def scores(predictions: Predictions) -> dict[str, float]:
    """Balanced accuracy and ROC AUC per participant (mean probability over their windows) and per window."""
    people = sorted(predictions.probabilities)
    counts = [len(predictions.probabilities[p]) for p in people]
    levels = {
        "": (np.array([predictions.truth[p] for p in people]),
             np.stack([predictions.probabilities[p].mean(0) for p in people]),
             np.array([predictions.weight[p] for p in people])),
        "window_": (np.repeat([predictions.truth[p] for p in people], counts),
                    np.concatenate([predictions.probabilities[p] for p in people]),
                    np.repeat([predictions.weight[p] for p in people], counts)),
    }
    out = {}
    for prefix, (truth, probabilities, weights) in levels.items():
        guess = np.array(predictions.classes)[probabilities.argmax(1)]
        out[f"{prefix}balanced_accuracy"] = m.balanced_accuracy(truth, guess, weights)
        out[f"{prefix}auc"] = _auc(truth, probabilities, predictions.classes, weights)
    return out


def _auc(truth: np.ndarray, probabilities: np.ndarray, classes: list[str], weights: np.ndarray) -> float:
    """ROC AUC (one-vs-rest, macro, for more than two classes) over the classes present in ``truth``."""
    present = sorted(set(truth))
    chosen = probabilities[:, [classes.index(c) for c in present]]
    chosen = chosen / np.clip(chosen.sum(1, keepdims=True), 1e-12, None)
    if len(present) == 2:
        return float(roc_auc_score(truth == present[1], chosen[:, 1], sample_weight=weights))
    return float(roc_auc_score(truth, chosen, multi_class="ovr", labels=present, sample_weight=weights))
