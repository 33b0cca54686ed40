"""Differential privacy for FedAvg, as stages of the server step (``privbench.federated.stages``) and the client
side each client runs (``privbench.federated.client_privacy``), the same in every engine.

- ``server`` (DP-FedAvg, McMahan et al. 2018): Poisson client sampling at rate q (``client_fraction``), each
  update clipped to C on the server, Gaussian noise of sd z*C on the sum, divided by the expected qN clients.
- ``client``: the same with the clipping on the client (Flower's client-side fixed clipping): the server, and
  what it captures, sees only clipped updates.
- ``local`` (local DP, for a server that is not trusted): each client clips its update and adds Gaussian
  noise of sd z*2C (any two clipped updates differ by at most 2C) before sending; the server averages.
  Each client's release is composed over the rounds it joined (Flower's ``LocalDpMod`` does not compose).
- ``dpsgd``: Opacus's DP-SGD inside each client's local training (the window as the unit); each client reports
  its accountant's entry per round and the server composes them over the rounds the client joined.

The participant (one client) is the unit of server, client and local. Their noise multipliers come from Opacus's
accountants for the planned rounds; the accountant then counts the rounds run (metrics.json ``privacy``). Noise
is drawn from generators seeded by the run seed, the round (and the client), so a benchmark is reproducible; a
real deployment needs a secure random source. Noise falls only on the keys clients train (``trainable_keys``).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from opacus.accountants import create_accountant
from opacus.accountants.utils import get_noise_multiplier

from privbench.errors import ConfigError
from privbench.federated.aggregate import clip_update
from privbench.federated.client_privacy import ClientPrivacy, trainable_keys
from privbench.federated.server import RoundState, ServerStep
from privbench.federated.stages import standard_step
from privbench.settings import DPSettings

GUARANTEES = {
    "server": "participant-level (client-level DP-FedAvg): the trusted server adds the noise, so the server "
              "itself sees every update in the clear",
    "client": "participant-level, clipped on the client: the server still sees each clipped update in the clear",
    "local": "participant-level local DP: each update is noised before it leaves the client",
    "dpsgd": "example-level (one training window) DP-SGD inside each client: a person contributes many windows, "
             "so this does not protect a person",
}


_noise_multiplier = functools.cache(get_noise_multiplier)  # the server step and the clients' settings share it


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


@dataclass(frozen=True)
class CountedClipping:
    """The ``clip`` stage of ``dp.mode=server``: each client's delta scaled to an L2 norm of at most ``bound``,
    each result marked when clipping changed it (``clipped_fraction``)."""

    bound: float

    def __call__(self, state: RoundState) -> None:
        clipped = [(r, clip_update(r.weights, state.global_weights, self.bound)) for r in state.results]
        state.results = [dataclasses.replace(r, weights=w, clipped=w is not r.weights) for r, w in clipped]


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
    """A ``noise`` stage: independent Gaussian noise of sd ``std`` on every key the clients train of ``average``
    (seeded by the run seed and the round)."""

    std: float

    def __call__(self, state: RoundState) -> None:
        generator = _generator(state.run.seed, state.round, 1)
        keys = set(trainable_keys(state.average, state.run.training.trainable))
        state.average = {k: v + torch.randn(v.shape, generator=generator, dtype=v.dtype) * self.std if k in keys
                         else v for k, v in state.average.items()}


@dataclass(frozen=True)
class PrivacyAccounting:
    """An ``accounting`` stage: Opacus's accountant over the rounds run so far, the epsilon spent written into
    ``history.privacy`` with ``record``. ``per_client`` (local DP, client DP-SGD): each client's own composition
    over the rounds it sent an update in (no amplification: it knows it took part), from one entry per round:
    (``noise_multiplier``, 1, 1) under local DP, the entry the client reported under DP-SGD; the record holds the
    largest epsilon and the median."""

    record: dict[str, Any]
    per_client: bool = False

    def __call__(self, state: RoundState) -> None:
        memory = state.run.memory
        sizes = memory.setdefault("round_sizes", [])
        sizes.append(len(state.results))
        clipping = memory.setdefault("clipping", [0, 0])
        clipping[0] += sum(r.clipped for r in state.results)
        clipping[1] += len(state.results)
        privacy = {**self.record, "rounds": len(sizes), "mean_clients_per_round": float(np.mean(sizes)),
                   "empty_rounds": sizes.count(0), "clipped_fraction": clipping[0] / clipping[1] if clipping[1] else 0.0}
        if self.per_client:
            privacy.update(self._per_client(state, memory))
        else:
            privacy["epsilon"] = self._epsilon([(self.record["noise_multiplier"], self.record["sample_rate"],
                                                 len(sizes))])
        state.run.history.privacy = privacy

    def _per_client(self, state: RoundState, memory: dict) -> dict[str, Any]:
        spent = memory.setdefault("spent", {cid: {} for cid in state.run.client_ids})  # client -> (z, q) -> steps
        epsilons = memory.setdefault("epsilons", dict.fromkeys(state.run.client_ids, 0.0))
        for r in state.results:
            entry = (r.dp_noise, r.dp_rate, r.dp_steps) if self.record["unit"] == "window" \
                else (self.record["noise_multiplier"], 1.0, 1)
            spent[r.client_id][entry[:2]] = spent[r.client_id].get(entry[:2], 0) + entry[2]
            epsilons[r.client_id] = self._epsilon([(z, q, n) for (z, q), n in spent[r.client_id].items()])
        joined = [e for e in epsilons.values() if e > 0]
        reported = [z for entries in spent.values() for z, _ in entries]
        extra = {"epsilon": max(epsilons.values()), "median_client_epsilon": float(np.median(joined)) if joined else 0.0}
        if self.record["unit"] == "window" and reported:
            extra["noise_multiplier"] = float(min(reported))  # the clients' smallest (each chose its own)
            extra["noise_multiplier_max"] = float(max(reported))
            extra["sample_rate"] = float(max(q for entries in spent.values() for _, q in entries))
        return extra

    def _epsilon(self, history: list[tuple[float, float, int]]) -> float:
        return composed_epsilon(self.record["accountant"], tuple(sorted(history)), self.record["delta"])


@functools.cache
def composed_epsilon(accountant: str, history: tuple[tuple[float, float, int], ...], delta: float) -> float:
    """Opacus's ``accountant`` over ``history`` (noise multiplier, sample rate, steps entries) at ``delta`` (cached:
    clients with the same history share one figure)."""
    if not sum(steps for *_, steps in history):
        return 0.0
    if min(z for z, *_ in history) <= 0:
        return math.inf
    composed = create_accountant(accountant)
    composed.history = list(history)
    return float(composed.get_epsilon(delta))


def dp_record(dp: DPSettings, *, clients: int, rounds: int, client_fraction: float,
              noise_multiplier: float | None = None) -> dict[str, Any]:
    """The mechanism of ``dp.mode`` for ``clients`` participants over ``rounds``, as metrics.json ``privacy``
    records it before any round: the accountant's noise multiplier z (``noise_multiplier`` set directly
    replaces it), the sampling rate and ``noise_std`` (on the averaged update for server/client, on each
    client's update for local); under ``dpsgd`` each client chooses its own z for its data (the accounting stage
    records the z and rates the clients report; ``noise_multiplier`` set directly is every client's)."""
    if dp.delta >= 1 / clients:
        raise ConfigError(f"dp.delta {dp.delta:g} must be below 1 / the {clients} clients (the privacy units)")
    common = {"mechanism": f"dp-fedavg-{dp.mode}", "guarantee": GUARANTEES[dp.mode], "target_epsilon": dp.epsilon,
              "delta": dp.delta, "accountant": dp.accountant, "max_grad_norm": dp.max_grad_norm,
              "planned_rounds": rounds}
    if dp.mode == "dpsgd":
        return {**common, "unit": "window", **({} if noise_multiplier is None else {"noise_multiplier": noise_multiplier})}
    local = dp.mode == "local"
    rate = 1.0 if local else client_fraction
    z = noise_multiplier if noise_multiplier is not None else _noise_multiplier(
        target_epsilon=dp.epsilon, target_delta=dp.delta, sample_rate=rate, steps=rounds,
        accountant=dp.accountant, epsilon_tolerance=0.01)
    bound, expected = dp.max_grad_norm, client_fraction * clients
    return {**common, "unit": "participant", "noise_multiplier": float(z), "sample_rate": rate,
            "noise_std": float(z * 2 * bound if local else z * bound / expected)}


def client_privacy(dp: DPSettings, record: dict[str, Any] | None) -> ClientPrivacy:
    """What each client does under ``dp`` (off, or ``server``: nothing), from the mechanism's ``record``."""
    if not dp.enabled or dp.mode == "server" or record is None:
        return ClientPrivacy()
    common = {"max_grad_norm": dp.max_grad_norm}
    if dp.mode == "client":
        return ClientPrivacy(mode="clip", **common)
    if dp.mode == "local":
        return ClientPrivacy(mode="local", noise_std=record["noise_std"], **common)
    return ClientPrivacy(mode="dpsgd", epsilon=dp.epsilon, delta=dp.delta, accountant=dp.accountant,
                         planned_rounds=record["planned_rounds"], noise_multiplier=record.get("noise_multiplier", -1.0),
                         **common)


def dp_step(dp: DPSettings, *, clients: int, rounds: int, client_fraction: float,
            noise_multiplier: float | None = None) -> ServerStep:
    """The server step of ``dp.mode`` for ``clients`` training participants over ``rounds`` (the clients' own
    part is ``client_privacy`` of the same record); ``noise_multiplier`` set directly (e.g. 0 in a test)
    replaces the accountant's choice."""
    record = dp_record(dp, clients=clients, rounds=rounds, client_fraction=client_fraction,
                       noise_multiplier=noise_multiplier)
    per_client = dp.mode in ("local", "dpsgd")
    accounting = PrivacyAccounting(record, per_client=per_client)
    step = standard_step().insert("accounting", accounting, after="account")
    if dp.mode == "dpsgd":  # rounds of a fixed size: min_clients applies
        return step
    step = step.replace("drop", keep_on_time)
    if per_client:
        return step
    expected = client_fraction * clients
    step = step.replace("sample", PoissonSampling(client_fraction)).replace("aggregate", FixedDenominatorMean(expected))
    step = step.replace("noise", GaussianNoise(record["noise_std"]))
    return step.replace("clip", CountedClipping(dp.max_grad_norm)) if dp.mode == "server" else step


__all__ = ["GUARANTEES", "CountedClipping", "FixedDenominatorMean", "GaussianNoise", "PoissonSampling",
           "PrivacyAccounting", "client_privacy", "composed_epsilon", "dp_record", "dp_step", "keep_on_time"]
