"""DP-SGD (Opacus) as a wrapper of the plain training stage: accounting, clipping, noise, the no-noise limit,
the runs that use it and the inputs it refuses."""

import copy
import dataclasses
import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from privbench.cli import app
from privbench.config import build, profile_values
from privbench.data.windows import Sequence
from privbench.defences import DEFENCES, dp_assignments
from privbench.train.dpsgd import DPSGD
from privbench.errors import ConfigError
from privbench.methods.au import AUConfig
from privbench.results.models import load_fold_models
from privbench.settings import DPSettings
from privbench.train.loop import run_steps
from privbench.train.setup import au_model, au_training

runner = CliRunner()
AU = build(AUConfig, profile_values("au", "quick"), "au")


def dp_settings(**changes) -> DPSettings:
    return dataclasses.replace(AU.dp, epsilon=3.0, **changes)


def sequences(count: int, length: int = 40, seed: int = 0) -> list[Sequence]:
    rng = np.random.default_rng(seed)
    return [Sequence(f"P{i}", rng.normal(size=(length, 5)).astype(np.float32),
                     rng.uniform(-1, 1, size=(length, 2)).astype(np.float32)) for i in range(count)]


def private_setup(seqs: list[Sequence], dp: DPSettings, *, noise: float, seq_len: int = 10, batch: int = 4):
    """A DP-wrapped au stage on ``seqs`` (the head's Opacus layers), its model, the wrapper and an unwrapped twin
    of the model (copied before Opacus hooks it)."""
    torch.manual_seed(0)
    model = au_model(5, "bigru", AU.head, dp_compatible=True)
    twin = copy.deepcopy(model)
    wrap = DPSGD(dp, epochs=1, seed=0, noise_multiplier=noise)
    windows = dataclasses.replace(AU.windows, seq_len=seq_len, stride=seq_len)
    optim = dataclasses.replace(AU.optim, batch_size=batch)
    return au_training(model, seqs, windows=windows, optim=optim, seed=0, wrap=wrap), model, wrap, twin


def gradient(model: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])


@pytest.mark.parametrize("unit", ["window", "participant"])
def test_a_clipped_unit_gradient_never_exceeds_the_bound(unit):
    """One unit in the training set (one window, or one participant), sampled every step, no noise: the step's
    gradient is that unit's clipped gradient, at most C and exactly C where the raw gradient was larger."""
    seqs = sequences(1, length=10 if unit == "window" else 40)
    for bound, clipped in ((1e-4, True), (1e6, False)):
        setup, model, *_ = private_setup(seqs, dp_settings(unit=unit, max_grad_norm=bound, delta=0.5), noise=0.0)
        run_steps(setup, device=torch.device("cpu"), steps=1)
        norm = float(gradient(model).norm())
        assert norm <= bound * (1 + 1e-4)
        assert (abs(norm - bound) < 1e-3 * bound) == clipped


@pytest.mark.parametrize("unit", ["window", "participant"])
def test_the_noise_sd_is_the_noise_multiplier_times_the_bound(unit):
    seqs = sequences(1, length=10 if unit == "window" else 40)
    setup, model, *_ = private_setup(seqs, dp_settings(unit=unit, max_grad_norm=0.5, delta=0.5), noise=4.0)
    run_steps(setup, device=torch.device("cpu"), steps=1)
    values = gradient(model)  # one unit sampled with rate 1: (clipped gradient, norm <= 0.5, + noise) / 1
    assert len(values) > 2000 and abs(float(values.std()) - 4.0 * 0.5) < 0.05 * 2.0


@pytest.mark.parametrize("unit", ["window", "participant"])
def test_no_noise_and_an_unreachable_bound_give_the_plain_gradient(unit):
    """DP-SGD's step with sigma 0 and C = 1e12 is the plain gradient of the same batch, scaled from the batch's
    mean to Opacus's sum over the expected batch size."""
    seqs = sequences(6)
    setup, model, wrap, plain = private_setup(seqs, dp_settings(unit=unit, max_grad_norm=1e12, participants_per_step=3.0,
                                                         windows_per_participant=2), noise=0.0)
    inputs, labels = next(iter(setup.loader))
    assert len(inputs) > 0
    run_one = dataclasses.replace(setup, loader=[(inputs, labels)])
    run_steps(run_one, device=torch.device("cpu"))
    plain.zero_grad()
    setup.loss(plain(inputs), labels).backward()
    expected = 3.0 if unit == "participant" else len(setup.loader.dataset) * wrap.sample_rate
    torch.testing.assert_close(gradient(model), gradient(plain) * len(inputs) / expected, rtol=1e-4, atol=1e-7)


