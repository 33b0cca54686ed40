"""The Flower engine: the same client step and server loop as a Flower ServerApp/ClientApp pair.

The ClientApp runs ``local_update`` on the participant its node holds (``node_config["partition-id"]``
indexes the sorted client ids); the ServerApp drives ``run_rounds`` and sends each round's train
messages through the Flower grid, so every server stage (sampling, aggregation, accounting, ...) is the
in-process engine's. ``--engine flower`` runs the pair on Flower's simulation runtime (Ray).
"""

from __future__ import annotations

import copy
import logging
import os
import time
from typing import Callable, Mapping

import torch
from flwr.app import (
    ArrayRecord,
    ConfigRecord,
    Context,
    Message,
    MetricRecord,
    RecordDict,
)
from flwr.client.mod import secaggplus_mod
from flwr.clientapp import ClientApp
from flwr.serverapp import Grid, ServerApp
from torch import nn

from privbench.data.frames import FrameSequence
from privbench.federated.aggregate import StateDict
from privbench.federated.client import ClientResult, LocalTraining, local_update
from privbench.federated.engine import FoldContext
from privbench.federated.inprocess import run_rounds
from privbench.federated.secagg_flower import SecureGridExecutor, secure_train_reply
from privbench.federated.server import (
    FederatedHistory,
    FederationPlan,
    RoundExecutor,
    ServerStep,
    Validator,
    client_seed,
)
from privbench.progress import Progress

log = logging.getLogger(__name__)
QUERY_TIMEOUT = 120.0  # seconds the server waits for the nodes to say which client they hold


def client_app(clients: Mapping[str, FrameSequence], *, make_model: Callable[[], nn.Module],
               training: LocalTraining, device: str, threads: int, secure: bool = False) -> ClientApp:
    """A ClientApp whose node trains the participant at index ``partition-id`` of the sorted ids, on
    ``threads`` torch threads; ``secure``: behind Flower's ``secaggplus_mod`` (only the round's sum is revealed)."""
    app = ClientApp()
    ids = sorted(clients)

    def own_id(context: Context) -> str:
        return ids[int(context.node_config["partition-id"])]

    def step(cid: str, weights: StateDict, config: Mapping) -> ClientResult:
        torch.set_num_threads(threads)
        return local_update(make_model(), weights, cid, clients[cid], training, int(config["seed"]),
                            torch.device(device), int(config["round"]))

    @app.query()
    def identify(msg: Message, context: Context) -> Message:
        return identity_reply(msg, own_id(context))

    if secure:
        @app.train(mods=[secaggplus_mod])
        def secure_train(msg: Message, context: Context) -> Message:
            return secure_train_reply(msg, lambda weights, config: step(own_id(context), weights, config))
    else:
        @app.train()
        def train(msg: Message, context: Context) -> Message:
            return train_reply(msg, step(own_id(context), msg.content["arrays"].to_torch_state_dict(),
                                         msg.content["config"]))

    return app


def wait_for_nodes(grid: Grid, count: int, timeout: float = 120.0) -> list[int]:
    """The grid's node ids once ``count`` nodes have connected (or as many as came within ``timeout``)."""
    deadline = time.monotonic() + timeout
    nodes = list(grid.get_node_ids())
    while len(nodes) < count and time.monotonic() < deadline:
        time.sleep(0.5)
        nodes = list(grid.get_node_ids())
    if len(nodes) < count:
        log.warning("only %d of %d SuperNodes connected within %.0f s", len(nodes), count, timeout)
    return nodes


def locate_clients(grid: Grid, client_ids: list[str]) -> dict[str, int]:
    """Which node holds each client (a query message to every connected node); clients no node holds are
    logged (they fail every round)."""
    nodes = wait_for_nodes(grid, len(client_ids))
    replies = grid.send_and_receive(
        [Message(RecordDict(), dst_node_id=node, message_type="query") for node in nodes], timeout=QUERY_TIMEOUT)
    node_of = {}
    for reply in replies:
        if reply.has_content():
            node_of[str(reply.content["client"]["client_id"])] = reply.metadata.src_node_id
        else:
            log.warning("a node could not say which client it holds: %s", reply.error.reason)
    missing = sorted(set(client_ids) - set(node_of))
    if missing:
        log.warning("no connected node holds client(s) %s", ", ".join(missing))
    return node_of


def round_executor(grid: Grid, context: Context, client_ids: list[str], *, seed: int, timeout: float,
                   server: ServerStep | None, settings: dict[str, str] | None = None) -> RoundExecutor:
    """The round executor ``server`` needs: SecAgg+ rounds when it has a ``secure_sum`` stage, else plain ones."""
    secure = server.stages.get("secure_sum") if server is not None else None
    if secure is None:
        return grid_executor(grid, client_ids, seed=seed, timeout=timeout, settings=settings)
    return SecureGridExecutor(grid, context, locate_clients(grid, client_ids), secure.secagg, seed=seed,
                              timeout=timeout, settings=settings)


