"""The methods' configs: frozen dataclasses of settings groups (privbench.settings), one per method,
torch-free so that ``run`` checks every setting before it imports torch; each method module
(``privbench.methods.<name>``) trains with its own. ``config_type`` finds a method's without importing
the method (a method declared elsewhere falls back to its module's ``config_type``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from privbench.config import require
from privbench.methods import METHODS
from privbench.release.settings import ReleaseSettings, trainable
from privbench.settings import (
    DeploymentSettings,
    DPSettings,
    FederationSettings,
    FrameSettings,
    HeadSettings,
    OptimiserSettings,
    SecAggSettings,
    StoppingSettings,
    WindowSettings,
    check_dp,
    check_federated_dp,
    check_secagg,
)


@dataclass(frozen=True, kw_only=True)
class AUConfig:
    """Settings of the ``au`` method (configs/au.yaml documents each key)."""

    windows: WindowSettings
    head: HeadSettings
    optim: OptimiserSettings
    stopping: StoppingSettings
    dp: DPSettings
    transform: ReleaseSettings  # what it trains on: the AU release (``--set release=NAME``; privbench.release)
    save_models: bool
    epochs: int

    def __post_init__(self) -> None:
        require(self.epochs > 0, f"epochs must be positive, got {self.epochs}")
        check_dp(self.dp, self.optim)
        trainable(self.transform, "au")


@dataclass(frozen=True, kw_only=True)
class CentralConfig:
    """Settings of the ``central`` method (configs/central.yaml documents each key)."""

    windows: WindowSettings
    head: HeadSettings
    optim: OptimiserSettings
    stopping: StoppingSettings
    frames: FrameSettings
    dp: DPSettings
    save_models: bool
    epochs: int
    lr_schedule: Literal["constant", "onecycle"]
    windows_per_epoch: int
    num_workers: int

    def __post_init__(self) -> None:
        require(self.epochs > 0 and self.windows_per_epoch > 0,
                f"epochs and windows_per_epoch must be positive, got {self.epochs} and {self.windows_per_epoch}")
        require(self.num_workers >= 0, f"num_workers must be >= 0, got {self.num_workers}")
        check_dp(self.dp, self.optim, self.frames)


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
    dp: DPSettings
    secagg: SecAggSettings
    save_models: bool

    def __post_init__(self) -> None:
        check_federated_dp(self.dp, self.optim, self.frames, self.federation)
        check_secagg(self.secagg, self.dp, self.federation)


CONFIG_TYPES: dict[str, type] = {"au": AUConfig, "central": CentralConfig, "fedavg": FedAvgConfig}


def config_type(method: str) -> type:
    """The config dataclass of ``method`` (an unknown name lists the valid ones), imported torch-free
    where it is one of the above."""
    METHODS.describe(method)
    return CONFIG_TYPES.get(method) or METHODS.get(method).config_type
