"""The ``central`` method: ResNet18 + RNN trained end to end on face frames gathered centrally."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch.utils.data import DataLoader, RandomSampler

from privbench.config import require
from privbench.data.frames import FrameSequence, FrameStore, FrameWindowDataset
from privbench.data.labels import gold_labels
from privbench.data.layout import Dataset
from privbench.data.splits import Split
from privbench.errors import ConfigError, DatasetError
from privbench.evaluate.predict import predict_sequence
from privbench.methods.au import mean_ccc
from privbench.methods.base import METHODS, FoldOutput
from privbench.models.backbone import BackboneConfig, build_backbone
from privbench.models.frame_model import FrameSequenceModel
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


def frame_sequence(dataset: Dataset, pid: str, step: int) -> FrameSequence:
    """A participant's frames (every ``step``-th) with the gold labels of those frames."""
    if not dataset.has_frames(pid):
        raise DatasetError(f"{dataset.root / pid}: no frames.npy; this method trains on face frames")
    timestamps = dataset.timestamps(pid)
    return FrameSequence(pid, FrameStore(dataset.root / pid / "frames.npy"), gold_labels(dataset, pid, timestamps), step)


def predict_frames(model: torch.nn.Module, seq: FrameSequence, window: int, batch_size: int,
                   device: torch.device) -> np.ndarray:
    """Per-frame [T, 2] predictions: windows over the subsampled frames, interpolated to every frame."""
    def fetch(start: int, stop: int) -> torch.Tensor:
        return torch.from_numpy(seq.store.read(seq.rows[start:stop]))

    sparse = predict_sequence(model, fetch, len(seq.rows), window, batch_size, device)
    every = np.arange(len(seq.gold))
    return np.stack([np.interp(every, seq.rows, sparse[:, d]) for d in range(sparse.shape[1])], axis=1)


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
        torch.manual_seed(seed)
        train, validation, test = ([frame_sequence(dataset, pid, config.frame_step) for pid in ids]
                                   for ids in (split.train, split.validation, split.test))
        shortest = min(train + validation + test, key=lambda s: len(s.rows))
        if config.seq_len > len(shortest.rows):
            raise ConfigError(f"seq_len {config.seq_len} x frame_step {config.frame_step} is longer than "
                              f"participant {shortest.participant}'s {len(shortest.gold)} frames")
        backbone, weights = build_backbone(config.backbone)
        model = FrameSequenceModel.create(backbone, rnn, config.hidden, config.layers, config.fc_units,
                                          config.dropout).to(device)
        optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
        def predict(m: torch.nn.Module, seq: FrameSequence) -> np.ndarray:
            return predict_frames(m, seq, config.seq_len, config.batch_size, device)

        checked = validation or train

        def validate(m: torch.nn.Module) -> float:
            return mean_ccc([predict(m, s) for s in checked], [s.gold for s in checked])

        history = fit(model, frame_loader(train, config, seed), optimizer, config.loss, config.epochs, validate,
                      config.patience if validation else 0, device, progress)
        height, width = shortest.store.shape[1:3]
        return FoldOutput(
            predictions={s.participant: predict(model, s) for s in test},
            labels={s.participant: s.gold for s in test},
            model=model,
            history=history,
            example_input=lambda frames: torch.randint(0, 256, (1, frames, height, width, 3), dtype=torch.uint8),
            notes={"backbone_weights": weights},
        )


METHODS.register("central")(CentralMethod())
