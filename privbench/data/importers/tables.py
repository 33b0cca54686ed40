"""Delimited text tables as real corpora ship them: comma or semicolon, padded column names."""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from privbench.errors import DatasetError

TIME_COLUMNS = ("timestamp", "time", "frametime")
_SNIFF_BYTES = 65536  # read to find the header line and tell text from binary data


def read_delimited(path: Path, keep: Callable[[str], bool] | None = None) -> pd.DataFrame:
    """A comma- or semicolon-separated table (the separator sniffed from the header line), with
    whitespace stripped from column names and after separators; ``keep`` selects columns by their
    stripped name. Any read problem (including a file with no data rows) becomes one DatasetError
    naming the file."""
    path = Path(path)
    header = _header_line(path)
    separator = ";" if header.count(";") > header.count(",") else ","
    usecols = (lambda name: keep(str(name).strip())) if keep else None
    try:
        table = pd.read_csv(path, sep=separator, skipinitialspace=True, usecols=usecols, encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise DatasetError(f"{path}: {_not_utf8(err)}") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as err:
        raise DatasetError(f"{path}: malformed CSV ({str(err).splitlines()[0]})") from None
    if len(table) == 0:
        raise DatasetError(f"{path}: no data rows (only a header line)")
    table.columns = [str(c).strip() for c in table.columns]
    return table


def _header_line(path: Path) -> str:
    """The first line of a UTF-8 text file; a missing, unreadable, empty or binary file is an error."""
    try:
        with path.open("rb") as handle:
            start = handle.read(_SNIFF_BYTES)
    except FileNotFoundError:
        raise DatasetError(f"{path}: file not found") from None
    except OSError as err:
        raise DatasetError(f"{path}: cannot read ({err.strerror})") from None
    if start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise DatasetError(f"{path}: UTF-16 text; save it as UTF-8")
    if b"\0" in start:
        raise DatasetError(f"{path}: not a text file (binary data)")
    try:
        header = start.decode("utf-8-sig").splitlines()[0] if start.strip() else ""
    except UnicodeDecodeError as err:
        if err.reason != "unexpected end of data" or len(start) < _SNIFF_BYTES:  # not a character cut in two
            raise DatasetError(f"{path}: {_not_utf8(err)}") from None
        header = start[: err.start].decode("utf-8-sig").splitlines()[0]
    if not header.strip():
        raise DatasetError(f"{path}: empty file")
    return header


def _not_utf8(err: UnicodeDecodeError) -> str:
    return f"not UTF-8 text (a byte 0x{err.object[err.start]:02x}); save it as UTF-8"


def require_columns(table: pd.DataFrame, columns: list[str], path: Path, what: str = "column") -> None:
    """Raise naming the file and the first missing columns."""
    missing = [c for c in columns if c not in table.columns]
    if missing:
        shown = ", ".join(missing[:5]) + (f" ... ({len(missing)} in all)" if len(missing) > 5 else "")
        raise DatasetError(f"{path}: missing {what}(s) {shown}")


def numeric(table: pd.DataFrame, columns: list[str], path: Path) -> np.ndarray:
    """The columns as float64 [N, len(columns)]; an empty, non-numeric or non-finite (nan, inf)
    cell is an error naming its data row (a truncated file shows up as empty cells in its last row)."""
    values = np.empty((len(table), len(columns)))
    for j, column in enumerate(columns):
        converted = pd.to_numeric(table[column], errors="coerce").to_numpy(float)
        bad = ~np.isfinite(converted)
        if bad.any():
            row = int(np.argmax(bad))
            raise DatasetError(f"{path}: data row {row + 1}, column {column}: {cell_problem(table[column].iloc[row])}")
        values[:, j] = converted
    return values


def cell_problem(raw: object) -> str:
    """Why a cell is not a finite number."""
    if pd.isna(raw) or not str(raw).strip():
        return "empty or NaN (truncated or malformed file?)"
    text = str(raw).strip()[:20]
    try:
        float(text)
    except ValueError:
        return f"not a number ({text!r})"
    return f"not a finite number ({text!r})"


def time_column(table: pd.DataFrame, path: Path) -> str:
    """The name of the table's time column (timestamp, time or frameTime, any case)."""
    for column in table.columns:
        if column.lower() in TIME_COLUMNS:
            return column
    raise DatasetError(f"{path}: no time column (expected one of timestamp, time, frameTime)")


def timestamps(table: pd.DataFrame, column: str, path: Path) -> np.ndarray:
    """A strictly increasing time column in seconds."""
    values = numeric(table, [column], path)[:, 0]
    if len(values) < 2:
        raise DatasetError(f"{path}: fewer than two rows")
    if np.any(np.diff(values) <= 0):
        row = int(np.argmax(np.diff(values) <= 0)) + 2
        raise DatasetError(f"{path}: column {column} is not increasing at data row {row}")
    return values
