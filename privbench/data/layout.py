"""The privbench dataset layout: names and the checked reader (privbench.data.writer writes it).

```
<dataset>/manifest.json      {"name", "fps", "au_columns", "frame_size", "annotators", "source", "version",
                             "counts", "au_ranges" (optional)}
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

import os
from functools import cached_property
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from privbench.data.manifest import (  # noqa: F401  (re-exported: the layout's names)
    AU_COLUMNS,
    AU_INTENSITY,
    AU_NUMBERS,
    AU_PRESENCE,
    AU_TOLERANCE,
    IMAGE_FOLDER,
    LAYOUT_VERSION,
    AURange,
    Manifest,
    dataset_folder,
)
from privbench.errors import DatasetError

DIMENSIONS = ("valence", "arousal")
PARTICIPANT_COLUMNS = ["participant_id", "gender", "age", "language"]
FRAME_INDEX_COLUMNS = ["timestamp", "face"]
FLOAT32_MAX = float(np.finfo(np.float32).max)  # table values beyond it would turn into inf in the models


def read_csv(path: Path, required: list[str], dtype: dict[str, type] | None = None) -> pd.DataFrame:
    """Read a comma-separated table, stripping column names; one clear error for any problem."""
    try:
        table = pd.read_csv(path, dtype=dtype)
    except FileNotFoundError:
        raise DatasetError(f"{path}: file not found") from None
    except pd.errors.EmptyDataError:
        raise DatasetError(f"{path}: empty file") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as err:
        raise DatasetError(f"{path}: malformed CSV ({str(err).splitlines()[0]})") from None
    except OSError as err:
        raise DatasetError(f"{path}: cannot read ({err.strerror})") from None
    table.columns = [str(c).strip() for c in table.columns]
    missing = [c for c in required if c not in table.columns]
    if missing:
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise DatasetError(f"{path}: missing column(s) {shown}")
    return table


def check_rows(path: Path, table: pd.DataFrame) -> None:
    """A table must have data rows."""
    if len(table) == 0:
        raise DatasetError(f"{path}: no rows")


def numbers(path: Path, table: pd.DataFrame, columns: list[str], what: str) -> np.ndarray:
    """The columns as float64 [N, len(columns)], all finite and within float32 range; an empty or
    non-numeric cell is an error naming its data row and column."""
    try:
        values = table[columns].to_numpy(np.float64)
    except (TypeError, ValueError):  # a cell that is not a number
        values = table[columns].apply(lambda column: _to_numeric(path, column, what)).to_numpy(np.float64)
    if values.size and not -FLOAT32_MAX <= values.min() <= values.max() <= FLOAT32_MAX:  # NaN fails too
        row, col = np.argwhere(~(np.abs(values) <= FLOAT32_MAX))[0]
        value = values[row, col]
        problem = (f"empty {what} values" if np.isnan(value) else f"non-finite {what} value ({value:g})"
                   if np.isinf(value) else f"{what} value out of range ({value:g})")
        raise DatasetError(f"{path}: {problem} (data row {row + 1}, column {columns[col]})")
    return values


def _to_numeric(path: Path, column: pd.Series, what: str) -> pd.Series:
    converted = pd.to_numeric(column, errors="coerce")
    bad = (converted.isna() & column.notna()).to_numpy()
    if bad.any():
        row = int(np.argmax(bad))
        raw = str(column.iloc[row])[:20]
        raise DatasetError(f"{path}: data row {row + 1}, column {column.name}: {what} value not a number ({raw!r})")
    return converted


def check_timestamps(path: Path, table: pd.DataFrame) -> np.ndarray:
    """The timestamp column: finite and strictly increasing."""
    values = numbers(path, table, ["timestamp"], "timestamp")[:, 0]
    steps = np.diff(values)
    if np.any(steps <= 0):
        raise DatasetError(f"{path}: timestamps are not increasing (data row {int(np.argmax(steps <= 0)) + 2})")
    return values


def check_flags(path: Path, table: pd.DataFrame, column: str) -> None:
    """A 0/1 column."""
    if not table[column].isin([0, 1]).all():
        raise DatasetError(f"{path}: column {column} must hold 0 or 1")


def check_aus(path: Path, table: pd.DataFrame, manifest: Manifest) -> None:
    """aus.csv on its own: rows, increasing timestamps, success 0/1, finite AU values, each in its
    column's range (``Manifest.au_range``)."""
    check_rows(path, table)
    check_timestamps(path, table)
    check_flags(path, table, "success")
    columns = manifest.au_columns
    check_au_ranges(path, numbers(path, table, columns, "AU"), columns, manifest)


