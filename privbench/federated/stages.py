"""The server step's stages (``privbench.federated.server`` explains the order and the round state).

Each stage is a callable on ``RoundState``; the docstrings say what it reads and writes. ``identity`` fills
the defence slots (``clip``, ``noise``) of the standard step; ``FixedClipping`` is a clip a defence can put
there.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass

import numpy as np

from privbench.errors import DivergedError, InputError
from privbench.federated.aggregate import ServerMomentum, aggregate, clip_update
from privbench.federated.server import RoundState, ServerStep, serialized_size
from privbench.types import ClientUpdate

log = logging.getLogger(__name__)


def clients_per_round(clients: int, *, client_fraction: float, min_clients: int) -> int:
    """How many of ``clients`` a round samples: ``max(min_clients, ceil(client_fraction x clients))``, at most all."""
    return min(clients, max(min_clients, math.ceil(client_fraction * clients)))


def sample(state: RoundState) -> None:
    """Reads every client id, the run seed and the round; writes ``chosen``:
    ``max(min_clients, ceil(client_fraction x clients))`` ids, seeded by the run seed and the round, sorted."""
    ids, plan = state.run.client_ids, state.run.plan
    count = clients_per_round(len(ids), client_fraction=plan.client_fraction, min_clients=plan.min_clients)
    rng = np.random.default_rng([state.run.seed, state.round])
    state.chosen = sorted(rng.choice(ids, size=count, replace=False).tolist())


def execute(state: RoundState) -> None:
    """Sends the global weights to the ``chosen`` clients through the engine's executor; writes the
    ``results`` that arrived and the number of clients that ``failed``."""
    state.results, state.failed = state.run.execute(state.global_weights, state.chosen, state.round)


def drop(state: RoundState) -> None:
    """Reads ``results`` and their seconds: results later than ``client_timeout`` count as ``failed``; writes
    the on-time ``results`` in client-id order (the same in every engine). Fewer than ``min_clients``
    on-time results stop the run."""
    plan, on_time = state.run.plan, []
    for result in state.results:
        if result.seconds > plan.client_timeout:
            log.warning("round %d: client %s dropped (took %.1f s, client_timeout %.1f s)", state.round + 1,
                        result.client_id, result.seconds, plan.client_timeout)
            state.failed += 1
        else:
            on_time.append(result)
    if len(on_time) < plan.min_clients:
        raise InputError(f"round {state.round + 1}: only {len(on_time)} client(s) returned an update; "
                         f"min_clients is {plan.min_clients}")
    state.results = sorted(on_time, key=lambda r: r.client_id)


def capture(state: RoundState) -> None:
    """Reads ``results``: what an honest-but-curious server sees of each client. Keeps each as a
    ``ClientUpdate`` (weights sent, delta = client weights - global weights, settings sent, loss) in the
    history's ``updates`` until ``capture_mb`` of deltas are kept."""
    history, limit, g = state.run.history, state.run.plan.capture_mb * 1e6, state.global_weights
    used = sum(u.nbytes() for u in history.updates)
    for r in state.results if limit > 0 else []:
        delta = {k: r.weights[k] - g[k] for k in r.weights if r.weights[k].is_floating_point()}
        update = ClientUpdate(state.round + 1, r.client_id, r.examples, "weight_delta", g, delta,
                              state.run.training.sent(state.round, r.examples), r.loss)
        if used + update.nbytes() > limit:
            return
        history.updates.append(update)
        used += update.nbytes()


def identity(state: RoundState) -> None:
    """An empty slot: changes nothing (the standard ``clip`` and ``noise``)."""


@dataclass(frozen=True)
class FixedClipping:
    """A ``clip`` stage: reads ``results`` and the global weights; moves each client's weights towards the
    global ones so that its delta (all floating-point tensors together) has an L2 norm of at most
    ``bound``. Captured updates keep the unclipped deltas."""

    bound: float

    def __call__(self, state: RoundState) -> None:
        state.results = [dataclasses.replace(r, weights=clip_update(r.weights, state.global_weights, self.bound))
                         for r in state.results]


def average(state: RoundState) -> None:
    """Reads ``results``' weights and examples; writes ``average``, their mean or examples-weighted mean
    (``aggregation``): the global weights plus the mean delta (integer buffers from the first client)."""
    state.average = aggregate([(r.weights, r.examples) for r in state.results], state.run.plan.aggregation)


def momentum(state: RoundState) -> None:
    """Reads the global weights, ``average`` and the run's velocity; writes ``weights``, the next global
    model: FedAvgM with ``server_momentum`` (0: ``average`` itself)."""
    memory = state.run.memory
    if "momentum" not in memory:
        memory["momentum"] = ServerMomentum(state.run.plan.server_momentum, set(state.run.parameters))
    state.weights = memory["momentum"].step(state.global_weights, state.average)


def account(state: RoundState) -> None:
    """Reads the round: adds bytes each way (serialised global weights per chosen and per kept client),
    client seconds, the parallel time (slowest client + the stages after ``execute``), frames, the mean
    client loss (NaN for a round without clients, which only Poisson sampling gives) and drops to the
    history. A non-finite mean loss of a round with clients stops the run."""
    history, training = state.run.history, state.run.training
    message = serialized_size(state.global_weights)  # every client's weights have the same shapes
    history.bytes_down += message * len(state.chosen)
    history.bytes_up += message * len(state.results)
    history.dropped += state.failed
    history.client_seconds += sum(r.seconds for r in state.results)
    names = list(state.seconds)
    server = names[names.index("execute") + 1:] if "execute" in names else names
    history.seconds_parallel += max((r.seconds for r in state.results), default=0.0) + sum(state.seconds[n]
                                                                                       for n in server)
    per_example = 1 if training.is_warmup(state.round) else training.seq_len * training.local_epochs
    history.frames_seen += sum(r.examples * per_example for r in state.results)
    if not state.results:  # an empty round of Poisson sampling (DP): no client, no loss
        history.train_loss.append(math.nan)
        return
    history.train_loss.append(float(np.mean([r.loss for r in state.results])))
    if not np.isfinite(history.train_loss[-1]):
        raise DivergedError(f"training diverged: mean client loss {history.train_loss[-1]} in round {state.round + 1}")


def standard_step() -> ServerStep:
    """FedAvg(M) as the paper and privbench run it: no clipping, no noise."""
    return ServerStep({"sample": sample, "execute": execute, "drop": drop, "capture": capture, "clip": identity,
                       "aggregate": average, "noise": identity, "momentum": momentum, "account": account})
