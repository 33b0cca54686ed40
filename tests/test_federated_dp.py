"""Client-level DP for FedAvg (privbench.defences.federated): the server loop with clients whose updates are
known (no training), so every bound, noise level and accountant figure can be checked against its formula."""

import dataclasses
import json

import numpy as np
import pytest
import torch
from torch import nn
from typer.testing import CliRunner

from privbench.cli import app
from privbench.defences.federated import PoissonSampling, client_privacy, dp_record, dp_step
from privbench.federated.client import ClientResult, LocalTraining
from privbench.federated.client_privacy import ClientPrivacy, trainable_keys
from privbench.federated.inprocess import run_rounds
from privbench.federated.server import FederationPlan, RoundState, ServerRun
from privbench.federated.stages import standard_step
from privbench.progress import Progress
from privbench.settings import DPSettings
from privbench.types import load_updates

TRAINING = LocalTraining(seq_len=4, stride=4, batch_size=4, local_epochs=1, lr=1e-3, loss="mse")
DP = DPSettings(epsilon=3.0, delta=1e-3, max_grad_norm=1.0, accountant="rdp", mode="server", unit="window",
                participants_per_step=1.0, windows_per_participant=1, warmup="none", public_seed=1)
IDS = [f"c{i:02d}" for i in range(23)]


def fixed_clients(scale: float, ids: list[str] = IDS, privacy: ClientPrivacy = ClientPrivacy()):
    """An executor whose client ``i`` trains to the global weights plus ``scale * (i + 1)`` times a fixed unit
    direction (update norms are known in advance) and releases that as a client under ``privacy`` does."""
    def execute(global_weights, chosen, round_):
        results = []
        for cid in chosen:
            factor = scale * (ids.index(cid) + 1)
            weights = {k: v + factor * torch.ones_like(v) / np.sqrt(v.numel() * len(global_weights))
                       for k, v in global_weights.items()}
            weights, clipped = privacy.release(weights, global_weights, keys=trainable_keys(weights, "all"),
                                               seed=round_, client_id=cid)
            results.append(ClientResult(cid, weights, 10, 0.5, 0.01, clipped=clipped))
        return results, 0
    return execute


def mechanism(dp: DPSettings, **federation):
    """The server step of ``dp`` and the client side that goes with it."""
    return dp_step(dp, **federation), client_privacy(dp, dp_record(dp, **federation))


def train(step, *, rounds: int, execute, model: nn.Module | None = None, capture_mb: float = 0.0):
    model = model or nn.Linear(100, 100)
    plan = FederationPlan(rounds=rounds, client_fraction=1.0, min_clients=1, aggregation="mean", patience=0,
                          capture_mb=capture_mb)
    history = run_rounds(model, IDS, training=TRAINING, plan=plan, validator=None, seed=0,
                         progress=Progress(enabled=False), execute=execute, server=step)
    return model, history


def seeded_linear() -> nn.Linear:
    torch.manual_seed(0)
    return nn.Linear(100, 100)


def norms(state: RoundState) -> list[float]:
    g = state.global_weights
    return [float(torch.sqrt(sum(((r.weights[k] - g[k]) ** 2).sum() for k in g))) for r in state.results]


def test_the_accountant_figure_is_opacus_rdp_and_grows_with_rounds():
    """z = 1, q = 5/23, 30 rounds, delta 1e-3: Opacus's RDP accountant gives epsilon 6.89."""
    spent = []
    step = dp_step(dataclasses.replace(DP, delta=1e-3), clients=23, rounds=30, client_fraction=5 / 23,
                   noise_multiplier=1.0)
    step = step.insert("probe", lambda state: spent.append(state.run.history.privacy["epsilon"]), after="accounting")
    _, history = train(step, rounds=30, execute=fixed_clients(0.1))
    assert history.privacy["epsilon"] == pytest.approx(6.894, abs=0.005) and history.privacy["rounds"] == 30
    assert all(a < b for a, b in zip(spent, spent[1:]))


@pytest.mark.parametrize("mode", ["server", "client"])
def test_every_clipped_update_is_within_the_bound_and_under_client_clipping_every_captured_one(mode):
    seen = []
    step, privacy = mechanism(dataclasses.replace(DP, mode=mode, max_grad_norm=0.5), clients=23, rounds=3,
                              client_fraction=0.5, noise_multiplier=1.0)
    step = step.insert("probe", lambda state: seen.extend(norms(state)), before="aggregate")
    _, history = train(step, rounds=3, execute=fixed_clients(0.05, privacy=privacy), capture_mb=100)
    assert seen and max(seen) <= 0.5 + 1e-6 and min(seen) < 0.5  # small updates pass, large ones are scaled
    captured = [float(torch.sqrt(sum((d ** 2).sum() for d in u.delta.values()))) for u in history.updates]
    if mode == "client":
        assert captured and max(captured) <= 0.5 + 1e-6
    else:  # the server clips after it has seen (and captured) the raw update
        assert max(captured) > 0.5
    assert 0 < history.privacy["clipped_fraction"] < 1


