"""Writing a result folder's files (config.yaml, run.json, metrics.json, folds.csv) and provenance."""

from __future__ import annotations

import dataclasses
import platform
import secrets
import subprocess
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from privbench.io import write_json

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


def write_result(folder: Path, config: dict, run: dict, metrics: dict, rows: list[dict[str, Any]], *,
                 updates: list | None = None, predictions: pd.DataFrame | None = None) -> None:
    """Write a result's files into ``folder`` (the claimed work folder of ``privbench.io.atomic_dir``),
    with ``updates.pt`` when client updates were captured and ``predictions.csv`` when given; run.json last."""
    if updates:
        from privbench.types import save_updates  # torch: only runs that captured client updates need it

        save_updates(folder / "updates.pt", updates)
    (folder / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    write_json(folder / "metrics.json", metrics)
    pd.DataFrame(rows).to_csv(folder / "folds.csv", index=False)
    if predictions is not None:
        predictions.to_csv(folder / "predictions.csv", index=False, float_format="%.6g")
    write_json(folder / "run.json", run)
