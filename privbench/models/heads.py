"""Recurrent heads shared by every method: RNN / BiGRU / BiLSTM -> FC(10) -> 2 outputs per frame."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from privbench.models import RNNS  # declared there without torch (for `privbench list`); registered here


@dataclass(frozen=True)
class RecurrentKind:
    """A torch recurrent layer class and whether it reads the sequence both ways."""

    layer: type[nn.RNNBase]
    bidirectional: bool


RNNS.register("rnn")(RecurrentKind(nn.RNN, bidirectional=False))
RNNS.register("bigru")(RecurrentKind(nn.GRU, bidirectional=True))
RNNS.register("bilstm")(RecurrentKind(nn.LSTM, bidirectional=True))


class SequenceRegressor(nn.Module):
    """Per-frame valence/arousal from a feature sequence [B, T, F] -> [B, T, 2] (the paper's head)."""

    def __init__(self, input_size: int, rnn: str, hidden: int, layers: int,
                 fc_units: int = 10, dropout: float = 0.0, outputs: int = 2) -> None:
        super().__init__()
        kind = RNNS.get(rnn)
        self.rnn = kind.layer(
            input_size, hidden, num_layers=layers, batch_first=True,
            bidirectional=kind.bidirectional, dropout=dropout if layers > 1 else 0.0,
        )
        width = hidden * (2 if kind.bidirectional else 1)
        self.fc = nn.Sequential(nn.Linear(width, fc_units), nn.ReLU(), nn.Linear(fc_units, outputs))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)
        return self.fc(out)
