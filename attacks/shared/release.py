"""What leaves the user at the AU privacy level, as the adversary receives it: one float32 series
[T, F] per participant, no pixels. ``RELEASES`` names the representations a study may release."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from privbench.data.layout import AU_INTENSITY, DIMENSIONS, Dataset
from privbench.errors import InputError
from privbench.registry import Registry


@dataclass(frozen=True)
class Release:
    """Per-participant feature series (keyed by participant id: the *scoring* side decides what the
    adversary may know of the keys), their column names and frame rate."""

    representation: str
    columns: tuple[str, ...]
    fps: float
    series: dict[str, np.ndarray]  # participant -> float32 [T, len(columns)], finite

    def __post_init__(self) -> None:
        for pid, values in self.series.items():
            if values.ndim != 2 or values.shape[1] != len(self.columns):
                raise ValueError(f"{pid}: series of shape {values.shape} for {len(self.columns)} columns")
            if not np.isfinite(values).all():
                raise ValueError(f"{pid}: non-finite released values")


Builder = Callable[[Dataset, "Path | None"], Release]
RELEASES: Registry[Builder] = Registry("release")


def _aus(dataset: Dataset, columns: list[str]) -> dict[str, np.ndarray]:
    return {pid: dataset.aus(pid)[columns].to_numpy(np.float32) for pid in dataset.ids}


@RELEASES.register("raw", "the 17 AU intensities and 18 presences as OpenFace writes them")
def raw(dataset: Dataset, run: Path | None = None) -> Release:
    columns = list(dataset.manifest.au_columns)
    return Release("raw", tuple(columns), dataset.manifest.fps, _aus(dataset, columns))


@RELEASES.register("intensities", "only the 17 AU intensities (presences withheld)")
def intensities(dataset: Dataset, run: Path | None = None) -> Release:
    columns = [c for c in dataset.manifest.au_columns if c in AU_INTENSITY]
    if not columns:
        raise InputError(f"{dataset.root / 'manifest.json'}: no AU intensity columns to release")
    return Release("intensities", tuple(columns), dataset.manifest.fps, _aus(dataset, columns))


@RELEASES.register("zscore", "every AU column z-scored per participant (a candidate defence)")
def zscore(dataset: Dataset, run: Path | None = None) -> Release:
    base = raw(dataset)
    series = {}
    for pid, values in base.series.items():
        std = values.std(0)
        series[pid] = ((values - values.mean(0)) / np.where(std > 1e-6, std, 1.0)).astype(np.float32)
    return Release("zscore", base.columns, base.fps, series)


@RELEASES.register("predictions", "a trained model's valence/arousal outputs (--from-run RUN_DIR)")
def predictions(dataset: Dataset, run: Path | None = None) -> Release:
    if run is None:
        raise InputError("--set release=predictions needs --from-run RUN_DIR (a privbench run folder)")
    table = read_predictions(Path(run) / "predictions.csv")
    columns = [f"{dim}_predicted" for dim in DIMENSIONS]
    series = {str(pid): rows.sort_values("timestamp")[columns].to_numpy(np.float32)
              for pid, rows in table.groupby("participant", sort=True)}
    steps = np.concatenate([np.diff(rows["timestamp"].to_numpy(float)) for _, rows in table.groupby("participant")])
    return Release("predictions", tuple(columns), 1.0 / float(np.median(steps)), series)


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


def load_release(dataset: Dataset, representation: str, run: Path | None = None) -> Release:
    """The release ``representation`` of ``dataset`` (``run``: a run folder, for ``predictions``)."""
    return RELEASES.get(representation)(dataset, run)
