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
    trainable: Literal["all", "head"]

    def __post_init__(self) -> None:
        _positive(self, "rounds", "local_epochs", "min_clients", "client_timeout")
        _non_negative(self, "warmup_rounds", "capture_updates_mb")
        require(0 < self.client_fraction <= 1, f"client_fraction must be in (0, 1], got {self.client_fraction}")
        require(0 <= self.server_momentum < 1, f"server_momentum must be in [0, 1), got {self.server_momentum}")
        require(self.trainable == "head" or self.warmup_rounds <= self.rounds, f"warmup_rounds ({self.warmup_rounds}) "
                f"must not exceed rounds ({self.rounds}): rounds include the warm-up rounds")


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
class DPSettings:
    """DP-SGD (Opacus), off while ``epsilon`` is null; set as ``dp.KEY`` (docs/defences.md).

    Each fold model is an (epsilon, delta)-DP release with respect to one privacy ``unit``: a ``window`` (Opacus's
    example-level guarantee; a person contributes many windows, so it does not protect a person) or a
    ``participant`` (user-level: Poisson-sampled participants, each contributing ``windows_per_participant``
    windows whose gradients are summed and clipped as one). ``warmup`` is where ``central``'s frame warm-up
    trains under DP: ``public`` (a synthetic population of other people, generator seed ``public_seed``: the
    stand-in for public pretrained weights) or ``none``. ``mode``: ``dpsgd`` for ``au`` and ``central``; for
    ``fedavg`` the client-level mechanisms ``server``, ``client`` and ``local`` (``privbench.defences.federated``;
    their unit is always the participant, and ``max_grad_norm`` bounds each client's update)."""

    epsilon: float | None
    delta: float
    max_grad_norm: float
    accountant: Literal["prv", "rdp"]
    mode: Literal["dpsgd", "server", "client", "local"]
    unit: Literal["window", "participant"]
    participants_per_step: float
    windows_per_participant: int
    warmup: Literal["public", "none"]
    public_seed: int

    @property
    def enabled(self) -> bool:
        return self.epsilon is not None

    @property
    def per_example(self) -> bool:
        """DP-SGD: the model needs Opacus's per-example gradients (client-level DP clips whole updates)."""
        return self.enabled and self.mode == "dpsgd"

    def __post_init__(self) -> None:
        require(self.epsilon is None or self.epsilon > 0, f"epsilon must be positive, got {self.epsilon}")
        require(0 < self.delta < 1, f"delta must be in (0, 1), got {self.delta}")
        _positive(self, "max_grad_norm", "participants_per_step", "windows_per_participant")


@dataclass(frozen=True, kw_only=True)
class SecAggSettings:
    """Secure aggregation (Flower's SecAgg+) for ``fedavg``, off unless ``enabled``; set as ``secagg.KEY``
    (docs/defences.md). Each client's floating-point update is clipped to [-``clipping_range``,
    ``clipping_range``], quantised to integers in [0, ``quantization_range``] and masked modulo ``modulus_range``;
    the server unmasks only the sum, with ``reconstruction_threshold`` of a client's ``num_shares`` key shares
    (0 shares: every client of the round holds one)."""

    enabled: bool
    num_shares: int
    reconstruction_threshold: int
    clipping_range: float
    quantization_range: int
    modulus_range: int

    def __post_init__(self) -> None:
        _positive(self, "clipping_range", "quantization_range")
        require(self.reconstruction_threshold >= 2, "secagg.reconstruction_threshold must be at least 2, got "
                f"{self.reconstruction_threshold}")
        require(self.num_shares == 0 or self.num_shares > self.reconstruction_threshold, "secagg.num_shares must "
                f"be 0 (every client) or above secagg.reconstruction_threshold, got {self.num_shares}")
        require(self.modulus_range > self.quantization_range and bin(self.modulus_range).count("1") == 1,
                f"secagg.modulus_range must be a power of 2 above quantization_range, got {self.modulus_range}")
        require(self.modulus_range <= 2**32, f"secagg.modulus_range must be at most 2**32, got {self.modulus_range}")


def check_dp(dp: DPSettings, optim: OptimiserSettings, frames: FrameSettings | None = None) -> None:
    """What DP-SGD needs of ``au``'s and ``central``'s other settings (nothing while DP is off)."""
    if not dp.enabled:
        return
    require(dp.mode == "dpsgd", f"dp.mode={dp.mode} is a federated mechanism (fedavg); au and central train with "
            "dp.mode=dpsgd")
    require(optim.loss != "ccc", "DP-SGD needs a loss that is a mean of per-window terms; the batch CCC loss "
            "(loss=ccc) is not: use loss=ccc_window or loss=mse")
    if frames is None:
        return
    require(frames.backbone.norm == "group", "DP-SGD needs backbone.norm=group: BatchNorm mixes the examples of "
            "a batch (and its running statistics are not privatised)")
    require(dp.unit == "participant" or frames.normalise != "person", "dp.unit=window with normalise=person: a "
            "window's inputs depend on its participant's other frames, so the window-level guarantee would not "
            "hold; use --set normalise=imagenet or dp.unit=participant")


def check_federated_dp(dp: DPSettings, optim: OptimiserSettings, frames: FrameSettings,
                       federation: FederationSettings) -> None:
    """What DP needs of ``fedavg``'s other settings (nothing while DP is off)."""
    if not dp.enabled:
        return
    require(frames.backbone.norm == "group", f"dp.mode={dp.mode} needs backbone.norm=group: "
            + ("BatchNorm mixes the windows of a batch" if dp.mode == "dpsgd" else "noise on BatchNorm's running "
               "statistics breaks them"))
    if dp.mode == "dpsgd":
        require(dp.unit == "window", "dp.mode=dpsgd inside a client: each client holds one participant, so its unit "
                "is the window; for the participant as the unit use dp.mode=server, client or local")
        check_dp(dp, optim, frames)
        require(federation.warmup_rounds == 0 or federation.trainable == "head", "dp.mode=dpsgd: the warm-up rounds "
                "train on single frames outside the clients' window accountant; set warmup_rounds=0, or trainable=head "
                "(the backbone warmed up on public data, frozen)")
        return
    require(dp.mode == "local" or federation.aggregation == "mean", f"dp.mode={dp.mode} needs aggregation=mean: "
            "a weighted mean lets one client's example count scale its update past the clipping bound")


def poisson_secure_rounds(dp: DPSettings) -> bool:
    """Client-clipped DP-FedAvg samples each client with probability q: under SecAgg+ a round's size varies
    around its expectation (the other mechanisms' rounds have a fixed size)."""
    return dp.enabled and dp.mode == "client"


def check_secagg(secagg: SecAggSettings, dp: DPSettings, federation: FederationSettings) -> None:
    """What secure aggregation needs of ``fedavg``'s other settings (nothing while it is off)."""
    if not secagg.enabled:
        return
    require(not dp.enabled or dp.mode != "server", "secure aggregation with dp.mode=server cannot work: the server "
            "clips each update, and under SecAgg+ it sees only their sum; use dp.mode=client or dp.mode=local")
    require(federation.aggregation == "mean", "secure aggregation needs aggregation=mean: SecAgg+ scales each update "
            "by examples / max_weight before quantising it, which costs the weighted mean its precision")
    require(federation.min_clients >= secagg.reconstruction_threshold or poisson_secure_rounds(dp), f"min_clients "
            f"({federation.min_clients}) is below secagg.reconstruction_threshold ({secagg.reconstruction_threshold}): "
            "SecAgg+ cannot unmask a round with fewer clients than its threshold")
