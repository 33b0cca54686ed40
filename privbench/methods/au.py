"""The ``au`` method: an RNN / BiGRU / BiLSTM on OpenFace Action Unit sequences (images discarded)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch.utils.data import DataLoader

from privbench.config import require
from privbench.data.labels import gold_labels
from privbench.data.layout import Dataset
from privbench.data.splits import Split
from privbench.data.windows import Normalizer, Sequence, WindowDataset
from privbench.errors import ConfigError
from privbench.evaluate.metrics import mean_ccc
from privbench.evaluate.predict import predict_sequence
from privbench.methods.base import METHODS, FoldOutput
from privbench.models.heads import SequenceRegressor
from privbench.progress import Progress
from privbench.train.loop import fit


@dataclass(frozen=True)
class AUConfig:
    """Settings of the ``au`` method (configs/au.yaml documents each)."""

    seq_len: int
    stride: int
    hidden: int
    layers: int
    fc_units: int
    dropout: float
    loss: Literal["mse", "ccc"]
    lr: float
    epochs: int
    batch_size: int
    patience: int
    val_participants: int

    def __post_init__(self) -> None:
        for name in ("seq_len", "stride", "hidden", "layers", "fc_units", "epochs", "batch_size"):
            require(getattr(self, name) > 0, f"{name} must be positive, got {getattr(self, name)}")
        require(self.lr > 0, f"lr must be positive, got {self.lr}")
        require(0 <= self.dropout < 1, f"dropout must be in [0, 1), got {self.dropout}")
        require(self.patience >= 0 and self.val_participants >= 0, "patience and val_participants must be >= 0")


def au_sequence(dataset: Dataset, pid: str) -> Sequence:
    """A participant's AU intensities and presences [T, 35] with gold labels [T, 2] (the reader has
    checked both tables: finite values, increasing timestamps, gold in [-1, 1])."""
    aus = dataset.aus(pid)
    inputs = aus[dataset.manifest.au_columns].to_numpy(np.float32)
    return Sequence(pid, inputs, gold_labels(dataset, pid, aus["timestamp"].to_numpy(float)))


class AUMethod:
    """Train an RNN head on windows of normalised AU features; predict each test participant whole."""

    config_type = AUConfig
    needs_frames = False
    description = "RNN/BiGRU/BiLSTM on facial Action Units (images discarded)"

    def train_fold(
        self, dataset: Dataset, split: Split, config: AUConfig, rnn: str, seed: int,
        device: torch.device, progress: Progress,
    ) -> FoldOutput:
        torch.manual_seed(seed)
        train, validation, test = ([au_sequence(dataset, pid) for pid in ids]
                                   for ids in (split.train, split.validation, split.test))
        shortest = min(train + validation + test, key=lambda s: len(s.inputs))
        if config.seq_len > len(shortest.inputs):
            raise ConfigError(
                f"seq_len {config.seq_len} is longer than participant {shortest.participant}'s "
                f"{len(shortest.inputs)} frames"
            )
        normalize = Normalizer.fit(train)
        train, validation, test = ([normalize(s) for s in part] for part in (train, validation, test))

        model = SequenceRegressor(train[0].inputs.shape[1], rnn, config.hidden, config.layers,
                                  config.fc_units, config.dropout).to(device)
        loader = DataLoader(
            WindowDataset(train, config.seq_len, config.stride), batch_size=config.batch_size,
            shuffle=True, generator=torch.Generator().manual_seed(seed),
        )
        optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
        def predict(m: torch.nn.Module, seq: Sequence) -> np.ndarray:
            def fetch(start: int, stop: int) -> torch.Tensor:
                return torch.from_numpy(seq.inputs[start:stop])

            return predict_sequence(m, fetch, len(seq.inputs), config.seq_len, config.batch_size, device)

        checked = validation or train

        def validate(m: torch.nn.Module) -> float:
            return mean_ccc([s.labels for s in checked], [predict(m, s) for s in checked])

        history = fit(model, loader, optimizer, config.loss, config.epochs, validate,
                      config.patience if validation else 0, device, progress)
        width = train[0].inputs.shape[1]
        return FoldOutput(
            predictions={s.participant: predict(model, s) for s in test},
            labels={s.participant: s.labels for s in test},
            model=model,
            history=history,
            example_input=lambda frames: torch.randn(1, frames, width),
        )


METHODS.register("au")(AUMethod())