def check_au_ranges(path: Path, values: np.ndarray, columns: list[str], manifest: Manifest,
                    rows: np.ndarray | None = None) -> None:
    """Every AU value [N, len(columns)] within its column's range (never clipped): else one error
    naming the data row (``rows``: the file's data row of each value row, 0-based), column and value."""
    for j, column in enumerate(columns):
        rule = manifest.au_range(column)
        bad = _outside(values[:, j], rule) if rule is not None else None
        if bad is not None and bad.any():
            i = int(np.argmax(bad))
            row = i if rows is None else int(rows[i])
            raise DatasetError(f"{path}: AU value out of range ({values[i, j]:g}) (data row {row + 1}, column "
                               f"{column}: {rule.describe()})")


def _outside(values: np.ndarray, rule: AURange) -> np.ndarray:
    if rule.binary:
        return (np.abs(values - rule.low) > AU_TOLERANCE) & (np.abs(values - rule.high) > AU_TOLERANCE)
    return (values < rule.low - AU_TOLERANCE) | (values > rule.high + AU_TOLERANCE)


def check_ratings(path: Path, table: pd.DataFrame) -> None:
    """ratings.csv on its own: rows, increasing timestamps, gold valence/arousal finite and in [-1, 1]."""
    check_rows(path, table)
    check_timestamps(path, table)
    gold = numbers(path, table, list(DIMENSIONS), "gold valence/arousal")
    if np.abs(gold).max() > 1:
        raise DatasetError(f"{path}: gold values outside [-1, 1] (max |value| {np.abs(gold).max():.3g})")


def check_frame_index(path: Path, table: pd.DataFrame) -> None:
    """frames.csv on its own: rows, increasing timestamps, face 0/1."""
    check_rows(path, table)
    check_timestamps(path, table)
    check_flags(path, table, "face")


def check_aligned(path: Path, times: np.ndarray, features: np.ndarray, fps: float, source: str) -> None:
    """A table's rows must match the feature rows (``source``: the file name beside ``path``) one to one,
    within half a frame."""
    if len(times) != len(features):
        raise DatasetError(f"{path}: {len(times)} rows but {len(features)} in {path.with_name(source)} "
                           "(one of the two is truncated or from another recording)")
    if np.abs(times - features).max() > 0.5 / fps:
        row = int(np.argmax(np.abs(times - features) > 0.5 / fps))
        raise DatasetError(f"{path}: timestamps do not match {source} (data row {row + 1})")


def frames_header(path: Path) -> tuple[tuple[int, int, int, int], int]:
    """Shape [T, H, W, 3] and data offset of a uint8 frames.npy, whose size must match its header."""
    try:
        with open(path, "rb") as handle:
            version = np.lib.format.read_magic(handle)
            read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                           else np.lib.format.read_array_header_2_0)
            shape, fortran, dtype = read_header(handle)
            offset = handle.tell()
            size = os.fstat(handle.fileno()).st_size
    except FileNotFoundError:
        raise DatasetError(f"{path}: no frames in this dataset") from None
    except (OSError, ValueError) as err:
        raise DatasetError(f"{path}: not a readable .npy frame file ({str(err).splitlines()[0]})") from None
    if dtype != np.uint8 or len(shape) != 4 or shape[-1] != 3 or fortran:
        raise DatasetError(f"{path}: expected C-ordered uint8 [T, H, W, 3], found {dtype} {list(shape)}")
    if shape[0] == 0:
        raise DatasetError(f"{path}: holds no frames")
    expected = offset + int(np.prod(shape))
    if size != expected:
        raise DatasetError(f"{path}: holds {size:,} bytes but its header ({list(shape)} uint8) needs {expected:,}; "
                           "truncated or damaged: re-import the dataset or delete the file")
    return shape, offset


def _read_ratings(path: Path) -> pd.DataFrame:
    table = read_csv(path, ["timestamp", *DIMENSIONS])
    check_ratings(path, table)
    return table


