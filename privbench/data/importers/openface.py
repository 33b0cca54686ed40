"""OpenFace 2.x FeatureExtraction CSVs -> the layout's aus.csv, and the ``import-openface`` importer.

Column names are stripped (some builds write ", " separators), ``face_id`` may be absent (older
versions), rows with ``success == 0`` or a confidence under the threshold are masked (success 0,
AU values 0) and counted, and masked runs of at most ``max_gap`` rows can be filled by linear
interpolation (presences rounded), which keeps success 1 and is counted separately. AU values must
lie in OpenFace's ranges (intensities in [0, 5], presences 0 or 1, each within 0.01): a value outside is
refused, naming its row and column, never clipped.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from privbench.data.importers.align import check_rate, grid_step, nearest_rows
from privbench.data.importers.metadata import read_metadata
from privbench.data.importers.participants import match_files, participant_ids
from privbench.data.importers.ratings import read_ratings_csv
from privbench.data.importers.summary import ImportSummary
from privbench.data.importers.tables import numeric, read_delimited, require_columns
from privbench.data.layout import AU_COLUMNS, AU_PRESENCE, Manifest, check_au_ranges
from privbench.data.writer import DatasetWriter
from privbench.errors import DatasetError
from privbench.progress import Progress

KEPT = {"timestamp", "success", "confidence", "face_id", *AU_COLUMNS}
OPENFACE = Manifest(name="OpenFace", fps=1.0)  # its AU ranges: the defaults (docs/data.md)


@dataclass(frozen=True)
class Cleaning:
    """How unreliable OpenFace rows are handled."""

    min_confidence: float = 0.0  # rows under it are masked like success == 0 (0: only success decides)
    max_gap: int = 0  # masked runs of at most this many rows are interpolated (0: none)


def read_openface(path: Path) -> pd.DataFrame:
    """timestamp, success, AU columns (and confidence) of one face (the lowest face_id), as floats."""
    table = read_delimited(path, keep=KEPT.__contains__)
    require_columns(table, ["timestamp", "success"], path)
    require_columns(table, AU_COLUMNS, path, "AU column")
    if "face_id" in table.columns:
        face = numeric(table, ["face_id"], path)[:, 0]
        table = table[face == face.min()]
    rows, table = table.index.to_numpy(), table.reset_index(drop=True)  # rows: the file's data rows
    columns = ["timestamp", "success", *AU_COLUMNS] + (["confidence"] if "confidence" in table.columns else [])
    values = pd.DataFrame(numeric(table, columns, path), columns=columns)
    check_au_ranges(path, values[AU_COLUMNS].to_numpy(), AU_COLUMNS, OPENFACE, rows)
    if len(values) < 2:
        raise DatasetError(f"{path}: fewer than two rows")
    steps = np.diff(values["timestamp"].to_numpy())
    if np.any(steps <= 0):
        raise DatasetError(f"{path}: timestamps are not increasing at data row {int(np.argmax(steps <= 0)) + 2}")
    return values


def clean(table: pd.DataFrame, cleaning: Cleaning, path: Path) -> tuple[pd.DataFrame, int]:
    """Mask unreliable rows and interpolate short gaps; returns the aus.csv table and the number
    of interpolated rows."""
    ok = table["success"].to_numpy() == 1
    if cleaning.min_confidence > 0:
        if "confidence" not in table.columns:
            raise DatasetError(f"{path}: no confidence column, so --min-confidence cannot apply")
        ok &= table["confidence"].to_numpy() >= cleaning.min_confidence
    times = table["timestamp"].to_numpy()
    values = table[AU_COLUMNS].to_numpy(float, copy=True)
    fill = short_gaps(~ok, cleaning.max_gap)
    if fill.any():
        for j in range(values.shape[1]):
            values[fill, j] = np.interp(times[fill], times[ok], values[ok, j])
    values[~(ok | fill)] = 0.0
    aus = pd.DataFrame(values, columns=AU_COLUMNS)
    aus[AU_PRESENCE] = (aus[AU_PRESENCE] >= 0.5).astype(int)
    aus.insert(0, "success", (ok | fill).astype(int))
    aus.insert(0, "timestamp", times)
    return aus, int(fill.sum())


def short_gaps(bad: np.ndarray, max_gap: int) -> np.ndarray:
    """Rows of runs of ``bad`` at most ``max_gap`` long with a good row on both sides."""
    fill = np.zeros(len(bad), bool)
    if max_gap <= 0:
        return fill
    edges = np.diff(np.concatenate([[0], bad.astype(int), [0]]))
    for start, stop in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)):
        if start > 0 and stop < len(bad) and stop - start <= max_gap:
            fill[start:stop] = True
    return fill


def align_aus(aus: pd.DataFrame, target: np.ndarray) -> pd.DataFrame:
    """AU rows on the ``target`` time grid (nearest row within half a grid step); grid rows that
    no AU row covers are masked (success 0, AU values 0)."""
    rows = nearest_rows(aus["timestamp"].to_numpy(), target, grid_step(target) / 2)
    aligned = aus.iloc[np.clip(rows, 0, None)].reset_index(drop=True)
    aligned.loc[rows < 0, ["success", *AU_COLUMNS]] = 0
    aligned["timestamp"] = np.round(target, 6)
    return aligned


def au_table(path: Path, cleaning: Cleaning, target: np.ndarray | None = None) -> tuple[pd.DataFrame, int]:
    """Read, clean and (given a target time grid) align one OpenFace CSV; also the interpolated count."""
    aus, interpolated = clean(read_openface(path), cleaning, path)
    return (aus if target is None else align_aus(aus, target)), interpolated


def import_openface(
    csvs: list[Path], out: Path, *, participants: list[str] | None = None, ratings: list[Path] | None = None,
    metadata: Path | None = None, cleaning: Cleaning = Cleaning(), force: bool = False,
    progress: Progress | None = None,
) -> ImportSummary:
    """Write a dataset from OpenFace CSVs (one per participant); with ``ratings``, AU rows are
    aligned to each participant's rating timestamps; without, the dataset is AU-only."""
    progress = progress or Progress(enabled=False)
    ids = participant_ids(csvs, participants, "--participant")
    rating_files = match_files(dict(zip(ids, csvs)), ratings, "ratings file") if ratings else {}
    meta = read_metadata(metadata, ids) if metadata else {}
    summary, fps, annotators = ImportSummary(), None, []
    manifest = Manifest(name=out.name, fps=0.0, source=f"OpenFace CSVs ({len(csvs)} files)")
    task = progress.add("importing OpenFace CSVs", total=len(csvs))
    with DatasetWriter(out, manifest, force=force) as writer:
        for pid, path in zip(ids, csvs):
            table = read_ratings_csv(rating_files[pid]) if rating_files else None
            target = None if table is None else table["timestamp"].to_numpy()
            aus, interpolated = au_table(path, cleaning, target)
            fps = check_rate(aus["timestamp"].to_numpy(), fps, rating_files.get(pid, path))
            writer.add_participant({"participant_id": pid, **meta.get(pid, {})}, aus, table)
            if table is not None:
                annotators = list(dict.fromkeys(annotators + [c.split("_", 1)[1] for c in table.columns if "_" in c]))
            summary.participants += 1
            summary.rows += len(aus)
            summary.masked_rows += int((aus["success"] == 0).sum())
            summary.interpolated_rows += interpolated
            progress.advance(task)
        writer.manifest = dataclasses.replace(manifest, fps=fps, annotators=annotators, counts=summary.counts())
    progress.remove(task)
    return summary
