"""RECOLA, in its original layout or AVEC 2016's, -> the privbench layout (``import-recola``).

Ratings come from the individual raters' files (semicolon CSVs, a time column at 40 ms, one
column per rater, names stripped: "FM1 " -> "FM1"); the gold standard is fused from them
(``mean`` or ``ewe``, see ``gold``) or read from the distribution (``provided``: AVEC's ARFF
files, or the original's gold_standard CSVs). OpenFace CSVs and videos, named by participant
id, are aligned to the rating timestamps.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from privbench.data.importers.align import check_rate, grid_step, nearest_rows
from privbench.data.importers.arff import read_arff
from privbench.data.importers.gold import GOLD, compensate_delay
from privbench.data.importers.metadata import read_metadata
from privbench.data.importers.openface import Cleaning, au_table
from privbench.data.importers.participants import match_files
from privbench.data.importers.ratings import check_range, ratings_table
from privbench.data.importers.summary import ImportSummary
from privbench.data.importers.tables import (
    TIME_COLUMNS,
    numeric,
    read_delimited,
    time_column,
    timestamps,
)
from privbench.data.importers.video import (
    VIDEO_SUFFIXES,
    FaceCropper,
    FaceSettings,
    video_frames,
)
from privbench.data.layout import AU_COLUMNS, DIMENSIONS, Manifest
from privbench.data.writer import DatasetWriter
from privbench.errors import ConfigError, DatasetError, InputError
from privbench.progress import Progress

PROVIDED = "provided"  # --gold: the distribution's own gold standard files


@dataclass(frozen=True)
class RecolaLayout:
    """Where a RECOLA distribution keeps its files (``{dim}`` is valence or arousal)."""

    name: str
    raters: str
    gold: str
    videos: tuple[str, ...]


LAYOUTS = {
    "original": RecolaLayout("RECOLA (original layout)", "RECOLA-Annotation/emotional_behaviour/{dim}",
                             "RECOLA-Annotation/emotional_behaviour/gold_standard/{dim}",
                             ("RECOLA-Video-recordings", "RECOLA-Video", "recordings_video")),
    "avec2016": RecolaLayout("AVEC 2016", "ratings_individual/{dim}", "ratings_gold_standard/{dim}",
                             ("recordings_video",)),
}


@dataclass(frozen=True)
class RecolaFiles:
    """One distribution's rating files: dimension -> participant id -> path (raters may be absent)."""

    layout: RecolaLayout
    raters: dict[str, dict[str, Path]]
    gold: dict[str, dict[str, Path]]

    @property
    def primary(self) -> dict[str, Path]:
        """participant id -> the file that defines the participant (for messages and matching)."""
        return self.raters["valence"] if self.raters else self.gold["valence"]


def find_files(root: Path, gold: str) -> RecolaFiles:
    """Detect the layout and list its rating files, checking valence and arousal agree."""
    if not root.is_dir():
        raise InputError(f"{root}: no such folder")
    for layout in LAYOUTS.values():
        folders = (root / layout.raters.format(dim="valence"), root / layout.gold.format(dim="valence"))
        if not any(folder.is_dir() for folder in folders):
            continue
        raters = _by_dimension(root, layout.raters, ".csv")
        if gold != PROVIDED:
            if not raters:
                raise InputError(f"{folders[0]}: no individual ratings (P<id>.csv); "
                                 "use --gold provided for the distribution's gold standard")
            return RecolaFiles(layout, raters, {})
        golds = _by_dimension(root, layout.gold, ".arff", ".csv")
        if not golds:
            raise InputError(f"{folders[1]}: no gold standard files for --gold provided")
        if raters:
            match_files(raters["valence"], list(golds["valence"].values()), "gold standard file")
        return RecolaFiles(layout, raters, golds)
    expected = " or ".join(layout.raters.format(dim="valence") for layout in LAYOUTS.values())
    raise InputError(f"{root}: not a RECOLA folder (no {expected})")


