"""The one client step, shared by every engine: train the global model locally, return the weights."""

from __future__ import annotations

import copy
import dataclasses
import math
import time
from dataclasses import dataclass
from typing import Any, Literal

import torch

from privbench.data.frames import FrameSequence
from privbench.federated.client_privacy import ClientPrivacy, trainable_keys
from privbench.models.frame_model import FrameSequenceModel
from privbench.progress import Progress
from privbench.settings import OptimiserSettings, WindowSettings
from privbench.train.frame_pretrain import pretrain_frames
from privbench.train.loop import train_epoch
from privbench.train.setup import client_training, unwrapped

StateDict = dict[str, torch.Tensor]


@dataclass(frozen=True, kw_only=True)
class LocalTraining:
    """What a client needs to know to train (sent by the server with the weights; a deployed client
    receives ``privbench.config.to_dict`` of it and rebuilds it with ``build``, checked)."""

    seq_len: int
    stride: int
    batch_size: int
    local_epochs: int
    lr: float
    loss: str
    warmup_rounds: int = 0  # the first rounds train the backbone on single frames (train/frame_pretrain.py)
    warmup_steps: int = 0  # local steps per warm-up round
    warmup_batch: int = 64  # frames per warm-up step
    backbone_lr_scale: float = 1.0  # after the warm-up, the backbone learns at lr x this
    trainable: Literal["all", "head"] = "all"  # head: the backbone is frozen, only what follows it trains
    privacy: ClientPrivacy = ClientPrivacy()  # what the client does before its update leaves it

    def is_warmup(self, round_: int) -> bool:
        return round_ < self.warmup_rounds and self.warmup_steps > 0

    def sent(self, round_: int, examples: int) -> dict[str, Any]:
        """These settings as the server knows them for one client's step in ``round_`` (captured
        with its update): what the step trained on, in how many optimiser steps of which batch."""
        if self.is_warmup(round_):
            step = {"unit": "frame", "batch_size": self.warmup_batch, "local_steps": self.warmup_steps,
                    "schedule": "one_cycle"}
        else:
            step = {"unit": "window", "batch_size": self.batch_size,
                    "local_steps": math.ceil(examples / self.batch_size) * self.local_epochs, "schedule": "constant"}
        return {**dataclasses.asdict(self), **step, "warmup": self.is_warmup(round_), "optimizer": "adam"}


@dataclass(frozen=True)
class ClientResult:
    client_id: str
    weights: StateDict  # on the CPU
    examples: int  # training windows
    loss: float
    seconds: float
    clipped: bool = False  # client- or server-side clipping changed the update
    dp_noise: float = 0.0  # client DP-SGD: this round's noise multiplier, sample rate and steps
    dp_rate: float = 0.0
    dp_steps: int = 0

    def metrics(self) -> dict[str, int | float]:
        """What the client reports beside its update (a Flower MetricRecord's values)."""
        return {"num-examples": self.examples, "loss": self.loss, "seconds": self.seconds, "clipped": int(self.clipped),
                "dp-noise": self.dp_noise, "dp-rate": self.dp_rate, "dp-steps": self.dp_steps}

    @classmethod
    def from_metrics(cls, client_id: str, weights: StateDict, metrics: Any) -> ClientResult:
        """A result from a client's reported ``metrics`` (``metrics()``) and its ``weights``."""
        return cls(client_id, weights, int(metrics["num-examples"]), float(metrics["loss"]), float(metrics["seconds"]),
                   clipped=bool(metrics["clipped"]), dp_noise=float(metrics["dp-noise"]),
                   dp_rate=float(metrics["dp-rate"]), dp_steps=int(metrics["dp-steps"]))


def local_update(
    model: FrameSequenceModel, global_weights: StateDict, client_id: str, sequence: FrameSequence,
    training: LocalTraining, seed: int, device: torch.device, round_: int = 0,
) -> ClientResult:
    """Load ``global_weights``, train ``local_epochs`` on this client's windows with a fresh Adam, the
    backbone at ``lr * backbone_lr_scale`` (``trainable=head``: frozen); in a warm-up round, train the backbone
    and the frame head on ``warmup_steps`` batches of the client's single frames instead (both stages built by
    ``privbench.train.setup`` and run by the one training loop). ``training.privacy`` acts on the way: DP-SGD
    inside the training, clipping and noise on the update before it is returned."""
    start = time.perf_counter()
    private = training.privacy.dpsgd(local_epochs=training.local_epochs, seed=seed, client_id=client_id)
    if private:
        model = copy.deepcopy(model)  # Opacus's hooks stay on the model it wraps: wrap a copy
    model.load_state_dict(global_weights)
    model.to(device)
    if training.trainable == "head":
        model.freeze_backbone()
    if training.is_warmup(round_):
        losses = pretrain_frames(model, [sequence], steps=training.warmup_steps, batch_size=training.warmup_batch,
                                 lr=training.lr, loss_name=training.loss, seed=seed, device=device,
                                 progress=Progress(enabled=False))
        examples, loss = training.warmup_steps * training.warmup_batch, losses[-1]
    else:
        windows = WindowSettings(seq_len=training.seq_len, stride=training.stride)
        optim = OptimiserSettings(loss=training.loss, lr=training.lr, batch_size=training.batch_size)
        setup = client_training(model, sequence, windows=windows, optim=optim,
                                backbone_lr_scale=training.backbone_lr_scale, seed=seed, wrap=private or unwrapped)
        losses = [train_epoch(setup, device)[0] for _ in range(training.local_epochs)]
        examples, loss = len(setup.loader.dataset), losses[-1]
    weights = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
    weights, clipped = training.privacy.release(weights, global_weights, keys=trainable_keys(weights, training.trainable),
                                                seed=seed, client_id=client_id)
    noise, rate, steps = private.spent() if private else (0.0, 0.0, 0)
    return ClientResult(client_id, weights, examples, float(loss), time.perf_counter() - start, clipped=clipped,
                        dp_noise=noise, dp_rate=rate, dp_steps=steps)
