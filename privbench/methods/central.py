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
from privbench.models.backbone import BackboneConfig
from privbench.progress import Progress
from privbench.train.loop import fit


@dataclass(frozen=True)
class CentralConfig:
    """Settings of the ``central`` method (configs/central.yaml documents each)."""

    seq_len: int
    stride: int
    frame_step: int
    hidden: int
    layers: int
    fc_units: int
    dropout: float
    loss: Literal["mse", "ccc"]
    lr: float
    epochs: int
    batch_size: int
    windows_per_epoch: int
    patience: int
    val_participants: int
    num_workers: int
    backbone: BackboneConfig

    def __post_init__(self) -> None:
        for name in ("seq_len", "stride", "frame_step", "hidden", "layers", "fc_units", "epochs", "batch_size",
                     "windows_per_epoch"):
            require(getattr(self, name) > 0, f"{name} must be positive, got {getattr(self, name)}")
        require(self.lr > 0, f"lr must be positive, got {self.lr}")
        require(0 <= self.dropout < 1, f"dropout must be in [0, 1), got {self.dropout}")
        require(min(self.patience, self.val_participants, self.num_workers) >= 0,
                "patience, val_participants and num_workers must be >= 0")


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
        optimizer = torch.optim.Adam(fold.model.parameters(), lr=config.lr)
        history = fit(fold.model, frame_loader(fold.train, config, seed), optimizer, config.loss, config.epochs,
                      fold.validate, config.patience if fold.validation else 0, device, progress)
        return fold.output(history)


METHODS.register("central")(CentralMethod())
