"""uint8 face frames -> the float tensors the backbone sees: resized, then normalised.

Two normalisations:

- ``person``: subtract the participant's own mean frame and divide by the participant's residual
  standard deviation (per-subject standardisation, as AVEC baselines do for features). What is
  left is how each frame departs from that person's average face: expression, pose and lighting,
  with most of the identity removed. It needs the participant's frames (all of them, or a
  client's own in federated training); it never mixes people.
- ``imagenet``: the ImageNet channel mean and standard deviation (for ImageNet weights as trained).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional

from privbench.settings import Normalisation

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], np.float32) * 255
IMAGENET_STD = np.array([0.229, 0.224, 0.225], np.float32) * 255


@dataclass(frozen=True)
class FrameStatistics:
    """A participant's mean frame (float32 [H, W, 3], grey levels) and residual sd (one number)."""

    mean: np.ndarray
    sd: float


def frame_statistics(frames: np.ndarray) -> FrameStatistics:
    """Mean frame and residual sd of uint8 frames [N, H, W, 3]."""
    as_float = frames.astype(np.float64)
    mean = as_float.mean(axis=0)
    sd = float(np.sqrt(((as_float - mean) ** 2).mean()))
    return FrameStatistics(mean.astype(np.float32), max(sd, 1.0))


def merge_statistics(parts: list[tuple[int, FrameStatistics]]) -> FrameStatistics:
    """Statistics of a concatenation from those of its (count, statistics) chunks."""
    total = sum(n for n, _ in parts)
    mean = sum(n * s.mean.astype(np.float64) for n, s in parts) / total
    second = sum(n * (s.sd**2 + float(((s.mean - mean) ** 2).mean())) for n, s in parts) / total
    return FrameStatistics(mean.astype(np.float32), max(float(np.sqrt(second)), 1.0))


@dataclass(frozen=True)
class FrameTransform:
    """Resize to ``size`` x ``size`` (0: keep the stored size; area averaging) and normalise."""

    normalise: Normalisation
    size: int = 0

    @property
    def needs_statistics(self) -> bool:
        """Whether frames need their participant's ``FrameStatistics`` (``person`` normalisation)."""
        return self.normalise == "person"

    def __call__(self, frames: np.ndarray, statistics: FrameStatistics | None = None) -> torch.Tensor:
        """uint8 [N, H, W, 3] -> float32 [N, 3, S, S]; ``statistics`` are required for ``person``."""
        if self.needs_statistics:
            if statistics is None:
                raise ValueError("person normalisation needs the participant's frame statistics")
            centred = (frames.astype(np.float32) - statistics.mean) / np.float32(statistics.sd)
        else:
            centred = (frames.astype(np.float32) - IMAGENET_MEAN) / IMAGENET_STD
        return self.resize(torch.from_numpy(centred).permute(0, 3, 1, 2))

    def resize(self, images: torch.Tensor) -> torch.Tensor:
        """[N, 3, H, W] -> [N, 3, S, S] (contiguous)."""
        if self.size and images.shape[-1] != self.size:
            return functional.interpolate(images, size=(self.size, self.size), mode="area")
        return images.contiguous()

    def input_size(self, stored: int) -> int:
        """The side of the model input for frames stored at ``stored`` pixels."""
        return self.size or stored
