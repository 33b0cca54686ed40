"""What a method is: a typed config and one function that trains on a split and predicts its test fold."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

import numpy as np
import torch
from torch import nn

from privbench.data.layout import Dataset
from privbench.data.splits import Split
from privbench.methods import METHODS
from privbench.progress import Progress
from privbench.train.loop import FitHistory
from privbench.types import ClientUpdate

__all__ = ["METHODS", "FoldOutput", "Method"]  # METHODS is declared in privbench.methods; methods register on it


@dataclass
class FoldOutput:
    """A trained fold: per-participant test predictions and labels ([T, 2] each), the model, its history."""

    predictions: dict[str, np.ndarray]
    labels: dict[str, np.ndarray]
    model: nn.Module
    history: FitHistory
    example_input: Callable[[int], torch.Tensor]  # frames -> a model input of that many frames
    efficiency: dict[str, float] = field(default_factory=dict)  # method-specific measurements
    notes: dict[str, str] = field(default_factory=dict)  # facts a reader must see, e.g. where weights came from
    updates: list[ClientUpdate] = field(default_factory=list)  # federated client updates, when captured
    preprocessing: dict[str, np.ndarray] = field(default_factory=dict)  # fitted input transforms the model needs
    privacy: dict[str, Any] = field(default_factory=dict)  # the fold model's DP accounting (empty: no DP)


class Method(Protocol):
    """A registered affect method (``au``, ``central``, ``fedavg``)."""

    config_type: type
    needs_frames: bool
    description: str

    def train_fold(
        self, dataset: Dataset, split: Split, config: Any, rnn: str, seed: int,
        device: torch.device, progress: Progress,
    ) -> FoldOutput: ...
