"""Secure aggregation (SecAgg+): the in-process secure sum against the plain mean, the captured round sums, the
Flower simulation's protocol against the plain mean, and the refusals."""

import dataclasses
import json

import numpy as np
import pytest
import torch
from torch import nn
from typer.testing import CliRunner

from privbench.cli import app
from privbench.federated.client import ClientResult, LocalTraining
from privbench.federated.client_privacy import ClientPrivacy
from privbench.federated.inprocess import run_inprocess, run_rounds
from privbench.federated.secure import SUM_KIND, quantisation_step, secure_step
from privbench.federated.server import FederationPlan
from privbench.federated.stages import standard_step
from privbench.progress import Progress
from privbench.settings import SecAggSettings
from privbench.types import load_updates
from test_fedavg import CPU, QUIET, clients, inprocess, plan, small_model  # noqa: F401 (clients: a fixture)
from test_fedavg import TRAINING as FEDAVG_TRAINING

runner = CliRunner()
TRAINING = LocalTraining(seq_len=4, stride=4, batch_size=4, local_epochs=1, lr=1e-3, loss="mse")
SECAGG = SecAggSettings(enabled=True, num_shares=0, reconstruction_threshold=2, clipping_range=8.0,
                        quantization_range=2**22, modulus_range=2**32)
IDS = ["a", "b", "c", "d", "e"]


def random_clients(execute_log: list | None = None):
    """Clients whose updates are seeded Gaussian steps of sd 0.5 (a few coordinates past the clipping range
    would show as errors above the step: none at this scale)."""
    def execute(global_weights, chosen, round_):
        results = []
        for cid in chosen:
            generator = torch.Generator().manual_seed(100 * round_ + IDS.index(cid))
            weights = {k: v + 0.5 * torch.randn(v.shape, generator=generator) for k, v in global_weights.items()}
            results.append(ClientResult(cid, weights, 10, 0.5, 0.01))
        return results, 0
    return execute


def train(step, *, rounds: int = 2, capture_mb: float = 0.0):
    torch.manual_seed(0)
    model = nn.Linear(50, 40)
    plan = FederationPlan(rounds=rounds, client_fraction=1.0, min_clients=2, aggregation="mean", patience=0,
                          capture_mb=capture_mb)
    history = run_rounds(model, IDS, training=TRAINING, plan=plan, validator=None, seed=0,
                         progress=Progress(enabled=False), execute=random_clients(), server=step)
    return model, history


def test_the_inprocess_secure_aggregate_equals_the_plain_one_within_the_quantisation_step():
    secure, history = train(secure_step(standard_step(), SECAGG))
    plain, _ = train(standard_step())
    step = quantisation_step(SECAGG)
    differences = [float((secure.state_dict()[k] - v).abs().max()) for k, v in plain.state_dict().items()]
    assert 0 < max(differences) <= step + 1e-6  # float32 weights: the last term is their rounding
    record = history.privacy["secagg"]
    assert 0 < record["max_abs_error"] <= step and record["rounds"] == 2 and record["engine"] == "inprocess"
    assert record["clipping_range"] == 8.0 and record["reconstruction_threshold"] == 2


def test_under_secure_aggregation_the_capture_holds_only_round_sums():
    seen = []
    step = secure_step(standard_step(), SECAGG).insert("probe", lambda s: seen.extend(r.weights for r in s.results),
                                                       after="secure_sum")
    _, history = train(step, capture_mb=100)
    assert seen and all(weights == {} for weights in seen)  # no stage after the secure sum sees an update
    assert [u.round for u in history.updates] == [1, 2]
    for update in history.updates:
        assert update.kind == SUM_KIND and update.client_id == "+".join(IDS) and update.training["clients"] == 5
        deltas = [random_clients()(update.global_weights, [cid], update.round - 1)[0][0].weights for cid in IDS]
        for key, total in update.delta.items():
            plain = sum(w[key] - update.global_weights[key] for w in deltas)
            assert float((total - plain).abs().max()) <= 5 * quantisation_step(SECAGG) + 1e-5


