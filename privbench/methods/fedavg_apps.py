"""The fedavg method's Flower apps for the deployment engine (``privbench.federated.deployment``
launches them): a ClientApp on each participant's SuperNode and the ServerApp on the SuperLink.

They run the same server loop (``run_rounds``) and client step (``local_update``) as every other
engine. The client's settings travel as ``ClientSpec``, a typed record the server builds from the
method config and the client rebuilds with ``privbench.config.build`` (a missing or unknown key is
an error on the client, never a silent default).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import torch
from flwr.app import Context, Message
from flwr.clientapp import ClientApp
from flwr.serverapp import Grid, ServerApp

from privbench.config import build, to_dict
from privbench.data.frame_transform import FrameTransform
from privbench.data.frames import FrameSequence
from privbench.data.layout import Dataset
from privbench.data.splits import Split
from privbench.federated.client import LocalTraining, local_update
from privbench.federated.deployment import RESULT_HISTORY, RESULT_WEIGHTS, DeploymentJob
from privbench.federated.flower_engine import grid_executor, identity_reply, train_reply
from privbench.federated.inprocess import run_rounds
from privbench.io import atomic_dir
from privbench.methods.fedavg import FedAvgConfig, federation_plan, local_training
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

    @classmethod
    def of(cls, config: FedAvgConfig, rnn: str) -> ClientSpec:
        return cls(rnn=rnn, head=config.head, frames=config.frames, training=local_training(config))

    def message(self) -> dict[str, str]:
        return {"spec": json.dumps(to_dict(self))}

    @classmethod
    def read(cls, msg: Message) -> ClientSpec:
        return build(cls, json.loads(str(msg.content["config"]["spec"])), "client settings from the server")


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


@client_app.train()
def train(msg: Message, context: Context) -> Message:
    participant, dataset = _node_participant(context)
    spec = ClientSpec.read(msg)
    sequence = _local_sequence(dataset, participant, spec.frames)
    backbone = BackboneConfig("none", spec.frames.backbone.norm)  # the architecture only: weights come with msg
    model, _ = build_model(spec.head, backbone, spec.rnn, 0)
    config = msg.content["config"]
    return train_reply(msg, local_update(model, msg.content["arrays"].to_torch_state_dict(), participant, sequence,
                                         spec.training, int(config["seed"]), _device(), int(config["round"])))


# ----------------------------------------------------------------------------------------------- server
server_app = ServerApp()


@server_app.main()
def main(grid: Grid, context: Context) -> None:
    job_path = Path(str(context.run_config["job"]))
    job = DeploymentJob.load(job_path)
    config = build(FedAvgConfig, job.config, str(job_path))
    split = Split(0, tuple(job.train), tuple(job.validation), ())
    fold = FrameFold.prepare(Dataset(job.dataset), split, config, job.rnn, job.seed, _device(), local_train=False)
    execute = grid_executor(grid, job.train, job.seed, config.federation.client_timeout,
                            ClientSpec.of(config, job.rnn).message())
    history = run_rounds(fold.model, job.train, local_training(config), federation_plan(config), fold.validator,
                         job.seed, Progress(enabled=False), execute)
    with atomic_dir(job_path.parent / "result") as out:
        torch.save({k: v.cpu() for k, v in fold.model.state_dict().items()}, out / RESULT_WEIGHTS)
        torch.save(history, out / RESULT_HISTORY)
