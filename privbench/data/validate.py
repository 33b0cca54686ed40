"""Check a dataset folder for consistency and say what it holds."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from privbench.data.layout import DIMENSIONS, Dataset
from privbench.errors import DatasetError

PIXEL_SUFFIXES = {".npy", ".npz", ".png", ".jpg", ".jpeg", ".bmp", ".pgm", ".ppm", ".tif", ".tiff", ".gif",
                  ".webp", ".mp4", ".avi", ".mov", ".mkv", ".webm"}
KNOWN_FILES = {"manifest.json", "participants.csv", "aus.csv", "ratings.csv", "frames.csv", "truth.csv",
               "synthetic.yaml"}


@dataclass
class DatasetReport:
    """What a dataset holds; ``pixel_files`` is empty for an AU-only dataset."""

    root: Path
    name: str
    fps: float
    participants: int
    frames_total: int
    au_columns: int
    annotators: list[str]
    with_ratings: int
    with_frames: int
    frame_shape: tuple[int, int, int] | None
    masked_rows: int
    metadata_fields: dict[str, int]  # field -> participants with a value
    pixel_files: list[str] = field(default_factory=list)
    other_files: list[str] = field(default_factory=list)
    with_aus: int = 0
    masked_frames: int = 0  # frames.csv rows with face = 0 (no face detected)
    counts: dict[str, int] = field(default_factory=dict)  # the importer's counts (manifest.json)

    @property
    def kinds(self) -> list[str]:
        kinds = ["action units"] if self.with_aus else []
        if self.with_ratings:
            kinds.append("ratings")
        if self.with_frames:
            kinds.append("face frames")
        return kinds


def validate(root: Path | str) -> DatasetReport:
    """Read every table of the dataset and check that they agree; raise DatasetError otherwise."""
    dataset = Dataset(root)
    ids = dataset.ids
    if not ids:
        raise DatasetError(f"{dataset.root / 'participants.csv'}: no participants")
    strays = sorted(p.name for p in dataset.root.iterdir() if p.is_dir() and p.name not in ids
                    and not p.name.startswith("."))
    if strays:
        raise DatasetError(f"{dataset.root / strays[0]}: folder not listed in participants.csv")
    total = masked = masked_frames = with_aus = with_ratings = with_frames = 0
    shape = None
    for pid in ids:
        rows = None
        if dataset.has_aus(pid):
            rows, masked_here = _check_aus(dataset, pid)
            masked += masked_here
            with_aus += 1
        if dataset.has_frame_index(pid):
            rows, masked_here = _check_frame_index(dataset, pid, rows)
            masked_frames += masked_here
        if rows is None:
            raise DatasetError(f"{dataset.root / pid}: neither aus.csv nor frames.csv")
        total += rows
        if dataset.has_ratings(pid):
            _check_ratings(dataset, pid, rows)
            with_ratings += 1
        if dataset.has_frames(pid):
            frames = dataset.frames(pid)
            if len(frames) != rows:
                raise DatasetError(f"{dataset.root / pid / 'frames.npy'}: {len(frames)} frames but {rows} rows")
            if shape is not None and frames.shape[1:] != shape:
                raise DatasetError(
                    f"{dataset.root / pid / 'frames.npy'}: frame shape {frames.shape[1:]} differs from {shape}")
            shape = tuple(frames.shape[1:])
            with_frames += 1
        elif dataset.has_frame_index(pid):
            raise DatasetError(f"{dataset.root / pid / 'frames.csv'}: no frames.npy beside it")
    size = dataset.manifest.frame_size
    if shape is not None and size is not None and shape[:2] != (size, size):
        raise DatasetError(f"{dataset.root / 'manifest.json'}: frame_size {size} but frames are {shape[0]}x{shape[1]}")
    files = [p for p in dataset.root.rglob("*") if p.is_file() and not p.name.startswith(".")]
    meta = dataset.participants
    return DatasetReport(
        root=dataset.root, name=dataset.manifest.name, fps=dataset.manifest.fps, participants=len(ids),
        frames_total=total, au_columns=len(dataset.manifest.au_columns), annotators=dataset.manifest.annotators,
        with_ratings=with_ratings, with_frames=with_frames, frame_shape=shape, masked_rows=masked,
        metadata_fields={c: int(meta[c].notna().sum()) for c in meta.columns if c != "participant_id"},
        pixel_files=sorted(str(p.relative_to(dataset.root)) for p in files if p.suffix.lower() in PIXEL_SUFFIXES),
        other_files=sorted(str(p.relative_to(dataset.root)) for p in files
                           if p.suffix.lower() not in PIXEL_SUFFIXES and p.name not in KNOWN_FILES),
        with_aus=with_aus, masked_frames=masked_frames, counts=dict(dataset.manifest.counts),
    )


def _check_aus(dataset: Dataset, pid: str) -> tuple[int, int]:
    """aus.csv's row count and masked rows (success = 0)."""
    path = dataset.root / pid / "aus.csv"
    aus = dataset.aus(pid)
    if len(aus) == 0:
        raise DatasetError(f"{path}: no rows")
    if aus[dataset.manifest.au_columns].isna().any().any():
        raise DatasetError(f"{path}: empty AU values")
    _check_timestamps(path, aus["timestamp"])
    return len(aus), int((aus["success"] == 0).sum())


def _check_frame_index(dataset: Dataset, pid: str, rows: int | None) -> tuple[int, int]:
    """frames.csv's row count (equal to aus.csv's, if any) and masked frames (face = 0)."""
    path = dataset.root / pid / "frames.csv"
    index = dataset.frame_index(pid)
    if len(index) == 0:
        raise DatasetError(f"{path}: no rows")
    if rows is not None and len(index) != rows:
        raise DatasetError(f"{path}: {len(index)} rows but aus.csv has {rows}")
    if not index["face"].isin([0, 1]).all():
        raise DatasetError(f"{path}: column face must hold 0 or 1")
    _check_timestamps(path, index["timestamp"])
    return len(index), int((index["face"] == 0).sum())


def _check_timestamps(path: Path, timestamps) -> None:
    values = timestamps.to_numpy(float)
    if np.isnan(values).any() or np.any(np.diff(values) <= 0):
        raise DatasetError(f"{path}: timestamps are not increasing")


def _check_ratings(dataset: Dataset, pid: str, rows: int) -> None:
    ratings = dataset.ratings(pid)
    path = dataset.root / pid / "ratings.csv"
    if len(ratings) != rows:
        source = "aus.csv" if dataset.has_aus(pid) else "frames.csv"
        raise DatasetError(f"{path}: {len(ratings)} rows but {source} has {rows}")
    if ratings[list(DIMENSIONS)].isna().any().any():
        raise DatasetError(f"{path}: empty gold valence/arousal values")
    values = ratings[list(DIMENSIONS)].to_numpy(float)
    if np.abs(values).max() > 1:
        raise DatasetError(f"{path}: gold values outside [-1, 1]")

