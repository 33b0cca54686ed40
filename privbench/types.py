"""Small records passed between stages; attacks see only what their threat model releases."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class ClientUpdate:
    """What a federated server sees from one client in one round (the gradient-inversion attack's input).

    ``tensors`` is the weight delta (client weights minus the global weights it started from),
    ``examples`` the number of training windows the client reported.
    """

    round: int
    client_id: str
    examples: int
    kind: str  # "weight_delta"
    tensors: dict[str, torch.Tensor]
    fold: int = 0

    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in self.tensors.values())
