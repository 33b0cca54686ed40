"""One simulated client round: what the server would receive from a victim client.

FedSGD (one SGD step over the whole batch) sends the gradient of the client's loss at the sent
weights. Anything else (several local steps, Adam) runs the project's one training loop
(``privbench.train.loop.run_steps``, the loop every federated client step uses) on the client's
examples and sends the weight delta.
"""

from __future__ import annotations

import copy
import dataclasses
from functools import partial

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from privbench.attacks.gradinv.defences import ClientMechanism, secure_sum
from privbench.attacks.gradinv.objectives import client_loss, loss_gradient, parameters_of
from privbench.attacks.gradinv.threat import LocalSteps, ObservedUpdate, PixelSpace, UpdateKind
from privbench.attacks.gradinv.victims import ClientData
from privbench.errors import DivergedError
from privbench.settings import SecAggSettings
from privbench.train.loop import TrainingSetup, run_steps


class KeptMode(nn.Module):
    """``model`` with its modules' train/eval modes fixed: the loop's ``train()`` must not switch a
    client's eval-mode BatchNorm to batch statistics."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.modes = {name: m.training for name, m in model.named_modules()}

    def train(self, mode: bool = True) -> KeptMode:
        for name, module in self.model.named_modules():
            module.training = self.modes[name]
        return self

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.model(inputs)


def _optimizer(training: LocalSteps, params: list[nn.Parameter]) -> torch.optim.Optimizer:
    if training.optimizer == "adam":
        return torch.optim.Adam(params, lr=training.lr)
    return torch.optim.SGD(params, lr=training.lr)


def client_update(model: nn.Module, client: ClientData, *, training: LocalSteps,
                  pixels: PixelSpace) -> tuple[UpdateKind, list[torch.Tensor]]:
    """What ``client`` computes from ``model`` (which keeps the sent weights): its gradient or weight delta."""
    inputs = pixels.to_model(client.pixels)
    if is_fedsgd(training, len(inputs)):
        kind, update = "gradient", loss_gradient(model, parameters_of(model), inputs, client.targets,
                                                 loss=training.loss, create_graph=False)
    else:
        params = [p for p in model.parameters() if p.requires_grad]
        local = copy.deepcopy(model)
        local_params = [p for p in local.parameters() if p.requires_grad]
        loader = DataLoader(TensorDataset(inputs, client.targets), batch_size=training.batch_size, shuffle=False)
        setup = TrainingSetup(KeptMode(local), _optimizer(training, local_params), loader,
                              partial(client_loss, name=training.loss))
        run_steps(setup, device=torch.device("cpu"), steps=training.steps)
        kind, update = "weight_delta", [(q - p).detach() for p, q in zip(params, local_params)]
    if not all(torch.isfinite(u).all() for u in update):
        raise DivergedError(f"the simulated update of client {client.participant} is not finite")
    return kind, [u.detach() for u in update]


def is_fedsgd(training: LocalSteps, examples: int) -> bool:
    """One SGD step over the whole batch: the client sends its gradient."""
    return training.steps == 1 and training.optimizer == "sgd" and training.batch_size >= examples


def observe(model: nn.Module, client: ClientData, *, training: LocalSteps, pixels: PixelSpace,
            known_targets: bool, mechanism: ClientMechanism | None = None, index: int = 0) -> ObservedUpdate:
    """The server's view of ``client``'s update of ``model`` (which keeps the sent weights), after the client's
    own ``mechanism`` (client number ``index``; None: none)."""
    kind, update = client_update(model, client, training=training, pixels=pixels)
    if mechanism is not None:
        update = mechanism.release(update, gradient=kind == "gradient", lr=training.lr, client=index)
    return ObservedUpdate(model=model, kind=kind, update=update, training=training, examples=len(client.pixels),
                          input_shape=tuple(client.pixels.shape[1:]), pixels=pixels,
                          targets=client.targets.clone() if known_targets else None)


def observe_sum(model: nn.Module, clients: list[ClientData], *, training: LocalSteps, pixels: PixelSpace,
                known_targets: bool, mechanism: ClientMechanism, secagg: SecAggSettings,
                seed: int) -> ObservedUpdate:
    """The server's view under secure aggregation: the sum of the ``clients``' updates (each after its own
    ``mechanism``) as SecAgg+ reveals it, quantised as weight deltas (a gradient g as the delta -lr*g)."""
    views = [observe(model, c, training=training, pixels=pixels, known_targets=known_targets,
                     mechanism=mechanism, index=i) for i, c in enumerate(clients)]
    scale = -training.lr if views[0].kind == "gradient" else 1.0
    total = secure_sum([[u * scale for u in v.update] for v in views], secagg, seed=seed)
    return dataclasses.replace(views[0], update=[t / scale for t in total], examples=sum(v.examples for v in views),
                               targets=torch.cat([v.targets for v in views]) if known_targets else None)
