"""Writing a result folder, train or attack: its files (config.yaml, metrics.json, folds.csv, extras, run.json
last) and provenance."""

from __future__ import annotations

import platform
import secrets
import subprocess
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

import pandas as pd
import yaml

from privbench.io import write_json
from privbench.results.checks import RESERVED, check_metrics, check_run

PACKAGES = ("privbench", "torch", "torchvision", "numpy", "pandas", "scikit-learn", "flwr", "opacus")


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def new_run_id(*parts: str) -> str:
    """e.g. 20261126-142501-au-bigru-3f9a: sortable by time, unique per run."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    return "-".join([stamp, *parts, secrets.token_hex(2)])


def versions() -> dict[str, str]:
    found = {"python": platform.python_version(), "platform": platform.platform()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def git_commit() -> str | None:
    """The commit of the privbench source tree, when it is a git checkout."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=5,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None


def write_result(folder: Path, config: dict, run: dict, metrics: dict, rows: pd.DataFrame | list[dict[str, Any]], *,
                 updates: list | None = None, models: list | None = None, predictions: pd.DataFrame | None = None,
                 tables: dict[str, pd.DataFrame] | None = None,
                 figures: dict[str, Callable[[Path], None]] | None = None, labels: dict[str, str] | None = None) -> None:
    """Write a train or attack result into ``folder`` (the claimed work folder of ``privbench.io.atomic_dir``):
    config.yaml, metrics.json (checked as ``load_result`` checks it), folds.csv (``rows``), ``updates.pt`` when
    client updates were captured, ``models/fold_<k>.pt`` for each fold model kept (``privbench.results.models``),
    ``predictions.csv``, each extra table (``name.csv`` -> table) and figure
    (``name.png`` -> a function writing it) when given; run.json last, with ``labels`` when given."""
    clash = sorted(name for name in [*(tables or {}), *(figures or {})] if name in RESERVED or Path(name).name != name)
    if clash:
        raise ValueError(f"extra result files must be plain names other than {', '.join(RESERVED)}: {clash}")
    run = run if labels is None else {**run, "labels": dict(labels)}
    check_run(folder / "run.json", run)
    check_metrics(folder / "metrics.json", metrics, run, rows=len(rows))
    if updates:
        from privbench.types import save_updates  # torch: only runs that captured client updates need it

        save_updates(folder / "updates.pt", updates)
    if models:
        from privbench.results.models import save_fold_models  # torch, as above

        save_fold_models(folder, models)
    (folder / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    write_json(folder / "metrics.json", metrics)
    pd.DataFrame(rows).to_csv(folder / "folds.csv", index=False)
    if predictions is not None:
        predictions.to_csv(folder / "predictions.csv", index=False, float_format="%.6g")
    for name, table in (tables or {}).items():
        table.to_csv(folder / name, index=False)
    for name, draw in (figures or {}).items():
        draw(folder / name)
    write_json(folder / "run.json", run)

