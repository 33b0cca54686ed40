"""``privbench attack gradinv --updates RUN_DIR``: the captured updates of a real fedavg run are attacked as they
are (warm-up rounds on frames, sequence rounds on windows); a foreign run is one line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from privbench.attacks.gradinv.captured_updates import load_run, one_cycle_schedule
from privbench.cli import app
from privbench.results import load_result

runner = CliRunner()


def attack(data: Path, run: Path, out: Path, *extra: str):
    return runner.invoke(app, ["attack", "gradinv", "--profile", "quick", "--no-progress", "--data", str(data),
                               "--updates", str(run), "--set", "victims=1", "--set", "iterations=1",
                               "--set", "matcher=gallery", "--out", str(out), *extra])


@pytest.mark.parametrize("round_, unit", [(1, "frame warm-up"), (2, "windows")])
def test_captured_updates_are_attacked_as_they_are(tiny_dataset, captured_fedavg_run, tmp_path, round_, unit):
    result = attack(tiny_dataset, captured_fedavg_run, tmp_path / "a", "--set", f"updates_round={round_}")
    assert result.exit_code == 0, result.output
    metrics = load_result(tmp_path / "a").metrics
    threat = metrics["threat_model"]
    assert unit in threat["update"] and threat["source"] == str(captured_fedavg_run) and threat["loss"] == "ccc"
    assert threat["known_targets"] is False and "target_error" not in metrics["metrics"]
    assert json.loads((tmp_path / "a" / "run.json").read_text())["from_run"] == str(captured_fedavg_run)
    assert all(np.isfinite(metrics["metrics"][k]) for k in ("psnr", "ssim", "reid_rate"))
    arrays = np.load(tmp_path / "a" / "reconstructions.npz")
    batch = threat["batch"]
    assert arrays["reconstruction"].shape == (batch, 32, 32, 3) and set(arrays["participant_id"]) == set(
        threat["clients"])


def test_the_warm_up_schedule_is_the_clients_one_cycle():
    factors, beta1s = one_cycle_schedule(2e-3, 20)
    assert factors[0] == pytest.approx(1 / 25) and max(factors) == pytest.approx(1.0, abs=0.02)
    assert beta1s[0] == pytest.approx(0.95) and min(beta1s) == pytest.approx(0.85, abs=0.01)


def test_every_captured_update_keeps_the_run_settings(captured_fedavg_run):
    run = load_run(captured_fedavg_run)
    assert {u.round for u in run.updates} == {1, 2} and run.normalise == "person" and run.input_size == 32


@pytest.mark.parametrize("damage, needle", [
    (lambda run: (run / "updates.pt").unlink(), "no captured client updates"),
    (lambda run: (run / "config.yaml").write_text(
        (run / "config.yaml").read_text().replace("hidden: 8", "hidden: 9")), "another architecture"),
    (lambda run: (run / "config.yaml").write_text(
        (run / "config.yaml").read_text().replace("method: fedavg", "method: central")), "needs a fedavg run"),
    (lambda run: (run / "config.yaml").unlink(), "not a run folder"),
])
def test_a_foreign_run_is_one_line(tiny_dataset, captured_fedavg_run, tmp_path, damage, needle):
    copy = tmp_path / "run"
    copy.mkdir()
    shutil.copy(captured_fedavg_run / "config.yaml", copy)
    (copy / "updates.pt").symlink_to(captured_fedavg_run / "updates.pt")  # 0.5 GB: linked, not copied
    damage(copy)
    result = attack(tiny_dataset, copy, tmp_path / "a")
    assert result.exit_code == 2 and needle in result.output and "Traceback" not in result.output, result.output
    assert not (tmp_path / "a").exists()


def test_a_round_that_was_not_captured_is_one_line(tiny_dataset, captured_fedavg_run, tmp_path):
    result = attack(tiny_dataset, captured_fedavg_run, tmp_path / "a", "--set", "updates_round=9")
    assert result.exit_code == 2 and "captured rounds: 1, 2" in result.output, result.output
    assert yaml.safe_load((captured_fedavg_run / "config.yaml").read_text())["method"] == "fedavg"
