"""Reading a result folder back, checked: what the benchmark runner and the report build on."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from privbench.errors import InputError
from privbench.io import non_finite_paths

KINDS = ("train", "attack")
REQUIRED_RUN_KEYS = ("run_id", "kind", "status")


class ResultError(InputError):
    """A result folder that is missing, incomplete, malformed or holds non-finite numbers."""


@dataclass(frozen=True)
class ResultFolder:
    """One complete result folder: ``run`` (run.json), ``config`` (config.yaml), ``metrics``
    (metrics.json) and ``folds`` (folds.csv), each checked when loaded."""

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
        return self.run.get("method") or self.run.get("attack") or "?"

    @cached_property
    def scores(self) -> dict[str, float]:
        """Headline numbers, flat: ``ccc.valence`` (mean over folds), ``efficiency.train_seconds``,
        ``privacy.epsilon`` for train runs; ``top1``, ``baseline.top1`` for attacks."""
        if self.kind == "attack":
            return {**_flat(self.metrics.get("metrics", {})), **_flat(self.metrics.get("baseline", {}), "baseline.")}
        flat = {f"{metric}.{dim}": stats["mean"] for metric in ("ccc", "pcc", "rmse")
                for dim, stats in self.metrics.get(metric, {}).items()}
        for group in ("efficiency", "privacy"):
            flat.update(_flat(self.metrics.get(group, {}), f"{group}."))
        return flat


def load_result(path: Path | str) -> ResultFolder:
    """Read and check a result folder; any problem raises ``ResultError`` naming the file."""
    path = Path(path)
    if not path.is_dir():
        raise ResultError(f"{path}: no such result folder")
    run = _json(path / "run.json")
    missing = [k for k in REQUIRED_RUN_KEYS if k not in run]
    if missing:
        raise ResultError(f"{path / 'run.json'}: missing key(s) {', '.join(missing)}")
    if run["kind"] not in KINDS:
        raise ResultError(f"{path / 'run.json'}: kind {run['kind']!r} is not one of {', '.join(KINDS)}")
    if run["status"] != "complete":
        raise ResultError(f"{path / 'run.json'}: status {run['status']!r}, not complete")
    metrics = _json(path / "metrics.json")
    folds = _folds(path / "folds.csv")
    if run["kind"] == "train":
        _check_train_metrics(path / "metrics.json", metrics, len(folds))
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


def _check_train_metrics(path: Path, metrics: dict[str, Any], rows: int) -> None:
    for metric in ("ccc", "pcc", "rmse"):
        for dim, stats in metrics.get(metric, {}).items():
            if len(stats.get("folds", [])) != rows:
                raise ResultError(f"{path}: {metric}.{dim} has {len(stats.get('folds', []))} folds but folds.csv "
                                  f"has {rows} rows")
    if "ccc" not in metrics:
        raise ResultError(f"{path}: no ccc (not a train result)")


def _flat(tree: dict[str, Any], prefix: str = "") -> dict[str, float]:
    flat: dict[str, float] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            flat[f"{prefix}{key}"] = float(value)
    return flat
