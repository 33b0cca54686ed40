"""Check a dataset folder for consistency and say what it holds."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from privbench.data.layout import Dataset, check_aligned
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


@dataclass
class _Tally:
    """What the participants checked so far hold."""

    rows: int = 0
    masked: int = 0
    masked_frames: int = 0
    with_aus: int = 0
    with_ratings: int = 0
    with_frames: int = 0
    shape: tuple[int, int, int] | None = None


def validate(root: Path | str | Dataset) -> DatasetReport:
    """Read every table of the dataset (the reader checks each on its own, as for ``run``) and check
    that they agree; raise DatasetError otherwise. Given an open ``Dataset``, the tables it reads stay
    parsed for whoever uses that Dataset next."""
    dataset = root if isinstance(root, Dataset) else Dataset(root)
    ids = dataset.ids
    strays = sorted(p.name for p in dataset.root.iterdir() if p.is_dir() and p.name not in ids
                    and not p.name.startswith("."))
    if strays:
        raise DatasetError(f"{dataset.root / strays[0]}: folder not listed in participants.csv")
    tally = _Tally()
    for pid in ids:
        _check_participant(dataset, pid, tally)
    size, shape = dataset.manifest.frame_size, tally.shape
    if shape is not None and size is not None and shape[:2] != (size, size):
        raise DatasetError(f"{dataset.root / 'manifest.json'}: frame_size {size} but frames are {shape[0]}x{shape[1]}")
    files = [p for p in dataset.root.rglob("*") if p.is_file() and not p.name.startswith(".")]
    meta = dataset.participants
    return DatasetReport(
        root=dataset.root, name=dataset.manifest.name, fps=dataset.manifest.fps, participants=len(ids),
        frames_total=tally.rows, au_columns=len(dataset.manifest.au_columns), annotators=dataset.manifest.annotators,
        with_ratings=tally.with_ratings, with_frames=tally.with_frames, frame_shape=shape, masked_rows=tally.masked,
        metadata_fields={c: int(meta[c].notna().sum()) for c in meta.columns if c != "participant_id"},
        pixel_files=sorted(str(p.relative_to(dataset.root)) for p in files if p.suffix.lower() in PIXEL_SUFFIXES),
        other_files=sorted(str(p.relative_to(dataset.root)) for p in files
                           if p.suffix.lower() not in PIXEL_SUFFIXES and p.name not in KNOWN_FILES),
        with_aus=tally.with_aus, masked_frames=tally.masked_frames, counts=dict(dataset.manifest.counts),
    )


def _check_participant(dataset: Dataset, pid: str, tally: _Tally) -> None:
    """Read ``pid``'s tables and check that their rows correspond; add what they hold to ``tally``."""
    folder, fps = dataset.root / pid, dataset.manifest.fps
    times, source = None, None
    if dataset.has_aus(pid):
        aus = dataset.aus(pid)
        times, source = aus["timestamp"].to_numpy(float), "aus.csv"
        tally.masked += int((aus["success"] == 0).sum())
        tally.with_aus += 1
    if dataset.has_frame_index(pid):
        index = dataset.frame_index(pid)
        if times is not None:
            check_aligned(folder / "frames.csv", index["timestamp"].to_numpy(float), times, fps, source)
        times, source = index["timestamp"].to_numpy(float), source or "frames.csv"
        tally.masked_frames += int((index["face"] == 0).sum())
    if times is None:
        raise DatasetError(f"{folder}: neither aus.csv nor frames.csv")
    tally.rows += len(times)
    if dataset.has_ratings(pid):
        check_aligned(folder / "ratings.csv", dataset.ratings(pid)["timestamp"].to_numpy(float), times, fps, source)
        tally.with_ratings += 1
    if dataset.has_frames(pid):
        _check_frames(dataset, pid, len(times), tally)
    elif dataset.has_frame_index(pid):
        raise DatasetError(f"{folder / 'frames.csv'}: no frames.npy beside it")


def _check_frames(dataset: Dataset, pid: str, rows: int, tally: _Tally) -> None:
    """frames.npy: one frame per row, the same frame shape as the other participants'."""
    path = dataset.root / pid / "frames.npy"
    frames = dataset.frames(pid)
    if len(frames) != rows:
        raise DatasetError(f"{path}: {len(frames)} frames but {rows} rows")
    if tally.shape is not None and frames.shape[1:] != tally.shape:
        raise DatasetError(f"{path}: frame shape {frames.shape[1:]} differs from {tally.shape}")
    tally.shape = tuple(frames.shape[1:])
    tally.with_frames += 1


def check_trainable(dataset: Dataset, report: DatasetReport, method: str, needs_frames: bool) -> None:
    """What ``run --method METHOD`` needs of every participant (gold ratings, and face frames or action
    units), checked before any fold is made, so a refusal names what the data lacks, not a fold count."""
    ids = dataset.ids
    needs = [("ratings.csv", dataset.has_ratings, "ratings, the gold standard it learns")]
    needs.append(("frames.npy", dataset.has_frames, "face frames") if needs_frames
                 else ("aus.csv", dataset.has_aus, "action units"))
    for file, has, what in needs:
        missing = [pid for pid in ids if not has(pid)]
        if missing:
            scope = "any participant" if len(missing) == len(ids) else f"{missing[0]} ({len(missing)} of {len(ids)})"
            holds = "is AU-only" if report.kinds == ["action units"] else f"holds {' and '.join(report.kinds)}"
            attacks = ": the attacks can use it, `run` cannot" if file == "ratings.csv" and not report.with_ratings else ""
            raise DatasetError(f"{dataset.root}: no {file} for {scope}; --method {method} needs {what} (this "
                               f"dataset {holds}{attacks})")
