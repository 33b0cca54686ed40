"""Shadow models: the adversary's own models, trained by privbench with the attacked run's method and settings
(DP included: the adversary knows the training algorithm) on random halves of the candidates. Halves come in
complementary pairs, so every candidate is in the half of exactly half the shadows; like the attacked run,
each shadow holds ``val_participants`` of its half out for early stopping, and those people are neither in nor
out of that shadow."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from privbench.attacks.membership.losses import losses_of
from privbench.attacks.membership.threat import Candidates, TrainingRecipe
from privbench.data.layout import Dataset
from privbench.data.splits import Split
from privbench.data.windows import Normalizer
from privbench.errors import ConfigError
from privbench.methods import METHODS
from privbench.progress import Progress


@dataclass(frozen=True)
class Shadow:
    """One shadow model's per-window losses on every candidate, and who it trained on (``members``) or held
    out for early stopping (``validation``)."""

    losses: dict[str, np.ndarray]
    members: frozenset[str]
    validation: frozenset[str]

    def side(self, pid: str) -> bool | None:
        """True: trained on ``pid``; False: never saw them; None: chose its epoch on them."""
        return None if pid in self.validation else pid in self.members


def halves(people: list[str], count: int, seed: int) -> list[tuple[str, ...]]:
    """``count`` (even) random halves of ``people``: each drawn half, then its complement."""
    rng = np.random.default_rng([seed, 7])
    drawn: list[tuple[str, ...]] = []
    for _ in range(count // 2):
        order = rng.permutation(people)
        size = len(people) // 2 + int(rng.integers(0, 2)) * (len(people) % 2)
        drawn += [tuple(sorted(order[:size])), tuple(sorted(order[size:]))]
    return drawn


def shadow_split(index: int, half: tuple[str, ...], validation: int, seed: int) -> Split:
    """A shadow's training split: its half less ``validation`` people for early stopping; no test fold."""
    if len(half) - validation < 1:
        raise ConfigError(f"a shadow model's half of {len(half)} people leaves no one to train on after "
                          f"{validation} validation participant(s); the attack needs more candidates")
    held = set(np.random.default_rng([seed, index, 11]).choice(half, size=validation, replace=False).tolist())
    return Split(index, tuple(p for p in half if p not in held), tuple(sorted(held)), ())


def train_shadows(recipe: TrainingRecipe, dataset: Dataset, candidates: Candidates, *, count: int, seed: int,
                  progress: Progress) -> list[Shadow]:
    """``count`` shadow models trained as the run trained its fold models, each scored on every candidate."""
    method = METHODS.get(recipe.method)
    config = recipe.config
    task = progress.add("membership: shadow models", total=count)
    shadows = []
    for index, half in enumerate(halves(candidates.people, count, seed)):
        split = shadow_split(index, half, config.stopping.val_participants, seed)
        output = method.train_fold(dataset, split, config, recipe.rnn, seed * 1000 + 500 + index,
                                   torch.device("cpu"), progress)
        normalizer = Normalizer(np.asarray(output.preprocessing["mean"]), np.asarray(output.preprocessing["std"]))
        losses = losses_of(output.model, normalizer, config.windows, config.optim.loss, candidates.sequences)
        shadows.append(Shadow(losses, frozenset(split.train), frozenset(split.validation)))
        progress.advance(task)
    progress.remove(task)
    return shadows
