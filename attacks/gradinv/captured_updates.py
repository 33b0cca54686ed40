"""The server's view of the client updates a fedavg run captured (``--set capture_updates_mb=N``).

``captured_views`` rebuilds the run's model from its config.yaml (ResNet18 with its normalisation layers,
the recurrent head), loads the weights each update was computed from, and turns each ``ClientUpdate``
into an ``ObservedUpdate`` with the client's training as the server sent it:

- a warm-up round: ``warmup_steps`` steps of Adam under the one-cycle schedule (its learning rate and
  beta1 at every step, read from the very scheduler the client used) on batches of ``warmup_batch``
  single frames, training the backbone and the per-frame head (``FrameReadout``), BatchNorm in train mode;
- a sequence round: ``local_steps`` Adam steps on batches of ``batch_size`` windows, the backbone at
  ``lr x backbone_lr_scale``.

The loss is the run's (CCC by default). The frames the client drew are not recorded, so the attack
reconstructs one batch and replays every step on it (the client's steps drew different batches of its
frames). Targets are unknown to the server.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import yaml

from privbench.attacks.gradinv.threat import LocalSteps, ObservedUpdate, PixelSpace
from privbench.errors import InputError
from privbench.models.backbone import build_backbone
from privbench.models.frame_model import FrameReadout, FrameSequenceModel
from privbench.settings import BackboneConfig
from privbench.train.loop import one_cycle
from privbench.types import ClientUpdate, load_updates


DEFENCE_SEEN = {  # client-level DP as the honest-but-curious server sees each client's update
    "server": "dp.mode=server: the server adds its noise after it has seen each update, so the defence gives no "
              "protection against this adversary (attacked anyway)",
    "client": "dp.mode=client: clipped on the client; the server sees the clipped update",
    "local": "dp.mode=local: clipped and noised on the client; the server sees the noised update",
}


@dataclass(frozen=True)
class CapturedRun:
    """A fedavg run's settings (its config.yaml) and its captured updates."""

    folder: Path
    config: dict[str, Any]
    updates: list[ClientUpdate]

    @property
    def train(self) -> dict[str, Any]:
        return self.config["train"]

    @property
    def input_size(self) -> int:
        return int(self.train["input_size"])

    @property
    def normalise(self) -> str:
        return str(self.train["normalise"])

    @property
    def frame_step(self) -> int:
        return int(self.train["frame_step"])

    @property
    def defence(self) -> str:
        """What client-level DP did to the captured updates, against this adversary (the server)."""
        dp = self.train.get("dp") or {}
        if dp.get("epsilon") is None:
            return "none"
        return DEFENCE_SEEN.get(dp.get("mode"), f"dp.mode={dp.get('mode')}") + f" (epsilon {dp['epsilon']:g})"


def load_run(folder: Path) -> CapturedRun:
    """A run folder's config and updates; one clear ``InputError`` for anything else."""
    config_path = folder / "config.yaml"
    if not config_path.is_file():
        raise InputError(f"{folder}: not a run folder (no config.yaml)")
    try:
        config = yaml.safe_load(config_path.read_text())
    except yaml.YAMLError as err:
        raise InputError(f"{config_path}: not readable YAML ({err.__class__.__name__})") from None
    if not isinstance(config, dict) or config.get("method") != "fedavg" or not isinstance(config.get("train"), dict):
        raise InputError(f"{config_path}: --updates needs a fedavg run (method: {config.get('method')!r})"
                         if isinstance(config, dict) else f"{config_path}: not a run config")
    updates = load_updates(folder / "updates.pt")
    if any(u.kind == "round_sum" for u in updates):
        raise InputError(f"{folder / 'updates.pt'}: only round sums exist (the run used secure aggregation, SecAgg+: "
                         "the server never saw a client's own update); inverting a captured sum is not built (a "
                         "simulated round's sum: privbench attack gradinv --secure-aggregation)")
    return CapturedRun(folder, config, updates)


