"""The privbench dataset layout: names, the reader and the atomic writer.

```
<dataset>/manifest.json      {"name", "fps", "au_columns", "frame_size", "annotators", "source", "version"}
<dataset>/participants.csv   participant_id, gender, age, language, ... (unknown -> empty)
<dataset>/<pid>/aus.csv      timestamp, success, AU*_r (17), AU*_c (18); absent in a frames-only dataset
<dataset>/<pid>/ratings.csv  timestamp, <dim>_<annotator>..., valence, arousal (gold standard)
<dataset>/<pid>/frames.npy   uint8 [T, H, W, 3] face crops, memory-mapped; absent in an AU-only dataset
<dataset>/<pid>/frames.csv   timestamp, face [, file]: the index of frames.npy (video and image importers);
                             face 0 = no face detected (a video frame is then black and masked, an
                             image is used whole)
```
Every table of a participant has one row per frame, in the same order.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from privbench.errors import DatasetError
from privbench.io import atomic_dir

LAYOUT_VERSION = 1
AU_NUMBERS = ["01", "02", "04", "05", "06", "07", "09", "10", "12", "14", "15", "17", "20", "23", "25", "26", "45"]
AU_INTENSITY = [f"AU{n}_r" for n in AU_NUMBERS]
AU_PRESENCE = [f"AU{n}_c" for n in sorted(AU_NUMBERS + ["28"])]
AU_COLUMNS = AU_INTENSITY + AU_PRESENCE
DIMENSIONS = ("valence", "arousal")
PARTICIPANT_COLUMNS = ["participant_id", "gender", "age", "language"]
FRAME_INDEX_COLUMNS = ["timestamp", "face"]


@dataclass(frozen=True)
class Manifest:
    """What a dataset holds, as written to manifest.json."""

    name: str
    fps: float
    au_columns: list[str] = field(default_factory=lambda: list(AU_COLUMNS))
    frame_size: int | None = None
    annotators: list[str] = field(default_factory=list)
    source: str = "unknown"
    version: int = LAYOUT_VERSION
    counts: dict[str, int] = field(default_factory=dict)  # what an importer counted (masked rows, ...)

    @classmethod
    def load(cls, path: Path) -> Manifest:
        try:
            raw = json.loads(path.read_text())
        except FileNotFoundError:
            raise DatasetError(f"{path.parent}: not a privbench dataset (no manifest.json)") from None
        except json.JSONDecodeError as err:
            raise DatasetError(f"{path}: malformed JSON ({err.msg}, line {err.lineno})") from None
        missing = {"name", "fps"} - set(raw)
        if missing:
            raise DatasetError(f"{path}: missing keys {sorted(missing)}")
        unknown = set(raw) - set(cls.__dataclass_fields__)
        if unknown:
            raise DatasetError(f"{path}: unknown keys {sorted(unknown)}")
        return cls(**raw)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)


def read_csv(path: Path, required: list[str]) -> pd.DataFrame:
    """Read a comma-separated table, stripping column names; one clear error for any problem."""
    try:
        table = pd.read_csv(path)
    except FileNotFoundError:
        raise DatasetError(f"{path}: file not found") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise DatasetError(f"{path}: malformed CSV ({str(err).splitlines()[0]})") from None
    table.columns = [str(c).strip() for c in table.columns]
    missing = [c for c in required if c not in table.columns]
    if missing:
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise DatasetError(f"{path}: missing column(s) {shown}")
    return table


class Dataset:
    """Read access to a dataset folder in the privbench layout (lazy, per participant)."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise DatasetError(f"{self.root}: no such dataset folder")
        self.manifest = Manifest.load(self.root / "manifest.json")

    @cached_property
    def participants(self) -> pd.DataFrame:
        table = read_csv(self.root / "participants.csv", ["participant_id"])
        table["participant_id"] = table["participant_id"].astype(str)
        if table["participant_id"].duplicated().any():
            dup = table.loc[table["participant_id"].duplicated(), "participant_id"].iloc[0]
            raise DatasetError(f"{self.root / 'participants.csv'}: participant {dup!r} listed twice")
        for pid in table["participant_id"]:
            if not (self.root / pid).is_dir():
                raise DatasetError(f"{self.root / pid}: participant folder missing")
        return table.reset_index(drop=True)

    @property
    def ids(self) -> list[str]:
        return list(self.participants["participant_id"])

    def has_aus(self, pid: str) -> bool:
        return (self.root / pid / "aus.csv").exists()

    def aus(self, pid: str) -> pd.DataFrame:
        path = self.root / pid / "aus.csv"
        if not path.exists() and (self.root / pid / "frames.csv").exists():
            raise DatasetError(f"{path}: no action units for {pid} (this dataset holds face frames only)")
        table = read_csv(path, ["timestamp", *self.manifest.au_columns])
        if "success" not in table.columns:
            table["success"] = 1
        return table

    def timestamps(self, pid: str) -> np.ndarray:
        """The participant's frame times: from aus.csv, else from frames.csv (a frames-only dataset)."""
        if self.has_aus(pid) or not self.has_frame_index(pid):
            return self.aus(pid)["timestamp"].to_numpy(float)
        return self.frame_index(pid)["timestamp"].to_numpy(float)

    def has_ratings(self, pid: str) -> bool:
        return (self.root / pid / "ratings.csv").exists()

    def ratings(self, pid: str) -> pd.DataFrame:
        return read_csv(self.root / pid / "ratings.csv", ["timestamp", *DIMENSIONS])

    def has_frames(self, pid: str) -> bool:
        return (self.root / pid / "frames.npy").exists()

    def has_frame_index(self, pid: str) -> bool:
        return (self.root / pid / "frames.csv").exists()

    def frame_index(self, pid: str) -> pd.DataFrame:
        """frames.csv: one row per frame of frames.npy; ``face`` 0 marks a masked frame (no face found)."""
        return read_csv(self.root / pid / "frames.csv", FRAME_INDEX_COLUMNS)

    def frames(self, pid: str) -> np.ndarray:
        """The participant's face frames, memory-mapped read-only (never loaded whole)."""
        path = self.root / pid / "frames.npy"
        try:
            frames = np.load(path, mmap_mode="r")
        except FileNotFoundError:
            raise DatasetError(f"{path}: no frames in this dataset") from None
        except ValueError as err:
            raise DatasetError(f"{path}: not a readable .npy array ({err})") from None
        if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
            raise DatasetError(f"{path}: expected uint8 [T, H, W, 3], found {frames.dtype} {list(frames.shape)}")
        return frames


