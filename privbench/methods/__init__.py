"""Affect methods and the choices of a run (RNN heads, federated engines), declared without importing them.

``METHODS.get("au")`` imports privbench.methods.au, which registers the method; names and descriptions
come from here, so ``privbench list`` and ``--help`` never load torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from privbench.models import RNNS
from privbench.registry import Registry

if TYPE_CHECKING:
    from privbench.federated.engine import Engine
    from privbench.methods.base import FoldOutput, Method

METHODS: Registry[Method] = Registry("method")
METHODS.declare("au", "privbench.methods.au", "RNN/BiGRU/BiLSTM on facial Action Units (images discarded)")
METHODS.declare("central", "privbench.methods.central", "ResNet18 + RNN/BiGRU/BiLSTM on face frames, trained centrally")
METHODS.declare("fedavg", "privbench.methods.fedavg", "ResNet18 + RNN trained with FedAvg, one client per participant")

ENGINES: Registry[Engine] = Registry("engine")  # one call signature: privbench.federated.engine.Engine
ENGINES.declare("inprocess", "privbench.federated.inprocess:run_inprocess",
                "fedavg clients one after another in this process (deterministic)")
ENGINES.declare("flower", "privbench.federated.flower_engine:run_flower_simulation",
                "fedavg on Flower's simulation runtime (Ray), one SuperNode per participant")
ENGINES.declare("deployment", "privbench.federated.deployment:run_deployment",
                "fedavg on a running Flower SuperLink, one SuperNode per participant (--superlink HOST:PORT)")

__all__ = ["ENGINES", "METHODS", "RNNS", "FoldOutput", "Method"]


def __getattr__(name: str) -> Any:
    """``FoldOutput`` and ``Method`` from privbench.methods.base (torch), imported on first use."""
    if name in ("FoldOutput", "Method"):
        from privbench.methods import base

        return getattr(base, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
