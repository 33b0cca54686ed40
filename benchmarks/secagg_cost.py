"""Per-round cost of secure aggregation (Flower's SecAgg+) against plain FedAvg, on the Flower simulation engine,
as a ratio in one run (and the in-process secure sum beside it).

The same clients and rounds run, after one discarded warm-up run per engine, plain, SecAgg+, SecAgg+, plain
(the means of each pair cancel drift) on the Flower simulation (Ray), and the same with the secure sum in-process. Per round: wall seconds, the clients' summed compute, and the secure / plain ratio.
The deployment engine's ratio: ``python benchmarks/federated_deployment.py --secure`` (real SuperLink and SuperNode
processes, whose per-message ClientApp start-up dominates).
Usage: python benchmarks/secagg_cost.py [--clients 3] [--rounds 3] [--frames 300]
"""

from __future__ import annotations

import numpy as np
from federated_engines import engine_inputs, model

from privbench.federated.flower_engine import run_flower_simulation
from privbench.federated.inprocess import run_inprocess
from privbench.federated.secure import secure_step
from privbench.federated.server import FederatedHistory
from privbench.federated.stages import standard_step
from privbench.settings import SecAggSettings

SECAGG = SecAggSettings(enabled=True, num_shares=0, reconstruction_threshold=2, clipping_range=8.0,
                        quantization_range=2**22, modulus_range=2**32)


def per_round(history: FederatedHistory) -> tuple[float, float]:
    """Mean wall seconds per round and the clients' summed compute per round."""
    rounds = len(history.epoch_seconds)
    return float(np.mean(history.epoch_seconds)), history.client_seconds / rounds


def main() -> None:
    _, clients, common = engine_inputs(__doc__, clients=3, rounds=3, frames=300)
    steps = {"plain": standard_step, "secagg": lambda: secure_step(standard_step(), SECAGG)}
    measured: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for engine, run in (("flower", run_flower_simulation), ("inprocess", run_inprocess)):
        run(model(), clients, server=steps["plain"](), **common)  # warm-up, discarded: imports, Ray, caches
        for label in ("plain", "secagg", "secagg", "plain"):  # both orders: drift cancels in the means
            measured.setdefault((engine, label), []).append(per_round(run(model(), clients, server=steps[label](),
                                                                          **common)))
    for engine in ("flower", "inprocess"):
        (plain, plain_clients), (secure, secure_clients) = (tuple(np.mean(measured[engine, label], axis=0))
                                                            for label in ("plain", "secagg"))
        print(f"{engine}: plain {plain:.2f} s per round (clients {plain_clients:.2f} s), SecAgg+ {secure:.2f} s "
              f"(clients {secure_clients:.2f} s): {secure / plain:.2f}x per round")


if __name__ == "__main__":
    main()
