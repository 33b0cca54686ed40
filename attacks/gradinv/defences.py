"""The federated defences on a simulated round, on the victim side, before the server sees anything.

An honest-but-curious server sees a client's update after every client-side mechanism and before any
server-side one: under ``dp.mode=client`` the update clipped to C, under ``local`` clipped and noised with the
sd a fedavg run with the same settings would draw (``privbench.defences.federated.dp_record``), under
``server`` the update in the clear (the noise comes later, on the server). Under secure aggregation it sees
only the quantised sum of the round's k updates, as SecAgg+ reveals it (``privbench.federated.secure``).
The mechanisms act on the weight delta, as a fedavg client's do: a FedSGD gradient g is the delta -lr*g.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from privbench.config import Group, require
from privbench.federated.aggregate import clip_update
from privbench.federated.secure import quantisation_step, secure_mean
from privbench.federated.stages import clients_per_round
from privbench.settings import DPSettings, SecAggSettings

SEEN = {"none": "update in the clear", "server": "update in the clear", "client": "clipped update",
        "local": "noised update"}


@dataclass(frozen=True, kw_only=True)
class Federation:
    """The federation the attacked round belongs to: ``clients`` participants, ``rounds`` planned rounds, a
    share ``client_fraction`` sampled per round, ``secure_clients`` (k) summed under secure aggregation."""

    clients: int
    rounds: int
    client_fraction: float
    secure_clients: int


@dataclass(frozen=True, kw_only=True)
class RoundFederation(Group):
    """The settings of the federation a defended round belongs to (configs/gradinv.yaml): its clients
    (``federation_clients``, 0: the dataset's participants), ``rounds``, ``client_fraction`` and the k clients
    a secure sum holds (``secagg_clients``, 0: fedavg's clients per round)."""

    federation_clients: int
    rounds: int
    client_fraction: float
    secagg_clients: int

    def __post_init__(self) -> None:
        require(self.rounds >= 1 and self.federation_clients >= 0, "rounds must be >= 1, federation_clients >= 0")
        require(0 < self.client_fraction <= 1, f"client_fraction must be in (0, 1], got {self.client_fraction}")
        require(self.secagg_clients == 0 or self.secagg_clients >= 2, "secagg_clients must be 0 (fedavg's clients "
                f"per round) or at least 2: a secure sum of {self.secagg_clients} client is that client's update")

    def of(self, participants: int) -> Federation:
        """The federation of a dataset with ``participants`` participants."""
        clients = self.federation_clients or participants
        k = self.secagg_clients or secure_clients(clients, self.client_fraction)
        return Federation(clients=clients, rounds=self.rounds, client_fraction=self.client_fraction, secure_clients=k)


@dataclass(frozen=True, kw_only=True)
class ClientMechanism:
    """What each client does to its update before sending it: clip its weight delta to ``clip`` (None: not
    clipped) and add Gaussian noise of sd ``noise_std`` per coordinate (seeded by ``seed`` and the client);
    ``record`` is metrics.json's ``threat_model.defence``."""

    clip: float | None
    noise_std: float
    seed: int
    record: dict

    def release(self, update: list[torch.Tensor], *, gradient: bool, lr: float, client: int) -> list[torch.Tensor]:
        """``update`` as it leaves client number ``client`` (a gradient stays a gradient: -delta / lr)."""
        if self.clip is None and not self.noise_std:
            return update
        scale = -lr if gradient else 1.0
        delta = {str(i): u * scale for i, u in enumerate(update)}
        if self.clip is not None:
            delta = clip_update(delta, {k: torch.zeros_like(v) for k, v in delta.items()}, self.clip)
        generator = torch.Generator().manual_seed(int(np.random.SeedSequence([self.seed, client]).generate_state(1)[0]))
        return [(delta[str(i)] + torch.randn(u.shape, generator=generator, dtype=u.dtype) * self.noise_std) / scale
                for i, u in enumerate(update)]


def client_mechanism(dp: DPSettings, federation: Federation, *, seed: int) -> ClientMechanism:
    """The client side of ``dp`` (off: nothing), calibrated as a fedavg run of ``federation`` would be."""
    if not dp.enabled:
        return ClientMechanism(clip=None, noise_std=0.0, seed=seed, record={
            "mechanism": "none", "server_saw": SEEN["none"], "protects_against_this_adversary": "no"})
    from privbench.defences.federated import dp_record  # opacus: only DP attacks import it

    record = dp_record(dp, clients=federation.clients, rounds=federation.rounds,
                       client_fraction=federation.client_fraction)
    local = dp.mode == "local"
    defence = {"mechanism": record["mechanism"], "server_saw": SEEN[dp.mode], "max_grad_norm": dp.max_grad_norm,
               "epsilon": dp.epsilon, "delta": dp.delta, "accountant": dp.accountant,
               "noise_multiplier": record["noise_multiplier"], "planned_rounds": federation.rounds,
               "sample_rate": record["sample_rate"], "federation_clients": federation.clients,
               "noise_std": record["noise_std"] if local else 0.0,
               "protects_against_this_adversary": "yes" if local else "no"}
    if not local:
        defence["server_noise_std"] = record["noise_std"]
        defence["note"] = (f"dp.mode={dp.mode} gives no protection against this adversary: the server sees the "
                           f"{SEEN[dp.mode]}; its noise (sd {record['noise_std']:.3g} on the average) comes after")
    return ClientMechanism(clip=None if dp.mode == "server" else dp.max_grad_norm,
                           noise_std=record["noise_std"] if local else 0.0, seed=seed, record=defence)


def secure_clients(federation_clients: int, client_fraction: float) -> int:
    """fedavg's clients per round with its default ``min_clients`` (2)."""
    return clients_per_round(federation_clients, client_fraction=client_fraction, min_clients=2)


def secure_sum(updates: list[list[torch.Tensor]], secagg: SecAggSettings, *, seed: int) -> list[torch.Tensor]:
    """The sum of ``updates`` as SecAgg+ reveals it: each quantised (Flower's stochastic rounding, seeded),
    summed modulo M, dequantised (``privbench.federated.secure``)."""
    mean = secure_mean([[u.double().numpy() for u in update] for update in updates], secagg, seed=seed)
    return [torch.from_numpy(m * len(updates)).to(u.dtype) for m, u in zip(mean, updates[0])]


def secure_record(defence: dict, secagg: SecAggSettings, k: int) -> dict:
    """``defence`` under secure aggregation: the server saw the sum of k updates (not the clipped one a client
    mechanism's note speaks of)."""
    kept = {key: value for key, value in defence.items() if key != "note"}
    return {**kept, "mechanism": "secagg+" if defence["mechanism"] == "none" else f"secagg+ {defence['mechanism']}",
            "server_saw": f"sum of {k} updates", "secure_clients": k, "clipping_range": secagg.clipping_range,
            "quantization_range": secagg.quantization_range, "quantisation_step": quantisation_step(secagg),
            "protects_against_this_adversary": "yes",
            "note": f"secure aggregation hides each client's update, not what the sum of {k} reveals: the attack "
                    "inverts the sum"}
