"""What every federated engine takes and returns (``privbench.methods.ENGINES`` lists the engines)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Protocol

import torch
from torch import nn

from privbench.data.frames import FrameSequence
from privbench.federated.client import LocalTraining
from privbench.federated.server import FederatedHistory, FederationPlan, ServerStep, Validator
from privbench.progress import Progress


@dataclass(frozen=True, kw_only=True)
class FoldContext:
    """The fold as files and settings, for an engine whose server runs in another process (the deployment
    engine writes it to its job file): the dataset folder, the fold's participants, the method config as
    ``privbench.config.to_dict`` writes it, and where the SuperLink is."""

    dataset: str
    train: tuple[str, ...]
    validation: tuple[str, ...]
    config: dict[str, Any]
    rnn: str
    superlink: str = ""  # HOST:PORT
    superlink_ca: str = ""  # CA certificate of a SuperLink serving TLS ("": plain HTTP)
    deployment_timeout: float = 3600.0  # seconds one fold's Flower run may take


class Engine(Protocol):
    """A federated engine: trains ``model`` (in place) with FedAvg and returns the history.

    ``clients`` maps each training participant to its frames when ``local_data`` is true; an engine whose
    clients read their own data on their own nodes (``local_data`` false) gets an empty mapping and the
    participants from ``fold.train``. ``server`` replaces the standard server step (``standard_step()``).
    """

    local_data: bool

    def __call__(
        self, model: nn.Module, clients: Mapping[str, FrameSequence], *, training: LocalTraining,
        plan: FederationPlan, validator: Validator | None, seed: int, device: torch.device, progress: Progress,
        fold: FoldContext | None = None, server: ServerStep | None = None,
    ) -> FederatedHistory: ...
