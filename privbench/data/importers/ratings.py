"""The layout's ratings table: timestamp, <dim>_<annotator>..., then the gold valence and arousal."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from privbench.data.importers.gold import mean_gold
from privbench.data.importers.tables import (
    numeric,
    read_delimited,
    time_column,
    timestamps,
)
from privbench.data.layout import DIMENSIONS
from privbench.errors import DatasetError


def ratings_table(times: np.ndarray, raters: dict[str, pd.DataFrame], gold: dict[str, np.ndarray]) -> pd.DataFrame:
    """Assemble the layout table from per-dimension rater tables ([T, R], columns = annotator names)
    and gold standards ([T])."""
    columns: dict[str, np.ndarray] = {"timestamp": np.round(times, 6)}
    for dim in DIMENSIONS:
        for name in raters.get(dim, pd.DataFrame()).columns:
            columns[f"{dim}_{name}"] = raters[dim][name].to_numpy(float)
    for dim in DIMENSIONS:
        columns[dim] = np.round(gold[dim], 6)
    return pd.DataFrame(columns)


def check_range(values: np.ndarray, path: Path, what: str) -> None:
    """Ratings live in [-1, 1]."""
    if np.abs(values).max() > 1 + 1e-9:
        raise DatasetError(f"{path}: {what} values outside [-1, 1] (max |value| {np.abs(values).max():.3g})")


def read_ratings_csv(path: Path) -> pd.DataFrame:
    """A user's ratings CSV: a time column (timestamp, time or frameTime) and gold ``valence`` and
    ``arousal`` columns, or per-annotator ``valence_<name>`` / ``arousal_<name>`` columns whose
    mean becomes the gold standard (both may be present)."""
    table = read_delimited(path)
    times = timestamps(table, time_column(table, path), path)
    raters, gold = {}, {}
    for dim in DIMENSIONS:
        names = [c for c in table.columns if c.startswith(f"{dim}_")]
        raters[dim] = pd.DataFrame(numeric(table, names, path), columns=[n[len(dim) + 1:] for n in names])
        if dim in table.columns:
            gold[dim] = numeric(table, [dim], path)[:, 0]
        elif names:
            gold[dim] = mean_gold(raters[dim].to_numpy())
        else:
            raise DatasetError(f"{path}: no {dim} column (nor {dim}_<annotator> columns)")
        check_range(np.concatenate([gold[dim], raters[dim].to_numpy().ravel()]), path, dim)
    return ratings_table(times, raters, gold)
