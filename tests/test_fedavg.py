"""FedAvg: aggregation arithmetic, the server step and its slots, the client step, dropout, engine dispatch,
learning on tiny data, the engines' agreement, and an end-to-end quick run."""

import copy
import dataclasses
import json
import math

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from privbench import experiment
from privbench.cli import app
from privbench.data.frame_transform import FrameTransform
from privbench.data.frames import FrameSequence, FrameStore
from privbench.data.layout import Dataset
from privbench.data.splits import Split
from privbench.data.writer import open_frames_file
from privbench.errors import InputError
from privbench.evaluate.metrics import ccc, rmse
from privbench.federated.aggregate import ServerMomentum, aggregate
from privbench.federated.client import LocalTraining, local_update
from privbench.federated.inprocess import run_inprocess
from privbench.federated.server import FederatedHistory, FederationPlan, RoundState
from privbench.federated.stages import FixedClipping, identity, standard_step
from privbench.methods import ENGINES, METHODS
from privbench.methods.frame_fold import predict_frames
from privbench.models.backbone import BackboneConfig, build_backbone
from privbench.models.frame_model import FrameSequenceModel
from privbench.progress import Progress
from privbench.types import load_updates

runner = CliRunner()
TRAINING = LocalTraining(seq_len=4, stride=4, batch_size=4, local_epochs=1, lr=1e-3, loss="mse")
CPU, QUIET = torch.device("cpu"), Progress(enabled=False)


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


@pytest.mark.parametrize("mode", ["mean", "weighted"])
def test_the_average_of_weights_is_global_plus_the_average_of_deltas(mode):
    generator = torch.Generator().manual_seed(0)
    global_weights = {"w": torch.randn(1000, generator=generator), "steps": torch.tensor(3)}
    clients = [({"w": global_weights["w"] + 0.01 * torch.randn(1000, generator=generator), "steps": torch.tensor(4)},
                n) for n in (3, 5, 9)]
    of_weights = aggregate(clients, mode)
    of_deltas = aggregate([({"w": w["w"] - global_weights["w"]}, n) for w, n in clients], mode)
    assert torch.allclose(of_weights["w"], global_weights["w"] + of_deltas["w"], rtol=0, atol=1e-6)
    assert not torch.allclose(of_weights["w"], global_weights["w"], rtol=0, atol=1e-4)  # the clients moved


def test_the_server_step_has_named_slots_in_order():
    step = standard_step()
    assert step.names == ["sample", "execute", "drop", "capture", "clip", "aggregate", "noise", "momentum", "account"]
    assert step["clip"] is identity and step["noise"] is identity
    clipped = step.replace("clip", FixedClipping(1.0)).insert("probe", identity, after="clip")
    assert clipped.names[4:7] == ["clip", "probe", "aggregate"] and clipped["clip"] == FixedClipping(1.0)
    assert step["clip"] is identity  # replace and insert return a new step
    assert step.insert("first", identity, before="sample").names[0] == "first"
    with pytest.raises(KeyError, match="no server stage 'clipping'"):
        step.replace("clipping", identity)
    with pytest.raises(ValueError, match="exactly one of"):
        step.insert("probe", identity)


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


def plan(**changes) -> FederationPlan:
    settings = {"rounds": 1, "client_fraction": 1.0, "min_clients": 1, "aggregation": "mean", "patience": 0,
                "capture_mb": 0, **changes}
    return FederationPlan(**settings)


def inprocess(model, clients, federation: FederationPlan, **extra) -> FederatedHistory:
    return run_inprocess(model, clients, training=TRAINING, plan=federation, validator=None, seed=0, device=CPU,
                         progress=QUIET, **extra)


def norm(delta) -> float:
    return float(torch.sqrt(sum((t.double() ** 2).sum() for t in delta.values() if t.is_floating_point())))


def delta_norm(weights, global_weights) -> float:
    return norm({k: w - global_weights[k] for k, w in weights.items() if w.is_floating_point()})


