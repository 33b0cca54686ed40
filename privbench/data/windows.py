"""Per-participant sequences, feature normalisation and fixed-length windows over them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset as TorchDataset

from privbench.config import require


@dataclass(frozen=True)
class Sequence:
    """One participant's inputs [T, ...] and gold labels [T, 2] (valence, arousal)."""

    participant: str
    inputs: np.ndarray
    labels: np.ndarray

    def __post_init__(self) -> None:
        require(len(self.inputs) == len(self.labels),
                f"{self.participant}: {len(self.inputs)} input frames but {len(self.labels)} labels")


def window_starts(length: int, window: int, stride: int) -> np.ndarray:
    """Start indices of windows covering [0, length); the last window ends at the sequence end."""
    if length <= window:
        return np.array([0])
    starts = np.arange(0, length - window + 1, stride)
    if starts[-1] != length - window:
        starts = np.append(starts, length - window)
    return starts


@dataclass(frozen=True)
class Normalizer:
    """Per-feature z-scoring fitted on training participants only."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, sequences: list[Sequence]) -> Normalizer:
        data = np.concatenate([s.inputs for s in sequences]).astype(np.float64)
        std = data.std(0)
        return cls(data.mean(0).astype(np.float32), np.where(std > 1e-8, std, 1.0).astype(np.float32))

    @classmethod
    def declared(cls, columns: list[str]) -> Normalizer:
        """Data-independent scaling to about [-1, 1] from OpenFace's declared ranges (intensities ``AUxx_r`` in
        [0, 5], presences ``AUxx_c`` in {0, 1}): what DP-SGD uses, since fitting on the training participants
        would touch them outside the privacy accountant."""
        top = np.array([5.0 if c.endswith("_r") else 1.0 for c in columns], np.float32)
        return cls(top / 2, top / 2)

    def __call__(self, sequence: Sequence) -> Sequence:
        inputs = ((sequence.inputs - self.mean) / self.std).astype(np.float32)
        return Sequence(sequence.participant, inputs, sequence.labels)


class WindowDataset(TorchDataset):
    """All windows (length ``window``, step ``stride``) of in-memory feature sequences."""

    def __init__(self, sequences: list[Sequence], window: int, stride: int) -> None:
        self.inputs = [torch.as_tensor(s.inputs, dtype=torch.float32) for s in sequences]
        self.labels = [torch.as_tensor(s.labels, dtype=torch.float32) for s in sequences]
        self.window = window
        self.index = [
            (i, int(start))
            for i, s in enumerate(sequences)
            for start in window_starts(len(s.inputs), window, stride)
        ]

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, item: int) -> tuple[torch.Tensor, torch.Tensor]:
        i, start = self.index[item]
        stop = start + self.window
        return self.inputs[i][start:stop], self.labels[i][start:stop]
