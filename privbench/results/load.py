"""Reading a result folder back, train or attack, checked: what the benchmark runner and the report build on."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from privbench.io import non_finite_paths
from privbench.results.checks import ResultError, check_metrics, check_run


@dataclass(frozen=True)
class ResultFolder:
    """One complete result folder, train or attack: ``run`` (run.json), ``config`` (config.yaml), ``metrics``
    (metrics.json) and ``folds`` (folds.csv), each checked when loaded; typed accessors for what the report
    reads. An accessor of the other kind (``attack`` of a train result) raises ``ResultError``."""

    path: Path
    run: dict[str, Any]
    config: dict[str, Any]
    metrics: dict[str, Any]
    folds: pd.DataFrame

    @property
    def kind(self) -> str:
        return self.run["kind"]

    @property
    def name(self) -> str:
        """The method (train runs) or attack (attack runs) that made it."""
        return self.run["method"] if self.kind == "train" else self.run["attack"]

    @property
    def seed(self) -> int:
        return self.run["seed"]

    @property
    def labels(self) -> dict[str, str]:
        """What the benchmark runner recorded (its job key, the axis values); {} for a run of its own."""
        return dict(self.run.get("labels", {}))

    @property
    def method(self) -> str:
        self._require("method", "train")
        return self.run["method"]

    @property
    def rnn(self) -> str:
        self._require("rnn", "train")
        return self.run["rnn"]

    @property
    def attack(self) -> str:
        self._require("attack", "attack")
        return self.run["attack"]

    @property
    def from_run(self) -> str | None:
        """The run folder the attack read (its predictions, its captured updates), or None."""
        self._require("from_run", "attack")
        return self.run.get("from_run")

    @property
    def headline(self) -> dict[str, float]:
        """The attack's metrics (metrics.json ``metrics``): ``top1``, ``psnr``, ..."""
        self._require("headline", "attack")
        return dict(self.metrics["metrics"])

    @property
    def baseline(self) -> dict[str, float]:
        """What chance (or the mean face) scores on the same metrics."""
        self._require("baseline", "attack")
        return dict(self.metrics["baseline"])

    @property
    def ci95(self) -> dict[str, tuple[float, float]]:
        """The 95% interval (low, high) of each metric that has one."""
        self._require("ci95", "attack")
        return {name: (low, high) for name, (low, high) in self.metrics["ci95"].items()}

    @property
    def threat_model(self) -> dict[str, Any]:
        """What the attack saw and how it was set up (metrics.json ``threat_model``, ``not_scored`` included)."""
        self._require("threat_model", "attack")
        return dict(self.metrics["threat_model"])

    def _require(self, accessor: str, kind: str) -> None:
        if self.kind != kind:
            raise ResultError(f"{self.path / 'run.json'}: {accessor} is for {kind} results, this is of kind "
                              f"{self.kind}")

    @cached_property
    def scores(self) -> dict[str, float]:
        """Headline numbers, flat: ``ccc.valence`` (mean over folds), ``efficiency.train_seconds``,
        ``privacy.epsilon`` for train runs; ``top1``, ``baseline.top1`` for attacks."""
        if self.kind == "attack":
            return {**_flat(self.metrics["metrics"]), **_flat(self.metrics["baseline"], "baseline.")}
        flat = {f"{metric}.{dim}": stats["mean"] for metric in ("ccc", "pcc", "rmse")
                for dim, stats in self.metrics.get(metric, {}).items()}
        for group in ("efficiency", "privacy"):
            flat.update(_flat(self.metrics.get(group, {}), f"{group}."))
        return flat


def load_result(path: Path | str) -> ResultFolder:
    """Read and check a train or attack result folder; anything else, or any problem, raises ``ResultError``
    naming the file (results/checks.py says what each kind must hold)."""
    path = Path(path)
    if not path.is_dir():
        raise ResultError(f"{path}: no such result folder")
    run = _json(path / "run.json")
    check_run(path / "run.json", run)
    metrics = _json(path / "metrics.json")
    folds = _folds(path / "folds.csv")
    check_metrics(path / "metrics.json", metrics, run, rows=len(folds))
    return ResultFolder(path, run, _yaml(path / "config.yaml"), metrics, folds)


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(), parse_constant=_refuse_constant)
    except FileNotFoundError:
        raise ResultError(f"{path}: missing (not a complete result folder)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ResultError(f"{path}: malformed JSON ({str(err).splitlines()[0]})") from None
    except ValueError as err:
        raise ResultError(f"{path}: {err}") from None
    if not isinstance(data, dict):
        raise ResultError(f"{path}: expected a JSON object")
    bad = non_finite_paths(data)
    if bad:
        raise ResultError(f"{path}: non-finite values at {', '.join(bad[:5])}")
    return data


def _refuse_constant(name: str) -> float:
    raise ValueError(f"non-finite value {name} (a broken run)")


def _yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ResultError(f"{path}: missing (not a complete result folder)") from None
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise ResultError(f"{path}: malformed YAML ({str(err).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise ResultError(f"{path}: expected a mapping")
    return data


def _folds(path: Path) -> pd.DataFrame:
    try:
        table = pd.read_csv(path)
    except FileNotFoundError:
        raise ResultError(f"{path}: missing (not a complete result folder)") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise ResultError(f"{path}: malformed CSV ({str(err).splitlines()[0]})") from None
    numbers = table.select_dtypes("number")
    if not numbers.apply(lambda column: column.map(math.isfinite)).all().all():
        raise ResultError(f"{path}: non-finite values")
    return table


def _flat(tree: dict[str, Any], prefix: str = "") -> dict[str, float]:
    flat: dict[str, float] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            flat[f"{prefix}{key}"] = float(value)
    return flat
