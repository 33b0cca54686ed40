"""What a result folder's records must hold, checked when a folder is written and when it is read: run.json's
keys for its kind and its labels; metrics.json of a train run (ccc, per-fold lists as long as folds.csv) or of
an attack (its name, threat model, metrics, baseline and 95% intervals). Each problem is one line naming the file."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from privbench.errors import ConfigError, InputError

KINDS = ("train", "attack")
REQUIRED_RUN_KEYS = ("run_id", "kind", "status")
KIND_RUN_KEYS = {"train": ("method", "rnn", "seed"), "attack": ("attack", "seed")}
ATTACK_KEYS = ("attack", "threat_model", "metrics", "baseline", "ci95")
RESERVED = ("config.yaml", "metrics.json", "folds.csv", "predictions.csv", "updates.pt", "models", "run.json")


class ResultError(InputError):
    """A result folder that is missing, incomplete, malformed, of an unknown kind or holds non-finite numbers."""


def check_run(path: Path, run: dict[str, Any]) -> None:
    """run.json: the common keys, a known kind, complete, its kind's keys, labels mapping names to strings."""
    missing = [k for k in REQUIRED_RUN_KEYS if k not in run]
    if missing:
        raise ResultError(f"{path}: missing key(s) {', '.join(missing)}")
    if run["kind"] not in KINDS:
        raise ResultError(f"{path}: kind {run['kind']!r} is not one of {', '.join(KINDS)}")
    if run["status"] != "complete":
        raise ResultError(f"{path}: status {run['status']!r}, not complete")
    missing = [k for k in KIND_RUN_KEYS[run["kind"]] if k not in run]
    if missing:
        raise ResultError(f"{path}: missing key(s) {', '.join(missing)} (every {run['kind']} result has them)")
    if not _labels_ok(run.get("labels", {})):
        raise ResultError(f"{path}: labels must be an object of strings (got {run['labels']!r})")


def check_labels(labels: dict[str, str] | None) -> None:
    """Refuse labels that run.json could not hold as names mapping to strings, before a run does any work."""
    if labels is not None and not _labels_ok(labels):
        raise ConfigError(f"labels must map names to strings (got {labels!r})")


def _labels_ok(labels: Any) -> bool:
    return isinstance(labels, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in labels.items())


def check_metrics(path: Path, metrics: dict[str, Any], run: dict[str, Any], *, rows: int) -> None:
    """metrics.json of the kind run.json (already checked) names; ``rows``: folds.csv's length."""
    if run["kind"] == "train":
        _check_train(path, metrics, rows)
    else:
        _check_attack(path, metrics, run["attack"])


def _check_train(path: Path, metrics: dict[str, Any], rows: int) -> None:
    if not isinstance(metrics.get("ccc"), dict):
        raise ResultError(f"{path}: no ccc (not a train result)")
    for metric in ("ccc", "pcc", "rmse"):
        for dim, stats in metrics.get(metric, {}).items():
            if len(stats.get("folds", [])) != rows:
                raise ResultError(f"{path}: {metric}.{dim} has {len(stats.get('folds', []))} folds but folds.csv "
                                  f"has {rows} rows")


def _check_attack(path: Path, metrics: dict[str, Any], attack: str) -> None:
    missing = [k for k in ATTACK_KEYS if k not in metrics]
    if missing:
        raise ResultError(f"{path}: missing key(s) {', '.join(missing)} (not an attack result)")
    if metrics["attack"] != attack:
        raise ResultError(f"{path}: attack {metrics['attack']!r}, but run.json says {attack!r}")
    not_objects = [k for k in ATTACK_KEYS[1:] if not isinstance(metrics[k], dict)]
    if not_objects:
        raise ResultError(f"{path}: {', '.join(not_objects)} must be JSON objects")
    for group in ("metrics", "baseline"):
        for name, value in metrics[group].items():
            if not _finite(value):
                raise ResultError(f"{path}: {group}.{name} is {value!r}, not a finite number")
    for name, interval in metrics["ci95"].items():
        if name not in metrics["metrics"]:
            raise ResultError(f"{path}: ci95.{name} names no metric of metrics")
        if not (isinstance(interval, (list, tuple)) and len(interval) == 2 and all(map(_finite, interval))):
            raise ResultError(f"{path}: ci95.{name} is {interval!r}, not a [low, high] pair of finite numbers")
        if interval[0] > interval[1]:
            raise ResultError(f"{path}: ci95.{name} has low {interval[0]} above high {interval[1]}")


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
