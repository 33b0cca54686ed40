"""Per-round cost of the federated engines on the same clients, side by side.

In-process: round wall time against the clients' summed compute (the engine's own overhead: the
server step's stages, sampling, aggregation, momentum, serialisation for the byte counts, each timed).
Flower simulation: round wall time of the same rounds run through a ServerApp/ClientApp pair on Ray
(start-up reported apart).
Usage: python benchmarks/federated_engines.py [--clients 4] [--rounds 3] [--frames 1500]
(defaults: 300 used frames per client, as the default fedavg profile's 7,500 frames at frame_step 25)
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from privbench.data.frame_transform import FrameTransform
from privbench.data.frames import FrameSequence, FrameStore
from privbench.data.writer import open_frames_file
from privbench.federated.client import LocalTraining
from privbench.federated.flower_engine import run_flower_simulation
from privbench.federated.inprocess import run_inprocess
from privbench.federated.server import FederationPlan, RoundState
from privbench.federated.stages import standard_step
from privbench.models.backbone import BackboneConfig, build_backbone
from privbench.models.frame_model import FrameSequenceModel
from privbench.progress import Progress


def make_clients(root: Path, count: int, frames: int) -> dict[str, FrameSequence]:
    rng = np.random.default_rng(0)
    clients = {}
    for i in range(count):
        cid = f"P{i + 1:02d}"
        store = open_frames_file(root / f"{cid}.npy", frames, 64)
        store[:] = rng.integers(0, 256, size=store.shape, dtype=np.uint8)
        store.flush()
        gold = rng.uniform(-1, 1, size=(frames, 2)).astype(np.float32)
        clients[cid] = FrameSequence(cid, FrameStore(root / f"{cid}.npy"), gold, step=5,
                                      transform=FrameTransform("person", 32))
    return clients


def model() -> FrameSequenceModel:
    torch.manual_seed(0)
    backbone, _ = build_backbone(BackboneConfig("auto", "batch"))
    return FrameSequenceModel.create(backbone, "bigru", 32, 1)


def timed_step(seconds: dict[str, list[float]]):
    """The standard server step, keeping each stage's seconds (the account stage reads them last)."""
    step = standard_step()
    account = step["account"]

    def keep(state: RoundState) -> None:
        for name, value in state.seconds.items():
            seconds.setdefault(name, []).append(value)
        account(state)

    return step.replace("account", keep)


def engine_inputs(doc: str, *, clients: int, rounds: int, frames: int) -> tuple[argparse.Namespace, dict, dict]:
    """The command line (``--clients``, ``--rounds``, ``--frames`` with these defaults), the clients, and the
    engine keywords every run shares: every client each round, plain mean, CPU."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=clients)
    parser.add_argument("--rounds", type=int, default=rounds)
    parser.add_argument("--frames", type=int, default=frames)
    args = parser.parse_args()
    made = make_clients(Path(tempfile.mkdtemp()), args.clients, args.frames)
    training = LocalTraining(seq_len=16, stride=16, batch_size=8, local_epochs=1, lr=1e-3, loss="mse")
    plan = FederationPlan(rounds=args.rounds, client_fraction=1.0, min_clients=args.clients, aggregation="mean",
                          patience=0, capture_mb=0)
    return args, made, {"training": training, "plan": plan, "validator": None, "seed": 0,
                        "device": torch.device("cpu"), "progress": Progress(enabled=False)}


def main() -> None:
    args, clients, common = engine_inputs(__doc__, clients=4, rounds=3, frames=1500)

    stages: dict[str, list[float]] = {}
    start = time.perf_counter()
    history = run_inprocess(model(), clients, server=timed_step(stages), **common)
    inprocess_wall = time.perf_counter() - start
    rounds = np.array(history.epoch_seconds)
    per_round_clients = history.client_seconds / args.rounds
    print(f"in-process: {rounds.mean():.2f} s per round; clients' compute {per_round_clients:.2f} s per round; "
          f"round / compute = {rounds.mean() / per_round_clients:.3f}; whole run {inprocess_wall:.1f} s")
    print("  server stages, ms per round: " + ", ".join(
        f"{name} {1000 * np.mean(values):.1f}" for name, values in stages.items() if name != "execute"))

    start = time.perf_counter()
    history = run_flower_simulation(model(), clients, **common)
    flower_wall = time.perf_counter() - start
    rounds = np.array(history.epoch_seconds)
    print(f"Flower simulation: {rounds.mean():.2f} s per round "
          f"(clients' compute {history.client_seconds / args.rounds:.2f} s); "
          f"whole run {flower_wall:.1f} s, of which start-up and shutdown {flower_wall - rounds.sum():.1f} s")


if __name__ == "__main__":
    main()