def test_one_round_with_one_client_equals_local_training(clients):
    model = small_model()
    start = copy.deepcopy(model.state_dict())
    history = run_inprocess(model, {"A": clients["A"]}, training=TRAINING, plan=plan(capture_mb=1e3),
                            validator=lambda m: 0.0, seed=3, device=CPU, progress=QUIET)
    local = local_update(small_model(), start, "A", clients["A"], TRAINING, seed=3 * 10_000, device=CPU)
    for key, value in model.state_dict().items():
        assert torch.allclose(value, local.weights[key]), key
    update = history.updates[0]
    assert update.client_id == "A" and update.round == 1 and update.kind == "weight_delta"
    key = "head.fc.0.weight"
    assert torch.allclose(update.delta[key], local.weights[key] - start[key])
    assert all(torch.equal(update.global_weights[k], start[k]) for k in start)  # what the server sent
    assert update.loss == local.loss and update.examples == local.examples
    assert update.training["lr"] == TRAINING.lr and update.training["unit"] in ("frame", "window")
    assert update.training["local_steps"] >= 1


def test_a_clip_stage_bounds_each_update_and_the_global_change(clients):
    bound, seen = 1e-2, []

    def probe(state: RoundState) -> None:  # runs right after the clip stage
        seen.extend(delta_norm(r.weights, state.global_weights) for r in state.results)

    model = small_model()
    start = copy.deepcopy(model.state_dict())
    step = standard_step().replace("clip", FixedClipping(bound)).insert("probe", probe, after="clip")
    history = inprocess(model, clients, plan(capture_mb=1e3), server=step)
    assert len(seen) == 3 and all(abs(n - bound) < bound * 1e-4 for n in seen)  # global + clipped delta rounds
    assert min(norm(u.delta) for u in history.updates) > 10 * bound  # captured before the clip
    change = delta_norm(model.state_dict(), start)  # plain FedAvg: the mean of three clipped deltas
    assert 0 < change < bound * (1 + 1e-4)


def test_backbone_learns_at_the_scaled_rate_after_the_warmup(clients):
    model = small_model()
    start = copy.deepcopy(model.state_dict())
    frozen = dataclasses.replace(TRAINING, backbone_lr_scale=1e-9)
    result = local_update(model, start, "A", clients["A"], frozen, seed=0, device=CPU)
    backbone = [k for k in start if k.startswith("backbone.") and start[k].is_floating_point()]
    assert max(float((result.weights[k] - start[k]).abs().max()) for k in backbone) < 1e-6
    assert not torch.allclose(result.weights["head.fc.0.weight"], start["head.fc.0.weight"])


def test_a_failing_client_is_dropped_and_counted(clients):
    def flaky(model, weights, cid, sequence, training, seed, device, round_):
        if cid == "B":
            raise RuntimeError("client B lost its connection")
        return local_update(model, weights, cid, sequence, training, seed, device)

    history = inprocess(small_model(), clients, plan(rounds=2, min_clients=2), client_step=flaky)
    assert history.dropped == 2 and len(history.train_loss) == 2
    with pytest.raises(InputError, match="only 2 client"):
        inprocess(small_model(), clients, plan(min_clients=3), client_step=flaky)


def test_a_client_past_the_timeout_is_dropped(clients):
    def slow_b(model, weights, cid, sequence, training, seed, device, round_):
        result = local_update(model, weights, cid, sequence, training, seed, device)
        return dataclasses.replace(result, seconds=result.seconds + (100.0 if cid == "B" else 0.0))

    history = inprocess(small_model(), clients, plan(min_clients=2, client_timeout=50.0), client_step=slow_b)
    assert history.dropped == 1
    assert history.bytes_up * 3 == history.bytes_down * 2  # two of three updates kept


