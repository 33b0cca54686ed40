"""What gradient inversion sees and what only its scorer sees.

An honest-but-curious federated server holds ``ObservedUpdate``: the model it sent (architecture and
weights), the client's training settings, and the update that came back (one gradient for FedSGD, a
weight delta after several local steps for FedAvg), optionally the number of examples and their
targets. ``VictimTruth`` (the client's frames, whose they are, their targets) goes to the scorer
only: no attack function takes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import nn

UpdateKind = Literal["gradient", "weight_delta"]


@dataclass(frozen=True)
class PixelSpace:
    """How uint8 pixels become model inputs: ``(pixels / 255 - mean) / std`` per channel, so an attack
    can optimise in [0, 1] pixel space and keep its reconstructions inside the valid range. ``frame``
    ([3, S, S] in [0, 1]), when given, is subtracted instead of the channel mean (person normalisation, with
    the attacker's estimate of the mean frame). ``grey``: the client's frames are grey (three equal
    channels), as the server knows from the preprocessing."""

    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    grey: bool = False
    frame: torch.Tensor | None = None

    def to_model(self, pixels: torch.Tensor) -> torch.Tensor:
        """[..., 3, H, W] in [0, 1] -> model inputs."""
        mean = (torch.tensor(self.mean, dtype=pixels.dtype, device=pixels.device)[:, None, None]
                if self.frame is None else self.frame.to(pixels))
        std = torch.tensor(self.std, dtype=pixels.dtype, device=pixels.device)[:, None, None]
        return (pixels - mean) / std


@dataclass(frozen=True, kw_only=True)
class LocalSteps:
    """The client's training settings, as the server sent them: ``steps`` optimiser steps of
    ``batch_size`` examples (1 step over the whole batch = FedSGD) with ``optimizer`` at ``lr``, on the
    ``loss`` between outputs and targets (a name in ``privbench.train.loop.LOSSES``). ``lr_factors`` and
    ``beta1s`` give each step's learning-rate factor and Adam beta1 under a schedule (empty: 1 and 0.9
    throughout); ``parameter_scales`` each trainable parameter's learning-rate factor (empty: 1 for all)."""

    steps: int
    batch_size: int
    lr: float
    optimizer: Literal["sgd", "adam"]
    loss: str = "mse"
    lr_factors: tuple[float, ...] = ()
    beta1s: tuple[float, ...] = ()
    parameter_scales: tuple[float, ...] = ()

    def lr_at(self, step: int) -> float:
        """The learning rate of step ``step`` (from 0)."""
        return self.lr * (self.lr_factors[step] if self.lr_factors else 1.0)

    def beta1_at(self, step: int) -> float:
        return self.beta1s[step] if self.beta1s else 0.9


@dataclass(frozen=True, kw_only=True)
class ObservedUpdate:
    """One client's update in one round, as the server sees it.

    ``model`` holds the weights the server sent (in the mode the client trains it: BatchNorm in
    ``eval`` or ``train``); ``update`` has one tensor per trainable parameter of ``model``, in
    ``model.parameters()`` order: the gradient (``kind="gradient"``) or the client's weights minus
    the sent ones (``"weight_delta"``). ``input_shape`` is one example's shape: [3, S, S] for a frame,
    [T, 3, S, S] for a window. ``targets`` ([N, 2] or [N, T, 2]) only when known to the attacker.
    """

    model: nn.Module
    kind: UpdateKind
    update: list[torch.Tensor]
    training: LocalSteps
    examples: int
    input_shape: tuple[int, ...]
    pixels: PixelSpace
    targets: torch.Tensor | None = None


@dataclass(frozen=True)
class Reconstruction:
    """An attack's answer: pixels in [0, 1] [N, *input_shape], the targets it recovered (or was given),
    how many times it evaluated its objective, the objective's trace, and notes on how it went (what it
    recovered in closed form, restarts stopped by a non-finite objective)."""

    pixels: torch.Tensor
    targets: torch.Tensor
    evaluations: int
    objective: list[float]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class VictimTruth:
    """The scorer's side: the true frames (uint8 [N, H, W, 3], one per victim; the middle frame of a
    window), whose they are, which row of the participant's frames, and the true targets."""

    frames: np.ndarray
    participant_id: np.ndarray
    frame_index: np.ndarray
    targets: np.ndarray