class DatasetWriter:
    """Writes a dataset into a temporary folder and moves it into place on success.

    Use as a context manager; nothing is left at ``out`` if the block raises.
    """

    def __init__(self, out: Path | str, manifest: Manifest, force: bool = False) -> None:
        self.manifest = manifest
        self._atomic = atomic_dir(Path(out), force=force)
        self._rows: list[dict] = []

    def __enter__(self) -> DatasetWriter:
        self.tmp = self._atomic.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if exc[0] is None:
            (self.tmp / "manifest.json").write_text(self.manifest.to_json())
            pd.DataFrame(self._rows, columns=_participant_columns(self._rows)).to_csv(
                self.tmp / "participants.csv", index=False
            )
        self._atomic.__exit__(*exc)

    def add_participant(
        self,
        meta: dict,
        aus: pd.DataFrame | None = None,
        ratings: pd.DataFrame | None = None,
    ) -> Path:
        """Write one participant's tables; returns its folder (for frames.npy and frames.csv)."""
        pid = str(meta["participant_id"])
        folder = self.tmp / pid
        folder.mkdir()
        if aus is not None:
            aus.to_csv(folder / "aus.csv", index=False)
        if ratings is not None:
            ratings.to_csv(folder / "ratings.csv", index=False)
        self._rows.append({**meta, "participant_id": pid})
        return folder

    def frames_file(self, pid: str, count: int, size: int) -> np.memmap:
        """An open, writable memory map for ``pid``'s frames.npy ([count, size, size, 3] uint8)."""
        return open_frames_file(self.tmp / pid / "frames.npy", count, size)

    def frames_appender(self, pid: str, size: int) -> FramesAppender:
        """A frames.npy for ``pid`` that grows batch by batch (when the count is not known ahead)."""
        return FramesAppender(self.tmp / pid / "frames.npy", size)

    def add_frame_index(self, pid: str, index: pd.DataFrame) -> None:
        """Write ``pid``'s frames.csv (FRAME_INDEX_COLUMNS, one row per frame of frames.npy)."""
        missing = [c for c in FRAME_INDEX_COLUMNS if c not in index.columns]
        if missing:
            raise ValueError(f"frame index lacks {missing}")
        index.to_csv(self.tmp / pid / "frames.csv", index=False)


def open_frames_file(path: Path, count: int, size: int) -> np.memmap:
    """Create a frames.npy of the given shape as a writable memory map (streamed, not held in RAM)."""
    return np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(count, size, size, 3))


class FramesAppender:
    """Writes a uint8 [T, size, size, 3] .npy file batch by batch, T fixed when closed.

    The .npy header leaves room for the first axis to grow (numpy pads it for this purpose), so
    the header is rewritten in place on close; frames go straight to the file, none stay in RAM.
    """

    def __init__(self, path: Path, size: int) -> None:
        self.path, self.size, self.count = Path(path), size, 0
        self._file = self.path.open("wb")
        self._header = self._write_header()

    def _write_header(self) -> int:
        self._file.seek(0)
        header = {"descr": "|u1", "fortran_order": False, "shape": (self.count, self.size, self.size, 3)}
        np.lib.format.write_array_header_1_0(self._file, header)
        return self._file.tell()

    def append(self, frames: np.ndarray) -> None:
        """Append uint8 frames [n, size, size, 3]."""
        if frames.dtype != np.uint8 or frames.shape[1:] != (self.size, self.size, 3):
            raise ValueError(f"expected uint8 [n, {self.size}, {self.size}, 3], got {frames.dtype} {frames.shape}")
        self._file.write(np.ascontiguousarray(frames).tobytes())
        self.count += len(frames)

    def close(self) -> int:
        """Fix the frame count in the header and close the file; returns the count."""
        if not self._file.closed:
            if self._write_header() != self._header:
                raise RuntimeError(f"{self.path}: .npy header changed length")
            self._file.close()
        return self.count

    def __enter__(self) -> FramesAppender:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _participant_columns(rows: list[dict]) -> list[str]:
    extra = sorted({k for row in rows for k in row} - set(PARTICIPANT_COLUMNS))
    return PARTICIPANT_COLUMNS + extra
