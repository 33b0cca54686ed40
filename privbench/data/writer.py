"""Writing a dataset in the privbench layout: into a claimed temporary folder, moved into place
only when complete (privbench.io.atomic_dir), with frames streamed to disk, never held in RAM."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from privbench.data.layout import FRAME_INDEX_COLUMNS, PARTICIPANT_COLUMNS, Manifest
from privbench.io import atomic_dir


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
