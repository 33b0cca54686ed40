"""Gradient inversion: the attacks reconstruct a frame from its gradient, spend exactly their budget,
recover targets, replay local steps as the client's optimiser takes them, and never see the truth."""

from __future__ import annotations

import copy
import inspect
import math

import pytest
import torch
from torch import nn

from privbench.attacks.gradinv.analytic import leak, output_layer
from privbench.attacks.gradinv.inversions import INVERSIONS
from privbench.attacks.gradinv.objectives import loss_gradient, parameters_of
from privbench.attacks.gradinv.replay import matched_update, replayed_delta
from privbench.attacks.gradinv.threat import LocalSteps, ObservedUpdate, PixelSpace, VictimTruth
from privbench.attacks.gradinv.victim_models import VICTIM_MODELS, VictimSpec
from privbench.errors import ConfigError, InputError
from privbench.evaluate.metrics import ccc_loss
from privbench.train.loop import adam, one_cycle

PIXELS = PixelSpace((0.485, 0.456, 0.406), (0.229, 0.224, 0.225), grey=True)
TARGETS = torch.tensor([[0.4, -0.6]])


@pytest.fixture(autouse=True)
def one_thread():
    """Small double-backward graphs run several times faster on one thread than on two shared ones."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def face(side: int = 16) -> torch.Tensor:
    """A grey face-like frame [1, 3, S, S] in [0, 1]: a bright oval, dark eyes and mouth."""
    y, x = torch.meshgrid(torch.linspace(-1, 1, side), torch.linspace(-1, 1, side), indexing="ij")
    image = 0.25 + 0.5 * (x**2 / 0.5 + y**2 / 0.8 < 1).float()
    for cy, cx, r in ((-0.3, -0.35, 0.15), (-0.3, 0.35, 0.15), (0.45, 0.0, 0.2)):
        image = image - 0.3 * ((x - cx) ** 2 + (y - cy) ** 2 < r**2).float()
    return image.expand(3, side, side)[None].clone()


def training(steps: int = 1, optimizer: str = "sgd", lr: float = 0.01) -> LocalSteps:
    return LocalSteps(steps=steps, batch_size=1, lr=lr, optimizer=optimizer, loss="mse")


def observe(model: nn.Module, frames: torch.Tensor, targets: torch.Tensor, *, known: bool = True,
            local: LocalSteps | None = None) -> ObservedUpdate:
    """What the server sees from a client holding ``frames``: the gradient, or the delta of ``local``."""
    parameters = parameters_of(model)
    inputs = PIXELS.to_model(frames)
    if local is None:
        update, kind = loss_gradient(model, parameters, inputs, targets, create_graph=False), "gradient"
    else:
        update, kind = replayed_delta(model, parameters, inputs, targets, local), "weight_delta"
    return ObservedUpdate(model=model, kind=kind, update=[u.detach() for u in update],
                          training=local or training(), examples=frames.shape[0],
                          input_shape=tuple(frames.shape[1:]), pixels=PIXELS, targets=targets if known else None)


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return 10 * math.log10(1 / float((a - b).pow(2).mean()))


def victim(model: str = "cnn", seed: int = 1, **spec) -> nn.Module:
    return VICTIM_MODELS.get(model)(VictimSpec(model=model, **{"frame_size": 16, **spec}), seed=seed)


def cnn(side: int = 16) -> nn.Module:
    return victim(frame_size=side)


@pytest.mark.parametrize("attack, margin", [("ig", 2), ("privbench", 6)])
def test_the_attack_reconstructs_the_frame_far_better_than_its_mean(attack, margin):
    frame = face()
    reconstruction = INVERSIONS.get(attack)(observe(cnn(), frame, TARGETS), iterations=150, restarts=1, seed=0)
    baseline = psnr(torch.full_like(frame, float(frame.mean())), frame)
    assert reconstruction.pixels.shape == frame.shape
    assert psnr(reconstruction.pixels, frame) > baseline + margin


@pytest.mark.parametrize("attack, restarts", [("dlg", 1), ("dlg", 3), ("ig", 3), ("privbench", 2)])
def test_iterations_count_every_objective_evaluation(attack, restarts):
    model = cnn()
    observed = observe(model, face(), TARGETS)
    forwards, progress = [], []
    hook = model.register_forward_hook(lambda *_: forwards.append(1))
    reconstruction = INVERSIONS.get(attack)(observed, iterations=23, restarts=restarts, seed=0,
                                            progress_callback=progress.append)
    hook.remove()
    probes = 1 if attack == "privbench" else 0  # locating the output layer
    assert reconstruction.evaluations == sum(progress) == len(reconstruction.objective) == 23
    assert len(forwards) == 23 + probes


def test_the_attack_is_deterministic_given_the_seed():
    observed = observe(cnn(), face(), TARGETS)
    first, second = (INVERSIONS.get("ig")(observed, iterations=10, restarts=2, seed=3) for _ in range(2))
    assert torch.equal(first.pixels, second.pixels)


def test_unknown_targets_are_recovered_jointly_and_in_closed_form():
    observed = observe(cnn(), face(), TARGETS, known=False)
    joint = INVERSIONS.get("ig")(observed, iterations=150, restarts=1, seed=0, grey=True, init="grey")
    assert joint.targets.shape == TARGETS.shape
    assert (joint.targets - TARGETS).abs().max() < 0.15
    analytic = INVERSIONS.get("privbench")(observed, iterations=2, restarts=1, seed=0)
    assert torch.allclose(analytic.targets, TARGETS, atol=1e-4)
    assert any("closed form" in note for note in analytic.notes)


def test_the_output_layer_leaks_the_features_as_computed_by_hand():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    example, target = torch.randn(1, 4), torch.tensor([[0.5, -0.2]])
    hidden = torch.relu(model[0](example))
    gradient = loss_gradient(model, parameters_of(model), example, target, create_graph=False)
    layer = output_layer(model, example)
    assert layer is not None and layer.module is model[2] and (layer.weight_index, layer.bias_index) == (2, 3)
    g = (model(example) - target).detach()  # dL/do of the mean squared error over 2 outputs
    assert torch.allclose(gradient[3], g[0]) and torch.allclose(gradient[2], g.T @ hidden)
    leaked = leak(layer, gradient)
    assert torch.allclose(leaked.features, hidden, atol=1e-6)
    assert torch.allclose(leaked.targets, target, atol=1e-6)


def test_one_sgd_step_of_replay_is_the_gradient_case():
    model, frame = cnn(), face()
    local = training(steps=1, lr=0.05)
    delta = observe(model, frame, TARGETS, local=local)
    gradient = observe(model, frame, TARGETS)
    assert all(torch.allclose(d, -0.05 * g, atol=1e-7) for d, g in zip(delta.update, gradient.update))
    candidate = PIXELS.to_model(torch.rand_like(frame))
    from_delta, from_gradient = matched_update(delta), matched_update(gradient)
    replayed = replayed_delta(model, parameters_of(model), candidate, TARGETS, local)
    direct = from_gradient.simulate(candidate, TARGETS)
    assert all(torch.allclose(r, -0.05 * d, atol=1e-7) for r, d in zip(replayed, direct))
    for objective in ("ig", "privbench"):
        a = INVERSIONS.get(objective)(delta, iterations=3, restarts=1, seed=0).objective
        b = INVERSIONS.get(objective)(gradient, iterations=3, restarts=1, seed=0).objective
        assert a == pytest.approx(b, rel=1e-4)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_replayed_local_steps_match_torch_optimisers(optimizer):
    model, frames = cnn(), torch.rand(2, 3, 16, 16)
    targets = torch.tensor([[0.1, 0.2], [-0.3, 0.4]])
    local = training(steps=3, optimizer=optimizer, lr=0.01)
    client = copy.deepcopy(model)
    step = torch.optim.Adam(client.parameters(), lr=0.01) if optimizer == "adam" else torch.optim.SGD(
        client.parameters(), lr=0.01)
    for i in range(3):
        row = i % 2
        step.zero_grad()
        outputs = client(PIXELS.to_model(frames[row:row + 1]))
        nn.functional.mse_loss(outputs.reshape(1, 2), targets[row:row + 1]).backward()
        step.step()
    replay = replayed_delta(model, parameters_of(model), PIXELS.to_model(frames), targets, local)
    expected = [c.detach() - p.detach() for c, p in zip(client.parameters(), model.parameters())]
    assert all(torch.allclose(r, e, atol=1e-6) for r, e in zip(replay, expected))


def test_a_fedavg_update_is_inverted_by_replay():
    frame = face()
    observed = observe(cnn(), frame, TARGETS, local=training(steps=3, optimizer="sgd", lr=0.05))
    reconstruction = INVERSIONS.get("privbench")(observed, iterations=150, restarts=1, seed=0)
    assert psnr(reconstruction.pixels, frame) > psnr(torch.full_like(frame, float(frame.mean())), frame) + 3


def test_a_batch_of_frames_is_reconstructed_whole():
    model = cnn()
    frames = torch.rand(2, 3, 16, 16)
    observed = observe(model, frames, torch.zeros(2, 2), known=False)
    reconstruction = INVERSIONS.get("privbench")(observed, iterations=4, restarts=1, seed=0)
    assert reconstruction.pixels.shape == (2, 3, 16, 16) and reconstruction.targets.shape == (2, 2)
    assert reconstruction.pixels.min() >= 0 and reconstruction.pixels.max() <= 1


def test_bad_updates_and_options_are_refused():
    observed = observe(cnn(), face(), TARGETS)
    broken = copy.copy(observed.update)
    broken[0] = broken[0] * float("nan")
    with pytest.raises(InputError, match="non-finite"):
        INVERSIONS.get("ig")(ObservedUpdate(**{**observed.__dict__, "update": broken}), iterations=2, restarts=1,
                             seed=0)
    with pytest.raises(InputError, match="another architecture"):
        INVERSIONS.get("ig")(ObservedUpdate(**{**observed.__dict__, "update": broken[1:]}), iterations=2,
                             restarts=1, seed=0)
    with pytest.raises(ConfigError, match="unknown inversion option"):
        INVERSIONS.get("ig")(observed, iterations=2, restarts=1, seed=0, tv_weight=1.0)


def test_no_attack_takes_the_victims_truth():
    for name in INVERSIONS:
        parameters = inspect.signature(INVERSIONS.get(name)).parameters
        assert "VictimTruth" not in str(parameters) and not {"truth", "frames"} & set(parameters)
        assert VictimTruth.__name__ not in inspect.getsource(inspect.getmodule(INVERSIONS.get(name)))


@pytest.mark.parametrize("spec", [{"model": "cnn", "frame_size": 8}, {"model": "resnet18", "frame_size": 16},
                                  {"model": "resnet18", "frame_size": 32, "batchnorm": "train"},
                                  {"model": "cnn", "frame_size": 32, "head": "rnn"}])
def test_a_model_that_cannot_take_the_input_is_one_clear_line(spec):
    with pytest.raises(InputError, match=f"model={spec['model']} ") as error:
        victim(**spec)
    assert "\n" not in str(error.value)


def test_victims_map_frames_and_windows_to_valence_arousal():
    frames = torch.rand(2, 3, 32, 32)
    assert victim(frame_size=32)(frames).shape == (2, 1, 2)
    privbench = victim("resnet18", frame_size=32)
    reference = victim("resnet18", frame_size=32, init="torchvision", norm="group")
    assert privbench(frames).shape == (2, 1, 2) and not privbench.training
    assert all(float(m.bn2.weight.abs().sum()) == 0 for m in privbench.backbone.modules() if hasattr(m, "bn2"))
    assert all(float(m.bn2.weight.min()) == 1 for m in reference.backbone.modules() if hasattr(m, "bn2"))
    windows = victim("resnet18", head="rnn", frame_size=32, batchnorm="train", batch_frames=6)
    assert windows(torch.rand(2, 3, 3, 32, 32)).shape == (2, 3, 2) and windows.training
    assert torch.equal(victim(seed=4, frame_size=32)(frames), victim(seed=4, frame_size=32)(frames))


def test_the_attack_leaves_a_train_mode_model_unchanged():
    model = victim(batchnorm="train")
    before = copy.deepcopy(model.state_dict())
    INVERSIONS.get("privbench")(observe(model, face(), TARGETS), iterations=3, restarts=1, seed=0)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_windows_of_the_recurrent_model_are_reconstructed_with_their_targets():
    model = victim("resnet18", head="rnn", frame_size=32, norm="group", hidden=4)
    windows, targets = torch.rand(1, 2, 3, 32, 32), torch.tensor([[[0.1, 0.2], [0.3, 0.4]]])
    observed = observe(model, windows, targets, known=False)
    reconstruction = INVERSIONS.get("privbench")(observed, iterations=2, restarts=1, seed=0)
    assert reconstruction.pixels.shape == windows.shape and reconstruction.targets.shape == targets.shape
    assert not any("closed form" in note for note in reconstruction.notes)  # the head sums over the window


def test_replay_matches_the_fedavg_warm_up_step():
    """One-cycle Adam (fused, cycling beta1), the CCC loss and a scaled parameter group, as privbench's
    clients train: the replay on the client's frames reproduces its weight delta."""
    model, frames = cnn(), torch.rand(4, 3, 16, 16)
    targets = torch.tensor([[0.1, 0.2], [-0.3, 0.4], [0.5, -0.1], [0.0, 0.3]])
    client = copy.deepcopy(model)
    features, readout = list(client.features.parameters()), list(client.readout.parameters())
    optimizer = adam([{"params": features, "lr": 0.01 * 0.1}, {"params": readout, "lr": 0.01}])
    scheduler = one_cycle(optimizer, 5)
    lr_factors, beta1s = [], []
    for _ in range(5):
        lr_factors.append(optimizer.param_groups[1]["lr"] / 0.01)
        beta1s.append(optimizer.param_groups[1]["betas"][0])
        optimizer.zero_grad()
        ccc_loss(client(PIXELS.to_model(frames)), targets[:, None]).backward()
        optimizer.step()
        scheduler.step()
    local = LocalSteps(steps=5, batch_size=4, lr=0.01, optimizer="adam", loss="ccc", lr_factors=tuple(lr_factors),
                       beta1s=tuple(beta1s), parameter_scales=(0.1,) * len(features) + (1.0,) * len(readout))
    replay = replayed_delta(model, parameters_of(model), PIXELS.to_model(frames), targets, local)
    expected = [c.detach() - p.detach() for c, p in zip(client.parameters(), model.parameters())]
    assert len(set(beta1s)) > 1 and len(set(lr_factors)) > 1
    assert all(torch.allclose(r, e, atol=1e-6, rtol=1e-4) for r, e in zip(replay, expected))
