"""The ``central`` method: ResNet18 + RNN trained end to end on face frames gathered centrally."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch.utils.data import DataLoader, RandomSampler

from privbench.config import require
from privbench.data.frame_transform import Normalisation
from privbench.data.frames import FrameSequence, FrameWindowDataset
from privbench.data.layout import Dataset
from privbench.data.splits import Split
from privbench.methods.base import METHODS, FoldOutput
from privbench.methods.frame_fold import FrameFold
from privbench.models.backbone import BackboneConfig
from privbench.progress import Progress
from privbench.train.frame_pretrain import pretrain_frames
from privbench.train.loop import adam, fit, one_cycle


@dataclass(frozen=True)
class CentralConfig:
    """Settings of the ``central`` method (configs/central.yaml documents each)."""

    seq_len: int
    stride: int
    frame_step: int
    input_size: int
    normalise: Normalisation
    hidden: int
    layers: int
    fc_units: int
    dropout: float
    loss: Literal["mse", "ccc"]
    lr: float
    lr_schedule: Literal["constant", "onecycle"]
    warmup_steps: int
    warmup_batch: int
    backbone_lr_scale: float
    epochs: int
    batch_size: int
    windows_per_epoch: int
    patience: int
    val_participants: int
    num_workers: int
    backbone: BackboneConfig

    def __post_init__(self) -> None:
        for name in ("seq_len", "stride", "frame_step", "hidden", "layers", "fc_units", "epochs", "batch_size",
                     "windows_per_epoch", "warmup_batch"):
            require(getattr(self, name) > 0, f"{name} must be positive, got {getattr(self, name)}")
        require(self.lr > 0 and self.backbone_lr_scale > 0, "lr and backbone_lr_scale must be positive")
        require(0 <= self.dropout < 1, f"dropout must be in [0, 1), got {self.dropout}")
        require(self.input_size >= 0, f"input_size must be >= 0, got {self.input_size}")
        require(min(self.patience, self.val_participants, self.num_workers, self.warmup_steps) >= 0,
                "patience, val_participants, num_workers and warmup_steps must be >= 0")


def frame_loader(sequences: list[FrameSequence], config: CentralConfig, seed: int) -> DataLoader:
    """Shuffled training windows, at most ``windows_per_epoch`` per epoch, read by worker processes."""
    windows = FrameWindowDataset(sequences, config.seq_len, config.stride)
    sampler = RandomSampler(windows, num_samples=min(config.windows_per_epoch, len(windows)),
                            generator=torch.Generator().manual_seed(seed))
    return DataLoader(windows, batch_size=config.batch_size, sampler=sampler, num_workers=config.num_workers,
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
        if config.warmup_steps:
            pretrain_frames(fold.model, fold.train, config.warmup_steps, config.warmup_batch, config.lr,
                            config.loss, seed, device, progress, config.num_workers)
        optimizer = adam(fold.model.parameter_groups(config.lr, config.backbone_lr_scale))
        loader = frame_loader(fold.train, config, seed)
        scheduler = one_cycle(optimizer, config.epochs * len(loader)) if config.lr_schedule == "onecycle" else None
        history = fit(fold.model, loader, optimizer, config.loss, config.epochs, fold.validator, config.patience,
                      device, progress, scheduler)
        return fold.output(history)


METHODS.register("central")(CentralMethod())
