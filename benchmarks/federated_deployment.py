"""Per-round cost of the Flower deployment engine beside the in-process engine, on the same folds.

Writes a small synthetic dataset, starts a SuperLink and one SuperNode per participant on
127.0.0.1 (privbench.federated.local_federation), and runs `fedavg` on both engines with the same
settings: wall time per round, the clients' summed compute per round, and what a deployed round
adds on top of its slowest client (message passing, a ClientApp process per message, the ServerApp).
``--secure``: also Flower's SecAgg+ on the same SuperLink and SuperNodes, run between two plain deployment runs
(their mean cancels drift), and the per-round ratio secure / plain.
Usage: python benchmarks/federated_deployment.py [--participants 6] [--rounds 3] [--seconds 60] [--secure]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import pandas as pd

from privbench import experiment
from privbench.data.layout import Dataset
from privbench.federated.local_federation import LocalFederation
from privbench.progress import Progress


def run(data: Path, engine: str, rounds: int, out: Path, superlink: str = "", secure: bool = False) -> dict:
    assignments = ["val_participants=0", f"rounds={rounds}", "warmup_rounds=0", "client_fraction=1", f"engine={engine}",
                   f"secagg.enabled={str(secure).lower()}"]
    if superlink:
        assignments.append(f"superlink={superlink}")
    spec = experiment.resolve("fedavg", "bigru", "default", folds=2, data=str(data), device="cpu",
                              assignments=assignments)
    start = time.perf_counter()
    outcome = experiment.run(spec, out, Progress(enabled=False))
    wall = time.perf_counter() - start
    folds = pd.read_csv(out / "folds.csv")
    efficiency = outcome.metrics["efficiency"]
    total_rounds = efficiency["rounds"]
    per_round = float((folds["seconds_per_epoch"] * folds["epochs"]).sum() / total_rounds)
    return {"engine": engine + (" + SecAgg+" if secure else ""), "wall_s": round(wall, 1), "rounds": total_rounds,
            "wall_per_round_s": round(per_round, 2),
            "client_compute_per_round_s": round(efficiency["client_seconds"] / total_rounds, 2),
            "parallel_per_round_s": round(efficiency["train_seconds_parallel"] / total_rounds, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--participants", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--secure", action="store_true", help="also SecAgg+ on the deployment engine, as a ratio")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="privbench-bench-") as tmp:
        root = Path(tmp)
        spec = experiment.resolve("fedavg", "bigru", "default", assignments=[
            f"data.participants={args.participants}", f"data.seconds={args.seconds}"])
        data = experiment.open_dataset(spec, Progress(enabled=False)).root
        report = [run(data, "inprocess", args.rounds, root / "inprocess")]
        (root / "logs").mkdir()
        with LocalFederation(data, Dataset(data).ids, root / "logs") as federation:
            report.append(run(data, "deployment", args.rounds, root / "deployment", federation.address))
            if args.secure:
                report.append(run(data, "deployment", args.rounds, root / "secure", federation.address, secure=True))
                report.append(run(data, "deployment", args.rounds, root / "plain-2", federation.address))
    if args.secure:
        plain = (report[1]["wall_per_round_s"] + report[3]["wall_per_round_s"]) / 2
        report.append({"secure_over_plain_per_round": round(report[2]["wall_per_round_s"] / plain, 2)})
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
