"""The linkage threat model: what the re-identification adversary holds, and the truth kept from it.

From each participant's released series the harness cuts a *reference* segment (its start, labelled
with the identity: the adversary's auxiliary knowledge) and, after a guard gap of at least one
window, unlabelled *probe* segments (what is released later). The adversary receives
``LinkageView``; the identities of the probes stay in ``LinkageTruth``, which only the scoring reads.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from privbench.errors import ConfigError
from privbench.release.series import Release


@dataclass(frozen=True)
class LinkageView:
    """The adversary's input: labelled references and anonymous probes (keys carry no identity)."""

    references: dict[str, np.ndarray]  # identity -> [T, F]
    probes: dict[str, np.ndarray]  # opaque probe key -> [T, F]
    columns: tuple[str, ...]
    fps: float


@dataclass(frozen=True)
class LinkageTruth:
    """Who each probe is: for scoring only, never passed to an attack."""

    identity: dict[str, str]  # probe key -> identity


@dataclass(frozen=True, kw_only=True)
class Cut:
    """Segment lengths in frames: reference, guard gap, probe (0: the whole remainder)."""

    reference: int
    guard: int
    probe: int


def cut(release: Release, participants: list[str], cut: Cut, seed: int) -> tuple[LinkageView, LinkageTruth]:
    """References from the start of each series, probes after the guard gap, non-overlapping;
    probe keys are shuffled so their order reveals nothing."""
    references, probes = {}, []
    for pid in participants:
        values = release.series[pid]
        if len(values) < cut.reference + cut.guard + max(cut.probe, 1):
            needed = (cut.reference + cut.guard + cut.probe) / release.fps
            raise ConfigError(f"participant {pid}: {len(values) / release.fps:.1f} s released, shorter than "
                              f"reference + guard + probe ({needed:.1f} s)")
        references[pid] = values[: cut.reference]
        rest = values[cut.reference + cut.guard:]
        length = cut.probe or len(rest)
        probes += [(pid, rest[start: start + length]) for start in range(0, len(rest) - length + 1, length)]
    order = np.random.default_rng(seed).permutation(len(probes))
    keys = [f"probe-{i:05d}" for i in range(len(probes))]
    view = LinkageView(references, {keys[i]: probes[j][1] for i, j in enumerate(order)}, release.columns, release.fps)
    return view, LinkageTruth({keys[i]: probes[j][0] for i, j in enumerate(order)})
