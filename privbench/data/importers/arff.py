"""ARFF files (Weka's format, used by AVEC for gold standards and features): header and dense data."""

from __future__ import annotations

import csv
import shlex
from pathlib import Path

import numpy as np
import pandas as pd

from privbench.data.importers.tables import cell_problem
from privbench.errors import DatasetError

NUMERIC_TYPES = {"numeric", "real", "integer"}


def read_arff(path: Path) -> pd.DataFrame:
    """The @data rows as a table named by the @attribute lines; numeric attributes as float
    (``?`` -> NaN). Sparse rows are not supported."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except FileNotFoundError:
        raise DatasetError(f"{path}: file not found") from None
    except UnicodeDecodeError:
        raise DatasetError(f"{path}: not a UTF-8 text file") from None
    except OSError as err:
        raise DatasetError(f"{path}: cannot read ({err.strerror})") from None
    names: list[str] = []
    numeric: list[bool] = []
    body = None
    for number, line in enumerate(lines, 1):
        text = line.strip()
        if not text or text.startswith("%"):
            continue
        keyword = text.split(None, 1)[0].lower()
        if keyword == "@attribute":
            try:
                _, name, kind = shlex.split(text, posix=True)[:3]
            except ValueError:
                raise DatasetError(f"{path}: line {number}: malformed @attribute") from None
            names.append(name)
            numeric.append(kind.lower() in NUMERIC_TYPES)
        elif keyword == "@data":
            body = number
            break
    if body is None or not names:
        raise DatasetError(f"{path}: not an ARFF file (no @attribute or @data section)")
    rows = []
    for number, fields in _data_rows(lines, body):
        if fields and fields[0].startswith("{"):
            raise DatasetError(f"{path}: line {number}: sparse ARFF rows are not supported")
        if len(fields) != len(names):
            raise DatasetError(f"{path}: line {number}: {len(fields)} values, expected {len(names)} (truncated?)")
        rows.append(fields)
    if not rows:
        raise DatasetError(f"{path}: no data rows")
    table = pd.DataFrame(rows, columns=names)
    for name, is_numeric in zip(names, numeric):
        if is_numeric:
            values = pd.to_numeric(table[name].replace("?", np.nan), errors="coerce")
            bad = ~np.isfinite(values.to_numpy(float)) & (table[name] != "?").to_numpy()
            if bad.any():
                row = int(np.argmax(bad))
                problem = cell_problem(table[name].iloc[row])
                raise DatasetError(f"{path}: data row {row + 1}, attribute {name}: {problem}")
            table[name] = values.astype(float)
    return table


def _data_rows(lines: list[str], body: int):
    """(line number, fields) of the non-empty, non-comment lines after @data."""
    for number, line in enumerate(lines[body:], body + 1):
        text = line.strip()
        if text and not text.startswith("%"):
            yield number, next(csv.reader([text], quotechar="'", skipinitialspace=True))