def test_the_participant_unit_samples_whole_participants_in_blocks():
    setup, _, wrap, _ = private_setup(sequences(8), dp_settings(unit="participant", participants_per_step=2.0,
                                                             windows_per_participant=3), noise=1.0)
    owners = [owner for owner, _ in setup.loader.dataset.index]
    sizes = []
    for batch in setup.loader.batch_sampler:
        blocks = [batch[i:i + 3] for i in range(0, len(batch), 3)]
        assert all(len({owners[i] for i in block}) == 1 for block in blocks)  # a block is one participant's
        assert len({owners[b[0]] for b in blocks}) == len(blocks)  # and no participant twice
        sizes.append(len(blocks))
    assert wrap.sample_rate == 0.25 and 0 < np.mean(sizes) < 8


def test_a_dp_run_spends_at_most_its_target_and_records_every_fold(tiny_dataset, tmp_path):
    out = tmp_path / "dp"
    result = runner.invoke(app, ["run", "--method", "au", "--rnn", "rnn", "--profile", "quick", "--folds", "2",
                                 "--data", str(tiny_dataset), "--no-progress", "--dp-epsilon", "2", "--set",
                                 "epochs=2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "(2.0" in result.output or "(1.9" in result.output  # the privacy line
    privacy = json.loads((out / "metrics.json").read_text())["privacy"]
    assert [f["fold"] for f in privacy["folds"]] == [0, 1]
    for record in privacy["folds"]:
        assert 0.9 * 2 < record["epsilon"] <= 2.0 and record["steps"] == record["planned_steps"] > 0
        assert record["unit"] == "window" and "does not protect a person" in record["guarantee"]
        assert record["noise_multiplier"] > 0 and record["accountant"] == "prv"
    assert privacy["epsilon"] == max(f["epsilon"] for f in privacy["folds"])
    models = load_fold_models(out)
    assert [m.fold for m in models] == [0, 1] and set(models[0].train).isdisjoint(models[0].test)
    assert torch.equal(models[0].preprocessing["mean"], torch.tensor([2.5] * 17 + [0.5] * 18))  # declared ranges


def test_the_frame_requirements_are_added_unless_the_user_chose():
    assert dp_assignments("au", 3.0) == ["dp.epsilon=3.0"]
    central = dp_assignments("central", 3.0, delta=1e-6, given=["dp.unit=participant", "loss=mse"])
    assert central == ["dp.unit=participant", "loss=mse", "dp.epsilon=3.0", "dp.delta=1e-06", "backbone.norm=group"]
    assert "normalise=imagenet" in dp_assignments("central", 3.0)
    assert DEFENCES.get("dpsgd-window-e3").assignments_for("dpsgd-window-e3", "central")[:2] == \
        ["dp.unit=window", "dp.epsilon=3.0"]
    with pytest.raises(ConfigError, match="applies to au, central, not fedavg"):  # DP-SGD; fedavg has dpfed-*
        DEFENCES.get("dpsgd-window-e3").assignments_for("dpsgd-window-e3", "fedavg")


@pytest.mark.parametrize("args, needle", [
    (["--method", "au", "--dp-epsilon", "0"], "--dp-epsilon must be positive"),
    (["--method", "au", "--dp-epsilon", "1", "--dp-delta", "1.5"], "delta must be in (0, 1)"),
    (["--method", "au", "--dp-delta", "1e-6"], "--dp-delta needs --dp-epsilon"),
    (["--method", "au", "--dp-epsilon", "1", "--set", "loss=ccc"], "the batch CCC loss"),
    (["--method", "central", "--dp-epsilon", "1", "--set", "backbone.norm=batch"], "backbone.norm=group"),
    (["--method", "central", "--dp-epsilon", "1", "--set", "normalise=person"], "window-level guarantee"),
    (["--method", "au", "--dp-epsilon", "1", "--dp-delta", "0.2", "--folds", "2"], "must be below 1 / the"),
])
def test_impossible_dp_settings_are_refused_in_one_line(tiny_dataset, tmp_path, args, needle):
    out = tmp_path / "run"
    result = runner.invoke(app, ["run", "--profile", "quick", "--no-progress", "--data", str(tiny_dataset), *args,
                                 "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert needle in result.output and not out.exists()
