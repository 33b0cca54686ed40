"""Client-level differential privacy for FedAvg, as stages of the server step (``privbench.federated.stages``),
the same in every engine; the participant (one client) is the privacy unit.

- ``server`` (DP-FedAvg, McMahan et al. 2018): Poisson client sampling at rate q (``client_fraction``), each
  update clipped to C on the server, Gaussian noise of sd z*C on the sum, divided by the expected qN clients.
- ``client``: the same with the clipping on the client (Flower's client-side fixed clipping): the server, and
  what it captures, sees only clipped updates.
- ``local`` (local DP, for a server that is not trusted): each client clips its update and adds Gaussian
  noise of sd z*2C (any two clipped updates differ by at most 2C) before sending; the server averages.
  Each client's release is composed over the rounds it joined (Flower's ``LocalDpMod`` does not compose).

Noise multipliers come from Opacus's accountants for the planned rounds; the accountant then counts the
rounds run (metrics.json ``privacy``). Noise is drawn from generators seeded by the run seed and round, so a
benchmark is reproducible; a real deployment needs a secure random source.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from opacus.accountants import create_accountant
from opacus.accountants.utils import get_noise_multiplier

from privbench.errors import ConfigError
from privbench.federated.aggregate import clip_update
from privbench.federated.server import RoundState, ServerStep
from privbench.federated.stages import standard_step
from privbench.settings import DPSettings

GUARANTEES = {
    "server": "participant-level (client-level DP-FedAvg): the trusted server adds the noise, so the server "
              "itself sees every update in the clear",
    "client": "participant-level, clipped on the client: the server still sees each clipped update in the clear",
    "local": "participant-level local DP: each update is noised before it leaves the client",
}


def _generator(seed: int, round_: int, salt: int) -> torch.Generator:
    return torch.Generator().manual_seed(int(np.random.SeedSequence([seed, round_, salt]).generate_state(1)[0]))


@dataclass(frozen=True)
class PoissonSampling:
    """A ``sample`` stage: each client joins the round independently with probability ``rate`` (seeded by the
    run seed and the round), so the round's size is random (empty rounds happen): what amplification by
    subsampling assumes."""

    rate: float

    def __call__(self, state: RoundState) -> None:
        rng = np.random.default_rng([state.run.seed, state.round, 11])
        state.chosen = [cid for cid, u in zip(state.run.client_ids, rng.random(len(state.run.client_ids)))
                        if u < self.rate]


def keep_on_time(state: RoundState) -> None:
    """A ``drop`` stage for DP rounds: late results count as failed; a round of any size goes on (its size is
    part of the mechanism, so ``min_clients`` does not stop it)."""
    limit = state.run.plan.client_timeout
    late = [r for r in state.results if r.seconds > limit]
    state.failed += len(late)
    state.results = sorted((r for r in state.results if r.seconds <= limit), key=lambda r: r.client_id)


def _clip(state: RoundState, weights: dict, bound: float) -> dict:
    """``clip_update``, counting in the run's memory how many updates it clipped (``clipped_fraction``)."""
    clipped = clip_update(weights, state.global_weights, bound)
    counts = state.run.memory.setdefault("clipping", [0, 0])
    counts[0] += clipped is not weights
    counts[1] += 1
    return clipped


@dataclass(frozen=True)
class CountedClipping:
    """A ``clip`` stage (or, under ``dp.mode=client``, one before ``capture``): each client's delta scaled to an
    L2 norm of at most ``bound``, the share of clipped updates counted."""

    bound: float

    def __call__(self, state: RoundState) -> None:
        state.results = [dataclasses.replace(r, weights=_clip(state, r.weights, self.bound)) for r in state.results]


@dataclass(frozen=True)
class FixedDenominatorMean:
    """An ``aggregate`` stage: the global weights plus the sum of the (clipped) deltas over ``expected``
    clients, however many came (the unbiased DP-FedAvg estimator); integer buffers stay global."""

    expected: float

    def __call__(self, state: RoundState) -> None:
        g = state.global_weights
        state.average = {k: g[k] + sum((r.weights[k] - g[k] for r in state.results), torch.zeros_like(g[k]))
                         / self.expected if g[k].is_floating_point() else g[k].clone() for k in g}


@dataclass(frozen=True)
class GaussianNoise:
    """A ``noise`` stage: independent Gaussian noise of sd ``std`` on every floating-point tensor of
    ``average`` (seeded by the run seed and the round)."""

    std: float

    def __call__(self, state: RoundState) -> None:
        generator = _generator(state.run.seed, state.round, 1)
        state.average = {k: v + torch.randn(v.shape, generator=generator, dtype=v.dtype) * self.std
                         if v.is_floating_point() else v for k, v in state.average.items()}


