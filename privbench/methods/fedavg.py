"""The ``fedavg`` method: ResNet18 + RNN trained with FedAvg, every training participant one client."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch

from privbench.config import to_dict
from privbench.data.layout import Dataset
from privbench.data.splits import Split
from privbench.errors import ConfigError
from privbench.federated.client import LocalTraining
from privbench.federated.deployment import DeploymentJob, run_deployment
from privbench.federated.flower_engine import run_flower_simulation
from privbench.federated.inprocess import FederationPlan, run_inprocess
from privbench.methods.base import METHODS, FoldOutput
from privbench.methods.frame_fold import FrameFold
from privbench.progress import Progress
from privbench.settings import (
    DeploymentSettings,
    FederationSettings,
    FrameSettings,
    HeadSettings,
    OptimiserSettings,
    PrivacySettings,
    StoppingSettings,
    WindowSettings,
)

@dataclass(frozen=True, kw_only=True)
class FedAvgConfig:
    """Settings of the ``fedavg`` method (configs/fedavg.yaml documents each key)."""

    windows: WindowSettings
    head: HeadSettings
    optim: OptimiserSettings
    stopping: StoppingSettings
    frames: FrameSettings
    federation: FederationSettings
    deployment: DeploymentSettings
    privacy: PrivacySettings


def _is_address(value: str) -> bool:
    host, _, port = value.rpartition(":")
    return bool(host) and port.isdigit()


def local_training(config: FedAvgConfig) -> LocalTraining:
    """What the server tells every client about local training."""
    windows, optim, frames, federation = config.windows, config.optim, config.frames, config.federation
    return LocalTraining(seq_len=windows.seq_len, stride=windows.stride, batch_size=optim.batch_size,
                         local_epochs=federation.local_epochs, lr=optim.lr, loss=optim.loss,
                         warmup_rounds=federation.warmup_rounds, warmup_steps=frames.warmup_steps,
                         warmup_batch=frames.warmup_batch, backbone_lr_scale=frames.backbone_lr_scale)


def federation_plan(config: FedAvgConfig) -> FederationPlan:
    """The server loop's settings."""
    federation = config.federation
    return FederationPlan(rounds=federation.rounds, client_fraction=federation.client_fraction,
                          min_clients=federation.min_clients, aggregation=federation.aggregation,
                          patience=config.stopping.patience, capture_mb=federation.capture_updates_mb,
                          client_timeout=federation.client_timeout, server_momentum=federation.server_momentum)


class FedAvgMethod:
    """Each training participant trains locally; the server averages; the held-out fold is scored."""

    config_type = FedAvgConfig
    needs_frames = True
    description = "ResNet18 + RNN trained with FedAvg, one client per participant"

    def train_fold(
        self, dataset: Dataset, split: Split, config: FedAvgConfig, rnn: str, seed: int,
        device: torch.device, progress: Progress,
    ) -> FoldOutput:
        if config.deployment.engine == "deployment" and not _is_address(config.deployment.superlink):
            raise ConfigError(
                f"the deployment engine needs --superlink HOST:PORT, got {config.deployment.superlink!r}")
        fold = FrameFold.prepare(dataset, split, config, rnn, seed, device,
                                 local_train=config.deployment.engine != "deployment")
        if config.federation.min_clients > len(split.train):
            raise ConfigError(f"min_clients {config.federation.min_clients} is more than the {len(split.train)} "
                              "training "
                              "participants")
        training = local_training(config)
        plan = federation_plan(config)
        clients = {s.participant: s for s in fold.train}
        if config.deployment.engine == "flower":
            template = copy.deepcopy(fold.model).cpu()
            history = run_flower_simulation(fold.model, clients, training, plan, fold.validator, seed, device, progress,
                                            make_model=lambda: copy.deepcopy(template))
        elif config.deployment.engine == "deployment":
            job = DeploymentJob(str(dataset.root.resolve()), list(split.train), list(split.validation),
                                to_dict(config), rnn, seed)
            deployment = config.deployment
            weights, history = run_deployment(deployment.superlink, job, deployment.deployment_timeout, progress,
                                             deployment.superlink_ca or None)
            fold.model.load_state_dict(weights)
            fold.notes["superlink"] = config.deployment.superlink
        else:
            history = run_inprocess(fold.model, clients, training, plan, fold.validator, seed, device, progress)
        fold.notes["engine"] = config.deployment.engine
        return fold.output(
            history,
            efficiency={"train_seconds_parallel": history.seconds_parallel, "client_seconds": history.client_seconds,
                        "train_seconds_per_client": sum(history.epoch_seconds) / len(split.train),
                        "bytes_up": history.bytes_up, "bytes_down": history.bytes_down,
                        "rounds": len(history.train_loss), "dropped_clients": history.dropped},
            updates=history.updates,
        )


METHODS.register("fedavg")(FedAvgMethod())
