"""The ``rnn`` attack model: a small GRU over released windows, trained with Adam on cross-entropy."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


class _GRUClassifier(nn.Module):
    def __init__(self, features: int, classes: int, hidden: int) -> None:
        super().__init__()
        self.gru = nn.GRU(features, hidden, batch_first=True)
        self.out = nn.Linear(hidden, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, last = self.gru(x)
        return self.out(last[-1])


class SequenceClassifier:
    """Standardises each column on the training windows, then fits a GRU classifier."""

    def __init__(self, *, seed: int, hidden: int = 32, epochs: int = 30, batch_size: int = 64,
                 lr: float = 1e-2) -> None:
        self.seed, self.hidden, self.epochs, self.batch_size, self.lr = seed, hidden, epochs, batch_size, lr
        self.classes = np.empty(0)

    def represent(self, windows: np.ndarray) -> np.ndarray:
        """The windows themselves (the GRU reads the series)."""
        return np.ascontiguousarray(windows, dtype=np.float32)

    def fit(self, windows: np.ndarray, labels: np.ndarray, weights: np.ndarray | None = None) -> SequenceClassifier:
        torch.manual_seed(self.seed)
        self.classes, targets = np.unique(labels, return_inverse=True)
        flat = windows.reshape(-1, windows.shape[-1])
        self.mean, self.std = flat.mean(0), np.where(flat.std(0) > 1e-6, flat.std(0), 1.0)
        self.model = _GRUClassifier(windows.shape[-1], len(self.classes), self.hidden)
        optimizer = torch.optim.Adam(self.model.parameters(), lr=self.lr)
        inputs, targets = self._tensor(windows), torch.as_tensor(targets)
        weight = torch.ones(len(inputs)) if weights is None else torch.as_tensor(weights, dtype=torch.float32)
        generator = torch.Generator().manual_seed(self.seed)
        self.model.train()
        for _ in range(self.epochs):
            for batch in torch.randperm(len(inputs), generator=generator).split(self.batch_size):
                optimizer.zero_grad()
                loss = nn.functional.cross_entropy(self.model(inputs[batch]), targets[batch], reduction="none")
                (loss * weight[batch]).sum().div(weight[batch].sum()).backward()
                optimizer.step()
        return self

    @torch.no_grad()
    def predict_proba(self, windows: np.ndarray) -> np.ndarray:
        self.model.eval()
        return torch.softmax(self.model(self._tensor(windows)), dim=1).numpy()

    def _tensor(self, windows: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(((windows - self.mean) / self.std).astype(np.float32))
