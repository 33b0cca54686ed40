"""FedAvg: aggregation arithmetic, the client step, dropout, and an end-to-end quick run."""

import copy
import dataclasses
import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from privbench.cli import app
from privbench.data.frame_transform import FrameTransform
from privbench.data.frames import FrameSequence, FrameStore
from privbench.data.writer import open_frames_file
from privbench.errors import InputError
from privbench.federated.aggregate import ServerMomentum, aggregate
from privbench.federated.client import LocalTraining, local_update
from privbench.federated.inprocess import FederationPlan, run_inprocess
from privbench.models.backbone import BackboneConfig, build_backbone
from privbench.models.frame_model import FrameSequenceModel
from privbench.progress import Progress
from privbench.types import load_updates

runner = CliRunner()
TRAINING = LocalTraining(seq_len=4, stride=4, batch_size=4, local_epochs=1, lr=1e-3, loss="mse")


def test_mean_and_weighted_mean_match_hand_computation():
    a = {"w": torch.tensor([1.0, 2.0]), "steps": torch.tensor(5)}
    b = {"w": torch.tensor([3.0, 6.0]), "steps": torch.tensor(7)}
    mean = aggregate([(a, 1), (b, 3)], "mean")
    assert torch.allclose(mean["w"], torch.tensor([2.0, 4.0]))
    weighted = aggregate([(a, 1), (b, 3)], "weighted")
    assert torch.allclose(weighted["w"], torch.tensor([(1 + 9) / 4, (2 + 18) / 4]))
    assert mean["steps"].item() == 5  # integer buffers come from the first client


def test_server_momentum_matches_hand_computation():
    server = ServerMomentum(0.5, parameters={"w"})
    first = server.step({"w": torch.tensor([0.0, 0.0]), "bn": torch.tensor([0.0])},
                        {"w": torch.tensor([1.0, 2.0]), "bn": torch.tensor([4.0])})
    assert torch.equal(first["w"], torch.tensor([1.0, 2.0])) and torch.equal(first["bn"], torch.tensor([4.0]))
    second = server.step(first, {"w": torch.tensor([2.0, 2.0]), "bn": torch.tensor([6.0])})
    # velocity 0.5 * [1, 2] + ([2, 2] - [1, 2]) = [1.5, 1]; buffers take the plain mean
    assert torch.equal(second["w"], torch.tensor([2.5, 3.0])) and torch.equal(second["bn"], torch.tensor([6.0]))
    averaged = {"w": torch.tensor([3.0, 1.0])}
    assert ServerMomentum(0.0, {"w"}).step({"w": torch.zeros(2)}, averaged) is averaged  # plain FedAvg


@pytest.fixture(scope="module")
def clients(tmp_path_factory):
    root = tmp_path_factory.mktemp("clients")
    rng = np.random.default_rng(0)
    sequences = {}
    for cid in ("A", "B", "C"):
        frames = open_frames_file(root / f"{cid}.npy", 40, 16)
        frames[:] = rng.integers(0, 256, size=frames.shape, dtype=np.uint8)
        frames.flush()
        gold = rng.uniform(-1, 1, size=(40, 2)).astype(np.float32)
        sequences[cid] = FrameSequence(cid, FrameStore(root / f"{cid}.npy"), gold, step=2,
                                        transform=FrameTransform("person", 0))
    return sequences


def small_model() -> FrameSequenceModel:
    torch.manual_seed(0)
    backbone, _ = build_backbone(BackboneConfig("auto", "group"))
    return FrameSequenceModel.create(backbone, "rnn", hidden=4, layers=1)


def test_one_round_with_one_client_equals_local_training(clients):
    model = small_model()
    start = copy.deepcopy(model.state_dict())
    plan = FederationPlan(rounds=1, client_fraction=1.0, min_clients=1, aggregation="mean", patience=0, capture_mb=1e3)
    history = run_inprocess(model, {"A": clients["A"]}, TRAINING, plan, lambda m: 0.0, seed=3,
                            device=torch.device("cpu"), progress=Progress(enabled=False))
    local = local_update(small_model(), start, "A", clients["A"], TRAINING, seed=3 * 10_000, device=torch.device("cpu"))
    for key, value in model.state_dict().items():
        assert torch.allclose(value, local.weights[key]), key
    update = history.updates[0]
    assert update.client_id == "A" and update.round == 1 and update.kind == "weight_delta"
    assert torch.allclose(update.delta["head.fc.0.weight"], local.weights["head.fc.0.weight"] - start["head.fc.0.weight"])
    assert all(torch.equal(update.global_weights[k], start[k]) for k in start)  # what the server sent
    assert update.loss == local.loss and update.examples == local.examples
    assert update.training["lr"] == TRAINING.lr and update.training["unit"] in ("frame", "window")
    assert update.training["local_steps"] >= 1


def test_backbone_learns_at_the_scaled_rate_after_the_warmup(clients):
    model = small_model()
    start = copy.deepcopy(model.state_dict())
    frozen = dataclasses.replace(TRAINING, backbone_lr_scale=1e-9)
    result = local_update(model, start, "A", clients["A"], frozen, seed=0, device=torch.device("cpu"))
    backbone = [k for k in start if k.startswith("backbone.") and start[k].is_floating_point()]
    assert max(float((result.weights[k] - start[k]).abs().max()) for k in backbone) < 1e-6
    assert not torch.allclose(result.weights["head.fc.0.weight"], start["head.fc.0.weight"])


