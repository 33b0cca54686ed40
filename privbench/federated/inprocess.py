"""The FedAvg server loop, and the in-process engine: clients one after another in this process."""

from __future__ import annotations

import copy
import logging
import time
from typing import Callable, Mapping

import torch
from torch import nn

from privbench.data.frames import FrameSequence
from privbench.federated.aggregate import StateDict
from privbench.federated.client import ClientResult, LocalTraining, local_update
from privbench.federated.engine import FoldContext
from privbench.federated.server import (
    FederatedHistory,
    FederationPlan,
    RoundExecutor,
    RoundState,
    ServerRun,
    ServerStep,
    Validator,
    client_seed,
)
from privbench.federated.stages import standard_step
from privbench.progress import Progress
from privbench.train.loop import BestWeights

log = logging.getLogger(__name__)
ClientStep = Callable[[nn.Module, StateDict, str, FrameSequence, LocalTraining, int, torch.device, int],
                      ClientResult]


def run_rounds(
    model: nn.Module, client_ids: list[str], *, training: LocalTraining, plan: FederationPlan,
    validator: Validator | None, seed: int, progress: Progress, execute: RoundExecutor,
    server: ServerStep | None = None,
) -> FederatedHistory:
    """The FedAvg server loop shared by every engine: ``server`` (default ``standard_step()``) once a round,
    then validation and early stopping.

    ``execute(global_weights, chosen_ids, round)`` runs one round's client steps and returns the results
    that arrived and the number of chosen clients that failed. ``validator`` scores the global model after
    each round (the curve is kept; ``model`` ends with the best round's weights); without it, the last
    round's weights stay.
    """
    step = server or standard_step()
    history = FederatedHistory()
    run = ServerRun(plan=plan, training=training, seed=seed, client_ids=sorted(client_ids),
                    parameters=frozenset(name for name, _ in model.named_parameters()), execute=execute,
                    history=history)
    best = BestWeights(validator, plan.patience)
    task = progress.add("rounds", total=plan.rounds)
    for round_ in range(plan.rounds):
        start = time.perf_counter()
        state = RoundState(run, round_, {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()})
        step(state)
        model.load_state_dict(state.weights)
        history.epoch_seconds.append(time.perf_counter() - start)
        note = best.update(model, round_, history)
        progress.advance(task, description=f"round {round_ + 1} loss {history.train_loss[-1]:.4f}{note}")
        if best.should_stop:
            break
    progress.remove(task)
    best.restore(model)
    return history


class InProcessEngine:
    """FedAvg with clients run one after another in this process; deterministic for a seed. A client whose
    step raises is dropped from its round. ``client_step`` stands in for ``local_update`` (tests)."""

    local_data = True

    def __call__(
        self, model: nn.Module, clients: Mapping[str, FrameSequence], *, training: LocalTraining,
        plan: FederationPlan, validator: Validator | None, seed: int, device: torch.device, progress: Progress,
        fold: FoldContext | None = None, server: ServerStep | None = None, client_step: ClientStep = local_update,
    ) -> FederatedHistory:
        worker = copy.deepcopy(model)

        def execute(global_weights: StateDict, chosen: list[str], round_: int) -> tuple[list[ClientResult], int]:
            results, failed = [], 0
            for cid in chosen:
                try:
                    results.append(client_step(worker, global_weights, cid, clients[cid], training,
                                               client_seed(seed, round_), device, round_))
                except Exception as err:  # a failing client is dropped from the round, not fatal
                    failed += 1
                    log.warning("round %d: client %s dropped (%s: %s)", round_ + 1, cid, type(err).__name__, err)
            return results, failed

        return run_rounds(model, list(clients), training=training, plan=plan, validator=validator, seed=seed,
                          progress=progress, execute=execute, server=server)


run_inprocess = InProcessEngine()
