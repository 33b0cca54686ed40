"""ResNet18 per frame -> recurrent head over the sequence -> valence/arousal per frame."""

from __future__ import annotations

import torch
from torch import nn

from privbench.models.backbone import FEATURES
from privbench.models.heads import SequenceRegressor

PROJECTED = 64


class FrameSequenceModel(nn.Module):
    """Normalised frames [B, T, 3, S, S] (privbench.data.frame_transform) -> [B, T, 2]; used by ``central``,
    ``fedavg`` and gradient inversion.

    The 512 ResNet18 features of each frame are layer-normalised and projected to 64 before the
    RNN: fed directly, 512 inputs saturate the gates of a small RNN (hidden 8-32) at its default
    initialisation, and a randomly initialised backbone then never learns. ``frame_head`` reads
    valence/arousal from a single frame's features during the frame warm-up
    (privbench/train/frame_pretrain.py); predictions never use it.
    """

    def __init__(self, backbone: nn.Module, head: SequenceRegressor) -> None:
        super().__init__()
        self.backbone = backbone
        self.project = nn.Sequential(nn.LayerNorm(FEATURES), nn.Linear(FEATURES, PROJECTED), nn.ReLU())
        self.head = head
        self.frame_head = nn.Linear(FEATURES, 2)  # per-frame readout for the frame warm-up only

    @classmethod
    def create(cls, backbone: nn.Module, rnn: str, hidden: int, layers: int, fc_units: int = 10,
               dropout: float = 0.0) -> FrameSequenceModel:
        return cls(backbone, SequenceRegressor(PROJECTED, rnn, hidden, layers, fc_units, dropout))

    def parameter_groups(self, lr: float, backbone_scale: float = 1.0) -> list[dict]:
        """Optimiser parameter groups: the backbone at ``lr * backbone_scale``, the rest at ``lr``."""
        return [{"params": list(self.backbone.parameters()), "lr": lr * backbone_scale},
                {"params": [*self.project.parameters(), *self.head.parameters()], "lr": lr}]

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        batch, steps = frames.shape[:2]
        features = self.project(self.backbone(frames.flatten(0, 1)))
        return self.head(features.view(batch, steps, -1))
