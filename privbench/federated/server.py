"""The FedAvg server step: one round as an ordered list of named stages, the same in every engine.

``run_rounds`` (``privbench.federated.inprocess``) runs the step once a round on a ``RoundState``: each stage
reads what the stages before it wrote and writes its own fields. The standard order (``standard_step``; the
stages are in ``privbench.federated.stages``):

| stage | sees | writes |
|---|---|---|
| ``sample`` | every client id, the run seed, the round | ``chosen`` |
| ``execute`` | global weights, ``chosen``; the engine's executor runs the clients' steps | ``results``, ``failed`` |
| ``drop`` | ``results`` and their seconds | the on-time ``results`` in client-id order; ``failed`` |
| ``capture`` | each client's update (``ClientUpdate``: weights sent, delta, loss, settings) | ``history.updates`` |
| ``clip`` | ``results`` and the global weights: each client's delta (a slot: identity) | ``results`` |
| ``aggregate`` | ``results``' weights and examples | ``average``: global + mean delta |
| ``noise`` | ``average`` (a slot: identity) | ``average`` |
| ``momentum`` | global weights, ``average``, the run's velocity | ``weights``: the next global model (FedAvgM) |
| ``account`` | the whole round, ``seconds`` per stage | the history's bytes, seconds, frames, loss, drops |

A defence changes the list by name: ``standard_step().replace("clip", FixedClipping(1.0))``. Stages hold
settings only; per-run state (momentum's velocity) lives in ``state.run.memory``, so one step serves every
fold and engine.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import torch
from torch import nn

from privbench.federated.aggregate import StateDict
from privbench.federated.client import ClientResult, LocalTraining
from privbench.train.loop import FitHistory
from privbench.types import ClientUpdate

RoundExecutor = Callable[[StateDict, list[str], int], tuple[list[ClientResult], int]]
Validator = Callable[[nn.Module], float]


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

    seconds_parallel: float = 0.0  # per round: slowest client + the server's stages after it
    client_seconds: float = 0.0  # summed client compute
    bytes_up: int = 0
    bytes_down: int = 0
    dropped: int = 0
    updates: list[ClientUpdate] = field(default_factory=list)
    notes: dict[str, str] = field(default_factory=dict)  # facts the engine reports (e.g. the SuperLink)
    privacy: dict[str, Any] = field(default_factory=dict)  # client-level DP's accounting (privbench.defences)


@dataclass
class ServerRun:
    """What stays the same over a run's rounds."""

    plan: FederationPlan
    training: LocalTraining
    seed: int
    client_ids: list[str]  # sorted
    parameters: frozenset[str]  # names of the model's trainable parameters (momentum applies to them)
    execute: RoundExecutor  # the engine's: (global weights, chosen ids, round) -> (results, failed count)
    history: FederatedHistory
    memory: dict[Any, Any] = field(default_factory=dict)  # per-run state of stateful stages


@dataclass
class RoundState:
    """One round as it passes the stages (each field names the stage that writes it)."""

    run: ServerRun
    round: int  # 0-based
    global_weights: StateDict  # the weights sent this round (CPU copies)
    chosen: list[str] = field(default_factory=list)  # sample
    results: list[ClientResult] = field(default_factory=list)  # execute; drop keeps the on-time ones; clip
    failed: int = 0  # execute (failed clients), drop (late ones)
    total: StateDict = field(default_factory=dict)  # secure_sum: the round's summed updates (all SecAgg+ reveals)
    average: StateDict = field(default_factory=dict)  # aggregate: averaged client weights; noise
    weights: StateDict = field(default_factory=dict)  # momentum: the next global weights
    seconds: dict[str, float] = field(default_factory=dict)  # ServerStep: wall seconds of each stage so far


Stage = Callable[[RoundState], None]


class ServerStep:
    """Named stages in order; calling it runs one round's stages on a ``RoundState``."""

    def __init__(self, stages: Mapping[str, Stage]) -> None:
        self.stages = dict(stages)

    @property
    def names(self) -> list[str]:
        return list(self.stages)

    def __getitem__(self, name: str) -> Stage:
        return self.stages[self._known(name)]

    def replace(self, name: str, stage: Stage) -> ServerStep:
        """A copy with the stage in slot ``name`` replaced."""
        self._known(name)
        return ServerStep({**self.stages, name: stage})

    def insert(self, name: str, stage: Stage, *, before: str | None = None, after: str | None = None) -> ServerStep:
        """A copy with ``stage`` added as ``name`` just before or just after an existing slot."""
        if name in self.stages or (before is None) == (after is None):
            raise ValueError(f"insert a new stage name ({name!r}) with exactly one of before= or after=")
        items = list(self.stages.items())
        at = self.names.index(self._known(before or after or "")) + (after is not None)
        return ServerStep(dict(items[:at] + [(name, stage)] + items[at:]))

    def __call__(self, state: RoundState) -> None:
        for name, stage in self.stages.items():
            start = time.perf_counter()
            stage(state)
            state.seconds[name] = time.perf_counter() - start

    def _known(self, name: str) -> str:
        if name not in self.stages:
            raise KeyError(f"no server stage {name!r}; stages: {', '.join(self.stages)}")
        return name


def serialized_size(weights: StateDict) -> int:
    buffer = io.BytesIO()
    torch.save(weights, buffer)
    return buffer.tell()


def client_seed(seed: int, round_: int) -> int:
    """The seed of every client's step in a round (the same in every engine)."""
    return seed * 10_000 + round_