def test_bytes_and_parallel_time_are_accounted(clients):
    history = inprocess(small_model(), clients, plan(aggregation="weighted"))
    assert history.bytes_up == history.bytes_down > 3 * 40_000_000  # three ResNet18 models each way
    assert 0 < history.seconds_parallel < history.client_seconds


def learnable_clients(root, count: int) -> dict[str, FrameSequence]:
    """Clients whose 16 px frames show valence and arousal as the contrast of two fixed patterns."""
    rng = np.random.default_rng(0)
    patterns = rng.choice([-1.0, 1.0], size=(2, 16, 16, 3))
    sequences = {}
    for i in range(count):
        walk = np.cumsum(rng.normal(size=(40, 2)), axis=0)
        gold = ((walk - walk.mean(0)) / np.abs(walk - walk.mean(0)).max(0)).astype(np.float32)
        pictures = 128 + 50 * np.einsum("td,dhwc->thwc", gold, patterns) + rng.normal(0, 20, size=(1, 16, 16, 3))
        frames = open_frames_file(root / f"P{i}.npy", 40, 16)
        frames[:] = np.clip(pictures + rng.normal(0, 10, size=pictures.shape), 0, 255).astype(np.uint8)
        frames.flush()
        sequences[f"P{i}"] = FrameSequence(f"P{i}", FrameStore(root / f"P{i}.npy"), gold, step=1,
                                           transform=FrameTransform("person", 0))
    return sequences


def test_fedavg_learns_more_than_the_constant_predictor(tmp_path):
    """Three clients, two rounds of plain FedAvg, scored on a fourth participant."""
    sequences = learnable_clients(tmp_path, 4)
    test = sequences.pop("P3")
    torch.manual_seed(0)
    backbone, _ = build_backbone(BackboneConfig("auto", "group"))
    model = FrameSequenceModel.create(backbone, "rnn", hidden=8, layers=1)
    inprocess(model, sequences, plan(rounds=2))
    predicted = predict_frames(model, test, 4, 4, CPU)
    constant = np.broadcast_to(np.concatenate([s.gold for s in sequences.values()]).mean(0), test.gold.shape)
    assert (ccc(test.gold, predicted) > 0.2).all(), ccc(test.gold, predicted)  # the constant's CCC is 0
    assert rmse(test.gold, predicted).mean() < rmse(test.gold, constant).mean()


def test_the_method_runs_the_configured_engine_with_the_common_signature(tiny_dataset, monkeypatch):
    calls = []

    class Remote:
        local_data = False

        def __call__(self, model, clients, **kwargs):
            calls.append((dict(clients), kwargs))
            return FederatedHistory(train_loss=[0.5], notes={"superlink": kwargs["fold"].superlink})

    get = ENGINES.get
    monkeypatch.setattr(ENGINES, "get", lambda name: Remote() if name == "deployment" else get(name))
    spec = experiment.resolve("fedavg", "rnn", "quick", assignments=["engine=deployment", "superlink=10.0.0.1:9"])
    ids = Dataset(tiny_dataset).ids
    split = Split(0, tuple(ids[:3]), (ids[3],), (ids[4],))
    output = METHODS.get("fedavg").train_fold(Dataset(tiny_dataset), split, spec.train, "rnn", 7, CPU, QUIET)
    (clients, kwargs), = calls
    assert clients == {}  # an engine without local data: the method opened no training participant's frames
    assert set(kwargs) == {"training", "plan", "validator", "seed", "device", "progress", "fold", "server"}
    assert kwargs["server"] is None  # the deployment engine builds its server step on the ServerApp
    assert kwargs["seed"] == 7 and kwargs["fold"].train == split.train and kwargs["fold"].rnn == "rnn"
    assert kwargs["plan"].rounds == spec.train.federation.rounds and kwargs["training"].lr == spec.train.optim.lr
    assert output.notes["engine"] == "deployment" and output.notes["superlink"] == "10.0.0.1:9"
    assert output.efficiency["rounds"] == 1


