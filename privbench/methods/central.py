"""The ``central`` method: ResNet18 + RNN trained end to end on face frames gathered centrally."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch.utils.data import DataLoader, RandomSampler

from privbench.config import require
from privbench.data.frames import FrameSequence, FrameWindowDataset
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
from privbench.train.loop import adam, fit, one_cycle


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


def frame_loader(sequences: list[FrameSequence], config: CentralConfig, seed: int) -> DataLoader:
    """Shuffled training windows, at most ``windows_per_epoch`` per epoch, read by worker processes."""
    windows = FrameWindowDataset(sequences, config.windows.seq_len, config.windows.stride)
    sampler = RandomSampler(windows, num_samples=min(config.windows_per_epoch, len(windows)),
                            generator=torch.Generator().manual_seed(seed))
    return DataLoader(windows, batch_size=config.optim.batch_size, sampler=sampler, num_workers=config.num_workers,
                      persistent_workers=config.num_workers > 0)


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
        if config.frames.warmup_steps:
            pretrain_frames(fold.model, fold.train, config.frames.warmup_steps, config.frames.warmup_batch, config.optim.lr,
                            config.optim.loss, seed, device, progress, config.num_workers)
        optimizer = adam(fold.model.parameter_groups(config.optim.lr, config.frames.backbone_lr_scale))
        loader = frame_loader(fold.train, config, seed)
        scheduler = one_cycle(optimizer, config.epochs * len(loader)) if config.lr_schedule == "onecycle" else None
        history = fit(fold.model, loader, optimizer, config.optim.loss, config.epochs, fold.validator, config.stopping.patience,
                      device, progress, scheduler)
        return fold.output(history)


METHODS.register("central")(CentralMethod())
