"""Closed-form leakage through the output layer, for a batch of one example.

When the model's outputs come straight from a linear layer ``o = W h + b`` that reads one feature vector
``h`` per example, the loss gradient of a single example gives ``dL/dW = g h^T`` and ``dL/db = g`` with
``g = dL/do``: the features are ``h = g^T dL/dW / |g|^2`` exactly. With the mean squared error over
``M`` outputs, ``g = 2 (o - y) / M``, so the targets follow too: ``y = W h + b - M g / 2``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from privbench.attacks.gradinv.objectives import forward, parameters_of


@dataclass(frozen=True)
class OutputLayer:
    """The linear layer whose outputs are the model's, with the positions of its weight and bias among the
    model's trainable parameters."""

    module: nn.Linear
    weight_index: int
    bias_index: int


@dataclass(frozen=True)
class Leak:
    """What the output layer's gradient gives away: the example's features [1, F] (the layer's input) and its
    targets [1, ...]."""

    layer: OutputLayer
    features: torch.Tensor
    targets: torch.Tensor


def output_layer(model: nn.Module, example: torch.Tensor) -> OutputLayer | None:
    """The linear layer producing the model's outputs on ``example`` (a batch of one, model inputs) when it
    reads one feature vector for the example; None otherwise (e.g. a recurrent head over a window)."""
    seen: list[tuple[nn.Linear, torch.Tensor, torch.Tensor]] = []
    hooks = [m.register_forward_hook(lambda m, i, o: seen.append((m, i[0], o)))
             for m in model.modules() if isinstance(m, nn.Linear) and m.bias is not None]
    try:
        with torch.no_grad():
            outputs = forward(model, parameters_of(model), example)
    finally:
        for hook in hooks:
            hook.remove()
    for module, inputs, produced in seen:
        if inputs.numel() == module.in_features and produced.numel() == outputs.numel() \
                and torch.equal(produced.flatten(), outputs.flatten()):
            return _located(model, module)
    return None


def _located(model: nn.Module, module: nn.Linear) -> OutputLayer | None:
    ids = [id(p) for p in model.parameters() if p.requires_grad]
    if id(module.weight) not in ids or id(module.bias) not in ids:
        return None
    return OutputLayer(module, ids.index(id(module.weight)), ids.index(id(module.bias)))


def leak(layer: OutputLayer, gradient: list[torch.Tensor]) -> Leak | None:
    """The example's features and targets from the loss gradient of a batch of one; None when the output
    layer's bias gradient is zero (a perfect prediction leaks nothing through it)."""
    weight_grad, bias_grad = gradient[layer.weight_index], gradient[layer.bias_index]
    energy = float(bias_grad.pow(2).sum())
    if energy == 0.0:
        return None
    features = (bias_grad @ weight_grad / energy)[None]
    with torch.no_grad():
        outputs = layer.module(features)
    targets = outputs - layer.module.out_features * bias_grad / 2
    return Leak(layer, features.detach(), targets.detach())
