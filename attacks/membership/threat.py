"""The membership threat model: what the adversary holds, and the truth kept from it.

A run releases one model per fold. The adversary holds a released model (its weights, the input
preprocessing fitted with it, the window length and loss it was trained with), the data of candidate
people, and the training algorithm (method, settings, DP included), with which it trains shadow models of
its own. It asks, for each candidate, whether that person was in the model's training set. Who was
(``MembershipTruth``: members are the fold's training participants, non-members its test participants; its
validation participants, which chose the kept epoch but were not trained on, are neither and are not
scored) reaches the scorer only: the attack's functions take ``ReleasedModel``, ``Candidates`` and
``TrainingRecipe``, none of which names a participant of the split.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch import nn

from privbench.data.windows import Normalizer, Sequence
from privbench.settings import WindowSettings


@dataclass(frozen=True)
class ReleasedModel:
    """One released model as the adversary receives it; ``release`` is an opaque name (``fold 3``)."""

    release: str
    model: nn.Module
    normalizer: Normalizer
    windows: WindowSettings
    loss: str


@dataclass(frozen=True)
class TrainingRecipe:
    """The training algorithm the adversary knows: the method, its settings (DP included) and the RNN head."""

    method: str
    config: Any
    rnn: str


@dataclass(frozen=True)
class Candidates:
    """The people whose data the adversary holds: each one's raw AU sequence with its gold labels (the
    loss needs them), keyed by participant id (a candidate's name is not its membership)."""

    sequences: dict[str, Sequence]

    @property
    def people(self) -> list[str]:
        return sorted(self.sequences)


@dataclass(frozen=True)
class MembershipTruth:
    """Who each release was trained on (members), held out from (non-members) or neither (excluded: the
    validation participants): for scoring only, never passed to an attack."""

    members: dict[str, tuple[str, ...]]
    non_members: dict[str, tuple[str, ...]]
    excluded: dict[str, tuple[str, ...]]

    def trials(self) -> list[tuple[str, str, bool]]:
        """Every scored (release, person, member) trial, members first within each release."""
        return [(release, pid, member) for release in self.members
                for member, people in ((True, self.members[release]), (False, self.non_members[release]))
                for pid in people]
