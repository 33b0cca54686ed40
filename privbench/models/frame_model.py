"""ResNet18 per frame -> recurrent head over the sequence -> valence/arousal per frame."""

from __future__ import annotations

import torch
from torch import nn

from privbench.models.backbone import FEATURES, Normalise
from privbench.models.heads import SequenceRegressor

PROJECTED = 64


class FrameSequenceModel(nn.Module):
    """uint8 frames [B, T, H, W, 3] -> [B, T, 2]; used by ``central``, ``fedavg`` and gradient inversion.

    The 512 ResNet18 features of each frame are layer-normalised and projected to 64 before the
    RNN: fed directly, 512 inputs saturate the gates of a small RNN (hidden 8-32) at its default
    initialisation, and a randomly initialised backbone then never learns.
    """

    def __init__(self, backbone: nn.Module, head: SequenceRegressor) -> None:
        super().__init__()
        self.normalise = Normalise()
        self.backbone = backbone
        self.project = nn.Sequential(nn.LayerNorm(FEATURES), nn.Linear(FEATURES, PROJECTED), nn.ReLU())
        self.head = head

    @classmethod
    def create(cls, backbone: nn.Module, rnn: str, hidden: int, layers: int, fc_units: int = 10,
               dropout: float = 0.0) -> FrameSequenceModel:
        return cls(backbone, SequenceRegressor(PROJECTED, rnn, hidden, layers, fc_units, dropout))

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        batch, steps = frames.shape[:2]
        features = self.project(self.backbone(self.normalise(frames.flatten(0, 1))))
        return self.head(features.view(batch, steps, -1))