def _by_dimension(root: Path, pattern: str, *suffixes: str) -> dict[str, dict[str, Path]]:
    """dimension -> participant id -> file, or {} if the valence folder is absent or empty."""
    found = {}
    for dim in DIMENSIONS:
        folder = root / pattern.format(dim=dim)
        files = sorted(p for p in folder.glob("*") if p.suffix.lower() in suffixes) if folder.is_dir() else []
        if dim == "valence" and not files:
            return {}
        found[dim] = files
    valence = {p.stem: p for p in found["valence"]}
    return {"valence": valence, "arousal": match_files(valence, found["arousal"], "arousal file")}


def read_raters(path: Path) -> tuple[np.ndarray, pd.DataFrame]:
    """(times, [T, R] rater values named by rater) from an individual ratings file."""
    table = read_delimited(path)
    column = time_column(table, path)
    names = [c for c in table.columns if c != column]
    if not names:
        raise DatasetError(f"{path}: no rater columns besides {column}")
    values = numeric(table, names, path)
    check_range(values, path, "rating")
    return timestamps(table, column, path), pd.DataFrame(values, columns=names)


def read_provided_gold(path: Path) -> tuple[np.ndarray | None, np.ndarray]:
    """(times or None, gold values): AVEC's ARFF (frameTime, GoldStandard: by name, else the last
    two attributes) or a CSV with a column named like "gold standard" (and maybe a time column)."""
    if path.suffix.lower() == ".arff":
        table = read_arff(path)
        if len(table.columns) < 2:
            raise DatasetError(f"{path}: expected a time and a gold standard attribute, found {len(table.columns)}")
        lower = {c.lower(): c for c in table.columns}
        time, value = lower.get("frametime", table.columns[-2]), lower.get("goldstandard", table.columns[-1])
        times = timestamps(table, time, path)
    else:
        table = read_delimited(path)
        value = next((c for c in table.columns if "gold" in c.lower()), None)
        if value is None:
            raise DatasetError(f"{path}: no gold standard column (a column named like 'gold standard')")
        time = next((c for c in table.columns if c.lower() in TIME_COLUMNS), None)
        times = timestamps(table, time, path) if time else None
    values = numeric(table, [value], path)[:, 0]
    check_range(values, path, "gold standard")
    return times, values


def provided_gold(path: Path, times: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """The provided gold standard on the ratings' time grid (if given): nearest row within half a step."""
    gold_times, values = read_provided_gold(path)
    if times is None:
        if gold_times is None:
            raise DatasetError(f"{path}: no time column and no individual ratings to take times from")
        return gold_times, values
    if gold_times is None:
        if len(values) != len(times):
            raise DatasetError(f"{path}: {len(values)} rows but the individual ratings have {len(times)}")
        return times, values
    rows = nearest_rows(gold_times, times, grid_step(times) / 2)
    if np.any(rows < 0):
        raise DatasetError(f"{path}: no gold value near time {times[np.argmax(rows < 0)]:.2f} s of the ratings")
    return times, values[rows]


def participant_ratings(files: RecolaFiles, pid: str, gold: str, delay: float) -> pd.DataFrame:
    """One participant's layout ratings table (raters, fused or provided gold, delay compensated)."""
    times, raters = None, {}
    for dim in DIMENSIONS if files.raters else ():
        path = files.raters[dim][pid]
        dim_times, raters[dim] = read_raters(path)
        if times is not None and (len(dim_times) != len(times) or np.abs(dim_times - times).max() > 1e-6):
            raise DatasetError(f"{path}: time column differs from {files.raters['valence'][pid].name}'s")
        times = dim_times
    golds = {}
    for dim in DIMENSIONS:
        if gold == PROVIDED:
            times, golds[dim] = provided_gold(files.gold[dim][pid], times)
        else:
            golds[dim] = GOLD.get(gold)(raters[dim].to_numpy())
    rows = round(delay / grid_step(times))
    raters = {dim: table.apply(lambda column: compensate_delay(column.to_numpy(), rows)) for dim, table in raters.items()}
    golds = {dim: compensate_delay(values, rows) for dim, values in golds.items()}
    return ratings_table(times, raters, golds)


def feature_files(folder: Path, suffixes: set[str], primary: dict[str, Path], kind: str) -> dict[str, Path]:
    """A folder's files (by suffix) matched to the rated participants by name."""
    if not folder.is_dir():
        raise InputError(f"{folder}: no such folder")
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in suffixes)
    if not files:
        raise InputError(f"{folder}: no {kind}s ({', '.join(sorted(suffixes))})")
    return match_files(primary, files, kind)