def rebuild_model(run: CapturedRun) -> FrameSequenceModel:
    """The run's architecture, randomly initialised (the weights come from each update)."""
    train = run.train
    try:
        backbone, _ = build_backbone(BackboneConfig(weights="none", norm=train["backbone"]["norm"]))
        return FrameSequenceModel.create(backbone, run.config["rnn"], int(train["hidden"]), int(train["layers"]),
                                         int(train["fc_units"]), float(train["dropout"]))
    except (KeyError, TypeError, ValueError) as err:
        raise InputError(f"{run.folder / 'config.yaml'}: cannot rebuild the run's model ({err})") from None


def chosen_updates(run: CapturedRun, *, round_: int, victims: int) -> list[ClientUpdate]:
    """Up to ``victims`` updates of round ``round_`` from different clients (by fold, then client id)."""
    rounds = sorted({u.round for u in run.updates})
    in_round = sorted((u for u in run.updates if u.round == round_), key=lambda u: (u.fold, u.client_id))
    if not in_round:
        raise InputError(f"{run.folder / 'updates.pt'}: no update of round {round_} was captured (captured rounds: "
                         f"{', '.join(map(str, rounds)) or 'none'}; set updates_round)")
    chosen: dict[str, ClientUpdate] = {}
    for update in in_round:
        chosen.setdefault(update.client_id, update)
    return list(chosen.values())[:victims]


def observed_update(run: CapturedRun, update: ClientUpdate, model: FrameSequenceModel, pixels: PixelSpace,
                    side: int) -> ObservedUpdate:
    """The server's view of ``update``: ``model`` at the weights sent, in train mode, and the client's steps."""
    try:
        model.load_state_dict(update.global_weights)
    except (RuntimeError, KeyError) as err:
        raise InputError(f"{run.folder / 'updates.pt'}: update of client {update.client_id} (round {update.round}) "
                         f"does not fit the model of {run.folder / 'config.yaml'}: captured from another "
                         f"architecture? ({str(err).splitlines()[0]})") from None
    training = update.training
    warmup = bool(training.get("warmup"))
    trained = FrameReadout(model) if warmup else model
    trained.train()
    names = [name for name, p in trained.named_parameters() if p.requires_grad]
    missing = [name for name in names if name not in update.delta]
    if missing:
        raise InputError(f"{run.folder / 'updates.pt'}: the delta of client {update.client_id} lacks {missing[0]}: "
                         "captured from another architecture?")
    steps = local_steps(training, names, warmup=warmup)
    shape = (3, side, side) if warmup else (int(training["seq_len"]), 3, side, side)
    return ObservedUpdate(model=trained, kind="weight_delta", update=[update.delta[name].float() for name in names],
                          training=steps, examples=steps.batch_size, input_shape=shape, pixels=pixels)


def local_steps(training: dict[str, Any], names: list[str], *, warmup: bool) -> LocalSteps:
    """The client's optimiser steps as the server sent them (see the module docstring)."""
    lr, loss = float(training["lr"]), str(training["loss"])
    if warmup:
        steps = int(training["warmup_steps"])
        factors, beta1s = one_cycle_schedule(lr, steps)
        return LocalSteps(steps=steps, batch_size=int(training["warmup_batch"]), lr=lr, optimizer="adam", loss=loss,
                          lr_factors=factors, beta1s=beta1s)
    scale = float(training.get("backbone_lr_scale", 1.0))
    return LocalSteps(steps=int(training["local_steps"]), batch_size=int(training["batch_size"]), lr=lr,
                      optimizer="adam", loss=loss,
                      parameter_scales=tuple(scale if n.startswith("backbone.") else 1.0 for n in names))


def one_cycle_schedule(lr: float, steps: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Each step's learning-rate factor and Adam beta1 under privbench's one-cycle schedule."""
    optimizer = torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=lr)
    scheduler = one_cycle(optimizer, steps)
    factors, beta1s = [], []
    for _ in range(steps):
        factors.append(optimizer.param_groups[0]["lr"] / lr)
        beta1s.append(optimizer.param_groups[0]["betas"][0])
        optimizer.step()
        scheduler.step()
    return tuple(factors), tuple(beta1s)
