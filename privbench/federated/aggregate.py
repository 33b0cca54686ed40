"""FedAvg aggregation of client weights: plain mean (the paper) or weighted by client examples."""

from __future__ import annotations

from typing import Callable, Sequence

import torch

from privbench.registry import Registry

StateDict = dict[str, torch.Tensor]
AGGREGATIONS: Registry[Callable[[Sequence[int]], list[float]]] = Registry("aggregation")
AGGREGATIONS.register("mean")(lambda examples: [1.0 / len(examples)] * len(examples))
AGGREGATIONS.register("weighted")(lambda examples: [n / sum(examples) for n in examples])


def aggregate(updates: Sequence[tuple[StateDict, int]], mode: str = "mean") -> StateDict:
    """Average client state dicts; ``updates`` are (weights, examples) pairs.

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
