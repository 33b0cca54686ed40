"""ResNet18 per frame -> recurrent head over the sequence -> valence/arousal per frame."""

from __future__ import annotations

import torch
from torch import nn

from privbench.models.backbone import FEATURES
from privbench.models.heads import SequenceRegressor

PROJECTED = 64
HEAD_PREFIXES = ("project.", "head.")  # the state-dict keys after the backbone that predictions use


class FrameSequenceModel(nn.Module):
    """Normalised frames [B, T, 3, S, S] (privbench.data.frame_transform) -> [B, T, 2]; used by ``central``,
    ``fedavg`` and gradient inversion.

    The 512 ResNet18 features of each frame are layer-normalised and projected to 64 before the
    RNN: fed directly, 512 inputs saturate the gates of a small RNN (hidden 8-32) at its default
    initialisation, and a randomly initialised backbone then never learns. ``frame_head`` reads
    valence/arousal from a single frame's features during the frame warm-up (``FrameReadout``);
    predictions never use it.

    ``per_step_backbone`` runs the backbone once per time step on [B, 3, S, S] instead of once on the
    flattened [B * T, 3, S, S]: every layer then sees the window as its batch dimension, so per-layer
    per-sample gradient hooks (Opacus) sum a window's frames into one per-window gradient. The outputs are
    the same with a GroupNorm backbone (BatchNorm would pool other statistics); the default flattened pass
    is faster, and reshapes to [B, T, 512] before the projection, so the layers after the backbone see the window
    as their batch dimension either way (what DP-SGD of the head alone needs, ``trainable=head``).
    """

    def __init__(self, backbone: nn.Module, head: SequenceRegressor, *, per_step_backbone: bool = False) -> None:
        super().__init__()
        self.backbone = backbone
        self.project = nn.Sequential(nn.LayerNorm(FEATURES), nn.Linear(FEATURES, PROJECTED), nn.ReLU())
        self.head = head
        self.frame_head = nn.Linear(FEATURES, 2)  # per-frame readout for the frame warm-up only
        self.per_step_backbone = per_step_backbone
        self.backbone_frozen = False

    @classmethod
    def create(cls, backbone: nn.Module, rnn: str, hidden: int, layers: int, fc_units: int = 10,
               dropout: float = 0.0, *, dp_compatible: bool = False,
               per_step_backbone: bool | None = None) -> FrameSequenceModel:
        """``dp_compatible``: the head's Opacus recurrent layer and (unless ``per_step_backbone`` says otherwise:
        a frozen backbone needs no per-window gradients) the per-step backbone pass, for DP-SGD with the window
        as the sample (the backbone then needs GroupNorm and ``build_backbone(hookable=True)``)."""
        head = SequenceRegressor(PROJECTED, rnn, hidden, layers, fc_units, dropout, dp_layers=dp_compatible)
        return cls(backbone, head, per_step_backbone=dp_compatible if per_step_backbone is None else per_step_backbone)

    def parameter_groups(self, lr: float, backbone_scale: float = 1.0) -> list[dict]:
        """Optimiser parameter groups: the backbone at ``lr * backbone_scale``, the rest at ``lr``."""
        return [{"params": list(self.backbone.parameters()), "lr": lr * backbone_scale},
                {"params": [*self.project.parameters(), *self.head.parameters()], "lr": lr}]

    def freeze_backbone(self) -> None:
        """Train only what follows the backbone: the backbone (and the warm-up's frame head) get no gradients,
        and the backbone stays in eval mode, so its normalisation statistics do not move either."""
        self.backbone.requires_grad_(False)
        self.frame_head.requires_grad_(False)
        self.backbone_frozen = True
        self.train(self.training)

    def train(self, mode: bool = True) -> FrameSequenceModel:
        super().train(mode)
        if self.backbone_frozen:
            self.backbone.eval()
        return self

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        batch, steps = frames.shape[:2]
        if self.per_step_backbone:
            return self.head(self.project(torch.stack([self.backbone(frames[:, t]) for t in range(steps)], dim=1)))
        return self.head(self.project(self.backbone(frames.flatten(0, 1)).view(batch, steps, -1)))


class FrameReadout(nn.Module):
    """The frame warm-up's model: one frame's valence/arousal from ``backbone`` and ``frame_head`` of a
    ``FrameSequenceModel`` (shared, not copied): [B, 3, S, S] -> [B, 1, 2], a window of one frame, so every
    loss and the training loop apply unchanged."""

    def __init__(self, model: FrameSequenceModel) -> None:
        super().__init__()
        self.backbone = model.backbone
        self.frame_head = model.frame_head

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self.frame_head(self.backbone(frames))[:, None]
