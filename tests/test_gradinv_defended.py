"""``privbench attack gradinv`` on a simulated round under the federated defences: the server sees the update
after the client's own mechanism (clipping, local noise) and before the server's noise; under secure
aggregation only the quantised sum of k updates. Bad settings are one line."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import torch
from test_attack_gradinv import QUICK, attack, runner

from privbench.attacks.gradinv.client_round import client_update, observe, observe_sum
from privbench.attacks.gradinv.defences import Federation, client_mechanism, secure_record
from privbench.attacks.gradinv.threat import LocalSteps, PixelSpace
from privbench.attacks.gradinv.victim_models import VICTIM_MODELS, VictimSpec
from privbench.attacks.gradinv.victims import ClientData
from privbench.cli import app
from privbench.results import load_result
from privbench.federated.secure import quantisation_step
from privbench.settings import DPSettings, SecAggSettings

PIXELS = PixelSpace((0.5, 0.5, 0.5), (0.25, 0.25, 0.25))
FEDERATION = Federation(clients=6, rounds=30, client_fraction=0.25, secure_clients=2)
SGD = LocalSteps(steps=1, batch_size=1, lr=0.01, optimizer="sgd")
DP = DPSettings(epsilon=8.0, delta=1e-5, max_grad_norm=1.0, accountant="prv", mode="server", unit="window",
                participants_per_step=4.0, windows_per_participant=4, warmup="public", public_seed=1000)
SECAGG = SecAggSettings(enabled=True, num_shares=0, reconstruction_threshold=2, clipping_range=8.0,
                        quantization_range=4194304, modulus_range=4294967296)


def clients(count: int) -> list[ClientData]:
    generator = torch.Generator().manual_seed(0)
    return [ClientData(f"P0{i}", torch.rand(1, 3, 32, 32, generator=generator),
                       torch.rand(1, 2, generator=generator) * 2 - 1, np.array([i])) for i in range(count)]


def model() -> torch.nn.Module:
    return VICTIM_MODELS.get("cnn")(VictimSpec(model="cnn", frame_size=32), seed=0)


def norm(tensors: list[torch.Tensor]) -> float:
    return math.sqrt(sum(float(t.double().square().sum()) for t in tensors))


def test_local_dp_at_epsilon_1_leaves_the_mean_face(tiny_dataset, tmp_path):
    # the undefended attack with the same seed beats the mean face by 3 dB:
    # test_attack_gradinv.test_fedsgd_on_one_frame_leaks_the_face
    metrics = attack(tiny_dataset, tmp_path / "a", "--set", "iterations=200", "--dp-epsilon", "1",
                     "--set", "dp.mode=local")
    defence = metrics["threat_model"]["defence"]
    assert defence["mechanism"] == "dp-fedavg-local" and defence["server_saw"] == "noised update"
    assert defence["protects_against_this_adversary"] == "yes" and defence["noise_std"] > 2 * defence["max_grad_norm"]
    assert defence["epsilon"] == 1 and defence["delta"] == 1e-5
    assert metrics["ci95"]["psnr"][0] <= metrics["baseline"]["psnr"] + 0.5


@pytest.mark.parametrize("training", [SGD, LocalSteps(steps=3, batch_size=1, lr=0.01, optimizer="adam")])
def test_client_clipping_bounds_the_observed_delta(training):
    victim, (client,) = model(), clients(1)
    mechanism = client_mechanism(replace(DP, mode="client", max_grad_norm=1e-3),
                                 FEDERATION, seed=0)
    raw = client_update(victim, client, training=training, pixels=PIXELS)[1]
    observed = observe(victim, client, training=training, pixels=PIXELS, known_targets=True, mechanism=mechanism)
    scale = training.lr if observed.kind == "gradient" else 1.0  # a FedSGD gradient g is the delta -lr*g
    assert norm(raw) * scale > 1e-3 >= norm(observed.update) * scale * (1 - 1e-6)
    assert mechanism.record["server_saw"] == "clipped update"
    assert mechanism.record["protects_against_this_adversary"] == "no"


def test_server_dp_gives_no_protection_and_the_update_is_the_raw_one(tiny_dataset, tmp_path):
    victim, (client,) = model(), clients(1)
    mechanism = client_mechanism(DP, FEDERATION, seed=0)
    defended = observe(victim, client, training=SGD, pixels=PIXELS, known_targets=True, mechanism=mechanism)
    plain = observe(victim, client, training=SGD, pixels=PIXELS, known_targets=True)
    assert all(torch.equal(a, b) for a, b in zip(defended.update, plain.update))
    result = runner.invoke(app, [*QUICK, "--data", str(tiny_dataset), "--out", str(tmp_path / "a"), "--set",
                                 "iterations=5", "--set", "victims=1", "--dp-epsilon", "8"])
    assert result.exit_code == 0, result.output
    assert "gives no protection against this adversary" in " ".join(result.output.split())
    defence = load_result(tmp_path / "a").threat_model["defence"]
    assert defence["protects_against_this_adversary"] == "no" and "no protection" in defence["note"]
    assert defence["server_noise_std"] > 0 and defence["noise_std"] == 0


def test_secure_aggregation_reveals_the_quantised_sum(tiny_dataset, tmp_path):
    victim, round_clients = model(), clients(3)
    mechanism = client_mechanism(replace(DP, epsilon=None), FEDERATION, seed=0)
    observed = observe_sum(victim, round_clients, training=SGD, pixels=PIXELS, known_targets=True,
                           mechanism=mechanism, secagg=SECAGG, seed=0)
    deltas = [[-SGD.lr * u for u in client_update(victim, c, training=SGD, pixels=PIXELS)[1]] for c in round_clients]
    plain = [sum(parts) for parts in zip(*deltas)]
    error = max(float((-SGD.lr * o - p).abs().max()) for o, p in zip(observed.update, plain))
    assert 0 < error <= len(round_clients) * quantisation_step(SECAGG)
    assert observed.examples == 3 and observed.targets.shape == (3, 2)
    metrics = attack(tiny_dataset, tmp_path / "a", "--set", "iterations=5", "--secure-aggregation", "--set",
                     "secagg_clients=4")
    defence = metrics["threat_model"]["defence"]
    assert defence["secure_clients"] == 4 and defence["server_saw"] == "sum of 4 updates"
    assert metrics["threat_model"]["victims"] == 4



def test_local_noise_comes_before_the_secure_sum():
    victim, round_clients = model(), clients(2)
    mechanism = client_mechanism(replace(DP, mode="local"), FEDERATION, seed=0)
    wide = replace(SECAGG, clipping_range=1000.0)  # the default range, 8, would clip the noise (sd 6.6)
    observed = observe_sum(victim, round_clients, training=SGD, pixels=PIXELS, known_targets=False,
                           mechanism=mechanism, secagg=wide, seed=0)
    coordinates = sum(u.numel() for u in observed.update)
    expected = mechanism.noise_std * math.sqrt(2 * coordinates)  # two clients' noise, summed
    assert norm(observed.update) * SGD.lr == pytest.approx(expected, rel=0.05) and observed.targets is None
    record = secure_record(mechanism.record, SECAGG, 2)
    assert record["mechanism"] == "secagg+ dp-fedavg-local" and record["noise_std"] == mechanism.noise_std

@pytest.mark.parametrize("extra, needle", [
    (["--dp-epsilon", "0"], "--dp-epsilon must be positive"),
    (["--set", "dp.epsilon=-1"], "epsilon must be positive"),
    (["--secure-aggregation", "--set", "secagg_clients=1"], "secagg_clients must be 0"),
    (["--dp-epsilon", "1", "--set", "dp.mode=noisy"], "dp.mode"),
    (["--dp-epsilon", "1", "--set", "dp.mode=dpsgd"], "dp.mode=dpsgd (DP-SGD inside each client) is not simulated"),
    (["--secure-aggregation", "--dp-epsilon", "1"], "secure aggregation with dp.mode=server cannot work"),
])
def test_bad_defence_settings_are_one_line(tiny_dataset, tmp_path, extra, needle):
    result = runner.invoke(app, [*QUICK, "--data", str(tiny_dataset), "--out", str(tmp_path / "a"), *extra])
    assert result.exit_code == 2, result.output
    assert needle in result.output and len(result.output.strip().splitlines()) == 1, result.output
    assert not (tmp_path / "a").exists()
