"""Secure aggregation (SecAgg+, Bell et al. 2020, as Flower implements it) as stages of the server step: the
server learns only the sum of a round's updates.

Each client's update (its floating-point weights minus the global ones) is clipped to [-c, c], quantised to
integers in [0, Q] with Flower's ``quantize`` (stochastic rounding), prefixed by its quantised weight factor
(1 per client: the plain mean), masked and summed modulo M; the server unmasks the sum and undoes the
quantisation with Flower's ``dequantize`` and offset. The pairwise and private masks cancel in the sum exactly
(modulo M), so the in-process engine draws none: its ``SecureSum`` computes the very integer sum the protocol
reveals. On the Flower engines the protocol itself runs (``privbench.federated.secagg_flower``) and the stage
reads its result.

Stages under secure aggregation (``secure_step``): ``secure_sum`` (after the clients' own clipping or noise,
before ``capture``) writes ``total`` and empties every result's weights, so no later stage sees a client's
update; ``capture`` keeps the round sum (``capture_sum``); ``aggregate`` divides the sum (``SumMean``).
"""

from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import numpy as np
import torch
from flwr.common.secure_aggregation.quantization import dequantize, quantize

from privbench.errors import InputError
from privbench.federated.aggregate import StateDict
from privbench.federated.server import RoundState, ServerStep
from privbench.settings import SecAggSettings
from privbench.types import ClientUpdate

Revealed = Callable[[int], list[np.ndarray]]  # an engine's protocol: round -> the mean update it unmasked
SUM_KIND = "round_sum"  # ClientUpdate.kind of a captured round sum


def float_keys(weights: StateDict) -> list[str]:
    """The keys secure aggregation sums: the floating-point tensors (integer buffers stay global)."""
    return [k for k, v in weights.items() if v.is_floating_point()]


@contextlib.contextmanager
def seeded_numpy(seed: int) -> Iterator[None]:
    """NumPy's global generator (which Flower's stochastic rounding draws from) seeded, then restored."""
    saved = np.random.get_state()
    np.random.seed(seed % 2**32)
    try:
        yield
    finally:
        np.random.set_state(saved)


def quantised_sum(updates: list[list[np.ndarray]], secagg: SecAggSettings) -> list[np.ndarray]:
    """The integer vector SecAgg+ unmasks: each client's weight factor (Q: weight 1, ``max_weight`` 1) and
    quantised update, summed modulo M."""
    q = secagg.quantization_range
    total: list[np.ndarray] | None = None
    for update in updates:
        quantised = [np.array([q])] + quantize(update, secagg.clipping_range, q)
        total = quantised if total is None else [a + b.astype(np.int64) for a, b in zip(total, quantised)]
    assert total is not None
    return [np.mod(a.astype(np.int64), secagg.modulus_range) for a in total]


def revealed_mean(total: list[np.ndarray], secagg: SecAggSettings, clients: int) -> list[np.ndarray]:
    """Flower's unmask arithmetic on the integer sum: dequantised, the clients' offsets removed, divided by the
    summed weight factor: the mean of the clipped updates, within the quantisation step."""
    factor, arrays = int(total[0][0]), total[1:]
    mean = dequantize(arrays, secagg.clipping_range, secagg.quantization_range)
    offset, scale = -(clients - 1) * secagg.clipping_range, secagg.quantization_range / factor
    return [(a + offset) * scale for a in mean]


def secure_mean(updates: list[list[np.ndarray]], secagg: SecAggSettings, *, seed: int) -> list[np.ndarray]:
    """The mean of ``updates`` as SecAgg+ reveals it: quantised with Flower's stochastic rounding (NumPy seeded
    by ``seed``), summed modulo M and unmasked (``quantised_sum``, ``revealed_mean``)."""
    with seeded_numpy(seed):
        return revealed_mean(quantised_sum(updates, secagg), secagg, len(updates))


def quantisation_step(secagg: SecAggSettings) -> float:
    """One quantisation level, 2c / Q: the bound on the mean's error per coordinate within the clipping range."""
    return 2 * secagg.clipping_range / secagg.quantization_range


