"""One writer and one loader for train and attack result folders: an attack folder round-trips, a malformed
one is refused naming its file, labels reach run.json and come back."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from privbench.attacks.runner import AttackEntry, AttackOutcome, resolve, run_attack
from privbench.errors import ConfigError
from privbench.experiment import resolve as resolve_train
from privbench.experiment import run as run_train
from privbench.progress import Progress
from privbench.results import ResultError, load_result, write_result

METRICS = {"attack": "reid", "threat_model": {"release": "raw", "not_scored": {}},
           "metrics": {"top1": 0.8, "auc": 0.6}, "baseline": {"top1": 0.1, "auc": 0.5},
           "ci95": {"top1": [0.6, 0.95], "auc": [0.4, 0.8]}}
RUN = {"run_id": "r", "kind": "attack", "attack": "reid", "seed": 0, "from_run": None, "status": "complete"}
LABELS = {"bench_key": "b1", "job": "reid-none", "defence": "none"}


def attack_folder(folder: Path, metrics: dict | None = None, **keys) -> Path:
    folder.mkdir()
    extras = {"tables": {"curves.csv": pd.DataFrame({"seconds": [1.0]})},
              "figures": {"roc.png": lambda path: path.write_bytes(b"png")}}
    rows = pd.DataFrame({"model": ["logreg"], "top1": [0.8]})
    write_result(folder, {"attack": "reid"}, RUN, metrics or METRICS, rows, **{**extras, **keys})
    return folder


def test_an_attack_folder_round_trips(tmp_path):
    result = load_result(attack_folder(tmp_path / "a", labels=LABELS))
    assert sorted(p.name for p in result.path.iterdir()) == ["config.yaml", "curves.csv", "folds.csv",
                                                             "metrics.json", "roc.png", "run.json"]
    assert result.kind == "attack" and result.attack == result.name == "reid" and result.from_run is None
    assert result.headline == {"top1": 0.8, "auc": 0.6} and result.baseline["top1"] == 0.1
    assert result.ci95 == {"top1": (0.6, 0.95), "auc": (0.4, 0.8)} and result.threat_model["release"] == "raw"
    assert result.labels == LABELS and result.seed == 0 and result.scores["baseline.auc"] == 0.5
    with pytest.raises(ResultError, match="run.json: method is for train results, this is of kind attack"):
        result.method


def test_a_folder_without_labels_has_none(tmp_path):
    assert load_result(attack_folder(tmp_path / "a")).labels == {}


def broken(folder: Path, name: str, change) -> Path:
    data = json.loads((folder / name).read_text())
    change(data)
    (folder / name).write_text(json.dumps(data))
    return folder


@pytest.mark.parametrize("name, change, needle", [
    ("metrics.json", lambda m: m.pop("ci95"), "missing key(s) ci95 (not an attack result)"),
    ("metrics.json", lambda m: m["ci95"].update(top1=[0.9, 0.6]), "ci95.top1 has low 0.9 above high 0.6"),
    ("metrics.json", lambda m: m["ci95"].update(top9=[0.1, 0.2]), "ci95.top9 names no metric"),
    ("metrics.json", lambda m: m["ci95"].update(auc=[0.1]), "ci95.auc is [0.1], not a [low, high] pair"),
    ("metrics.json", lambda m: m.update(attack="gradinv"), "attack 'gradinv', but run.json says 'reid'"),
    ("metrics.json", lambda m: m.update(threat_model="raw"), "threat_model must be JSON objects"),
    ("metrics.json", lambda m: m["metrics"].update(top1="high"), "metrics.top1 is 'high', not a finite number"),
    ("run.json", lambda r: r.update(kind="bench"), "kind 'bench' is not one of train, attack"),
    ("run.json", lambda r: r.pop("attack"), "missing key(s) attack (every attack result has them)"),
    ("run.json", lambda r: r.update(labels={"job": 3}), "labels must be an object of strings"),
])
def test_a_malformed_attack_folder_is_refused_naming_its_file(tmp_path, name, change, needle):
    folder = broken(attack_folder(tmp_path / "a"), name, change)
    with pytest.raises(ResultError) as err:
        load_result(folder)
    assert needle in str(err.value) and str(folder / name) in str(err.value) and "\n" not in str(err.value)


def test_a_nan_metric_is_refused_naming_its_file(tmp_path):
    folder = attack_folder(tmp_path / "a")
    (folder / "metrics.json").write_text((folder / "metrics.json").read_text().replace("0.8,", "NaN,", 1))
    with pytest.raises(ResultError, match="metrics.json: non-finite value NaN"):
        load_result(folder)


def test_a_folder_without_run_json_is_refused(tmp_path):
    (attack_folder(tmp_path / "a") / "run.json").unlink()
    with pytest.raises(ResultError, match="run.json: missing"):
        load_result(tmp_path / "a")


def test_the_writer_refuses_what_the_loader_would(tmp_path):
    with pytest.raises(ResultError, match="ci95.top1 has low"):
        attack_folder(tmp_path / "a", {**METRICS, "ci95": {"top1": [1.0, 0.0]}})
    assert not (tmp_path / "a" / "metrics.json").exists()
    with pytest.raises(ValueError, match="plain names other than"):
        attack_folder(tmp_path / "b", tables={"run.json": pd.DataFrame()})


def fixed_attack(dataset, settings, *, seed, from_run, progress) -> AttackOutcome:
    return AttackOutcome(metrics={**METRICS, "attack": "gradinv"}, rows=pd.DataFrame({"psnr": [12.0]}))


def test_run_attack_records_its_labels(tiny_dataset, tmp_path):
    from privbench.attacks.gradinv.run import GradinvConfig

    spec = resolve("gradinv", GradinvConfig, profile="quick", seed=0, data=str(tiny_dataset), from_run=None,
                   assignments=[])
    path, _ = run_attack(spec, AttackEntry(GradinvConfig, fixed_attack, reads="frames"), tmp_path / "a",
                         Progress(enabled=False), labels=LABELS)
    assert load_result(path).labels == LABELS
    with pytest.raises(ConfigError, match="labels must map names to strings"):
        run_attack(spec, AttackEntry(GradinvConfig, fixed_attack), tmp_path / "b", Progress(enabled=False),
                   labels={"seed": 0})
    assert not (tmp_path / "b").exists()


def test_a_training_run_records_its_labels(tmp_path):
    spec = resolve_train("au", "rnn", "quick", folds=2, assignments=["data.participants=6", "data.seconds=20",
                                                                      "epochs=1"])
    outcome = run_train(spec, tmp_path / "t", labels={"job": "au-rnn"})
    result = load_result(outcome.path)
    assert result.labels == {"job": "au-rnn"} and (result.method, result.rnn, result.seed) == ("au", "rnn", 0)
    with pytest.raises(ResultError, match="ci95 is for attack results, this is of kind train"):
        result.ci95
