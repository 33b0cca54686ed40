"""The FedAvg server loop, and the in-process engine: clients one after another in this process."""

from __future__ import annotations

import copy
import io
import logging
import math
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
from torch import nn

from privbench.data.frames import FrameSequence
from privbench.errors import DivergedError, InputError
from privbench.federated.aggregate import ServerMomentum, StateDict, aggregate
from privbench.federated.client import ClientResult, LocalTraining, local_update
from privbench.progress import Progress
from privbench.train.loop import BestWeights, FitHistory
from privbench.types import ClientUpdate

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class FederationPlan:
    """The server loop's settings."""

    rounds: int
    client_fraction: float
    min_clients: int
    aggregation: str
    patience: int  # rounds without validation improvement before stopping (0: never)
    capture_mb: float  # keep client updates up to this many MB (0: none)
    client_timeout: float = 600.0  # seconds; a client update arriving later is dropped from its round
    server_momentum: float = 0.0  # FedAvgM; 0: plain FedAvg


@dataclass
class FederatedHistory(FitHistory):
    """FitHistory per round, plus what a synchronous deployment would cost and see."""

    seconds_parallel: float = 0.0  # per round: slowest client + aggregation
    client_seconds: float = 0.0  # summed client compute
    bytes_up: int = 0
    bytes_down: int = 0
    dropped: int = 0
    updates: list[ClientUpdate] = field(default_factory=list)


def serialized_size(weights: StateDict) -> int:
    buffer = io.BytesIO()
    torch.save(weights, buffer)
    return buffer.tell()


def sample_clients(ids: list[str], fraction: float, minimum: int, seed: int, round_: int) -> list[str]:
    count = min(len(ids), max(minimum, math.ceil(fraction * len(ids))))
    return sorted(np.random.default_rng([seed, round_]).choice(ids, size=count, replace=False).tolist())


ClientStep = Callable[[nn.Module, StateDict, str, FrameSequence, LocalTraining, int, torch.device, int],
                      ClientResult]
RoundExecutor = Callable[[StateDict, list[str], int], tuple[list[ClientResult], int]]


def run_rounds(
    model: nn.Module, client_ids: list[str], training: LocalTraining, plan: FederationPlan,
    validate: Callable[[nn.Module], float] | None, seed: int, progress: Progress, execute: RoundExecutor,
) -> FederatedHistory:
    """The FedAvg server loop shared by every engine; ``execute`` runs one round's client steps.

    ``validate`` scores the global model after each round (the curve is kept; the best round's
    weights are returned); without it, the last round's weights are.

    ``execute(global_weights, chosen_ids, round)`` returns the client results that arrived and the
    number of chosen clients that failed; results that took longer than ``client_timeout`` are
    dropped too. ``model`` ends with the global weights of the best round.
    """
    history = FederatedHistory()
    best = BestWeights(validate, plan.patience)
    server = ServerMomentum(plan.server_momentum, {name for name, _ in model.named_parameters()})
    task = progress.add("rounds", total=plan.rounds)
    for round_ in range(plan.rounds):
        start = time.perf_counter()
        global_weights = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
        chosen = sample_clients(sorted(client_ids), plan.client_fraction, plan.min_clients, seed, round_)
        message_bytes = serialized_size(global_weights)  # every client's weights have the same shapes
        history.bytes_down += message_bytes * len(chosen)
        results, failed = execute(global_weights, chosen, round_)
        late = [r for r in results if r.seconds > plan.client_timeout]
        for r in late:
            log.warning("round %d: client %s dropped (took %.1f s, client_timeout %.1f s)", round_ + 1, r.client_id,
                        r.seconds, plan.client_timeout)
        results = [r for r in results if r.seconds <= plan.client_timeout]
        history.dropped += failed + len(late)
        if len(results) < plan.min_clients:
            raise InputError(f"round {round_ + 1}: only {len(results)} client(s) returned an update; "
                             f"min_clients is {plan.min_clients}")
        results = sorted(results, key=lambda r: r.client_id)  # the same order in every engine
        aggregation_start = time.perf_counter()
        averaged = aggregate([(r.weights, r.examples) for r in results], plan.aggregation)
        model.load_state_dict(server.step(global_weights, averaged))
        aggregation_seconds = time.perf_counter() - aggregation_start
        history.bytes_up += message_bytes * len(results)
        history.client_seconds += sum(r.seconds for r in results)
        history.seconds_parallel += max(r.seconds for r in results) + aggregation_seconds
        _capture(history, results, global_weights, round_, training, plan.capture_mb)
        frames_per_example = 1 if training.is_warmup(round_) else training.seq_len * training.local_epochs
        history.frames_seen += sum(r.examples * frames_per_example for r in results)
        history.train_loss.append(float(np.mean([r.loss for r in results])))
        if not np.isfinite(history.train_loss[-1]):
            raise DivergedError(f"training diverged: mean client loss {history.train_loss[-1]} in round {round_ + 1}")
        history.epoch_seconds.append(time.perf_counter() - start)
        note = best.update(model, round_, history)
        progress.advance(task, description=f"round {round_ + 1} loss {history.train_loss[-1]:.4f}{note}")
        if best.should_stop:
            break
    progress.remove(task)
    best.restore(model)
    return history


def client_seed(seed: int, round_: int) -> int:
    """The seed of every client's step in a round (the same in every engine)."""
    return seed * 10_000 + round_


def run_inprocess(
    model: nn.Module, clients: dict[str, FrameSequence], training: LocalTraining, plan: FederationPlan,
    validate: Callable[[nn.Module], float] | None, seed: int, device: torch.device, progress: Progress,
    client_step: ClientStep = local_update,
) -> FederatedHistory:
    """FedAvg with clients run one after another in this process (a failing client is dropped)."""
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

    return run_rounds(model, list(clients), training, plan, validate, seed, progress, execute)


def _capture(history: FederatedHistory, results: list[ClientResult], global_weights: StateDict, round_: int,
             training: LocalTraining, limit_mb: float) -> None:
    """Keep what the server sees of each client (weights sent, delta back, settings, loss) until
    ``limit_mb`` of deltas is used."""
    used = sum(u.nbytes() for u in history.updates)
    for r in results:
        delta = {k: r.weights[k] - global_weights[k] for k in r.weights if r.weights[k].is_floating_point()}
        update = ClientUpdate(round_ + 1, r.client_id, r.examples, "weight_delta", global_weights, delta,
                              training.sent(round_, r.examples), r.loss)
        if used + update.nbytes() > limit_mb * 1e6:
            return
        history.updates.append(update)
        used += update.nbytes()
