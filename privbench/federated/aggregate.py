"""FedAvg arithmetic: the average of client weights (plain mean, the paper, or weighted by client examples),
bounding a client's update, and server momentum.

A client's update is its weight delta (client weights - global weights); the average is kept in weight
space, ``aggregate(weights) == global + aggregate(deltas)`` up to rounding, so that FedAvg rounds exactly
as it always has."""

from __future__ import annotations

import math
from typing import Callable, Sequence

import torch

from privbench.registry import Registry

StateDict = dict[str, torch.Tensor]
AGGREGATIONS: Registry[Callable[[Sequence[int]], list[float]]] = Registry("aggregation")
AGGREGATIONS.register("mean")(lambda examples: [1.0 / len(examples)] * len(examples))
AGGREGATIONS.register("weighted")(lambda examples: [n / sum(examples) for n in examples])


def aggregate(updates: Sequence[tuple[StateDict, int]], mode: str = "mean") -> StateDict:
    """Average client state dicts (weights, or deltas); ``updates`` are (state dict, examples) pairs.

    Floating-point tensors are averaged with the mode's coefficients (accumulated in the tensor's
    own precision); integer buffers (BatchNorm's ``num_batches_tracked``) come from the first client.
    """
    if not updates:
        raise ValueError("aggregate() needs at least one client update")
    coefficients = AGGREGATIONS.get(mode)([n for _, n in updates])
    first = updates[0][0]
    merged: StateDict = {}
    for key, tensor in first.items():
        if tensor.is_floating_point():
            merged[key] = torch.zeros_like(tensor)
            for (weights, _), c in zip(updates, coefficients):
                merged[key].add_(weights[key], alpha=c)
        else:
            merged[key] = tensor.clone()
    return merged


def clip_update(weights: StateDict, global_weights: StateDict, bound: float) -> StateDict:
    """``weights`` moved towards ``global_weights`` so that the delta (all floating-point tensors together)
    has an L2 norm of at most ``bound``; the same object when it already has."""
    delta = {k: w - global_weights[k] for k, w in weights.items() if w.is_floating_point()}
    norm = math.sqrt(sum(float(d.double().square().sum()) for d in delta.values()))
    if norm <= bound:
        return weights
    scale = bound / norm
    return {k: global_weights[k] + delta[k] * scale if k in delta else w for k, w in weights.items()}


class ServerMomentum:
    """FedAvgM (Hsu et al., 2019): the server moves the global model along a running momentum of the
    averaged update, ``v = momentum * v + (mean - global)``, ``global += v``. Only trainable parameters
    (``parameters``) get momentum; BatchNorm statistics take the plain mean. Momentum 0 is plain FedAvg.

    With one participant per client, each client's update chases that person's own correlations; the
    momentum keeps what the rounds agree on (docs/federated.md, "Why server momentum").
    """

    def __init__(self, momentum: float, parameters: set[str]) -> None:
        if not 0 <= momentum < 1:
            raise ValueError(f"server momentum must be in [0, 1), got {momentum}")
        self.momentum, self.parameters = momentum, parameters
        self.velocity: StateDict = {}

    def step(self, global_weights: StateDict, averaged: StateDict) -> StateDict:
        """The next global weights from this round's average of the client weights."""
        if not self.momentum:
            return averaged
        merged = dict(averaged)
        for key in self.parameters & averaged.keys():
            update = averaged[key] - global_weights[key]
            velocity = self.velocity.get(key)
            self.velocity[key] = update if velocity is None else velocity.mul_(self.momentum).add_(update)
            merged[key] = global_weights[key] + self.velocity[key]
        return merged
