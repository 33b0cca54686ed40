"""The Flower deployment engine: the same server loop and client step on a SuperLink and SuperNodes.

Processes (docs/federated.md shows the commands, with TLS and node authentication):

- a SuperLink (``flower-superlink``), started by the operator;
- one SuperNode per participant, on the machine holding that participant's data, started with
  ``--node-config 'participant="P01" dataset="/data/recola"'``; its ClientApp (``client_app``
  below) trains only that participant and answers the server's query with its id;
- ``privbench run --method fedavg --engine deployment --superlink HOST:PORT`` on the SuperLink's
  machine submits one Flower run per fold with ``flwr run``. The SuperLink starts the ServerApp
  (``server_app`` below), which reads the fold's job file, runs ``run_rounds`` over the grid,
  evaluates the validation participants each round and writes the global model and history next to
  the job file; ``privbench run`` then predicts the test participants with that model.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch
from flwr.app import Context, Message
from flwr.clientapp import ClientApp
from flwr.serverapp import Grid, ServerApp

from privbench.data.frame_transform import FrameTransform
from privbench.data.frames import FrameSequence
from privbench.data.layout import Dataset
from privbench.errors import InputError
from privbench.federated.client import LocalTraining, local_update
from privbench.federated.flower_engine import grid_executor, identity_reply, train_reply
from privbench.federated.inprocess import FederatedHistory, run_rounds
from privbench.io import atomic_dir
from privbench.progress import Progress

APP_NAME = "privbench-fedavg"
CONNECTION = "privbench"
RESULT_WEIGHTS, RESULT_HISTORY = "weights.pt", "history.pt"
MODEL_KEYS = ("hidden", "layers", "fc_units", "dropout", "frame_step", "input_size", "normalise")
TRAINING_KEYS = ("seq_len", "stride", "batch_size", "local_epochs", "lr", "loss", "warmup_rounds", "warmup_steps",
                 "warmup_batch", "backbone_lr_scale")


@dataclass(frozen=True)
class DeploymentJob:
    """One fold's federated training, as the ServerApp reads it from the job file."""

    dataset: str  # the dataset folder on the SuperLink's machine (validation participants' data)
    train: list[str]  # the clients: participants whose SuperNodes train
    validation: list[str]
    config: dict[str, Any]  # FedAvgConfig fields (backbone as a dict)
    rnn: str
    seed: int

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls, path: Path) -> DeploymentJob:
        return cls(**json.loads(Path(path).read_text()))


def client_settings(config: Any, rnn: str) -> dict[str, str]:
    """What every client needs besides the weights: the model and local training settings."""
    spec = {key: getattr(config, key) for key in (*MODEL_KEYS, *TRAINING_KEYS)}
    return {"spec": json.dumps({**spec, "rnn": rnn, "norm": config.backbone.norm})}


# ----------------------------------------------------------------------------------------------- client
client_app = ClientApp()


def _node_participant(context: Context) -> tuple[str, str]:
    try:
        return str(context.node_config["participant"]), str(context.node_config["dataset"])
    except KeyError as err:
        raise ValueError(f"this SuperNode's --node-config lacks {err.args[0]!r} (participant and dataset)") from None


@cache
def _local_sequence(dataset: str, participant: str, step: int, normalise: str, input_size: int) -> FrameSequence:
    from privbench.methods.frame_fold import frame_sequence  # here: privbench.methods imports this module

    return frame_sequence(Dataset(dataset), participant, step, FrameTransform(normalise, input_size))


@client_app.query()
def identify(msg: Message, context: Context) -> Message:
    return identity_reply(msg, _node_participant(context)[0])


@client_app.train()
def train(msg: Message, context: Context) -> Message:
    from privbench.methods.frame_fold import build_model
    from privbench.models.backbone import BackboneConfig

    participant, dataset = _node_participant(context)
    spec = json.loads(str(msg.content["config"]["spec"]))
    sequence = _local_sequence(dataset, participant, spec["frame_step"], spec["normalise"], spec["input_size"])
    model_config = SimpleNamespace(**spec, backbone=BackboneConfig("none", spec["norm"]))
    model, _ = build_model(model_config, spec["rnn"], 0)  # the architecture only: the weights come with msg
    training = LocalTraining(**{key: spec[key] for key in TRAINING_KEYS})
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    config = msg.content["config"]
    return train_reply(msg, local_update(model, msg.content["arrays"].to_torch_state_dict(), participant, sequence,
                                         training, int(config["seed"]), device, int(config["round"])))