@pytest.mark.parametrize("mode, expected_std", [("server", 2.0 * 0.5 / 23), ("local", 2.0 * 2 * 0.5)])
def test_the_noise_sd_is_within_5_percent_of_its_formula(mode, expected_std):
    """Clients that send the global weights back: the change is noise only (server: sd z*C/(qN) on the mean;
    local: sd z*2C on each client's update, measured before averaging)."""
    seen = []
    step, privacy = mechanism(dataclasses.replace(DP, mode=mode, max_grad_norm=0.5), clients=23, rounds=1,
                              client_fraction=1.0, noise_multiplier=2.0)
    if mode == "local":
        step = step.insert("probe", lambda s: seen.extend(float(torch.cat([(r.weights[k] - s.global_weights[k])
                           .flatten() for k in s.global_weights]).std()) for r in s.results), after="execute")
    model = nn.Linear(100, 100)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model, _ = train(step, rounds=1, execute=fixed_clients(0.0, privacy=privacy), model=model)
    measured = seen or [float(torch.cat([(v - before[k]).flatten() for k, v in model.state_dict().items()]).std())]
    assert all(abs(m - expected_std) < 0.05 * expected_std for m in measured)


def test_no_noise_and_an_unreachable_bound_equal_the_standard_step():
    step = dp_step(dataclasses.replace(DP, max_grad_norm=1e30), clients=23, rounds=2, client_fraction=1.0,
                   noise_multiplier=0.0)
    private, _ = train(step, rounds=2, execute=fixed_clients(0.3), model=seeded_linear())
    plain, _ = train(standard_step(), rounds=2, execute=fixed_clients(0.3), model=seeded_linear())
    for key, value in plain.state_dict().items():
        torch.testing.assert_close(private.state_dict()[key], value, rtol=0, atol=1e-6)


def test_poisson_sampling_takes_q_n_clients_on_average_and_sometimes_none():
    run = ServerRun(plan=None, training=TRAINING, seed=3, client_ids=IDS, parameters=frozenset(), execute=None,
                    history=None)
    sizes = []
    for round_ in range(2000):
        state = RoundState(run, round_, {})
        PoissonSampling(0.1)(state)
        sizes.append(len(state.chosen))
    assert abs(np.mean(sizes) - 2.3) < 3 * np.sqrt(23 * 0.1 * 0.9 / 2000) and 0 in sizes


def test_an_empty_round_is_noise_only_and_counted():
    step = dp_step(DP, clients=23, rounds=5, client_fraction=0.02, noise_multiplier=1.0)
    _, history = train(step, rounds=5, execute=fixed_clients(0.1))
    assert history.privacy["empty_rounds"] >= 1 and np.isnan(history.train_loss).sum() == history.privacy["empty_rounds"]


@pytest.fixture(scope="module")
def local_dp_run(tiny_dataset, tmp_path_factory):
    """A quick fedavg run under local DP at epsilon 1 (2 folds, 2 rounds), its client updates captured."""
    out = tmp_path_factory.mktemp("fed") / "local"
    result = CliRunner().invoke(app, ["run", "--method", "fedavg", "--rnn", "rnn", "--profile", "quick", "--folds", "2",
                                      "--data", str(tiny_dataset), "--no-progress", "--dp-epsilon", "1", "--set",
                                      "dp.mode=local", "--set", "dp.delta=1e-3", "--set", "capture_updates_mb=200",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out, result.output


def test_a_local_dp_fedavg_run_records_its_accounting(local_dp_run):
    out, output = local_dp_run
    privacy = json.loads((out / "metrics.json").read_text())["privacy"]
    assert privacy["mechanism"] == "dp-fedavg-local" and privacy["unit"] == "participant"
    assert 0 < privacy["epsilon"] <= 1 and privacy["rounds"] == privacy["planned_rounds"] == 2
    assert "noised before it leaves the client" in privacy["guarantee"] and "2 rounds" in output


def test_the_server_captures_the_noised_updates_under_local_dp(local_dp_run):
    """What gradinv --updates attacks is what the server saw: each captured delta is the clipped update (norm
    <= C) plus noise of sd z*2C in every coordinate, so its norm is about z*2C*sqrt(d), far above C."""
    out, _ = local_dp_run
    privacy = json.loads((out / "metrics.json").read_text())["privacy"]
    updates = load_updates(out / "updates.pt")
    assert updates
    for update in updates:
        values = torch.cat([d.flatten() for d in update.delta.values()])
        expected = privacy["noise_std"] * np.sqrt(len(values))
        assert abs(float(values.norm()) - expected) < 0.05 * expected + privacy["max_grad_norm"]
        assert float(values.norm()) > 100 * privacy["max_grad_norm"]


@pytest.mark.parametrize("args, needle", [
    (["--set", "backbone.norm=batch"], "needs backbone.norm=group"),
    (["--set", "aggregation=weighted"], "needs aggregation=mean"),
    (["--set", "dp.delta=0.6"], "must be below 1 / the"),
    (["--set", "dp.mode=dpsgd", "--set", "warmup_rounds=1"], "warm-up rounds train on single frames outside the "
     "clients' window accountant"),
    (["--set", "dp.mode=dpsgd", "--set", "dp.unit=participant"], "its unit is the window"),
    (["--set", "dp.mode=dpsgd", "--set", "dp.delta=0.3"], "windows of the smallest client"),
])
def test_impossible_federated_dp_settings_are_refused_in_one_line(tiny_dataset, tmp_path, args, needle):
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["run", "--method", "fedavg", "--profile", "quick", "--no-progress", "--folds", "2",
                                      "--data", str(tiny_dataset), "--dp-epsilon", "2", *args, "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert needle in result.output and len(result.output.strip().splitlines()) == 1 and not out.exists()
