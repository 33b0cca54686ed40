"""The releases read from a run folder (attacks only): ``predictions``, a trained model's valence/arousal
outputs, and ``run``, the AU release that run trained on, rebuilt from its own release settings."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import numpy as np
import pandas as pd

from privbench.config import build
from privbench.data.layout import DIMENSIONS
from privbench.errors import InputError
from privbench.release.series import Context, Release, Transform
from privbench.release.settings import ReleaseSettings


def read_predictions(path: Path) -> pd.DataFrame:
    """A run's out-of-fold predictions.csv, checked (columns, finite numbers, increasing times)."""
    needed = ["participant", "fold", "timestamp", *(f"{d}_{k}" for d in DIMENSIONS for k in ("predicted", "gold"))]
    try:
        table = pd.read_csv(path, dtype={"participant": str})
    except FileNotFoundError:
        raise InputError(f"{path}: no predictions in this folder (runs write predictions.csv since privbench "
                         "0.2; is it a run folder?)") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: malformed CSV ({str(err).splitlines()[0]})") from None
    missing = [c for c in needed if c not in table.columns]
    if missing or table.empty:
        raise InputError(f"{path}: " + (f"missing column(s) {', '.join(missing)}" if missing else "no rows"))
    numbers = table[needed[2:]].apply(pd.to_numeric, errors="coerce").to_numpy(float)
    if not np.isfinite(numbers).all():
        raise InputError(f"{path}: empty, non-numeric or non-finite values")
    for pid, rows in table.groupby("participant"):
        if np.any(np.diff(rows["timestamp"].to_numpy(float)) <= 0):
            raise InputError(f"{path}: timestamps of {pid} are not increasing")
    return table


def _run_folder(context: Context, release: str) -> Path:
    if context.run is None:
        raise InputError(f"--set release={release} needs --from-run RUN_DIR (a privbench run folder)")
    return Path(context.run)


def _predictions(base: Release | None, settings: ReleaseSettings, context: Context) -> Release:
    table = read_predictions(_run_folder(context, "predictions") / "predictions.csv")
    columns = [f"{dim}_predicted" for dim in DIMENSIONS]
    series = {str(pid): rows.sort_values("timestamp")[columns].to_numpy(np.float32)
              for pid, rows in table.groupby("participant", sort=True)}
    steps = np.concatenate([np.diff(rows["timestamp"].to_numpy(float)) for _, rows in table.groupby("participant")])
    return Release("predictions", tuple(columns), 1.0 / float(np.median(steps)), series)


def trained_settings(run: Path) -> ReleaseSettings:
    """The release settings a train run used (its config.yaml ``train``; a run from before release
    transforms trained on the raw release)."""
    from privbench.results import load_result

    folder = load_result(run)
    if folder.kind != "train":
        raise InputError(f"{run}: release=run reads a train run's release; this is an {folder.kind} result")
    train = folder.config.get("train") or {}
    keys = {f.name for f in fields(ReleaseSettings)}
    values = {k: v for k, v in train.items() if k in keys} or {"release": "raw"}
    return build(ReleaseSettings, values, f"{run / 'config.yaml'} train")


def _trained(base: Release | None, settings: ReleaseSettings, context: Context) -> Release:
    from privbench.release.build import build_release
    from privbench.results import load_result

    run = _run_folder(context, "run")
    own = trained_settings(run)
    trained_on = Path(str(load_result(run).run.get("dataset_path", "")))
    if trained_on.is_dir() and trained_on.resolve() != context.dataset.root.resolve():
        raise InputError(f"{run}: trained on {trained_on}, not on the attacked data {context.dataset.root}; "
                         "release=run rebuilds that run's release from the data it trained on")
    return build_release(context.dataset, own, progress=context.progress)


PREDICTIONS = Transform(_predictions, needs_raw=False)
TRAINED = Transform(_trained, needs_raw=False)
