"""The ``fedavg`` method: ResNet18 + RNN trained with FedAvg, every training participant one client."""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from typing import Literal

import torch

from privbench.config import require
from privbench.data.frame_transform import Normalisation
from privbench.data.layout import Dataset
from privbench.data.splits import Split
from privbench.errors import ConfigError
from privbench.federated.client import LocalTraining
from privbench.federated.deployment import DeploymentJob, run_deployment
from privbench.federated.flower_engine import run_flower_simulation
from privbench.federated.inprocess import FederationPlan, run_inprocess
from privbench.methods.base import METHODS, FoldOutput
from privbench.methods.frame_fold import FrameFold
from privbench.models.backbone import BackboneConfig
from privbench.progress import Progress

Engine = Literal["inprocess", "flower", "deployment"]  # the names privbench.methods.ENGINES declares


@dataclass(frozen=True)
class FedAvgConfig:
    """Settings of the ``fedavg`` method (configs/fedavg.yaml documents each)."""

    engine: Engine
    superlink: str
    superlink_ca: str
    deployment_timeout: float
    rounds: int
    local_epochs: int
    client_fraction: float
    min_clients: int
    client_timeout: float
    aggregation: Literal["mean", "weighted"]
    server_momentum: float
    seq_len: int
    stride: int
    frame_step: int
    input_size: int
    normalise: Normalisation
    hidden: int
    layers: int
    fc_units: int
    dropout: float
    loss: Literal["mse", "ccc"]
    lr: float
    backbone_lr_scale: float
    warmup_rounds: int
    warmup_steps: int
    warmup_batch: int
    batch_size: int
    patience: int
    val_participants: int
    capture_updates_mb: float
    backbone: BackboneConfig

    def __post_init__(self) -> None:
        for name in ("rounds", "local_epochs", "min_clients", "seq_len", "stride", "frame_step", "hidden", "layers",
                     "fc_units", "batch_size", "warmup_batch"):
            require(getattr(self, name) > 0, f"{name} must be positive, got {getattr(self, name)}")
        require(0 < self.client_fraction <= 1, f"client_fraction must be in (0, 1], got {self.client_fraction}")
        require(self.client_timeout > 0 and self.deployment_timeout > 0, "client_timeout and deployment_timeout "
                f"must be positive, got {self.client_timeout} and {self.deployment_timeout}")
        require(self.lr > 0 and 0 <= self.dropout < 1, "lr must be positive and dropout in [0, 1)")
        require(self.backbone_lr_scale > 0, f"backbone_lr_scale must be positive, got {self.backbone_lr_scale}")
        require(0 <= self.server_momentum < 1, f"server_momentum must be in [0, 1), got {self.server_momentum}")
        require(self.input_size >= 0, f"input_size must be >= 0, got {self.input_size}")
        require(min(self.warmup_rounds, self.warmup_steps) >= 0, "warmup_rounds and warmup_steps must be >= 0")
        require(self.warmup_rounds <= self.rounds, f"warmup_rounds ({self.warmup_rounds}) must not exceed rounds "
                f"({self.rounds}): rounds include the warm-up rounds")
        require(min(self.patience, self.val_participants) >= 0 and self.capture_updates_mb >= 0,
                "patience, val_participants and capture_updates_mb must be >= 0")


def _is_address(value: str) -> bool:
    host, _, port = value.rpartition(":")
    return bool(host) and port.isdigit()


def local_training(config: FedAvgConfig) -> LocalTraining:
    """What the server tells every client about local training."""
    return LocalTraining(config.seq_len, config.stride, config.batch_size, config.local_epochs, config.lr, config.loss,
                         config.warmup_rounds, config.warmup_steps, config.warmup_batch, config.backbone_lr_scale)


def federation_plan(config: FedAvgConfig) -> FederationPlan:
    """The server loop's settings."""
    return FederationPlan(config.rounds, config.client_fraction, config.min_clients, config.aggregation,
                          config.patience, config.capture_updates_mb, config.client_timeout, config.server_momentum)


class FedAvgMethod:
    """Each training participant trains locally; the server averages; the held-out fold is scored."""

    config_type = FedAvgConfig
    needs_frames = True
    description = "ResNet18 + RNN trained with FedAvg, one client per participant"

    def train_fold(
        self, dataset: Dataset, split: Split, config: FedAvgConfig, rnn: str, seed: int,
        device: torch.device, progress: Progress,
    ) -> FoldOutput:
        if config.engine == "deployment" and not _is_address(config.superlink):
            raise ConfigError(f"the deployment engine needs --superlink HOST:PORT, got {config.superlink!r}")
        fold = FrameFold.prepare(dataset, split, config, rnn, seed, device,
                                 local_train=config.engine != "deployment")
        if config.min_clients > len(split.train):
            raise ConfigError(f"min_clients {config.min_clients} is more than the {len(split.train)} training "
                              "participants")
        training = local_training(config)
        plan = federation_plan(config)
        clients = {s.participant: s for s in fold.train}
        if config.engine == "flower":
            template = copy.deepcopy(fold.model).cpu()
            history = run_flower_simulation(fold.model, clients, training, plan, fold.validator, seed, device, progress,
                                            make_model=lambda: copy.deepcopy(template))
        elif config.engine == "deployment":
            job = DeploymentJob(str(dataset.root.resolve()), list(split.train), list(split.validation),
                                dataclasses.asdict(config), rnn, seed)
            weights, history = run_deployment(config.superlink, job, config.deployment_timeout, progress,
                                             config.superlink_ca or None)
            fold.model.load_state_dict(weights)
            fold.notes["superlink"] = config.superlink
        else:
            history = run_inprocess(fold.model, clients, training, plan, fold.validator, seed, device, progress)
        fold.notes["engine"] = config.engine
        return fold.output(
            history,
            efficiency={"train_seconds_parallel": history.seconds_parallel, "client_seconds": history.client_seconds,
                        "train_seconds_per_client": sum(history.epoch_seconds) / len(split.train),
                        "bytes_up": history.bytes_up, "bytes_down": history.bytes_down,
                        "rounds": len(history.train_loss), "dropped_clients": history.dropped},
            updates=history.updates,
        )


METHODS.register("fedavg")(FedAvgMethod())