@pytest.fixture(scope="module")
def secure_run(tiny_dataset, tmp_path_factory):
    """A quick fedavg run (2 folds, 1 round) under secure aggregation, its round sums captured."""
    out = tmp_path_factory.mktemp("secagg") / "run"
    result = runner.invoke(app, ["run", "--method", "fedavg", "--rnn", "rnn", "--profile", "quick", "--folds", "2",
                                 "--data", str(tiny_dataset), "--no-progress", "--secure-aggregation", "--set",
                                 "capture_updates_mb=50", "--set", "val_participants=0", "--set", "rounds=1",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out, result.output


def test_a_secure_run_records_secagg_and_gradinv_says_only_sums_exist(secure_run, tiny_dataset, tmp_path):
    out, output = secure_run
    record = json.loads((out / "metrics.json").read_text())["privacy"]["secagg"]
    assert record["mechanism"] == "secagg+" and 0 < record["max_abs_error"] <= record["quantisation_step"]
    assert record["quantization_range"] == 2**22 and "secure aggregation: SecAgg+" in output
    updates = load_updates(out / "updates.pt")
    assert updates and all(u.kind == SUM_KIND and "+" in u.client_id for u in updates)
    result = runner.invoke(app, ["attack", "gradinv", "--updates", str(out), "--data", str(tiny_dataset), "--out",
                                 str(tmp_path / "a")])
    assert result.exit_code == 2 and "only round sums exist" in result.output and not (tmp_path / "a").exists()


@pytest.mark.parametrize("args, needle", [
    (["--set", "secagg.reconstruction_threshold=3"], "min_clients (2) is below secagg.reconstruction_threshold (3)"),
    (["--set", "dp.mode=client", "--set", "secagg.reconstruction_threshold=3"],  # DP off: rounds are not Poisson
     "min_clients (2) is below secagg.reconstruction_threshold (3)"),
    (["--dp-epsilon", "8", "--set", "dp.delta=1e-3"], "with dp.mode=server cannot work"),
    (["--set", "aggregation=weighted"], "needs aggregation=mean"),
    (["--dp-epsilon", "8", "--set", "dp.mode=client", "--set", "client_fraction=0.3"],
     "0.6 expected clients per round is below"),
])
def test_impossible_secure_aggregation_is_refused_in_one_line(tiny_dataset, tmp_path, args, needle):
    out = tmp_path / "run"
    result = runner.invoke(app, ["run", "--method", "fedavg", "--profile", "quick", "--no-progress", "--folds", "2",
                                 "--data", str(tiny_dataset), "--secure-aggregation", *args, "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert needle in result.output and len(result.output.strip().splitlines()) == 1 and not out.exists()


def test_secure_aggregation_belongs_to_fedavg():
    result = runner.invoke(app, ["run", "--method", "au", "--secure-aggregation", "--no-progress"])
    assert result.exit_code == 2 and "--secure-aggregation applies to --method fedavg" in result.output


@pytest.mark.slow
@pytest.mark.network
def test_secagg_plus_on_the_flower_simulation_equals_the_plain_aggregate_within_its_quantisation(clients):
    """One round of three clients that clip and noise their own updates (local DP's client side, a tiny sd):
    Flower's SecAgg+ (secaggplus_mod on each ClientApp, the workflow on the ServerApp) against the in-process plain
    mean of the same released updates (the clients' arithmetic and noise seeds are the same in both engines); the
    clipping acted (the unclipped mean is far off), and the server captured only the round's sum."""
    from privbench.federated.flower_engine import run_flower_simulation

    federation = plan(rounds=1, min_clients=2, capture_mb=1e3)
    private = dataclasses.replace(FEDAVG_TRAINING, privacy=ClientPrivacy(mode="local", max_grad_norm=0.05,
                                                                         noise_std=1e-4))
    unclipped, plain = small_model(), small_model()
    inprocess(unclipped, clients, federation)
    run_inprocess(plain, clients, training=private, plan=federation, validator=None, seed=0, device=CPU,
                  progress=QUIET)
    flower = small_model()
    history = run_flower_simulation(flower, clients, training=private, plan=federation, validator=None,
                                    seed=0, device=CPU, progress=QUIET, server=secure_step(standard_step(), SECAGG))

    def largest_difference(a, b):
        return max(float((a.state_dict()[k] - v).abs().max()) for k, v in b.state_dict().items() if v.is_floating_point())

    error = largest_difference(flower, plain)
    print(f"SecAgg+ on the Flower simulation: max |secure - plain| = {error:.3g} (step {quantisation_step(SECAGG):.3g})")
    assert 0 < error <= quantisation_step(SECAGG) + 1e-6
    assert largest_difference(plain, unclipped) > 100 * quantisation_step(SECAGG)
    record = history.privacy["secagg"]
    assert record["engine"] == "flower" and "not measurable" in record["max_abs_error"] and record["rounds"] == 1
    assert [u.kind for u in history.updates] == [SUM_KIND] and history.updates[0].client_id == "A+B+C"