def test_quick_fedavg_run_writes_efficiency_and_updates(captured_fedavg_run):
    out = captured_fedavg_run
    metrics = json.loads((out / "metrics.json").read_text())
    efficiency = metrics["efficiency"]
    assert efficiency["rounds"] == 4 and efficiency["dropped_clients"] == 0
    assert efficiency["bytes_up"] > 0 and math.isfinite(efficiency["train_seconds_parallel"])
    # each round's parallel time counts its slowest client, at least the mean of the round's clients,
    # and no round has more clients than the data set's six participants
    assert efficiency["train_seconds_parallel"] >= efficiency["client_seconds"] / 6 > 0
    assert 0 < efficiency["train_seconds_per_client"] < efficiency["train_seconds"]
    updates = load_updates(out / "updates.pt")
    assert updates and {u.fold for u in updates} == {0, 1}
    first = updates[0]
    assert set(first.delta) <= set(first.global_weights) and first.training["optimizer"] == "adam"
    assert first.training["unit"] == ("frame" if first.training["warmup"] else "window")


@pytest.mark.slow
@pytest.mark.network
def test_flower_simulation_runs_the_server_step_bit_identically_to_the_inprocess_engine(clients):
    """Two rounds, no validator (the last round's weights are compared), server momentum on; both engines run
    local DP (each client clipping its update to 0.01 and adding seeded noise in its own step, on the Flower
    nodes there; the server's accountant composing per client) with a probe stage after the clip."""
    from privbench.defences.federated import client_privacy, dp_record, dp_step
    from privbench.federated.flower_engine import run_flower_simulation
    from privbench.settings import DPSettings

    federation = plan(rounds=2, min_clients=2, server_momentum=0.5)
    dp = DPSettings(epsilon=8.0, delta=1e-3, max_grad_norm=0.01, accountant="rdp", mode="local", unit="window",
                    participants_per_step=1.0, windows_per_participant=1, warmup="none", public_seed=1)
    mechanism = {"clients": 3, "rounds": 2, "client_fraction": 1.0, "noise_multiplier": 0.5}
    step = dp_step(dp, **mechanism)
    training = dataclasses.replace(TRAINING, privacy=client_privacy(dp, dp_record(dp, **mechanism)))
    expected_model = small_model()
    expected = run_inprocess(expected_model, clients, training=training, plan=federation, validator=None, seed=0,
                             device=CPU, progress=QUIET, server=step)
    seen = []
    probed = step.insert("probe", lambda state: seen.append((state.round, [r.client_id for r in state.results])),
                         after="clip")
    flower = small_model()
    history = run_flower_simulation(flower, clients, training=training, plan=federation, validator=None, seed=0,
                                    device=CPU, progress=QUIET, server=probed)
    assert seen == [(0, ["A", "B", "C"]), (1, ["A", "B", "C"])]  # the stage ran in the Flower ServerApp
    assert len(history.train_loss) == 2 and history.dropped == 0 and history.best_epoch == 1
    assert history.bytes_up == expected.bytes_up and history.train_loss == expected.train_loss
    assert history.privacy == expected.privacy and history.privacy["rounds"] == 2
    assert history.privacy["clipped_fraction"] == 1.0  # every client clipped its own update, on its node
    for key, value in expected_model.state_dict().items():  # same thread count, same arithmetic: bit-identical
        assert torch.equal(value, flower.state_dict()[key]), key


def test_engine_option_belongs_to_fedavg():
    result = runner.invoke(app, ["run", "--method", "au", "--engine", "flower", "--no-progress"])
    assert result.exit_code == 2 and "--engine applies to --method fedavg" in result.output


def test_unknown_engine_lists_the_valid_ones():
    result = runner.invoke(app, ["run", "--method", "fedavg", "--engine", "grid", "--no-progress"])
    assert result.exit_code == 2 and "unknown engine 'grid'; valid: inprocess, flower, deployment" in result.output
