"""The models gradient inversion attacks, built with the weights a server would send at round 0.

``VICTIM_MODELS`` maps a name to a builder ``(spec: VictimSpec, *, seed) -> nn.Module``. ``cnn``: a small
convolutional regressor for the quick profile (three 3x3 convolutions, a linear read-out of the flattened
last feature map). ``resnet18``: privbench's frame model, with the per-frame 2-output head as the fedavg
warm-up rounds train it (``head=frame``: ``FrameReadout``), or the whole ``FrameSequenceModel`` on windows
(``head=rnn``). Frame models map [N, 3, S, S] to [N, 1, 2] (a window of one frame, as ``FrameReadout``);
the window model maps [N, T, 3, S, S] to [N, T, 2]. A frame size a model cannot take is an ``InputError``.

``init="privbench"`` is privbench's random initialisation (``zero_init_residual``: each residual
block's last norm weight is zero, so its branch starts switched off and gets no gradient at round 0);
``init="torchvision"`` is torchvision's default (those weights at one), as the public reference
implementation of Inverting Gradients builds its ResNet18. BatchNorm runs in ``eval`` mode (running
statistics as initialised) or ``train`` mode (batch statistics), as the client trains it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal

import torch
from torch import nn
from torchvision.models.resnet import BasicBlock

from privbench.errors import InputError
from privbench.models.backbone import BackboneConfig, build_backbone
from privbench.models.frame_model import FrameReadout, FrameSequenceModel
from privbench.registry import Registry

CNN_MIN_SIZE = 16
RESNET_MIN_SIZE = 32


@dataclass(frozen=True, kw_only=True)
class VictimSpec:
    """How to build a victim: the model and its head (``frame``: the per-frame 2-output readout; ``rnn``:
    the recurrent head on windows, ResNet18 only), the frame side in pixels, normalisation layers and
    BatchNorm's mode, the random initialisation, the recurrent head's settings, and ``batch_frames``, the
    frames of one forward pass (examples x window length: BatchNorm in train mode needs more than one value
    per channel)."""

    model: str
    head: Literal["frame", "rnn"] = "frame"
    frame_size: int
    norm: Literal["batch", "group"] = "batch"
    batchnorm: Literal["eval", "train"] = "eval"
    init: Literal["privbench", "torchvision"] = "privbench"
    batch_frames: int = 1
    rnn: str = "bigru"
    hidden: int = 32
    layers: int = 1
    fc_units: int = 10


VictimBuilder = Callable[..., nn.Module]
VICTIM_MODELS: Registry[VictimBuilder] = Registry("victim model")


def _seeded(build: Callable[[VictimSpec], nn.Module]) -> VictimBuilder:
    """A builder ``(spec, *, seed) -> model``: initialised from ``seed`` (the global generator is left as it
    was), in the mode the client trains it (BatchNorm ``train`` or ``eval``)."""

    def victim(spec: VictimSpec, *, seed: int) -> nn.Module:
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            model = build(spec)
        return model.train(spec.batchnorm == "train")

    victim.__doc__ = build.__doc__
    return victim


class SmallCNN(nn.Module):
    """[N, 3, S, S] -> [N, 1, 2]: conv 3->16 (stride 1), 16->32 (stride 2), 32->32 (stride 2), each with a
    norm layer and ReLU, then one linear layer on the flattened 32 x S/4 x S/4 map (no pooling)."""

    def __init__(self, frame_size: int, norm: Callable[[int], nn.Module]) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for cin, cout, stride in ((3, 16, 1), (16, 32, 2), (32, 32, 2)):
            layers += [nn.Conv2d(cin, cout, 3, stride, 1), norm(cout), nn.ReLU()]
        self.features = nn.Sequential(*layers, nn.Flatten())
        side = (frame_size + 3) // 4
        self.readout = nn.Linear(32 * side * side, 2)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self.readout(self.features(frames))[:, None]


def _norm_layer(spec: VictimSpec) -> Callable[[int], nn.Module]:
    if spec.norm == "group":
        return lambda channels: nn.GroupNorm(min(32, channels // 2), channels)
    return nn.BatchNorm2d


def _check_size(spec: VictimSpec, minimum: int) -> None:
    if spec.frame_size < minimum:
        raise InputError(f"model={spec.model} needs frames of at least {minimum} px (frame_size={spec.frame_size})")


def _layer4_side(size: int) -> int:
    """The side of ResNet18's last feature map: a 7x7 stride-2 stem, a 3x3 stride-2 max pool, three
    stride-2 stages."""
    for kernel, padding in ((7, 3), (3, 1), (3, 1), (3, 1), (3, 1)):
        size = (size + 2 * padding - kernel) // 2 + 1
    return size


def _backbone(spec: VictimSpec) -> nn.Module:
    _check_size(spec, RESNET_MIN_SIZE)
    values = spec.batch_frames * _layer4_side(spec.frame_size) ** 2
    if spec.norm == "batch" and spec.batchnorm == "train" and values < 2:
        raise InputError(f"model={spec.model} with BatchNorm in train mode on one frame needs frames over "
                         f"{RESNET_MIN_SIZE} px (one value per channel in the last stage; frame_size={spec.frame_size})")
    backbone, _ = build_backbone(BackboneConfig(weights="none", norm=spec.norm))
    if spec.init == "torchvision":
        for block in backbone.modules():
            if isinstance(block, BasicBlock):
                nn.init.ones_(block.bn2.weight)
    return backbone


def _cnn(spec: VictimSpec) -> nn.Module:
    """The small CNN; frames only."""
    _check_size(spec, CNN_MIN_SIZE)
    if spec.head != "frame":
        raise InputError("model=cnn has only the per-frame head (head=frame)")
    return SmallCNN(spec.frame_size, _norm_layer(spec))


def _resnet18(spec: VictimSpec) -> nn.Module:
    """privbench's frame model: ``FrameReadout`` (head=frame) or ``FrameSequenceModel`` (head=rnn)."""
    model = FrameSequenceModel.create(_backbone(spec), spec.rnn, spec.hidden, spec.layers,
                                      spec.fc_units)
    return FrameReadout(model) if spec.head == "frame" else model


VICTIM_MODELS.register("cnn", "small CNN (3 convolutions, linear read-out), frames -> valence/arousal")(
    _seeded(_cnn))
VICTIM_MODELS.register("resnet18", "privbench's ResNet18 frame model: per-frame head or recurrent head on windows")(
    _seeded(_resnet18))
