"""Small records passed between stages; attacks see only what their threat model releases.

``ClientUpdate`` is what an honest-but-curious federated server knows about one client in one
round; ``save_updates`` / ``load_updates`` keep them in a run's ``updates.pt`` with a format
version, checked when read back.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from privbench.errors import InputError

UPDATES_FORMAT = "privbench.client-updates"
UPDATES_VERSION = 1
StateDict = dict[str, torch.Tensor]


@dataclass(frozen=True)
class ClientUpdate:
    """One client's update in one round, as the server sees it.

    ``global_weights`` are the weights the server sent (every tensor of the state dict), ``delta``
    the client's floating-point weights minus them; ``training`` the settings the server sent with
    them (``lr``, ``batch_size``, ``local_steps``, ``unit`` = "frame" or "window", ``optimizer``,
    ``loss``, ...); ``loss`` the client's reported mean training loss; ``round`` is 1-based.
    """

    round: int
    client_id: str
    examples: int
    kind: str  # "weight_delta"
    global_weights: StateDict
    delta: StateDict
    training: dict[str, Any] = field(default_factory=dict)
    loss: float = math.nan
    fold: int = 0

    def nbytes(self) -> int:
        """Bytes of the delta (the global weights are shared by every update of a round)."""
        return sum(t.numel() * t.element_size() for t in self.delta.values())


def save_updates(path: Path, updates: list[ClientUpdate]) -> None:
    """Write ``updates`` to ``path`` (torch.save; tensors shared between records are stored once)."""
    records = [{f.name: getattr(u, f.name) for f in dataclasses.fields(u)} for u in updates]  # asdict deep-copies
    torch.save({"format": UPDATES_FORMAT, "version": UPDATES_VERSION, "updates": records}, path)


def load_updates(path: Path | str) -> list[ClientUpdate]:
    """Read ``updates.pt``; a missing, foreign, newer or malformed file raises ``InputError`` naming it."""
    path = Path(path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise InputError(f"{path}: no captured client updates (run fedavg with --set capture_updates_mb=N)") from None
    except Exception as err:  # torch raises many types for a truncated or foreign file
        raise InputError(f"{path}: not a readable updates file ({type(err).__name__})") from None
    if not isinstance(payload, dict) or payload.get("format") != UPDATES_FORMAT:
        raise InputError(f"{path}: not a privbench client-updates file")
    if payload.get("version") != UPDATES_VERSION:
        raise InputError(f"{path}: updates format version {payload.get('version')}; this privbench reads "
                         f"{UPDATES_VERSION}")
    fields = {f.name for f in dataclasses.fields(ClientUpdate)}
    updates = []
    for i, record in enumerate(payload.get("updates", [])):
        if not isinstance(record, dict) or set(record) != fields:
            raise InputError(f"{path}: update {i} does not have the fields {', '.join(sorted(fields))}")
        update = ClientUpdate(**record)
        if not all(torch.isfinite(t).all() for t in update.delta.values() if t.is_floating_point()):
            raise InputError(f"{path}: update {i} (client {update.client_id}, round {update.round}) holds non-finite "
                             "values")
        updates.append(update)
    return updates
