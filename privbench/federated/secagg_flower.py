"""SecAgg+ on the Flower engines (simulation and deployment): Flower's own protocol, one round at a time.

In Flower 1.42 ``SecAggPlusWorkflow`` runs only on a ``LegacyContext`` with a legacy ``Strategy`` and
clients that answer with a legacy ``FitRes``, and ``DefaultWorkflow`` would run every round itself. privbench
keeps its own loop (``run_rounds``: its sampling, server stages, validation and early stopping) and calls the
workflow once per round from the round's executor (``SecureGridExecutor``): the strategy hands the workflow the
clients privbench sampled, with the global weights, and keeps what the workflow unmasks, the mean update. On
each node the ClientApp's train function runs behind ``secaggplus_mod`` (``secure_train_reply``): it trains,
and the mod quantises and masks its update before anything leaves the node.

What the server learns of a client: that it took part, and its reported metrics in the clear (examples, loss,
seconds, whether clipping changed its update, and under client DP-SGD its accountant's entry); its update only
inside the sum. A client's own clipping and noise (``training.privacy``) run inside its train function, before
the mod masks the update.
"""

from __future__ import annotations

import json
from typing import Any, Callable

import flwr.compat.common.recorddict_compat as compat
import numpy as np
import torch
from flwr.app import ArrayRecord, ConfigRecord, Context, Message
from flwr.common import Code, FitIns, FitRes, Status, ndarrays_to_parameters, parameters_to_ndarrays
from flwr.server.compat.grid_client_proxy import GridClientProxy
from flwr.server.compat.legacy_context import LegacyContext
from flwr.server.strategy import Strategy
from flwr.server.workflow import SecAggPlusWorkflow
from flwr.server.workflow.constant import MAIN_CONFIGS_RECORD, MAIN_PARAMS_RECORD, Key
from flwr.serverapp import Grid

from privbench.errors import InputError
from privbench.federated.aggregate import StateDict
from privbench.federated.client import ClientResult
from privbench.federated.secure import float_keys
from privbench.federated.server import client_seed
from privbench.settings import SecAggSettings


class RoundStrategy(Strategy):
    """The legacy strategy the workflow calls: ``configure_fit`` returns the round's instructions (privbench
    sampled the clients), ``aggregate_fit`` keeps the unmasked mean and each client's reported metrics."""

    def __init__(self) -> None:
        self.instructions: list[tuple[GridClientProxy, FitIns]] = []
        self.metrics: list[dict[str, Any]] = []
        self.mean: list[np.ndarray] | None = None

    def initialize_parameters(self, client_manager: Any) -> None:
        return None

    def configure_fit(self, server_round: int, parameters: Any, client_manager: Any) -> list:
        return self.instructions

    def aggregate_fit(self, server_round: int, results: list, failures: list) -> tuple[None, dict]:
        self.metrics = [dict(fitres.metrics) for _, fitres in results]
        self.mean = parameters_to_ndarrays(results[0][1].parameters) if results else None
        return None, {}  # privbench's stages build the next global model from the mean

    def configure_evaluate(self, server_round: int, parameters: Any, client_manager: Any) -> list:
        return []

    def aggregate_evaluate(self, server_round: int, results: list, failures: list) -> tuple[None, dict]:
        return None, {}

    def evaluate(self, server_round: int, parameters: Any) -> None:
        return None


def workflow(secagg: SecAggSettings, timeout: float) -> SecAggPlusWorkflow:
    """Flower's SecAgg+ with these settings; the plain mean (weight 1 per client, ``max_weight`` 1)."""
    return SecAggPlusWorkflow(num_shares=secagg.num_shares or 1.0,
                              reconstruction_threshold=secagg.reconstruction_threshold, max_weight=1.0,
                              clipping_range=secagg.clipping_range, quantization_range=secagg.quantization_range,
                              modulus_range=secagg.modulus_range, timeout=timeout)


class SecureGridExecutor:
    """A round executor that runs one SecAgg+ round through the grid: returns each client's metadata (no
    weights) and keeps the unmasked mean for the ``secure_sum`` stage (``revealed``)."""

    def __init__(self, grid: Grid, context: Context, node_of: dict[str, int], secagg: SecAggSettings, *, seed: int,
                 timeout: float, settings: dict[str, str] | None = None) -> None:
        self.grid, self.node_of, self.seed, self.settings = grid, node_of, seed, settings or {}
        self.strategy = RoundStrategy()
        self.context = LegacyContext(context, strategy=self.strategy)
        self.workflow = workflow(secagg, timeout)
        self._revealed: dict[int, list[np.ndarray]] = {}

    def __call__(self, global_weights: StateDict, chosen: list[str], round_: int) -> tuple[list[ClientResult], int]:
        config = {"seed": client_seed(self.seed, round_), "round": round_, "keys": json.dumps(list(global_weights)),
                  **self.settings}
        parameters = ndarrays_to_parameters([v.numpy() for v in global_weights.values()])
        self.strategy.instructions = [(GridClientProxy(self.node_of[cid], self.grid, self.context.run_id),
                                       FitIns(parameters, config)) for cid in chosen if cid in self.node_of]
        self.strategy.mean, self.strategy.metrics = None, []
        self.context.state.config_records[MAIN_CONFIGS_RECORD] = ConfigRecord({Key.CURRENT_ROUND: round_ + 1})
        self.context.state.array_records[MAIN_PARAMS_RECORD] = ArrayRecord()
        self.workflow(self.grid, self.context)
        if self.strategy.mean is None:
            raise InputError(f"round {round_ + 1}: SecAgg+ halted (fewer than secagg.reconstruction_threshold "
                             f"clients of {len(chosen)} answered in time; see Flower's log)")
        self._revealed[round_] = self.strategy.mean
        results = [ClientResult.from_metrics(str(m["client_id"]), {}, m) for m in self.strategy.metrics]
        return results, len(chosen) - len(results)

    def revealed(self, round_: int) -> list[np.ndarray]:
        """The mean update SecAgg+ unmasked in ``round_`` (float keys in state-dict order)."""
        return self._revealed.pop(round_)


def secure_train_reply(msg: Message, train: Callable[[StateDict, Any], ClientResult]) -> Message:
    """A train function behind ``secaggplus_mod``: reads the legacy instructions (global weights and config),
    runs ``train(global_weights, config)`` and replies with the client's update (float64, so that quantising
    loses only the quantisation step; the mod masks it and sends no weights) and its metrics."""
    fitins = compat.recorddict_to_fitins(msg.content, keep_input=True)
    keys = json.loads(str(fitins.config["keys"]))
    weights = {k: torch.from_numpy(np.array(a)) for k, a in zip(keys, parameters_to_ndarrays(fitins.parameters))}
    result = train(weights, fitins.config)
    delta = [(result.weights[k].double() - weights[k].double()).numpy() for k in float_keys(weights)]
    fitres = FitRes(Status(Code.OK, ""), ndarrays_to_parameters(delta), num_examples=1,
                    metrics={"client_id": result.client_id, **result.metrics()})
    return Message(compat.fitres_to_recorddict(fitres, keep_input=False), reply_to=msg)