# ----------------------------------------------------------------------------------------------- server
server_app = ServerApp()


@server_app.main()
def main(grid: Grid, context: Context) -> None:
    from privbench.data.splits import Split
    from privbench.methods.fedavg import FedAvgConfig, federation_plan, local_training
    from privbench.methods.frame_fold import FrameFold
    from privbench.models.backbone import BackboneConfig

    job_path = Path(str(context.run_config["job"]))
    job = DeploymentJob.load(job_path)
    config = FedAvgConfig(**{**job.config, "backbone": BackboneConfig(**job.config["backbone"])})
    split = Split(0, tuple(job.train), tuple(job.validation), ())
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    fold = FrameFold.prepare(Dataset(job.dataset), split, config, job.rnn, job.seed, device, local_train=False)
    plan = federation_plan(config)
    execute = grid_executor(grid, job.train, job.seed, config.client_timeout, client_settings(config, job.rnn))
    history = run_rounds(fold.model, job.train, local_training(config), plan, fold.validator, job.seed,
                         Progress(enabled=False), execute)
    with atomic_dir(job_path.parent / "result") as out:
        torch.save({k: v.cpu() for k, v in fold.model.state_dict().items()}, out / RESULT_WEIGHTS)
        torch.save(history, out / RESULT_HISTORY)


# ----------------------------------------------------------------------------------------------- launcher
PYPROJECT = f"""[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "{APP_NAME}"
version = "1.0.0"
description = "privbench FedAvg (ResNet18 + RNN), one client per participant"
license = "Apache-2.0"
dependencies = []

[tool.flwr.app]
publisher = "privbench"

[tool.flwr.app.components]
serverapp = "privbench.federated.deployment:server_app"
clientapp = "privbench.federated.deployment:client_app"

[tool.flwr.app.config]
job = ""
"""


def run_deployment(superlink: str, job: DeploymentJob, timeout: float, progress: Progress,
                   tls_certificate: str | None = None) -> tuple[dict[str, torch.Tensor], FederatedHistory]:
    """Submit one fold to the SuperLink at ``superlink`` (HOST:PORT) with ``flwr run``, wait for it to
    finish and return the global weights and history the ServerApp wrote. ``tls_certificate``: the CA
    certificate of a SuperLink serving TLS (None: plain HTTP)."""
    with tempfile.TemporaryDirectory(prefix="privbench-flwr-") as tmp:
        root = Path(tmp)
        (root / "app").mkdir()
        (root / "app" / "pyproject.toml").write_text(PYPROJECT)
        (root / "home").mkdir()
        security = f'root-certificates = "{tls_certificate}"' if tls_certificate else "insecure = true"
        (root / "home" / "config.toml").write_text(
            f'[superlink]\ndefault = "{CONNECTION}"\n\n[superlink.{CONNECTION}]\naddress = "{superlink}"\n{security}\n')
        job.save(root / "job.json")
        command = [str(Path(sys.executable).with_name("flwr")), "run", str(root / "app"), CONNECTION,
                   "--run-config", f'job="{root / "job.json"}"', "--stream"]
        task = progress.add(f"Flower run on {superlink}", total=1)
        start = time.monotonic()
        try:
            done = subprocess.run(command, env={**os.environ, "FLWR_HOME": str(root / "home")},
                                  capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise InputError(f"{superlink}: the Flower run did not finish within {timeout:.0f} s") from None
        finally:
            progress.remove(task)
        result = root / "result"
        if not (result / RESULT_WEIGHTS).exists():
            tail = _last_words(done.stdout + done.stderr)
            raise InputError(f"{superlink}: the Flower run ended after {time.monotonic() - start:.0f} s "
                             f"without a result (exit {done.returncode}): {tail}")
        weights = torch.load(result / RESULT_WEIGHTS, map_location="cpu", weights_only=True)
        history = torch.load(result / RESULT_HISTORY, map_location="cpu", weights_only=False)  # our own file
    return weights, history


def _last_words(output: str, lines: int = 3) -> str:
    """The last lines of Flower's output that say something, without rich's box drawing."""
    words = [" ".join(line.strip(" │╭╮╰╯─").split()) for line in output.splitlines()]
    return " ".join([w for w in words if w][-lines:])
