"""The Flower deployment engine's transport: the job file and the ``flwr run`` launcher.

Processes (docs/federated.md shows the commands, with TLS and node authentication):

- a SuperLink (``flower-superlink``), started by the operator;
- one SuperNode per participant, on the machine holding that participant's data, started with
  ``--node-config 'participant="P01" dataset="/data/recola"'``; its ClientApp
  (``privbench.methods.fedavg_apps:client_app``) trains only that participant;
- ``privbench run --method fedavg --engine deployment --superlink HOST:PORT`` on the SuperLink's
  machine submits one Flower run per fold with ``run_deployment`` below (the engine: the fold arrives
  as a ``FoldContext``; ``submit`` is the launcher). The SuperLink starts the ServerApp
  (``privbench.methods.fedavg_apps:server_app``), which reads the fold's job file, runs the server loop
  over the grid and writes the global model and history next to the job file (``RESULT_WEIGHTS``,
  ``RESULT_HISTORY``); ``privbench run`` then predicts the test participants.

The apps live in the method layer (they build the method's model and read its data); this module
knows nothing of either.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import nn

from privbench.config import to_dict
from privbench.data.frames import FrameSequence
from privbench.errors import ConfigError, InputError
from privbench.federated.client import LocalTraining
from privbench.federated.engine import FoldContext
from privbench.federated.server import FederatedHistory, FederationPlan, ServerStep, Validator
from privbench.progress import Progress

APP_NAME = "privbench-fedavg"
CONNECTION = "privbench"
RESULT_WEIGHTS, RESULT_HISTORY = "weights.pt", "history.pt"
INITIAL_WEIGHTS = "initial.pt"  # beside the job file: the global model of round 1 (e.g. a public warm-up's)


@dataclass(frozen=True)
class DeploymentJob:
    """One fold's federated training, as the ServerApp reads it from the job file."""

    dataset: str  # the dataset folder on the SuperLink's machine (validation participants' data)
    train: list[str]  # the clients: participants whose SuperNodes train
    validation: list[str]
    config: dict[str, Any]  # the method config as privbench.config.to_dict writes it (model, frames)
    rnn: str
    seed: int
    training: dict[str, Any]  # LocalTraining, as to_dict writes it
    plan: dict[str, Any]  # FederationPlan, as to_dict writes it

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls, path: Path) -> DeploymentJob:
        return cls(**json.loads(Path(path).read_text()))


class DeploymentEngine:
    """FedAvg on a running SuperLink and one SuperNode per participant: submits the fold as a job (the
    ServerApp rebuilds the model and validation data from ``fold``, starts from ``model``'s weights and runs
    ``training`` and ``plan``),
    then loads the global weights it wrote into ``model``. The clients read their own data on their nodes,
    and the ServerApp scores ``fold.validation`` itself; ``validator`` and ``clients`` are not used. The
    ServerApp runs the standard server step: a custom ``server`` cannot travel to it."""

    local_data = False

    def __call__(
        self, model: nn.Module, clients: Mapping[str, FrameSequence], *, training: LocalTraining,
        plan: FederationPlan, validator: Validator | None, seed: int, device: torch.device, progress: Progress,
        fold: FoldContext | None = None, server: ServerStep | None = None,
    ) -> FederatedHistory:
        if fold is None or not _is_address(fold.superlink):
            raise ConfigError("the deployment engine needs --superlink HOST:PORT, got "
                              f"{fold.superlink if fold else ''!r}")
        if server is not None:
            raise ConfigError("the deployment engine runs the standard server step; custom server stages run on "
                              "the inprocess and flower engines")
        job = DeploymentJob(fold.dataset, list(fold.train), list(fold.validation), fold.config, fold.rnn, seed,
                            to_dict(training), to_dict(plan))
        initial = {k: v.detach().cpu() for k, v in model.state_dict().items()}
        weights, history = submit(fold.superlink, job, timeout=fold.deployment_timeout, progress=progress,
                                  tls_certificate=fold.superlink_ca or None, initial=initial)
        model.load_state_dict(weights)
        history.notes["superlink"] = fold.superlink
        return history


run_deployment = DeploymentEngine()


def _is_address(value: str) -> bool:
    host, _, port = value.rpartition(":")
    return bool(host) and port.isdigit()


# ----------------------------------------------------------------------------------------------- launcher
PYPROJECT = """[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "{app_name}"
version = "1.0.0"
description = "privbench FedAvg (ResNet18 + RNN), one client per participant"
license = "Apache-2.0"
dependencies = []

[tool.flwr.app]
publisher = "privbench"

[tool.flwr.app.components]
serverapp = "privbench.methods.fedavg_apps:server_app"
clientapp = "privbench.methods.fedavg_apps:{clientapp}"

[tool.flwr.app.config]
job = ""
"""


def submit(superlink: str, job: DeploymentJob, *, timeout: float, progress: Progress,
           tls_certificate: str | None = None,
           initial: dict[str, torch.Tensor] | None = None) -> tuple[dict[str, torch.Tensor], FederatedHistory]:
    """Submit one fold to the SuperLink at ``superlink`` (HOST:PORT) with ``flwr run``, wait for it to
    finish and return the global weights and history the ServerApp wrote. ``tls_certificate``: the CA
    certificate of a SuperLink serving TLS (None: plain HTTP); ``initial``: the global weights of round 1
    (None: the ServerApp's freshly built model)."""
    with tempfile.TemporaryDirectory(prefix="privbench-flwr-") as tmp:
        root = Path(tmp)
        (root / "app").mkdir()
        secure = bool((job.config.get("secagg") or {}).get("enabled"))  # SecAgg+: the clients behind its mod
        (root / "app" / "pyproject.toml").write_text(PYPROJECT.format(
            app_name=APP_NAME, clientapp="secure_client_app" if secure else "client_app"))
        (root / "home").mkdir()
        security = f'root-certificates = "{tls_certificate}"' if tls_certificate else "insecure = true"
        (root / "home" / "config.toml").write_text(
            f'[superlink]\ndefault = "{CONNECTION}"\n\n[superlink.{CONNECTION}]\naddress = "{superlink}"\n{security}\n')
        job.save(root / "job.json")
        if initial is not None:
            torch.save(initial, root / INITIAL_WEIGHTS)
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