@dataclass(frozen=True)
class LocalNoise:
    """Each client's mechanism under local DP, before its update leaves it: the delta clipped to ``bound``,
    then Gaussian noise of sd ``std`` added (seeded by the run seed, the round and the client)."""

    bound: float
    std: float

    def __call__(self, state: RoundState) -> None:
        noised = []
        for r in state.results:
            generator = _generator(state.run.seed, state.round, 1000 + state.run.client_ids.index(r.client_id))
            clipped = _clip(state, r.weights, self.bound)
            weights = {k: w + torch.randn(w.shape, generator=generator, dtype=w.dtype) * self.std
                       if w.is_floating_point() else w for k, w in clipped.items()}
            noised.append(dataclasses.replace(r, weights=weights))
        state.results = noised


@dataclass(frozen=True)
class PrivacyAccounting:
    """An ``accounting`` stage: Opacus's accountant over the rounds run so far, the epsilon spent written into
    ``history.privacy`` with ``record``. ``per_client`` (local DP): each client's own composition over the
    rounds it sent an update in (no amplification: it knows it took part); the record holds the largest."""

    record: dict[str, Any]
    noise_multiplier: float
    sample_rate: float
    per_client: bool = False

    def __call__(self, state: RoundState) -> None:
        memory = state.run.memory
        joined = memory.setdefault("rounds_joined", dict.fromkeys(state.run.client_ids, 0))
        sizes = memory.setdefault("round_sizes", [])
        sizes.append(len(state.results))
        for result in state.results:
            joined[result.client_id] += 1
        steps, rate = (max(joined.values()), 1.0) if self.per_client else (len(sizes), self.sample_rate)
        state.run.history.privacy = {**self.record, "epsilon": self._epsilon(steps, rate), "rounds": len(sizes),
                                     "mean_clients_per_round": float(np.mean(sizes)),
                                     "empty_rounds": sizes.count(0), "clipped_fraction": _fraction(memory)}

    def _epsilon(self, steps: int, rate: float) -> float:
        if not steps:
            return 0.0
        if self.noise_multiplier <= 0:
            return math.inf
        accountant = create_accountant(self.record["accountant"])
        accountant.history = [(self.noise_multiplier, rate, steps)]
        return float(accountant.get_epsilon(self.record["delta"]))


def _fraction(memory: dict) -> float:
    clipped, seen = memory.get("clipping", [0, 0])
    return clipped / seen if seen else 0.0


def dp_record(dp: DPSettings, *, clients: int, rounds: int, client_fraction: float,
              noise_multiplier: float | None = None) -> dict[str, Any]:
    """The mechanism of ``dp.mode`` for ``clients`` participants over ``rounds``, as metrics.json ``privacy``
    records it before any round: the accountant's noise multiplier z (``noise_multiplier`` set directly
    replaces it), the sampling rate and ``noise_std`` (on the averaged update for server/client, on each
    client's update for local)."""
    if dp.delta >= 1 / clients:
        raise ConfigError(f"dp.delta {dp.delta:g} must be below 1 / the {clients} clients (the privacy units)")
    local = dp.mode == "local"
    rate = 1.0 if local else client_fraction
    z = noise_multiplier if noise_multiplier is not None else get_noise_multiplier(
        target_epsilon=dp.epsilon, target_delta=dp.delta, sample_rate=rate, steps=rounds,
        accountant=dp.accountant, epsilon_tolerance=0.01)
    bound, expected = dp.max_grad_norm, client_fraction * clients
    return {"mechanism": f"dp-fedavg-{dp.mode}", "unit": "participant", "guarantee": GUARANTEES[dp.mode],
            "target_epsilon": dp.epsilon, "delta": dp.delta, "accountant": dp.accountant,
            "noise_multiplier": float(z), "max_grad_norm": bound, "sample_rate": rate,
            "planned_rounds": rounds, "noise_std": float(z * 2 * bound if local else z * bound / expected)}


def dp_step(dp: DPSettings, *, clients: int, rounds: int, client_fraction: float,
            noise_multiplier: float | None = None) -> ServerStep:
    """The server step of ``dp.mode`` (server, client or local) for ``clients`` training participants over
    ``rounds``; ``noise_multiplier`` set directly (e.g. 0 in a test) replaces the accountant's choice."""
    record = dp_record(dp, clients=clients, rounds=rounds, client_fraction=client_fraction,
                       noise_multiplier=noise_multiplier)
    local, rate, z = dp.mode == "local", record["sample_rate"], record["noise_multiplier"]
    bound, expected = dp.max_grad_norm, client_fraction * clients
    accounting = PrivacyAccounting(record, z, rate, per_client=local)
    step = standard_step().replace("drop", keep_on_time).insert("accounting", accounting, after="account")
    if local:
        return step.insert("local_noise", LocalNoise(bound, record["noise_std"]), after="execute")
    step = step.replace("sample", PoissonSampling(client_fraction)).replace("aggregate", FixedDenominatorMean(expected))
    step = step.replace("noise", GaussianNoise(record["noise_std"]))
    if dp.mode == "client":
        return step.insert("client_clip", CountedClipping(bound), before="capture")
    return step.replace("clip", CountedClipping(bound))


__all__ = ["GUARANTEES", "CountedClipping", "FixedDenominatorMean", "GaussianNoise", "LocalNoise", "PoissonSampling",
           "PrivacyAccounting", "dp_record", "dp_step", "keep_on_time"]
