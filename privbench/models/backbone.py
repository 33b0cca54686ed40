"""ResNet18 feature extractor (fc removed: 512 features per frame), with ImageNet weights only from disk.

Weights come from a path the user gives (``--set backbone.weights=PATH``) or from torchvision's
file in the torch hub cache; privbench never downloads them. Without either, the backbone is
randomly initialised (residual branches start at zero, so each block starts as the identity, which
trains faster from scratch) and the run says so.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from torchvision.models import ResNet, ResNet18_Weights, resnet18
from torchvision.models.resnet import BasicBlock

from privbench.errors import InputError
from privbench.settings import BackboneConfig

__all__ = ["FEATURES", "BackboneConfig", "build_backbone", "cached_weights_path"]

FEATURES = 512


def cached_weights_path() -> Path:
    """Where torchvision keeps ImageNet ResNet18 weights once downloaded."""
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(ResNet18_Weights.IMAGENET1K_V1.url).name


class _OutOfPlaceBlock(BasicBlock):
    """torchvision's residual block, its sum out of place (with non-in-place ReLUs: the same function)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        return self.relu(out + identity)


def build_backbone(config: BackboneConfig, *, hookable: bool = False) -> tuple[nn.Module, str]:
    """The backbone and a one-line statement of where its weights came from. ``hookable``: no in-place
    operation follows a layer (per-sample gradient hooks, e.g. Opacus's, cannot follow one); the same
    parameters, initialisation and function."""
    norm = _group_norm if config.norm == "group" else nn.BatchNorm2d
    if hookable:
        model = ResNet(_OutOfPlaceBlock, [2, 2, 2, 2], norm_layer=norm, zero_init_residual=True)
        for module in model.modules():
            if isinstance(module, nn.ReLU):
                module.inplace = False
    else:
        model = resnet18(weights=None, norm_layer=norm, zero_init_residual=True)
    model.fc = nn.Identity()
    if config.weights == "none":
        return model, "random initialisation (backbone.weights=none)"
    path = cached_weights_path() if config.weights == "auto" else Path(config.weights)
    if not path.exists():
        if config.weights != "auto":
            raise InputError(f"{path}: backbone weights file not found (backbone.weights)")
        return model, f"random initialisation (no ImageNet weights at {path}; none downloaded)"
    _load(model, path, config.norm)
    dropped = " (BatchNorm statistics dropped for GroupNorm)" if config.norm == "group" else ""
    return model, f"ImageNet weights from {path}{dropped}"


def _group_norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(min(32, channels // 2), channels)


def _load(model: nn.Module, path: Path, norm: str) -> None:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for a bad file
        raise InputError(f"{path}: not a readable torch weights file ({type(err).__name__})") from None
    state = {k: v for k, v in state.items() if not k.startswith("fc.")}
    if norm == "group":
        statistics = ("running_mean", "running_var", "num_batches_tracked")
        state = {k: v for k, v in state.items() if not k.endswith(statistics)}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or missing:
        raise InputError(
            f"{path}: not a ResNet18 state dict ({len(missing)} missing, {len(unexpected)} unexpected keys)")
