"""The fedavg method's Flower apps for the deployment engine (``privbench.federated.deployment``
launches them): a ClientApp on each participant's SuperNode and the ServerApp on the SuperLink.

They run the same server loop (``run_rounds``, the standard server step) and client step
(``local_update``) as every other engine, with the ``LocalTraining`` and ``FederationPlan`` the
deployment engine was given (in the job file). The client's settings travel as ``ClientSpec``, a typed
record the server builds and the client rebuilds with ``privbench.config.build`` (a missing or unknown
key is an error on the client, never a silent default).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Mapping

import torch
from flwr.app import Context, Message
from flwr.client.mod import secaggplus_mod
from flwr.clientapp import ClientApp
from flwr.serverapp import Grid, ServerApp

from privbench.config import build, to_dict
from privbench.data.frame_transform import FrameTransform
from privbench.data.frames import FrameSequence
from privbench.data.layout import Dataset
from privbench.data.splits import Split
from privbench.federated.client import ClientResult, LocalTraining, local_update
from privbench.federated.deployment import INITIAL_WEIGHTS, RESULT_HISTORY, RESULT_WEIGHTS, DeploymentJob
from privbench.federated.flower_engine import identity_reply, round_executor, train_reply
from privbench.federated.inprocess import run_rounds
from privbench.federated.secagg_flower import secure_train_reply
from privbench.federated.server import FederationPlan
from privbench.io import atomic_dir
from privbench.methods.fedavg import FedAvgConfig, server_step
from privbench.methods.frame_fold import FrameFold, build_model, frame_sequence
from privbench.progress import Progress
from privbench.settings import BackboneConfig, FrameSettings, HeadSettings


@dataclass(frozen=True, kw_only=True)
class ClientSpec:
    """Everything a deployed client needs besides the weights: its model, how to read its frames,
    how to train."""

    rnn: str
    head: HeadSettings
    frames: FrameSettings
    training: LocalTraining

    def message(self) -> dict[str, str]:
        return {"spec": json.dumps(to_dict(self))}


def _device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


# ----------------------------------------------------------------------------------------------- client
client_app = ClientApp()


def _node_participant(context: Context) -> tuple[str, str]:
    try:
        return str(context.node_config["participant"]), str(context.node_config["dataset"])
    except KeyError as err:
        raise ValueError(f"this SuperNode's --node-config lacks {err.args[0]!r} (participant and dataset)") from None


@cache
def _local_sequence(dataset: str, participant: str, frames: FrameSettings) -> FrameSequence:
    transform = FrameTransform(frames.normalise, frames.input_size)
    return frame_sequence(Dataset(dataset), participant, frames.frame_step, transform)


@client_app.query()
def identify(msg: Message, context: Context) -> Message:
    return identity_reply(msg, _node_participant(context)[0])


def _train(context: Context, weights: dict[str, torch.Tensor], config: Mapping) -> ClientResult:
    """This node's participant's step from the global ``weights`` and the server's ``config`` (its spec)."""
    participant, dataset = _node_participant(context)
    spec = build(ClientSpec, json.loads(str(config["spec"])), "client settings from the server")
    sequence = _local_sequence(dataset, participant, spec.frames)
    backbone = BackboneConfig("none", spec.frames.backbone.norm)  # the architecture only: weights come with msg
    model, _ = build_model(spec.head, backbone, spec.rnn, 0, dp_compatible=spec.training.privacy.mode == "dpsgd",
                           frozen_backbone=spec.training.trainable == "head")
    return local_update(model, weights, participant, sequence, spec.training, int(config["seed"]), _device(),
                        int(config["round"]))


@client_app.train()
def train(msg: Message, context: Context) -> Message:
    return train_reply(msg, _train(context, msg.content["arrays"].to_torch_state_dict(), msg.content["config"]))


# the same client behind Flower's SecAgg+ mod (secagg.enabled: the deployment engine submits this one)
secure_client_app = ClientApp()
secure_client_app.query()(identify)


@secure_client_app.train(mods=[secaggplus_mod])
def secure_train(msg: Message, context: Context) -> Message:
    return secure_train_reply(msg, lambda weights, config: _train(context, weights, config))


# ----------------------------------------------------------------------------------------------- server
server_app = ServerApp()


@server_app.main()
def main(grid: Grid, context: Context) -> None:
    job_path = Path(str(context.run_config["job"]))
    job = DeploymentJob.load(job_path)
    config = build(FedAvgConfig, job.config, str(job_path))
    training = build(LocalTraining, job.training, f"{job_path}: training")
    plan = build(FederationPlan, job.plan, f"{job_path}: plan")
    split = Split(0, tuple(job.train), tuple(job.validation), ())
    fold = FrameFold.prepare(Dataset(job.dataset), split, config, job.rnn, job.seed, _device(), local_train=False,
                             frozen_backbone=config.federation.trainable == "head")
    initial = job_path.parent / INITIAL_WEIGHTS
    if initial.exists():
        fold.model.load_state_dict(torch.load(initial, map_location="cpu", weights_only=True))
    spec = ClientSpec(rnn=job.rnn, head=config.head, frames=config.frames, training=training)
    server = server_step(config, len(job.train))
    execute = round_executor(grid, context, job.train, seed=job.seed, timeout=plan.client_timeout, server=server,
                             settings=spec.message())
    history = run_rounds(fold.model, job.train, training=training, plan=plan, validator=fold.validator,
                         seed=job.seed, progress=Progress(enabled=False), execute=execute, server=server)
    with atomic_dir(job_path.parent / "result") as out:
        torch.save({k: v.cpu() for k, v in fold.model.state_dict().items()}, out / RESULT_WEIGHTS)
        torch.save(history, out / RESULT_HISTORY)
