"""Participant-independent folds: every participant is tested exactly once, never trained on then."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from privbench.errors import ConfigError


@dataclass(frozen=True)
class Split:
    """One fold: who trains, who decides early stopping, who is tested."""

    fold: int
    train: tuple[str, ...]
    validation: tuple[str, ...]
    test: tuple[str, ...]


def participant_folds(ids: list[str], k: int, seed: int) -> list[tuple[str, ...]]:
    """Shuffle participants (deterministically by seed) and deal them into k near-equal test folds."""
    if k < 2:
        raise ConfigError(f"--folds must be at least 2, got {k}")
    if k > len(ids):
        raise ConfigError(f"--folds {k} is more than the {len(ids)} participants in the dataset")
    order = np.random.default_rng(seed).permutation(sorted(ids))
    return [tuple(sorted(part)) for part in np.array_split(order, k)]


def make_splits(ids: list[str], k: int, seed: int, validation: int) -> list[Split]:
    """k splits; ``validation`` participants of each training set are held out for early stopping."""
    folds = participant_folds(ids, k, seed)
    smallest_train = len(ids) - max(len(f) for f in folds)
    if not 0 <= validation < smallest_train:
        raise ConfigError(
            f"val_participants={validation} leaves no training participant "
            f"(a fold trains on {smallest_train} participants)"
        )
    splits = []
    for i, test in enumerate(folds):
        rest = sorted(set(ids) - set(test))
        chosen = np.random.default_rng([seed, i]).choice(rest, size=validation, replace=False)
        val = tuple(sorted(str(p) for p in chosen))
        train = tuple(p for p in rest if p not in val)
        splits.append(Split(i, train, val, test))
    return splits
