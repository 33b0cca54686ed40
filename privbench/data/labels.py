"""Gold-standard labels aligned with a participant's feature rows."""

from __future__ import annotations

import numpy as np

from privbench.data.layout import DIMENSIONS, Dataset
from privbench.errors import DatasetError


def gold_labels(dataset: Dataset, pid: str, timestamps: np.ndarray) -> np.ndarray:
    """[T, 2] gold valence/arousal for the given feature timestamps (must match the ratings' rows)."""
    if not dataset.has_ratings(pid):
        raise DatasetError(
            f"{dataset.root / pid}: no ratings.csv; this dataset is AU-only (usable by attacks, not by `run`)"
        )
    ratings = dataset.ratings(pid)
    path = dataset.root / pid / "ratings.csv"
    if len(ratings) != len(timestamps):
        raise DatasetError(f"{path}: {len(ratings)} rows, but the features have {len(timestamps)}")
    step = 0.5 / dataset.manifest.fps
    if np.abs(ratings["timestamp"].to_numpy(float) - timestamps).max() > step:
        raise DatasetError(f"{path}: timestamps do not match the feature rows")
    labels = ratings[list(DIMENSIONS)].to_numpy(np.float32)
    if np.isnan(labels).any():
        raise DatasetError(f"{path}: missing gold valence/arousal values")
    return labels
