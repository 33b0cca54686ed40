"""The ``fedavg`` method: ResNet18 + RNN trained with FedAvg, every training participant one client."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Literal, get_args

import torch

from privbench.config import require
from privbench.data.layout import Dataset
from privbench.data.splits import Split
from privbench.errors import ConfigError
from privbench.federated.client import LocalTraining
from privbench.federated.flower_engine import run_flower_simulation
from privbench.federated.inprocess import FederationPlan, run_inprocess
from privbench.methods.base import METHODS, FoldOutput
from privbench.methods.frame_fold import FrameFold
from privbench.models.backbone import BackboneConfig
from privbench.progress import Progress

Engine = Literal["inprocess", "flower"]
ENGINES: tuple[str, ...] = get_args(Engine)


@dataclass(frozen=True)
class FedAvgConfig:
    """Settings of the ``fedavg`` method (configs/fedavg.yaml documents each)."""

    engine: Engine
    rounds: int
    local_epochs: int
    client_fraction: float
    min_clients: int
    client_timeout: float
    aggregation: Literal["mean", "weighted"]
    seq_len: int
    stride: int
    frame_step: int
    hidden: int
    layers: int
    fc_units: int
    dropout: float
    loss: Literal["mse", "ccc"]
    lr: float
    batch_size: int
    patience: int
    val_participants: int
    capture_updates_mb: float
    backbone: BackboneConfig

    def __post_init__(self) -> None:
        for name in ("rounds", "local_epochs", "min_clients", "seq_len", "stride", "frame_step", "hidden", "layers",
                     "fc_units", "batch_size"):
            require(getattr(self, name) > 0, f"{name} must be positive, got {getattr(self, name)}")
        require(0 < self.client_fraction <= 1, f"client_fraction must be in (0, 1], got {self.client_fraction}")
        require(self.client_timeout > 0, f"client_timeout must be positive, got {self.client_timeout}")
        require(self.lr > 0 and 0 <= self.dropout < 1, "lr must be positive and dropout in [0, 1)")
        require(min(self.patience, self.val_participants) >= 0 and self.capture_updates_mb >= 0,
                "patience, val_participants and capture_updates_mb must be >= 0")


class FedAvgMethod:
    """Each training participant trains locally; the server averages; the held-out fold is scored."""

    config_type = FedAvgConfig
    needs_frames = True
    description = "ResNet18 + RNN trained with FedAvg, one client per participant"

    def train_fold(
        self, dataset: Dataset, split: Split, config: FedAvgConfig, rnn: str, seed: int,
        device: torch.device, progress: Progress,
    ) -> FoldOutput:
        fold = FrameFold.prepare(dataset, split, config, rnn, seed, device)
        if config.min_clients > len(fold.train):
            raise ConfigError(f"min_clients {config.min_clients} is more than the {len(fold.train)} training "
                              "participants")
        training = LocalTraining(config.seq_len, config.stride, config.batch_size, config.local_epochs, config.lr,
                                 config.loss)
        plan = FederationPlan(config.rounds, config.client_fraction, config.min_clients, config.aggregation,
                              config.patience if fold.validation else 0, config.capture_updates_mb,
                              config.client_timeout)
        clients = {s.participant: s for s in fold.train}
        if config.engine == "flower":
            template = copy.deepcopy(fold.model).cpu()
            history = run_flower_simulation(fold.model, clients, training, plan, fold.validate, seed, device, progress,
                                            make_model=lambda: copy.deepcopy(template))
        else:
            history = run_inprocess(fold.model, clients, training, plan, fold.validate, seed, device, progress)
        fold.notes["engine"] = config.engine
        return fold.output(
            history,
            efficiency={"train_seconds_parallel": history.seconds_parallel, "client_seconds": history.client_seconds,
                        "bytes_up": history.bytes_up, "bytes_down": history.bytes_down,
                        "rounds": len(history.train_loss), "dropped_clients": history.dropped},
            updates=history.updates,
        )


METHODS.register("fedavg")(FedAvgMethod())
