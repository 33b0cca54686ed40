"""End-to-end: the au method through the API and the CLI on tiny synthetic data."""

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from privbench.cli import app
from privbench.experiment import resolve, run

runner = CliRunner()
TINY = ["data.participants=8", "data.seconds=40"]


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "quick"
    result = runner.invoke(app, ["run", "--method", "au", "--rnn", "bigru", "--profile", "quick", "--folds", "4",
                                 "--no-progress", "--out", str(out), *sum((["--set", a] for a in TINY), [])])
    assert result.exit_code == 0, result.output
    return out, result.output


def test_cli_prints_a_summary_and_the_result_path_last(quick_run):
    out, output = quick_run
    assert output.strip().splitlines()[-1] == str(out)
    assert "CCC" in output and "constant" in output and "inference, 100 frames" in output


def test_result_folder_has_the_documented_files(quick_run):
    out, _ = quick_run
    assert sorted(p.name for p in out.iterdir()) == ["config.yaml", "folds.csv", "metrics.json", "models",
                                                     "predictions.csv", "run.json"]
    assert sorted(p.name for p in (out / "models").iterdir()) == [f"fold_{k}.pt" for k in range(4)]
    record = json.loads((out / "run.json").read_text())
    assert record["status"] == "complete" and record["kind"] == "train"
    assert {"run_id", "method", "rnn", "dataset", "seed", "profile", "started", "finished", "versions",
            "git_commit"} <= set(record)
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["train"]["hidden"] == 16 and config["synthetic"]["participants"] == 8
    folds = pd.read_csv(out / "folds.csv")
    assert len(folds) == 4
    tested = " ".join(folds["test_participants"]).split()
    assert sorted(tested) == [f"P{i:02d}" for i in range(1, 9)]


def test_trained_model_beats_the_constant_predictor(quick_run):
    out, _ = quick_run
    metrics = json.loads((out / "metrics.json").read_text())
    for dim in ("valence", "arousal"):
        assert metrics["ccc"][dim]["mean"] > 0.1
        assert len(metrics["ccc"][dim]["folds"]) == 4
        assert metrics["baseline"]["constant"]["ccc"][dim]["mean"] == pytest.approx(0.0, abs=1e-9)
        assert metrics["rmse"][dim]["mean"] < metrics["baseline"]["constant"]["rmse"][dim]["mean"]
    efficiency = metrics["efficiency"]
    for key in ("train_seconds", "inference_seconds_per_100_frames", "inference_seconds_per_500_frames",
                "model_size_mb", "parameters", "peak_rss_mb"):
        assert efficiency[key] > 0


def test_same_seed_gives_identical_metrics(tmp_path):
    spec = resolve("au", "rnn", "quick", seed=5, folds=2, assignments=["data.participants=4", "data.seconds=20"])
    first, second = run(spec, tmp_path / "a"), run(spec, tmp_path / "b")
    assert first.metrics["ccc"] == second.metrics["ccc"]
    assert first.metrics["rmse"] == second.metrics["rmse"]
    other = run(resolve("au", "rnn", "quick", seed=6, folds=2, assignments=["data.participants=4", "data.seconds=20"]),
                tmp_path / "c")
    assert other.metrics["ccc"] != first.metrics["ccc"]


@pytest.mark.parametrize("rnn", ["rnn", "bilstm"])
def test_every_head_trains(tmp_path, rnn):
    spec = resolve("au", rnn, "quick", folds=2, assignments=["data.participants=4", "data.seconds=20", "loss=ccc"])
    outcome = run(spec, tmp_path / rnn)
    assert np.isfinite(outcome.metrics["ccc"]["valence"]["mean"])


def test_list_names_everything_in_json():
    result = runner.invoke(app, ["list", "--format", "json"])
    listed = json.loads(result.output)
    assert [m["name"] for m in listed["methods"]] == ["au", "central", "fedavg"]
    assert [r["name"] for r in listed["rnns"]] == ["bigru", "bilstm", "rnn"]
    assert [e["name"] for e in listed["engines"]] == ["inprocess", "flower", "deployment"]