def find_videos(root: Path, layout: RecolaLayout, videos: Path | None) -> Path | None:
    """``--videos``, else the layout's video folder under ROOT if there is one."""
    return videos or next((root / d for d in layout.videos if (root / d).is_dir()), None)


def import_recola(
    root: Path, out: Path, *, openface: Path | None = None, videos: Path | None = None, frames: bool = True,
    metadata: Path | None = None, gold: str = "mean", delay: float = 0.0, cleaning: Cleaning = Cleaning(),
    settings: FaceSettings = FaceSettings(), force: bool = False, progress: Progress | None = None,
) -> ImportSummary:
    """Write a dataset from a RECOLA tree: ratings (+ gold), AUs from ``openface``, face frames
    from the videos (unless ``frames`` is False), participant metadata."""
    progress = progress or Progress(enabled=False)
    if gold != PROVIDED and gold not in GOLD:
        raise ConfigError(f"unknown gold standard {gold!r}; valid: {', '.join([*GOLD.names(), PROVIDED])}")
    if delay < 0:
        raise ConfigError(f"--delay must be >= 0 seconds, got {delay}")
    files = find_files(root, gold)
    ids = list(files.primary)
    au_files = feature_files(openface, {".csv"}, files.primary, "OpenFace CSV") if openface else {}
    video_dir = find_videos(root, files.layout, videos) if frames else None
    video_files = feature_files(video_dir, VIDEO_SUFFIXES, files.primary, "video") if video_dir else {}
    if not au_files and not video_files:
        raise InputError(f"{root}: nothing to import besides ratings; give --openface DIR (AUs) and/or videos")
    meta = read_metadata(metadata, ids) if metadata else {}
    cropper = FaceCropper(settings) if video_files else None
    summary, fps = ImportSummary(), None
    manifest = Manifest(name=out.name, fps=0.0, au_columns=list(AU_COLUMNS) if au_files else [],
                        frame_size=settings.size if video_files else None,
                        source=f"{files.layout.name} at {root.name}; gold {gold}; delay {delay:g} s")
    annotators: list[str] = []
    task = progress.add("importing RECOLA participants", total=len(ids))
    with DatasetWriter(out, manifest, force=force) as writer:
        for pid in ids:
            ratings = participant_ratings(files, pid, gold, delay)
            target = ratings["timestamp"].to_numpy()
            fps = check_rate(target, fps, files.primary[pid])
            aus, interpolated = au_table(au_files[pid], cleaning, target) if au_files else (None, 0)
            writer.add_participant({"participant_id": pid, **meta.get(pid, {})}, aus, ratings)
            if video_files:
                index = video_frames(video_files[pid], writer, pid, cropper, target, progress)
                summary.frames += len(index)
                summary.faces_not_found += int((index["face"] == 0).sum())
            annotators = list(dict.fromkeys(annotators + [c.split("_", 1)[1] for c in ratings.columns if "_" in c]))
            summary.participants += 1
            summary.rows += len(ratings)
            summary.masked_rows += 0 if aus is None else int((aus["success"] == 0).sum())
            summary.interpolated_rows += interpolated
            progress.advance(task)
        writer.manifest = dataclasses.replace(manifest, fps=fps, annotators=annotators, counts=summary.counts())
    progress.remove(task)
    return summary
