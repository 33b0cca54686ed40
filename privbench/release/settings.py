"""The release settings: which transform, and each transform's strength (torch- and numpy-free, so a
command checks them before it imports anything heavy).

One group (``ReleaseSettings``) in the configs of ``au``, ``reid`` and ``demographics``, its keys flat like
every group's: ``--set release=noise --set noise.snr=3``. Each transform reads its own sub-settings
(``noise.*``, ``ldp.*``, ``coarsen.*``, ``quantise.*``, ``privatiser.*``), each with a default; a strength
outside its range is refused here, a strength the data cannot hold (a block longer than a session) when
the release is built. docs/defences.md lists every key.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Literal

from privbench.config import Group, require
from privbench.release import NEEDS_RUN, TRANSFORMS


@dataclass(frozen=True, kw_only=True)
class NoiseSettings:
    """``noise``: Gaussian noise whose variance is each column's variance (per participant) over ``snr``."""

    snr: float = 1.0

    def __post_init__(self) -> None:
        require(self.snr > 0, f"noise.snr must be positive (a variance ratio), got {self.snr}")


@dataclass(frozen=True, kw_only=True)
class LDPSettings:
    """``ldp``: windows of ``window_seconds``; each window's per-column means of the clipped AUs are released
    through the ``mechanism`` at ``epsilon`` per window (Gaussian: (epsilon, delta) per window)."""

    epsilon: float = 10.0
    mechanism: Literal["laplace", "gaussian"] = "laplace"
    delta: float = 1e-5
    window_seconds: float = 2.0

    def __post_init__(self) -> None:
        require(self.epsilon > 0, f"ldp.epsilon must be positive, got {self.epsilon}")
        require(0 < self.delta < 1, f"ldp.delta must be in (0, 1), got {self.delta}")
        require(self.window_seconds > 0, f"ldp.window_seconds must be positive, got {self.window_seconds}")


@dataclass(frozen=True, kw_only=True)
class CoarsenSettings:
    """``coarsen``: each block of ``seconds`` replaced by its mean (held over the block's frames)."""

    seconds: float = 1.0

    def __post_init__(self) -> None:
        require(self.seconds > 0, f"coarsen.seconds must be positive, got {self.seconds}")


@dataclass(frozen=True, kw_only=True)
class QuantiseSettings:
    """``quantise``: AU intensities rounded to ``levels`` evenly spaced values over their range."""

    levels: int = 3

    def __post_init__(self) -> None:
        require(self.levels >= 2, f"quantise.levels must be at least 2, got {self.levels}")


@dataclass(frozen=True, kw_only=True)
class PrivatiserSettings:
    """``privatiser``: an encoder of ``dims`` outputs per frame, trained for ``epochs`` on the ``public``
    population ("synthetic": the synthetic corpus, ``public_participants`` x ``public_seconds``, generator
    seed ``public_seed``; or a dataset folder) to keep valence/arousal while an identity classifier, whose
    gradient reaches the encoder reversed and scaled by ``weight``, learns who each window is."""

    weight: float = 1.0
    dims: int = 8
    epochs: int = 12
    public: str = "synthetic"
    public_seed: int = 1000
    public_participants: int = 23
    public_seconds: float = 300.0

    def __post_init__(self) -> None:
        require(self.weight >= 0, f"privatiser.weight must be >= 0, got {self.weight}")
        require(self.dims >= 1 and self.epochs >= 1, f"privatiser.dims and privatiser.epochs must be positive, got "
                f"{self.dims} and {self.epochs}")
        require(self.public_participants >= 4, f"privatiser.public_participants must be at least 4, got "
                f"{self.public_participants}")
        require(self.public_seconds >= 20, f"privatiser.public_seconds must be at least 20, got {self.public_seconds}")


PARAMETERS = {"noise": "noise", "ldp": "ldp", "coarsen": "coarsen", "quantise": "quantise", "privatiser": "privatiser"}


@dataclass(frozen=True, kw_only=True)
class ReleaseSettings(Group):
    """What a participant's AU series becomes before it is released (``release``), with every transform's
    strength; ``release_seed`` seeds the noise of the noisy transforms (with each participant's id, so a
    person's release does not depend on who else is in the data)."""

    release: str
    release_seed: int = 0
    noise: NoiseSettings = field(default_factory=NoiseSettings)
    ldp: LDPSettings = field(default_factory=LDPSettings)
    coarsen: CoarsenSettings = field(default_factory=CoarsenSettings)
    quantise: QuantiseSettings = field(default_factory=QuantiseSettings)
    privatiser: PrivatiserSettings = field(default_factory=PrivatiserSettings)

    def __post_init__(self) -> None:
        TRANSFORMS.describe(self.release)  # an unknown name lists the valid ones
        if self.release == "privatiser":
            public = self.privatiser.public
            require(public == "synthetic" or (public not in ("", "none") and Path(public).is_dir()),
                    f"release=privatiser needs its public population: privatiser.public={public or '(empty)'} is not "
                    "'synthetic' or a dataset folder")

    @property
    def parameters(self) -> object | None:
        """The chosen transform's own settings (None for a transform without any)."""
        name = PARAMETERS.get(self.release)
        return getattr(self, name) if name else None

    def describe(self) -> str:
        """The transform and its strength in one token: ``noise(snr=3)``, ``raw``."""
        chosen = self.parameters
        if chosen is None:
            return self.release
        values = ",".join(f"{f.name}={getattr(chosen, f.name):g}" if isinstance(getattr(chosen, f.name), float)
                          else f"{f.name}={getattr(chosen, f.name)}" for f in fields(chosen))
        return f"{self.release}({values})"


def trainable(settings: ReleaseSettings, method: str) -> None:
    """A training input must be an AU series: the releases read from a run folder are for attacks only."""
    require(settings.release not in NEEDS_RUN, f"release={settings.release} is read from a run folder (attacks "
            f"only); {method} trains on an AU release: " + ", ".join(n for n in TRANSFORMS if n not in NEEDS_RUN))