def grid_executor(grid: Grid, client_ids: list[str], *, seed: int, timeout: float,
                  settings: dict[str, str] | None = None) -> RoundExecutor:
    """Find which node holds each client (``locate_clients``), then run rounds through the grid.

    Each round sends the global weights, the round's seed and ``settings`` (sent to every client) to
    the chosen clients' nodes and waits at most ``timeout`` seconds: a node that is stopped, fails
    or is late is counted as a failed client of that round. Clients no node holds fail every round.
    """
    node_of = locate_clients(grid, client_ids)

    def execute(global_weights: StateDict, chosen: list[str], round_: int) -> tuple[list[ClientResult], int]:
        arrays = ArrayRecord(global_weights)
        config = ConfigRecord({"seed": client_seed(seed, round_), "round": round_, **(settings or {})})
        messages = [Message(RecordDict({"arrays": arrays, "config": config}), dst_node_id=node_of[cid],
                            message_type="train") for cid in chosen if cid in node_of]
        if not messages:  # an empty round (Poisson sampling under DP), or no node holds a chosen client
            return [], len(chosen)
        results = []
        for reply in grid.send_and_receive(messages, timeout=timeout):
            if not reply.has_content():
                log.warning("round %d: a client replied with an error: %s", round_ + 1, reply.error.reason)
                continue
            results.append(ClientResult.from_metrics(str(reply.content["client"]["client_id"]),
                                                     reply.content["arrays"].to_torch_state_dict(),
                                                     reply.content["metrics"]))
        return results, len(chosen) - len(results)

    return execute


def train_reply(msg: Message, result: ClientResult) -> Message:
    """A client's reply to a train message."""
    return Message(RecordDict({
        "arrays": ArrayRecord(result.weights),
        "metrics": MetricRecord(result.metrics()),
        "client": ConfigRecord({"client_id": result.client_id}),
    }), reply_to=msg)


def identity_reply(msg: Message, client_id: str) -> Message:
    """A client's reply to the server's query: which client its node holds."""
    return Message(RecordDict({"client": ConfigRecord({"client_id": client_id})}), reply_to=msg)


def server_app(model: nn.Module, client_ids: list[str], *, training: LocalTraining, plan: FederationPlan,
               validator: Validator | None, seed: int, progress: Progress, server: ServerStep | None,
               history: list[FederatedHistory]) -> ServerApp:
    """A ServerApp running ``run_rounds`` over the grid; appends the finished history to ``history``."""
    app = ServerApp()

    @app.main()
    def main(grid: Grid, context: Context) -> None:
        execute = round_executor(grid, context, client_ids, seed=seed, timeout=plan.client_timeout, server=server)
        history.append(run_rounds(model, client_ids, training=training, plan=plan, validator=validator, seed=seed,
                                  progress=progress, execute=execute, server=server))

    return app


class FlowerSimulation:
    """FedAvg on Flower's simulation runtime (Ray), one SuperNode per client, the ServerApp in this process.

    Each client's actor gets as many CPUs and torch threads as this process uses, so clients run one at a
    time, like the in-process engine, with the same arithmetic (thread counts change the rounding of
    convolutions, and training amplifies it: docs/federated.md, "Engines agree").
    """

    local_data = True

    def __call__(
        self, model: nn.Module, clients: Mapping[str, FrameSequence], *, training: LocalTraining,
        plan: FederationPlan, validator: Validator | None, seed: int, device: torch.device, progress: Progress,
        fold: FoldContext | None = None, server: ServerStep | None = None,
    ) -> FederatedHistory:
        from flwr.simulation import run_simulation  # imports Ray: only when this engine is chosen

        history: list[FederatedHistory] = []
        threads = torch.get_num_threads()
        template = copy.deepcopy(model).cpu()
        run_simulation(
            server_app=server_app(model, sorted(clients), training=training, plan=plan, validator=validator,
                                  seed=seed, progress=progress, server=server, history=history),
            client_app=client_app(clients, make_model=lambda: copy.deepcopy(template), training=training,
                                  device=device.type, threads=threads,
                                  secure=server is not None and "secure_sum" in server.stages),
            num_supernodes=len(clients),
            backend_config={"client_resources": {"num_cpus": threads, "num_gpus": 0.0},
                            "init_args": {"num_cpus": max(threads, os.cpu_count() or 1)}},
        )
        if not history:
            raise RuntimeError("the Flower simulation ended without finishing its rounds (see the log above)")
        return history[0]


run_flower_simulation = FlowerSimulation()
