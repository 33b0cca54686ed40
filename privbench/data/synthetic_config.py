"""The synthetic generator's settings (configs/synthetic.yaml), torch-, numpy- and scipy-free so that a
command checks ``--set data.KEY=VALUE`` before it imports the data stack; the generator is
privbench.data.synthetic."""

from __future__ import annotations

from dataclasses import dataclass

from privbench.config import require

RECOLA_ANNOTATORS = ("FM1", "FM2", "FM3", "FF1", "FF2", "FF3")
MAX_PARTICIPANTS = 10_000
MAX_FRAMES = 360_000  # per participant; beyond this the generator's arrays no longer fit a laptop's memory


@dataclass(frozen=True)
class SyntheticConfig:
    """Knobs of the generator (configs/synthetic.yaml documents each)."""

    participants: int
    seconds: float
    fps: float
    frame_size: int
    frame_nuisance: float
    seed: int
    annotators: int
    identity_strength: float
    demographic_strength: float
    affect_timescale: float
    expression_noise: float
    au_noise: float
    rating_noise: float
    rating_delay: float

    def __post_init__(self) -> None:
        require(2 <= self.participants <= MAX_PARTICIPANTS,
                f"data.participants must be in 2..{MAX_PARTICIPANTS:,}, got {self.participants}")
        require(self.seconds > 0 and self.fps > 0, "data.seconds and data.fps must be positive")
        require(self.frames >= 10, f"data.seconds x data.fps gives {self.frames} frames; need at least 10")
        require(self.frames <= MAX_FRAMES, f"data.seconds x data.fps gives {float(self.frames):.3g} frames per "
                f"participant; at most {MAX_FRAMES:,} (4 hours at 25 fps)")
        require(16 <= self.frame_size <= 256, f"data.frame_size must be in 16..256, got {self.frame_size}")
        require(self.annotators >= 1, f"data.annotators must be at least 1, got {self.annotators}")
        for name in ("identity_strength", "demographic_strength", "frame_nuisance", "expression_noise", "au_noise",
                     "rating_noise",
                     "rating_delay"):
            require(getattr(self, name) >= 0, f"data.{name} must be >= 0, got {getattr(self, name)}")
        require(self.affect_timescale > 0, "data.affect_timescale must be positive")

    @property
    def frames(self) -> int:
        return int(round(self.seconds * self.fps))

    @property
    def annotator_names(self) -> list[str]:
        if self.annotators <= len(RECOLA_ANNOTATORS):
            return list(RECOLA_ANNOTATORS[: self.annotators])
        return [f"A{i + 1}" for i in range(self.annotators)]
