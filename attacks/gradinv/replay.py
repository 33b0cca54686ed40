"""The client's update as a differentiable function of candidate inputs and targets.

FedSGD sends the loss gradient; so does FedAvg in effect when the client takes one plain SGD step (its
weight delta is -lr times the gradient). Otherwise the attack replays the client's local steps on the
candidates, unrolled (SGD or Adam, torch's update rules), and matches the weight delta: the FedAvg attack
of Geiping et al. (2020).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from privbench.attacks.gradinv.objectives import loss_gradient, parameters_of
from privbench.attacks.gradinv.threat import LocalSteps, ObservedUpdate
from privbench.errors import InputError

ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8

Simulator = Callable[[torch.Tensor, torch.Tensor], list[torch.Tensor]]


@dataclass(frozen=True)
class MatchedUpdate:
    """What the attack compares: the observed tensors, and the same quantity computed on candidates
    (inputs in model space, targets) by ``simulate``; ``is_gradient`` when both are loss gradients."""

    observed: list[torch.Tensor]
    simulate: Simulator
    is_gradient: bool


def matched_update(observed: ObservedUpdate) -> MatchedUpdate:
    """The gradient (FedSGD, or one SGD step's delta / -lr) or the replayed local steps' delta."""
    parameters = parameters_of(observed.model)
    update = checked_update(observed, parameters)
    training = observed.training
    model = observed.model
    if observed.kind == "gradient" or (training.steps == 1 and training.optimizer == "sgd"
                                       and not training.parameter_scales):
        gradient = update if observed.kind == "gradient" else [-u / training.lr_at(0) for u in update]
        return MatchedUpdate(gradient, lambda x, y: loss_gradient(model, parameters, x, y, loss=training.loss), True)
    return MatchedUpdate(update, lambda x, y: replayed_delta(model, parameters, x, y, training), False)


def checked_update(observed: ObservedUpdate, parameters: dict[str, torch.Tensor]) -> list[torch.Tensor]:
    """The update, detached, after checking it fits the model and is finite."""
    shapes = [tuple(p.shape) for p in parameters.values()]
    if [tuple(u.shape) for u in observed.update] != shapes:
        raise InputError(f"the update ({len(observed.update)} tensors) does not fit the model's "
                         f"{len(shapes)} parameters: captured from another architecture?")
    if not all(bool(torch.isfinite(u).all()) for u in observed.update):
        raise InputError("the update holds non-finite values: nothing to invert")
    if observed.kind == "weight_delta" and observed.training.lr <= 0:
        raise InputError(f"a weight delta needs the client's learning rate (lr={observed.training.lr})")
    return [u.detach() for u in observed.update]


def replayed_delta(model: nn.Module, parameters: dict[str, torch.Tensor], inputs: torch.Tensor,
                   targets: torch.Tensor, training: LocalSteps) -> list[torch.Tensor]:
    """The client's weights after its local steps on ``inputs`` minus the sent ones, differentiable in
    the inputs and targets. Step ``i`` reads the ``i``-th run of ``batch_size`` examples, cycling; each
    step at its scheduled learning rate (times each parameter's scale) and, for Adam, its beta1."""
    current = dict(parameters)
    scales = training.parameter_scales or (1.0,) * len(parameters)
    moments: list[tuple[torch.Tensor, torch.Tensor]] | None = None
    for step in range(training.steps):
        rows = _batch_rows(step, training.batch_size, inputs.shape[0])
        grads = loss_gradient(model, current, inputs[rows], targets[rows], loss=training.loss)
        if training.optimizer == "adam":
            beta1 = training.beta1_at(step)
            moments = _adam_moments(moments, grads, beta1)
            steps = _adam_steps(moments, (beta1 ** (step + 1), ADAM_BETAS[1] ** (step + 1)))
        else:
            steps = grads
        lr = training.lr_at(step)
        current = {name: p - lr * scale * s for (name, p), s, scale in zip(current.items(), steps, scales)}
    return [current[name] - p for name, p in parameters.items()]


def _batch_rows(step: int, batch_size: int, examples: int) -> torch.Tensor:
    size = min(batch_size, examples)
    return (torch.arange(size) + step * size) % examples


def _adam_moments(moments: list[tuple[torch.Tensor, torch.Tensor]] | None, grads: list[torch.Tensor],
                  beta1: float) -> list[tuple[torch.Tensor, torch.Tensor]]:
    if moments is None:
        moments = [(torch.zeros_like(g), torch.zeros_like(g)) for g in grads]
    beta2 = ADAM_BETAS[1]
    return [(beta1 * m + (1 - beta1) * g, beta2 * v + (1 - beta2) * g * g) for (m, v), g in zip(moments, grads)]


def _adam_steps(moments: list[tuple[torch.Tensor, torch.Tensor]], powers: tuple[float, float]) -> list[torch.Tensor]:
    """torch's Adam direction m_hat / (sqrt(v_hat) + eps), with the bias corrections ``1 - beta ** step`` (``powers``) of
    the current betas (as torch computes them when a schedule changes beta1); the square root is floored where
    v is (near) zero so that its derivative stays finite."""
    correction1, correction2 = 1 - powers[0], 1 - powers[1]
    return [(m / correction1) / ((v / correction2).clamp_min(1e-30).sqrt() + ADAM_EPS) for m, v in moments]