@dataclass(frozen=True)
class SecureSum:
    """The ``secure_sum`` stage: reads ``results`` (their weights, in this process) or, on a Flower engine, the
    mean the engine's SecAgg+ protocol unmasked (``state.run.execute.revealed``); writes ``total`` (the sum of
    the round's updates, float64) and empties each result's weights. A round with fewer results than the
    reconstruction threshold stops the run, or (``skip_small``: Poisson rounds under DP) sends nothing and is
    counted. In this process the secure sum is compared with the plain sum of the same updates
    (``max_abs_error`` of the mean)."""

    secagg: SecAggSettings
    skip_small: bool = False

    def __call__(self, state: RoundState) -> None:
        memory = state.run.memory.setdefault("secagg", {"rounds": 0, "below_threshold": 0, "max_abs_error": 0.0})
        g, n = state.global_weights, len(state.results)
        keys = float_keys(g)
        memory["rounds"] += 1
        if n < self.secagg.reconstruction_threshold:
            if not self.skip_small:
                raise InputError(f"round {state.round + 1}: only {n} client(s) returned an update; SecAgg+ needs "
                                 f"secagg.reconstruction_threshold = {self.secagg.reconstruction_threshold}")
            memory["below_threshold"] += 1
            state.failed += n
            state.results, state.total = [], {k: torch.zeros_like(g[k], dtype=torch.float64) for k in keys}
            return
        revealed: Revealed | None = getattr(state.run.execute, "revealed", None)
        if revealed is not None:
            mean = revealed(state.round)
            memory["max_abs_error"] = None  # the server never holds the updates it could compare against
        else:
            updates = [[(r.weights[k] - g[k]).double().numpy() for k in keys] for r in state.results]
            seed = int(np.random.SeedSequence([state.run.seed, state.round, 7]).generate_state(1)[0])
            mean = secure_mean(updates, self.secagg, seed=seed)
            plain = [np.mean([u[i] for u in updates], axis=0) for i in range(len(keys))]
            error = max(float(np.abs(m - p).max()) for m, p in zip(mean, plain))
            memory["max_abs_error"] = max(memory["max_abs_error"], error)
        state.total = {k: torch.from_numpy(np.asarray(m, dtype=np.float64) * n) for k, m in zip(keys, mean)}
        state.results = [dataclasses.replace(r, weights={}) for r in state.results]


@dataclass(frozen=True)
class SumMean:
    """An ``aggregate`` stage: the global weights plus ``total`` over ``expected`` clients (DP-FedAvg's fixed
    denominator) or over the round's clients (None: the mean); integer buffers stay global."""

    expected: float | None = None

    def __call__(self, state: RoundState) -> None:
        g, count = state.global_weights, self.expected or len(state.results)
        state.average = {k: (g[k] + (state.total[k] / count).to(g[k].dtype)) if k in state.total and count
                         else g[k].clone() for k in g}


def capture_sum(state: RoundState) -> None:
    """A ``capture`` stage: keeps the round's sum as one ``ClientUpdate`` (kind ``round_sum``, its clients'
    ids joined by ``+``, their examples summed) until ``capture_mb`` are used: no client's own update."""
    history, limit = state.run.history, state.run.plan.capture_mb * 1e6
    if limit <= 0 or not state.results:
        return
    ids = [r.client_id for r in state.results]
    examples = sum(r.examples for r in state.results)
    total = {k: v.to(state.global_weights[k].dtype) for k, v in state.total.items()}
    update = ClientUpdate(state.round + 1, "+".join(ids), examples, SUM_KIND, state.global_weights, total,
                          {**state.run.training.sent(state.round, examples), "clients": len(ids)},
                          float(np.mean([r.loss for r in state.results])))
    if sum(u.nbytes() for u in history.updates) + update.nbytes() <= limit:
        history.updates.append(update)


def secagg_record(secagg: SecAggSettings, memory: dict[str, Any], engine: str) -> dict[str, Any]:
    """metrics.json ``privacy.secagg`` of a fold: the protocol's settings and what was measured."""
    measured = memory.get("max_abs_error")
    return {"mechanism": "secagg+", "engine": engine, "clipping_range": secagg.clipping_range,
            "quantization_range": secagg.quantization_range, "modulus_range": secagg.modulus_range,
            "reconstruction_threshold": secagg.reconstruction_threshold,
            "num_shares": secagg.num_shares or "every client of the round",
            "quantisation_step": quantisation_step(secagg),
            "max_abs_error": measured if measured is not None else "not measurable on this engine (the server "
                             "holds only the secure sum)",
            "rounds": memory.get("rounds", 0), "rounds_below_threshold": memory.get("below_threshold", 0)}


@dataclass(frozen=True)
class SecAggRecord:
    """The last stage: writes the fold's ``secagg_record`` into ``history.privacy["secagg"]``."""

    secagg: SecAggSettings

    def __call__(self, state: RoundState) -> None:
        engine = "flower" if hasattr(state.run.execute, "revealed") else "inprocess"
        state.run.history.privacy["secagg"] = secagg_record(self.secagg, state.run.memory.get("secagg", {}), engine)


def secure_step(step: ServerStep, secagg: SecAggSettings, *, expected: float | None = None,
                skip_small: bool = False) -> ServerStep:
    """``step`` under secure aggregation: ``secure_sum`` before ``capture`` (after any client-side clipping or
    noise), the round sum captured, ``aggregate`` over the sum (``expected``: DP-FedAvg's fixed denominator),
    and the record as the last stage."""
    step = step.insert("secure_sum", SecureSum(secagg, skip_small), before="capture")
    step = step.replace("capture", capture_sum).replace("aggregate", SumMean(expected))
    return step.insert("secagg_record", SecAggRecord(secagg), after=step.names[-1])


__all__ = ["SUM_KIND", "SecAggRecord", "SecureSum", "SumMean", "capture_sum", "float_keys", "quantisation_step",
           "quantised_sum", "revealed_mean", "secure_mean", "secure_step", "seeded_numpy"]
