"""What a federated client does for privacy before its update leaves it, the same on every engine (it runs
inside ``local_update``, so on a Flower node it runs on the node, before ``secaggplus_mod`` masks the update).

- ``clip`` (``dp.mode=client``): the update's delta scaled to an L2 norm of at most ``max_grad_norm``
  (Flower's client-side fixed clipping).
- ``local`` (``dp.mode=local``): clipped, then Gaussian noise of sd ``noise_std`` on every coordinate.
- ``dpsgd`` (``dp.mode=dpsgd``): Opacus's DP-SGD inside the local training (the window as the unit), its noise
  multiplier chosen by the client for its own data so that taking part in all ``planned_rounds`` spends
  ``epsilon``; the client reports each round's noise multiplier, sample rate and steps, and the server composes
  them over the rounds it joined (``privbench.defences.federated``).

Only the ``trainable`` keys are clipped and noised (``trainable_keys``: under ``trainable=head`` the frozen
backbone sends no change). Noise generators are seeded by the round's seed and the client id (a benchmark is
reproducible); a real deployment needs a secure random source.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import torch

from privbench.config import require
from privbench.federated.aggregate import StateDict, clip_update
from privbench.models.frame_model import HEAD_PREFIXES

if TYPE_CHECKING:
    from privbench.train.dpsgd import DPSGD

def trainable_keys(weights: StateDict, trainable: str) -> list[str]:
    """The floating-point keys a client trains: all of them, or (``head``) the projection and the recurrent head."""
    return [k for k, v in weights.items() if v.is_floating_point() and (trainable == "all" or k.startswith(HEAD_PREFIXES))]


def noise_seed(seed: int, client_id: str, salt: int) -> int:
    """A seed from the round's client seed, the client's id and a ``salt`` (one stream per use)."""
    return int(np.random.SeedSequence([seed, zlib.crc32(client_id.encode()), salt]).generate_state(1)[0])


@dataclass(frozen=True, kw_only=True)
class ClientPrivacy:
    """The client side of ``dp.mode`` (``none``: nothing), as the server sends it to every client."""

    mode: Literal["none", "clip", "local", "dpsgd"] = "none"
    max_grad_norm: float = 1.0  # clip/local: the update's bound; dpsgd: each window's gradient bound
    noise_std: float = 0.0  # local: noise sd per coordinate
    epsilon: float = 0.0  # dpsgd: the target of a client that joins every planned round
    delta: float = 1e-5
    accountant: Literal["prv", "rdp"] = "prv"
    planned_rounds: int = 1
    noise_multiplier: float = -1.0  # dpsgd: set (>= 0) to replace the accountant's choice (tests)

    def __post_init__(self) -> None:
        require(self.max_grad_norm > 0 and self.noise_std >= 0 and self.planned_rounds >= 1,
                "client privacy needs max_grad_norm > 0, noise_std >= 0 and planned_rounds >= 1")
        require(self.mode != "dpsgd" or self.epsilon > 0, "client DP-SGD needs a positive epsilon")

    def dpsgd(self, *, local_epochs: int, seed: int, client_id: str) -> DPSGD | None:
        """The DP-SGD wrapper of this round's local training (``dpsgd`` only; opacus imported only then)."""
        if self.mode != "dpsgd":
            return None
        from privbench.settings import DPSettings
        from privbench.train.dpsgd import DPSGD

        settings = DPSettings(epsilon=self.epsilon, delta=self.delta, max_grad_norm=self.max_grad_norm,
                              accountant=self.accountant, mode="dpsgd", unit="window", participants_per_step=1.0,
                              windows_per_participant=1, warmup="none", public_seed=0)
        return DPSGD(settings, epochs=local_epochs, seed=noise_seed(seed, client_id, 2), repeats=self.planned_rounds,
                     noise_multiplier=self.noise_multiplier if self.noise_multiplier >= 0 else None)

    def release(self, weights: StateDict, global_weights: StateDict, *, keys: list[str], seed: int,
                client_id: str) -> tuple[StateDict, bool]:
        """``weights`` as they leave the client (clipped and/or noised on ``keys``), and whether clipping
        changed them."""
        if self.mode not in ("clip", "local"):
            return weights, False
        own = {k: weights[k] for k in keys}
        bounded = clip_update(own, global_weights, self.max_grad_norm)
        generator = torch.Generator().manual_seed(noise_seed(seed, client_id, 1)) if self.mode == "local" else None
        released = dict(weights)
        for k, w in bounded.items():
            released[k] = w + torch.randn(w.shape, generator=generator, dtype=w.dtype) * self.noise_std if generator else w
        clipped = bounded is not own
        return released, clipped


__all__ = ["ClientPrivacy", "noise_seed", "trainable_keys"]
