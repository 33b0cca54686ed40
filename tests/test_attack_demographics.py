"""``privbench attack demographics``: the null test, the positive test, too-small classes, bad input."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import tiny_config
from typer.testing import CliRunner

from privbench.attacks.demographics.attack import attribute_values
from privbench.cli import app
from privbench.data.generate import write_synthetic
from privbench.progress import Progress
from privbench.results import load_result

runner = CliRunner()
FAST = ["attack", "demographics", "--profile", "quick", "--no-progress", "--set", "permutations=10"]


def synthetic(path: Path, *settings: str) -> Path:
    return write_synthetic(tiny_config(*settings), path, force=False, frames=False, progress=Progress(enabled=False))


def attack(data: Path, out: Path, *extra: str) -> dict:
    result = runner.invoke(app, [*FAST, "--data", str(data), "--out", str(out), *extra])
    assert result.exit_code == 0, result.output
    return load_result(out).metrics  # every folder an attack writes loads, checked


def test_gender_is_found_above_its_baseline(tmp_path):
    metrics = attack(synthetic(tmp_path / "data", "participants=24", "seconds=40"), tmp_path / "a")
    low, _ = metrics["ci95"]["gender_balanced_accuracy"]
    assert low > metrics["baseline"]["gender_balanced_accuracy"] == 0.5
    assert metrics["metrics"]["gender_p_value"] <= 0.1  # 10 permutations: 1/11 is the smallest possible
    assert (tmp_path / "a" / "attributes.png").exists()


def test_the_null_test_sits_at_chance(tmp_path):
    """No demographic (and no identity) signal: every headline interval holds chance, no p-value is
    small. benchmarks/null_coverage.py measures how often this holds over many null datasets."""
    data = synthetic(tmp_path / "null", "participants=24", "seconds=40", "identity_strength=0",
                     "demographic_strength=0")
    metrics = attack(data, tmp_path / "a")
    for attribute in ("gender", "age", "language"):
        low, high = metrics["ci95"][f"{attribute}_balanced_accuracy"]
        assert low <= metrics["baseline"][f"{attribute}_balanced_accuracy"] <= high, (attribute, low, high)
        assert metrics["metrics"][f"{attribute}_p_value"] > 0.05, attribute


def test_a_class_with_too_few_people_is_reported_not_scored(tmp_path):
    data = synthetic(tmp_path / "data", "participants=8", "seconds=20")
    table = pd.read_csv(data / "participants.csv")
    table.loc[0, "language"] = "Romansh"  # one speaker
    table.to_csv(data / "participants.csv", index=False)
    metrics = attack(data, tmp_path / "a", "--set", "min_per_class=2")
    reason = metrics["threat_model"]["not_scored"]["language"]
    assert "'Romansh' has 1 people" in reason
    assert not any(k.startswith("language_") for k in metrics["metrics"])


def test_ages_become_two_bands_at_the_median():
    table = pd.DataFrame({"participant_id": ["a", "b", "c", "d"], "age": [20, 30, 40, None]})
    assert attribute_values(table, "age") == {"a": "<= 30", "b": "<= 30", "c": "> 30"}


def test_a_dataset_without_metadata_is_one_line(tmp_path):
    data = synthetic(tmp_path / "data", "participants=6", "seconds=20")
    pd.read_csv(data / "participants.csv")[["participant_id"]].to_csv(data / "participants.csv", index=False)
    result = runner.invoke(app, [*FAST, "--data", str(data), "--out", str(tmp_path / "a")])
    assert result.exit_code == 2
    assert "participants.csv: no demographic attributes to infer" in result.output
    assert not (tmp_path / "a").exists()


@pytest.mark.parametrize("extra, needle", [
    (["--set", "model=svm"], "unknown attack model 'svm'"),
    (["--set", "folds=1"], "folds must be at least 2"),
    (["--set", "release=predictions"], "needs --from-run"),
])
def test_bad_options_are_one_line(tmp_path, extra, needle):
    result = runner.invoke(app, [*FAST, "--out", str(tmp_path / "a"), *extra])
    assert result.exit_code == 2 and needle in result.output, result.output
