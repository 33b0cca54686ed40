"""Delimited text tables as real corpora ship them: comma or semicolon, padded column names."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from privbench.errors import DatasetError

TIME_COLUMNS = ("timestamp", "time", "frametime")


def read_delimited(path: Path, keep: Callable[[str], bool] | None = None) -> pd.DataFrame:
    """A comma- or semicolon-separated table (the separator sniffed from the header line), with
    whitespace stripped from column names and after separators; ``keep`` selects columns by their
    stripped name. Any read problem becomes one DatasetError naming the file."""
    path = Path(path)
    try:
        with path.open(encoding="utf-8-sig") as handle:
            header = handle.readline()
    except FileNotFoundError:
        raise DatasetError(f"{path}: file not found") from None
    except (IsADirectoryError, PermissionError) as err:
        raise DatasetError(f"{path}: cannot read ({err.strerror})") from None
    except UnicodeDecodeError:
        raise DatasetError(f"{path}: not a text file") from None
    if not header.strip():
        raise DatasetError(f"{path}: empty file")
    separator = ";" if header.count(";") > header.count(",") else ","
    usecols = (lambda name: keep(str(name).strip())) if keep else None
    try:
        table = pd.read_csv(path, sep=separator, skipinitialspace=True, usecols=usecols, encoding="utf-8-sig")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as err:
        raise DatasetError(f"{path}: malformed CSV ({str(err).splitlines()[0]})") from None
    table.columns = [str(c).strip() for c in table.columns]
    return table


def require_columns(table: pd.DataFrame, columns: list[str], path: Path, what: str = "column") -> None:
    """Raise naming the file and the first missing columns."""
    missing = [c for c in columns if c not in table.columns]
    if missing:
        shown = ", ".join(missing[:5]) + (f" ... ({len(missing)} in all)" if len(missing) > 5 else "")
        raise DatasetError(f"{path}: missing {what}(s) {shown}")


def numeric(table: pd.DataFrame, columns: list[str], path: Path) -> np.ndarray:
    """The columns as float64 [N, len(columns)]; an empty or non-numeric cell is an error naming its
    data row (a truncated file shows up as empty cells in its last row)."""
    values = np.empty((len(table), len(columns)))
    for j, column in enumerate(columns):
        converted = pd.to_numeric(table[column], errors="coerce").to_numpy(float)
        bad = np.isnan(converted)
        if bad.any():
            row = int(np.argmax(bad))
            raw = table[column].iloc[row]
            problem = "empty" if pd.isna(raw) or not str(raw).strip() else f"not a number ({str(raw)[:20]!r})"
            raise DatasetError(f"{path}: data row {row + 1}, column {column}: {problem} (truncated or malformed file?)")
        values[:, j] = converted
    return values


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