def _read_frame_index(path: Path) -> pd.DataFrame:
    table = read_csv(path, FRAME_INDEX_COLUMNS)
    check_frame_index(path, table)
    return table


class Dataset:
    """Read access to a dataset folder in the privbench layout (lazy, per participant).

    Every table is checked on its own when read (``check_aus``, ``check_ratings``,
    ``check_frame_index``, ``frames_header``); ``validate`` adds the checks across tables.
    """

    def __init__(self, root: Path | str) -> None:
        self.root = dataset_folder(root)
        self.manifest = Manifest.load(self.root / "manifest.json")
        self._tables: dict[Path, pd.DataFrame] = {}

    @cached_property
    def participants(self) -> pd.DataFrame:
        path = self.root / "participants.csv"
        table = read_csv(path, ["participant_id"], dtype={"participant_id": str})
        if len(table) == 0:
            raise DatasetError(f"{path}: no participants")
        ids = table["participant_id"].str.strip()
        empty = (ids.isna() | (ids == "")).to_numpy()
        if empty.any():
            raise DatasetError(f"{path}: empty participant_id (data row {int(np.argmax(empty)) + 1})")
        if ids.duplicated().any():
            raise DatasetError(f"{path}: participant {ids[ids.duplicated()].iloc[0]!r} listed twice")
        for pid in ids:
            if pid in (".", "..") or "/" in pid or "\\" in pid:
                raise DatasetError(f"{path}: participant id {pid!r} is not a folder name")
            if not (self.root / pid).is_dir():
                raise DatasetError(f"{self.root / pid}: participant folder missing")
        table["participant_id"] = ids
        return table.reset_index(drop=True)

    @property
    def ids(self) -> list[str]:
        return list(self.participants["participant_id"])

    def has_aus(self, pid: str) -> bool:
        return (self.root / pid / "aus.csv").exists()

    def _table(self, path: Path, read: Callable[[Path], pd.DataFrame]) -> pd.DataFrame:
        """``read(path)``, parsed and checked once per Dataset (validation, training and scoring read the
        same tables); callers must not modify the table they get."""
        if path not in self._tables:
            self._tables[path] = read(path)
        return self._tables[path]

    def aus(self, pid: str) -> pd.DataFrame:
        """aus.csv (checked by ``check_aus``); ``success`` is 1 where the column is absent."""
        path = self.root / pid / "aus.csv"
        if not path.exists() and (self.root / pid / "frames.csv").exists():
            raise DatasetError(f"{path}: no action units for {pid} (this dataset holds face frames only)")
        return self._table(path, self._read_aus)

    def _read_aus(self, path: Path) -> pd.DataFrame:
        table = read_csv(path, ["timestamp", *self.manifest.au_columns])
        if "success" not in table.columns:
            table["success"] = 1
        check_aus(path, table, self.manifest)
        return table

    def timestamps(self, pid: str) -> np.ndarray:
        """The participant's frame times: from aus.csv, else from frames.csv (a frames-only dataset)."""
        if self.has_aus(pid) or not self.has_frame_index(pid):
            return self.aus(pid)["timestamp"].to_numpy(float)
        return self.frame_index(pid)["timestamp"].to_numpy(float)

    def has_ratings(self, pid: str) -> bool:
        return (self.root / pid / "ratings.csv").exists()

    def ratings(self, pid: str) -> pd.DataFrame:
        """ratings.csv (checked by ``check_ratings``)."""
        return self._table(self.root / pid / "ratings.csv", _read_ratings)

    def has_frames(self, pid: str) -> bool:
        return (self.root / pid / "frames.npy").exists()

    def has_frame_index(self, pid: str) -> bool:
        return (self.root / pid / "frames.csv").exists()

    def frame_index(self, pid: str) -> pd.DataFrame:
        """frames.csv: one row per frame of frames.npy; ``face`` 0 marks a masked frame (no face found)."""
        return self._table(self.root / pid / "frames.csv", _read_frame_index)

    def frames(self, pid: str) -> np.ndarray:
        """The participant's face frames, memory-mapped read-only (never loaded whole)."""
        path = self.root / pid / "frames.npy"
        shape, offset = frames_header(path)
        return np.memmap(path, dtype=np.uint8, mode="r", offset=offset, shape=shape)
