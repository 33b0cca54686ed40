"""Windows of face frames read straight from a participant's frames.npy, never loaded whole.

Reads go through positional file reads of the needed rows, so memory stays at one batch of
windows whatever the size of the frame store (a memory map would charge every page touched to the
process's resident memory).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch
from torch.utils.data import Dataset as TorchDataset

from privbench.data.frame_transform import (
    FrameStatistics,
    FrameTransform,
    frame_statistics,
    merge_statistics,
)
from privbench.data.layout import frames_header
from privbench.data.windows import window_starts
from privbench.errors import DatasetError


class FrameStore:
    """Row access to a uint8 [T, H, W, 3] .npy file by positional reads.

    The file's size is checked against its header when opened, and every read must return the
    whole row: a file truncated (or replaced) later is an error, never uninitialised memory.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.shape, self.offset = frames_header(self.path)
        self.row_bytes = int(np.prod(self.shape[1:]))

    def __len__(self) -> int:
        return self.shape[0]

    def read(self, rows: np.ndarray) -> np.ndarray:
        """Frames at the given row indices (sorted, may have gaps) as a new uint8 array."""
        out = np.empty((len(rows), *self.shape[1:]), dtype=np.uint8)
        try:
            with open(self.path, "rb", buffering=0) as handle:
                for i, row in enumerate(rows):
                    handle.seek(self.offset + int(row) * self.row_bytes)
                    got = _read_into(handle, memoryview(out[i]).cast("B"))
                    if got != self.row_bytes:
                        raise DatasetError(
                            f"{self.path}: frame {int(row)}: read {got} of {self.row_bytes} bytes (the file shrank "
                            "or the row is out of range); re-import the dataset or delete the file")
        except OSError as err:
            raise DatasetError(f"{self.path}: cannot read frames ({err.strerror})") from None
        return out


def _read_into(handle: BinaryIO, view: memoryview) -> int:
    """Fill ``view`` from ``handle``; the byte count read (short only at the end of the file)."""
    filled = 0
    while filled < len(view):
        count = handle.readinto(view[filled:])
        if not count:
            break
        filled += count
    return filled


STATISTICS_CHUNK = 256  # frames read at a time for a participant's frame statistics


@dataclass(frozen=True)
class FrameSequence:
    """One participant's frames, used every ``step``-th row, with gold labels for every frame;
    ``transform`` turns them into model inputs."""

    participant: str
    store: FrameStore
    gold: np.ndarray  # [T, 2], every frame
    step: int
    transform: FrameTransform

    def __post_init__(self) -> None:
        if len(self.store) != len(self.gold):
            raise DatasetError(f"{self.store.path}: {len(self.store)} frames but {len(self.gold)} label rows")

    @cached_property
    def rows(self) -> np.ndarray:
        """Row indices of the frames used."""
        return np.arange(0, len(self.store), self.step)

    @cached_property
    def labels(self) -> np.ndarray:
        """Gold labels [len(rows), 2] of the frames used."""
        return self.gold[self.rows]

    @cached_property
    def statistics(self) -> FrameStatistics:
        """Mean frame and residual sd over the frames used, read a chunk at a time."""
        chunks = [self.rows[i : i + STATISTICS_CHUNK] for i in range(0, len(self.rows), STATISTICS_CHUNK)]
        return merge_statistics([(len(rows), frame_statistics(self.store.read(rows))) for rows in chunks])

    def inputs(self, rows: np.ndarray) -> torch.Tensor:
        """Model inputs float32 [len(rows), 3, S, S] for the given rows."""
        return self.transform(self.store.read(rows), self.statistics if self.transform.needs_statistics else None)


def compute_statistics(sequences: list[FrameSequence]) -> None:
    """Compute the person statistics the sequences' transforms need, before DataLoader workers fork
    (a worker's cache would not come back)."""
    for seq in sequences:
        if seq.transform.needs_statistics:
            _ = seq.statistics


class FrameWindowDataset(TorchDataset):
    """Windows of ``window`` subsampled frames, ``stride`` apart: (inputs [window, 3, S, S], labels [window, 2])."""

    def __init__(self, sequences: list[FrameSequence], window: int, stride: int) -> None:
        self.sequences = sequences
        self.window = window
        compute_statistics(sequences)
        self.index = [(i, int(s)) for i, seq in enumerate(sequences)
                      for s in window_starts(len(seq.rows), window, stride)]

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, item: int) -> tuple[torch.Tensor, torch.Tensor]:
        i, start = self.index[item]
        seq = self.sequences[i]
        span = slice(start, start + self.window)
        return seq.inputs(seq.rows[span]), torch.tensor(seq.labels[span])  # a copy: Ray hands out read-only arrays
