"""What a gradient inversion attack minimises: the client's loss gradient on candidate inputs, distances
between updates, and image priors.

The model is called functionally (``torch.func.functional_call``) on copies of its buffers, so no
candidate ever changes the model the server holds (BatchNorm in train mode would update its running
statistics otherwise).
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import torch
from torch import nn
from torch.func import functional_call

from privbench.train.loop import LOSSES

Tensors = Sequence[torch.Tensor]
Distance = Callable[[Tensors], torch.Tensor]


def parameters_of(model: nn.Module) -> dict[str, torch.Tensor]:
    """The model's trainable parameters by name, in ``model.parameters()`` order, as fresh leaves (the
    loss gradient is taken with respect to them; the model's own tensors are never touched)."""
    return {name: p.detach().requires_grad_(True) for name, p in model.named_parameters() if p.requires_grad}


def forward(model: nn.Module, parameters: dict[str, torch.Tensor], inputs: torch.Tensor) -> torch.Tensor:
    """The model's outputs at ``parameters``, its buffers copied (the model itself is left unchanged)."""
    buffers = {name: b.clone() for name, b in model.named_buffers()}
    return functional_call(model, {**parameters, **buffers}, (inputs,))


def client_loss(outputs: torch.Tensor, targets: torch.Tensor, name: str = "mse") -> torch.Tensor:
    """The client's loss ``name`` (``privbench.train.loop.LOSSES``: mse, ccc) of its outputs against targets
    of the same number of values (a per-frame readout's [B, 1, 2] against [B, 2])."""
    return LOSSES.get(name)(outputs.reshape(targets.shape), targets)


def loss_gradient(model: nn.Module, parameters: dict[str, torch.Tensor], inputs: torch.Tensor,
                  targets: torch.Tensor, *, loss: str = "mse", create_graph: bool = True) -> list[torch.Tensor]:
    """The gradient of the client's loss for each parameter (zeros for parameters the loss does not
    reach), differentiable in the inputs and targets when ``create_graph``."""
    value = client_loss(forward(model, parameters, inputs), targets, loss)
    grads = torch.autograd.grad(value, list(parameters.values()), create_graph=create_graph, allow_unused=True)
    return [torch.zeros_like(p) if g is None else g for g, p in zip(grads, parameters.values())]


def cosine_distance(observed: Tensors, *, balance: float = 0.0) -> Distance:
    """1 - the cosine between a candidate update and ``observed``, all layers as one vector (Geiping et
    al.), each layer of both scaled by ``|observed layer| ** -balance`` (0: as they are; 1: every layer with a
    non-zero update weighs the same). Products are ``torch.dot`` on flat views (no temporaries: the 11M
    parameters of ResNet18 made the elementwise form a sixth of an evaluation)."""
    norms = [float(o.norm()) for o in observed]
    weights = [n ** (-2 * balance) if n > 0 else 0.0 for n in norms]
    flat = [(o.flatten(), w) for o, w in zip(observed, weights) if w]
    index = [i for i, w in enumerate(weights) if w]
    norm = math.sqrt(sum(w * n * n for n, w in zip(norms, weights)))

    def distance(candidate: Tensors) -> torch.Tensor:
        pairs = [(candidate[i].flatten(), o, w) for i, (o, w) in zip(index, flat)]
        dot = torch.stack([w * torch.dot(c, o) for c, o, w in pairs]).sum()
        energy = torch.stack([w * torch.dot(c, c) for c, _, w in pairs]).sum()
        return 1 - dot / (energy.sqrt() * norm + 1e-30)

    return distance


def layerwise_cosine_distance(observed: Tensors) -> Distance:
    """The mean, over layers with a non-zero observed update, of 1 - each layer's own cosine."""
    kept = [(i, o.flatten() / o.norm()) for i, o in enumerate(observed) if float(o.abs().sum()) > 0]

    def distance(candidate: Tensors) -> torch.Tensor:
        cosines = [torch.dot(candidate[i].flatten(), o) / (candidate[i].norm() + 1e-30) for i, o in kept]
        return 1 - torch.stack(cosines).mean()

    return distance


def squared_distance(observed: Tensors) -> Distance:
    """The summed squared difference between a candidate update and ``observed`` (Zhu et al., DLG)."""

    def distance(candidate: Tensors) -> torch.Tensor:
        return torch.stack([(c - o).pow(2).sum() for c, o in zip(candidate, observed)]).sum()

    return distance


def total_variation(images: torch.Tensor) -> torch.Tensor:
    """Anisotropic total variation: the mean absolute difference between horizontal neighbours plus that
    between vertical neighbours, over images [..., H, W]."""
    dx = (images[..., :, 1:] - images[..., :, :-1]).abs().mean()
    dy = (images[..., 1:, :] - images[..., :-1, :]).abs().mean()
    return dx + dy
