"""Reading result folders back: typed, checked, with metric directions; peak memory per run."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from privbench.cli import app
from privbench.errors import ConfigError, InputError
from privbench.evaluate.efficiency import PeakMemory
from privbench.results import METRICS, ResultError, direction, load_result
from privbench.types import ClientUpdate, load_updates, save_updates

runner = CliRunner()


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "au"
    outcome = runner.invoke(app, ["run", "--method", "au", "--rnn", "rnn", "--profile", "quick", "--folds", "2",
                                  "--no-progress", "--set", "data.participants=6", "--out", str(out)])
    assert outcome.exit_code == 0, outcome.output
    return out


def test_a_run_folder_loads_with_its_headline_scores(result):
    loaded = load_result(result)
    assert loaded.kind == "train" and loaded.name == "au" and len(loaded.folds) == 2
    metrics = json.loads((result / "metrics.json").read_text())
    assert loaded.scores["ccc.valence"] == metrics["ccc"]["valence"]["mean"]
    assert loaded.scores["efficiency.peak_rss_mb"] > 0
    assert loaded.config["train"]["hidden"] > 0


def test_every_score_of_a_run_has_a_direction(result):
    for key in load_result(result).scores:
        assert direction(key.split(".")[-1 if key.startswith(("efficiency", "privacy")) else 0]) in ("higher", "lower")
    assert direction("ccc") == "higher" and direction("rmse") == "lower"
    assert direction("gender_balanced_accuracy") == "lower" and direction("age_band_p_value") == "higher"
    with pytest.raises(ConfigError, match="unknown metric 'speed'"):
        direction("speed")
    assert all(spec.better in ("higher", "lower") for spec in METRICS.values())


def broken(result, tmp_path, name, text):
    copy = tmp_path / "copy"
    shutil.copytree(result, copy)
    (copy / name).write_text(text)
    return copy


@pytest.mark.parametrize("name, text, needle", [
    ("metrics.json", '{"ccc": {"valence": {"mean": NaN}}}', "non-finite value NaN"),
    ("metrics.json", '{"ccc": ', "malformed JSON"),
    ("metrics.json", '{"pcc": {}}', "no ccc (not a train result)"),
    ("run.json", '{"run_id": "x", "kind": "train", "status": "failed"}', "status 'failed'"),
    ("run.json", '{"run_id": "x", "status": "complete"}', "missing key(s) kind"),
    ("folds.csv", "fold,ccc_valence\n0,inf\n1,0.2\n", "folds.csv: non-finite values"),
    ("folds.csv", "fold,ccc_valence\n0,0.1\n", "has 2 folds but folds.csv has 1 rows"),
    ("config.yaml", "[unclosed", "malformed YAML"),
])
def test_a_broken_result_folder_names_the_file(result, tmp_path, name, text, needle):
    with pytest.raises(ResultError, match=None) as err:
        load_result(broken(result, tmp_path, name, text))
    assert needle in str(err.value) and name in str(err.value)


def test_a_missing_file_or_folder_is_named(result, tmp_path):
    with pytest.raises(ResultError, match="no such result folder"):
        load_result(tmp_path / "nowhere")
    copy = tmp_path / "copy"
    shutil.copytree(result, copy)
    (copy / "metrics.json").unlink()
    with pytest.raises(ResultError, match="metrics.json: missing"):
        load_result(copy)


def test_peak_memory_is_per_block_not_per_process():
    """In a fresh process: a long-lived one (this test session) may serve a block from memory it already holds,
    which no resident-size measure can see."""
    code = """
import numpy as np
from privbench.evaluate.efficiency import PeakMemory
with PeakMemory() as big:
    block = np.ones(400_000_000 // 8)
    block[::512] = 2.0
del block
with PeakMemory() as small:
    np.ones(10_000_000 // 8).sum()
print(big.mb, small.mb)
"""
    big, small = map(float, subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                           check=True).stdout.split())
    assert big > small + 300  # the first block's 400 MB do not count against the second


def small_update(**changes) -> ClientUpdate:
    weights = {"w": torch.zeros(3, 2), "steps": torch.tensor(4)}
    update = ClientUpdate(round=2, client_id="P01", examples=12, kind="weight_delta", global_weights=weights,
                          delta={"w": torch.full((3, 2), 0.5)}, training={"lr": 1e-3, "local_steps": 3}, loss=0.25)
    return dataclasses.replace(update, **changes)


def test_client_updates_round_trip_with_what_the_server_knew(tmp_path):
    path = tmp_path / "updates.pt"
    save_updates(path, [small_update(), small_update(client_id="P02")])
    loaded = load_updates(path)
    assert [u.client_id for u in loaded] == ["P01", "P02"]
    assert torch.equal(loaded[0].delta["w"], torch.full((3, 2), 0.5)) and loaded[0].training["local_steps"] == 3
    assert loaded[1].global_weights["steps"].item() == 4 and loaded[1].loss == 0.25


def test_the_weights_a_round_sent_are_stored_once(tmp_path):
    sent = {"w": torch.zeros(1000, 250)}  # 1 MB, shared by the round's updates
    updates = [small_update(global_weights=sent, client_id=f"P{i}", delta={"w": torch.ones(2)}) for i in range(5)]
    save_updates(tmp_path / "updates.pt", updates)
    assert (tmp_path / "updates.pt").stat().st_size < 1.5e6


@pytest.mark.parametrize("damage, needle", [
    (lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]), "not a readable updates file"),
    (lambda p: torch.save([{"round": 1}], p), "not a privbench client-updates file"),
    (lambda p: torch.save({"format": "privbench.client-updates", "version": 99, "updates": []}, p), "version 99"),
])
def test_a_broken_updates_file_is_named(tmp_path, damage, needle):
    path = tmp_path / "updates.pt"
    save_updates(path, [small_update()])
    damage(path)
    with pytest.raises(InputError, match=needle):
        load_updates(path)


def test_non_finite_updates_are_refused(tmp_path):
    path = tmp_path / "updates.pt"
    save_updates(path, [small_update(delta={"w": torch.tensor([float("nan")])})])
    with pytest.raises(InputError, match="client P01, round 2.*non-finite"):
        load_updates(path)


def test_a_run_writes_its_out_of_fold_predictions(result):
    from privbench.release.predictions import read_predictions
    from privbench.data.layout import DIMENSIONS
    from privbench.evaluate.metrics import ccc

    table = read_predictions(result / "predictions.csv")
    folds = load_result(result)
    assert sorted(table["participant"].unique()) == sorted(" ".join(folds.folds["test_participants"]).split())
    for fold, rows in table.groupby("fold"):  # the fold's CCC is the CCC of its rows
        expected = folds.metrics["ccc"]["valence"]["folds"][fold]
        assert ccc(rows["valence_gold"], rows["valence_predicted"]) == pytest.approx(expected, abs=1e-4)
    assert {f"{d}_{k}" for d in DIMENSIONS for k in ("predicted", "gold")} <= set(table.columns)
