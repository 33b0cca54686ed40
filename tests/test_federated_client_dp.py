"""The clients' own side of fedavg's defences (privbench.federated.client_privacy): DP-SGD inside a client and its
per-client composition on the server, the frozen backbone of ``trainable=head``, and their refusals."""

import dataclasses
import json

import pytest
import torch
from opacus.accountants import create_accountant
from opacus.accountants.utils import get_noise_multiplier
from torch import nn
from typer.testing import CliRunner

from privbench.cli import app
from privbench.defences.federated import GaussianNoise, dp_step
from privbench.federated.client import ClientResult, local_update
from privbench.federated.client_privacy import ClientPrivacy, trainable_keys
from privbench.federated.server import RoundState, ServerRun
from privbench.models.backbone import build_backbone
from privbench.models.frame_model import FrameSequenceModel
from privbench.settings import BackboneConfig
from test_fedavg import CPU, TRAINING, clients  # noqa: F401 (clients: a fixture)
from test_federated_dp import DP, IDS, train

runner = CliRunner()
DPSGD = ClientPrivacy(mode="dpsgd", epsilon=8.0, delta=1e-3, accountant="rdp", planned_rounds=3)


def frame_model(norm: str = "group", *, dp_compatible: bool = False) -> FrameSequenceModel:
    torch.manual_seed(0)
    backbone, _ = build_backbone(BackboneConfig("none", norm), hookable=dp_compatible)
    return FrameSequenceModel.create(backbone, "rnn", hidden=4, layers=1, dp_compatible=dp_compatible)


def step_of(model: nn.Module, sequence, training) -> tuple[dict, ClientResult]:
    start = {k: v.clone() for k, v in model.state_dict().items()}
    return start, local_update(model, start, sequence.participant, sequence, training, seed=5, device=CPU)


def test_client_dpsgd_calibrates_for_every_planned_round_and_reports_what_it_spent(clients):
    """One local epoch of 5 windows in batches of 4: two steps at Opacus's Poisson rate 1 / 2 (one over the plain
    loader's length); the noise multiplier is Opacus's for epsilon 8 over the 3 planned rounds' 6 steps."""
    training = dataclasses.replace(TRAINING, privacy=DPSGD, trainable="head")  # per-window gradients of the head only
    start, result = step_of(frame_model(dp_compatible=True), clients["A"], training)
    assert result.dp_rate == 0.5 and result.dp_steps == 2
    expected = get_noise_multiplier(target_epsilon=8.0, target_delta=1e-3, sample_rate=0.5, steps=6,
                                    accountant="rdp", epsilon_tolerance=0.01)
    assert result.dp_noise == pytest.approx(expected)
    assert any(not torch.equal(result.weights[k], start[k]) for k in trainable_keys(start, "head"))


def test_the_server_composes_each_clients_dpsgd_over_the_rounds_it_joined():
    """Client i joins the rounds r with r % (1 + i % 3) == 0 (6, 3 or 2 of 6) and reports (z 1.2, q 0.25, 4 steps)
    each time: its epsilon is Opacus's over 4 x its rounds; the record holds the largest (and the median); it grows
    with the rounds."""
    joined = {cid: 0 for cid in IDS}

    def execute(global_weights, chosen, round_):
        results = []
        for i, cid in enumerate(chosen):
            if round_ % (1 + i % 3) == 0:
                joined[cid] += 1
                results.append(ClientResult(cid, global_weights, 5, 0.5, 0.01, dp_noise=1.2, dp_rate=0.25, dp_steps=4))
        return results, 0

    spent = []
    step = dp_step(dataclasses.replace(DP, mode="dpsgd"), clients=23, rounds=6, client_fraction=1.0)
    step = step.insert("probe", lambda state: spent.append(state.run.history.privacy["epsilon"]), after="accounting")
    _, history = train(step, rounds=6, execute=execute)

    def epsilon(rounds: int) -> float:
        accountant = create_accountant("rdp")
        accountant.history = [(1.2, 0.25, 4 * rounds)]
        return accountant.get_epsilon(DP.delta)

    privacy = history.privacy
    assert privacy["unit"] == "window" and privacy["noise_multiplier"] == 1.2 and privacy["rounds"] == 6
    assert privacy["epsilon"] == pytest.approx(epsilon(max(joined.values())))
    assert privacy["median_client_epsilon"] < privacy["epsilon"]  # most clients joined 2 or 3 rounds
    assert all(a < b for a, b in zip(spent, spent[1:]))


@pytest.mark.parametrize("norm", ["group", "batch"])
def test_a_head_only_client_leaves_the_backbone_and_its_statistics_exactly_as_sent(clients, norm):
    training = dataclasses.replace(TRAINING, trainable="head")
    start, result = step_of(frame_model(norm), clients["A"], training)
    frozen = [k for k in start if k.startswith(("backbone.", "frame_head."))]
    assert frozen and all(torch.equal(result.weights[k], start[k]) for k in frozen)  # BatchNorm's running stats too
    assert all(not torch.equal(result.weights[k], start[k]) for k in ("head.fc.weight", "project.1.weight")
               if k in start)
    assert set(trainable_keys(start, "head")) == {k for k in start if k.startswith(("project.", "head."))}


def test_noise_falls_only_on_the_keys_the_clients_train():
    model = frame_model()
    average = {k: v.clone() for k, v in model.state_dict().items()}
    run = ServerRun(plan=None, training=dataclasses.replace(TRAINING, trainable="head"), seed=0, client_ids=IDS,
                    parameters=frozenset(), execute=None, history=None)
    state = RoundState(run, 0, average, average=dict(average))
    GaussianNoise(0.1)(state)
    changed = {k for k in average if not torch.equal(state.average[k], average[k])}
    assert changed == set(trainable_keys(average, "head"))


@pytest.mark.slow
def test_a_head_only_fedavg_run_with_client_dpsgd_records_its_guarantee(tiny_dataset, tmp_path):
    """The regime where DP can work, end to end: the backbone warmed up on a public population and frozen, DP-SGD
    in each client; every fold's epsilon is within its target."""
    out = tmp_path / "run"
    result = runner.invoke(app, ["run", "--method", "fedavg", "--rnn", "rnn", "--profile", "quick", "--folds", "2",
                                 "--data", str(tiny_dataset), "--no-progress", "--dp-epsilon", "8", "--set",
                                 "dp.mode=dpsgd", "--set", "trainable=head", "--set", "dp.delta=1e-3", "--out", str(out)])
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    folds = metrics["privacy"]["folds"]
    assert len(folds) == 2 and all(f["unit"] == "window" and 0 < f["epsilon"] <= 8 * 1.01 for f in folds)
    assert "public synthetic population" in result.output and "trainable: head" in result.output