def test_a_failing_client_is_dropped_and_counted(clients):
    def flaky(model, weights, cid, sequence, training, seed, device, round_):
        if cid == "B":
            raise RuntimeError("client B lost its connection")
        return local_update(model, weights, cid, sequence, training, seed, device)

    plan = FederationPlan(rounds=2, client_fraction=1.0, min_clients=2, aggregation="mean", patience=0, capture_mb=0)
    history = run_inprocess(small_model(), clients, TRAINING, plan, lambda m: 0.0, seed=0,
                            device=torch.device("cpu"), progress=Progress(enabled=False), client_step=flaky)
    assert history.dropped == 2 and len(history.train_loss) == 2
    plan = FederationPlan(rounds=1, client_fraction=1.0, min_clients=3, aggregation="mean", patience=0, capture_mb=0)
    with pytest.raises(InputError, match="only 2 client"):
        run_inprocess(small_model(), clients, TRAINING, plan, lambda m: 0.0, seed=0, device=torch.device("cpu"),
                      progress=Progress(enabled=False), client_step=flaky)


def test_a_client_past_the_timeout_is_dropped(clients):
    def slow_b(model, weights, cid, sequence, training, seed, device, round_):
        result = local_update(model, weights, cid, sequence, training, seed, device)
        return dataclasses.replace(result, seconds=result.seconds + (100.0 if cid == "B" else 0.0))

    plan = FederationPlan(rounds=1, client_fraction=1.0, min_clients=2, aggregation="mean", patience=0, capture_mb=0,
                          client_timeout=50.0)
    history = run_inprocess(small_model(), clients, TRAINING, plan, lambda m: 0.0, seed=0,
                            device=torch.device("cpu"), progress=Progress(enabled=False), client_step=slow_b)
    assert history.dropped == 1
    assert history.bytes_up * 3 == history.bytes_down * 2  # two of three updates kept


def test_bytes_and_parallel_time_are_accounted(clients):
    plan = FederationPlan(rounds=1, client_fraction=1.0, min_clients=1, aggregation="weighted", patience=0, capture_mb=0)
    history = run_inprocess(small_model(), clients, TRAINING, plan, lambda m: 0.0, seed=0,
                            device=torch.device("cpu"), progress=Progress(enabled=False))
    assert history.bytes_up == history.bytes_down > 3 * 40_000_000  # three ResNet18 models each way
    assert 0 < history.seconds_parallel < history.client_seconds


def test_quick_fedavg_run_writes_efficiency_and_updates(tmp_path):
    out = tmp_path / "fed"
    result = runner.invoke(app, ["run", "--method", "fedavg", "--rnn", "bigru", "--profile", "quick", "--folds", "2",
                                 "--no-progress", "--set", "data.participants=6", "--set", "data.seconds=8",
                                 "--set", "capture_updates_mb=200", "--out", str(out)])
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    efficiency = metrics["efficiency"]
    assert efficiency["rounds"] == 4 and efficiency["dropped_clients"] == 0
    assert efficiency["bytes_up"] > 0 and efficiency["train_seconds_parallel"] < efficiency["client_seconds"]
    assert 0 < efficiency["train_seconds_per_client"] < efficiency["train_seconds"]
    updates = load_updates(out / "updates.pt")
    assert updates and {u.fold for u in updates} == {0, 1}
    first = updates[0]
    assert set(first.delta) <= set(first.global_weights) and first.training["optimizer"] == "adam"
    assert first.training["unit"] == ("frame" if first.training["warmup"] else "window")


@pytest.mark.slow
def test_flower_simulation_agrees_with_the_inprocess_engine(clients):
    from privbench.federated.flower_engine import run_flower_simulation

    plan = FederationPlan(rounds=2, client_fraction=1.0, min_clients=2, aggregation="mean", patience=0, capture_mb=0)
    inprocess = small_model()
    expected = run_inprocess(inprocess, clients, TRAINING, plan, lambda m: 0.0, seed=0, device=torch.device("cpu"),
                             progress=Progress(enabled=False))
    flower = small_model()
    template = copy.deepcopy(flower)
    history = run_flower_simulation(flower, clients, TRAINING, plan, lambda m: 0.0, seed=0, device=torch.device("cpu"),
                                    progress=Progress(enabled=False), make_model=lambda: copy.deepcopy(template))
    assert len(history.train_loss) == 2 and history.dropped == 0
    assert history.bytes_up == expected.bytes_up
    for key, value in inprocess.state_dict().items():  # same thread count, same arithmetic: bit-identical
        assert torch.equal(value, flower.state_dict()[key]), key
    assert history.train_loss == expected.train_loss


@pytest.mark.slow
def test_flower_and_inprocess_runs_reach_the_same_ccc(tmp_path):
    metrics = {}
    for engine in ("inprocess", "flower"):
        result = runner.invoke(app, ["run", "--method", "fedavg", "--profile", "quick", "--folds", "2", "--engine",
                                     engine, "--no-progress", "--set", "data.participants=6", "--set",
                                     "data.seconds=8", "--out", str(tmp_path / engine)])
        assert result.exit_code == 0, result.output
        metrics[engine] = json.loads((tmp_path / engine / "metrics.json").read_text())
    for dim in ("valence", "arousal"):
        inprocess, flower = (metrics[e]["ccc"][dim]["mean"] for e in ("inprocess", "flower"))
        assert abs(inprocess - flower) < 0.01, (dim, inprocess, flower)


def test_engine_option_belongs_to_fedavg():
    result = runner.invoke(app, ["run", "--method", "au", "--engine", "flower", "--no-progress"])
    assert result.exit_code == 2 and "--engine applies to --method fedavg" in result.output


def test_unknown_engine_lists_the_valid_ones():
    result = runner.invoke(app, ["run", "--method", "fedavg", "--engine", "grid", "--no-progress"])
    assert result.exit_code == 2 and "unknown engine 'grid'; valid: inprocess, flower, deployment" in result.output
