"""Recurrent heads shared by every method: RNN / BiGRU / BiLSTM -> FC(10) -> 2 outputs per frame."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from privbench.models import RNNS  # declared there without torch (for `privbench list`); registered here


@dataclass(frozen=True)
class RecurrentKind:
    """A torch recurrent layer class, whether it reads the sequence both ways, and the name of its twin in
    ``opacus.layers`` (same arguments, parameters and state-dict keys, built from linear layers whose
    per-sample gradients Opacus computes; ``ModuleValidator.fix`` swaps GRU and LSTM for theirs but
    leaves ``nn.RNN``, which Opacus then cannot handle)."""

    layer: type[nn.RNNBase]
    bidirectional: bool
    dp_layer: str

    def build(self, *args: Any, dp: bool, **kwargs: Any) -> nn.Module:
        """The torch layer, or its Opacus twin (imported only then: opacus is slow to import)."""
        return (getattr(importlib.import_module("opacus.layers"), self.dp_layer) if dp else self.layer)(*args, **kwargs)


RNNS.register("rnn")(RecurrentKind(nn.RNN, bidirectional=False, dp_layer="DPRNN"))
RNNS.register("bigru")(RecurrentKind(nn.GRU, bidirectional=True, dp_layer="DPGRU"))
RNNS.register("bilstm")(RecurrentKind(nn.LSTM, bidirectional=True, dp_layer="DPLSTM"))


class SequenceRegressor(nn.Module):
    """Per-frame valence/arousal from a feature sequence [B, T, F] -> [B, T, 2] (the paper's head).

    ``dp_layers`` builds the recurrent layer's Opacus twin (DP-SGD): the same function and state-dict keys,
    so weights move between the two forms (and federated clients of either form average).
    """

    def __init__(self, input_size: int, rnn: str, hidden: int, layers: int,
                 fc_units: int = 10, dropout: float = 0.0, outputs: int = 2, *, dp_layers: bool = False) -> None:
        super().__init__()
        kind = RNNS.get(rnn)
        self.rnn = kind.build(input_size, hidden, num_layers=layers, batch_first=True, dp=dp_layers,
                              bidirectional=kind.bidirectional, dropout=dropout if layers > 1 else 0.0)
        width = hidden * (2 if kind.bidirectional else 1)
        self.fc = nn.Sequential(nn.Linear(width, fc_units), nn.ReLU(), nn.Linear(fc_units, outputs))
        if dp_layers:  # torch's private hooks, as Opacus's own
            self._register_state_dict_hook(_drop_aliases)
            self._register_load_state_dict_pre_hook(_add_aliases, with_module=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)
        return self.fc(out)


def _drop_aliases(head: SequenceRegressor, state_dict: dict, prefix: str, local_metadata: Any) -> None:
    """An Opacus recurrent layer holds each weight twice (``weight_ih_l0`` and ``l0.ih.weight``) and its own
    filter misses the second name when the layer is nested: state dicts keep torch's names only."""
    for alias in head.rnn.old_to_new:
        state_dict.pop(f"{prefix}rnn.{alias}", None)


def _add_aliases(head: SequenceRegressor, state_dict: dict, prefix: str, *_: Any) -> None:
    """Loading: the second names of the Opacus layer's weights from torch's (the same tensors)."""
    for alias, name in head.rnn.old_to_new.items():
        if f"{prefix}rnn.{name}" in state_dict:
            state_dict.setdefault(f"{prefix}rnn.{alias}", state_dict[f"{prefix}rnn.{name}"])
