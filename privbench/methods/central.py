"""The ``central`` method: ResNet18 + RNN trained end to end on face frames gathered centrally."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from privbench.config import require
from privbench.data.layout import Dataset
from privbench.data.splits import Split
from privbench.methods.base import METHODS, FoldOutput
from privbench.methods.frame_fold import FrameFold
from privbench.progress import Progress
from privbench.settings import (
    FrameSettings,
    HeadSettings,
    OptimiserSettings,
    PrivacySettings,
    StoppingSettings,
    WindowSettings,
)
from privbench.train.frame_pretrain import pretrain_frames
from privbench.train.loop import fit
from privbench.train.setup import central_training


@dataclass(frozen=True, kw_only=True)
class CentralConfig:
    """Settings of the ``central`` method (configs/central.yaml documents each key)."""

    windows: WindowSettings
    head: HeadSettings
    optim: OptimiserSettings
    stopping: StoppingSettings
    frames: FrameSettings
    privacy: PrivacySettings
    epochs: int
    lr_schedule: Literal["constant", "onecycle"]
    windows_per_epoch: int
    num_workers: int

    def __post_init__(self) -> None:
        require(self.epochs > 0 and self.windows_per_epoch > 0,
                f"epochs and windows_per_epoch must be positive, got {self.epochs} and {self.windows_per_epoch}")
        require(self.num_workers >= 0, f"num_workers must be >= 0, got {self.num_workers}")


class CentralMethod:
    """Train ResNet18 + RNN end to end on windows of face frames; predict each test participant whole."""

    config_type = CentralConfig
    needs_frames = True
    description = "ResNet18 + RNN/BiGRU/BiLSTM on face frames, trained centrally"

    def train_fold(
        self, dataset: Dataset, split: Split, config: CentralConfig, rnn: str, seed: int,
        device: torch.device, progress: Progress,
    ) -> FoldOutput:
        fold = FrameFold.prepare(dataset, split, config, rnn, seed, device)
        frames = config.frames
        if frames.warmup_steps:
            pretrain_frames(fold.model, fold.train, steps=frames.warmup_steps, batch_size=frames.warmup_batch,
                            lr=config.optim.lr, loss_name=config.optim.loss, seed=seed, device=device,
                            progress=progress, num_workers=config.num_workers)
        setup = central_training(fold.model, fold.train, windows=config.windows, optim=config.optim, frames=frames,
                                 epochs=config.epochs, windows_per_epoch=config.windows_per_epoch,
                                 schedule=config.lr_schedule, num_workers=config.num_workers, seed=seed)
        history = fit(setup, epochs=config.epochs, device=device, progress=progress, model=fold.model,
                      validate=fold.validator, patience=config.stopping.patience)
        return fold.output(history)


METHODS.register("central")(CentralMethod())
