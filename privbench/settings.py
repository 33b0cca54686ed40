"""Typed groups of settings that the method configs are composed of (core layer: no torch).

Each group checks its own values once, in ``__post_init__``; a method config is a frozen
dataclass whose fields are groups (and a few method-only values). Groups are transparent to the
YAML files and to ``--set``: ``lr`` means ``optim.lr`` wherever a config has an ``optim`` group
(``privbench.config`` resolves flat keys). Construction is keyword-only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from privbench.config import Group, require

Loss = Literal["mse", "ccc", "ccc_window"]
Normalisation = Literal["person", "imagenet"]


def _positive(group: object, *names: str) -> None:
    for name in names:
        value = getattr(group, name)
        require(value > 0, f"{name} must be positive, got {value}")


def _non_negative(group: object, *names: str) -> None:
    for name in names:
        value = getattr(group, name)
        require(value >= 0, f"{name} must be >= 0, got {value}")


@dataclass(frozen=True, kw_only=True)
class WindowSettings(Group):
    """Training windows: ``seq_len`` steps, a new window every ``stride`` steps."""

    seq_len: int
    stride: int

    def __post_init__(self) -> None:
        _positive(self, "seq_len", "stride")


@dataclass(frozen=True, kw_only=True)
class HeadSettings(Group):
    """The recurrent head: RNN / BiGRU / BiLSTM layers, then FC(fc_units), then 2 outputs."""

    hidden: int
    layers: int
    fc_units: int
    dropout: float

    def __post_init__(self) -> None:
        _positive(self, "hidden", "layers", "fc_units")
        require(0 <= self.dropout < 1, f"dropout must be in [0, 1), got {self.dropout}")


@dataclass(frozen=True, kw_only=True)
class OptimiserSettings(Group):
    """Adam at ``lr`` on batches of ``batch_size`` windows, minimising ``loss`` (``ccc_window``: 1 - CCC
    per window, the per-sample loss DP-SGD needs)."""

    loss: Loss
    lr: float
    batch_size: int

    def __post_init__(self) -> None:
        _positive(self, "lr", "batch_size")


@dataclass(frozen=True, kw_only=True)
class StoppingSettings(Group):
    """Early stopping on the validation participants' CCC (``patience`` 0: never stop early)."""

    patience: int
    val_participants: int

    def __post_init__(self) -> None:
        _non_negative(self, "patience", "val_participants")


@dataclass(frozen=True)
class BackboneConfig:
    """``weights``: a ResNet18 state-dict file, "auto" (torch hub cache if present, else random) or "none"
    (random, whatever the cache holds). Set as ``backbone.weights`` / ``backbone.norm``."""

    weights: str
    norm: Literal["batch", "group"]


@dataclass(frozen=True, kw_only=True)
class FrameSettings(Group):
    """How the frame methods read faces and warm the backbone up on single frames."""

    frame_step: int
    input_size: int
    normalise: Normalisation
    warmup_steps: int
    warmup_batch: int
    backbone_lr_scale: float
    backbone: BackboneConfig

    def __post_init__(self) -> None:
        _positive(self, "frame_step", "warmup_batch", "backbone_lr_scale")
        _non_negative(self, "input_size", "warmup_steps")


@dataclass(frozen=True, kw_only=True)
class FederationSettings(Group):
    """The FedAvg server: rounds, client sampling, local work, aggregation, update capture."""

    rounds: int
    local_epochs: int
    client_fraction: float
    min_clients: int
    client_timeout: float
    aggregation: Literal["mean", "weighted"]
    server_momentum: float
    warmup_rounds: int
    capture_updates_mb: float

    def __post_init__(self) -> None:
        _positive(self, "rounds", "local_epochs", "min_clients", "client_timeout")
        _non_negative(self, "warmup_rounds", "capture_updates_mb")
        require(0 < self.client_fraction <= 1, f"client_fraction must be in (0, 1], got {self.client_fraction}")
        require(0 <= self.server_momentum < 1, f"server_momentum must be in [0, 1), got {self.server_momentum}")
        require(self.warmup_rounds <= self.rounds, f"warmup_rounds ({self.warmup_rounds}) must not exceed rounds "
                f"({self.rounds}): rounds include the warm-up rounds")


@dataclass(frozen=True, kw_only=True)
class DeploymentSettings(Group):
    """Which engine runs the federation, and where a deployed SuperLink is."""

    engine: Literal["inprocess", "flower", "deployment"]
    superlink: str
    superlink_ca: str
    deployment_timeout: float

    def __post_init__(self) -> None:
        _positive(self, "deployment_timeout")


@dataclass(frozen=True, kw_only=True)
class PrivacySettings(Group):
    """Differential-privacy settings: an empty slot, filled by the DP-SGD and client-level DP defences."""
